"""The repair game's coalition walk is exact: lean replays, shared worlds and the players it
proves null give the very values of plain enumeration, which replays every coalition in full
(with span records) through ``counterfactual``."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

import agentsim as asim
from agentsim import dist
from agentsim.attribution.games import Game, null_players, resolve_players
from agentsim.attribution.shapley import banzhaf_values, shapley_values
from agentsim.worlds import ScenarioWorld
from tests.strategies_local import programs


def _plain(world: ScenarioWorld, game: Game):  # type: ignore[no-untyped-def]
    def v(coalition: frozenset[str]) -> float:
        return world.outcome(game.interventions(world, coalition), game.outcome)

    return v


@settings(max_examples=40)
@given(
    programs(max_steps=5),
    st.integers(0, 2**32),
    st.sampled_from(["calls", "tools", "agents"]),
    st.sampled_from(["success", "latency", "cost", "failure"]),
)
def test_walk_equals_plain_enumeration(
    sc: asim.Scenario, seed: int, kind: str, outcome: str
) -> None:
    run = sc.run(seed=seed)
    players = resolve_players(ScenarioWorld(run), kind)
    if not players or len(players) > 9:
        return
    game = Game("repair", outcome, players)
    nulls = null_players(ScenarioWorld(run), game)
    walked = asim.shapley(
        run, players=kind, outcome=outcome, method="exact", budget=2**9, game="repair"
    )
    plain_world = ScenarioWorld(run)
    plain = shapley_values(
        list(players), _plain(plain_world, game), method="exact", null_players=nulls
    )
    # the same table, the same arithmetic: equal to the last bit, zeros included
    assert walked.values == plain.values
    assert (walked.v_empty, walked.v_full) == (plain.v_empty, plain.v_full)
    assert walked.evaluations <= plain_world.evaluations
    bz = asim.banzhaf(
        run, players=kind, outcome=outcome, method="exact", budget=2**9, game="repair"
    )
    plain_bz = banzhaf_values(
        list(players), _plain(plain_world, game), method="exact", null_players=nulls
    )
    assert bz.values == plain_bz.values


@settings(max_examples=25)
@given(programs(max_steps=5), st.integers(0, 2**32))
def test_sampled_coalitions_equal_plain_replays(sc: asim.Scenario, seed: int) -> None:
    # the permutation sampler asks one coalition at a time: the memo, not the walk
    run = sc.run(seed=seed)
    players = resolve_players(ScenarioWorld(run), "calls")
    if len(players) < 2:
        return
    game = Game("repair", "success", players)
    kw = {"method": "permutation", "budget": 4 * len(players), "seed": seed % 1000}
    fast = shapley_values(list(players), game.value_function(ScenarioWorld(run)), **kw)
    plain = shapley_values(list(players), _plain(ScenarioWorld(run), game), **kw)
    assert fast.values == plain.values


def _parallel(n: int) -> asim.Scenario:
    sc = asim.Scenario(f"par{n}")
    t = sc.tool("call", p_ok=0.5, latency=dist.Exponential(mean=1.0))

    @sc.agent
    def main(ctx):  # type: ignore[no-untyped-def]
        results = yield ctx.parallel(*[ctx.call(t) for _ in range(n)])
        return all(r.ok for r in results)

    return sc


def test_unanimity_of_failed_parallel_calls_walks_only_the_failed_ones() -> None:
    # 8 parallel calls, all must succeed: each failed call gets 1/k, the others exactly 0,
    # and only the 2^k - 1 coalitions of the k failed calls are replayed
    sc = _parallel(8)
    run = next(
        r for r in (sc.run(seed=s) for s in range(200)) if 3 <= len(r.trace.failed()) - 1 <= 5
    )
    failed = [s.address for s in run.trace.calls() if not s.ok]
    k = len(failed)
    a = asim.shapley(run, method="exact", budget=2**8, game="repair")
    assert a.evaluations == 2**k - 1
    assert all(x == 0.0 for p, x in a.values.items() if p not in failed)
    assert abs(sum(a.values[p] for p in failed) - 1.0) < 1e-12
    assert max(abs(a.values[p] - 1 / k) for p in failed) < 1e-12


def test_a_player_that_fails_only_in_a_counterfactual_world_is_walked() -> None:
    # b succeeds exactly when its input failed (a custom mechanism): factually a failed and b
    # succeeded, so the walk starts from {a}; repairing a makes b fail, which puts b in the
    # walk. Closed form: v(∅)=1, v({a})=0, v({b})=1, v({a,b})=1, so φ_a = -1/2, φ_b = 1/2.
    sc = asim.Scenario("inverted")
    a = sc.tool("a", p_ok=0.0, latency=1.0)

    def inverted(inputs, noise):  # type: ignore[no-untyped-def]
        return {"ok": not inputs[0].ok}

    b = sc.tool("b", latency=1.0, mechanism=inverted)

    @sc.agent
    def main(ctx):  # type: ignore[no-untyped-def]
        x = yield ctx.call(a)
        return (yield ctx.call(b, x))

    run = sc.run(seed=0)
    assert run.outcomes["success"] == 1.0
    res = asim.shapley(run, method="exact", game="repair")
    assert res.values == {"main#0/a#0": -0.5, "main#0/b#0": 0.5}
    assert res.evaluations == 2  # {a} and {a, b}; {b} is the factual world


def test_the_walk_is_reused_by_later_questions() -> None:
    sc = _parallel(6)
    run = next(r for r in (sc.run(seed=s) for s in range(200)) if len(r.trace.failed()) == 4)
    world = asim.world(run)
    first = asim.shapley(world, method="exact", game="repair")
    again = asim.banzhaf(world, method="exact", game="repair")
    but = asim.but_for(world, game="repair")
    assert first.evaluations == 7
    assert again.evaluations == 0 and but.evaluations == 0


@settings(max_examples=40)
@given(programs(max_steps=5), st.integers(0, 2**32), st.data())
def test_unrecorded_sessions_under_result_interventions_match_recorded_ones(
    sc: asim.Scenario, seed: int, data: st.DataObject
) -> None:
    # keep_traces=False takes the plain-call fast path for calls whose interventions act on
    # their result only; the outcomes must be those of the recorded path, run by run
    from agentsim.strategies import interventions

    run = sc.run(seed=seed)
    ivs = data.draw(interventions(run, max_size=3))
    kept = sc.simulate(6, seed=seed, interventions=ivs, progress=False)
    lean = sc.simulate(6, seed=seed, interventions=ivs, keep_traces=False, progress=False)
    assert [r.outcomes for r in kept] == [r.outcomes for r in lean]
    assert [r.result for r in kept] == [r.result for r in lean]
