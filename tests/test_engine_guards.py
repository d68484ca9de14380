"""Guards against runaway scenarios: spawn depth, re-yielded requests, time standing still,
bad choice weights."""

from __future__ import annotations

import pytest

import agentsim as asim


def test_an_agent_that_keeps_spawning_itself_fails_at_the_depth_limit() -> None:
    sc = asim.Scenario("spawny", max_depth=20)

    @sc.agent
    def rec(ctx):  # type: ignore[no-untyped-def]
        return (yield ctx.spawn(rec))

    with pytest.warns(asim.ScenarioWarning, match="crashed"):  # a scenario bug: a crash
        run = sc.run(seed=0)
    assert run.outcomes["success"] == 0.0
    assert run.crash is not None and run.crash.type == "ScenarioError"
    deepest = max(s.address.count("/") for s in run.trace.spans)
    assert deepest == 20  # 20 nested sub-agents ran, the 21st was refused
    assert "max_depth=20" in (run.result.error or "")


def test_the_default_depth_limit_stops_before_pythons_stack_does() -> None:
    sc = asim.Scenario("spawny")

    @sc.agent
    def rec(ctx):  # type: ignore[no-untyped-def]
        return (yield ctx.spawn(rec))

    with pytest.warns(asim.ScenarioWarning, match="crashed"):
        error = sc.run(seed=0).result.error or ""
    assert "max_depth=64" in error and "RecursionError" not in error


def test_re_yielding_a_request_is_a_clear_error_not_a_corrupt_trace() -> None:
    sc = asim.Scenario("reyield")
    t = sc.tool("t", p_ok=1.0, latency=1.0)

    @sc.agent
    def main(ctx):  # type: ignore[no-untyped-def]
        call = ctx.call(t)
        yield call
        return (yield call)

    with pytest.warns(asim.ScenarioWarning, match="crashed"):
        run = sc.run(seed=0)
    assert [s.address for s in run.trace.spans] == ["main#0", "main#0/t#0"]
    assert run.outcomes["success"] == 0.0
    assert "yielded the request for 'main#0/t#0' a second time" in (run.result.error or "")


def test_a_zero_latency_loop_stops_even_with_a_huge_step_budget() -> None:
    sc = asim.Scenario("spin", max_steps=10**9)
    t = sc.tool("t", p_ok=1.0, latency=0.0)

    @sc.agent
    def main(ctx):  # type: ignore[no-untyped-def]
        while True:
            yield ctx.call(t)

    run = sc.simulate(1, seed=0, keep_traces=False)[0]
    assert run.outcomes["success"] == 0.0
    assert "without simulated time advancing" in str(run.attributes)


def test_a_loop_that_advances_time_is_not_stopped_by_the_zero_time_guard() -> None:
    sc = asim.Scenario("slow-loop", max_steps=250_000)
    t = sc.tool("t", p_ok=1.0, latency=0.001)

    @sc.agent
    def main(ctx):  # type: ignore[no-untyped-def]
        for _ in range(200_000):
            yield ctx.call(t)
        return True

    run = sc.simulate(1, seed=0, keep_traces=False)[0]
    assert run.outcomes["success"] == 1.0


def test_a_negative_choice_weight_fails_the_agent_with_a_scenario_error() -> None:
    sc = asim.Scenario("neg")
    m = sc.model("m", p_ok=1.0)

    @sc.agent
    def main(ctx):  # type: ignore[no-untyped-def]
        return (yield ctx.choose(m, {"a": -1, "b": 2}))

    with pytest.warns(asim.ScenarioWarning, match="3 of 3 runs crashed"):
        batch = sc.simulate(3, seed=0)
    for run in batch:
        assert (run.result.error or "").startswith("ScenarioError: Categorical weights")
        assert "-1" in (run.result.error or "")
