"""The parts of a trace's structural equations that the recorded trace fixes once.

:class:`~agentsim.worlds.trace.TraceWorld` evaluates the time, error and cost equations described
in :mod:`agentsim.worlds.trace` under every set of interventions. What those equations hold
fixed is read off the factual trace here, once: for time, each span's predecessors among its
siblings, its recorded gap or offset, the children its parent waited for and the parent's tail
(:func:`wire_time`); for errors, the retry or fallback that follows each failed attempt, the
errors a parent tolerated and the spans that failed on their own (:func:`wire_errors`). The
values of one world live in a :class:`State`; what the interventions do to each span, in an
:class:`Effects`.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import NamedTuple

from agentsim.trace import Span

__all__ = [
    "ROOT",
    "Effects",
    "Errors",
    "State",
    "Timing",
    "recovered",
    "tokens_of",
    "wire_errors",
    "wire_time",
]

ROOT = -1
"""Index of the virtual root over the top-level spans."""

_EPS = 1e-6
"""Clock tolerance in seconds when deciding whether one span ended before another began."""
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


@dataclass
class Effects:
    """What the interventions do to each span."""

    forced: dict[int, bool]
    latency: dict[int, list[tuple[str, float]]]
    cost: dict[int, float]


class Timing(NamedTuple):
    """The fixed part of the time equations, by span index (:data:`ROOT` for the run)."""

    after: dict[int, tuple[int, ...]]
    """Earlier siblings a sequential span starts after (empty for a parallel span)."""
    gap: dict[int, float]
    """Recorded delay after those siblings, or offset from the parent's start."""
    waits: dict[int, tuple[int, ...]]
    """Children a parent waited for (those that ended before it did)."""
    tail: dict[int, float]
    """A parent's time after the last child it waited for."""
    own: dict[int, float]
    """A parent's duration minus the time its children cover."""


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
        waited = tuple(c for c in group if spans[c].end <= end + _EPS)
        timing.waits[p] = waited
        if waited:
            timing.tail[p] = max(0.0, end - max(spans[c].end for c in waited))
        if p != ROOT:
            timing.own[p] = max(0.0, spans[p].duration - _covered(spans, group, p))
    return timing


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
