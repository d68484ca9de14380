"""The World protocols: the only seam between the simulator and everything causal above it
(causal layer; imports the kernel only).

A *world* holds an exogenous context fixed (a simulated run's noise, an imported trace's
observations, a finite SCM's context) and answers "what would happen under these
interventions?". Every attribution method consumes a world and nothing else, which is why one
solver works on a simulated run, a hand-written :class:`~agentsim.StructuralModel` and an
imported trace alike.

* :class:`World`, the coalition-game view used by Shapley, Banzhaf, but-for and decisive
  error: ``outcome(interventions, outcome) -> float``, ``players(kind)``,
  ``counterfactual(interventions)`` and the count of ``evaluations`` it has made.
* :class:`FiniteWorld`, the variable view used by Halpern-Pearl actual causation: endogenous
  variables with finite domains, their actual values, and ``evaluate(setting)`` under
  ``do(setting)``.
"""

from __future__ import annotations

from collections.abc import Collection, Hashable, Mapping, Sequence
from typing import Any, Protocol, runtime_checkable

__all__ = ["PLAYER_KINDS", "FiniteWorld", "MonotoneWorld", "World"]

PLAYER_KINDS = ("calls", "agents", "tools")
"""The named player kinds every world understands (a dict of groups is always allowed)."""


@runtime_checkable
class World(Protocol):
    """A context held fixed, queried under interventions."""

    evaluations: int
    """Distinct evaluations (simulations, replays, equation solves) made so far."""

    @property
    def factual(self) -> Any:
        """The factual object (a Run, a Trace, or a StructuralModel's actual values)."""

    def counterfactual(self, interventions: Sequence[Any] = ()) -> Any:
        """The whole counterfactual world under ``interventions`` (a Run, a Trace, ...)."""

    def outcome(self, interventions: Sequence[Any] = (), outcome: str = "success") -> float:
        """The value of ``outcome`` when ``interventions`` are applied, context held fixed."""

    def players(self, kind: str = "calls") -> list[str]:
        """Names of the players of the given kind (``calls``, ``agents``, ``tools``...)."""


@runtime_checkable
class FiniteWorld(Protocol):
    """Endogenous variables with finite domains: what actual causation reasons over."""

    def variables(self) -> list[str]:
        """Endogenous variables, in a topological order."""

    def domain(self, variable: str) -> Sequence[Hashable]:
        """The finite set of values ``variable`` can take."""

    def actual(self) -> Mapping[str, Hashable]:
        """Actual (factual) values of all endogenous variables."""

    def evaluate(self, setting: Mapping[str, Hashable]) -> Mapping[str, Hashable]:
        """Values of all endogenous variables under ``do(setting)``."""

    def parents(self, variable: str) -> Collection[str]:
        """Variables the equation of ``variable`` may read (a superset is allowed)."""


@runtime_checkable
class MonotoneWorld(Protocol):
    """A finite world that can say whether it is monotone (an optional extra of FiniteWorld).

    Monotone means: every domain is a set of numbers, and every variable's equation is
    non-decreasing in each of its parents. Then every value under ``do(setting)`` is
    non-decreasing in the values set, which lets actual-causation searches skip questions
    whose answer monotonicity already gives.
    """

    def monotone(self) -> bool:
        """True only when the world is known to be monotone (False when unknown)."""
