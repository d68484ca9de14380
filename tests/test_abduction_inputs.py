"""Abduction from a trace re-runs the program as it ran: its entry inputs, its mechanisms
(no interventions), and with every observed latency and cost held at its factual value.

The oracle is the simulated run itself: its trace with the noise stripped is what an exporter
without noise writes, and an empty intervention on it must reproduce every factual result
(success, status, latency, cost) in every posterior sample; where a value fixes its uniform
(a continuous distribution), the posterior uniform is the one the run actually drew.
"""

from __future__ import annotations

import enum
import math
from typing import Any

import pytest

import agentsim as asim
from agentsim import dist
from agentsim.errors import TraceFormatError, UnanswerableError
from agentsim.trace import Trace
from agentsim.worlds.abduced import posterior_noise

CALLS = ("tool", "llm", "choice")


def strip_noise(trace: Trace) -> Trace:
    """The trace as an exporter without noise would write it."""
    spans = [s.model_copy(update={"noise": {}}) for s in trace.spans]
    return trace.model_copy(update={"spans": spans})


def assert_reproduces(sample: asim.Run, factual: asim.Run) -> None:
    """``sample`` has the factual run's calls, results, times and costs (to rounding)."""
    got, want = sample.trace.spans, factual.trace.spans
    assert [s.address for s in got] == [s.address for s in want]
    for g, w in zip(got, want, strict=True):
        assert (g.ok, g.status, g.error, g.value) == (w.ok, w.status, w.error, w.value), w.address
        assert math.isclose(g.cost, w.cost, rel_tol=1e-9, abs_tol=1e-12), (w.address, g.cost)
        assert math.isclose(g.start, w.start, rel_tol=1e-9, abs_tol=1e-9), w.address
        assert math.isclose(g.end, w.end, rel_tol=1e-9, abs_tol=1e-9), w.address
    assert sample.outcomes["success"] == factual.outcomes["success"]
    for name in ("latency", "cost"):
        assert math.isclose(sample.outcomes[name], factual.outcomes[name], rel_tol=1e-9)


# -- entry inputs -------------------------------------------------------------------------


def moody() -> asim.Scenario:
    """An entry agent whose inputs decide which tool it calls and how often."""
    sc = asim.Scenario("moody")
    quick = sc.tool("quick", p_ok=0.6, latency=dist.Exponential(mean=1.0))
    deep = sc.tool("deep", p_ok=0.6, latency=dist.LogNormal(median_=3.0, sigma=0.5), cost=0.5)

    @sc.agent
    def main(ctx, depth=1, mode="quick", **extra):  # type: ignore[no-untyped-def]
        tool = deep if mode == "deep" else quick
        result = None
        for _ in range(depth):
            result = yield ctx.call(tool)
        return result

    return sc


def test_a_trace_records_its_json_entry_inputs_and_only_when_there_are_some() -> None:
    sc = moody()
    trace = sc.run(seed=3, mode="deep", depth=2, extra={"k": [1, 2.5, None, True]}).trace
    assert trace.attributes["inputs"] == {
        "depth": 2,
        "extra": {"k": [1, 2.5, None, True]},
        "mode": "deep",
    }
    assert "unrecorded_inputs" not in trace.attributes
    assert Trace.model_validate_json(trace.model_dump_json()) == trace
    again = sc.run(seed=3, mode="deep", depth=2, extra={"k": [1, 2.5, None, True]}).trace
    assert again.model_dump_json() == trace.model_dump_json()
    # a run without inputs keeps the trace it always had
    assert set(sc.run(seed=3).trace.attributes) == {"steps", "arrival"}


class Mode(enum.IntEnum):
    DEEP = 1


@pytest.mark.parametrize(
    "value",
    [(1, 2), [1, (2,)], {1: "a"}, float("nan"), math.inf, Mode.DEEP, "a\ud800", object()],
    ids=["tuple", "nested-tuple", "int-key", "nan", "inf", "int-enum", "surrogate", "object"],
)
def test_inputs_that_json_would_change_are_named_and_abduction_refuses(value: Any) -> None:
    sc = moody()
    run = sc.run(seed=0, mode="deep", odd=value)
    trace = run.trace
    assert trace.attributes["inputs"] == {"mode": "deep"}
    assert trace.attributes["unrecorded_inputs"] == ["odd"]
    for observed in (trace, strip_noise(trace)):
        with pytest.raises(UnanswerableError, match=r"entry inputs \['odd'\].*Run object"):
            asim.counterfactual(observed, scenario=sc, samples=2)
    asim.counterfactual(run)  # the run itself still knows its inputs


def test_abduction_reruns_the_program_with_the_recorded_inputs() -> None:
    sc = moody()
    for seed in range(5):
        run = sc.run(seed=seed, mode="deep", depth=3)
        (exact,) = asim.counterfactual(run.trace, scenario=sc).samples  # noise recorded
        assert_reproduces(exact, run)
        observed = strip_noise(Trace.model_validate_json(run.trace.model_dump_json()))
        cf = asim.counterfactual(observed, scenario=sc, samples=10, seed=1)
        assert cf.unaligned == ()
        for sample in cf.samples:
            assert sample.context.inputs == (("depth", 3), ("mode", "deep"))
            assert_reproduces(sample, run)
        # under an intervention the program still takes the path its inputs chose
        repaired = asim.counterfactual(observed, asim.repair("main#0/deep#2"), scenario=sc)
        assert repaired.outcomes["success"].exact and repaired.outcomes["success"].value == 1.0
        assert repaired.unaligned == ()


def test_a_malformed_inputs_attribute_is_a_trace_format_error() -> None:
    sc = moody()
    trace = sc.run(seed=0).trace
    bad = trace.model_copy(update={"attributes": {**trace.attributes, "inputs": ["deep"]}})
    with pytest.raises(TraceFormatError, match="attribute 'inputs'"):
        asim.counterfactual(bad, scenario=sc)


# -- interventions --------------------------------------------------------------------------


def test_a_trace_produced_under_interventions_is_refused() -> None:
    sc = moody()
    run = sc.run(seed=0, interventions=asim.break_("main#0/quick#0"))
    assert run.trace.interventions == ["break(main#0/quick#0)"]
    for observed in (run.trace, strip_noise(run.trace)):
        with pytest.raises(
            UnanswerableError, match=r"produced under interventions \['break\(main#0/quick#0\)'\]"
        ):
            asim.counterfactual(observed, asim.repair("main#0/quick#0"), scenario=sc)


# -- cost -----------------------------------------------------------------------------------


def costly() -> asim.Scenario:
    """Calls whose cost is drawn: continuous, discrete and fixed, on a call that may time out,
    on two racing calls (the loser is cancelled), and on a decision; and a discrete latency."""
    sc = asim.Scenario("costly")
    search = sc.tool(
        "search",
        p_ok=0.8,
        latency=dist.LogNormal(median_=1.0, sigma=0.6),
        cost=dist.LogNormal(median_=0.02, sigma=0.4),
        timeout=2.0,
    )
    fetch = sc.tool(
        "fetch",
        p_ok=0.7,
        latency=dist.Exponential(mean=1.0),
        cost=dist.Uniform(low=0.01, high=0.05),
        p_recover=0.3,
    )
    mirror = sc.tool(
        "mirror",
        p_ok=0.7,
        latency=dist.Exponential(mean=1.0),
        cost=dist.Empirical(samples=(0.01, 0.02, 0.04)),
        p_recover=0.3,
    )
    flat = sc.tool("flat", latency=0.5, cost=dist.Fixed(value=0.1))
    coin = sc.tool("coin", p_ok=0.9, latency=dist.Bernoulli(p=0.5), cost=dist.Bernoulli(p=0.5))
    dice = sc.tool("dice", latency=0.1, cost=dist.Categorical(weights={"a": 1, "b": 2, "c": 1}))
    planner = sc.model(
        "planner", latency=dist.Normal(mean=1.0, sd=0.3), cost=dist.Exponential(mean=0.01)
    )

    @sc.agent
    def main(ctx):  # type: ignore[no-untyped-def]
        found = yield ctx.call(search)
        page = yield ctx.first(ctx.call(fetch, found), ctx.call(mirror, found))
        yield ctx.choose(planner, {"answer": 1.0, "ask": 1.0})
        yield ctx.call(coin)
        yield ctx.call(dice)
        return (yield ctx.call(flat, page))

    return sc


CONTINUOUS_COSTS = ("search", "fetch", "mirror", "planner")


def test_abduction_holds_every_observed_cost_and_reproduces_the_run() -> None:
    sc = costly()
    seen: set[str] = set()
    for seed in range(40):
        run = sc.run(seed=seed)
        observed = strip_noise(run.trace)
        cf = asim.counterfactual(observed, scenario=sc, samples=8, seed=seed)
        for sample in cf.samples:
            assert_reproduces(sample, run)
        for name in ("success", "latency", "cost"):
            assert cf.outcomes[name].exact, (seed, name)
        post = posterior_noise(observed, sc, seed=0, draw=1)
        for span in run.trace.spans:
            if span.kind not in CALLS:
                continue
            true, slots = span.noise, post[span.address]
            if span.name == "flat":
                assert "cost" not in slots and "cost" not in true  # a fixed cost draws nothing
            elif span.status != "done":
                seen.add("cancelled")
                assert span.cost == 0.0 and "cost" not in slots  # nothing observed: the prior
            elif span.name == "coin":
                seen.add(f"coin={span.cost:g},{span.duration:g}")
                assert (slots["cost"] < 0.5) == (true["cost"] < 0.5)  # the Bernoulli's side
                assert (slots["latency"] < 0.5) == (true["latency"] < 0.5)
            elif span.name == "dice":
                seen.add(f"dice={span.cost:g}")
                band = [0.0, 0.25, 0.75, 1.0][int(span.cost) : int(span.cost) + 2]
                assert band[0] <= slots["cost"] < band[1] and band[0] <= true["cost"] < band[1]
            else:
                if span.error and span.error.startswith("timeout"):
                    seen.add("timeout")  # charged its full cost, so the cost was observed
                assert span.name in CONTINUOUS_COSTS
                assert slots["cost"] == pytest.approx(true["cost"], rel=1e-9, abs=1e-12)
    # the seeds exercised every case above
    assert seen == {
        "cancelled",
        "timeout",
        *(f"coin={c},{t}" for c in (0, 1) for t in (0, 1)),
        *(f"dice={c}" for c in (0, 1, 2)),
    }


def test_a_custom_mechanism_is_conditioned_on_its_observed_cost() -> None:
    def cheap_works(inputs: list[Any], noise: Any) -> dict[str, Any]:
        return {"ok": noise["cost"] < 0.5}  # success iff the call was cheaper than its median

    sc = asim.Scenario("custom-cost")
    pricy = sc.tool(
        "pricy",
        mechanism=cheap_works,
        latency=dist.Exponential(mean=1.0),
        cost=dist.LogNormal(median_=1.0, sigma=1.0),
    )

    @sc.agent
    def main(ctx):  # type: ignore[no-untyped-def]
        a = yield ctx.call(pricy)
        return (yield ctx.call(pricy, a))

    for seed in range(10):
        run = sc.run(seed=seed)
        cf = asim.counterfactual(strip_noise(run.trace), scenario=sc, samples=5, seed=0)
        for sample in cf.samples:
            assert_reproduces(sample, run)


# -- what a trace alone does not determine --------------------------------------------------


def test_a_timed_out_bernoulli_latency_was_the_long_one() -> None:
    # latency 1 s with probability 0.3, else 0; a 0.5 s timeout cuts off exactly the long
    # calls, so the posterior of a timed-out call is u < 0.3 and lifting the timeout gives 1 s
    sc = asim.Scenario("coin-timeout")
    coin = sc.tool("coin", latency=dist.Bernoulli(p=0.3), timeout=0.5)

    @sc.agent
    def main(ctx):  # type: ignore[no-untyped-def]
        return (yield ctx.call(coin))

    checked = 0
    for seed in range(30):
        run = sc.run(seed=seed)
        if run.outcomes["success"]:
            continue
        observed = strip_noise(run.trace)
        post = posterior_noise(observed, sc, seed=0, draw=1)
        assert post["main#0/coin#0"]["latency"] < 0.3
        cf = asim.counterfactual(observed, asim.set_params("coin", timeout=5.0), scenario=sc)
        assert cf.outcomes["success"].value == 1.0
        assert cf.outcomes["latency"].exact and cf.outcomes["latency"].value == 1.0
        checked += 1
    assert checked >= 5


def test_a_session_of_a_coupled_batch_is_not_abduced_alone() -> None:
    sc = asim.Scenario("queue")
    t = sc.tool("t", p_ok=0.5, latency=dist.Exponential(mean=1.0), capacity=1)

    @sc.agent
    def main(ctx):  # type: ignore[no-untyped-def]
        return (yield ctx.call(t))

    batch = sc.simulate(4, seed=0, arrivals=0.2)
    assert batch[3].trace.attributes["coupled_sessions"] == 4
    with pytest.raises(UnanswerableError, match="one of 4 sessions"):
        asim.counterfactual(strip_noise(batch[3].trace), asim.repair("t"), scenario=sc)
    # the Run itself re-simulates the batch, and a run simulated alone is abduced as before
    assert asim.counterfactual(batch[3], asim.repair("t")).outcomes["success"] == 1.0
    alone = sc.run(seed=0)
    assert "coupled_sessions" not in alone.trace.attributes
    cf = asim.counterfactual(strip_noise(alone.trace), asim.repair("t"), scenario=sc)
    assert cf.outcomes["success"].value == 1.0
