"""Attribution on simulated runs: games, but-for, decisive error, heuristics, PN/PS, change."""

from __future__ import annotations

import math

import pytest

import agentsim as asim
from agentsim.attribution.change import attribute_change
from agentsim.attribution.probability import (
    pns,
    probability_of_necessity,
    probability_of_sufficiency,
    tian_pearl_bounds,
)
from tests.helpers import chain


def _and_scenario(p_bad: float = 0.3) -> asim.Scenario:
    """Bad only if both steps go wrong (causal-agent-replay's AND interaction)."""
    sc = asim.Scenario("and")
    a, b = sc.tool("a", p_ok=1 - p_bad), sc.tool("b", p_ok=1 - p_bad)

    @sc.agent
    def main(ctx):  # type: ignore[no-untyped-def]
        x, y = yield ctx.parallel(ctx.call(a), ctx.call(b))
        return x.ok or y.ok

    return sc


def _both_bad(sc: asim.Scenario) -> asim.Run:
    return next(r for r in (sc.run(seed=s) for s in range(500)) if len(r.trace.failed()) == 3)


def test_and_interaction_resample_game_matches_causal_agent_replay() -> None:
    run = _both_bad(_and_scenario())
    k = 4000
    a = asim.shapley(run, game="resample", outcome="failure", samples=k)
    # v(N) = 1 (the factual run is bad), v(∅) = P(both bad) = 0.09: 0.455 each, sum 0.91
    assert a.v_full == 1.0
    se = math.sqrt(0.09 * 0.91 / k)
    assert abs(a.v_empty - 0.09) < 4 * se
    for value in a.values.values():
        assert abs(value - 0.455) < 4 * se
    assert abs(a.efficiency_gap or 0.0) < 1e-12
    assert abs(sum(a.values.values()) - 0.91) < 4 * se


def test_repair_game_on_the_and_failure_splits_evenly_and_neither_is_but_for() -> None:
    run = _both_bad(_and_scenario())
    sh = asim.shapley(run)
    assert sh.values == {"main#0/a#0": 0.5, "main#0/b#0": 0.5} and sh.exact
    bf = asim.but_for(run)
    assert bf.values == {"main#0/a#0": 1.0, "main#0/b#0": 1.0}  # either repair suffices
    assert asim.decisive_error(run).address == "main#0/a#0"  # the earliest that suffices


def test_pivotal_step_gets_everything() -> None:
    sc = asim.Scenario("pivot")
    t0, t1, t2 = (sc.tool(f"t{i}", p_ok=0.3) for i in range(3))

    @sc.agent
    def main(ctx):  # type: ignore[no-untyped-def]
        pivot = yield ctx.call(t0)
        yield ctx.call(t1)
        yield ctx.call(t2)
        return pivot

    run = next(r for r in (sc.run(seed=s) for s in range(500)) if len(r.trace.failed()) == 4)
    a = asim.shapley(run)
    assert a.values == {"main#0/t0#0": 1.0, "main#0/t1#0": 0.0, "main#0/t2#0": 0.0}
    assert asim.first_error(run).address == "main#0/t0#0"
    assert asim.last_error(run).address == "main#0/t2#0"
    assert [loc.step for loc in asim.all_errors(run)] == [0, 1, 2]


def test_in_a_chain_every_failed_step_suffices_under_repair() -> None:
    # each step's success needs only its input, so repairing any one failed step fixes the
    # rest downstream when their noise allows: the three are symmetric in the repair game
    sc = chain([0.5, 0.9, 0.9])
    run = next(
        r
        for r in (sc.run(seed=s) for s in range(500))
        if [s.ok for s in r.trace.calls()] == [False, False, False]
        and all(s.noise["ok"] < 0.9 for s in r.trace.calls()[1:])
    )
    a = asim.shapley(run, game="repair")
    assert all(v == pytest.approx(1 / 3) for v in a.values.values())
    assert asim.decisive_error(run, game="repair").step == 0
    # the fault game (the default) blames the one call that failed on its own
    f = asim.shapley(run)
    assert f.game == "fault" and list(f.values.values()) == [1.0, 0.0, 0.0]


def test_agent_and_tool_players() -> None:
    sc = asim.Scenario("agents")
    a = sc.tool("a", p_ok=0.0)
    b = sc.tool("b", p_ok=1.0)

    @sc.agent
    def main(ctx):  # type: ignore[no-untyped-def]
        x = yield ctx.spawn(worker)
        y = yield ctx.call(b)
        return x.ok and y.ok

    @sc.agent
    def worker(ctx):  # type: ignore[no-untyped-def]
        return (yield ctx.call(a))

    run = sc.run(seed=0)
    # a has p_ok = 0: its success region is empty, so no fix can remove its fault; the
    # repair game forces outputs instead
    agents = asim.shapley(run, players="agents", game="repair").values
    assert agents == {"main (own calls)": 0.0, "main#0/worker#0": 1.0}
    assert asim.shapley(run, players="tools", game="repair").values == {"a": 1.0, "b": 0.0}
    assert set(asim.shapley(run, players="tools").values.values()) == {0.0}
    groups = asim.shapley(
        run, players={"work": ["main#0/worker#0/*"], "final": ["b"]}, game="repair"
    )
    assert groups.values == {"work": 1.0, "final": 0.0}


def test_break_game_explains_a_success_and_baseline_explains_latency() -> None:
    sc = chain([1.0, 1.0], latency=asim.dist.Exponential(mean=1.0))
    run = sc.run(seed=4)
    brk = asim.shapley(run, game="break")
    assert brk.v_empty == 1.0 and brk.v_full == 0.0
    assert sum(brk.values.values()) == pytest.approx(-1.0)
    lat = asim.shapley(run, game="baseline", outcome="latency")
    median = math.log(2.0)
    for span in run.trace.calls():  # latency is additive in a chain: exact shares
        assert lat.values[span.address] == pytest.approx(span.duration - median)


def test_sound_pruning_does_not_change_values() -> None:
    sc = asim.Scenario("prune")
    always = sc.tool("always", p_ok=0.9, p_recover=0.9)
    flaky = sc.tool("flaky", p_ok=0.5)

    @sc.agent
    def main(ctx):  # type: ignore[no-untyped-def]
        x = yield ctx.call(flaky)
        y = yield ctx.call(always, x)
        z = yield ctx.call(flaky, y)
        return z

    run = next(
        r
        for r in (sc.run(seed=s) for s in range(500))
        if not r.result.ok and r.trace.span("main#0/always#0").noise["ok"] < 0.9
    )
    pruned = asim.shapley(run)
    full = asim.shapley(run, prune=False)
    assert pruned.values == full.values
    assert pruned.evaluations <= full.evaluations
    assert any("pruned" in n for n in pruned.notes)
    assert "main#0/always#0" in pruned.notes[-1]


def test_attribute_dispatches_by_name() -> None:
    run = _both_bad(_and_scenario())
    assert asim.attribute(run, method="but-for").method == "but_for"
    assert asim.attribute(run, method="decisive").address == "main#0/a#0"
    with pytest.raises(asim.AttributionError, match="did you mean 'shapley'"):
        asim.attribute(run, method="shapely")


def test_probabilities_of_causation_against_closed_forms() -> None:
    # success = a or b; a, b independent with P(ok) 0.7 and 0.6
    sc = asim.Scenario("or")
    a, b = sc.tool("a", p_ok=0.7), sc.tool("b", p_ok=0.6)

    @sc.agent
    def main(ctx):  # type: ignore[no-untyped-def]
        x, y = yield ctx.parallel(ctx.call(a), ctx.call(b))
        return x.ok or y.ok

    cause, effect = {"main#0/a#0": True}, {"success": 1.0}
    assert probability_of_necessity(sc, cause, effect, n=3000).contains(0.4)
    # PS: among runs with a failed and no success (b failed), forcing a gives success: 1
    ps = probability_of_sufficiency(sc, cause, effect, n=3000)
    assert ps.value == 1.0
    assert pns(sc, cause, effect, n=3000).contains(0.4)  # Y_a=1 always; Y_a'=0 iff b fails
    bounds = tian_pearl_bounds(
        p_xy=0.7, p_xy_=0.0, p_x_y=0.3 * 0.6, p_x_y_=0.3 * 0.4, p_y_do_x=1.0, p_y_do_x_=0.6
    )
    assert bounds["pns"].contains(0.4) and bounds["pn"].contains(0.4)


def test_change_attribution_splits_the_drop() -> None:
    def version(p_search: float, p_llm: float) -> asim.Scenario:
        sc = asim.Scenario("v")
        s = sc.tool("search", p_ok=p_search)
        m = sc.model("llm", p_ok=p_llm)

        @sc.agent
        def main(ctx):  # type: ignore[no-untyped-def]
            hit = yield ctx.call(s)
            return (yield ctx.call(m, hit))

        return sc

    a = attribute_change(version(0.9, 0.9), version(0.8, 0.7), n=6000)
    # exact: v = p_s * p_m; Shapley of a product over two changes
    ds, dm = 0.8 - 0.9, 0.7 - 0.9
    exact_search = 0.5 * (ds * 0.9 + ds * 0.7)
    exact_llm = 0.5 * (dm * 0.9 + dm * 0.8)
    lo, hi = a.ci["tool search"]
    assert lo <= exact_search <= hi
    lo, hi = a.ci["llm llm"]
    assert lo <= exact_llm <= hi
    assert abs(a.efficiency_gap or 0.0) < 1e-9


def test_games_on_a_finite_scm_flip_binary_variables() -> None:
    m = asim.StructuralModel(
        equations={"MD": None, "L": None, "FF": lambda v: int(v["MD"] or v["L"])},
        context={"MD": 1, "L": 1},
        domains={"MD": [0, 1], "L": [0, 1], "FF": [0, 1]},
    )
    # overdetermination: neither alone is but-for, together they are; Shapley splits evenly
    assert asim.but_for(m, outcome="FF").values == {"MD": 0.0, "L": 0.0}
    assert asim.shapley(m, outcome="FF").values == {"MD": -0.5, "L": -0.5}


def test_actual_causes_accept_a_run_directly() -> None:
    run = _both_bad(_and_scenario())
    causes = asim.actual_causes(run, effect={"success": 0.0}, max_size=2)
    # failure = (a failed) and (b failed): like the conjunctive forest fire, each failure
    # alone is a cause (repairing it alone saves the run), with responsibility 1
    assert [sorted(c.variables) for c in causes] == [["main#0/a#0"], ["main#0/b#0"]]
    assert [c.responsibility for c in causes] == [1.0, 1.0]
    assert asim.is_actual_cause(run, cause={"main#0/a#0": False}, effect={"success": 0.0})


def test_evaluations_count_the_worlds_replayed_even_when_none_were() -> None:
    from agentsim.worlds import ScenarioWorld

    run = _both_bad(_and_scenario())
    world = ScenarioWorld(run)
    first = asim.shapley(world)
    # the AND failure: {a}, {b}, {a, b} are replayed; the empty coalition is the run itself
    assert first.evaluations == 3
    again = asim.shapley(world)  # every world is cached now
    assert again.values == first.values and again.evaluations == 0


def test_pns_counts_runs_that_never_make_the_call() -> None:
    # b is called only after a succeeds; success needs both. Where a succeeded (0.5), b is
    # necessary and sufficient; where a failed, b never runs and is neither: PNS = 0.5
    sc = asim.Scenario("gated")
    a, b = sc.tool("a", p_ok=0.5), sc.tool("b", p_ok=0.5)

    @sc.agent
    def main(ctx):  # type: ignore[no-untyped-def]
        x = yield ctx.call(a)
        if not x.ok:
            return False
        return (yield ctx.call(b, x))

    est = pns(sc, {"main#0/b#0": True}, {"success": 1.0}, n=2000)
    assert est.n == 2000 and est.contains(0.5) and est.high < 0.6


def test_a_changed_agent_is_credited_with_its_own_change_only() -> None:
    # version 2 raises search's reliability and rewrites main without changing what it does;
    # the new main, run in version 1, must call version 1's search
    def version(p_search: float, rewritten: bool) -> asim.Scenario:
        sc = asim.Scenario("v")
        s = sc.tool("search", p_ok=p_search)

        if rewritten:

            @sc.agent
            def main(ctx):  # type: ignore[no-untyped-def]
                hit = yield ctx.call(s)
                return hit

        else:

            @sc.agent
            def main(ctx):  # type: ignore[no-untyped-def]
                return (yield ctx.call(s))

        return sc

    a = attribute_change(version(0.5, False), version(0.9, True), n=3000)
    assert set(a.values) == {"tool search", "agent main"}
    assert a.values["agent main"] == 0.0 and a.ci["agent main"] == (0.0, 0.0)
    lo, hi = a.ci["tool search"]
    assert lo <= 0.4 <= hi
