"""Fuzzing the ingest front door: only TraceFormatError may escape, or a valid Trace returns."""

from __future__ import annotations

import contextlib
import json
import tempfile
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from agentsim.errors import TraceFormatError
from agentsim.ingest import FORMATS, load_traces, parse_traces
from agentsim.trace import Trace

DATA = Path(__file__).parents[2].parent / "shared" / "data"
REAL = sorted((DATA / "traces").glob("*/*.json")) + sorted((DATA / "whowhen-dev").glob("*/1*.json"))

KEYS = [
    "resourceSpans",
    "batches",
    "scopeSpans",
    "instrumentationLibrarySpans",
    "spans",
    "spanId",
    "parentSpanId",
    "traceId",
    "startTimeUnixNano",
    "endTimeUnixNano",
    "status",
    "code",
    "data",
    "traceID",
    "spanID",
    "references",
    "startTime",
    "duration",
    "tags",
    "observations",
    "trace",
    "parentObservationId",
    "type",
    "startTime",
    "history",
    "question",
    "name",
    "role",
    "post",
    "run_type",
    "child_runs",
    "dotted_order",
    "object",
    "span_data",
    "parent_id",
    "started_at",
    "context",
    "span_id",
    "span_kind",
    "start_time",
    "end_time",
    "attributes",
    "key",
    "value",
    "id",
    "events",
    "kind",
    "level",
    "error",
]
scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(-(2**70), 2**70),
    st.floats(allow_nan=False),
    st.text(max_size=12),
    st.sampled_from(["2025-01-01T00:00:00Z", "STATUS_CODE_ERROR", "0", "a"]),
)
json_values = st.recursive(
    scalars,
    lambda inner: (
        st.lists(inner, max_size=4)
        | st.dictionaries(st.sampled_from(KEYS) | st.text(max_size=6), inner, max_size=5)
    ),
    max_leaves=30,
)


def _check(traces: list[Trace]) -> None:
    for trace in traces:
        assert isinstance(trace, Trace)
        assert len(set(trace.addresses())) == len(trace)
        Trace.model_validate_json(trace.model_dump_json())


@settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(obj=json_values, fmt=st.none() | st.sampled_from(list(FORMATS)))
def test_random_json(obj: Any, fmt: str | None) -> None:
    with contextlib.suppress(TraceFormatError):
        _check(parse_traces(obj, fmt))


def _mutate(value: Any, path: list[int], replacement: Any) -> Any:
    """Replace the node reached by following ``path`` (indices modulo the children)."""
    if not path or not isinstance(value, dict | list) or not value:
        return replacement
    if isinstance(value, dict):
        key = list(value)[path[0] % len(value)]
        return {**value, key: _mutate(value[key], path[1:], replacement)}
    i = path[0] % len(value)
    return [*value[:i], _mutate(value[i], path[1:], replacement), *value[i + 1 :]]


@pytest.mark.skipif(not REAL, reason="shared data folder absent")
@settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    index=st.integers(0, 10_000),
    path=st.lists(st.integers(0, 50), max_size=8),
    replacement=json_values,
)
def test_mutated_real_files(index: int, path: list[int], replacement: Any) -> None:
    original = json.loads(REAL[index % len(REAL)].read_text(encoding="utf-8"))
    mutated = _mutate(original, path, replacement)
    with contextlib.suppress(TraceFormatError):
        _check(parse_traces(mutated))


@pytest.mark.skipif(not REAL, reason="shared data folder absent")
@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(index=st.integers(0, 10_000), cut=st.floats(0.0, 1.0), jsonl=st.booleans())
def test_truncated_real_files(index: int, cut: float, jsonl: bool) -> None:
    text = REAL[index % len(REAL)].read_text(encoding="utf-8")
    if jsonl:
        text = json.dumps(json.loads(text)) + "\n" + json.dumps(json.loads(text))
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "cut.json"
        path.write_text(text[: int(len(text) * cut)], encoding="utf-8")
        try:
            _check(load_traces(path))
        except TraceFormatError as exc:
            assert "cut.json" in str(exc)


def test_deep_nesting_and_parent_cycles() -> None:
    deep: Any = []
    for _ in range(5000):
        deep = [deep]
    with pytest.raises(TraceFormatError):
        parse_traces({"resourceSpans": deep})
    spans = [
        {
            "spanId": "0000000000000001",
            "parentSpanId": "0000000000000002",
            "name": "a",
            "startTimeUnixNano": 1,
            "endTimeUnixNano": 2,
        },
        {
            "spanId": "0000000000000002",
            "parentSpanId": "0000000000000001",
            "name": "b",
            "startTimeUnixNano": 0,
            "endTimeUnixNano": 3,
        },
        {
            "spanId": "0000000000000003",
            "parentSpanId": "0000000000000003",
            "name": "c",
            "startTimeUnixNano": 0,
            "endTimeUnixNano": 3,
        },
    ]
    [trace] = parse_traces({"resourceSpans": [{"scopeSpans": [{"spans": spans}]}]})
    assert len(trace) == 4 and trace.spans[0].address == "missing-parent#0"
    assert len(trace.attributes["warnings"]) == 2
    chain = [
        {
            "spanId": f"{i + 1:016x}",
            "parentSpanId": f"{i:016x}" if i else "",
            "name": "n",
            "startTimeUnixNano": i,
            "endTimeUnixNano": 10**6,
        }
        for i in range(3000)
    ]
    [deep_trace] = parse_traces({"resourceSpans": [{"scopeSpans": [{"spans": chain}]}]})
    assert len({s.address for s in deep_trace.spans}) == 3000  # no recursion limit, unique
    assert deep_trace.spans[-1].parent == deep_trace.spans[-2].address
