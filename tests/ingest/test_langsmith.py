"""LangSmith runs: the real batch-ingest payloads and synthetic run trees."""

from __future__ import annotations

from pathlib import Path

import pytest

from agentsim.ingest import detect_format, load_trace, parse_traces

DATA = Path(__file__).parents[2].parent / "shared" / "data"
RUNS = DATA / "traces" / "langsmith_runs"


@pytest.mark.parametrize(
    ("name", "latency"),
    [
        ("langsmith_py_wrap_openai_.json", 1.118333),
        ("langsmith_py_wrap_openai_stream.json", 1.328441),
    ],
)
def test_post_patch_payloads(name: str, latency: float) -> None:
    path = RUNS / name
    if not path.exists():
        pytest.skip("shared data folder absent")
    trace = load_trace(path)
    assert detect_format(path) == "langsmith"
    [span] = trace.spans
    assert (span.address, span.kind, span.ok) == ("ChatOpenAI#0", "llm", True)
    assert span.attributes["tokens"] == {"input": 9, "output": 9, "total": 18}
    assert span.attributes["model"] == "gpt-4o-mini"
    assert trace.outcomes["latency"] == pytest.approx(latency)


def test_flat_runs_ordered_by_dotted_order_and_agent_as_tool() -> None:
    root = "20240101T000000000000Zaaaa"
    runs = [
        {
            "id": "cccc",
            "name": "researcher",
            "run_type": "tool",
            "dotted_order": f"{root}.20240101T000002000000Zcccc",
            "start_time": "2024-01-01T00:00:02Z",
            "end_time": "2024-01-01T00:00:03Z",
        },
        {
            "id": "aaaa",
            "name": "supervisor",
            "run_type": "chain",
            "dotted_order": root,
            "start_time": "2024-01-01T00:00:00Z",
            "end_time": "2024-01-01T00:00:04Z",
            "extra": {"metadata": {"ls_agent": True}},
        },
        {
            "id": "bbbb",
            "name": "researcher",
            "run_type": "chain",
            "dotted_order": f"{root}.20240101T000001000000Zbbbb",
            "error": "ValueError('x')",
            "start_time": "2024-01-01T00:00:01Z",
            "end_time": "2024-01-01T00:00:01.5Z",
        },
    ]
    trace = parse_traces(runs)[0]
    assert [(s.address, s.ok) for s in trace] == [
        ("supervisor#0", True),
        ("supervisor#0/researcher#0", False),
        ("supervisor#0/researcher#1", True),
    ]
    assert trace.spans[1].error == "ValueError('x')"
