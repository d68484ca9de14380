"""An imported trace as a finite causal model: the variables Halpern-Pearl reasons over.

:class:`~agentsim.worlds.trace.TraceWorld` is also a :class:`~agentsim.worlds.FiniteWorld`. Its
variables are the spans that can matter to a question about failure: the calls (LLM, tool and
step spans, see :func:`~agentsim.worlds._trace_reference.call_players`) and every span with an error
of its own (a failing HTTP request is a fault even though it is plumbing). The other spans
(handlers, queues, framework chains that did not fail themselves) are not variables: each
keeps its equation (ok unless a child's error reaches it), so the model over the variables is
the trace's model with those spans folded into the equations. This keeps actual causation on
a 100-span server trace to a handful of variables instead of a hundred.
"""

from __future__ import annotations

from collections.abc import Collection, Hashable, Mapping, Sequence
from typing import Any

from agentsim.interventions import do
from agentsim.trace import Span
from agentsim.worlds._trace_equations import ROOT, State

__all__ = ["OUTCOMES", "FiniteTrace"]

OUTCOMES = ("success", "failure", "latency", "cost", "tokens")
"""Outcomes a :class:`~agentsim.worlds.trace.TraceWorld` computes."""


class FiniteTrace:
    """The :class:`~agentsim.worlds.FiniteWorld` side of a trace world (a mixin: the world
    supplies the spans, their structure and ``_state``)."""

    _spans: list[Span]
    _index: dict[str, int]
    _parent: list[int]
    _kids: dict[int, list[int]]
    _prevs: dict[int, list[int]]
    _calls: list[int]
    _own_fail: set[int]
    _offsets: dict[str, float]

    def _state(self, interventions: Sequence[Any]) -> State:
        raise NotImplementedError  # pragma: no cover - supplied by TraceWorld

    def outcome(self, interventions: Sequence[Any] = (), outcome: str = "success") -> float:
        raise NotImplementedError  # pragma: no cover - supplied by TraceWorld

    def _variable_indices(self) -> list[int]:
        return sorted(set(self._calls) | {i for i in self._own_fail if i != ROOT})

    def variables(self) -> list[str]:
        """The calls and the spans with an error of their own, in trace order, then the
        outcomes."""
        return [self._spans[i].address for i in self._variable_indices()] + list(OUTCOMES)

    def domain(self, variable: str) -> Sequence[Hashable]:
        """``[False, True]`` for a span; ``[0.0, 1.0]`` for success and failure; the actual
        value alone for latency, cost and tokens (they are effects, never set)."""
        if variable in self._index:
            return [False, True]
        if variable in ("success", "failure"):
            return [0.0, 1.0]
        return [self.outcome([], variable)]

    def actual(self) -> Mapping[str, Hashable]:
        """Factual success flags (of every span) and outcomes."""
        return self.evaluate({})

    def evaluate(self, setting: Mapping[str, Hashable]) -> Mapping[str, Hashable]:
        """Flags of every span and outcomes under ``do(address, ok=value)`` for each
        setting (a span ``None`` when it does not run)."""
        ivs = [do(a, ok=bool(v)) for a, v in sorted(setting.items()) if a in self._index]
        state = self._state(ivs)
        values: dict[str, Hashable] = {
            s.address: (state.ok[i] if state.runs[i] else None) for i, s in enumerate(self._spans)
        }
        for k in OUTCOMES:
            values[k] = state.outcomes[k] + self._offsets.get(k, 0.0)
        return values

    def parents(self, variable: str) -> Collection[str]:
        """Variables the equation of ``variable`` may read: those inside it, and those
        inside the earlier attempts it and its ancestors retry; for an outcome, every
        variable."""
        names = self._variable_indices()
        i = self._index.get(variable)
        if i is None:
            return [self._spans[k].address for k in names]
        chosen = set(names)
        roots = [*self._kids[i]]
        j = i
        while j != ROOT:
            roots.extend(self._prevs.get(j, ()))
            j = self._parent[j]
        out: set[int] = set()
        stack = roots
        while stack:
            k = stack.pop()
            if k in chosen:
                out.add(k)
            stack.extend(self._kids[k])
        out.discard(i)
        return [self._spans[k].address for k in sorted(out)]
