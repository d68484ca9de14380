"""The repair game's replay shortcut is exact: it equals plain enumeration of every world."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

import agentsim as asim
from agentsim.attribution.games import Game, resolve_players
from agentsim.attribution.shapley import shapley_values
from agentsim.worlds import ScenarioWorld
from tests.strategies_local import programs


@settings(max_examples=40)
@given(programs(max_steps=4), st.integers(0, 2**32), st.sampled_from(["calls", "tools", "agents"]))
def test_shortcut_values_equal_plain_enumeration(sc: asim.Scenario, seed: int, kind: str) -> None:
    run = sc.run(seed=seed)
    fast_world = ScenarioWorld(run)
    plain_world = ScenarioWorld(run)
    players = resolve_players(fast_world, kind)
    if not players or len(players) > 8:
        return
    game = Game("repair", "success", players)
    fast = shapley_values(
        list(players), game.value_function(fast_world), method="exact", budget=2 ** len(players)
    )

    def plain(coalition: frozenset[str]) -> float:
        ivs = game.interventions(plain_world, coalition)
        return plain_world.outcome(ivs, "success")

    slow = shapley_values(list(players), plain, method="exact", budget=2 ** len(players))
    assert fast.values == slow.values
    assert fast_world.evaluations <= plain_world.evaluations


def test_shortcut_counts_nested_agents_an_agent_player_repairs() -> None:
    # inner's call succeeds but inner itself returns a failure; the player "sub" targets
    # everything under sub#0, which includes inner#0's result, so repairing sub repairs it
    sc = asim.Scenario("nested")
    t = sc.tool("t", p_ok=1.0, latency=1.0)

    @sc.agent
    def main(ctx):  # type: ignore[no-untyped-def]
        return (yield ctx.spawn(sub))

    @sc.agent
    def sub(ctx):  # type: ignore[no-untyped-def]
        return (yield ctx.spawn(inner))

    @sc.agent
    def inner(ctx):  # type: ignore[no-untyped-def]
        yield ctx.call(t)
        return False

    run = sc.run(seed=0)
    assert run.outcomes["success"] == 0.0
    world = ScenarioWorld(run)
    players = resolve_players(world, "agents")
    assert list(players) == ["main#0/sub#0", "main#0/sub#0/inner#0"]
    game = Game("repair", "success", players)
    fast = game.value_function(world)
    for coalition in [frozenset(), frozenset(players), *(frozenset({p}) for p in players)]:
        plain = ScenarioWorld(run).outcome(game.interventions(world, coalition), "success")
        # repairing inner alone repairs its calls, not its own verdict
        assert fast(coalition) == plain == (1.0 if "main#0/sub#0" in coalition else 0.0)
