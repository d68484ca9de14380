"""Jaeger JSON: the real helm agent trace and synthetic cases."""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path

import pytest

from agentsim.errors import TraceFormatError
from agentsim.ingest import detect_format, load_trace, parse_traces

DATA = Path(__file__).parents[2].parent / "shared" / "data"
HELM = DATA / "traces" / "otel_genai_jaeger" / "helm.json"


@pytest.fixture
def helm() -> Path:
    if not HELM.exists():
        pytest.skip("shared data folder absent")
    return HELM


def test_helm_counts(helm: Path) -> None:
    trace = load_trace(helm)
    assert detect_format(helm) == "jaeger"
    assert len(trace) == 96
    kinds = Counter(s.kind for s in trace)
    assert (kinds["agent"], kinds["llm"], kinds["tool"]) == (1, 4, 1)
    # One polling GET answered 404 (error tag): the only span whose status says error. Seven
    # dequeue_event spans log a CancelledError marked exception.escaped=false: events.
    errors = Counter(s.error for s in trace.failed())
    assert errors == {"HTTP 404": 1}
    [warning] = trace.attributes["warnings"]  # type: ignore[misc]
    assert str(warning).startswith("7 exception events on 7 spans marked exception.escaped=false")
    caught = [s for s in trace if s.attributes.get("exceptions_caught")]
    assert len(caught) == 7 and all("dequeue_event" in s.name for s in caught)
    assert trace.outcomes["success"] == 1.0
    # The root lasts 4.180457 s, but "POST / http receive" (clock-skew warning) ends 35 µs later.
    assert trace.outcomes["latency"] == pytest.approx(4.180492)


def test_helm_agent_tree(helm: Path) -> None:
    trace = load_trace(helm)
    agent = next(s for s in trace if s.kind == "agent")
    assert agent.attributes["agent_name"] == "helm_agent"
    assert agent.attributes["span_id"] == "581f1448d659341f"
    # ADK puts the tool call under the LLM call that requested it.
    tool = next(s for s in trace if s.kind == "tool")
    parent = trace.span(tool.parent or "")
    assert parent.kind == "llm" and parent.name == "call_llm"
    assert tool.agent == "helm_agent"
    chat = [s for s in trace if s.name == "openai.chat"]
    assert [s.attributes["tokens"]["total"] for s in chat] == [1833, 2073]


def _doc(*spans: dict[str, object]) -> dict[str, object]:
    return {"data": [{"traceID": "abc", "spans": list(spans), "processes": {}}]}


def test_microseconds_follows_from_and_status_tag() -> None:
    spans = [
        {
            "spanID": "a",
            "operationName": "root",
            "references": [],
            "startTime": 1_000_000,
            "duration": 3_000_000,
            "tags": [],
            "logs": [],
        },
        {
            "spanID": "b",
            "operationName": "call",
            "startTime": 2_000_000,
            "duration": 500_000,
            "references": [{"refType": "FOLLOWS_FROM", "spanID": "a"}],
            "tags": [
                {"key": "otel.status_code", "type": "string", "value": "ERROR"},
                {"key": "otel.status_description", "type": "string", "value": "boom"},
            ],
            "logs": [],
        },
    ]
    trace = parse_traces(_doc(*spans))[0]
    assert [(s.address, s.start, s.end, s.error) for s in trace] == [
        ("root#0", 0.0, 3.0, None),
        ("root#0/call#0", 1.0, 1.5, "boom"),
    ]


def test_missing_start_time_is_named() -> None:
    with pytest.raises(TraceFormatError, match=r"data\[0\] spans\[0\]: field 'startTime'"):
        parse_traces(_doc({"spanID": "a", "operationName": "x", "duration": 1}), "jaeger")


def _status_is_error(span: dict[str, object]) -> bool:
    tags = {t["key"]: t["value"] for t in span["tags"]}  # type: ignore[attr-defined]
    return tags.get("error") in (True, "true") or tags.get("otel.status_code") == "ERROR"


def test_helm_failed_spans_are_exactly_the_error_status_spans(helm: Path) -> None:
    doc = json.loads(helm.read_text())
    raw = [s for entry in doc["data"] for s in entry["spans"]]
    with_error = {s["spanID"] for s in raw if _status_is_error(s)}
    with_exception_log = {
        s["spanID"]
        for s in raw
        if any(f["value"] == "exception" for log in s.get("logs", []) for f in log["fields"])
    }
    assert len(with_error) == 1 and len(with_exception_log) == 7
    trace = load_trace(helm)
    assert {s.attributes["span_id"] for s in trace.failed()} == with_error


def test_exception_log_escaped_or_not() -> None:
    def span(sid: str, escaped: object) -> dict[str, object]:
        fields = [
            {"key": "event", "type": "string", "value": "exception"},
            {"key": "exception.type", "type": "string", "value": "CancelledError"},
        ]
        if escaped is not None:
            fields.append({"key": "exception.escaped", "type": "string", "value": escaped})
        return {
            "traceID": "ab",
            "spanID": sid,
            "operationName": "poll",
            "references": [],
            "startTime": 1_700_000_000_000_000,
            "duration": 10,
            "tags": [],
            "logs": [{"timestamp": 1_700_000_000_000_005, "fields": fields}],
        }

    doc = {
        "data": [
            {"traceID": "ab", "spans": [span("01", "False"), span("02", "True"), span("03", None)]}
        ]
    }
    [trace] = parse_traces(doc)
    assert [(s.attributes["span_id"], s.ok) for s in trace] == [
        ("01", True),
        ("02", False),
        ("03", False),
    ]
    assert trace.spans[0].attributes["exceptions_caught"] == ["CancelledError"]
    assert "1 exception event on 1 span" in str(trace.attributes["warnings"])
