"""Calibration recovers random workflows (hypothesis) from their stripped OTLP exports.

Each example draws a workflow of two to four steps over distinct tools (a call, a retried
call, a fallback, a parallel pair, a sub-agent of two calls), simulates a corpus, exports it
as OTLP without any ``agentsim.*`` attribute, reads it back and calibrates. The twin must
have the generating structure exactly (retry limits, fallbacks, parallel groups,
sub-agents), and its parameters, its success probability and an interventional effect must
agree with the truth within what the parameters' posterior intervals allow. Success
probabilities and effects come from the analytic oracle on both sides (a twin is a
workflow), so no simulation noise enters the comparison; the bound propagates each tool's
p_ok interval through the oracle.
"""

from __future__ import annotations

import math
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import agentsim as asim
from agentsim import analytic as an
from agentsim import dist
from agentsim import workflow as wf
from agentsim.calibrate import Calibration, calibrate, strip_otlp
from agentsim.ingest import parse_traces

RUNS = 1200
TOOL_NAMES = ("t0", "t1", "t2", "t3", "t4", "t5", "t6", "t7")


@st.composite
def step_flows(draw: Any, names: list[str]) -> wf.Flow:
    kind = draw(st.sampled_from(["call", "retry", "fallback", "par", "subagent"]))
    if kind == "call":
        return wf.call(names.pop())
    if kind == "subagent":
        first = names.pop()
        return wf.subagent(f"helper_{first}", wf.seq(wf.call(first), wf.call(names.pop())))
    if kind == "retry":
        return wf.retry(wf.call(names.pop()), n=draw(st.integers(1, 2)))
    if kind == "fallback":
        return wf.fallback(wf.call(names.pop()), wf.call(names.pop()))
    return wf.par(wf.call(names.pop()), wf.call(names.pop()))


@st.composite
def cases(draw: Any) -> tuple[wf.Flow, dict[str, dict[str, Any]]]:
    names = list(reversed(TOOL_NAMES))
    steps = [draw(step_flows(names)) for _ in range(draw(st.integers(2, 4)))]
    flow = wf.seq(*steps)
    tools: dict[str, dict[str, Any]] = {}
    for name in sorted(wf.tool_names(flow)):
        median = draw(st.sampled_from([0.2, 0.5, 1.0, 2.0]))
        latency = draw(
            st.sampled_from(
                [dist.LogNormal(median=median, sigma=0.5), dist.Exponential(mean=median)]
            )
        )
        p_ok = draw(st.sampled_from([0.6, 0.75, 0.9]))
        tools[name] = {"p_ok": p_ok, "latency": latency}
    return flow, tools


def stripped_corpus(sc: asim.Scenario, n: int, seed: int) -> list[asim.Trace]:
    out: list[asim.Trace] = []
    for run in sc.simulate(n=n, seed=seed):
        out.extend(parse_traces(strip_otlp(asim.to_otlp(run.trace))))
    return out


def analytic_tools(cal: Calibration) -> dict[str, dict[str, Any]]:
    return {
        name: {k: v for k, v in kw.items() if k in ("p_ok", "p_recover")}
        for name, kw in cal.tools().items()
    }


def allowance(cal: Calibration, flow: wf.Flow, value: Any) -> float:
    """Four standard errors of ``value(tools)``, propagated from each tool's p_ok interval
    (a half-width is two standard errors) by finite differences."""
    tools = analytic_tools(cal)
    base = value(tools)
    var = 0.0
    for name, params in cal.params.items():
        h = 1e-4
        bumped = {k: dict(v) for k, v in tools.items()}
        bumped[name]["p_ok"] = min(1.0, tools[name]["p_ok"] + h)
        bumped[name]["p_recover"] = min(bumped[name].get("p_recover", 0.0), bumped[name]["p_ok"])
        slope = (value(bumped) - base) / h
        sd = (params.p_ok.high - params.p_ok.low) / 4
        var += (slope * sd) ** 2
    return 4 * math.sqrt(var) + 1e-9


@pytest.mark.slow
@settings(max_examples=4, deadline=None)
@given(cases(), st.integers(0, 2**16))
def test_calibration_recovers_random_workflows(case: Any, seed: int) -> None:
    flow, tools = case
    cal = calibrate(stripped_corpus(wf.scenario(flow, tools), RUNS, seed), confidence=0.999)
    # Structure: the same flow, retry limits, fallbacks and parallel groups included.
    assert wf.to_json(cal.flow) == wf.to_json(flow)
    # Parameters: every true p_ok inside its 99.9% posterior interval.
    for name, params in tools.items():
        assert cal.params[name].p_ok.contains(params["p_ok"]), (name, cal.params[name].p_ok)
    # Success probability and the effect of making the first tool reliable.
    truth = {k: {"p_ok": v["p_ok"]} for k, v in tools.items()}
    twin = analytic_tools(cal)
    p_true = an.success_probability(flow, truth)
    p_twin = an.success_probability(cal.flow, twin)
    assert abs(p_twin - p_true) <= allowance(
        cal, cal.flow, lambda t: an.success_probability(cal.flow, t)
    )
    first = sorted(tools)[0]

    def effect(t: dict[str, dict[str, Any]]) -> float:
        better = {k: dict(v) for k, v in t.items()}
        better[first]["p_ok"] = 0.99
        return an.success_probability(cal.flow, better) - an.success_probability(cal.flow, t)

    true_effect = effect({k: {"p_ok": v["p_ok"], "p_recover": 0.0} for k, v in tools.items()})
    assert abs(effect(twin) - true_effect) <= allowance(cal, cal.flow, effect)


def test_p_ok_intervals_cover_at_their_stated_level() -> None:
    """95% intervals of p_ok over 40 independent corpora of a retried call feeding a fallback
    pair: at least 106 of the 40 x 3 = 120 intervals contain the truth (114 expected; fewer
    than 106 has probability 0.1% under Binomial(120, 0.95))."""
    flow = wf.seq(wf.retry(wf.call("s"), n=1), wf.fallback(wf.call("f"), wf.call("c")))
    tools = {
        "s": {"p_ok": 0.7, "latency": 1.0},
        "f": {"p_ok": 0.8, "latency": 1.0},
        "c": {"p_ok": 0.6, "latency": 1.0},
    }
    sc = wf.scenario(flow, tools)
    covered = 0
    for seed in range(40):
        cal = calibrate([r.trace for r in sc.simulate(n=150, seed=1000 + seed)])
        covered += sum(cal.params[k].p_ok.contains(v["p_ok"]) for k, v in tools.items())
    assert covered >= 106
