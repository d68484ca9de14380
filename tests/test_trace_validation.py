"""Trace validation: bad trace data raises a one-line TraceFormatError, never hangs."""

from __future__ import annotations

import json
import math
import signal
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest
from pydantic import ValidationError

import agentsim as asim
from agentsim.cli import main
from agentsim.ingest import parse_traces
from agentsim.trace import Span, Trace, find_parent_cycle, read_agentsim
from agentsim.worlds.trace import TraceWorld
from tests.helpers import support_desk


def span(address: str, parent: str | None = None, **kw: Any) -> Span:
    kw.setdefault("kind", "tool")
    kw.setdefault("name", address.rsplit("/", 1)[-1].split("#")[0])
    return Span(address=address, parent=parent, **kw)


@contextmanager
def deadline(seconds: int) -> Iterator[None]:
    """Fail instead of hanging: a walk that loops forever is interrupted by SIGALRM."""

    def expire(signum: int, frame: object) -> None:
        raise TimeoutError(f"still running after {seconds} s")

    old = signal.signal(signal.SIGALRM, expire)
    signal.alarm(seconds)
    try:
        yield
    finally:
        signal.alarm(0)
        signal.signal(signal.SIGALRM, old)


def test_two_span_parent_cycle_names_both_addresses() -> None:
    with pytest.raises(asim.TraceFormatError) as info:
        Trace(spans=[span("a#0", parent="b#0"), span("b#0", parent="a#0"), span("t#0")])
    assert str(info.value).startswith(
        "span parents form a cycle: 'a#0' -> 'b#0' -> 'a#0' (each arrow points to a span's parent)"
    )
    assert "set the parent of one of them to null" in str(info.value)


def test_span_that_is_its_own_parent_is_named() -> None:
    with pytest.raises(asim.TraceFormatError, match=r"^span 'x#0' names itself as its parent"):
        Trace(spans=[span("root#0"), span("x#0", parent="x#0")])


def test_cycle_below_a_valid_root_is_found() -> None:
    spans = [span("r#0"), span("r#0/a#0", parent="r#0"), span("c#0", parent="d#0")]
    spans += [span("d#0", parent="e#0"), span("e#0", parent="c#0")]
    with pytest.raises(asim.TraceFormatError, match=r"'c#0' -> 'd#0' -> 'e#0' -> 'c#0'"):
        Trace(spans=spans)


def test_long_cycle_is_listed_in_part() -> None:
    n = 20_000
    spans = [span(f"s#{i}", parent=f"s#{(i + 1) % n}") for i in range(n)]
    with pytest.raises(asim.TraceFormatError) as info:
        Trace(spans=spans)
    message = str(info.value)
    assert "'s#0' -> 's#1' -> " in message and f"... ({n} spans) -> 's#0'" in message
    assert "\n" not in message and len(message) < 400


def test_deep_chain_with_parents_after_children_is_accepted() -> None:
    # Children before their parents (an agent's span recorded when it ends) take the slow
    # path of the cycle search; it must not recurse or go quadratic.
    n = 50_000
    spans = [span(f"s#{i}", parent=f"s#{i + 1}" if i + 1 < n else None) for i in range(n)]
    assert len(Trace(spans=spans)) == n


def test_duplicate_address_is_named() -> None:
    with pytest.raises(
        asim.TraceFormatError,
        match=r"^span address 'a#0/s#0' is used twice \(spans 1 and 2\); give each span its own "
        r"address \(repeated calls are numbered s#0, s#1, \.\.\.\)$",
    ):
        Trace(
            spans=[
                span("a#0", kind="agent"),
                span("a#0/s#0", parent="a#0"),
                span("a#0/s#0", parent="a#0"),
            ]
        )


@pytest.mark.parametrize(
    ("field", "value", "shown"),
    [
        ("start", float("nan"), "nan"),
        ("end", float("inf"), "inf"),
        ("cost", float("nan"), "nan"),
        ("queued", float("-inf"), "-inf"),
    ],
)
def test_non_finite_numbers_are_named(field: str, value: float, shown: str) -> None:
    bad = span("a#0/s#1", parent="a#0", start=1.0, end=2.0).model_copy(update={field: value})
    with pytest.raises(
        asim.TraceFormatError, match=rf"^span 'a#0/s#1': {field} is {shown}; start, end, cost"
    ):
        Trace(spans=[span("a#0", kind="agent", end=3.0), bad])


def test_finite_values_whose_sum_overflows_are_accepted() -> None:
    big = span("a#0", start=1e308, end=1.5e308, cost=1e308)
    assert Trace(spans=[big]).spans[0].cost == 1e308


def test_span_ending_before_it_starts_is_named() -> None:
    with pytest.raises(
        asim.TraceFormatError,
        match=r"^span 'a#0/s#0' ends before it starts \(start 2\.5, end 2\.0\); correct its times",
    ):
        Trace(spans=[span("a#0", end=3.0), span("a#0/s#0", parent="a#0", start=2.5, end=2.0)])


def test_float_rounding_is_tolerated_clock_skew_is_not() -> None:
    # 1 ns plus 1e-15 of the start: a few units of rounding, even at Unix-epoch times.
    for start in (0.3, 1.7e9):
        below = math.nextafter(math.nextafter(start, 0.0), 0.0)
        assert Trace(spans=[span("a#0", start=start, end=below)]).spans[0].end == below
    assert Trace(spans=[span("a#0", start=0.3, end=0.3 - 9e-10)]).spans[0].start == 0.3
    with pytest.raises(asim.TraceFormatError, match="'b#0' ends before it starts"):
        Trace(spans=[span("b#0", start=0.3, end=0.3 - 2e-9)])
    with pytest.raises(asim.TraceFormatError, match="'c#0' ends before it starts"):
        Trace(spans=[span("c#0", start=1.7e9, end=1.7e9 - 1e-5)])


def test_parent_absent_from_the_trace_makes_a_root() -> None:
    # A subtree saved on its own names a parent that is not in the file: allowed, and every
    # consumer treats the span as a root.
    t = Trace(spans=[span("a#0/s#0", parent="a#0", end=2.0), span("b#0", start=1.0, end=4.0)])
    assert TraceWorld(t).outcome([], "latency") == 4.0


def test_trace_world_on_an_unvalidated_cycle_raises_instead_of_looping() -> None:
    spans = [span("a#0", parent="b#0", kind="agent"), span("b#0", parent="a#0", kind="agent")]
    trace = Trace.model_construct(spans=[*spans, span("t#0", parent="a#0")], outcomes={})
    with deadline(10), pytest.raises(asim.TraceFormatError, match=r"'a#0' -> 'b#0' -> 'a#0'"):
        TraceWorld(trace)
    looped = Trace.model_construct(spans=[span("x#0", parent="x#0")], outcomes={})
    with deadline(10), pytest.raises(asim.TraceFormatError, match="'x#0' names itself"):
        TraceWorld(looped)


def test_find_parent_cycle_returns_the_cycle_in_parent_order() -> None:
    assert find_parent_cycle([-1, 0, 1, 2]) == []
    assert find_parent_cycle([2, 0, 1]) == [0, 2, 1]
    assert find_parent_cycle([-1, 1]) == [1]
    assert find_parent_cycle([3, 0, -1, 1], starts=[2]) == []


def test_model_validate_carries_the_trace_format_error() -> None:
    data = {"spans": [{"address": "a#0", "kind": "tool", "name": "a", "parent": "a#0"}]}
    with pytest.raises(ValidationError) as info:
        Trace.model_validate(data)
    error = info.value.errors()[0]["ctx"]["error"]
    assert isinstance(error, asim.TraceFormatError) and "'a#0' names itself" in str(error)


def write(path: Path, spans: list[dict[str, Any]]) -> Path:
    path.write_text(json.dumps({"schema_version": 1, "spans": spans}))
    return path


CYCLE = [
    {"address": "a#0", "kind": "agent", "name": "a", "parent": "b#0", "start": 0, "end": 2},
    {"address": "b#0", "kind": "agent", "name": "b", "parent": "a#0", "start": 0, "end": 1},
    {"address": "t#0", "kind": "tool", "name": "t", "start": 0, "end": 1},
]


def test_reading_a_cyclic_file_gives_one_line_naming_file_and_cycle(tmp_path: Path) -> None:
    path = write(tmp_path / "cycle.json", CYCLE)
    for read in (read_agentsim, asim.load_trace):
        with pytest.raises(asim.TraceFormatError) as info:
            read(path)
        message = str(info.value)
        assert message.startswith(f"{str(path)!r}: record 1: span parents form a cycle: 'a#0'")
        assert "\n" not in message


def test_nan_in_a_json_file_is_named(tmp_path: Path) -> None:
    path = tmp_path / "nan.json"
    path.write_text(
        '{"schema_version": 1, "spans": [{"address": "a#0", "kind": "tool", "name": "a", '
        '"start": 0, "end": NaN}]}'
    )
    with pytest.raises(asim.TraceFormatError, match=r"record 1: span 'a#0': end is nan"):
        read_agentsim(path)


def test_parsed_object_with_duplicates_names_the_address() -> None:
    dup = {"address": "s#0", "kind": "tool", "name": "s"}
    with pytest.raises(asim.TraceFormatError, match=r"span address 's#0' is used twice") as info:
        parse_traces({"schema_version": 1, "spans": [dup, dup]})
    assert "\n" not in str(info.value)


def test_cli_attribute_on_a_cyclic_trace_exits_2_with_one_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = write(tmp_path / "cycle.json", CYCLE)
    with deadline(30), pytest.raises(SystemExit) as info:
        main(["attribute", str(path)])
    assert info.value.code == 2
    err = capsys.readouterr().err.strip()
    assert "span parents form a cycle: 'a#0' -> 'b#0' -> 'a#0'" in err
    assert len(err.splitlines()) == 1


def test_simulated_traces_pass_the_check() -> None:
    batch = support_desk().simulate(n=200, seed=3)
    traces = [run.trace for run in batch]
    assert all(len(t) > 0 for t in traces)
    assert all(Trace.model_validate_json(t.model_dump_json()) == t for t in traces[:20])
