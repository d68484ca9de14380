"""The engine against the analytic oracle, on random workflows (``agentsim.strategies``)."""

from __future__ import annotations

import math
from typing import Any

from hypothesis import assume, given, settings
from hypothesis import strategies as st

import agentsim as asim
from agentsim import analytic as an
from agentsim import dist
from agentsim import workflow as wf
from agentsim.errors import UnanswerableError
from agentsim.strategies import tool_params, workflows


@st.composite
def workflows_with_tools(draw: Any) -> tuple[wf.Flow, dict[str, dict[str, Any]]]:
    flow = draw(workflows())
    return flow, draw(tool_params(sorted(wf.tool_names(flow))))


def within(value: float, p: float, n: int) -> bool:
    return abs(value - p) <= 4 * math.sqrt(p * (1 - p) / n) + 1e-9


@settings(max_examples=30, deadline=None)
@given(workflows_with_tools())
def test_simulated_success_rate_matches_success_probability(case: Any) -> None:
    flow, tools = case
    n = 2000
    batch = wf.scenario(flow, tools).simulate(n, seed=0, keep_traces=False)
    assert within(batch.rate("success").value, an.success_probability(flow, tools), n)


@settings(max_examples=40, deadline=None)
@given(workflows_with_tools())
def test_enumerated_worlds_agree_with_the_channel_formula(case: Any) -> None:
    flow, tools = case
    worlds = list(an.enumerate_worlds(flow, tools))
    assert math.isclose(sum(w.probability for w in worlds), 1.0, abs_tol=1e-9)
    p = sum(w.probability for w in worlds if w.success)
    assert math.isclose(p, an.success_probability(flow, tools), abs_tol=1e-9)


@settings(max_examples=25, deadline=None)
@given(workflows_with_tools())
def test_simulated_mean_cost_matches_expected_cost(case: Any) -> None:
    flow, tools = case
    try:
        expected = an.expected_cost(flow, tools)
    except UnanswerableError:
        assume(False)
        return
    est = wf.scenario(flow, tools).simulate(1000, seed=0, keep_traces=False).mean("cost")
    assert abs(est.value - expected) <= (est.high - est.low) + 1e-9  # about 4 standard errors


def choose_nodes(flow: wf.Flow) -> dict[str, wf.Choose]:
    return {n.model: n for n in wf.nodes(flow) if isinstance(n, wf.Choose)}


@settings(max_examples=40, deadline=None)
@given(workflows_with_tools(), st.integers(0, 2**32), st.data())
def test_counterfactual_success_equals_engine_counterfactual(
    case: Any, seed: int, data: st.DataObject
) -> None:
    flow, tools = case
    sc = wf.scenario(flow, tools)
    run = sc.run(seed=seed)
    spans = [s for s in run.trace.spans if s.kind in ("tool", "llm")]
    target = data.draw(st.sampled_from([s.address for s in spans]))
    repaired = {target: True}
    cf = sc.run(seed=seed, interventions=[asim.repair(target)])

    # The oracle's view of the noise: the band of every call address either world may reach
    # and the option of every decision, read from the same noise field as the engine.
    addresses: set[str] = set()
    decisions: set[str] = set()
    for ivs in ({}, repaired):
        for w in an.enumerate_worlds(flow, tools, ivs):
            addresses |= set(w.oks)
            decisions |= set(w.choices)
    bands = an.noise_bands({a: asim.noise.uniform(seed, a, "ok") for a in addresses}, tools)
    nodes = choose_nodes(flow)
    choices = {}
    for address in decisions:
        weights = nodes[address.rsplit("/", 1)[-1].split("#")[0]].weights()
        noise = {o: asim.noise.uniform(seed, address, f"choice:{o}") for o in weights}
        choices[address] = dist.Categorical(weights=weights).choose(noise)
    factual_oks = {s.address: s.ok for s in spans if s.kind == "tool" and s.status == "done"}

    kw: dict[str, Any] = {"bands": bands, "choices": choices}
    assert an.counterfactual_success(flow, tools, factual_oks, {}, **kw) == run.outcomes["success"]
    got = an.counterfactual_success(flow, tools, factual_oks, repaired, **kw)
    assert got == cf.outcomes["success"]
