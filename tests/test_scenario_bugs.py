"""Loud scenario bugs: crashes, plain-function agents, unyielded requests, unknown inputs."""

from __future__ import annotations

import inspect
import warnings
from pathlib import Path

import pytest

import agentsim as asim
from agentsim.errors import ScenarioError, ScenarioWarning
from tests.helpers import run_cli


def _buggy(p_ok: float = 0.5) -> tuple[asim.Scenario, int]:
    """A scenario whose agent hits a NameError whenever its tool fails; and that line."""
    sc = asim.Scenario("rag")
    t = sc.tool("t", p_ok=p_ok)

    @sc.agent
    def main(ctx):  # type: ignore[no-untyped-def]
        r = yield ctx.call(t)
        if not r.ok:
            return undefined_name  # type: ignore[name-defined]  # noqa: F821
        return r

    lines, first = inspect.getsourcelines(main.fn)
    line = first + next(i for i, text in enumerate(lines) if "undefined_name" in text)
    return sc, line


def test_a_crash_is_recorded_counted_summarised_and_warned_once() -> None:
    sc, line = _buggy()
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        batch = sc.simulate(40, seed=0)
    ours = [w for w in caught if issubclass(w.category, ScenarioWarning)]
    assert len(ours) == 1  # one warning for the whole batch
    crashed = batch.crashes()
    failed = list(batch.failures())
    assert crashed and crashed == failed  # every failure here is the bug, counted as failure
    where = f"(test_scenario_bugs.py:{line})"
    first = crashed[0].crash
    assert first is not None
    assert str(first) == f"NameError: name 'undefined_name' is not defined {where}"
    assert (first.type, first.file, first.line, first.agent) == (
        "NameError",
        "test_scenario_bugs.py",
        line,
        "main#0",
    )
    summary = f"{len(crashed)} of 40 runs crashed: NameError: name 'undefined_name' is not defined"
    assert batch.crash_summary() == f"{summary} {where}"
    assert repr(batch) == f"Batch(scenario='rag', n=40, seed=0, crashed={len(crashed)})"
    assert str(ours[0].message).startswith(batch.crash_summary() or "")
    # the trace keeps it too
    assert crashed[0].trace.attributes["crash"]["line"] == line
    # runs that did not crash record nothing
    assert all(r.crash is None for r in batch if r.outcomes["success"])


def test_on_crash_raise_reraises_the_first_crash_with_its_traceback() -> None:
    sc, line = _buggy()
    with pytest.raises(NameError, match="undefined_name") as info:
        sc.simulate(40, seed=0, on_crash="raise")
    assert any(  # the traceback leads to the line of scenario code that raised
        e.path.name == "test_scenario_bugs.py" and e.lineno + 1 == line for e in info.traceback
    )
    with pytest.raises(NameError):
        sc.simulate(40, seed=0, workers=2, on_crash="raise")
    with pytest.raises(ScenarioError, match="on_crash='ignore' must be 'record' or 'raise'"):
        sc.simulate(4, on_crash="ignore")


def test_crashes_from_worker_processes_are_recorded_like_serial_ones() -> None:
    sc, _ = _buggy()
    with pytest.warns(ScenarioWarning):
        serial = sc.simulate(40, seed=1)
    with pytest.warns(ScenarioWarning):
        forked = sc.simulate(40, seed=1, workers=2)
    assert [r.crash for r in serial] == [r.crash for r in forked]
    assert serial.crash_summary() == forked.crash_summary()


def test_a_modelled_failure_is_not_a_crash() -> None:
    sc = asim.Scenario("modelled")
    t = sc.tool("t", p_ok=0.5)

    @sc.agent
    def main(ctx):  # type: ignore[no-untyped-def]
        r = yield ctx.call(t)
        if not r.ok:
            raise asim.Failure("search came back empty")
        return r

    with warnings.catch_warnings():
        warnings.simplefilter("error", ScenarioWarning)
        batch = sc.simulate(30, seed=0)
    failed = list(batch.failures())
    assert failed and not batch.crashes() and batch.crash_summary() is None
    assert {r.result.error for r in failed} == {"search came back empty"}


def test_a_plain_function_agent_is_refused_when_registered() -> None:
    sc = asim.Scenario("plain")
    t = sc.tool("t")

    def main(ctx):  # type: ignore[no-untyped-def]
        return ctx.call(t)  # forgot yield: the call would never be made

    with pytest.raises(ScenarioError, match="'main' is not a generator function"):
        sc.agent(main)
    assert "main" not in sc.agents


def test_a_request_created_but_never_yielded_is_a_warning_on_the_run() -> None:
    sc = asim.Scenario("lost")
    t, u = sc.tool("t"), sc.tool("u")

    @sc.agent
    def main(ctx):  # type: ignore[no-untyped-def]
        ctx.call(u)  # created, never yielded: never made
        return (yield ctx.call(t))

    with pytest.warns(ScenarioWarning, match="never yielded, so never made: main#0/u#0"):
        run = sc.run(seed=0)
    assert run.outcomes["success"] == 1.0
    assert len(run.warnings) == 1 and "main#0/u#0" in run.warnings[0]
    assert [s.address for s in run.trace.calls()] == ["main#0/t#0"]
    with pytest.warns(ScenarioWarning, match="5 of 5 runs: 1 call request"):
        sc.simulate(5, keep_traces=False)
    with pytest.warns(ScenarioWarning, match="6 of 6 runs: 1 call request"):
        forked = sc.simulate(6, workers=2)  # workers ship the warnings with their rows
    assert all(len(r.warnings) == 1 for r in forked)


def test_unyielded_requests_are_counted_alike_whether_or_not_calls_are_recorded() -> None:
    sc = asim.Scenario("lost2")
    t, u = sc.tool("t"), sc.tool("u")

    @sc.agent
    def main(ctx):  # type: ignore[no-untyped-def]
        ctx.call(u)
        ctx.call(u)  # two created, never yielded
        return (yield ctx.call(t))

    with pytest.warns(ScenarioWarning, match="2 call request.*: main#0/u#0, main#0/u#1;"):
        sc.simulate(3)
    for options in ({"keep_traces": False}, {"workers": 2}):
        # calls not recorded: the count is the same, the addresses are not known
        with pytest.warns(ScenarioWarning, match="2 call request.*never made; write"):
            batch = sc.simulate(6, **options)
        assert all(
            w.startswith("2 call request(s) created but never yielded, so never made; write")
            for r in batch
            for w in r.warnings
        )


def test_no_warning_for_a_clean_scenario() -> None:
    sc = asim.Scenario("clean")
    t = sc.tool("t", p_ok=0.5)

    @sc.agent
    def main(ctx):  # type: ignore[no-untyped-def]
        a, b = yield ctx.parallel(ctx.call(t), ctx.call(t))
        return (yield ctx.first(ctx.call(t, a), ctx.call(t, b)))

    with warnings.catch_warnings():
        warnings.simplefilter("error", ScenarioWarning)
        batch = sc.simulate(30, seed=0)
    assert not any(r.warnings for r in batch) and not batch.crashes()


def test_inputs_the_entry_agent_does_not_accept_are_refused_before_any_run() -> None:
    sc = asim.Scenario("inputs")
    t = sc.tool("t")
    calls = []

    @sc.agent
    def main(ctx, ticket="T-1"):  # type: ignore[no-untyped-def]
        calls.append(ticket)
        return (yield ctx.call(t))

    with pytest.raises(ScenarioError, match=r"simulate\(\) got \['engin'\].*main\(ctx, ticket="):
        sc.simulate(5, engin="vector")
    with pytest.raises(ScenarioError, match=r"run\(\) got \['tiket'\]"):
        sc.run(seed=0, tiket="T-2")
    assert calls == []  # refused before any run
    assert sc.simulate(3, ticket="T-9").rate().value == 1.0
    assert calls == ["T-9"] * 3

    open_sc = asim.Scenario("open")
    t2 = open_sc.tool("t2")

    @open_sc.agent
    def other(ctx, **anything):  # type: ignore[no-untyped-def]
        return (yield ctx.call(t2))

    assert open_sc.simulate(2, whatever=1).rate().value == 1.0


def test_cli_run_prints_the_crash_line(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = tmp_path / "rag.py"
    path.write_text(
        "import agentsim as asim\n"
        "scenario = asim.Scenario('rag')\n"
        "t = scenario.tool('t', p_ok=0.5)\n"
        "@scenario.agent\n"
        "def main(ctx):\n"
        "    r = yield ctx.call(t)\n"
        "    if not r.ok:\n"
        "        return x\n"
        "    return r\n"
    )
    code, text, _ = run_cli(["run", str(path), "--runs", "20"], capsys)
    assert code == 0
    assert "runs crashed: NameError: name 'x' is not defined (rag.py:8)" in text
