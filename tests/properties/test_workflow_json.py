"""Workflows survive JSON: the same tree, and the same compiled scenario, after a round trip."""

from __future__ import annotations

import dataclasses
import json

from hypothesis import given, settings
from hypothesis import strategies as st

from agentsim import workflow as wf
from agentsim.strategies import WorkflowScenario, scenarios, workflows

SEEDS = st.integers(0, 2**32 - 1)


@settings(max_examples=200, deadline=None)
@given(workflows(max_calls=8))
def test_json_round_trip_gives_the_same_workflow(flow: wf.Flow) -> None:
    text = wf.to_json(flow)
    back = wf.from_json(text)
    assert back == flow
    assert wf.to_json(back) == text
    # Indented output is the same document, and reads back too.
    pretty = wf.to_json(flow, indent=2)
    assert json.loads(pretty) == json.loads(text)
    assert wf.from_json(pretty.encode()) == flow
    assert list(wf.nodes(back)) == list(wf.nodes(flow))
    assert wf.tool_names(back) == wf.tool_names(flow)
    assert wf.subagents(back) == wf.subagents(flow)


@settings(max_examples=60, deadline=None)
@given(scenarios(), SEEDS)
def test_round_tripped_workflow_compiles_to_the_same_scenario(
    case: WorkflowScenario, seed: int
) -> None:
    again = wf.scenario(wf.from_json(wf.to_json(case.flow)), case.tools)
    assert sorted(again.agents) == sorted(case.scenario.agents)
    assert sorted(again.tools) == sorted(case.scenario.tools)
    for name, tool in case.scenario.tools.items():
        assert dataclasses.astuple(again.tools[name]) == dataclasses.astuple(tool)
    before, after = case.scenario.run(seed=seed), again.run(seed=seed)
    # Same addresses, times, results and noise, span by span.
    assert after.trace.model_dump_json() == before.trace.model_dump_json()
    assert after.outcomes == before.outcomes
