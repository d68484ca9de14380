"""A coding agent: write code, run the tests, and fix until they pass (at most four runs).

Layer: face (the top). It may import from every layer below it.

Causal question
---------------
*The tests never passed: was the first draft to blame, a fix that did not take, a flaky test
run, or the clock?* Each fix is a fresh chance to recover from a bad draft, so early errors
are recoverable and the failure of a run is usually jointly caused by every attempt that
failed; a flaky test run on correct code wastes an attempt and pushes the run towards its
deadline. Latency attribution (``game="baseline"``) asks which calls made a slow run slow,
and the ``attempts`` outcome (test runs used) asks what caused the retries.

Workflow
--------
``coding_agent`` (entry agent) asks the ``coder`` model for code, runs ``run_tests`` on it,
and while the tests fail (up to four test runs in all) asks the ``fixer`` model to patch the
current code and runs the tests again. Each call's data-flow input is the code it acts on,
so the noisy-AND mechanism reads naturally:

- ``run_tests`` passes with probability 0.97 when its code is correct (3% infrastructure
  flakes) and never when the code is wrong (``p_recover=0``);
- ``fixer`` keeps correct code correct with probability 0.97 (``p_ok``) and repairs broken
  code with probability 0.45 (``p_recover``: the fix rate of an LLM given a failing test
  report, passed to it as plain text rather than as a data-flow input).

The user outcome ``attempts`` counts the test runs in the trace.

Parameters (realistic assumptions, not measurements)
----------------------------------------------------
- ``coder``: correct first draft with probability 0.55; log-normal latency, 3 s median
  (``sigma`` 0.5); $0.02 per call.
- ``fixer``: log-normal latency, 2.5 s median (``sigma`` 0.5); $0.015 per call.
- ``run_tests``: log-normal latency with a 20 s median and a long tail (``sigma`` 0.6: slow
  CI machines), 60 s timeout.
- Deadline 120 s, so a run with four slow test runs can fail on time alone.

Examples
--------
>>> from agentsim.scenarios.coding_agent import scenario
>>> run = scenario.run(seed=0)
>>> run.outcomes["attempts"] == len([s for s in run.trace.spans if s.name == "run_tests"])
True
"""

from __future__ import annotations

from typing import Any

import agentsim as asim
from agentsim import dist

__all__ = ["scenario"]

MAX_TEST_RUNS = 4
"""Test runs the agent may use (the first plus three fix-and-retest rounds)."""

scenario = asim.Scenario(
    "coding-agent",
    deadline=120.0,
    description="Did the first draft, a failed fix, a flaky test run or the deadline cause "
    "the tests never to pass?",
)

coder = scenario.model("coder", p_ok=0.55, latency=dist.LogNormal(median=3.0, sigma=0.5), cost=0.02)
fixer = scenario.model(
    "fixer",
    p_ok=0.97,
    p_recover=0.45,
    latency=dist.LogNormal(median=2.5, sigma=0.5),
    cost=0.015,
)
run_tests = scenario.tool(
    "run_tests", p_ok=0.97, latency=dist.LogNormal(median=20.0, sigma=0.6), timeout=60.0
)


@scenario.agent
def coding_agent(ctx: Any, task: str = "fix issue #42") -> Any:
    """Entry agent: draft, test, and fix-and-retest until the tests pass."""
    code = yield ctx.call(coder, task)
    report = yield ctx.call(run_tests, code)
    for _ in range(MAX_TEST_RUNS - 1):
        if report.ok:
            break
        code = yield ctx.call(fixer, code, report.error)
        report = yield ctx.call(run_tests, code)
    return report


def count_test_runs(run: asim.Run) -> float:
    """Number of ``run_tests`` calls in the run's trace (finished or not)."""
    return float(sum(1 for span in run.trace.spans if span.name == run_tests.name))


scenario.outcome("attempts", count_test_runs)
