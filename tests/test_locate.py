"""locate_failure: exact decisive errors for runs and traces, the message locator on Who&When."""

from __future__ import annotations

from pathlib import Path

import pytest

import agentsim as asim
from agentsim.locate import locate_failure
from agentsim.trace import Span, Trace

WHOWHEN = Path(__file__).resolve().parents[2] / "shared" / "data" / "whowhen-dev"


def test_simulated_run_gets_its_decisive_error() -> None:
    sc = asim.Scenario("loc")
    a, b = sc.tool("a", p_ok=0.5), sc.tool("b", p_ok=0.9)

    @sc.agent
    def main(ctx):  # type: ignore[no-untyped-def]
        x = yield ctx.call(a)
        return (yield ctx.call(b, x))

    run = next(
        r
        for r in (sc.run(seed=s) for s in range(99))
        if not r.result.ok and r.trace.span("main#0/b#0").noise["ok"] < 0.9
    )
    loc = locate_failure(run)
    assert (loc.address, loc.method) == ("main#0/a#0", "decisive_error")
    assert loc == asim.decisive_error(run)


def test_imported_trace_decisive_error_skips_recovered_errors() -> None:
    t = Trace(
        outcomes={"success": 0.0},
        spans=[
            Span(address="a#0", kind="agent", name="a", end=4, ok=False, error="error"),
            Span(
                address="a#0/s#0",
                kind="tool",
                name="s",
                parent="a#0",
                agent="a",
                end=1,
                ok=False,
                error="timeout",
            ),
            Span(address="a#0/s#1", kind="tool", name="s", parent="a#0", agent="a", start=1, end=2),
            Span(
                address="a#0/f#0",
                kind="tool",
                name="f",
                parent="a#0",
                agent="a",
                start=2,
                end=4,
                ok=False,
                error="HTTP 500",
            ),
        ],
    )
    loc = locate_failure(t)
    assert (loc.agent, loc.step, loc.address) == ("a", 2, "a#0/f#0")
    assert loc.method == "decisive_error"


def test_overdetermined_trace_names_first_unrecovered_error() -> None:
    spans = [
        Span(address="a#0", kind="agent", name="a", end=2, ok=False, error="error"),
        Span(
            address="a#0/s#0",
            kind="tool",
            name="s",
            parent="a#0",
            agent="a",
            end=1,
            ok=False,
            error="x",
        ),
        Span(
            address="a#0/f#0",
            kind="llm",
            name="f",
            parent="a#0",
            agent="a",
            start=1,
            end=2,
            ok=False,
            error="y",
        ),
    ]
    loc = locate_failure(Trace(outcomes={"success": 0.0}, spans=spans))
    assert (loc.step, loc.method) == (0, "first_unrecovered_error")
    ok = locate_failure(Trace(spans=[spans[1].model_copy(update={"ok": True, "error": None})]))
    assert (ok.agent, ok.step, ok.method) == (None, None, "none")


def test_message_locator_blames_author_of_abandoned_failing_code() -> None:
    contents = [
        ("Planner", "Task: count the rows."),
        ("Coder", "```python\nimport pandas\n```"),
        ("Terminal", "exitcode: 1 (execution failed)\nTraceback (most recent call last):"),
        ("Checker", "Looks fine to me."),
        ("Terminal", "exitcode: 0 (execution succeeded)\nCode output: ok"),
    ]
    t = Trace(
        source="whowhen",
        spans=[Span(address="run#0", kind="agent", name="run")]
        + [
            Span(
                address=f"run#0/step#{i}",
                kind="step",
                name="step",
                parent="run#0",
                agent=a,
                attributes={"content": c},
            )
            for i, (a, c) in enumerate(contents)
        ],
    )
    loc = locate_failure(t)
    assert (loc.agent, loc.step, loc.method) == ("Coder", 1, "message_signals")
    assert loc.details["executors"] == ["Terminal"]


def _measure(subset: str) -> tuple[float, float, float]:
    files = sorted((WHOWHEN / subset).glob("*.json"))
    agent = step = chance = 0.0
    for f in files:
        t = asim.load_trace(f)
        loc = locate_failure(t)
        agent += loc.agent == t.attributes["mistake_agent"]
        step += loc.step == t.attributes["mistake_step"]
        chance += 1 / sum(1 for s in t.spans if s.kind == "step")
    n = len(files)
    return agent / n, step / n, chance / n


@pytest.mark.skipif(not WHOWHEN.is_dir(), reason="shared data folder is absent")
def test_whowhen_dev_accuracy_floor() -> None:
    # Measured on the dev set: Algorithm-Generated (25 logs) 56.0% agent / 24.0% step;
    # Hand-Crafted (10 logs) 70.0% agent / 0.0% step. The floors are those numbers.
    agent, step, chance = _measure("Algorithm-Generated")
    assert agent >= 0.56
    assert step >= 0.24
    assert step > chance  # chance: a uniformly random step, 12.1% on these 25 logs
    assert step > 0.191  # the published random baseline on the full subset
    agent_hc, step_hc, _ = _measure("Hand-Crafted")
    assert agent_hc >= 0.70
    assert step_hc >= 0.0


@pytest.mark.skipif(not WHOWHEN.is_dir(), reason="shared data folder is absent")
def test_whowhen_agents_are_named_as_the_log_names_them() -> None:
    t = asim.load_trace(WHOWHEN / "Hand-Crafted" / "1.json")
    loc = locate_failure(t)
    agents = {s.agent for s in t.spans if s.kind == "step"}
    assert loc.agent in agents
    assert not any("(" in str(a) for a in agents)
