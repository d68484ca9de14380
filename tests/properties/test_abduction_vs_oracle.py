"""Abduction from a trace without noise, against the analytic oracle, on random workflows.

A trace that records results but not noise constrains each call's ok-noise to an interval.
:mod:`agentsim.worlds.abduced` reads that interval off the call's recorded inputs and result; the
oracle (:mod:`agentsim.analytic`) knows nothing of spans or inputs and decides, band by band,
whether a band of the noise is consistent with the whole observed ok pattern by replaying
the workflow. The two must agree, and counterfactuals by posterior sampling must agree with
the oracle's exact posterior probability, sample by sample and on average.
"""

from __future__ import annotations

import math
from functools import partial
from typing import Any

from hypothesis import example, given, settings
from hypothesis import strategies as st
from scipy.stats import binom

import agentsim as asim
from agentsim import analytic as an
from agentsim import dist, noise
from agentsim import workflow as wf
from agentsim.errors import UnanswerableError
from agentsim.strategies import WorkflowScenario, scenarios
from agentsim.trace import Trace
from agentsim.worlds.abduced import posterior_noise

SEEDS = st.integers(0, 2**32 - 1)
DRAWS = 60
SAMPLES = 200


def strip_noise(trace: Trace) -> Trace:
    """The trace as an exporter without noise would write it."""
    spans = [s.model_copy(update={"noise": {}}) for s in trace.spans]
    return trace.model_copy(update={"spans": spans})


def evidence(trace: Trace) -> tuple[dict[str, bool], dict[str, str]]:
    """Observed oks of completed calls, and options of completed decisions (a call or a
    decision cancelled by a par "any" observed nothing)."""
    done = [s for s in trace.spans if s.status == "done"]
    oks = {s.address: bool(s.ok) for s in done if s.kind in ("tool", "llm")}
    choices = {s.address: str(s.value) for s in done if s.kind == "choice"}
    return oks, choices


def cancelled_decision(trace: Trace) -> bool:
    """Whether a decision was cancelled mid-way (see the xfail test at the end)."""
    return any(s.kind == "choice" and s.status != "done" for s in trace.spans)


def tool_of(address: str) -> str:
    return address.rsplit("/", 1)[-1].split("#", 1)[0]


def widths(tools: dict[str, dict[str, Any]], address: str) -> tuple[float, float, float]:
    """Prior probability of each band of the call's ok-noise."""
    p = tools[tool_of(address)]
    p_ok, p_rec = float(p.get("p_ok", 1.0)), float(p.get("p_recover", 0.0))
    return p_rec, p_ok - p_rec, 1.0 - p_ok


def consistent_bands(
    case: WorkflowScenario, oks: dict[str, bool], choices: dict[str, str]
) -> dict[str, set[int]]:
    """Address -> the bands of its ok-noise the oracle finds consistent with the evidence."""
    out: dict[str, set[int]] = {}
    for address in oks:
        out[address] = set()
        for b, width in enumerate(widths(case.tools, address)):
            if width <= 0:
                continue
            try:
                an.counterfactual_success(
                    case.flow, case.tools, oks, {}, bands={address: b}, choices=choices
                )
            except UnanswerableError as exc:
                assert "impossible" in str(exc), exc
                continue
            out[address].add(b)
    return out


def weights_of(case: WorkflowScenario) -> dict[str, dict[str, float]]:
    """Decision model -> option weights (each generated decision has a model of its own)."""
    return {n.model: n.weights() for n in wf.nodes(case.flow) if isinstance(n, wf.Choose)}


def thresholds(case: WorkflowScenario, address: str) -> tuple[float, float]:
    """``(p_ok, p_recover)`` of the call's tool, as :func:`agentsim.analytic.band` takes them."""
    p_rec, p_mid, _ = widths(case.tools, address)
    return p_rec + p_mid, p_rec


def workflow_scenario(flow: wf.Flow, **tools: dict[str, Any]) -> WorkflowScenario:
    """A :class:`WorkflowScenario` written by hand, for ``@example``."""
    params = {name: {"p_recover": 0.0, "cost": 0.0, **p} for name, p in tools.items()}
    return WorkflowScenario(flow, params, wf.scenario(flow, params))


def plausible(count: int, n: int, p: float) -> bool:
    """Whether ``count`` successes in ``n`` draws are plausible for probability ``p``: both
    binomial tails above 1e-6 (about five standard errors; the check must not be flaky
    under the nightly profile's thousand examples)."""
    return bool(binom.cdf(count, n, p) > 1e-6 and binom.sf(count - 1, n, p) > 1e-6)


@settings(max_examples=200, deadline=None)
@given(scenarios(max_calls=8), SEEDS)
def test_posterior_confines_ok_noise_to_the_oracles_bands(
    case: WorkflowScenario, seed: int
) -> None:
    run = case.scenario.run(seed=seed)
    trace = strip_noise(run.trace)
    oks, choices = evidence(trace)
    allowed = consistent_bands(case, oks, choices)
    counts = {a: [0, 0, 0] for a in oks}
    for draw in range(1, DRAWS + 1):
        post = posterior_noise(trace, case.scenario, seed=0, draw=draw)
        sampled = {a for a, slots in post.items() if "ok" in slots}
        assert sampled == set(oks)  # every completed call, and only those
        for address, option in choices.items():
            # The Gumbel-max posterior picks the observed option again.
            options = weights_of(case)[tool_of(address)]
            u = {o: post[address][f"choice:{o}"] for o in options}
            assert dist.Categorical(weights=options).choose(u) == option
        for address, slots in post.items():
            if address in oks:
                b = an.band(slots["ok"], *thresholds(case, address))
                assert b in allowed[address], (address, b, allowed[address])
                counts[address][b] += 1
    for address, bands in allowed.items():
        # The field's own noise is one of the consistent explanations...
        true = an.band(noise.uniform(seed, address, "ok"), *thresholds(case, address))
        assert true in bands
        # ...and the posterior spreads over the consistent bands in proportion to the prior.
        prior = widths(case.tools, address)
        total = sum(prior[b] for b in bands)
        for b in bands:
            assert plausible(counts[address][b], DRAWS, prior[b] / total), (address, b, counts)


def fed_noise(
    post: dict[str, dict[str, float]], seed: int, draw: int, address: str, slot: str
) -> float:
    """The uniform the engine feeds posterior sample ``draw`` at ``(address, slot)``: the
    posterior's where it has one, else draw ``draw`` of the run's noise field."""
    return post.get(address, {}).get(slot, noise.uniform(seed, address, slot, draw))


def reachable(case: WorkflowScenario, target: str) -> tuple[set[str], set[str]]:
    """Call and decision addresses the factual or the repaired world may reach."""
    calls: set[str] = set()
    decisions: set[str] = set()
    for ivs in ({}, {target: True}):
        for world in an.enumerate_worlds(case.flow, case.tools, ivs):
            calls |= set(world.oks)
            decisions |= set(world.choices)
    return calls, decisions


@settings(max_examples=100, deadline=None)
@given(scenarios(max_calls=8), SEEDS, st.integers(0, 15))
@example(  # a decision cancelled in the counterfactual world records no option
    case=workflow_scenario(
        wf.par(
            wf.call("a"),
            wf.subagent("s0", wf.choose("pick1", {"x0": (1.0, wf.call("a"))})),
            mode="any",
        ),
        a=dict(p_ok=0.3, latency=1.0),
        pick1=dict(p_ok=0.3, latency=dist.Exponential(mean=1.0)),
    ),
    seed=0,
    pick=0,
)
def test_abduced_repair_agrees_with_the_oracle(
    case: WorkflowScenario, seed: int, pick: int
) -> None:
    run = case.scenario.run(seed=seed)
    trace = strip_noise(run.trace)
    oks, choices = evidence(trace)
    calls = [s.address for s in trace.spans if s.kind in ("tool", "llm")]
    target = calls[pick % len(calls)]
    cf = asim.counterfactual(
        trace, asim.repair(target), scenario=case.scenario, samples=SAMPLES, seed=0
    )
    est = cf.outcomes["success"]
    assert len(cf.samples) == SAMPLES

    # Sample by sample: the oracle, told the bands of the sampled noise (the posterior where
    # the trace has a result, fresh draw k of the field elsewhere), decides the outcome.
    addresses, decisions = reachable(case, target)
    weights = weights_of(case)
    per_sample = []
    for k, sample in enumerate(cf.samples, start=1):
        u = partial(fed_noise, posterior_noise(trace, case.scenario, seed=0, draw=k), seed, k)
        picks = {
            a: dist.Categorical(weights=w).choose({o: u(a, f"choice:{o}") for o in w})
            for a in decisions
            for w in [weights[tool_of(a)]]
        }
        assert {a: picks[a] for a in choices} == choices  # the posterior keeps each option
        bands = an.noise_bands({a: u(a, "ok") for a in addresses}, case.tools)
        value = an.counterfactual_success(
            case.flow, case.tools, oks, {target: True}, bands=bands, choices=picks
        )
        assert value == sample.outcomes["success"], (k, target)
        for span in sample.trace.spans:
            if span.kind == "choice" and span.status == "done":
                assert span.value == picks[span.address]
        per_sample.append(value)
    assert math.isclose(est.value, sum(per_sample) / SAMPLES, abs_tol=1e-12)

    # On average: the oracle's exact posterior probability, with the noise left unknown.
    exact = an.counterfactual_success(case.flow, case.tools, oks, {target: True}, choices=choices)
    if exact in (0.0, 1.0):
        assert est.low == est.high == exact
    else:
        assert plausible(round(est.value * SAMPLES), SAMPLES, exact), (est, exact)


def test_a_cancelled_decision_gets_fresh_noise() -> None:
    case = workflow_scenario(
        wf.par(
            wf.call("a"),
            wf.subagent("s0", wf.choose("pick1", {"x0": (1.0, wf.call("a"))})),
            mode="any",
        ),
        a=dict(p_ok=0.3, latency=1.0),
        pick1=dict(p_ok=0.3, latency=dist.Exponential(mean=1.0)),
    )
    trace = strip_noise(case.scenario.run(seed=2).trace)
    assert cancelled_decision(trace)  # a#0 succeeded at t=1, before the decision ended
    post = posterior_noise(trace, case.scenario, seed=0, draw=1)
    assert "ok" not in post.get("main#0/s0#0/pick1#0", {})
    cf = asim.counterfactual(trace, asim.break_("main#0/a#0"), scenario=case.scenario, samples=50)
    exact = an.counterfactual_success(
        case.flow, case.tools, evidence(trace)[0], {"main#0/a#0": False}
    )
    assert plausible(round(cf.outcomes["success"].value * 50), 50, exact)
