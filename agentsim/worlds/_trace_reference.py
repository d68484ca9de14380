"""Who plays in an imported trace, and what "typical" means for each player.

The baseline game sets every player outside a coalition to its *reference*: the behaviour of
a typical call of the same operation. On an imported trace that reference must come from a
*population*: the spans of the same operation (kind and name) across a corpus of traces
(:class:`Population`). Without a corpus, or for an operation the corpus never saw, the
reference is the stated default *own time removed* (latency 0; cost 0): the game then asks
how much of the run's latency (or cost) each call's own time accounts for. A span is never
its own reference, so no span is valued 0 merely because its name is unique.

A player's time is the time on its critical path that no other player holds: an LLM call's
time is mostly its HTTP request's; an agent's is its own tail and the plumbing between its
calls (:func:`reference_pieces`).

Examples
--------
>>> from agentsim.trace import Span, Trace
>>> corpus = [Trace(trace_id=str(k), spans=[
...     Span(address="search#0", kind="tool", name="search", start=0, end=1 + k)])
...     for k in range(3)]
>>> Population(corpus).latency("tool", "search", ("x", "search#0"))
2.0
>>> Population(corpus).latency("tool", "fetch", ("x", "fetch#0")) is None
True
"""

from __future__ import annotations

import statistics
from collections.abc import Collection, Sequence

from agentsim.trace import Span, Trace
from agentsim.worlds._trace_equations import Joins, Timing
from agentsim.worlds._trace_time import critical_path

__all__ = ["CALL_KINDS", "Population", "call_players", "describe", "reference_pieces"]

CALL_KINDS = frozenset({"tool", "llm", "step", "choice", "wait"})
"""Kinds whose spans are calls (players of ``players="calls"``)."""

Key = tuple[str, str]


class Population:
    """Durations and costs of each operation ``(kind, name)`` across a corpus of traces.

    Parameters
    ----------
    corpus : sequence of Trace, optional
        The traces whose spans form the populations; ``None`` or empty: no population.
    """

    def __init__(self, corpus: Sequence[Trace] | None = None) -> None:
        self.size = len(corpus or ())
        self._seen: dict[Key, list[tuple[tuple[str, str], float, float]]] = {}
        for t in corpus or ():
            for s in t.spans:
                entry = ((t.trace_id, s.address), s.duration, s.cost)
                self._seen.setdefault((s.kind, s.name), []).append(entry)

    def _values(self, kind: str, name: str, me: tuple[str, str], k: int) -> list[float]:
        return [e[1] if k == 1 else e[2] for e in self._seen.get((kind, name), ()) if e[0] != me]

    def latency(self, kind: str, name: str, me: tuple[str, str]) -> float | None:
        """Median duration of the operation's other spans, or ``None`` without any.
        ``me`` (trace id, address) is left out: a span is never its own population."""
        values = self._values(kind, name, me, 1)
        return float(statistics.median(values)) if values else None

    def cost(self, kind: str, name: str, me: tuple[str, str]) -> float | None:
        """Median cost of the operation's other spans, or ``None`` without any."""
        values = self._values(kind, name, me, 2)
        return float(statistics.median(values)) if values else None


def call_players(spans: Sequence[Span], parent: Sequence[int], leaf: Sequence[bool]) -> list[int]:
    """Indices of the calls: tool, LLM, step, choice and wait spans that are not part of an
    enclosing call of the same kind (``openai.chat`` inside ``call_llm``), and agent spans
    recorded without children. Plumbing (HTTP, queue and handler spans of kind ``other``,
    framework ``chain`` spans) is left out, and so are agents with children (their time and
    errors are their calls'; ``players="agents"`` has them)."""
    out = []
    for i, s in enumerate(spans):
        if s.kind == "agent":
            if leaf[i]:
                out.append(i)
            continue
        if s.kind not in CALL_KINDS:
            continue
        p = parent[i]
        while p >= 0 and spans[p].kind != s.kind:
            p = parent[p]
        if p < 0:
            out.append(i)
    return out


def reference_pieces(
    spans: Sequence[Span],
    timing: Timing,
    joins: Joins,
    i: int,
    change: float,
    others: Collection[int],
) -> list[tuple[int, float]]:
    """How a waiting span ``i`` becomes ``change`` seconds shorter: ``(span, seconds)``
    pieces taken off its critical path, latest first, never off another player's spans
    (``others``, with everything inside them), and no more than the path holds."""
    need = -change
    out: list[tuple[int, float]] = []
    for j, available in critical_path(spans, timing, joins, i, skip=others):
        take = min(available, need)
        if take > 0.0:
            out.append((j, take))
            need -= take
        if need <= 1e-12:
            break
    return out


def describe(
    players: Sequence[Span],
    typical: Sequence[float | None],
    spans: Sequence[Span],
    corpus_size: int,
    outcome: str,
) -> list[str]:
    """Notes on the references of ``players`` (``typical``: each one's population median,
    ``None`` for the default), and on why every share is 0 when none differs from its
    reference (with the reason when the trace's ``spans`` show one: equal durations, whole
    second timestamps)."""
    corpus = sum(t is not None for t in typical)
    default = len(players) - corpus
    where = (
        f"the median of each operation (kind, name) over a corpus of {corpus_size} traces for "
        f"{corpus} span{'s' if corpus != 1 else ''}"
        if corpus_size
        else "no corpus given (asim.world(trace, reference=corpus))"
    )
    notes = [
        f"reference: {where}; {default} span{' uses' if default == 1 else 's use'} the "
        f"stated default, own time removed ({outcome} 0)"
    ]
    factual = [s.duration if outcome == "latency" else s.cost for s in players]
    reference = [0.0 if t is None else t for t in typical]
    same = [s for s, a, b in zip(players, factual, reference, strict=True) if abs(a - b) <= 1e-9]
    if not same:
        return notes
    if len(same) == len(players):
        why = (
            f"every player's recorded {outcome} equals its reference, so v(empty) = v(N) and "
            "every share is 0"
        )
    else:
        why = (
            f"{len(same)} of {len(players)} players' recorded {outcome} equals their "
            "reference, so their shares are 0 (setting them to it changes "
            "nothing)"
        )
    durations = {round(s.duration, 9) for s in same}
    if outcome == "latency" and len(durations) == 1:
        why += f": each lasts {durations.pop():g} s"
        if all(float(s.start).is_integer() and float(s.end).is_integer() for s in spans):
            why += (
                " and every timestamp in the trace is a whole second, so its times carry "
                "no information on speed"
            )
    notes.append(why)
    return notes
