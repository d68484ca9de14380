"""OTLP JSON export: structure, ids, parent links, status codes, GenAI names, determinism."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest

import agentsim as asim
from agentsim import dist
from agentsim.errors import TraceFormatError
from agentsim.otlp import (
    EPOCH_UNIX_NANO,
    SPAN_KIND_CLIENT,
    SPAN_KIND_INTERNAL,
    save_otlp,
    span_id,
    to_otlp,
    trace_id,
)
from agentsim.trace import Span, Trace

HEX32 = re.compile(r"^[0-9a-f]{32}$")
HEX16 = re.compile(r"^[0-9a-f]{16}$")


def _scenario() -> asim.Scenario:
    """Every span kind: agents, a sub-agent, tools, a model, a choice, a wait, a race
    (cancelled branch) and a tool with capacity and timeout."""
    sc = asim.Scenario("otlp-demo", deadline=60.0)
    lookup = sc.tool("lookup", p_ok=0.8, latency=dist.LogNormal(median=0.4, sigma=0.3))
    slow = sc.tool(
        "slow_api", p_ok=0.9, latency=dist.Exponential(mean=2.0), capacity=1, timeout=3.0
    )
    llm = sc.model("planner", p_ok=0.85, latency=dist.LogNormal(median=1.5, sigma=0.4), cost=0.002)

    @sc.agent
    def main(ctx: Any) -> Any:
        order = yield ctx.call(lookup, "T-1")
        plan = yield ctx.call(llm, order)
        choice = yield ctx.choose(llm, {"direct": 0.5, "delegate": 0.5}, inputs=[plan])
        if choice.value == "direct":
            return (yield ctx.call(slow, plan))
        return (yield ctx.spawn(helper, plan))

    @sc.agent
    def helper(ctx: Any, plan: Any) -> Any:
        a, b = yield ctx.parallel(ctx.call(slow, plan), ctx.call(slow, plan))
        best = yield ctx.first(ctx.call(llm, a), ctx.call(llm, b))
        yield ctx.wait(0.5)
        return best

    return sc


@pytest.fixture(scope="module")
def batch() -> asim.Batch:
    return _scenario().simulate(200, seed=0)


@pytest.fixture(scope="module")
def traces(batch: asim.Batch) -> list[Trace]:
    return [run.trace for run in batch]


def _spans(export: dict[str, Any]) -> list[dict[str, Any]]:
    return [
        span for rs in export["resourceSpans"] for ss in rs["scopeSpans"] for span in ss["spans"]
    ]


def _attrs(span: dict[str, Any]) -> dict[str, Any]:
    """Typed OTLP attributes as plain values."""
    out: dict[str, Any] = {}
    for item in span["attributes"]:
        ((kind, value),) = item["value"].items()
        if kind == "intValue":
            value = int(value)
        elif kind == "arrayValue":
            value = [next(iter(v.values())) for v in value["values"]]
        out[item["key"]] = value
    return out


def _pick(traces: list[Trace], predicate: Any) -> Trace:
    for trace in traces:
        if predicate(trace):
            return trace
    raise AssertionError("no trace in the batch has the property the test needs")


def test_structure_resource_scope_spans(traces: list[Trace]) -> None:
    trace = traces[0]
    export = to_otlp(trace)
    assert list(export) == ["resourceSpans"]
    [rs] = export["resourceSpans"]
    resource = {a["key"]: a["value"] for a in rs["resource"]["attributes"]}
    assert resource["service.name"] == {"stringValue": "otlp-demo"}
    assert resource["agentsim.seed"] == {"intValue": str(trace.seed)}
    [ss] = rs["scopeSpans"]
    assert ss["scope"] == {"name": "agentsim", "version": asim.__version__}
    assert len(ss["spans"]) == len(trace.spans)
    # JSON-serialisable as is
    assert json.loads(json.dumps(export)) == export


def test_ids_are_lowercase_hex_of_the_right_length(traces: list[Trace]) -> None:
    for trace in traces[:50]:
        spans = _spans(to_otlp(trace))
        tid = trace_id(trace)
        assert HEX32.match(tid)
        ids = [s["spanId"] for s in spans]
        assert len(set(ids)) == len(ids)
        for s in spans:
            assert s["traceId"] == tid
            assert HEX16.match(s["spanId"])
            if "parentSpanId" in s:
                assert HEX16.match(s["parentSpanId"])
    assert len({trace_id(t) for t in traces}) == len(traces)


def test_parent_links_form_the_trace_tree(traces: list[Trace]) -> None:
    trace = _pick(traces, lambda t: any(s.name == "helper" for s in t.spans))
    spans = _spans(to_otlp(trace))
    address_of = {s["spanId"]: _attrs(s)["agentsim.address"] for s in spans}
    exported = {
        _attrs(s)["agentsim.address"]: address_of.get(s.get("parentSpanId", "")) for s in spans
    }
    assert exported == {s.address: s.parent for s in trace.spans}
    roots = [s for s in spans if "parentSpanId" not in s]
    assert [_attrs(r)["agentsim.address"] for r in roots] == ["main#0"]
    # depth 2: a call inside the sub-agent points at the sub-agent's exported span
    by_address = {_attrs(s)["agentsim.address"]: s for s in spans}
    inner = next(s for s in trace.spans if s.parent == "main#0/helper#0")
    assert by_address[inner.address]["parentSpanId"] == by_address["main#0/helper#0"]["spanId"]
    assert by_address["main#0/helper#0"]["parentSpanId"] == by_address["main#0"]["spanId"]


def test_status_code_2_exactly_on_failed_spans(traces: list[Trace]) -> None:
    failed_seen = ok_seen = 0
    for trace in traces[:100]:
        for span, out in zip(trace.spans, _spans(to_otlp(trace)), strict=True):
            if span.ok:
                assert out["status"] == {"code": 1}
                assert "error.type" not in _attrs(out)
                ok_seen += 1
            else:
                assert out["status"] == {"code": 2, "message": span.error}
                assert _attrs(out)["error.type"]
                failed_seen += 1
    assert failed_seen > 0 and ok_seen > 0


def test_error_types_name_timeouts_cancellations_and_bad_inputs(traces: list[Trace]) -> None:
    types: dict[str, set[str]] = {}
    for trace in traces:
        for span, out in zip(trace.spans, _spans(to_otlp(trace)), strict=True):
            if not span.ok:
                types.setdefault(_attrs(out)["error.type"], set()).add(span.error or "")
    assert {"timeout", "cancelled", "bad_input", "call_failed"} <= set(types)
    assert all(e.startswith("timeout after") for e in types["timeout"])
    assert all(e.startswith("cancelled") for e in types["cancelled"])


def test_genai_names_attributes_and_kinds(traces: list[Trace]) -> None:
    trace = _pick(traces, lambda t: any(s.kind == "wait" for s in t.spans))
    kinds_seen = set()
    for span, out in zip(trace.spans, _spans(to_otlp(trace)), strict=True):
        attrs = _attrs(out)
        kinds_seen.add(span.kind)
        assert attrs["agentsim.address"] == span.address
        assert attrs["agentsim.kind"] == span.kind
        assert attrs["agentsim.cost"] == span.cost
        assert attrs["agentsim.queued"] == span.queued
        for slot, u in span.noise.items():
            assert attrs[f"agentsim.noise.{slot}"] == u
        if span.kind == "agent":
            assert out["name"] == f"invoke_agent {span.name}"
            assert attrs["gen_ai.operation.name"] == "invoke_agent"
            assert attrs["gen_ai.agent.name"] == span.name
            assert out["kind"] == SPAN_KIND_INTERNAL
        elif span.kind == "tool":
            assert out["name"] == f"execute_tool {span.name}"
            assert attrs["gen_ai.operation.name"] == "execute_tool"
            assert attrs["gen_ai.tool.name"] == span.name
            assert out["kind"] == SPAN_KIND_CLIENT
        elif span.kind in ("llm", "choice"):
            assert out["name"] == f"chat {span.name}"
            assert attrs["gen_ai.operation.name"] == "chat"
            assert attrs["gen_ai.request.model"] == span.name
            assert out["kind"] == SPAN_KIND_CLIENT
            assert ("agentsim.choice" in attrs) == (span.kind == "choice")
            if span.kind == "choice":
                assert attrs["agentsim.choice"] == span.value
                assert json.loads(attrs["agentsim.weights"]) == span.attributes["weights"]
        elif span.kind == "wait":
            assert out["name"] == "wait"
            assert "gen_ai.operation.name" not in attrs
            assert out["kind"] == SPAN_KIND_INTERNAL
        if span.inputs:
            assert attrs["agentsim.inputs"] == span.inputs
            assert [link["spanId"] for link in out["links"]] == [
                span_id(trace, a) for a in span.inputs
            ]
    assert kinds_seen == {"agent", "tool", "llm", "choice", "wait"}


def test_root_carries_outcomes(traces: list[Trace]) -> None:
    trace = traces[0]
    root = _attrs(_spans(to_otlp(trace))[0])
    for name, value in trace.outcomes.items():
        assert root[f"agentsim.outcome.{name}"] == value


def test_times_are_decimal_nanosecond_strings_from_the_epoch(traces: list[Trace]) -> None:
    trace = traces[3]
    for span, out in zip(trace.spans, _spans(to_otlp(trace)), strict=True):
        start, end = out["startTimeUnixNano"], out["endTimeUnixNano"]
        assert isinstance(start, str) and start.isdigit()
        assert int(start) == EPOCH_UNIX_NANO + round(span.start * 1e9)
        assert int(end) == EPOCH_UNIX_NANO + round(span.end * 1e9)
        assert int(end) >= int(start)
    assert EPOCH_UNIX_NANO == 1_735_689_600_000_000_000  # 2025-01-01T00:00:00Z


def test_queued_time_is_exported(traces: list[Trace]) -> None:
    queued = [
        _attrs(out)["agentsim.queued"]
        for trace in traces
        for out in _spans(to_otlp(trace))
        if _attrs(out)["agentsim.queued"] > 0
    ]
    assert queued  # two parallel calls share a capacity-1 tool


def test_output_is_deterministic(traces: list[Trace]) -> None:
    again = _scenario().simulate(200, seed=0)
    for i in (0, 7, 42):
        first = json.dumps(to_otlp(traces[i]), sort_keys=False)
        assert json.dumps(to_otlp(again[i].trace), sort_keys=False) == first
        assert json.dumps(to_otlp(traces[i])) == first
        assert json.dumps(to_otlp(Trace.model_validate_json(traces[i].model_dump_json()))) == first


def test_imported_style_trace_exports(tmp_path: Path) -> None:
    trace = Trace(
        trace_id="",
        source="otlp",
        spans=[
            Span(address="root#0", kind="chain", name="root", start=0.0, end=2.0),
            Span(
                address="root#0/x#0",
                kind="llm",
                name="gpt",
                parent="root#0",
                start=0.5,
                end=1.5,
                attributes={"gen_ai.usage.input_tokens": 12, "note": {"a": 1}},
            ),
        ],
    )
    root, call = _spans(to_otlp(trace))
    assert root["name"] == "root" and root["kind"] == SPAN_KIND_INTERNAL
    attrs = _attrs(call)
    assert attrs["gen_ai.usage.input_tokens"] == 12
    assert json.loads(attrs["agentsim.note"]) == {"a": 1}
    assert call["parentSpanId"] == root["spanId"]


def test_save_otlp_one_document_or_json_lines(traces: list[Trace], tmp_path: Path) -> None:
    one = save_otlp(traces[0], tmp_path / "run.json")
    assert json.loads(one.read_text()) == to_otlp(traces[0])
    many = save_otlp(traces[:3], tmp_path / "runs.json", indent=1)
    assert len(json.loads(many.read_text())["resourceSpans"]) == 3
    lines = save_otlp(traces[:3], tmp_path / "runs.jsonl").read_text().splitlines()
    assert [json.loads(line) for line in lines] == [to_otlp(t) for t in traces[:3]]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["run.json", "runs.json", "runs.jsonl"]


def test_bad_input_is_a_clear_error(tmp_path: Path) -> None:
    with pytest.raises(TraceFormatError, match="needs an agentsim Trace, got dict"):
        to_otlp({"spans": []})  # type: ignore[arg-type]
    with pytest.raises(TraceFormatError, match="got str"):
        save_otlp(["nope"], tmp_path / "x.json")  # type: ignore[list-item]
