"""The World protocols: the only seam between the simulator and everything causal above it
(causal layer; imports the kernel only).

A *world* holds an exogenous context fixed (a simulated run's noise, an imported trace's
observations, a finite SCM's context) and answers "what would happen under these
interventions?". Every attribution method consumes a world and nothing else, which is why one
solver works on a simulated run, a hand-written :class:`~agentsim.StructuralModel` and an
imported trace alike.

* :class:`World`, the coalition-game view used by Shapley, Banzhaf, but-for and decisive
  error: ``outcome(interventions, outcome) -> float`` and ``players(kind)``; the
  capabilities some worlds add are protocols of their own, which attribution checks with
  ``isinstance``: :class:`CounterfactualWorld` (the whole counterfactual, evaluations counted),
  :class:`CallWorld` (steps in order, player targets, provably-null players),
  :class:`FaultWorld` (each call's own fault, for the ``fault`` game),
  :class:`ReferenceWorld` (typical behaviour, for the ``baseline`` game) and
  :class:`RepairShortcutWorld` (a faster repair game).
* :class:`FiniteWorld`, the variable view used by Halpern-Pearl actual causation: endogenous
  variables with finite domains, their actual values, and ``evaluate(setting)`` under
  ``do(setting)``.
"""

from __future__ import annotations

from collections.abc import Collection, Hashable, Mapping, Sequence
from typing import TYPE_CHECKING, Any, Protocol, runtime_checkable

if TYPE_CHECKING:
    import numpy as np
    from numpy.typing import NDArray

__all__ = [
    "PLAYER_KINDS",
    "CallWorld",
    "CounterfactualWorld",
    "FaultWorld",
    "FiniteWorld",
    "MonotoneWorld",
    "ReferenceWorld",
    "RepairShortcutWorld",
    "Step",
    "World",
]

PLAYER_KINDS = ("calls", "agents", "tools")
"""The named player kinds every world understands (a dict of groups is always allowed)."""


Step = tuple[str, str | None, bool]
"""``(address, agent, ok)`` of one step of a factual run: a call, a choice, a wait, a message."""


@runtime_checkable
class World(Protocol):
    """A context held fixed, queried under interventions: what every attribution consumes."""

    def outcome(self, interventions: Sequence[Any] = (), outcome: str = "success") -> float:
        """The value of ``outcome`` when ``interventions`` are applied, context held fixed."""

    def players(self, kind: str = "calls") -> list[str]:
        """Names of the players of the given kind (``calls``, ``agents``, ``tools``...)."""


@runtime_checkable
class CounterfactualWorld(World, Protocol):
    """A world that returns its whole counterfactual and counts what it evaluated."""

    evaluations: int
    """Distinct evaluations (simulations, replays, equation solves) made so far."""

    @property
    def factual(self) -> Any:
        """The factual object (a Run, a Trace, or a StructuralModel's actual values)."""

    def counterfactual(self, interventions: Sequence[Any] = ()) -> Any:
        """The whole counterfactual world under ``interventions`` (a Run, a Trace, ...)."""


@runtime_checkable
class CallWorld(World, Protocol):
    """A world made of calls in order: a simulated run or an imported trace."""

    def player_targets(self, kind: str, name: str) -> list[str]:
        """Intervention targets of player ``name`` of ``kind`` (its address, its calls...)."""

    def steps(self) -> list[Step]:
        """Every step of the factual run, in trace order."""

    def null_players(
        self, game: str, outcome: str, players: Mapping[str, Sequence[str]]
    ) -> list[str]:
        """Players provably null in ``game`` on ``outcome`` (safe to prune; may be empty)."""


@runtime_checkable
class FaultWorld(World, Protocol):
    """A world that knows each call's own fault, so the ``fault`` game (``fix``) applies."""

    def faults(self) -> list[str]:
        """Addresses of the factual calls that failed on their own."""

    def unfixable(self) -> list[str]:
        """Failed calls whose own fault cannot be removed (no declared success region)."""

    def missed_deadline(self) -> bool:
        """Whether the factual run was stopped by a deadline."""


@runtime_checkable
class ReferenceWorld(World, Protocol):
    """A world with a typical behaviour per call: what the ``baseline`` game sets."""

    def reference(self, target: str, outcome: str) -> list[Any]:
        """Interventions setting ``target`` to its reference behaviour for ``outcome``."""

    def describe_reference(self, targets: Sequence[str], outcome: str) -> list[str]:
        """One line per reference used, saying where it came from."""


@runtime_checkable
class RepairShortcutWorld(World, Protocol):
    """A world that evaluates the repair game faster than by replaying every coalition."""

    def repair_outcome(
        self, coalition: frozenset[str], players: Mapping[str, Sequence[str]], outcome: str
    ) -> float:
        """``v(coalition)`` of the repair game."""

    def repair_table(
        self, names: Sequence[str], players: Mapping[str, Sequence[str]], outcome: str
    ) -> NDArray[np.float64]:
        """``v(S)`` for every coalition of ``names`` (players of ``players``), indexed by
        bitmask (bit ``j`` is ``names[j]``): what an exact solver asks for."""


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
