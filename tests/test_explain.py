"""explain() and sensitivity() against closed forms on a chain of independent tools."""

from __future__ import annotations

import itertools
import math
from pathlib import Path

import pytest

import agentsim as asim
from agentsim import noise
from agentsim.cli import load_scenario
from agentsim.errors import AttributionError
from agentsim.explain import Explanation, Row
from agentsim.stats import Estimate
from tests.helpers import run_cli

P = {"a": 0.9, "b": 0.7, "c": 0.8}


def _chain(p: dict[str, float] = P) -> asim.Scenario:
    sc = asim.Scenario("chain3")
    tools = [sc.tool(name, p_ok=q) for name, q in p.items()]

    @sc.agent
    def main(ctx):  # type: ignore[no-untyped-def]
        r = None
        for t in tools:
            r = yield (ctx.call(t) if r is None else ctx.call(t, r))
        return r

    return sc


def _closed_form_shapley(p: dict[str, float]) -> dict[str, float]:
    """Shapley values of v(S) = prod over tools not in S of p_i, by enumeration."""
    names = list(p)
    n = len(names)

    def v(s: frozenset[str]) -> float:
        return math.prod(p[x] for x in names if x not in s)

    out = {}
    for i in names:
        others = [x for x in names if x != i]
        total = 0.0
        for k in range(n):
            for sub in itertools.combinations(others, k):
                s = frozenset(sub)
                w = math.factorial(k) * math.factorial(n - k - 1) / math.factorial(n)
                total += w * (v(s | {i}) - v(s))
        out[i] = total
    return out


def _field_oracle(p: dict[str, float], n: int, seed: int) -> dict[str, dict[str, float]]:
    """Per-player means over the batch's runs, read off the noise field directly: a run's
    v(S) is 1 when no tool outside S has its ok-noise in its failure region."""
    names = list(p)
    out = {x: {"share": 0.0, "leverage": 0.0, "decisive": 0.0} for x in names}
    failures = 0
    for i in range(n):
        s = noise.child_seed(seed, i)
        fault = {x: noise.uniform(s, f"main#0/{x}#0", "ok") >= p[x] for x in names}
        ones = {x: 1.0 for x in names if not fault[x]}
        shares = _closed_form_shapley({x: ones.get(x, 0.0) for x in names})
        failures += any(fault.values())
        for x in names:
            out[x]["share"] += shares[x] / n
            out[x]["leverage"] += float(fault[x] and sum(fault.values()) == 1) / n
            out[x]["decisive"] += float(fault[x] and sum(fault.values()) == 1)
    for x in names:
        out[x]["decisive"] /= failures
    return out


def test_explain_equals_the_noise_field_run_by_run() -> None:
    ex = asim.explain(_chain(), over="tools", n=2000, seed=0)
    oracle = _field_oracle(P, 2000, 0)
    for r in ex.rows:
        assert r.share.value == pytest.approx(oracle[r.player]["share"], abs=1e-12)
        assert r.leverage.value == pytest.approx(oracle[r.player]["leverage"], abs=1e-12)
        assert r.decisive.value == pytest.approx(oracle[r.player]["decisive"], abs=1e-12)
    # efficiency, run by run: the shares sum to the failure rate, none of it unexplained
    assert sum(r.share.value for r in ex.rows) == pytest.approx(ex.failure_rate.value, abs=1e-12)
    assert ex.unexplained.value == 0.0
    assert [r.player for r in ex.rows] == ["b", "c", "a"]  # largest share first
    assert ex.evaluations == 8 * 2000
    df = ex.to_pandas()
    assert list(df.columns) == [
        "player",
        "share",
        "share_low",
        "share_high",
        "leverage",
        "leverage_low",
        "leverage_high",
        "decisive",
        "decisive_low",
        "decisive_high",
    ]
    assert "failure rate" in str(ex)


@pytest.mark.slow
def test_explain_matches_closed_forms_on_a_chain() -> None:
    ex = asim.explain(_chain(), over="tools", n=20_000, seed=0, decisive=False)
    shares = _closed_form_shapley(P)
    rows = {r.player: r for r in ex.rows}
    assert set(rows) == set(P)
    for name, q in P.items():
        leverage = math.prod(P[j] for j in P if j != name) * (1 - q)
        assert rows[name].share.contains(shares[name]), (name, rows[name].share, shares[name])
        assert rows[name].leverage.contains(leverage), (name, rows[name].leverage, leverage)
    assert ex.failure_rate.contains(1 - math.prod(P.values()))


def test_explain_of_a_batch_equals_explain_of_its_scenario() -> None:
    sc = _chain()
    batch = sc.simulate(500, seed=3)
    a = asim.explain(batch)
    b = asim.explain(sc, n=500, seed=3, workers=2)
    assert [(r.player, r.share, r.leverage, r.decisive) for r in a.rows] == [
        (r.player, r.share, r.leverage, r.decisive) for r in b.rows
    ]


def test_explain_over_agents_and_calls() -> None:
    sc = asim.Scenario("agents")
    plan = sc.model("plan", p_ok=0.8)
    code = sc.tool("code", p_ok=0.6)

    @sc.agent
    def support(ctx):  # type: ignore[no-untyped-def]
        p = yield ctx.call(plan)
        return (yield ctx.spawn(coder, p))

    @sc.agent
    def coder(ctx, p):  # type: ignore[no-untyped-def]
        return (yield ctx.call(code, p))

    ex = asim.explain(sc, over="agents", n=3000, seed=0, decisive=False)
    rows = {r.player: r for r in ex.rows}
    assert set(rows) == {"support (own calls)", "coder"}
    exact = _closed_form_shapley({"support (own calls)": 0.8, "coder": 0.6})
    for name, value in exact.items():
        assert rows[name].share.contains(value)
    calls = asim.explain(sc, over="calls", n=3000, seed=0, decisive=False)
    assert {r.player for r in calls.rows} == {"support#0/plan#0", "support#0/coder#0/code#0"}


def test_rankings_differ_line() -> None:
    e = Estimate(0.1, 0.05, 0.15)
    big = Estimate(0.3, 0.25, 0.35)
    ex = Explanation(
        rows=[Row("x", big, e, e), Row("y", e, big, e)],
        over="tools",
        outcome="success",
        n=10,
        seed=0,
        failure_rate=big,
        unexplained=Estimate(0.0, 0.0, 0.0),
        evaluations=40,
    )
    assert ex.rankings_differ()
    assert "blame and leverage rank differently: x takes the most blame, fixing y alone" in str(ex)


def test_explain_refuses_what_it_cannot_answer() -> None:
    sc = _chain()
    with pytest.raises(AttributionError, match="Scenario or a Batch"):
        asim.explain(sc.run(seed=0))
    with pytest.raises(AttributionError, match="coupled"):
        asim.explain(sc.simulate(5, arrivals=1.0))
    with pytest.raises(AttributionError, match="over='nope'"):
        asim.explain(sc, over="nope", n=10)


def test_sensitivity_ranks_paired_effects_against_closed_forms() -> None:
    p = {"a": 0.9, "b": 0.6}
    s = asim.sensitivity(_chain(p), p_ok=+0.05, n=4000, seed=0)
    assert [c for c, _ in s.effects] == ["set_params(b, p_ok=0.65)", "set_params(a, p_ok=0.95)"]
    effects = dict(s.effects)
    assert effects["set_params(b, p_ok=0.65)"].contains(0.05 * 0.9)
    assert effects["set_params(a, p_ok=0.95)"].contains(0.05 * 0.6)
    assert list(s.to_pandas().columns) == ["change", "effect", "low", "high"]
    with pytest.raises(AttributionError, match="needs a change"):
        asim.sensitivity(_chain(p))


def test_cli_explain_and_run_print_causes(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "chain.py"
    path.write_text(
        "import agentsim as asim\n"
        "scenario = asim.Scenario('cli-chain')\n"
        "a = scenario.tool('a', p_ok=0.95)\n"
        "b = scenario.tool('b', p_ok=0.6)\n"
        "@scenario.agent\n"
        "def main(ctx):\n"
        "    return (yield ctx.call(b, (yield ctx.call(a))))\n"
    )
    code, out, _ = run_cli(["explain", str(path), "--runs", "300"], capsys)
    assert code == 0
    assert "failure rate" in out and "share" in out and "leverage" in out
    code, out, _ = run_cli(["run", str(path), "--runs", "200", "--seed", "4"], capsys)
    assert code == 0
    assert "top causes of failure (decisive error" in out and "b " in out
    text = " ".join(out.split())  # the line may wrap at the terminal width
    first = int(text.split("failed runs to inspect (")[1].split("): ")[1].split(",")[0])
    # the printed seed reproduces a failed run of the batch
    batch = load_scenario(str(path)).simulate(200, seed=4)
    assert first == next(batch.failures()).seed
    assert load_scenario(str(path)).run(seed=first).outcomes["success"] == 0.0


def test_an_explanation_displays_as_a_table_in_notebooks() -> None:
    html = asim.explain(_chain(), n=400, seed=0)._repr_html_()
    assert html is not None and "<table" in html and "share of failures" in html
    assert all(f">{name}<" in html for name in P)
