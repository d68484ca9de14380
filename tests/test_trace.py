"""Trace schema: exact JSON round trip, file I/O, helpful look-ups."""

from __future__ import annotations

from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

import agentsim as asim
from agentsim.trace import Span, Trace, read_agentsim
from tests.helpers import support_desk

finite = st.floats(allow_nan=False, allow_infinity=False, width=64)
json_values = st.recursive(
    st.none() | st.booleans() | st.integers(-(2**53), 2**53) | finite | st.text(max_size=8),
    lambda inner: (
        st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=5), inner, max_size=3)
    ),
    max_leaves=8,
)
spans = st.builds(
    Span,
    address=st.text(min_size=1, max_size=20),
    kind=st.sampled_from(["agent", "tool", "llm", "choice", "wait", "chain", "step", "other"]),
    name=st.text(max_size=10),
    parent=st.none() | st.text(max_size=10),
    start=finite,
    end=finite,
    ok=st.booleans(),
    error=st.none() | st.text(max_size=20),
    status=st.sampled_from(["done", "cancelled", "unfinished"]),
    value=json_values,
    inputs=st.lists(st.text(max_size=10), max_size=3),
    cost=finite,
    noise=st.dictionaries(st.text(max_size=8), st.floats(0, 1), max_size=3),
    attributes=st.dictionaries(st.text(max_size=8), json_values, max_size=3),
)


def well_formed(drawn: list[Span]) -> list[Span]:
    """Spans a Trace accepts: a parent later in the list (or the span itself) becomes none,
    so parents form no cycle, and no span ends before it starts."""
    position = {s.address: i for i, s in enumerate(drawn)}
    out = []
    for i, s in enumerate(drawn):
        parent = s.parent if s.parent is None or position.get(s.parent, -1) < i else None
        out.append(s.model_copy(update={"parent": parent, "end": max(s.start, s.end)}))
    return out


@given(
    st.builds(
        Trace,
        trace_id=st.text(max_size=10),
        spans=st.lists(spans, max_size=5, unique_by=lambda s: s.address).map(well_formed),
        outcomes=st.dictionaries(st.text(max_size=6), finite, max_size=3),
        seed=st.none() | st.integers(0, 2**63),
    )
)
def test_json_round_trip_is_exact(trace: Trace) -> None:
    assert Trace.model_validate_json(trace.model_dump_json()) == trace


def test_simulated_trace_round_trips_through_files(tmp_path: Path) -> None:
    sc = support_desk()
    runs = [sc.run(seed=s) for s in range(5)]
    one = asim.save_trace(runs[0].trace, tmp_path / "run.json")
    many = asim.save_trace([r.trace for r in runs], tmp_path / "runs.jsonl")
    assert read_agentsim(one) == [runs[0].trace]
    assert read_agentsim(many) == [r.trace for r in runs]
    assert asim.load_trace(one) == runs[0].trace
    assert not list(tmp_path.glob(".*.tmp"))  # atomic writes leave no temporaries


def test_many_traces_need_json_lines(tmp_path: Path) -> None:
    run = support_desk().run(seed=0)
    with pytest.raises(asim.TraceFormatError, match=r"\.jsonl"):
        asim.save_trace([run.trace, run.trace], tmp_path / "two.json")


def test_unknown_address_suggests() -> None:
    trace = support_desk().run(seed=0).trace
    with pytest.raises(asim.UnknownAddressError, match="did you mean 'support#0/planner#0'"):
        trace.span("support#0/planer#0")


def test_newer_schema_is_refused() -> None:
    with pytest.raises(ValueError, match="newer"):
        Trace.model_validate({"schema_version": 99})


def test_malformed_file_names_record_and_field(tmp_path: Path) -> None:
    p = tmp_path / "bad.jsonl"
    p.write_text('{"spans": []}\n{"spans": [{"address": 3}]}\n')
    with pytest.raises(asim.TraceFormatError, match=r"record 2: field spans\.0\.address"):
        read_agentsim(p)
