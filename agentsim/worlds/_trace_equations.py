"""The parts of a trace's structural equations that the recorded trace fixes once.

Layer: causal. It imports only from its own layer and the ones below it.

:class:`~agentsim.worlds.trace.TraceWorld` evaluates the time, error and cost equations described
in :mod:`agentsim.worlds.trace` under every set of interventions. What those equations hold
fixed is read off the factual trace here, once: for time, each span's predecessors among its
siblings, its recorded gap or offset, the children its parent waited for and the parent's tail
(:func:`wire_time`); the spans that wait for a span elsewhere in the tree and the polls of
their loops (:func:`wire_joins`); the order in which the equations are evaluated
(:func:`event_order`); for errors, the retry or fallback that follows each failed attempt, the
errors a parent tolerated and the spans that failed on their own (:func:`wire_errors`). The
values of one world live in a :class:`State`; what the interventions do to each span, in an
:class:`Effects`.

*Ends together* means within :data:`WAIT_TOLERANCE` (1 ms), a bound read off the shared real
traces: a stream span that ends when its server span ends outlives it by 32-35 µs (clock
skew between the two), a queue consumer receives the event its producer enqueued 0.2-0.4 ms
later, while the shortest real work that outlived its parent there (a ``DELETE`` after the
agent returned) ends 1.96 ms after it, and LLM and tool calls last 50 ms or more.
"""

from __future__ import annotations

import bisect
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import NamedTuple

import networkx as nx

from agentsim.trace import Span

__all__ = [
    "ROOT",
    "WAIT_TOLERANCE",
    "Effects",
    "Errors",
    "Joins",
    "State",
    "Timing",
    "event_order",
    "recovered",
    "tokens_of",
    "wire_errors",
    "wire_joins",
    "wire_time",
]

ROOT = -1
"""Index of the virtual root over the top-level spans."""

_EPS = 1e-6
"""Clock tolerance in seconds when deciding whether one span ended before another began."""
WAIT_TOLERANCE = 1e-3
"""Two spans whose ends are this close (seconds) end together: the later one waited for the
earlier (see the module docstring for where the bound comes from)."""
_FALLBACK_KINDS = frozenset({"tool", "llm", "agent"})
_GENERIC = re.compile(
    r"^(error|exception|failed|failure|unknown error|status_code_error)?"
    r"( status)?$"
)


@dataclass(frozen=True)
class State:
    """One world's values, span by span (index order of the trace)."""

    runs: tuple[bool, ...]
    ok: tuple[bool, ...]
    start: tuple[float, ...]
    end: tuple[float, ...]
    outcomes: dict[str, float]
    pinned_by: int | None = None
    """When the interventions moved some span's end but not the latency: the span whose
    recorded time held the change (:func:`agentsim.worlds._trace_time.holder`), else None."""


@dataclass
class Effects:
    """What the interventions do to each span."""

    forced: dict[int, bool]
    latency: dict[int, list[tuple[str, float]]]
    cost: dict[int, float]
    fixed: set[int] = field(default_factory=set)
    """Spans whose own fault is removed (``fix``): their flag follows their children."""


class Timing(NamedTuple):
    """The fixed part of the time equations, by span index (:data:`ROOT` for the run)."""

    after: dict[int, tuple[int, ...]]
    """Earlier siblings a sequential span starts after (empty for a parallel span)."""
    gap: dict[int, float]
    """Recorded delay after those siblings, or offset from the parent's start."""
    waits: dict[int, tuple[int, ...]]
    """Children a parent waited for (those that ended before it did, or together with it)."""
    tail: dict[int, float]
    """A parent's time after the last child it waited for (slightly negative when that child
    ended together with it, a hair later)."""
    own: dict[int, float]
    """A parent's duration minus the time its children cover."""


class Joins(NamedTuple):
    """Spans that wait for spans elsewhere in the tree, by span index."""

    waits_for: dict[int, tuple[int, ...]]
    """A waiting span: the spans (outside its own line of ancestors) it ends together with."""
    offset: dict[int, float]
    """Recorded time from the last of those ends to the waiting span's end."""
    polls: dict[int, int]
    """An earlier attempt of a waiting span (a poll of the same name under the same parent):
    the waiting span it precedes. A poll is cut short when the awaited event comes first."""


class Errors(NamedTuple):
    """The fixed part of the error equations, by span index (:data:`ROOT` for the run)."""

    next: dict[int, int]
    """The retry or fallback that follows each failed attempt."""
    prevs: dict[int, list[int]]
    """The failed attempts each retry or fallback follows."""
    tolerated: set[int]
    """Spans whose unrecovered error their parent, recorded ok, tolerated."""
    own_fail: set[int]
    """Spans (and the root) that failed on their own rather than by propagation."""


def _norm(text: str | None) -> str:
    return " ".join((text or "").lower().split())


def tokens_of(span: Span) -> float:
    """The span's ``attributes["tokens"]`` as one number (0 when absent)."""
    tok = span.attributes.get("tokens")
    if isinstance(tok, dict):
        parts = [v for k, v in tok.items() if k in ("input", "output") and isinstance(v, int)]
        tok = tok.get("total", sum(parts))
    return float(tok) if isinstance(tok, int | float) and not isinstance(tok, bool) else 0.0


def wire_time(spans: list[Span], kids: Mapping[int, list[int]], origin: float) -> Timing:
    """Predecessors, gaps, offsets and tails from the recorded times."""

    def start_of(i: int) -> float:
        return origin if i == ROOT else spans[i].start

    def end_of(i: int) -> float:
        if i == ROOT:
            return max((s.end for s in spans), default=0.0)
        return spans[i].end

    timing = Timing({}, {}, {}, {}, {})
    for p, group in kids.items():
        for k, c in enumerate(group):
            before = [j for j in range(k) if spans[group[j]].end <= spans[c].start + _EPS]
            # Keep the frontier: a sibling followed by another finished sibling ends no
            # later than that one in every world, so it never decides the start.
            frontier = tuple(
                group[j]
                for j in before
                if not any(
                    spans[group[m]].start >= spans[group[j]].end - _EPS for m in before if m > j
                )
            )
            timing.after[c] = frontier
            if frontier:
                anchor = max(spans[s].end for s in frontier)
                timing.gap[c] = max(0.0, spans[c].start - anchor)
            else:
                timing.gap[c] = spans[c].start - start_of(p)
        end = end_of(p)
        # A child ending together with its parent (within the tolerance, either side) holds
        # it up: a stream span that ends when the response it streams has been sent.
        slack = _EPS if p == ROOT else WAIT_TOLERANCE
        waited = tuple(c for c in group if spans[c].end <= end + slack)
        timing.waits[p] = waited
        if waited:
            timing.tail[p] = max(-slack, end - max(spans[c].end for c in waited))
        if p != ROOT:
            timing.own[p] = max(0.0, spans[p].duration - _covered(spans, group, p))
    return timing


def wire_joins(
    spans: Sequence[Span], parent: Sequence[int], kids: Mapping[int, list[int]]
) -> Joins:
    """Plumbing spans that end when something elsewhere in the tree ends.

    A leaf span (other than the plumbing of an LLM or tool call, such as its HTTP request,
    where the call's time is spent) *waits for* the spans outside its line of ancestors that
    run inside its interval and end together with it: a ``dequeue_event`` that returns when
    the agent's ``enqueue_event`` fires, an ``http receive`` stream that ends with the last
    ``http send``, a tool call whose HTTP request was recorded under the agent rather than
    under the tool.
    Earlier same-name siblings under the same parent, back to the previous waiting span, are
    the *polls* of its loop.
    """
    n = len(spans)
    inside_call = [False] * n
    for i in range(n):
        p = parent[i]
        while p != ROOT and not inside_call[i]:
            inside_call[i] = spans[p].kind in ("llm", "tool")
            p = parent[p]
    by_end = sorted(range(n), key=lambda i: spans[i].end)
    ends = [spans[i].end for i in by_end]
    joins = Joins({}, {}, {})
    for w, sw in enumerate(spans):
        # The plumbing leaf of a call (its HTTP request) is where the call's time is spent.
        plumbing_of_call = inside_call[w] and sw.kind not in ("llm", "tool", "agent")
        if kids[w] or plumbing_of_call or sw.duration <= WAIT_TOLERANCE:
            continue
        ancestors = set()
        p = parent[w]
        while p != ROOT:
            ancestors.add(p)
            p = parent[p]
        lo = bisect.bisect_left(ends, sw.end - WAIT_TOLERANCE)
        found = tuple(
            sorted(
                e
                for e in by_end[lo:]
                if spans[e].end <= sw.end + _EPS
                and e != w
                and e not in ancestors
                and spans[e].start >= sw.start - _EPS
                and spans[e].start < sw.end - _EPS
            )
        )
        if found:
            joins.waits_for[w] = found
            joins.offset[w] = sw.end - max(spans[e].end for e in found)
    for w in joins.waits_for:
        group = kids[parent[w]]
        nxt = w
        for c in reversed(group[: group.index(w)]):
            if spans[c].name != spans[w].name or spans[c].end > spans[nxt].start + _EPS:
                continue
            # A poll ends, and the next one begins at once; a waiting span ends its loop.
            if c in joins.waits_for or spans[nxt].start - spans[c].end > WAIT_TOLERANCE:
                break
            joins.polls[c] = w
            nxt = c
    return joins


def event_order(
    spans: Sequence[Span],
    parent: Sequence[int],
    kids: Mapping[int, list[int]],
    timing: Timing,
    prevs: Mapping[int, list[int]],
    joins: Joins,
    walk: Sequence[tuple[int, bool]],
) -> list[tuple[int, bool]]:
    """An order of the ``(span, end?)`` events in which every equation reads only values
    already computed: the depth-first ``walk`` where the tree suffices, adjusted for the
    spans that wait across it. A join that would close a cycle (which the recorded times
    never imply beyond the tolerance) is dropped from ``joins``."""
    g: nx.DiGraph[tuple[int, bool]] = nx.DiGraph()
    g.add_nodes_from(walk)
    for i in range(len(spans)):
        p = parent[i]
        if p != ROOT:
            g.add_edge((p, False), (i, False))
            g.add_edge((i, True), (p, True))
        g.add_edge((i, False), (i, True))
        for f in (*timing.after.get(i, ()), *prevs.get(i, ())):
            g.add_edge((f, True), (i, False))
    for w in sorted(joins.waits_for):
        loop = [c for c, v in joins.polls.items() if v == w]
        waited = joins.waits_for[w]
        edges = [((e, True), (w, True)) for e in waited]
        g.add_edges_from(edges)
        if not nx.is_directed_acyclic_graph(g):
            g.remove_edges_from(edges)
            del joins.waits_for[w], joins.offset[w]
            for c in loop:
                del joins.polls[c]
            continue
        cuts = [((e, True), (c, end)) for e in waited for c in loop for end in (False, True)]
        g.add_edges_from(cuts)
        if not nx.is_directed_acyclic_graph(g):
            g.remove_edges_from(cuts)
            for c in loop:
                del joins.polls[c]
    rank = {event: k for k, event in enumerate(walk)}
    return list(nx.lexicographical_topological_sort(g, key=rank.__getitem__))


def wire_errors(
    spans: list[Span],
    kids: Mapping[int, list[int]],
    walk: list[tuple[int, bool]],
    recorded_success: float | None,
) -> Errors:
    """Recoverers, tolerated errors and own failures from the recorded flags.

    ``walk`` is the depth-first walk of ``(span, leaving?)`` events; ``recorded_success`` the
    trace's recorded ``success`` outcome, if any.
    """
    errors = Errors({}, {}, set(), set())
    for p, group in kids.items():
        for k, c in enumerate(group):
            if spans[c].ok:
                continue
            later = [
                d
                for d in group[k + 1 :]
                if spans[d].kind == spans[c].kind and spans[d].start >= spans[c].end - _EPS
            ]
            retry = next((d for d in later if spans[d].name == spans[c].name), None)
            # A different callee counts as a fallback only under a parent recorded ok: a
            # parent that failed shows that nothing after c made up for it.
            parent_ok = p != ROOT and spans[p].ok
            if retry is None and spans[c].kind in _FALLBACK_KINDS and later and parent_ok:
                retry = later[0]
            if retry is not None:
                errors.next[c] = retry
                errors.prevs.setdefault(retry, []).append(c)
    texts: dict[int, set[str]] = {}
    every, recorded = [True] * len(spans), [s.ok for s in spans]
    for p in [*(i for i, done in walk if done), ROOT]:
        if p != ROOT:
            ok_p = spans[p].ok
        elif recorded_success is not None:
            ok_p = recorded_success != 0.0
        else:
            ok_p = all(spans[c].ok for c in kids[ROOT])
        unrecovered = [
            c for c in kids[p] if not spans[c].ok and not recovered(c, errors.next, every, recorded)
        ]
        if ok_p:
            errors.tolerated.update(unrecovered)
            continue
        inherited = set().union(*(texts.get(c, set()) for c in unrecovered))
        own = "" if p == ROOT else _norm(spans[p].error)
        propagated = bool(unrecovered) and (
            bool(_GENERIC.match(own)) or any(own in t or t in own for t in inherited if t)
        )
        if not propagated:
            errors.own_fail.add(p)
        texts[p] = ({own} if own else set()) | inherited
    return errors


def _covered(spans: list[Span], group: list[int], p: int) -> float:
    """Length of the union of the children's intervals, clipped to the parent's."""
    lo, hi = spans[p].start, spans[p].end
    total, reach = 0.0, lo
    for a, b in sorted((max(lo, spans[c].start), min(hi, spans[c].end)) for c in group):
        a = max(a, reach)
        if b > a:
            total, reach = total + b - a, b
    return total


def recovered(c: int, nxt: Mapping[int, int], runs: list[bool], ok: list[bool]) -> bool:
    """Whether a later attempt that ran after failed span ``c`` succeeded."""
    d = nxt.get(c)
    while d is not None and runs[d]:
        if ok[d]:
            return True
        d = nxt.get(d)
    return False
