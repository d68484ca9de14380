"""Counterfactual engine: interventions, replay, abduction, paired effects."""

from __future__ import annotations

import math

import pytest

import agentsim as asim
from agentsim import dist
from tests.helpers import chain


def _ab(p_a: float = 0.5, p_b: float = 0.7) -> asim.Scenario:
    return chain([p_a, p_b], latency=dist.Exponential(mean=1.0))


def _failed_at_a(sc: asim.Scenario) -> asim.Run:
    return next(
        r for r in (sc.run(seed=s) for s in range(200)) if not r.trace.span("main#0/t0#0").ok
    )


def test_repair_of_the_first_call_follows_the_second_calls_noise() -> None:
    sc = _ab()
    for seed in range(60):
        run = sc.run(seed=seed)
        if run.trace.span("main#0/t0#0").ok:
            continue
        cf = asim.counterfactual(run, asim.repair("main#0/t0#0"))
        u_b = run.trace.span("main#0/t1#0").noise["ok"]
        assert cf.outcomes["success"] == (1.0 if u_b < 0.7 else 0.0)
        assert cf.trace.span("main#0/t1#0").noise == run.trace.span("main#0/t1#0").noise


def test_abduction_without_noise_gives_p_ok_of_the_second_call() -> None:
    sc = _ab()
    run = _failed_at_a(sc)
    observed = run.trace.model_copy(deep=True)
    for span in observed.spans:
        span.noise = {}
    cf = asim.counterfactual(
        observed, asim.repair("main#0/t0#0"), scenario=sc, samples=3000, seed=2
    )
    est = cf.outcomes["success"]
    assert est.contains(0.7) and est.width < 0.05
    assert cf.outcomes["latency"].exact  # durations were observed: the latency is determined
    assert cf.outcomes["latency"].value == pytest.approx(run.outcomes["latency"])


def test_resample_averages_to_the_interventional_probability() -> None:
    sc = _ab(0.3, 0.9)
    run = next(
        r
        for r in (sc.run(seed=s) for s in range(200))
        if r.trace.span("main#0/t1#0").noise["ok"] < 0.9
    )
    k = 3000
    mean = (
        sum(
            asim.counterfactual(run, asim.resample("main#0/t0#0", draw=d)).outcomes["success"]
            for d in range(1, k + 1)
        )
        / k
    )
    assert abs(mean - 0.3) < 4 * math.sqrt(0.3 * 0.7 / k)


def test_paired_interval_is_narrower_than_unpaired() -> None:
    sc = chain([0.9, 0.8, 0.85])
    iv = asim.set_params("t1", p_ok=0.9)
    paired = asim.effect(sc, iv, n=4000, seed=0)
    unpaired = asim.effect(sc, iv, n=4000, seed=0, paired=False)
    assert paired.ate.width < 0.5 * unpaired.ate.width
    exact = 0.9 * 0.1 * 0.85
    assert paired.ate.contains(exact) and unpaired.ate.contains(exact)


def test_unknown_address_suggests_close_matches() -> None:
    run = chain([0.5, 0.5]).run(seed=0)
    with pytest.raises(asim.UnknownAddressError, match=r"did you mean 'main#0/t1#0'"):
        asim.counterfactual(run, asim.repair("main#0/t1#9"))
    with pytest.raises(asim.UnknownAddressError, match=r"did you mean 't1'"):
        asim.counterfactual(run, asim.repair("t11"))


def test_extra_retry_is_unaligned() -> None:
    sc = asim.Scenario("retry")
    t = sc.tool("t", p_ok=0.5)

    @sc.agent
    def main(ctx):  # type: ignore[no-untyped-def]
        for _ in range(4):
            r = yield ctx.call(t)
            if r.ok:
                return r
        return r

    run = next(r for r in (sc.run(seed=s) for s in range(100)) if len(r.trace.calls()) == 1)
    cf = asim.counterfactual(run, asim.break_("main#0/t#0"))
    assert cf.unaligned[0] == "main#0/t#1"
    d = cf.diff(run)
    assert d.added == list(cf.unaligned) and "main#0/t#0" in d.changed_addresses


def test_targets_tool_agent_and_agent_result() -> None:
    sc = asim.Scenario("targets")
    a = sc.tool("a", p_ok=0.0)
    b = sc.tool("b", p_ok=1.0)

    @sc.agent
    def main(ctx):  # type: ignore[no-untyped-def]
        x = yield ctx.spawn(sub)
        y = yield ctx.call(b)
        return x.ok and y.ok

    @sc.agent
    def sub(ctx):  # type: ignore[no-untyped-def]
        return (yield ctx.call(a))

    run = sc.run(seed=0)
    assert run.outcomes["success"] == 0.0
    assert asim.counterfactual(run, asim.repair("a")).outcomes["success"] == 1.0
    assert asim.counterfactual(run, asim.repair("sub")).outcomes["success"] == 1.0
    cf = asim.counterfactual(run, asim.repair("sub", agent_result=True))
    assert cf.outcomes["success"] == 1.0 and not cf.trace.span("main#0/sub#0/a#0").ok
    assert asim.counterfactual(run, asim.break_("b")).trace.span("main#0/b#0").ok is False


def test_replace_set_params_and_delay() -> None:
    sc = chain([0.0, 1.0], latency=1.0)
    run = sc.run(seed=0)
    oracle = asim.Tool("oracle", p_ok=1.0, latency=0.5)
    cf = asim.counterfactual(run, asim.replace("t0", oracle))
    assert cf.outcomes["success"] == 1.0 and cf.outcomes["latency"] == 1.5
    assert cf.trace.span("main#0/t0#0").name == "t0"
    assert asim.counterfactual(run, asim.set_params("t0", p_ok=1.0)).outcomes["success"] == 1.0
    mech = asim.replace("t0", mechanism=lambda inputs, noise: {"ok": True, "latency": 3.0})
    assert asim.counterfactual(run, mech).outcomes["latency"] == 4.0
    assert asim.counterfactual(run, asim.delay("main#0/t1#0", -5.0)).outcomes["latency"] == 1.0


def test_replace_sub_agent_with_an_oracle() -> None:
    sc = asim.Scenario("oracle-agent")
    a = sc.tool("a", p_ok=0.0)

    @sc.agent
    def main(ctx):  # type: ignore[no-untyped-def]
        return (yield ctx.spawn(worker))

    @sc.agent
    def worker(ctx):  # type: ignore[no-untyped-def]
        return (yield ctx.call(a))

    def oracle(ctx):  # type: ignore[no-untyped-def]
        yield ctx.wait(1.0)
        return "answer"

    run = sc.run(seed=0)
    cf = asim.counterfactual(run, asim.replace("worker", oracle))
    assert cf.outcomes["success"] == 1.0 and "main#0/worker#0/wait#0" in cf.unaligned


def test_coupled_runs_are_re_simulated_together() -> None:
    sc = asim.Scenario("coupled")
    t = sc.tool("t", latency=2.0, capacity=1)

    @sc.agent
    def main(ctx):  # type: ignore[no-untyped-def]
        return (yield ctx.call(t))

    batch = sc.simulate(3, seed=0, arrivals=1.0)
    assert [r.outcomes["latency"] for r in batch] == [2.0, 3.0, 4.0]  # each queued
    # session 1's own call made 0.5 s long: it still waits behind session 0 ...
    cf = asim.counterfactual(batch[1], asim.do("main#0/t#0", latency=0.5))
    assert cf.outcomes["latency"] == 1.5
    # ... and frees the server earlier for session 2, which was not intervened on
    assert [p.outcomes["latency"] for p in cf.peers] == [2.0, 1.5, 2.5]


def test_interventions_are_hashable_serialisable_values() -> None:
    iv = asim.do("main#0/t#0", ok=False, latency=2.0)
    assert hash(iv) == hash(asim.do("main#0/t#0", ok=False, latency=2.0))
    assert type(iv).model_validate_json(iv.model_dump_json()) == iv
    assert asim.set_params("t", p_ok=0.5).describe() == "set_params(t, p_ok=0.5)"
    with pytest.raises(asim.InterventionError):
        asim.do("x#0")
    with pytest.raises(asim.InterventionError):
        asim.set_params("t", colour="red")


@pytest.mark.parametrize(
    "make",
    [
        lambda: asim.do("t", latency=math.inf),
        lambda: asim.do("t", latency=-1.0),
        lambda: asim.do("t", cost=math.nan),
        lambda: asim.do("t", cost=-0.5),
        lambda: asim.delay("t", math.inf),
        lambda: asim.delay("t", math.nan),
    ],
)
def test_non_finite_or_negative_times_and_costs_are_refused(make) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(asim.InterventionError, match="must be a finite number"):
        make()


def test_world_caches_evaluations() -> None:
    run = chain([0.2, 0.2]).run(seed=1)
    w = asim.world(run)
    ivs = [asim.repair("main#0/t0#0")]
    first = w.outcome(ivs)
    assert w.outcome(ivs) == first and w.evaluations == 1
    assert w.players("tools") == ["t0", "t1"]
