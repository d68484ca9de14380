"""Games: what a coalition of players receives, and which outcome is measured.

An attribution is a game plus a solver. Given a world (a context held fixed), a set of
players and an outcome ``Y``, a game defines the value ``v(S)`` of every coalition ``S``:

=============  ===========================================  =================================
game           ``v(S)``                                     question it answers
=============  ===========================================  =================================
``fault``      ``Y`` when every player in ``S`` is fixed    whose own fault was this failure?
               (its own fault removed, :func:`~agentsim.    (the default for a failure)
               interventions.fix`; inputs kept)
``repair``     ``Y`` when every player in ``S`` is          which forced outputs would have
               repaired (forced ok, same noise)             made this failure a success?
``break``      ``Y`` when every player in ``S`` is broken   which parts did this success
                                                            depend on?
``resample``   mean ``Y`` over fresh draws of the noise of  how much of the factual outcome
               every player *not* in ``S`` (``S`` keeps     does each player's realised
               its factual noise)                           behaviour account for?
``baseline``   ``Y`` when every player *not* in ``S`` is    which calls made this run slow
               set to its reference (median latency, or     (or expensive) relative to a
               zero cost); ``S`` keeps factual behaviour    typical run?
=============  ===========================================  =================================

Which game to use. ``fault`` asks the question people usually mean by "whose fault was it?":
it removes each player's *own* fault (its noise put it in its mechanism's failure region)
and leaves its inputs alone, so a call that failed only because its input was bad (a
*casualty*) is a null player and gets 0. ``repair`` forces outputs to succeed, so a casualty's
forced output counts as much as the root's: use it to ask which outputs, if guaranteed,
would have saved the run (a different, valid counterfactual). ``break`` explains a success,
``resample`` measures how much each player's realised noise accounts for, and ``baseline``
explains a slow or expensive run. When no game is named, the functions of
:mod:`agentsim.attribution.api` pick one with :func:`default_game`: ``fault`` for a failure
with at least one fault, ``baseline`` on ``latency`` for a run that missed its deadline
without any failed call, ``repair`` otherwise; the result says which.

On a finite SCM (:class:`~agentsim.worlds.structural.StructuralModel`), which has no "good" value,
``repair`` and ``break`` both set each player's (binary) variables to their other value; it
has no noise of its own per player, so the ``fault`` game does not apply to it.

With ``fault``, ``repair`` and ``break``, ``v(∅)`` is the factual outcome; with ``resample``
and ``baseline``, ``v(N)`` is. A player is a call (its address), an agent instance (every call
inside it), a tool (every call to it) or a named group of addresses and globs.

The resample game is a Monte Carlo game: ``v(S)`` is an expectation over fresh noise. Each
draw ``k`` (the same for every coalition: common random numbers) is a game ``v_k`` of its own;
values are linear in the game, so the attribution solves every ``v_k`` and reports the mean
of their values with a Student-t interval over the draws (``method`` ends in ``/sampled``).
``samples`` sets the number of draws, or ``precision`` a target half-width.
"""

from __future__ import annotations

import fnmatch
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Literal

import networkx as nx
import numpy as np
from numpy.typing import NDArray

from agentsim.errors import AttributionError, suggest
from agentsim.interventions import break_, fix, repair, resample
from agentsim.worlds import (
    CallWorld,
    FaultWorld,
    FiniteWorld,
    ReferenceWorld,
    RepairShortcutWorld,
    World,
)

__all__ = ["GAMES", "Game", "default_game", "null_players", "resolve_players", "supports_fault"]

GameKind = Literal["fault", "repair", "break", "resample", "baseline"]
GAMES: tuple[str, ...] = ("fault", "repair", "break", "resample", "baseline")


def supports_fault(world: World) -> bool:
    """Whether ``world`` can remove a player's own fault (it is a :class:`FaultWorld`)."""
    return isinstance(world, FaultWorld)


def default_game(world: World, outcome: str = "success") -> tuple[str, str, str]:
    """The game (and outcome) that explains ``world``'s factual ``outcome`` when none is
    named, and why: ``(game, outcome, reason)``.

    * a failure (factual outcome 0) in a world with faults: ``fault``;
    * a failure with no fault, in a world that missed its deadline: ``baseline`` on
      ``latency`` (no call failed, so the question is what made it slow);
    * anything else (a success, a world without fault support, a failure none of whose
      calls failed on its own, a failure with a call whose custom mechanism declares no
      success region): ``repair``.
    """
    if isinstance(world, FaultWorld) and float(world.outcome([], outcome)) == 0.0:
        stuck = world.unfixable()
        if stuck:
            return (
                "repair",
                outcome,
                f"the run failed, but {stuck[0]!r} has a custom mechanism with no declared "
                "success region, so its own fault cannot be removed: repair game",
            )
        if world.faults():
            return "fault", outcome, "the run failed: fault game (whose own faults caused it)"
        if world.missed_deadline() and isinstance(world, ReferenceWorld):
            return (
                "baseline",
                "latency",
                "the run missed its deadline with no failed call, so there is no fault to "
                "remove: baseline game on latency (which calls made it slow)",
            )
        return "repair", outcome, "the run failed but no call failed on its own: repair game"
    return "repair", outcome, "repair game (no failure to blame)"


def resolve_players(world: World, players: Any) -> dict[str, tuple[str, ...]]:
    """Player name -> intervention targets.

    ``players`` is ``"calls"``, ``"agents"``, ``"tools"``, a list of targets, or a dict
    ``{name: [address or glob, ...]}``.
    """
    if isinstance(players, str):
        names = world.players(players)
        if isinstance(world, CallWorld):
            return {n: tuple(world.player_targets(players, n)) for n in names}
        return {n: (n,) for n in names}
    if isinstance(players, Mapping):
        out: dict[str, tuple[str, ...]] = {}
        for name, ts in players.items():
            items = (ts,) if isinstance(ts, str) else tuple(ts)
            if not items or not all(isinstance(t, str) for t in items):
                raise AttributionError(
                    f"player {name!r} must map to a list of addresses or globs, got {ts!r}"
                )
            out[str(name)] = items
        return out
    if isinstance(players, Sequence):
        return {str(p): (str(p),) for p in players}
    raise AttributionError(
        f"players={players!r} must be 'calls', 'agents', 'tools', a list of addresses or a "
        "dict {name: [address or glob, ...]}"
    )


@dataclass(frozen=True)
class Game:
    """A game over named players (see the module docstring for the four kinds)."""

    kind: str
    outcome: str
    players: dict[str, tuple[str, ...]]
    samples: int = 64
    """Monte Carlo draws of the ``resample`` game."""

    def __post_init__(self) -> None:
        if self.kind not in GAMES:
            raise AttributionError(
                f"unknown game {self.kind!r}{suggest(self.kind, GAMES)}; games are {list(GAMES)}"
            )
        if self.kind == "resample" and self.samples < 1:
            raise AttributionError(f"samples={self.samples} must be at least 1")

    def interventions(self, world: World, coalition: frozenset[str], draw: int = 1) -> list[Any]:
        """Interventions applied for ``coalition`` (for ``resample``: draw ``draw``)."""
        kind = self.kind
        if kind in ("repair", "break") and _is_finite_scm(world):
            assert isinstance(world, FiniteWorld)
            # A finite SCM has no notion of a "good" value: both games set each player's
            # variables to their other value (contrast with the actual world).
            return [
                _flip(world, t) for p in self.players if p in coalition for t in self.players[p]
            ]
        if kind == "fault":
            if not isinstance(world, FaultWorld):
                raise AttributionError(
                    f"{type(world).__name__} cannot remove a player's own fault (it does not "
                    "support fix), so the fault game does not apply to it; name another game, "
                    "e.g. game='repair'"
                )
            return [fix(t) for p in self.players if p in coalition for t in self.players[p]]
        if kind == "repair":
            return [repair(t) for p in self.players if p in coalition for t in self.players[p]]
        if kind == "break":
            return [break_(t) for p in self.players if p in coalition for t in self.players[p]]
        outside = [t for p in self.players if p not in coalition for t in self.players[p]]
        if kind == "resample":
            return [resample(t, draw=draw) for t in outside]
        if not isinstance(world, ReferenceWorld):
            raise AttributionError(
                f"{type(world).__name__} has no reference behaviour, so the baseline game "
                "does not apply to it"
            )
        return [iv for t in outside for iv in world.reference(t, self.outcome)]

    def value_function(self, world: World) -> Callable[[frozenset[str]], float]:
        """``v(S)`` evaluated on ``world``."""
        outcome = self.outcome
        if self.kind == "repair" and isinstance(world, RepairShortcutWorld):
            return _RepairValue(world, self.players, outcome)

        def v(coalition: frozenset[str]) -> float:
            if self.kind != "resample":
                return float(world.outcome(self.interventions(world, coalition), outcome))
            if len(coalition) == len(self.players):
                return float(world.outcome([], outcome))
            total = 0.0
            for k in range(1, self.samples + 1):
                total += float(world.outcome(self.interventions(world, coalition, k), outcome))
            return total / self.samples

        return v

    def draw_value_function(self, world: World, draw: int) -> Callable[[frozenset[str]], float]:
        """``v_k(S)`` of a Monte Carlo game: draw ``draw`` alone (``v(S)`` is their mean).

        Values are linear in the game, so a value of ``v`` is the mean of the values of the
        ``v_k``, and the spread of those gives the value's sampling error.
        """
        outcome = self.outcome

        def v(coalition: frozenset[str]) -> float:
            if len(coalition) == len(self.players):
                return float(world.outcome([], outcome))
            return float(world.outcome(self.interventions(world, coalition, draw), outcome))

        return v


class _RepairValue:
    """``v(S)`` of the repair game on a world with shortcuts (a simulated run): one
    coalition at a time, or the whole table at once (what an exact solver asks for)."""

    def __init__(
        self, world: RepairShortcutWorld, players: dict[str, tuple[str, ...]], outcome: str
    ) -> None:
        self.world = world
        self.players = players
        self.outcome = outcome

    def __call__(self, coalition: frozenset[str]) -> float:
        return float(self.world.repair_outcome(coalition, self.players, self.outcome))

    def table(self, names: tuple[str, ...]) -> NDArray[np.float64]:
        """Every coalition's value over ``names``, indexed by bitmask."""
        out: NDArray[np.float64] = self.world.repair_table(names, self.players, self.outcome)
        return out


def _is_finite_scm(world: World) -> bool:
    """A finite SCM written as equations: variables, but no calls."""
    return isinstance(world, FiniteWorld) and not isinstance(world, CallWorld)


def _flip(world: FiniteWorld, variable: str) -> Any:
    domain = list(world.domain(variable))
    actual = world.actual()[variable]
    others = [v for v in domain if v != actual]
    if len(others) != 1:
        raise AttributionError(
            f"variable {variable!r} has domain {domain}; the repair/break games on a finite SCM "
            "flip binary variables only; use is_actual_cause or an explicit value function"
        )
    return (variable, others[0])


def null_players(world: World, game: Game) -> list[str]:
    """Players that are provably null in ``game`` on ``world`` (safe to prune).

    Three sound rules:

    * in a finite SCM, a player none of whose variables is an ancestor of the outcome
      variable cannot change it under any intervention on anything else;
    * in the fault game, a player whose targets are exact addresses none of which is among
      the world's faults (``world.faults()``, computed from the calls' own noise, which is
      the same in every coalition's world) is left unchanged by ``fix`` in every world;
    * whatever the world itself proves (:meth:`CallWorld.null_players`: on a simulated run,
      a call that succeeds whatever its inputs is null in the repair game).
    """
    out: list[str] = []
    if _is_finite_scm(world):
        assert isinstance(world, FiniteWorld)
        names = list(world.variables())
        if game.outcome in names:
            g = nx.DiGraph()
            g.add_nodes_from(names)
            for v in names:
                g.add_edges_from((p, v) for p in world.parents(v))
            anc = nx.ancestors(g, game.outcome) | {game.outcome}
            for p, targets in game.players.items():
                hits = [n for n in names if any(fnmatch.fnmatchcase(n, t) for t in targets)]
                if hits and not any(h in anc for h in hits):
                    out.append(p)
        return out
    if game.kind == "fault" and isinstance(world, FaultWorld):
        # calls that cannot be fixed are kept, so that fixing them says why it cannot
        faults = set(world.faults()) | set(world.unfixable())
        for p, targets in game.players.items():
            if all(not set(t) & {"*", "?", "["} and "#" in t for t in targets) and not (
                set(targets) & faults
            ):
                out.append(p)
        return out
    if isinstance(world, CallWorld):
        return world.null_players(game.kind, game.outcome, game.players)
    return out
