"""The Shapley and Banzhaf axioms, checked on random small games.

A random game assigns an arbitrary number to every coalition of up to 6 players. The oracle is
the textbook definition, computed independently of the solver: Shapley as the average over all
``n!`` orders, Banzhaf as the average over all subsets.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Callable

from hypothesis import given, settings
from hypothesis import strategies as st

from agentsim.attribution.shapley import banzhaf_values, shapley_values

Value = Callable[[frozenset[str]], float]
Game = tuple[list[str], dict[frozenset[str], float]]

coalition_values = st.floats(min_value=-100, max_value=100, allow_nan=False)


@st.composite
def games(draw: st.DrawFn, min_players: int = 1, max_players: int = 6) -> Game:
    n = draw(st.integers(min_value=min_players, max_value=max_players))
    players = [f"p{i}" for i in range(n)]
    table = {
        frozenset(c): draw(coalition_values)
        for k in range(n + 1)
        for c in itertools.combinations(players, k)
    }
    return players, table


def shapley_by_orders(players: list[str], v: Value) -> dict[str, float]:
    totals = dict.fromkeys(players, 0.0)
    for order in itertools.permutations(players):
        before: frozenset[str] = frozenset()
        for p in order:
            totals[p] += v(before | {p}) - v(before)
            before = before | {p}
    return {p: t / math.factorial(len(players)) for p, t in totals.items()}


def banzhaf_by_subsets(players: list[str], v: Value) -> dict[str, float]:
    out = {}
    for p in players:
        others = [q for q in players if q != p]
        subsets = [
            frozenset(c) for k in range(len(others) + 1) for c in itertools.combinations(others, k)
        ]
        out[p] = math.fsum(v(s | {p}) - v(s) for s in subsets) / len(subsets)
    return out


def close(a: dict[str, float], b: dict[str, float], tol: float = 1e-9) -> bool:
    return a.keys() == b.keys() and all(abs(a[k] - b[k]) <= tol for k in a)


SETTINGS = settings(max_examples=60, deadline=None)


@SETTINGS
@given(games())
def test_exact_matches_definitions(game: Game) -> None:
    players, table = game
    assert close(
        shapley_values(players, table.__getitem__).values,
        shapley_by_orders(players, table.__getitem__),
    )
    assert close(
        banzhaf_values(players, table.__getitem__).values,
        banzhaf_by_subsets(players, table.__getitem__),
    )


@SETTINGS
@given(games())
def test_efficiency(game: Game) -> None:
    players, table = game
    a = shapley_values(players, table.__getitem__)
    assert a.efficiency_gap is not None and abs(a.efficiency_gap) < 1e-9
    assert a.v_full == table[frozenset(players)] and a.v_empty == table[frozenset()]
    sampled = shapley_values(players, table.__getitem__, method="permutation", max_pairs=5)
    assert sampled.efficiency_gap is not None and abs(sampled.efficiency_gap) < 1e-9


@SETTINGS
@given(games(min_players=2), st.data())
def test_symmetry(game: Game, data: st.DataObject) -> None:
    players, table = game
    i, j = data.draw(st.lists(st.sampled_from(players), min_size=2, max_size=2, unique=True))
    swap = {i: j, j: i}

    def symmetric(s: frozenset[str]) -> float:
        return table[s] + table[frozenset(swap.get(p, p) for p in s)]

    for solve in (shapley_values, banzhaf_values):
        values = solve(players, symmetric).values
        assert abs(values[i] - values[j]) < 1e-9


@SETTINGS
@given(games(max_players=5), st.integers(min_value=0, max_value=5))
def test_null_player(game: Game, position: int) -> None:
    players, table = game
    extended = list(players)
    extended.insert(min(position, len(players)), "null")

    def v(s: frozenset[str]) -> float:
        return table[s - {"null"}]

    for solve in (shapley_values, banzhaf_values):
        with_null = solve(extended, v).values
        without = solve(players, table.__getitem__).values
        assert abs(with_null["null"]) < 1e-9
        assert close({p: with_null[p] for p in players}, without)
        pruned = solve(extended, v, null_players={"null"}).values
        assert pruned["null"] == 0.0 and close(pruned, with_null)


@SETTINGS
@given(games(), st.data())
def test_additivity(game: Game, data: st.DataObject) -> None:
    players, first = game
    second = {s: data.draw(coalition_values) for s in first}

    def both(s: frozenset[str]) -> float:
        return first[s] + second[s]

    for solve in (shapley_values, banzhaf_values):
        total = solve(players, both).values
        a = solve(players, first.__getitem__).values
        b = solve(players, second.__getitem__).values
        assert close(total, {p: a[p] + b[p] for p in players})
