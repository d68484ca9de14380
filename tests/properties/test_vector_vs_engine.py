"""The vectorised executor against the discrete-event engine, run by run.

Random workflows (retries, fallbacks, parallel groups of both modes, sub-agents, choices),
random tool parameters (fixed, exponential and log-normal latencies, timeouts, fractional
costs), deadlines and random interventions (do, repair, break_, delay, set_params, resample,
agent-level ones): for every run, success, cost, the entry agent's error, value and step
count must equal the engine's exactly, and latency exactly when latencies are fixed, else
within 1e-12 relative (numpy's ``log1p`` and ``ppf`` on arrays against the engine's scalar
calls, which differ in the last bit for some inputs). Runs the
executor delegates to the engine are compared too (they must then be the engine's), and a
separate test checks that delegation is rare where no tie can occur.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import agentsim as asim
from agentsim import dist, vector
from agentsim import workflow as wf
from agentsim.noise import child_seed
from agentsim.strategies import interventions, workflows

LATENCIES: list[Any] = [1.0, 0.5, dist.Exponential(mean=1.0), dist.LogNormal(median=0.7, sigma=0.5)]


@st.composite
def cases(draw: st.DrawFn) -> tuple[asim.Scenario, list[Any]]:
    flow = draw(workflows(max_calls=7))
    tools = {}
    for name in sorted(wf.tool_names(flow)):
        p_ok = draw(st.sampled_from([0.3, 0.6, 0.9, 1.0]))
        params: dict[str, Any] = dict(
            p_ok=p_ok,
            p_recover=min(p_ok, draw(st.sampled_from([0.0, 0.2]))),
            latency=draw(st.sampled_from(LATENCIES)),
            cost=draw(st.sampled_from([0.0, 1.0, 0.1, 0.25, 0.3])),
        )
        timeout = draw(st.sampled_from([None, None, 1.0, 1.5]))
        if timeout is not None:
            params["timeout"] = timeout
        tools[name] = params
    deadline = draw(st.sampled_from([None, None, 2.0, 3.3]))
    sc = wf.scenario(flow, tools, deadline=deadline)
    factual = sc.run(seed=child_seed(0, 0))
    ivs: list[Any] = list(draw(interventions(factual, min_size=0, max_size=3)))
    names = sorted(wf.tool_names(flow))
    extra = draw(
        st.lists(
            st.one_of(
                st.builds(
                    lambda t, p: asim.set_params(t, p_ok=p, p_recover=0.0),
                    st.sampled_from(names),
                    st.sampled_from([0.1, 0.95]),
                ),
                st.builds(lambda t: asim.resample(t, draw=2), st.sampled_from(names)),
                st.builds(asim.fix, st.sampled_from([*names, "*"])),
                st.builds(
                    lambda t: asim.set_params(t, latency=dist.Exponential(mean=0.5)),
                    st.sampled_from(names),
                ),
            ),
            max_size=2,
        )
    )
    agents = sorted(a for a in sc.agents if a != "main")
    if agents and draw(st.booleans()):
        # no agent delay under a deadline: the engine crashes when the deadline falls inside
        # an agent's added delay (a simpy.Interrupt escapes _spawn), reported separately
        kinds = ["repair", "break", "fix"] + (["delay"] if deadline is None else [])
        kind = draw(st.sampled_from(kinds))
        a = draw(st.sampled_from(agents))
        extra.append(
            asim.repair(a, agent_result=True)
            if kind == "repair"
            else asim.break_(a, agent_result=True)
            if kind == "break"
            else asim.fix(a)
            if kind == "fix"
            else asim.delay(f"main#0/{a}#0", 0.5)
        )
    return sc, ivs + extra


def _same(x: float, y: float, rel: float) -> bool:
    return x == y or math.isclose(x, y, rel_tol=rel, abs_tol=0.0)


@settings(
    max_examples=150,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
@given(cases())
def test_vector_equals_engine_run_by_run(case: tuple[asim.Scenario, list[Any]]) -> None:
    sc, ivs = case
    n = 48
    des = sc.simulate(n, seed=0, interventions=ivs, engine="des", keep_traces=False)
    vec = sc.simulate(n, seed=0, interventions=ivs, engine="vector")
    assert vec.engine == "vector" and des.engine == "des"
    # fixed latencies are exact; drawn ones to 1e-12 relative (numpy's log1p and ppf on
    # arrays against the engine's scalar libm calls)
    fixed = all(isinstance(t.latency_dist, dist.Fixed) for t in sc.tools.values()) and not any(
        iv.kind == "set_params" for iv in ivs
    )
    rel = 0.0 if fixed else 1e-12
    for d, v in zip(des, vec, strict=True):
        assert d.seed == v.seed
        assert d.outcomes["success"] == v.outcomes["success"], (d.seed, ivs, _describe(sc))
        assert d.outcomes["cost"] == v.outcomes["cost"], (d.seed, ivs, _describe(sc))
        assert _same(d.outcomes["latency"], v.outcomes["latency"], rel), (
            d.seed,
            ivs,
            _describe(sc),
        )
        assert (d.result.ok, d.result.error, d.result.value) == (
            v.result.ok,
            v.result.error,
            v.result.value,
        ), (d.seed, ivs, _describe(sc))
        assert d.attributes == v.attributes, (d.seed, ivs, _describe(sc))


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(workflows(max_calls=7))
def test_delegation_is_rare_without_ties(flow: wf.Flow) -> None:
    """With continuous latencies and no deadline no event can tie, so nothing is delegated
    (costs are zero here: a cancelled sub-agent's partial cost is always left to the engine)."""
    tools = {
        t: dict(p_ok=0.7, p_recover=0.1, latency=dist.Exponential(mean=1.0), cost=0.0)
        for t in wf.tool_names(flow)
    }
    sc = wf.scenario(flow, tools)
    out = vector.evaluate(sc, [child_seed(1, i) for i in range(200)])
    assert not out.delegate.any()


def test_vector_refuses_what_it_cannot_run() -> None:
    sc = wf.scenario(wf.call("a"), {"a": {"capacity": 2}})
    try:
        sc.simulate(3, engine="vector")
    except asim.ScenarioError as exc:
        assert "capacity 2" in str(exc) and "engine='des'" in str(exc)
    else:
        raise AssertionError("capacity was accepted by the vectorised executor")
    assert sc.simulate(3).engine == "des"


def test_traces_are_rebuilt_on_demand() -> None:
    sc = wf.scenario(
        wf.par(wf.call("a"), wf.subagent("h", wf.retry(wf.call("b"), n=2)), mode="any"),
        {"a": {"p_ok": 0.5, "latency": dist.Exponential(mean=1.0)}, "b": {"p_ok": 0.5}},
    )
    vec = sc.simulate(20, seed=4)
    des = sc.simulate(20, seed=4, engine="des")
    assert vec.engine == "vector"
    for i in (0, 7, 19):
        assert vec[i].trace == des[i].trace
    assert np.array_equal(vec.values("latency"), des.values("latency"))


def _describe(sc: asim.Scenario) -> str:
    flows = {name: wf.to_json(wf.flow_of(a.fn)) for name, a in sc.agents.items()}  # type: ignore[arg-type]
    return f"{flows} {[t.describe() for t in sc.tools.values()]} deadline={sc.deadline}"
