"""The fault game on random workflows, against the analytic oracle.

The oracle (:mod:`agentsim.analytic`) knows nothing of the engine, of ``fix`` or of spans: it
replays the workflow on the bands of the noise field, with each fixed address's band moved
by :func:`~agentsim.analytic.fixed_band`. Shapley values must agree exactly, and every
casualty of bad input (a failed call whose own noise is in its success region) is a null
player, in the engine and in the oracle, whether or not the engine prunes it.
"""

from __future__ import annotations

import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st

import agentsim as asim
from agentsim import analytic as an
from agentsim import dist, noise
from agentsim import workflow as wf
from agentsim.strategies import WorkflowScenario, scenarios
from tests.properties.test_abduction_vs_oracle import (
    thresholds,
    tool_of,
    weights_of,
    workflow_scenario,
)

SEEDS = st.integers(0, 2**32 - 1)


def _first_failure(case: WorkflowScenario, seed: int) -> asim.Run | None:
    for s in range(seed, seed + 40):
        run = case.scenario.run(seed=s)
        if not run.outcomes["success"]:
            return run
    return None


@settings(max_examples=60, deadline=None)
@given(scenarios(max_calls=6), SEEDS)
@example(  # a chain: failures downstream of the first are casualties
    case=workflow_scenario(
        wf.seq(wf.call("a"), wf.call("b"), wf.retry(wf.call("c"), n=1)),
        a=dict(p_ok=0.3, latency=1.0),
        b=dict(p_ok=0.9, p_recover=0.1, latency=1.0),
        c=dict(p_ok=0.9, latency=1.0),
    ),
    seed=0,
)
def test_fault_game_matches_the_oracle_and_casualties_are_null(
    case: WorkflowScenario, seed: int
) -> None:
    run = _first_failure(case, seed)
    if run is None:
        return
    s = run.seed
    calls = [sp for sp in run.trace.spans if sp.kind in ("tool", "llm")]
    players = [sp.address for sp in calls]
    if not players:
        return
    worlds = list(an.enumerate_worlds(case.flow, case.tools))
    addresses = {a for w in worlds for a in w.oks}
    decisions = {a for w in worlds for a in w.choices}
    uniforms = {a: noise.uniform(s, a, "ok") for a in addresses}
    weights = weights_of(case)
    picks = {
        a: dist.Categorical(weights=weights[tool_of(a)]).choose(
            {o: noise.uniform(s, a, f"choice:{o}") for o in weights[tool_of(a)]}
        )
        for a in decisions
    }
    done = {sp.address: bool(sp.ok) for sp in calls if sp.status == "done"}
    oracle = an.shapley_fault(
        case.flow, case.tools, done, players, uniforms=uniforms, choices=picks
    )
    engine = asim.shapley(run, players=players, game="fault", method="exact")
    unpruned = asim.shapley(run, players=players, game="fault", method="exact", prune=False)
    assert engine.values == pytest.approx(oracle, abs=1e-12)
    assert unpruned.values == pytest.approx(oracle, abs=1e-12)
    for sp in calls:
        p_ok, _ = thresholds(case, sp.address)
        if not sp.ok and uniforms[sp.address] < p_ok:  # a casualty: no fault of its own
            assert oracle[sp.address] == 0.0
            assert unpruned.values[sp.address] == 0.0
