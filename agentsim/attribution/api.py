"""The public attribution functions: one entry point per method, each consuming a world.

Every function takes its evidence first: a simulated :class:`~agentsim.run.Run`, an imported
:class:`~agentsim.trace.Trace`, a :class:`~agentsim.worlds.structural.StructuralModel`, or any
:class:`~agentsim.worlds.World` (an object with ``outcome(interventions, outcome)`` and
``players(kind)``); :func:`agentsim.worlds.as_world` turns it into a world, and nothing here
looks past the World protocols.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from agentsim.attribution import baselines
from agentsim.attribution.actual_cause import actual_causes
from agentsim.attribution.games import Game, default_game, null_players, resolve_players
from agentsim.attribution.result import Attribution
from agentsim.attribution.sampled import sampled_values
from agentsim.attribution.shapley import banzhaf_values, shapley_values
from agentsim.errors import AttributionError, suggest
from agentsim.worlds import CounterfactualWorld, Evidence, ReferenceWorld, World, as_world

__all__ = ["attribute", "banzhaf", "but_for", "choose_game", "shapley"]


def _world(world: Evidence) -> World:
    return as_world(world)


def _evaluations(world: World) -> int:
    return world.evaluations if isinstance(world, CounterfactualWorld) else 0


def choose_game(w: World, game: str | None, outcome: str) -> tuple[str, str, list[str]]:
    """The game and outcome to use on world ``w``, with a note when they were chosen here."""
    if game is not None:
        return game, outcome, []
    chosen, out, reason = default_game(w, outcome)
    return chosen, out, [f"game chosen: {reason}"]


def _solve(
    solver: Callable[..., Attribution],
    world: Evidence,
    players: Any,
    game: str | None,
    outcome: str,
    *,
    method: str,
    budget: int | None,
    seed: int,
    samples: int,
    prune: bool,
    confidence: float,
    precision: float | None = None,
) -> Attribution:
    w = _world(world)
    game, outcome, chosen = choose_game(w, game, outcome)
    g = Game(
        kind=game,
        outcome=outcome,
        players=_without_outcome(resolve_players(w, players), outcome),
        samples=samples,
    )
    if not g.players:
        raise AttributionError(
            f"no players of kind {players!r} in this world; nothing to attribute"
        )
    nulls = null_players(w, g) if prune else []
    before = _evaluations(w)
    if game == "resample":
        sampled = sampled_values(
            solver,
            w,
            g,
            precision=precision,
            nulls=nulls,
            method=method,
            budget=budget,
            seed=seed,
            confidence=confidence,
        )
        if isinstance(w, CounterfactualWorld):
            sampled = sampled.model_copy(update={"evaluations": _evaluations(w) - before})
        return sampled
    result = solver(
        list(g.players),
        g.value_function(w),
        method=method,
        budget=budget,
        seed=seed,
        null_players=nulls,
        confidence=confidence,
        game=game,
        outcome=outcome,
    )
    notes = chosen + list(result.notes)
    if nulls:
        notes.append(
            f"{len(nulls)} provably null players pruned (value 0): "
            + ", ".join(nulls[:5])
            + ("..." if len(nulls) > 5 else "")
        )
    if game == "baseline" and isinstance(w, ReferenceWorld):
        notes.extend(w.describe_reference([t for ts in g.players.values() for t in ts], outcome))
    update: dict[str, Any] = {"notes": notes}
    if isinstance(w, CounterfactualWorld):
        # the world counts what it actually replayed (cached worlds are free), and that
        # count, zero included, is the cost of this answer; otherwise the solver's count of
        # value-function calls stands
        update["evaluations"] = _evaluations(w) - before
    return result.model_copy(update=update)


def _without_outcome(
    players: dict[str, tuple[str, ...]], outcome: str
) -> dict[str, tuple[str, ...]]:
    """A finite SCM lists its outcome variable among its variables; it is not a player."""
    return {p: ts for p, ts in players.items() if ts != (outcome,)}


def shapley(
    world: Evidence,
    players: Any = "calls",
    game: str | None = None,
    outcome: str = "success",
    *,
    method: str = "auto",
    budget: int | None = None,
    seed: int = 0,
    samples: int = 64,
    prune: bool = True,
    confidence: float = 0.95,
    precision: float | None = None,
) -> Attribution:
    """Shapley values of ``players`` in ``game`` on ``world``.

    ``game`` is ``fault``, ``repair``, ``break``, ``resample`` or ``baseline`` (see
    :mod:`agentsim.attribution.games` for when to use which); by default it is chosen by
    :func:`~agentsim.attribution.games.default_game`: ``fault`` for a failed run (whose own
    faults caused it: a casualty of bad input gets 0), ``baseline`` on ``latency`` for a run
    that missed its deadline with no failed call, ``repair`` otherwise. The result's
    ``game`` (and ``outcome``) say which was used.

    ``method`` is ``exact`` (subset enumeration with memoised coalition values),
    ``permutation`` (antithetic permutation sampling with confidence intervals, within
    ``budget`` world evaluations) or ``auto``. Provably null players are pruned when
    ``prune`` (see :func:`agentsim.attribution.games.null_players`).

    The ``resample`` game is a Monte Carlo game: ``method`` solves each of its ``samples``
    draws, and the result is their mean with Student-t intervals (``method`` ends in
    ``/sampled``). With ``precision``, draws are added until every interval's half-width is
    at most ``precision`` (``samples`` is then the first round; at most
    :data:`~agentsim.attribution.sampled.MAX_DRAWS` draws).

    >>> import agentsim as asim
    >>> sc = asim.Scenario("sh")
    >>> a, b = sc.tool("a", p_ok=0.5), sc.tool("b", p_ok=0.5)
    >>> @sc.agent
    ... def main(ctx):
    ...     x, y = yield ctx.parallel(ctx.call(a), ctx.call(b))
    ...     return x.ok and y.ok
    >>> run = next(r for r in (sc.run(seed=s) for s in range(99)) if len(r.trace.failed()) == 3)
    >>> result = shapley(run)
    >>> result.game, result.values
    ('fault', {'main#0/a#0': 0.5, 'main#0/b#0': 0.5})

    References
    ----------
    Shapley, L. S. (1953). A value for n-person games.
    Strumbelj, E. and Kononenko, I. (2014). Explaining prediction models and individual
    predictions with feature contributions.
    """
    return _solve(
        shapley_values,
        world,
        players,
        game,
        outcome,
        method=method,
        budget=budget,
        seed=seed,
        samples=samples,
        prune=prune,
        confidence=confidence,
        precision=precision,
    )


def banzhaf(
    world: Evidence,
    players: Any = "calls",
    game: str | None = None,
    outcome: str = "success",
    *,
    method: str = "auto",
    budget: int | None = None,
    seed: int = 0,
    samples: int = 64,
    prune: bool = True,
    confidence: float = 0.95,
    precision: float | None = None,
) -> Attribution:
    """Banzhaf values (mean marginal contribution over all coalitions); see :func:`shapley`.

    References
    ----------
    Banzhaf, J. F. (1965). Weighted voting doesn't work: a mathematical analysis.
    """
    return _solve(
        banzhaf_values,
        world,
        players,
        game,
        outcome,
        method=method,
        budget=budget,
        seed=seed,
        samples=samples,
        prune=prune,
        confidence=confidence,
        precision=precision,
    )


def but_for(
    world: Evidence,
    players: Any = "calls",
    game: str | None = None,
    outcome: str = "success",
    *,
    samples: int = 64,
) -> Attribution:
    """Single-player necessity: ``v({i}) - v(∅)`` for each player.

    Under the fault game (the default for a failed run; see :func:`shapley`) a player with
    value 1 is a but-for cause of the failure: had its own fault alone been removed, the run
    would have succeeded. Under the repair game, had its output alone been forced to succeed.
    """
    w = _world(world)
    game, outcome, chosen = choose_game(w, game, outcome)
    g = Game(
        kind=game,
        outcome=outcome,
        players=_without_outcome(resolve_players(w, players), outcome),
        samples=samples,
    )
    v = g.value_function(w)
    before = _evaluations(w)
    empty = v(frozenset())
    values = {p: v(frozenset([p])) - empty for p in g.players}
    full = v(frozenset(g.players))
    counted = isinstance(w, CounterfactualWorld)
    return Attribution(
        values=values,
        ci={p: None for p in values},
        game=game,
        method="but_for",
        outcome=outcome,
        evaluations=_evaluations(w) - before if counted else len(values) + 2,
        efficiency_gap=None,
        v_empty=empty,
        v_full=full,
        exact=True,
        notes=chosen,
    )


_METHODS = (
    "shapley",
    "banzhaf",
    "but_for",
    "actual",
    "decisive",
    "first_error",
    "last_error",
    "all_errors",
)


def attribute(world: Evidence, method: str = "shapley", **kwargs: Any) -> Any:
    """One entry point that dispatches by method name.

    ``method`` is one of ``shapley``, ``banzhaf``, ``but_for`` (or ``but-for``), ``actual``
    (Halpern-Pearl actual causes), ``decisive`` (decisive error), ``first_error``,
    ``last_error``, ``all_errors``.
    """
    name = method.replace("-", "_")
    if name == "shapley":
        return shapley(world, **kwargs)
    if name == "banzhaf":
        return banzhaf(world, **kwargs)
    if name == "but_for":
        return but_for(world, **kwargs)
    if name in ("actual", "actual_causes"):
        return actual_causes(world, **kwargs)
    if name in ("decisive", "decisive_error"):
        return baselines.decisive_error(world, **kwargs)
    if name in ("first_error", "last_error", "all_errors"):
        fn: Callable[..., Any] = getattr(baselines, name)
        return fn(world)
    raise AttributionError(
        f"unknown attribution method {method!r}{suggest(name, _METHODS)}; "
        f"methods are {list(_METHODS)}"
    )
