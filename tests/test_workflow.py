"""Workflow combinators: JSON, compilation to scenarios, and the semantics of each combinator."""

from __future__ import annotations

import ast
import math
from pathlib import Path
from typing import Any

import pytest

import agentsim as asim
from agentsim import dist
from agentsim import workflow as wf
from agentsim.errors import ScenarioError

TOOLS: dict[str, dict[str, Any]] = {
    "search": dict(p_ok=0.9, latency=dist.Exponential(mean=1.0), cost=1.0),
    "fetch": dict(p_ok=0.5, p_recover=0.2, latency=1.0, cost=0.5),
    "a": dict(p_ok=0.7, latency=0.5),
    "b": dict(p_ok=0.6, p_recover=0.3, latency=dist.Exponential(mean=0.3)),
    "llm": dict(latency=0.2, cost=0.1, kind="llm"),
}

FLOW = wf.seq(
    wf.call("search"),
    wf.retry(wf.call("fetch"), n=2),
    wf.par(
        wf.call("a"),
        wf.subagent("helper", wf.seq(wf.call("b"), wf.fallback(wf.call("a"), wf.call("b")))),
    ),
    wf.choose(
        "llm",
        {"x": (0.5, wf.call("a")), "y": (0.5, wf.par(wf.call("b"), wf.call("a"), mode="any"))},
    ),
    wf.call("b"),
)


def hand_written() -> asim.Scenario:
    """FLOW written as ordinary agents."""
    sc = asim.Scenario("workflow")
    for name, params in TOOLS.items():
        sc.add(asim.Tool(name, **params))

    @sc.agent
    def main(ctx):  # type: ignore[no-untyped-def]
        s = yield ctx.call("search")
        for _ in range(3):
            f = yield ctx.call("fetch", s)
            if f.ok:
                break
        a, h = yield ctx.parallel(ctx.call("a", f), ctx.spawn("helper", f))
        c = yield ctx.choose("llm", {"x": 0.5, "y": 0.5}, inputs=[a, h])
        if c.value == "x":
            r = yield ctx.call("a", a, h)
        else:
            r = yield ctx.first(ctx.call("b", a, h), ctx.call("a", a, h))
        return (yield ctx.call("b", r))

    @sc.agent
    def helper(ctx, x):  # type: ignore[no-untyped-def]
        b = yield ctx.call("b", x)
        p = yield ctx.call("a", b)
        if not p.ok:
            p = yield ctx.call("b", b)
        return p

    return sc


def test_json_round_trip() -> None:
    text = wf.to_json(FLOW, indent=2)
    back = wf.from_json(text)
    assert back == FLOW
    assert wf.to_json(back) == wf.to_json(FLOW)
    assert hash(back) == hash(FLOW)


def test_json_rejects_unknown_fields_and_kinds() -> None:
    with pytest.raises(ScenarioError, match="Extra inputs"):
        wf.from_json('{"kind": "call", "tool": "a", "retries": 3}')
    with pytest.raises(ScenarioError, match="kind"):
        wf.from_json('{"kind": "loop", "tool": "a"}')


@pytest.mark.parametrize(
    ("build", "match"),
    [
        (lambda: wf.seq(), "at least one step"),
        (lambda: wf.par(wf.seq(wf.call("a")), wf.call("b")), "wrap it in subagent"),
        (lambda: wf.par(wf.par(wf.call("a"), wf.call("b")), mode="any"), "cannot be a branch"),
        (lambda: wf.retry(wf.call("a"), n=-1), "n:"),
        (lambda: wf.subagent("main", wf.call("a")), "entry agent"),
        (lambda: wf.call("a/b"), "not valid"),
        (lambda: wf.choose("llm", {"x": (0.0, wf.call("a"))}), "all be zero"),
    ],
)
def test_invalid_workflows_are_refused(build: Any, match: str) -> None:
    with pytest.raises(ScenarioError, match=match):
        build()


def test_scenario_checks_tools_and_subagent_names() -> None:
    with pytest.raises(ScenarioError, match=r"\['zzz'\]"):
        wf.scenario(wf.call("zzz"), {"a": {}})
    twice = wf.seq(wf.subagent("h", wf.call("a")), wf.subagent("h", wf.call("b")))
    with pytest.raises(ScenarioError, match="different bodies"):
        wf.scenario(twice, {"a": {}, "b": {}})


@pytest.mark.parametrize("seed", range(12))
def test_compiled_workflow_equals_hand_written_agent(seed: int) -> None:
    compiled, hand = wf.scenario(FLOW, TOOLS), hand_written()
    run_c, run_h = compiled.run(seed=seed), hand.run(seed=seed)
    assert run_c.trace.model_dump_json() == run_h.trace.model_dump_json()
    assert run_c.outcomes == run_h.outcomes


def test_compiled_workflow_equals_hand_written_under_intervention() -> None:
    ivs = [asim.repair("main#0/fetch#0"), asim.break_("main#0/helper#0/b#0")]
    for seed in range(5):
        c = wf.scenario(FLOW, TOOLS).run(seed=seed, interventions=ivs)
        h = hand_written().run(seed=seed, interventions=ivs)
        assert c.trace.model_dump_json() == h.trace.model_dump_json()


# -- semantics, run by run ----------------------------------------------------------------
def calls(run: asim.Run) -> list[asim.Span]:
    return [s for s in run.trace.spans if s.kind in ("tool", "llm")]


def test_seq_feeds_previous_output() -> None:
    sc = wf.scenario(wf.seq(wf.call("a"), wf.call("b"), wf.call("a")), TOOLS)
    spans = calls(sc.run(seed=3))
    assert [s.inputs for s in spans] == [[], ["main#0/a#0"], ["main#0/b#0"]]


def test_retry_stops_at_first_ok_and_repeats_the_same_input() -> None:
    sc = wf.scenario(wf.seq(wf.call("a"), wf.retry(wf.call("fetch"), n=2)), TOOLS)
    for seed in range(40):
        run = sc.run(seed=seed)
        attempts = [s for s in calls(run) if s.name == "fetch"]
        assert [s.address for s in attempts] == [f"main#0/fetch#{k}" for k in range(len(attempts))]
        assert all(s.inputs == ["main#0/a#0"] for s in attempts)
        assert all(not s.ok for s in attempts[:-1])
        assert len(attempts) == 3 or attempts[-1].ok
        assert run.outcomes["success"] == float(attempts[-1].ok)


def test_fallback_runs_backup_only_after_failure() -> None:
    sc = wf.scenario(wf.fallback(wf.call("a"), wf.call("b")), TOOLS)
    seen = set()
    for seed in range(40):
        spans = calls(sc.run(seed=seed))
        primary_ok = spans[0].ok
        seen.add(primary_ok)
        assert [s.name for s in spans] == (["a"] if primary_ok else ["a", "b"])
    assert seen == {True, False}


def test_subagent_addresses_and_result() -> None:
    sc = wf.scenario(
        wf.seq(wf.call("a"), wf.subagent("h", wf.seq(wf.call("a"), wf.call("b")))), TOOLS
    )
    run = sc.run(seed=5)
    spans = {s.address: s for s in run.trace.spans}
    assert list(spans) == ["main#0", "main#0/a#0", "main#0/h#0", "main#0/h#0/a#0", "main#0/h#0/b#0"]
    assert spans["main#0/h#0"].inputs == ["main#0/a#0"]
    assert spans["main#0/h#0/a#0"].inputs == ["main#0/a#0"]
    assert spans["main#0/h#0"].ok == spans["main#0/h#0/b#0"].ok == run.result.ok


def test_choose_runs_the_chosen_branch_with_the_choose_input() -> None:
    flow = wf.seq(
        wf.call("a"), wf.choose("llm", {"x": (1.0, wf.call("a")), "y": (1.0, wf.call("b"))})
    )
    sc = wf.scenario(flow, TOOLS)
    picked = set()
    for seed in range(20):
        run = sc.run(seed=seed)
        decision = run.trace.span("main#0/llm#0")
        assert decision.kind == "choice"
        last = calls(run)[-1]
        assert last.name == ("a" if decision.value == "x" else "b")
        assert last.inputs == ["main#0/a#0"]
        picked.add(decision.value)
    assert picked == {"x", "y"}


def test_par_all_passes_every_result_on() -> None:
    sc = wf.scenario(wf.seq(wf.par(wf.call("a"), wf.call("b")), wf.call("a")), TOOLS)
    last = calls(sc.run(seed=1))[-1]
    assert last.inputs == ["main#0/a#0", "main#0/b#0"]


def rate(flow: wf.Flow, tools: dict[str, dict[str, Any]], n: int = 4000) -> tuple[float, float]:
    batch = wf.scenario(flow, tools).simulate(n, seed=0, keep_traces=False)
    return batch.rate("success").value, n


def close(flow: wf.Flow, tools: dict[str, dict[str, Any]], p: float) -> None:
    value, n = rate(flow, tools)
    assert abs(value - p) <= 4 * math.sqrt(p * (1 - p) / n) + 1e-12


P = {
    "p": dict(p_ok=0.5),
    "q": dict(p_ok=0.6, p_recover=0.25),
    "one": dict(p_ok=1.0),
    "zero": dict(p_ok=0.0),
}


@pytest.mark.parametrize(
    ("flow", "p"),
    [
        (wf.seq(wf.call("p"), wf.call("q")), 0.5 * 0.6 + 0.5 * 0.25),
        (wf.retry(wf.call("p"), n=2), 1 - 0.5**3),
        (wf.fallback(wf.call("p"), wf.call("q")), 1 - 0.5 * 0.4),
        (wf.par(wf.call("p"), wf.call("q")), 0.5 * 0.6),
        (wf.par(wf.call("p"), wf.call("q"), mode="any"), 1 - 0.5 * 0.4),
        (wf.choose("one", {"x": (1.0, wf.call("one")), "y": (3.0, wf.call("zero"))}), 0.25),
        (wf.subagent("h", wf.call("p")), 0.5),
    ],
)
def test_combinator_success_rates(flow: wf.Flow, p: float) -> None:
    close(flow, P, p)


def test_oracle_modules_do_not_import_the_engine() -> None:
    banned = {"simpy", "agentsim._engine", "agentsim.executor", "agentsim.scenario"}
    root = Path(asim.__file__).parent
    modules = [root / "workflow.py", *sorted((root / "analytic").glob("*.py"))]
    assert len(modules) > 2
    for path in modules:
        module = path.name
        tree = ast.parse(path.read_text())
        for node in tree.body:  # module level only; TYPE_CHECKING blocks do not run
            if isinstance(node, ast.Import):
                assert not {a.name for a in node.names} & banned, module
            elif isinstance(node, ast.ImportFrom):
                assert node.module not in banned, module
