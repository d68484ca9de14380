"""The fault game: root-cause blame by default, checked against closed forms."""

from __future__ import annotations

import pytest

import agentsim as asim
from agentsim import dist, noise
from agentsim.errors import AttributionError


def _u(seed: int, address: str) -> float:
    return noise.uniform(seed, address, "ok")


def _seed(pred) -> int:  # type: ignore[no-untyped-def]
    return next(s for s in range(20_000) if pred(s))


def _chain(n: int = 4) -> asim.Scenario:
    """t0 -> t1 -> ... ; t0 unreliable, the rest reliable given good input."""
    sc = asim.Scenario("rootchain")
    tools = [sc.tool(f"t{i}", p_ok=0.5 if i == 0 else 0.9) for i in range(n)]

    @sc.agent
    def main(ctx):  # type: ignore[no-untyped-def]
        r = None
        for t in tools:
            r = yield (ctx.call(t) if r is None else ctx.call(t, r))
        return r

    return sc


def test_chain_root_takes_all_blame_and_casualties_none() -> None:
    sc = _chain()
    addrs = [f"main#0/t{i}#0" for i in range(4)]
    # the root failed on its own; every later call would have succeeded on good input
    seed = _seed(lambda s: _u(s, addrs[0]) >= 0.5 and all(_u(s, a) < 0.9 for a in addrs[1:]))
    run = sc.run(seed=seed)
    assert [s.ok for s in run.trace.calls()] == [False] * 4
    sh = asim.shapley(run)
    assert sh.game == "fault" and sh.exact
    assert sh.values == {addrs[0]: 1.0, addrs[1]: 0.0, addrs[2]: 0.0, addrs[3]: 0.0}
    assert any("fault game" in n for n in sh.notes)
    bf = asim.but_for(run)
    assert bf.game == "fault"
    assert [a for a, v in bf.values.items() if v == 1.0] == [addrs[0]]
    assert asim.decisive_error(run).address == addrs[0]
    bz = asim.banzhaf(run)
    assert bz.game == "fault" and bz.values[addrs[0]] == 1.0
    assert all(bz.values[a] == 0.0 for a in addrs[1:])
    # the casualties cost no replay at all: provably null
    assert sh.evaluations <= 1


def test_two_branch_and_splits_between_the_faults_and_spares_the_reliable_tool() -> None:
    sc = asim.Scenario("and2")
    a, b = sc.tool("a", p_ok=0.5), sc.tool("b", p_ok=0.5)
    c = sc.tool("c", p_ok=1.0)

    @sc.agent
    def main(ctx):  # type: ignore[no-untyped-def]
        x, y = yield ctx.parallel(ctx.call(a), ctx.call(b))
        return (yield ctx.call(c, x, y))

    seed = _seed(lambda s: _u(s, "main#0/a#0") >= 0.5 and _u(s, "main#0/b#0") >= 0.5)
    run = sc.run(seed=seed)
    sh = asim.shapley(run)
    assert sh.game == "fault"
    assert sh.values == {"main#0/a#0": 0.5, "main#0/b#0": 0.5, "main#0/c#0": 0.0}
    # the repair game, by contrast, gives most of the blame to the tool that cannot fail
    rp = asim.shapley(run, game="repair").values
    assert rp["main#0/c#0"] == pytest.approx(2 / 3)
    assert asim.shapley(run, players="tools").values == {"a": 0.5, "b": 0.5, "c": 0.0}
    # no single fix saves it: no but-for cause, no decisive error
    assert set(asim.but_for(run).values.values()) == {0.0}
    assert asim.decisive_error(run) is None


def test_agents_players_cover_the_whole_run() -> None:
    sc = asim.Scenario("own")
    plan = sc.model("plan", p_ok=0.5)
    code = sc.tool("code", p_ok=0.5)

    @sc.agent
    def support(ctx):  # type: ignore[no-untyped-def]
        p = yield ctx.call(plan)
        return (yield ctx.spawn(coder, p))

    @sc.agent
    def coder(ctx, p):  # type: ignore[no-untyped-def]
        return (yield ctx.call(code, p))

    # the entry agent's own call failed on its own; the sub-agent's call is a casualty
    seed = _seed(
        lambda s: _u(s, "support#0/plan#0") >= 0.5 and _u(s, "support#0/coder#0/code#0") < 0.5
    )
    run = sc.run(seed=seed)
    sh = asim.shapley(run, players="agents")
    assert sh.values == {"support (own calls)": 1.0, "support#0/coder#0": 0.0}
    assert sum(sh.values.values()) == sh.v_full - sh.v_empty == 1.0


def test_deadline_miss_without_failed_call_falls_back_to_baseline_latency() -> None:
    sc = asim.Scenario("slow", deadline=2.0)
    t = sc.tool("t", latency=dist.Exponential(mean=1.0))

    @sc.agent
    def main(ctx):  # type: ignore[no-untyped-def]
        a = yield ctx.call(t)
        return (yield ctx.call(t, a))

    run = next(r for r in (sc.run(seed=s) for s in range(200)) if not r.result.ok)
    assert run.result.error.startswith("deadline exceeded")
    sh = asim.shapley(run)
    assert sh.game == "baseline" and sh.outcome == "latency"
    assert any("deadline" in n for n in sh.notes)


def test_explicit_fault_game_on_a_world_without_fault_support_raises() -> None:
    m = asim.StructuralModel(
        equations={"A": None, "B": None, "Y": lambda v: int(v["A"] and v["B"])},
        context={"A": 0, "B": 1},
        domains={"A": [0, 1], "B": [0, 1], "Y": [0, 1]},
    )
    assert asim.shapley(m, outcome="Y").game == "repair"  # the default stays repair here
    with pytest.raises(AttributionError, match="fault"):
        asim.shapley(m, outcome="Y", game="fault")
    with pytest.raises(AttributionError, match="fix"):
        asim.decisive_error(m, outcome="Y", game="fault")


def test_custom_mechanism_without_region_falls_back_to_repair_by_default() -> None:
    sc = asim.Scenario("cm")
    t = sc.tool("t", mechanism=lambda inputs, u: {"ok": u["ok"] < 0.5})

    @sc.agent
    def main(ctx):  # type: ignore[no-untyped-def]
        return (yield ctx.call(t))

    run = next(r for r in (sc.run(seed=s) for s in range(50)) if not r.result.ok)
    sh = asim.shapley(run)
    assert sh.game == "repair" and any("success region" in n for n in sh.notes)
    with pytest.raises(asim.InterventionError, match="success_region"):
        asim.shapley(run, game="fault")
