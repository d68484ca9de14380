"""Jaeger JSON: the real helm agent trace and synthetic cases."""

from __future__ import annotations

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
    assert "warnings" not in trace.attributes
    # One polling GET answered 404 (error tag), seven dequeue_event spans log a CancelledError.
    errors = Counter(s.error for s in trace.failed())
    assert errors == {"HTTP 404": 1, "asyncio.exceptions.CancelledError": 7}
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
