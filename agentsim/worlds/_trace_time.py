"""Where a change of an imported span's duration goes, and which span pins a latency.

Layer: causal. It imports only from its own layer and the ones below it.

A span with children (or one that waits for spans elsewhere in the tree) does not spend its
time itself: :func:`route_time` puts a longer duration on its own tail and takes a shorter one
off its tail, then off its critical path (:func:`critical_path`), latest time first, down to
the leaves, refusing what the path cannot give. :func:`holder` finds the span whose recorded
time absorbed a change (the span that pins a latency); :func:`setter`, the span whose recorded
time sets another's end. Both read the fixed part of the equations
(:mod:`agentsim.worlds._trace_equations`) and serve :class:`~agentsim.worlds.trace.TraceWorld`.
"""

from __future__ import annotations

from collections.abc import Collection, Sequence

from agentsim.errors import InterventionError
from agentsim.trace import Span
from agentsim.worlds._trace_equations import WAIT_TOLERANCE, Effects, Joins, Timing

__all__ = ["critical_path", "holder", "route_time", "setter"]


def critical_path(
    spans: Sequence[Span],
    timing: Timing,
    joins: Joins,
    i: int,
    skip: Collection[int] = (),
) -> list[tuple[int, float]]:
    """``(span, own time it can give)`` along ``i``'s critical path, latest time first: its
    tail, then the last child it waited for (its tail and last child, down to a leaf), then
    that child's predecessor among its siblings, and so on back to a parallel start. A span
    that waits for spans elsewhere gives only its offset, and ends the path. A span in
    ``skip`` gives nothing and is not entered, but the path goes on before it.

    >>> from agentsim.trace import Span
    >>> from agentsim.worlds._trace_equations import wire_time
    >>> spans = [Span(address="a#0", kind="agent", name="a", start=0, end=4),
    ...          Span(address="a#0/x#0", kind="tool", name="x", parent="a#0", start=0, end=1),
    ...          Span(address="a#0/y#0", kind="tool", name="y", parent="a#0", start=1, end=3)]
    >>> timing = wire_time(spans, {-1: [0], 0: [1, 2], 1: [], 2: []}, 0.0)
    >>> critical_path(spans, timing, Joins({}, {}, {}), 0)
    [(0, 1.0), (2, 2.0), (1, 1.0)]
    """

    def last(group: Sequence[int]) -> int:
        return max(group, key=lambda c: (spans[c].end, c))

    out: list[tuple[int, float]] = []
    stack = [i]
    while stack:
        node = stack.pop()
        pred = timing.after.get(node, ()) if node != i else ()
        if pred:
            stack.append(last(pred))
        if node in skip and node != i:
            out.append((node, 0.0))
        elif node in joins.waits_for:
            out.append((node, max(0.0, joins.offset[node])))
            stack.clear()  # its time is spent elsewhere in the tree
        elif timing.waits.get(node):
            out.append((node, max(0.0, timing.tail[node])))
            stack.append(last(timing.waits[node]))
        else:
            out.append((node, spans[node].duration))
    return out


def route_time(
    eff: Effects,
    what: str,
    i: int,
    change: float,
    value: float | None,
    spans: Sequence[Span],
    timing: Timing,
    joins: Joins,
    waiting: Collection[int],
) -> None:
    """Record in ``eff`` a change of span ``i``'s duration by ``change`` seconds (``value``:
    the duration a ``do`` sets), put where the time is spent; ``what`` describes the
    intervention for the error message.

    A leaf's duration is its own. A span in ``waiting`` (it waits for children or for spans
    elsewhere) takes a longer time on its own tail; a shorter one comes off its critical
    path; what that path cannot give is refused, naming the leaves that hold the time.
    """
    if i not in waiting:
        eff.latency.setdefault(i, []).append(
            ("set", value) if value is not None else ("add", change)
        )
        return
    if change >= 0.0:
        eff.latency.setdefault(i, []).append(("add", change))
        return
    need = -change
    path = critical_path(spans, timing, joins, i)
    for j, available in path:
        take = min(available, need)
        if take > 0.0:
            eff.latency.setdefault(j, []).append(("add", -take))
            need -= take
        if need <= 1e-12:
            return
    held = sum(a for _, a in path)
    leaves = [(j, a) for j, a in path if j not in waiting and a > 0.0]
    where = ", ".join(f"{spans[j].address!r} {a:.6g} s" for j, a in leaves[:3])
    last = path[-1][0]
    elsewhere = ""
    if last in joins.waits_for:
        awaited = max(joins.waits_for[last], key=lambda e: (spans[e].end, e))
        elsewhere = (
            f"; {spans[last].address!r} ends when {spans[awaited].address!r} ends, so that "
            f"is the span to delay"
        )
    raise InterventionError(
        f"{what}: {spans[i].address!r} lasts {spans[i].duration:.6g} s, but only "
        f"{held:.6g} s of it is time its own tail and its critical path spend (leaves: "
        f"{where or 'none'}){elsewhere}; the rest is fixed gaps and offsets. Shorten it by "
        f"at most {held:.6g} s, or delay the leaf calls that hold the time"
    )


def setter(timing: Timing, joins: Joins, i: int, end: Sequence[float], runs: Sequence[bool]) -> int:
    """The innermost span whose end sets span ``i``'s: down through the children it waited
    for and the spans it waits for, latest end first, while they end together with it."""
    while True:
        below = [c for c in timing.waits.get(i, ()) if runs[c]]
        below += [e for e in joins.waits_for.get(i, ()) if runs[e]]
        if not below:
            return i
        nxt = max(below, key=lambda c: (end[c], c))
        if end[nxt] < end[i] - WAIT_TOLERANCE:  # i's own tail sets its end
            return i
        i = nxt


def holder(
    timing: Timing,
    joins: Joins,
    before: Sequence[float],
    end: Sequence[float],
    runs: Sequence[bool],
) -> int | None:
    """The span whose recorded time absorbed a change, or ``None``.

    A span *absorbs* a change when something its equation reads moved (a child it waits
    for, a span it waits for elsewhere, or, for such a waiting span, the sibling it starts
    after) but its end did not: another input, which the change did not reach, holds it.
    Of the absorbing spans, the one that ended first in the factual trace is where the
    change stopped; its holder is the unmoved input that sets its end (the span it waits for
    elsewhere, or its last child), else itself. ``before`` holds the factual ends.
    """

    def moved(j: int) -> bool:
        return abs(end[j] - before[j]) > 1e-12

    found: list[tuple[float, int]] = []
    for i in range(len(end)):
        if not runs[i] or moved(i):
            continue
        # A leaf whose start moved moves with it, unless it waits for a span elsewhere.
        fed = i in joins.waits_for and any(moved(j) for j in timing.after.get(i, ()))
        fed = fed or any(moved(c) for c in timing.waits.get(i, ()) if runs[c])
        fed = fed or any(moved(e) for e in joins.waits_for.get(i, ()) if runs[e])
        if fed:
            found.append((before[i], i))
    if not found:
        return None
    _, i = min(found)
    inputs = [e for e in joins.waits_for.get(i, ()) if runs[e] and not moved(e)]
    inputs = inputs or [c for c in timing.waits.get(i, ()) if runs[c] and not moved(c)]
    return max(inputs, key=lambda c: (end[c], c)) if inputs else i
