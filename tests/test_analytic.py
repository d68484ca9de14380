"""The analytic oracle: closed forms checked by hand, and against the engine."""

from __future__ import annotations

import math
from typing import Any

import pytest

import agentsim as asim
from agentsim import analytic as an
from agentsim import dist
from agentsim import workflow as wf
from agentsim.errors import UnanswerableError

Tools = dict[str, dict[str, Any]]


def exp(mean: float, **kw: Any) -> dict[str, Any]:
    return dict(latency=dist.Exponential(mean=mean), **kw)


# -- success probability -----------------------------------------------------------------
def test_chain_is_product_of_p_ok() -> None:
    tools = {"a": dict(p_ok=0.9), "b": dict(p_ok=0.8), "c": dict(p_ok=0.7)}
    flow = wf.seq(wf.call("a"), wf.call("b"), wf.call("c"))
    assert an.success_probability(flow, tools) == pytest.approx(0.9 * 0.8 * 0.7)


def test_leak_after_a_failure() -> None:
    tools = {"a": dict(p_ok=0.5), "b": dict(p_ok=0.8, p_recover=0.3)}
    flow = wf.seq(wf.call("a"), wf.call("b"))
    assert an.success_probability(flow, tools) == pytest.approx(0.5 * 0.8 + 0.5 * 0.3)


@pytest.mark.parametrize("p", [0.1, 0.5, 0.9])
def test_retry_two(p: float) -> None:
    assert an.success_probability(wf.retry(wf.call("a"), n=2), {"a": dict(p_ok=p)}) == (
        pytest.approx(1 - (1 - p) ** 3)
    )


def test_fallback_par_choose_subagent() -> None:
    tools = {"a": dict(p_ok=0.6), "b": dict(p_ok=0.7), "m": {}}
    a, b = wf.call("a"), wf.call("b")
    assert an.success_probability(wf.fallback(a, b), tools) == pytest.approx(1 - 0.4 * 0.3)
    assert an.success_probability(wf.par(a, b), tools) == pytest.approx(0.42)
    assert an.success_probability(wf.par(a, b, mode="any"), tools) == pytest.approx(0.88)
    assert an.success_probability(wf.choose("m", {"x": (1.0, a), "y": (3.0, b)}), tools) == (
        pytest.approx(0.25 * 0.6 + 0.75 * 0.7)
    )
    assert an.success_probability(wf.subagent("h", wf.seq(a, b)), tools) == pytest.approx(0.42)


def test_retry_keeps_the_input_of_the_first_attempt() -> None:
    # After a failed upstream call, every attempt sees a bad input: 1 - (1 - p_recover)^2.
    tools = {"a": dict(p_ok=0.0), "b": dict(p_ok=0.9, p_recover=0.5)}
    flow = wf.seq(wf.call("a"), wf.retry(wf.call("b"), n=1))
    assert an.success_probability(flow, tools) == pytest.approx(0.75)


def test_timeouts_are_refused() -> None:
    with pytest.raises(UnanswerableError, match="timeout"):
        an.success_probability(wf.call("a"), {"a": dict(timeout=1.0)})


# -- expected cost ------------------------------------------------------------------------
def test_expected_cost_by_hand() -> None:
    tools = {"a": dict(p_ok=0.5, cost=2.0), "b": dict(cost=1.0), "m": dict(cost=0.1)}
    assert an.expected_cost(wf.retry(wf.call("a"), n=2), tools) == pytest.approx(2 * 1.75)
    assert an.expected_cost(wf.fallback(wf.call("a"), wf.call("b")), tools) == pytest.approx(2.5)
    flow = wf.choose("m", {"x": (1.0, wf.call("a")), "y": (1.0, wf.call("b"))})
    assert an.expected_cost(flow, tools) == pytest.approx(0.1 + 1.5)
    with pytest.raises(UnanswerableError, match="cancelled"):
        an.expected_cost(wf.par(wf.call("a"), wf.call("b"), mode="any"), tools)
    free = {"a": dict(p_ok=0.5), "b": {}, "c": dict(cost=3.0)}
    flow = wf.seq(wf.par(wf.call("a"), wf.call("b"), mode="any"), wf.call("c"))
    assert an.expected_cost(flow, free) == 3.0


def test_expected_cost_matches_simulation() -> None:
    tools = {"a": dict(p_ok=0.5, p_recover=0.2, cost=2.0), "b": dict(p_ok=0.7, cost=1.0)}
    flow = wf.seq(wf.call("b"), wf.retry(wf.fallback(wf.call("a"), wf.call("b")), n=1))
    est = wf.scenario(flow, tools).simulate(4000, seed=0, keep_traces=False).mean("cost")
    expected = an.expected_cost(flow, tools)
    half = (est.high - est.low) / 2
    assert abs(est.value - expected) <= 2 * half  # about 4 standard errors


# -- latency ------------------------------------------------------------------------------
def test_erlang_mean_and_cdf() -> None:
    tools = {"a": exp(0.5)}
    d = an.latency_distribution(wf.seq(wf.call("a"), wf.call("a"), wf.call("a")), tools)
    assert d.mean == pytest.approx(1.5)
    for t in (0.3, 1.0, 2.5):
        erlang = 1 - math.exp(-2 * t) * (1 + 2 * t + (2 * t) ** 2 / 2)
        assert d.cdf(t) == pytest.approx(erlang, abs=1e-12)


def test_hypoexponential_with_a_fixed_shift() -> None:
    a, b = 1.0, 3.0
    tools = {"x": exp(1 / a), "y": exp(1 / b), "f": dict(latency=0.5)}
    d = an.latency_distribution(wf.seq(wf.call("f"), wf.call("x"), wf.call("y")), tools)
    assert d.mean == pytest.approx(0.5 + 1 / a + 1 / b)
    assert d.cdf(0.49) == 0.0
    t = 1.7
    s = t - 0.5
    assert d.cdf(t) == pytest.approx(1 - (b * math.exp(-a * s) - a * math.exp(-b * s)) / (b - a))


def test_par_max_and_min_of_two_exponentials() -> None:
    a, b = 1.0, 0.25
    tools = {"x": exp(1 / a), "y": exp(1 / b)}
    both = an.latency_distribution(wf.par(wf.call("x"), wf.call("y")), tools)
    assert both.mean == pytest.approx(1 / a + 1 / b - 1 / (a + b), rel=1e-7)
    assert both.cdf(2.0) == pytest.approx((1 - math.exp(-2 * a)) * (1 - math.exp(-2 * b)))
    first = an.latency_distribution(wf.par(wf.call("x"), wf.call("y"), mode="any"), tools)
    assert first.mean == pytest.approx(1 / (a + b), rel=1e-7)


def test_choose_mixes_branches_and_retry_of_a_certain_failure_sums_attempts() -> None:
    tools = {"m": dict(latency=0.1), "x": dict(latency=1.0), "y": exp(2.0), "z": dict(p_ok=0.0)}
    flow = wf.choose("m", {"p": (1.0, wf.call("x")), "q": (3.0, wf.call("y"))})
    d = an.latency_distribution(flow, tools)
    assert d.mean == pytest.approx(0.1 + 0.25 * 1.0 + 0.75 * 2.0)
    assert d.cdf(1.1) == pytest.approx(0.25 + 0.75 * (1 - math.exp(-0.5)))
    d = an.latency_distribution(wf.retry(wf.seq(wf.call("z"), wf.call("x")), n=2), tools)
    assert d.mean == pytest.approx(3.0) and d.cdf(2.99) == 0.0 and d.cdf(3.0) == 1.0


def test_latency_of_par_then_sequence_matches_simulation() -> None:
    tools = {"x": exp(1.0), "y": exp(0.5), "f": dict(latency=0.3)}
    flow = wf.seq(wf.par(wf.call("x"), wf.call("y"), wf.call("f")), wf.call("y"), wf.call("f"))
    d = an.latency_distribution(flow, tools)
    e_max = 1 + 0.5 - 1 / 3  # max(x, y) is at least 0.3 often; check the mean against quad below
    assert d.mean > e_max + 0.5 + 0.3 - 1e-9
    n = 4000
    values = wf.scenario(flow, tools).simulate(n, seed=0, keep_traces=False).values("latency")
    sd = float(values.std())
    assert abs(float(values.mean()) - d.mean) <= 4 * sd / math.sqrt(n)
    for t in (1.0, 2.0, 3.5):
        p = d.cdf(t)
        assert abs(float((values <= t).mean()) - p) <= 4 * math.sqrt(p * (1 - p) / n)


def test_latency_refuses_random_control_flow_and_other_distributions() -> None:
    with pytest.raises(UnanswerableError, match="control flow"):
        an.latency_distribution(wf.retry(wf.call("a"), n=1), {"a": dict(p_ok=0.5)})
    with pytest.raises(UnanswerableError, match="fixed or exponential"):
        lat = dist.LogNormal(median=1.0, sigma=0.5)
        an.latency_distribution(wf.call("a"), {"a": dict(latency=lat)})
    tools = {"a": exp(1.0), "b": exp(1.0)}
    two_pars = wf.seq(wf.par(wf.call("a"), wf.call("b")), wf.par(wf.call("a"), wf.call("b")))
    with pytest.raises(UnanswerableError, match="two parallel blocks"):
        an.latency_distribution(two_pars, tools)
    # a failure that does not change control flow is fine
    ok = an.latency_distribution(
        wf.seq(wf.call("a"), wf.call("b")), {**tools, "a": exp(1.0, p_ok=0.5)}
    )
    assert ok.mean == pytest.approx(2.0)


# -- worlds and counterfactuals ------------------------------------------------------------
def test_enumerate_worlds_sums_to_one_and_to_the_success_probability() -> None:
    tools = {"a": dict(p_ok=0.6, p_recover=0.2), "b": dict(p_ok=0.7), "m": {}}
    flow = wf.seq(
        wf.retry(wf.call("a"), n=1),
        wf.choose("m", {"x": (1.0, wf.call("b")), "y": (1.0, wf.par(wf.call("a"), wf.call("b")))}),
    )
    worlds = list(an.enumerate_worlds(flow, tools))
    assert sum(w.probability for w in worlds) == pytest.approx(1.0)
    assert sum(w.probability for w in worlds if w.success) == pytest.approx(
        an.success_probability(flow, tools)
    )
    patterns = [(tuple(w.oks.items()), tuple(w.choices.items())) for w in worlds]
    assert len(set(patterns)) == len(patterns)


def test_enumerate_worlds_under_intervention_and_its_limit() -> None:
    tools = {"a": dict(p_ok=0.5)}
    worlds = list(an.enumerate_worlds(wf.retry(wf.call("a"), n=3), tools, {"main#0/a#0": False}))
    assert sum(w.probability for w in worlds if w.success) == pytest.approx(1 - 0.5**3)
    with pytest.raises(UnanswerableError, match="17 stochastic calls"):
        list(an.enumerate_worlds(wf.retry(wf.call("a"), n=16), tools))


def test_counterfactual_repair_of_the_first_call() -> None:
    tools = {"a": dict(p_ok=0.5), "b": dict(p_ok=0.8, p_recover=0.3)}
    flow = wf.seq(wf.call("a"), wf.call("b"))
    repair = {"main#0/a#0": True}
    # b failed on a bad input: its noise is in [p_recover, 1), so it works with a good one
    # with probability (0.8 - 0.3) / (1 - 0.3).
    oks = {"main#0/a#0": False, "main#0/b#0": False}
    assert an.counterfactual_success(flow, tools, oks, repair) == pytest.approx(0.5 / 0.7)
    # b succeeded on a bad input: its noise is below p_recover, so it succeeds regardless.
    oks = {"main#0/a#0": False, "main#0/b#0": True}
    assert an.counterfactual_success(flow, tools, oks, repair) == 1.0
    # exact noise knowledge gives 0 or 1
    assert (
        an.counterfactual_success(
            flow, tools, oks | {"main#0/b#0": False}, repair, bands={"main#0/b#0": 2}
        )
        == 0.0
    )
    with pytest.raises(UnanswerableError, match="impossible"):
        an.counterfactual_success(flow, tools, {"main#0/a#0": True}, {}, bands={"main#0/a#0": 2})
    with pytest.raises(UnanswerableError, match="never reaches"):
        an.counterfactual_success(flow, tools, {"main#0/c#0": True}, {})


def test_counterfactual_addresses_shift_after_fewer_retries() -> None:
    # Factual: a#0 fails, a#1 succeeds, the second step is a#2. Repairing a#0 makes the
    # second step a#1, whose factual noise (ok on a good input) it keeps.
    tools = {"a": dict(p_ok=0.5)}
    flow = wf.seq(wf.retry(wf.call("a"), n=1), wf.call("a"))
    oks = {"main#0/a#0": False, "main#0/a#1": True, "main#0/a#2": False}
    assert an.counterfactual_success(flow, tools, oks, {"main#0/a#0": True}) == 1.0
    assert an.counterfactual_success(flow, tools, oks, {"main#0/a#1": False}) == 0.0


def test_counterfactual_of_an_unreached_address_uses_its_prior() -> None:
    tools = {"a": dict(p_ok=0.5), "b": dict(p_ok=0.9)}
    flow = wf.fallback(wf.call("a"), wf.call("b"))
    oks = {"main#0/a#0": True}
    assert an.counterfactual_success(flow, tools, oks, {"main#0/a#0": False}) == pytest.approx(0.9)


def test_shapley_and_banzhaf_by_hand() -> None:
    tools = {"a": dict(p_ok=0.5), "b": dict(p_ok=0.5), "c": dict(p_ok=0.5)}
    # (a and b) or c: with all three failed, repairing c alone or a and b together suffices.
    flow = wf.fallback(wf.par(wf.call("a"), wf.call("b")), wf.call("c"))
    oks = {"main#0/a#0": False, "main#0/b#0": False, "main#0/c#0": False}
    sh = an.shapley_repair(flow, tools, oks, list(oks))
    assert sh == pytest.approx({"main#0/a#0": 1 / 6, "main#0/b#0": 1 / 6, "main#0/c#0": 2 / 3})
    bz = an.banzhaf_repair(flow, tools, oks, list(oks))
    assert bz == pytest.approx({"main#0/a#0": 0.25, "main#0/b#0": 0.25, "main#0/c#0": 0.75})
    grouped = an.shapley_repair(
        flow, tools, oks, {"ab": ["main#0/a#0", "main#0/b#0"], "c": ["main#0/c#0"]}
    )
    assert grouped == pytest.approx({"ab": 0.5, "c": 0.5})


def full_noise(flow: wf.Flow, tools: Tools, seed: int) -> dict[str, int]:
    addresses = {a for w in an.enumerate_worlds(flow, tools) for a in w.oks}
    return an.noise_bands({a: asim.noise.uniform(seed, a, "ok") for a in addresses}, tools)


def test_shapley_repair_matches_agentsim_attribution() -> None:
    tools = {"a": dict(p_ok=0.5, p_recover=0.2), "b": dict(p_ok=0.6), "c": dict(p_ok=0.4)}
    flow = wf.seq(wf.call("a"), wf.fallback(wf.par(wf.call("b"), wf.call("c")), wf.call("b")))
    sc = wf.scenario(flow, tools)
    checked = 0
    for seed in range(60):
        run = sc.run(seed=seed)
        if run.outcomes["success"]:
            continue
        spans = [s for s in run.trace.spans if s.kind == "tool"]
        players = [s.address for s in spans]
        oks = {s.address: s.ok for s in spans}
        bands = full_noise(flow, tools, seed)
        mine = an.shapley_repair(flow, tools, oks, players, bands=bands)
        theirs = asim.shapley(run, players=players, game="repair", method="exact").values
        assert theirs == pytest.approx(mine, abs=1e-12), seed
        mine_bz = an.banzhaf_repair(flow, tools, oks, players, bands=bands)
        theirs_bz = asim.banzhaf(run, players=players, game="repair").values
        assert theirs_bz == pytest.approx(mine_bz, abs=1e-12), seed
        checked += 1
    assert checked >= 10
