"""OTLP JSON: the real Tempo export and synthetic exports (JSON Lines, base64, enums)."""

from __future__ import annotations

import base64
import json
from collections import Counter
from pathlib import Path

import pytest

from agentsim.errors import TraceFormatError
from agentsim.ingest import detect_format, load_trace, load_traces, parse_traces

DATA = Path(__file__).parents[2].parent / "shared" / "data"
TEMPO = DATA / "traces" / "otlp_json_tempo" / "tempo_export_with_batches.json"


def _span(span_id: str, name: str, start: int, end: int, parent: str = "", **extra: object):
    span = {
        "traceId": "5b8efff798038103d269b633813fc60c",
        "spanId": span_id,
        "parentSpanId": parent,
        "name": name,
        "startTimeUnixNano": str(start),
        "endTimeUnixNano": str(end),
    }
    span.update(extra)
    return span


def _export(*spans: dict[str, object]) -> dict[str, object]:
    return {"resourceSpans": [{"resource": {}, "scopeSpans": [{"spans": list(spans)}]}]}


def _attr(key: str, value: object) -> dict[str, object]:
    if isinstance(value, bool):
        return {"key": key, "value": {"boolValue": value}}
    if isinstance(value, int):
        return {"key": key, "value": {"intValue": str(value)}}
    return {"key": key, "value": {"stringValue": value}}


@pytest.fixture
def tempo() -> Path:
    if not TEMPO.exists():
        pytest.skip("shared data folder absent")
    return TEMPO


def test_tempo_export_counts(tempo: Path) -> None:
    trace = load_trace(tempo)
    assert detect_format(tempo) == "otlp"
    assert trace.attributes["variant"] == "tempo-batches"
    # 86 spans in the file, plus the synthetic root of the orphans.
    assert len(trace) == 87
    kinds = Counter(s.kind for s in trace)
    assert (kinds["agent"], kinds["llm"], kinds["tool"]) == (2, 6, 1)
    # Five EventQueue.dequeue_event spans carry a CancelledError exception event marked
    # exception.escaped=false, and no span has an error status: nothing failed.
    assert trace.failed() == []
    caught = [s for s in trace if s.attributes.get("exceptions_caught")]
    assert len(caught) == 5 and all(s.name.endswith("dequeue_event") for s in caught)
    assert any(
        str(w).startswith("5 exception events on 5 spans") for w in trace.attributes["warnings"]
    )  # type: ignore[union-attr]
    assert not any(s.attributes.get("subagent") for s in trace)


def test_tempo_missing_parent_subtree(tempo: Path) -> None:
    trace = load_trace(tempo)
    root = trace.span("missing-parent#0")
    assert (root.kind, root.name) == ("chain", "(missing parent)")
    orphans = trace.children("missing-parent#0")
    # Eight lone HTTP server spans and the 30-span A2A request-handler subtree.
    assert len(orphans) == 9
    # Nine orphan warnings and the one counting caught exceptions.
    assert len(trace.attributes["warnings"]) == 10
    handler = next(s for s in orphans if s.attributes["span_id"] == "c05a7cb43a326b4f")
    subtree = [s for s in trace if s.address.startswith(handler.address + "/")]
    assert len(subtree) == 29
    agent = next(s for s in subtree if s.kind == "agent")
    assert agent.attributes["agent_name"] == "helm_agent"
    tool = next(s for s in trace if s.kind == "tool")
    assert (
        tool.agent == "helm_agent" and tool.attributes["gen_ai.tool.name"] == "helm_list_releases"
    )
    assert trace.outcomes["success"] == 1.0
    assert trace.outcomes["latency"] == pytest.approx(4.6613158)


def test_spans_in_start_order_with_unique_addresses(tempo: Path) -> None:
    trace = load_trace(tempo)
    starts = [s.start for s in trace]
    assert starts == sorted(starts)
    assert len(set(trace.addresses())) == len(trace)
    assert trace.spans[0].parent is None and trace.spans[0].start == 0.0


def test_tokens_and_hex_ids(tempo: Path) -> None:
    trace = load_trace(tempo)
    llm = [s for s in trace if s.kind == "llm" and s.name == "openai.chat"]
    assert [s.attributes["tokens"] for s in llm] == [
        {"input": 2256, "output": 13, "total": 2269},
        {"input": 2392, "output": 116, "total": 2508},
    ]


def test_jsonl_nanoseconds_and_string_enums(tmp_path: Path) -> None:
    first = _export(
        _span(
            "00f067aa0ba902b7",
            "invoke_agent support",
            1_700_000_000_000_000_000,
            1_700_000_004_000_000_000,
            kind="SPAN_KIND_INTERNAL",
            attributes=[_attr("gen_ai.operation.name", "invoke_agent")],
        )
    )
    second = _export(
        _span(
            "00f067aa0ba902b8",
            "execute_tool lookup",
            1_700_000_001_000_000_000,
            1_700_000_001_500_000_000,
            parent="00f067aa0ba902b7",
            status={"code": "STATUS_CODE_ERROR", "message": "order not found"},
            attributes=[_attr("gen_ai.tool.name", "lookup")],
        )
    )
    path = tmp_path / "spans.jsonl"
    path.write_text(json.dumps(first) + "\n\n" + json.dumps(second) + "\n")
    trace = load_trace(path)
    assert trace.attributes["jsonl"] is True
    assert [(s.address, s.kind, s.start, s.end) for s in trace] == [
        ("invoke_agent_support#0", "agent", 0.0, 4.0),
        ("invoke_agent_support#0/execute_tool_lookup#0", "tool", 1.0, 1.5),
    ]
    tool = trace.spans[1]
    assert (tool.ok, tool.error, tool.agent) == (False, "order not found", "support")
    assert trace.outcomes == {"success": 1.0, "latency": 4.0, "cost": 0.0}


def test_base64_ids_and_int_enums() -> None:
    parent = base64.b64encode(bytes.fromhex("0102030405060708")).decode()
    child = base64.b64encode(bytes.fromhex("1112131415161718")).decode()
    export = _export(
        _span(parent, "root", 0, 10, kind=2),
        _span(child, "child", 2, 5, parent=parent, kind=3, status={"code": 2}),
    )
    trace = parse_traces(export)[0]
    assert trace.spans[1].parent == "root#0"
    assert trace.spans[1].attributes["span_id"] == "1112131415161718"
    assert trace.spans[1].attributes["otel.kind"] == "client"
    assert trace.spans[1].error == "error status"
    assert trace.spans[1].end == pytest.approx(5e-9)


def test_mcp_tool_payload_error_and_exception_event() -> None:
    payload = json.dumps(
        {"content": [{"type": "text", "text": "permission denied"}], "isError": True}
    )
    export = _export(
        _span(
            "0000000000000001",
            "execute_tool fs_write",
            0,
            10,
            status={"code": 1},
            attributes=[
                _attr("gen_ai.operation.name", "execute_tool"),
                _attr("gen_ai.tool.call.result", payload),
            ],
        ),
        _span(
            "0000000000000002",
            "poll",
            10,
            20,
            events=[
                {
                    "timeUnixNano": "15",
                    "name": "exception",
                    "attributes": [
                        _attr("exception.type", "TimeoutError"),
                        _attr("exception.message", "slow"),
                    ],
                }
            ],
        ),
    )
    spans = parse_traces(export)[0].spans
    assert [(s.ok, s.error) for s in spans] == [
        (False, "permission denied"),
        (False, "TimeoutError: slow"),
    ]


def test_spans_grouped_by_trace_id(tmp_path: Path) -> None:
    a = _span("0000000000000001", "a", 0, 1)
    b = _span("0000000000000002", "b", 0, 1)
    b["traceId"] = "ffffffffffffffffffffffffffffffff"
    path = tmp_path / "two.json"
    path.write_text(json.dumps(_export(a, b)))
    assert len(load_traces(path)) == 2
    with pytest.raises(TraceFormatError, match="holds 2 traces; use load_traces"):
        load_trace(path)


def test_bad_inputs_name_position_and_field(tmp_path: Path) -> None:
    bad = _export(_span("0000000000000001", "a", 0, 1))
    bad["resourceSpans"][0]["scopeSpans"][0]["spans"][0]["startTimeUnixNano"] = "yesterday"  # type: ignore[index]
    path = tmp_path / "bad.json"
    path.write_text(json.dumps(bad))
    with pytest.raises(TraceFormatError, match=r"bad.json.*spans\[0\].*'startTimeUnixNano'"):
        load_trace(path)
    lines = tmp_path / "broken.jsonl"
    lines.write_text(json.dumps(_export()) + "\n" + '{"resourceSpans": [\n')
    with pytest.raises(TraceFormatError, match="line 2, column"):
        load_traces(lines)


def test_a_non_finite_cost_is_zeroed_with_a_warning() -> None:
    from agentsim.ingest._build import RawSpan, build_trace

    raw = RawSpan(0, "a1", None, "chat gpt", "llm", 0, 10**9, cost=float("nan"))
    trace = build_trace([raw], source="test")
    assert trace.spans[0].cost == 0.0
    warnings = trace.attributes["warnings"]
    assert isinstance(warnings, list) and any("non-finite cost" in str(w) for w in warnings)


def test_agentsim_attributes_that_repeat_an_address_are_named_as_the_fault() -> None:
    spans = [
        _span(
            f"a{i}",
            "execute_tool t",
            0,
            10**9,
            attributes=[_attr("agentsim.address", "main#0/t#0"), _attr("agentsim.kind", "tool")],
        )
        for i in range(2)
    ]
    with pytest.raises(TraceFormatError, match=r"trace '5b8e.*'main#0/t#0' is used twice"):
        parse_traces(_export(*spans))


def test_a_parsed_agentsim_trace_with_a_cycle_names_the_cycle() -> None:
    obj = {
        "schema_version": 1,
        "spans": [
            {"address": "a#0", "kind": "agent", "name": "a", "parent": "b#0"},
            {"address": "b#0", "kind": "agent", "name": "b", "parent": "a#0"},
        ],
    }
    with pytest.raises(TraceFormatError) as info:
        parse_traces(obj)
    message = str(info.value)
    assert "record 1: span parents form a cycle" in message and "Value error" not in message
