"""Langfuse exports: the seven real framework traces and synthetic cases."""

from __future__ import annotations

from collections import Counter
from pathlib import Path

import pytest

from agentsim.ingest import detect_format, load_trace, parse_traces

DATA = Path(__file__).parents[2].parent / "shared" / "data"
LANGFUSE = DATA / "traces" / "langfuse_export"

# file prefix: (spans, agent, llm, tool, errors, subagents, warnings)
EXPECTED = {
    "claude-agent": (7, 0, 4, 2, 0, 0, 0),
    "csharp-agent-with-gemini": (9, 0, 3, 2, 1, 0, 1),
    "google-adk": (5, 1, 2, 1, 0, 0, 0),
    "langgraph-python": (9, 0, 2, 1, 0, 0, 0),
    "microsoft-agent": (4, 1, 2, 1, 0, 0, 0),
    "openai-agents": (5, 2, 2, 1, 0, 1, 0),
    "pydantic-ai-tools": (12, 3, 4, 3, 0, 0, 0),
}


def _path(prefix: str) -> Path:
    if not LANGFUSE.exists():
        pytest.skip("shared data folder absent")
    [path] = LANGFUSE.glob(f"{prefix}-20*.trace.json")
    return path


@pytest.mark.parametrize("prefix", sorted(EXPECTED))
def test_framework_traces(prefix: str) -> None:
    path = _path(prefix)
    trace = load_trace(path)
    assert detect_format(path) == "langfuse"
    kinds = Counter(s.kind for s in trace)
    got = (
        len(trace),
        kinds["agent"],
        kinds["llm"],
        kinds["tool"],
        len(trace.failed()),
        sum(1 for s in trace if s.attributes.get("subagent")),
        len(trace.attributes.get("warnings", [])),
    )
    assert got == EXPECTED[prefix]
    assert len(set(trace.addresses())) == len(trace)


def test_google_adk_tool_sits_under_llm_call() -> None:
    trace = load_trace(_path("google-adk"))
    tool = next(s for s in trace if s.kind == "tool")
    assert (
        tool.address
        == "invocation_[hello_app]#0/agent_run_[hello_agent]#0/call_llm#0/execute_tool_say_hello#0"
    )
    assert trace.span(tool.parent or "").kind == "llm"
    assert tool.agent == "hello_agent"
    assert trace.outcomes["cost"] == pytest.approx(1.03e-05)


def test_csharp_orphan_subtree_and_tool_payload_error() -> None:
    trace = load_trace(_path("csharp-agent-with-gemini"))
    assert [s.address for s in trace.children("missing-parent#0")] == [
        "missing-parent#0/Insights_Agent_C#0"
    ]
    [failed] = trace.failed()
    assert failed.kind == "tool" and failed.name == "get_custom_report"
    assert failed.error is not None and failed.error.startswith("ERROR: No data found")
    # Wrapper spans reporting summed token usage are not LLM calls.
    assert {s.kind for s in trace if s.name == "orchestrate_tools"} == {"chain"}


def test_openai_agents_nested_agent_is_subagent() -> None:
    trace = load_trace(_path("openai-agents"))
    inner = trace.span("Agent_workflow#0/Hello_world#0")
    assert inner.kind == "agent" and inner.attributes["subagent"] is True
    assert inner.attributes["parent_agent"] == "Agent workflow"


def test_pydantic_ai_agent_runs_and_parallel_tools() -> None:
    trace = load_trace(_path("pydantic-ai-tools"))
    agents = [s.attributes["agent_name"] for s in trace if s.kind == "agent"]
    assert agents == ["joke_agent", "joke_agent", "evaluator_agent"]
    tools = [s for s in trace if s.kind == "tool"]
    assert {s.agent for s in tools} == {"joke_agent"}
    assert trace.outcomes["cost"] == pytest.approx(0.00032264999899999996)


def test_level_error_and_event() -> None:
    doc = {
        "id": "t",
        "observations": [
            {
                "id": "a",
                "type": "SPAN",
                "name": "run",
                "startTime": "2025-01-01T00:00:00Z",
                "endTime": "2025-01-01T00:00:03Z",
            },
            {
                "id": "b",
                "type": "EVENT",
                "name": "retry",
                "parentObservationId": "a",
                "startTime": "2025-01-01T00:00:01Z",
            },
            {
                "id": "c",
                "type": "TOOL",
                "name": "fetch",
                "parentObservationId": "a",
                "level": "ERROR",
                "statusMessage": "HTTP 503",
                "startTime": "2025-01-01T00:00:02Z",
                "endTime": None,
            },
        ],
    }
    trace = parse_traces(doc)[0]
    assert [(s.address, s.kind, s.end, s.status, s.error) for s in trace] == [
        ("run#0", "chain", 3.0, "done", None),
        ("run#0/retry#0", "other", 1.0, "done", None),
        ("run#0/fetch#0", "tool", 2.0, "unfinished", "HTTP 503"),
    ]
