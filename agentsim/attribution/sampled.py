"""Values of Monte Carlo games (the ``resample`` game): a mean over draws, with intervals.

A Monte Carlo game's ``v(S)`` is an expectation over fresh noise, estimated by draws ``k =
1..K`` that are common to every coalition. Each draw is a game ``v_k`` of its own, and Shapley
and Banzhaf values are linear in the game, so the value of the expected game is the mean of the
values of the ``v_k``. The draws are independent, so the spread of the per-draw values gives
a Student-t interval for each player; with ``precision`` the number of draws grows (doubling)
until every half-width is at most the target. An interval here is about the Monte Carlo error
only: a per-draw solver that is itself sampled adds its error to the spread, so it is counted.

Examples
--------
>>> from agentsim.attribution.games import Game
>>> from agentsim.attribution.shapley import shapley_values
>>> class Coin:
...     '''Y = 1 unless both players' redrawn coins come up tails (draw k fixes the coins).'''
...     def outcome(self, interventions, outcome="y"):
...         redrawn = {iv.target: iv.draw for iv in interventions}
...         heads = [(ord(t) + k) % 3 == 0 for t, k in redrawn.items()]
...         return 1.0 if not redrawn else float(any(heads))
>>> g = Game("resample", "y", {"a": ("a",), "b": ("b",)}, samples=8)
>>> a = sampled_values(shapley_values, Coin(), g, seed=0)
>>> a.method, a.exact, len(a.ci["a"])
('shapley/sampled', False, 2)
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence

import numpy as np
from scipy import stats as _st

from agentsim.attribution.games import Game
from agentsim.attribution.result import Attribution
from agentsim.errors import AttributionError
from agentsim.worlds import World

__all__ = ["MAX_DRAWS", "sampled_values"]

MAX_DRAWS = 4096
"""Most draws ``precision`` may ask for."""


def sampled_values(
    solver: Callable[..., Attribution],
    world: World,
    game: Game,
    *,
    precision: float | None = None,
    nulls: Sequence[str] = (),
    method: str = "auto",
    budget: int | None = None,
    seed: int = 0,
    confidence: float = 0.95,
) -> Attribution:
    """Solve every draw of a Monte Carlo ``game`` with ``solver``; mean and intervals.

    Parameters
    ----------
    solver : callable
        :func:`~agentsim.attribution.shapley.shapley_values` or
        :func:`~agentsim.attribution.shapley.banzhaf_values`.
    world : World
        Where the game is played.
    game : Game
        A ``resample`` game; ``game.samples`` draws first.
    precision : float, optional
        Target half-width of every interval: draws double until it is met (at most
        :data:`MAX_DRAWS`; the notes say when it was not).
    nulls, method, budget, seed, confidence
        As for the solver; ``budget`` applies to each draw.

    Returns
    -------
    Attribution
        ``method`` is ``"<solver>/sampled"``; ``ci`` holds Student-t intervals over draws.
    """
    if precision is not None and not (isinstance(precision, int | float) and precision > 0):
        raise AttributionError(f"precision must be a positive half-width, not {precision!r}")
    players = list(game.players)
    rows: list[list[float]] = []
    empties: list[float] = []
    full = 0.0
    inner = ""
    evaluations = 0
    notes: list[str] = []

    def draw(k: int) -> None:
        nonlocal full, inner, evaluations
        a = solver(
            players,
            game.draw_value_function(world, k),
            method=method,
            budget=budget,
            seed=seed + k,
            null_players=nulls,
            confidence=confidence,
            game=game.kind,
            outcome=game.outcome,
        )
        rows.append([a.values[p] for p in players])
        empties.append(a.v_empty)
        full, inner = a.v_full, a.method
        evaluations += a.evaluations
        notes.extend(n for n in a.notes if n not in notes)

    target = game.samples
    while True:
        for k in range(len(rows) + 1, target + 1):
            draw(k)
        values = np.asarray(rows, dtype=np.float64)
        half = _half_widths(values, confidence)
        if precision is None or float(half.max()) <= precision or target >= MAX_DRAWS:
            break
        target = min(2 * target, MAX_DRAWS)
    if precision is not None and float(half.max()) > precision:
        notes.append(
            f"precision {precision:g} not reached after {MAX_DRAWS} draws "
            f"(widest half-width {float(half.max()):.3g})"
        )
    mean = values.mean(axis=0)
    v_empty = float(np.mean(empties))
    efficient = solver.__name__.startswith("shapley")
    name = inner.split("/")[0]
    notes.append(
        f"{game.kind} game: mean of {len(rows)} draws, each solved by {inner}; "
        f"{confidence:.0%} Student-t intervals over the draws"
    )
    return Attribution(
        values={p: float(m) for p, m in zip(players, mean, strict=True)},
        ci={p: (float(m - h), float(m + h)) for p, m, h in zip(players, mean, half, strict=True)},
        game=game.kind,
        method=f"{name}/sampled",
        outcome=game.outcome,
        evaluations=evaluations,
        efficiency_gap=(math.fsum(mean) - (full - v_empty)) if efficient else None,
        v_empty=v_empty,
        v_full=full,
        exact=False,
        confidence=confidence,
        notes=notes,
    )


def _half_widths(values: np.ndarray, confidence: float) -> np.ndarray:
    k = values.shape[0]
    if k < 2:
        return np.full(values.shape[1], math.inf)
    t = float(_st.t.ppf(0.5 + confidence / 2.0, k - 1))
    return np.asarray(t * values.std(axis=0, ddof=1) / math.sqrt(k))
