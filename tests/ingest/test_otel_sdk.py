"""OpenTelemetry SDK span JSON: the any-agent traces (7 frameworks) and synthetic cases."""

from __future__ import annotations

from collections import Counter
from pathlib import Path

import pytest

from agentsim.ingest import detect_format, load_trace, parse_traces

DATA = Path(__file__).parents[2].parent / "shared" / "data"
ANY_AGENT = DATA / "traces" / "any_agent_otel_genai"

# file: (spans incl. synthetic root, llm, tool, orphans)
EXPECTED = {
    "AGNO": (6, 3, 2, 0),
    "GOOGLE": (8, 3, 3, 6),
    "LANGCHAIN": (7, 4, 2, 0),
    "LLAMA_INDEX": (9, 5, 3, 0),
    "OPENAI": (6, 3, 2, 0),
    "SMOLAGENTS": (7, 3, 3, 0),
    "TINYAGENT": (8, 4, 3, 0),
}


@pytest.mark.parametrize("framework", sorted(EXPECTED))
def test_any_agent_traces(framework: str) -> None:
    path = ANY_AGENT / f"{framework}_trace.json"
    if not path.exists():
        pytest.skip("shared data folder absent")
    spans, llm, tool, orphans = EXPECTED[framework]
    trace = load_trace(path)
    assert detect_format(path) == "otel_sdk"
    kinds = Counter(s.kind for s in trace)
    assert (len(trace), kinds["llm"], kinds["tool"], kinds["agent"]) == (spans, llm, tool, 1)
    assert trace.failed() == []
    assert len(trace.attributes.get("warnings", [])) == orphans
    agent = next(s for s in trace if s.kind == "agent")
    assert agent.attributes["agent_name"] == "any_agent"
    assert trace.outcomes["cost"] > 0
    assert sum(s.cost for s in trace if s.kind == "llm") == pytest.approx(trace.outcomes["cost"])
    assert "final_output" in trace.attributes


def test_openai_first_llm_call_cost_and_tokens() -> None:
    path = ANY_AGENT / "OPENAI_trace.json"
    if not path.exists():
        pytest.skip("shared data folder absent")
    trace = load_trace(path)
    first = next(s for s in trace if s.kind == "llm")
    assert first.attributes["tokens"] == {"input": 269, "output": 16, "total": 285}
    assert first.cost == pytest.approx(0.0000269 + 4.8e-6)
    assert first.parent == trace.spans[0].address


def test_python_sdk_to_json_shape() -> None:
    spans = [
        {
            "name": "agent",
            "context": {"trace_id": "0x01", "span_id": "0x0a"},
            "parent_id": None,
            "kind": "SpanKind.INTERNAL",
            "start_time": "2024-05-01T10:00:00.000000Z",
            "end_time": "2024-05-01T10:00:02.000000Z",
            "status": {"status_code": "UNSET"},
            "attributes": {"gen_ai.operation.name": "invoke_agent", "gen_ai.agent.name": "a"},
        },
        {
            "name": "tool",
            "context": {"trace_id": "0x01", "span_id": "0x0b"},
            "parent_id": "0x0a",
            "kind": "SpanKind.INTERNAL",
            "start_time": "2024-05-01T10:00:01.250000Z",
            "end_time": None,
            "status": {"status_code": "ERROR", "description": "boom"},
            "attributes": {"gen_ai.tool.name": "t"},
            "events": [],
        },
    ]
    trace = parse_traces({"spans": spans})[0]
    tool = trace.spans[1]
    assert (tool.address, tool.start, tool.status, tool.error) == (
        "agent#0/tool#0",
        1.25,
        "unfinished",
        "boom",
    )
