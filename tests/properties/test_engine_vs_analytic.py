"""The engine against the analytic oracle, on random workflows.

:func:`workflows` is written as a reusable strategy (keyword-only arguments, small defaults)
so it can move into ``agentsim.strategies``.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Sequence
from typing import Any

from hypothesis import assume, given, settings
from hypothesis import strategies as st

import agentsim as asim
from agentsim import analytic as an
from agentsim import dist
from agentsim import workflow as wf
from agentsim.errors import UnanswerableError


@st.composite
def workflows(
    draw: Any,
    *,
    max_calls: int = 6,
    tools: Sequence[str] = ("a", "b", "c"),
    max_depth: int = 3,
    max_retries: int = 2,
    subagents: bool = True,
    choices: bool = True,
) -> wf.Flow:
    """A random workflow making at most ``max_calls`` calls (retries counted).

    Sub-agents are named ``s0, s1, ...`` and each decision has its own model ``pick0,
    pick1, ...`` (so tools for a drawn flow are ``wf.tool_names(flow)``).
    """
    budget = [draw(st.integers(1, max_calls))]
    names = itertools.count()
    kinds = ["call", "seq", "par", "retry", "fallback"]
    kinds += ["subagent"] * subagents + ["choose"] * choices

    def call(mult: int) -> wf.Flow:
        budget[0] -= mult
        return wf.call(draw(st.sampled_from(list(tools))))

    def branch(depth: int, mult: int, parent: str) -> wf.Flow:
        options = ["call"]
        if budget[0] >= 2 * mult and depth < max_depth:
            options += ["subagent"] * subagents + ["par"]
        kind = draw(st.sampled_from(options))
        if kind == "call":
            return call(mult)
        if kind == "subagent":
            return wf.subagent(f"s{next(names)}", node(depth + 1, mult))
        modes = ["any", "all"] if parent == "all" else ["any"]
        mode = draw(st.sampled_from(modes))
        k = draw(st.integers(1, 3))
        return wf.par(*(branch(depth + 1, mult, mode) for _ in range(k)), mode=mode)

    def node(depth: int, mult: int) -> wf.Flow:
        if budget[0] < 2 * mult or depth >= max_depth:
            return call(mult)
        kind = draw(st.sampled_from(kinds))
        if kind == "call":
            return call(mult)
        if kind == "seq":
            return wf.seq(*(node(depth + 1, mult) for _ in range(draw(st.integers(1, 3)))))
        if kind == "par":
            mode = draw(st.sampled_from(["all", "any"]))
            k = draw(st.integers(1, 3))
            return wf.par(*(branch(depth + 1, mult, mode) for _ in range(k)), mode=mode)
        if kind == "retry":
            top = min(max_retries, budget[0] // mult - 1)
            n = draw(st.integers(1, max(1, top)))
            return wf.retry(node(depth + 1, mult * (n + 1)), n=n)
        if kind == "fallback":
            return wf.fallback(node(depth + 1, mult), node(depth + 1, mult))
        if kind == "subagent":
            return wf.subagent(f"s{next(names)}", node(depth + 1, mult))
        k = draw(st.integers(1, 3))
        weights = [draw(st.sampled_from([1.0, 2.0, 3.0])) for _ in range(k)]
        return wf.choose(
            f"pick{next(names)}",
            {f"x{i}": (w, node(depth + 1, mult)) for i, w in enumerate(weights)},
        )

    return node(0, 1)


@st.composite
def tool_params(draw: Any, names: Sequence[str]) -> dict[str, dict[str, Any]]:
    """Noisy-AND parameters, fixed or exponential latencies and constant costs."""
    out = {}
    for name in sorted(names):
        p_ok = draw(st.sampled_from([0.3, 0.6, 0.9, 1.0]))
        p_recover = min(p_ok, draw(st.sampled_from([0.0, 0.0, 0.2])))
        latency = draw(st.sampled_from([1.0, 0.5, dist.Exponential(mean=1.0)]))
        cost = draw(st.sampled_from([0.0, 1.0]))
        out[name] = dict(p_ok=p_ok, p_recover=p_recover, latency=latency, cost=cost)
    return out


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
