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
@given(programs(max_steps=4), st.integers(0, 2**32), st.sampled_from(["calls", "tools"]))
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
