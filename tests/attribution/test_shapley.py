"""Shapley and Banzhaf solvers against closed forms, and the Attribution result object."""

from __future__ import annotations

import itertools
import json
import math
from collections.abc import Callable

import numpy as np
import pytest

from agentsim.attribution.result import Attribution
from agentsim.attribution.shapley import (
    DEFAULT_BUDGET,
    banzhaf_values,
    shapley_values,
)
from agentsim.errors import AttributionError

Value = Callable[[frozenset[str]], float]


class Counting:
    """A value function wrapper that counts calls and fails on a repeated coalition."""

    def __init__(self, value: Value) -> None:
        self.value = value
        self.seen: set[frozenset[str]] = set()

    def __call__(self, s: frozenset[str]) -> float:
        assert s not in self.seen, f"coalition {sorted(s)} evaluated twice"
        self.seen.add(s)
        return self.value(s)

    @property
    def calls(self) -> int:
        return len(self.seen)


def unanimity(carriers: set[str]) -> Value:
    return lambda s: float(carriers <= s)


def weighted_majority(weights: dict[str, int], quota: int) -> Value:
    return lambda s: float(sum(weights[p] for p in s) >= quota)


def fixed_game(n: int, seed: int) -> tuple[list[str], Value]:
    """A game with arbitrary coalition values (plus an additive part), by bitmask."""
    players = [f"p{i}" for i in range(n)]
    rng = np.random.default_rng(seed)
    noise = rng.normal(size=1 << n)
    weight = rng.uniform(-1, 1, size=n)

    def v(s: frozenset[str]) -> float:
        idx = [int(p[1:]) for p in s]
        return float(noise[sum(1 << i for i in idx)] + sum(weight[i] for i in idx))

    return players, v


# --- closed forms ---------------------------------------------------------------------------


def test_glove_game() -> None:
    # one right glove, two left: the right glove gets 2/3 (Shapley), the left ones 1/6 each
    def gloves(s: frozenset[str]) -> float:
        return float(min(len(s & {"L1", "L2"}), len(s & {"R"})))

    a = shapley_values(["L1", "L2", "R"], gloves)
    assert a.exact and a.method == "shapley/exact" and a.evaluations == 8
    assert a.values == pytest.approx({"L1": 1 / 6, "L2": 1 / 6, "R": 2 / 3}, abs=1e-12)
    assert a.ci == {"L1": None, "L2": None, "R": None}
    # Banzhaf: R swings whenever a left glove is present (3 of 4); L1 only with R and no L2
    b = banzhaf_values(["L1", "L2", "R"], gloves)
    assert b.values == pytest.approx({"L1": 1 / 4, "L2": 1 / 4, "R": 3 / 4}, abs=1e-12)
    assert b.efficiency_gap is None


def test_weighted_majority_game() -> None:
    # [51; 50, 49, 1]: A wins with anyone, B and C need A. Shapley-Shubik (2/3, 1/6, 1/6).
    v = weighted_majority({"A": 50, "B": 49, "C": 1}, quota=51)
    a = shapley_values(["A", "B", "C"], v)
    assert a.values == pytest.approx({"A": 2 / 3, "B": 1 / 6, "C": 1 / 6}, abs=1e-12)
    b = banzhaf_values(["A", "B", "C"], v)
    assert b.values == pytest.approx({"A": 3 / 4, "B": 1 / 4, "C": 1 / 4}, abs=1e-12)


def test_security_council() -> None:
    # 5 permanent members (weight 7, veto) and 10 others (weight 1), quota 39.
    perm = [f"P{i}" for i in range(5)]
    other = [f"N{i}" for i in range(10)]
    v = weighted_majority({**dict.fromkeys(perm, 7), **dict.fromkeys(other, 1)}, quota=39)
    a = shapley_values(perm + other, v, method="exact")
    # a non-permanent member is pivotal after all 5 permanent and exactly 3 of the 9 others
    w = math.factorial(8) * math.factorial(6) / math.factorial(15)
    phi_other = math.comb(9, 3) * w
    assert phi_other == pytest.approx(4 / 2145)
    assert a.values["N3"] == pytest.approx(phi_other, abs=1e-12)
    assert a.values["P0"] == pytest.approx((1 - 10 * phi_other) / 5, abs=1e-12)
    assert a.values["P0"] == pytest.approx(421 / 2145, abs=1e-12)
    b = banzhaf_values(perm + other, v, method="exact")
    swings_perm = sum(math.comb(10, k) for k in range(4, 11))
    assert b.values["P2"] == pytest.approx(swings_perm / 2**14, abs=1e-12)
    assert b.values["N9"] == pytest.approx(math.comb(9, 3) / 2**14, abs=1e-12)


@pytest.mark.parametrize("carriers", [{"a"}, {"a", "c"}, {"b", "c", "d"}, {"a", "b", "c", "d"}])
def test_unanimity_game(carriers: set[str]) -> None:
    players = ["a", "b", "c", "d", "e"]
    a = shapley_values(players, unanimity(carriers))
    b = banzhaf_values(players, unanimity(carriers))
    for p in players:
        inside = p in carriers
        assert a.values[p] == pytest.approx(1 / len(carriers) if inside else 0.0, abs=1e-12)
        assert b.values[p] == pytest.approx(
            1 / 2 ** (len(carriers) - 1) if inside else 0.0, abs=1e-12
        )
    assert abs(a.efficiency_gap or 0.0) < 1e-12 and a.v_full == 1.0 and a.v_empty == 0.0


P_WRONG = 0.3


def expected_badness(resampled: frozenset[str]) -> float:
    """E[bad] when the steps in ``resampled`` redraw their noise; the others stay wrong.

    The run is bad only if both steps go wrong (an AND); each goes wrong with probability
    0.3; factually both went wrong. Computed by enumerating the redrawn noise.
    """
    factual = {"s1": True, "s2": True}
    steps = sorted(resampled)
    total = 0.0
    for draws in itertools.product([True, False], repeat=len(steps)):
        prob = math.prod(P_WRONG if wrong else 1 - P_WRONG for wrong in draws)
        state = factual | dict(zip(steps, draws, strict=True))
        total += prob * float(state["s1"] and state["s2"])
    return total


def test_resample_and_interaction() -> None:
    # v(∅) = 1, v({s}) = p, v({s1, s2}) = p²; φ = ((p - 1) + (p² - p)) / 2 = (p² - 1) / 2
    a = shapley_values(["s1", "s2"], expected_badness, game="resample")
    assert a.v_empty == 1.0 and a.v_full == pytest.approx(0.09)
    assert a.values["s1"] == pytest.approx(a.values["s2"])
    assert round(a.values["s1"], 3) == -0.455
    assert round(sum(a.values.values()), 3) == -0.91
    # the same game read as "reduction in expected badness": +0.455 each, sum 0.91
    reduction = shapley_values(["s1", "s2"], lambda s: 1.0 - expected_badness(s))
    assert [round(x, 3) for x in reduction.values.values()] == [0.455, 0.455]
    assert round(sum(reduction.values.values()), 3) == 0.91
    # with only two players, an antithetic pair covers both orders: sampling is exact
    sampled = shapley_values(["s1", "s2"], expected_badness, method="permutation", max_pairs=3)
    assert sampled.values == pytest.approx(a.values, abs=1e-12)


def test_pivotal_step() -> None:
    # the run succeeds under repair iff step s2 is repaired; every other step is irrelevant
    players = ["s0", "s1", "s2", "s3", "s4"]
    a = shapley_values(players, lambda s: float("s2" in s), game="repair")
    assert a.values == pytest.approx({"s0": 0, "s1": 0, "s2": 1.0, "s3": 0, "s4": 0}, abs=1e-12)
    assert a.top(1) == [("s2", 1.0)]
    b = banzhaf_values(players, lambda s: float("s2" in s))
    assert b.values["s2"] == 1.0 and sum(abs(x) for x in b.values.values()) == 1.0


def test_additive_game_sixteen_players() -> None:
    weights = {f"p{i}": float(i) - 7.5 for i in range(16)}
    a = shapley_values(list(weights), lambda s: sum(weights[p] for p in s), method="exact")
    assert a.values == pytest.approx(weights, abs=1e-9)
    assert a.evaluations == 2**16


# --- sampling -------------------------------------------------------------------------------


def test_permutation_agrees_with_exact_within_intervals() -> None:
    players, v = fixed_game(8, seed=3)
    exact = shapley_values(players, v, method="exact")
    est = shapley_values(players, v, method="permutation", seed=0, confidence=0.99)
    assert not est.exact and est.method == "shapley/permutation" and est.confidence == 0.99
    for p in players:
        low, high = est.ci[p] or (math.nan, math.nan)
        assert low <= exact.values[p] <= high, p
        assert high - low < 1.0
    # each permutation telescopes, so the estimate is efficient up to rounding
    assert abs(est.efficiency_gap or 0.0) < 1e-9
    assert est.v_full == exact.v_full and est.v_empty == exact.v_empty


def test_permutation_interval_coverage() -> None:
    players, v = fixed_game(6, seed=7)
    exact = shapley_values(players, v, method="exact").values
    covered = dict.fromkeys(players, 0)
    for seed in range(200):
        est = shapley_values(players, v, method="permutation", seed=seed, max_pairs=30)
        for p in players:
            low, high = est.ci[p] or (math.nan, math.nan)
            covered[p] += low <= exact[p] <= high
    assert min(covered.values()) >= 180, covered


def test_banzhaf_sampling_agrees_and_covers() -> None:
    players, v = fixed_game(6, seed=11)
    exact = banzhaf_values(players, v, method="exact").values
    covered = 0
    for seed in range(100):
        est = banzhaf_values(players, v, method="sampling", seed=seed, max_pairs=40)
        assert est.method == "banzhaf/sampling" and est.efficiency_gap is None
        for p in players:
            low, high = est.ci[p] or (math.nan, math.nan)
            covered += low <= exact[p] <= high
    assert covered >= 0.9 * 600


def test_sampling_is_deterministic_by_seed() -> None:
    players, v = fixed_game(9, seed=5)
    first = shapley_values(players, v, method="permutation", budget=200, seed=42)
    again = shapley_values(players, v, method="permutation", budget=200, seed=42)
    other = shapley_values(players, v, method="permutation", budget=200, seed=43)
    assert first == again and first.values != other.values
    b1 = banzhaf_values(players, v, method="sampling", budget=200, seed=42)
    assert b1 == banzhaf_values(players, v, method="sampling", budget=200, seed=42)


def test_single_pair_gives_infinite_intervals() -> None:
    players, v = fixed_game(4, seed=0)
    est = shapley_values(players, v, method="permutation", budget=8)
    assert est.evaluations == 8
    assert all(ci == (-math.inf, math.inf) for ci in est.ci.values())
    assert Attribution.from_json(est.to_json()) == est


# --- pruning and budget ---------------------------------------------------------------------


def test_pruned_equals_unpruned() -> None:
    base_players, base = fixed_game(5, seed=2)
    nulls = ["z0", "z1", "z2"]
    players = [base_players[0], "z0", *base_players[1:3], "z1", *base_players[3:], "z2"]

    def v(s: frozenset[str]) -> float:
        return base(s - set(nulls))

    full = Counting(v)
    unpruned = shapley_values(players, full, method="exact")
    pruned_calls = Counting(v)
    pruned = shapley_values(players, pruned_calls, method="exact", null_players=nulls)
    assert list(pruned.values) == players
    assert pruned.values == pytest.approx(unpruned.values, abs=1e-12)
    assert all(pruned.values[z] == 0.0 and pruned.ci[z] is None for z in nulls)
    assert unpruned.evaluations == full.calls == 2**8
    assert pruned.evaluations == pruned_calls.calls == 2**5
    assert not any(set(nulls) & s for s in pruned_calls.seen)
    assert pruned.v_full == unpruned.v_full and "declared null" in pruned.notes[0]
    b_full = banzhaf_values(players, v, method="exact")
    b_pruned = banzhaf_values(players, v, method="exact", null_players=nulls)
    assert b_pruned.values == pytest.approx(b_full.values, abs=1e-12)
    sampled = shapley_values(players, v, method="permutation", null_players=nulls, budget=50)
    assert all(sampled.values[z] == 0.0 and sampled.ci[z] is None for z in nulls)


def test_all_players_null() -> None:
    a = shapley_values(["a", "b"], lambda s: 3.0, null_players=["a", "b"])
    assert a.values == {"a": 0.0, "b": 0.0} and a.evaluations == 1 and a.v_full == 3.0
    assert shapley_values([], lambda s: 1.0).values == {}


@pytest.mark.parametrize("budget", [20, 50, 137])
def test_budget_respected(budget: int) -> None:
    players, base = fixed_game(10, seed=1)
    v = Counting(base)
    a = shapley_values(players, v, budget=budget, seed=3)
    assert a.method == "shapley/permutation"
    assert v.calls == a.evaluations <= budget
    assert a.evaluations > budget - 20  # stopped only when the next pair would not fit
    assert any("budget" in note for note in a.notes)
    w = Counting(base)
    b = banzhaf_values(players, w, budget=budget, seed=3)
    assert b.method == "banzhaf/sampling" and w.calls == b.evaluations <= budget


def test_budget_too_small_for_one_pair() -> None:
    players, v = fixed_game(10, seed=1)
    with pytest.raises(AttributionError, match=r"antithetic pair.*at least 20"):
        shapley_values(players, v, budget=19)
    with pytest.raises(AttributionError, match="at least 4"):
        banzhaf_values(players, v, budget=3)


def test_auto_chooses_by_budget() -> None:
    players, v = fixed_game(6, seed=0)
    assert shapley_values(players, v, budget=64).method == "shapley/exact"
    assert shapley_values(players, v, budget=63).method == "shapley/permutation"
    assert banzhaf_values(players, v, budget=63).method == "banzhaf/sampling"
    assert shapley_values(players, v).method == "shapley/exact"  # 64 <= DEFAULT_BUDGET
    many, w = fixed_game(13, seed=0)
    assert DEFAULT_BUDGET < 2**13
    a = shapley_values(many, w)
    assert a.method == "shapley/permutation" and a.evaluations <= DEFAULT_BUDGET
    with pytest.raises(AttributionError, match="more than budget=63"):
        shapley_values(players, v, method="exact", budget=63)


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"players": ["a", "a"]}, "appears twice"),
        ({"players": "ab"}, "not the string|the string"),
        ({"null_players": ["bb"]}, "did you mean 'b'"),
        ({"method": "exakt"}, "did you mean 'exact'"),
        ({"budget": 0}, "positive integer"),
        ({"seed": -1}, "seed"),
        ({"confidence": 1.0}, "between 0 and 1"),
    ],
)
def test_bad_arguments(kwargs: dict[str, object], match: str) -> None:
    args: dict[str, object] = {"players": ["a", "b"], "value": lambda s: 0.0, **kwargs}
    with pytest.raises(AttributionError, match=match):
        shapley_values(**args)  # type: ignore[arg-type]


def test_non_finite_value_is_reported() -> None:
    def v(s: frozenset[str]) -> float:
        return math.nan if s == {"b"} else 1.0

    with pytest.raises(AttributionError, match=r"returned nan for coalition \['b'\]"):
        shapley_values(["a", "b"], v)
    with pytest.raises(AttributionError, match="returned nan"):
        shapley_values(["a", "b", "c"], v, method="permutation")


# --- the result object ----------------------------------------------------------------------


def make_result() -> Attribution:
    return Attribution(
        values={"x#0": 0.5, "x#1": -1.5, "y#0": 1.5, "z#0": 0.0},
        ci={"x#0": (0.25, 0.75), "x#1": (-2.0, -1.0), "y#0": None, "z#0": (-0.5, 1.0)},
        game="repair",
        method="shapley/permutation",
        outcome="success",
        evaluations=40,
        efficiency_gap=1e-16,
        v_empty=0.0,
        v_full=0.5,
        exact=False,
        confidence=0.95,
        notes=["n"],
    )


def test_top_orders_by_absolute_value_then_name() -> None:
    a = make_result()
    assert a.top(2) == [("x#1", -1.5), ("y#0", 1.5)]
    assert a.top() == [("x#1", -1.5), ("y#0", 1.5), ("x#0", 0.5)]
    assert a.top(10)[-1] == ("z#0", 0.0) and a.top(0) == []


def test_json_round_trip() -> None:
    a = make_result()
    text = a.to_json()
    assert json.loads(text)["values"]["x#1"] == -1.5
    b = Attribution.from_json(text)
    assert b == a and list(b.values) == list(a.values)
    assert isinstance(b.ci["x#0"], tuple)
    real = shapley_values(["a", "b"], lambda s: float(len(s) ** 2))
    assert Attribution.from_json(real.to_json()) == real


def test_aggregate_sums_values_and_half_widths() -> None:
    a = make_result()
    g = a.aggregate({"x#0": "x", "x#1": "x", "y#0": "y", "z#0": "x"})
    assert list(g.values) == ["x", "y"]
    assert g.values == pytest.approx({"x": -1.0, "y": 1.5})
    # half-widths below: 0.25 + 0.5 + 0.5; above: 0.25 + 0.5 + 1.0
    assert g.ci["x"] == pytest.approx((-2.25, 0.75))
    assert g.ci["y"] is None
    assert g.efficiency_gap == a.efficiency_gap and g.evaluations == a.evaluations
    assert "summing half-widths" in g.notes[-1]
    assert sum(g.values.values()) == pytest.approx(sum(a.values.values()))
    with pytest.raises(AttributionError, match="has no group"):
        a.aggregate({"x#0": "x"})
    with pytest.raises(AttributionError, match="did you mean 'y#0'"):
        a.aggregate({**dict.fromkeys(a.values, "g"), "y#1": "g"})


def test_aggregate_exact_calls_to_agents() -> None:
    players = ["plan#0", "plan#1", "search#0", "search#1"]
    a = shapley_values(players, unanimity({"plan#1", "search#0", "search#1"}))
    g = a.aggregate({p: p.split("#")[0] for p in players})
    assert g.values == pytest.approx({"plan": 1 / 3, "search": 2 / 3})
    assert g.ci == {"plan": None, "search": None} and g.exact


def test_to_pandas_str_and_rich() -> None:
    a = make_result()
    df = a.to_pandas()
    assert list(df.columns) == ["player", "value", "ci_low", "ci_high"]
    assert df["value"].tolist() == [0.5, -1.5, 1.5, 0.0]
    assert df["ci_low"].isna().tolist() == [False, False, True, False]
    text = str(a)
    assert "x#1" in text and "-1.5000" in text and "[-2.0000, -1.0000]" in text
    assert "40 evaluations" in text and "note: n" in text

    from rich.console import Console
    from rich.table import Table

    table = a.__rich__()
    assert isinstance(table, Table) and table.row_count == 4
    console = Console(width=100, record=True)
    console.print(a)
    assert "y#0" in console.export_text()


def test_frozen_and_consistent() -> None:
    a = make_result()
    with pytest.raises(ValueError, match="frozen"):
        a.game = "break"  # type: ignore[misc]
    with pytest.raises(ValueError, match="same players"):
        Attribution(
            values={"a": 1.0},
            ci={"b": None},
            game="g",
            method="m",
            evaluations=1,
            v_empty=0,
            v_full=1,
            exact=True,
        )
