"""The resample game is Monte Carlo: its values carry intervals and say they are sampled.

Oracle: causal-agent-replay's AND interaction, worked out by hand. Two calls fail with
probability 0.3 each, the run succeeds unless both fail, and factually both failed. With
Y = success, v(N) = 0 (factual), v(∅) = P(not both fail) = 0.91, and v({a}) = v({b}) = 0.7
(a player keeping its factual failure leaves success to the other's redrawn call). So
φ_a = ((v({a}) - v(∅)) + (v(N) - v({b}))) / 2 = ((0.7 - 0.91) + (0 - 0.7)) / 2 = -0.455.
Before, the default of 64 draws gave -0.43 and -0.41, labelled ``shapley/exact`` with no
interval.
"""

from __future__ import annotations

import pytest

import agentsim as asim

ANALYTIC = -0.455


def and_failure() -> asim.Run:
    sc = asim.Scenario("and")
    a, b = sc.tool("a", p_ok=0.7), sc.tool("b", p_ok=0.7)

    @sc.agent
    def main(ctx):  # type: ignore[no-untyped-def]
        x, y = yield ctx.parallel(ctx.call(a), ctx.call(b))
        return x.ok or y.ok

    return next(r for r in (sc.run(seed=s) for s in range(500)) if len(r.trace.failed()) == 3)


def test_resample_values_are_sampled_with_intervals_covering_the_analytic_value() -> None:
    a = asim.shapley(and_failure(), game="resample")
    assert a.method == "shapley/sampled" and not a.exact and a.confidence == 0.95
    for player, value in a.values.items():
        low, high = a.ci[player]  # type: ignore[misc]
        assert low < value < high
        assert low <= ANALYTIC <= high
    assert any("mean of 64 draws" in note for note in a.notes)


def test_draws_can_be_chosen_to_a_target_precision() -> None:
    a = asim.shapley(and_failure(), game="resample", precision=0.02)
    for player, value in a.values.items():
        low, high = a.ci[player]  # type: ignore[misc]
        assert (high - low) / 2 <= 0.02
        assert low <= ANALYTIC <= high
        assert value == pytest.approx(ANALYTIC, abs=0.03)
    assert abs(a.efficiency_gap or 0.0) < 1e-9  # each draw's Shapley values are efficient


def test_banzhaf_of_the_resample_game_is_sampled_too() -> None:
    a = asim.banzhaf(and_failure(), game="resample", samples=32)
    assert a.method == "banzhaf/sampled" and all(ci is not None for ci in a.ci.values())


def test_a_bad_precision_is_refused() -> None:
    with pytest.raises(asim.AttributionError, match="precision must be a positive"):
        asim.shapley(and_failure(), game="resample", precision=0)
