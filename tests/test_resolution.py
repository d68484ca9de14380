"""Which tool or sub-agent a call reaches: registered ones by name in the scenario that runs,
everything else as written."""

from __future__ import annotations

import pytest

import agentsim as asim
from agentsim.errors import ScenarioWarning


def _broken_search() -> tuple[asim.Scenario, asim.Tool]:
    sc = asim.Scenario("res")
    return sc, sc.tool("search", p_ok=0.0, latency=1.0)


def test_a_with_params_variant_is_called_as_written() -> None:
    sc, search = _broken_search()

    @sc.agent
    def main(ctx):  # type: ignore[no-untyped-def]
        return (yield ctx.call(search.with_params(p_ok=1.0, latency=2.0)))

    run = sc.run(seed=0)
    assert run.outcomes["success"] == 1.0 and run.outcomes["latency"] == 2.0


def test_an_unregistered_tool_of_the_same_name_is_called_as_written() -> None:
    sc, _ = _broken_search()
    adhoc = asim.Tool("search", p_ok=1.0, latency=3.0)

    @sc.agent
    def main(ctx):  # type: ignore[no-untyped-def]
        return (yield ctx.call(adhoc))

    run = sc.run(seed=0)
    assert run.outcomes["success"] == 1.0 and run.outcomes["latency"] == 3.0


def test_a_tool_registered_in_another_scenario_resolves_by_name() -> None:
    sc, _ = _broken_search()
    other = asim.Scenario("other")
    their_search = other.tool("search", p_ok=1.0, latency=3.0)

    @sc.agent
    def main(ctx):  # type: ignore[no-untyped-def]
        return (yield ctx.call(their_search))

    run = sc.run(seed=0)
    assert run.outcomes["success"] == 0.0 and run.outcomes["latency"] == 1.0


def _version(tries: int) -> tuple[asim.Scenario, object]:
    """A scenario whose agents are registered without the decorator, so its code spawns the
    plain function; its sub-agent tries a failing tool ``tries`` times."""
    sc = asim.Scenario("v")
    t = sc.tool("t", p_ok=0.0, latency=1.0)

    def main(ctx):  # type: ignore[no-untyped-def]
        return (yield ctx.spawn(sub))

    def sub(ctx):  # type: ignore[no-untyped-def]
        for _ in range(tries):
            result = yield ctx.call(t)
        return result

    sc.agent(main)
    sc.agent(sub)
    return sc, main


def test_a_registered_plain_function_resolves_by_name() -> None:
    old, _ = _version(1)
    _, new_main = _version(2)
    # the new main spawns the new sub's function; run in the old scenario, the old sub runs
    cf = asim.counterfactual(old.run(seed=0), asim.replace("main", new_main))
    assert [s.address for s in cf.trace.calls()] == ["main#0/sub#0/t#0"]


def test_an_unregistered_sub_agent_function_runs_as_written() -> None:
    sc, _ = _version(1)

    def helper(ctx):  # type: ignore[no-untyped-def]
        yield ctx.wait(1.0)
        return "done"

    def main(ctx):  # type: ignore[no-untyped-def]
        return (yield ctx.spawn(helper))

    cf = asim.counterfactual(sc.run(seed=0), asim.replace("main", main))
    assert cf.outcomes["success"] == 1.0 and cf.trace.span("main#0/helper#0").ok


def test_attribute_change_credits_the_sub_agent_not_the_code_that_spawns_it() -> None:
    before = asim.Scenario("v")
    t0 = before.tool("t", p_ok=0.2, latency=1.0)

    def main0(ctx):  # type: ignore[no-untyped-def]
        return (yield ctx.spawn(sub0))

    def sub0(ctx):  # type: ignore[no-untyped-def]
        return (yield ctx.call(t0))

    before.agent(main0, name="main")
    before.agent(sub0, name="sub")
    after = asim.Scenario("v")
    t = after.tool("t", p_ok=0.2, latency=1.0)

    def main(ctx):  # type: ignore[no-untyped-def]
        yield ctx.wait(0.5)  # a code change with no effect on success
        return (yield ctx.spawn(sub_with_retry))

    def sub_with_retry(ctx):  # type: ignore[no-untyped-def]
        first = yield ctx.call(t)
        if first.ok:
            return first
        return (yield ctx.call(t))  # a retry: success 0.2 -> 0.36

    after.agent(main)
    after.agent(sub_with_retry, name="sub")
    a = asim.attribute_change(before, after, n=4000, seed=1)
    assert set(a.values) == {"agent main", "agent sub"}
    assert a.values["agent main"] == 0.0  # paired runs: exactly no effect on any seed
    assert abs(a.values["agent sub"] - 0.16) < 0.03


def test_an_ad_hoc_tool_cannot_bring_its_own_capacity_to_a_shared_pool() -> None:
    sc = asim.Scenario("pool")
    search = sc.tool("search", latency=1.0, capacity=1)
    wide = asim.Tool("search", latency=1.0, capacity=4)

    @sc.agent
    def main(ctx):  # type: ignore[no-untyped-def]
        yield ctx.call(search)
        return (yield ctx.call(wide))

    # the agent fails by name (a crash: a bug in the scenario); the run and its trace stay
    # well formed
    with pytest.warns(ScenarioWarning, match=r"crashed: ScenarioError.*\(test_resolution.py:\d+\)"):
        run = sc.run(seed=0)
    assert run.outcomes["success"] == 0.0
    assert "asks for capacity 4" in str(run.result.error)
    assert [s.address for s in run.trace.calls()] == ["main#0/search#0"]
