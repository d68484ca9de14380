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

import re
import statistics
from collections.abc import Collection, Sequence
from typing import Any

from agentsim.errors import AttributionError
from agentsim.interventions import Intervention, delay, do
from agentsim.trace import Span, Trace
from agentsim.worlds._trace_equations import Joins, Timing
from agentsim.worlds._trace_time import critical_path

__all__ = [
    "CALL_KINDS",
    "Population",
    "TracePlayers",
    "call_players",
    "describe",
    "reference_pieces",
]

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


class TracePlayers:
    """Players and references of a trace world (a mixin: the world supplies its spans, its
    structure and ``_matches``)."""

    trace: Trace
    population: Population
    _spans: list[Span]
    _index: dict[str, int]
    _kids: dict[int, list[int]]
    _calls: list[int]
    _waiting: set[int]
    _timing: Timing
    _joins: Joins

    def _matches(self, iv: Intervention) -> list[int]:
        raise NotImplementedError  # pragma: no cover - supplied by TraceWorld

    def pinned_by(self, interventions: Sequence[Any] = ()) -> str | None:
        raise NotImplementedError  # pragma: no cover - supplied by TraceWorld

    def players(self, kind: str = "calls") -> list[str]:
        """``calls``: tool, LLM, step, choice and wait spans not nested in a call of the
        same kind, and agent spans without children (plumbing such as HTTP, queue and
        handler spans is not a player); ``spans``: every span; ``agents``: agent spans;
        ``tools``: distinct names of tool and LLM spans."""
        spans = self._spans
        if kind == "calls":
            return [spans[i].address for i in self._calls]
        if kind == "spans":
            return [s.address for s in spans]
        if kind == "agents":
            return [s.address for s in spans if s.kind == "agent"]
        if kind == "tools":
            return list(dict.fromkeys(s.name for s in spans if s.kind in ("tool", "llm")))
        raise AttributionError(
            f"unknown player kind {kind!r}; use one of ['calls', 'spans', 'agents', 'tools'] "
            "or a dict {name: [address or glob, ...]}"
        )

    def player_targets(self, kind: str, name: str) -> list[str]:
        """Intervention targets of a player: its address; an agent span and everything
        inside it; every span of a tool (by address, since names may contain ``/``)."""
        if kind == "agents":
            i = self._index[name]
            inside = re.sub(r"([*?\[])", r"[\1]", name) + "/*"
            return [name, inside] if self._kids[i] else [name]
        if kind == "tools":
            return [s.address for s in self._spans if s.name == name and s.kind in ("tool", "llm")]
        return [name]

    def reference(self, target: str, outcome: str) -> list[Intervention]:
        """Interventions setting ``target`` to typical behaviour for ``outcome``.

        The reference of a span is the median of its operation (kind and name) over the
        corpus given as ``reference`` (its own span left out), else the stated default,
        *own time removed* (latency 0, cost 0). A span with children reaches it through the
        time on its critical path that no other call holds (this module).
        :meth:`describe_reference` says which reference each player got.
        """
        if outcome not in ("latency", "cost"):
            raise AttributionError(
                f"the baseline game on a trace has references for 'latency' and 'cost', "
                f"not {outcome!r}"
            )
        out: list[Intervention] = []
        for i in self._matches(Intervention(kind="match", target=target)):
            s = self._spans[i]
            typical = self._typical(i, outcome)
            value = 0.0 if typical is None else typical
            if outcome == "cost":
                out.append(do(s.address, cost=value))
            elif i not in self._waiting:
                out.append(do(s.address, latency=value))
            elif value >= s.duration:
                out.append(delay(s.address, value - s.duration))
            else:
                others = set(self._calls) - {i}
                pieces = reference_pieces(
                    self._spans, self._timing, self._joins, i, value - s.duration, others
                )
                out.extend(delay(self._spans[j].address, -take) for j, take in pieces)
        return out

    def _typical(self, i: int, outcome: str) -> float | None:
        s = self._spans[i]
        me = (self.trace.trace_id, s.address)
        if outcome == "cost":
            return self.population.cost(s.kind, s.name, me)
        return self.population.latency(s.kind, s.name, me)

    def describe_reference(self, targets: Sequence[str], outcome: str) -> list[str]:
        """Notes for a baseline-game result: where the references of the spans ``targets``
        match came from, and why every share is 0 when no span differs from its reference.

        >>> from agentsim.worlds.trace import TraceWorld
        >>> t = Trace(spans=[Span(address="a#0", kind="tool", name="a", start=0, end=1)])
        >>> [note] = TraceWorld(t).describe_reference(["a#0"], "latency")
        >>> note.startswith("reference: no corpus given"), note.endswith("removed (latency 0)")
        (True, True)
        """
        if outcome not in ("latency", "cost"):
            return []
        match = [self._matches(Intervention(kind="match", target=t)) for t in targets]
        hits = sorted({i for found in match for i in found})
        typical = [self._typical(i, outcome) for i in hits]
        players = [self._spans[i] for i in hits]
        notes = describe(players, typical, self._spans, self.population.size, outcome)
        if outcome == "latency":
            pin = self.pinned_by([iv for t in targets for iv in self.reference(t, outcome)])
            if pin is not None:
                notes.append(
                    f"with every player at its reference the latency is pinned by {pin!r}: "
                    "its recorded end, which no player moves, sets it"
                )
        return notes
