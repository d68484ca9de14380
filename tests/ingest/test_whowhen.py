"""Who&When logs: the 35 development logs and a synthetic one."""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path

import pytest

from agentsim.errors import TraceFormatError
from agentsim.ingest import detect_format, load_trace, load_traces, parse_traces

DATA = Path(__file__).parents[2].parent / "shared" / "data"
WHOWHEN = DATA / "whowhen-dev"


@pytest.fixture
def folder() -> Path:
    if not WHOWHEN.exists():
        pytest.skip("shared data folder absent")
    return WHOWHEN


def test_all_logs_import(folder: Path) -> None:
    traces = load_traces(folder)
    assert len(traces) == 35
    for trace in traces:
        assert trace.source == "whowhen"
        assert trace.outcomes["success"] == 0.0
        assert trace.failed() == []
        steps = trace.children("run#0")
        assert len(steps) == len(trace) - 1
        assert [s.address for s in steps] == [f"run#0/step#{i}" for i in range(len(steps))]
        k = trace.attributes["mistake_step"]
        assert isinstance(k, int) and 0 <= k < len(steps)
        assert trace.attributes["mistake_address"] == f"run#0/step#{k}"


def test_hand_crafted_1(folder: Path) -> None:
    path = folder / "Hand-Crafted" / "1.json"
    assert detect_format(path) == "whowhen"
    trace = load_trace(path)
    assert len(trace) == 30
    step = trace.span("run#0/step#12")
    assert step.agent == trace.attributes["mistake_agent"] == "WebSurfer"
    assert (step.start, step.end, step.kind) == (12.0, 13.0, "step")
    agents = Counter(s.agent for s in trace.children("run#0"))
    assert set(agents) == {"human", "Orchestrator", "WebSurfer"}
    assert trace.span("run#0/step#1").attributes["speaker"] == "Orchestrator (thought)"
    assert trace.outcomes["latency"] == 29.0


def test_algorithm_generated_1(folder: Path) -> None:
    trace = load_trace(folder / "Algorithm-Generated" / "1.json")
    assert len(trace) == 7
    first = trace.span("run#0/step#0")
    assert first.agent == "Excel_Expert" and first.attributes["role"] == "assistant"
    assert trace.attributes["mistake_step"] == 0
    assert isinstance(trace.attributes["question"], str)


def test_bad_step_names_position(tmp_path: Path) -> None:
    path = tmp_path / "log.json"
    path.write_text(json.dumps({"question": "q", "history": [{"content": "hi"}]}))
    with pytest.raises(TraceFormatError, match=r"log.json' history\[0\]: field 'name'"):
        load_trace(path)
    with pytest.raises(TraceFormatError, match="mistake_step"):
        parse_traces({"question": "q", "history": [], "mistake_step": "twelve"})
