"""OpenInference spans: the Phoenix fixture (three named traces) and synthetic shapes."""

from __future__ import annotations

from collections import Counter
from pathlib import Path

import pytest

from agentsim.ingest import detect_format, load_traces, parse_traces

DATA = Path(__file__).parents[2].parent / "shared" / "data"
PXI = DATA / "traces" / "openinference_phoenix" / "pxi_suggestion_traces.json"


def test_phoenix_fixture() -> None:
    if not PXI.exists():
        pytest.skip("shared data folder absent")
    assert detect_format(PXI) == "openinference"
    traces = {t.attributes["label"]: t for t in load_traces(PXI)}
    assert {k: len(t) for k, t in traces.items()} == {
        "accepted_prompt_edit": 10,
        "rejected_prompt_edit": 11,
        "mixed_annotation_config": 10,
    }
    rejected = traces["rejected_prompt_edit"]
    assert Counter(s.kind for s in rejected) == {"agent": 1, "llm": 6, "tool": 4}
    assert [s.address for s in rejected.failed()] == ["pxi.turn#0"]
    assert rejected.outcomes["success"] == 0.0
    assert traces["accepted_prompt_edit"].outcomes == {"success": 1.0, "latency": 19.0, "cost": 0.0}
    # The root's span id is all zeros; it is still the parent of every other span.
    assert all(s.parent == "pxi.turn#0" for s in rejected.spans[1:])
    assert rejected.spans[1].address == "pxi.turn#0/gpt-5.5#0"
    assert rejected.spans[1].agent == "pxi.turn"


def test_dataframe_records_nanoseconds_and_exception_event() -> None:
    records = [
        {
            "name": "retrieve",
            "context.span_id": "s1",
            "context.trace_id": "t",
            "parent_id": None,
            "span_kind": "RETRIEVER",
            "start_time": 1_700_000_000_000_000_000,
            "end_time": 1_700_000_000_250_000_000,
            "status_code": "UNSET",
            "attributes.llm.token_count.prompt": 3,
            "events": [{"name": "exception", "attributes": {"exception.message": "index down"}}],
        },
    ]
    span = parse_traces({"data": records})[0].spans[0]
    assert (span.kind, span.end, span.error) == ("tool", 0.25, "index down")
    assert span.attributes["tokens"] == {"input": 3}
