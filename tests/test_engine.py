"""The SimPy kernel: determinism, mechanisms, time, capacity, failures."""

from __future__ import annotations

import math
import os
import subprocess
import sys

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import agentsim as asim
from agentsim import dist
from agentsim.errors import ScenarioWarning
from tests.helpers import chain, support_desk


def test_same_seed_same_trace_json() -> None:
    sc = support_desk()
    assert sc.run(seed=11).trace.model_dump_json() == sc.run(seed=11).trace.model_dump_json()
    assert sc.run(seed=11).trace.model_dump_json() != sc.run(seed=12).trace.model_dump_json()


def test_identical_trace_in_fresh_processes_with_different_hash_seeds() -> None:
    code = (
        "from tests.helpers import support_desk; "
        "print(support_desk().run(seed=5).trace.model_dump_json())"
    )
    outs = set()
    for hs in ("1", "987"):
        env = dict(os.environ, PYTHONHASHSEED=hs)
        outs.add(
            subprocess.run(
                [sys.executable, "-c", code],
                env=env,
                check=True,
                capture_output=True,
                text=True,
                cwd=os.getcwd(),
            ).stdout
        )
    assert outs == {support_desk().run(seed=5).trace.model_dump_json() + "\n"}


def test_workers_do_not_change_the_batch() -> None:
    sc = support_desk()
    one = sc.simulate(120, seed=3, workers=1)
    two = sc.simulate(120, seed=3, workers=2)
    assert [r.seed for r in one] == [r.seed for r in two]
    assert [r.outcomes for r in one] == [r.outcomes for r in two]
    assert one[77].trace.model_dump_json() == two[77].trace.model_dump_json()
    assert sc.run(seed=one[77].seed).trace.model_dump_json() == one[77].trace.model_dump_json()


@settings(max_examples=15)
@given(st.lists(st.floats(min_value=0.5, max_value=1.0), min_size=1, max_size=5))
def test_chain_success_rate_is_product_of_p_ok(p_oks: list[float]) -> None:
    batch = chain(p_oks).simulate(2000, seed=1, keep_traces=False)
    expected = math.prod(p_oks)
    rate = batch.rate("success", confidence=0.9999)
    assert rate.low <= expected <= rate.high


def test_noisy_and_leak_uses_p_recover_after_a_bad_input() -> None:
    sc = chain([0.0, 0.8], p_recover=0.5)  # the first always fails
    rate = sc.simulate(4000, seed=0, keep_traces=False).rate("success", confidence=0.9999)
    assert rate.low <= 0.5 <= rate.high


def _parallel_pair(capacity: int) -> asim.Scenario:
    sc = asim.Scenario(f"cap{capacity}")
    t = sc.tool("t", latency=1.0, capacity=capacity)

    @sc.agent
    def main(ctx):  # type: ignore[no-untyped-def]
        a, b = yield ctx.parallel(ctx.call(t), ctx.call(t))
        return a.ok and b.ok

    return sc


def test_capacity_one_serialises_two_parallel_calls() -> None:
    run = _parallel_pair(1).run(seed=0)
    assert run.outcomes["latency"] == 2.0
    assert sorted(s.queued for s in run.trace.calls()) == [0.0, 1.0]
    assert _parallel_pair(2).run(seed=0).outcomes["latency"] == 1.0


def test_timeout_fails_after_exactly_the_timeout() -> None:
    sc = asim.Scenario("to")
    slow = sc.tool("slow", latency=7.0, timeout=2.5)

    @sc.agent
    def main(ctx):  # type: ignore[no-untyped-def]
        return (yield ctx.call(slow))

    run = sc.run(seed=0)
    span = run.trace.span("main#0/slow#0")
    assert not span.ok and span.error == "timeout after 2.5s"
    assert span.end - span.start == 2.5 and run.outcomes["latency"] == 2.5


def test_timeout_counts_queueing() -> None:
    sc = asim.Scenario("toq")
    t = sc.tool("t", latency=2.0, timeout=3.0, capacity=1)

    @sc.agent
    def main(ctx):  # type: ignore[no-untyped-def]
        a, _b = yield ctx.parallel(ctx.call(t), ctx.call(t))
        return a

    spans = sc.run(seed=0).trace.calls()
    assert [s.ok for s in spans] == [True, False]
    assert spans[1].queued == 2.0 and spans[1].end == 3.0


def test_first_returns_first_ok_and_cancels_the_rest() -> None:
    sc = asim.Scenario("first")
    fast_bad = sc.tool("fast_bad", p_ok=0.0, latency=1.0)
    mid_ok = sc.tool("mid_ok", latency=2.0)
    slow_ok = sc.tool("slow_ok", latency=3.0)

    @sc.agent
    def main(ctx):  # type: ignore[no-untyped-def]
        return (yield ctx.first(ctx.call(fast_bad), ctx.call(mid_ok), ctx.call(slow_ok)))

    run = sc.run(seed=0)
    assert run.result.ok and run.outcomes["latency"] == 2.0
    assert run.trace.span("main#0/slow_ok#0").status == "cancelled"
    assert run.trace.span("main#0/slow_ok#0").end == 2.0
    assert run.trace.span("main#0/fast_bad#0").status == "done"


def test_an_agent_that_raises_fails_the_run_with_its_message() -> None:
    sc = asim.Scenario("raise")
    t = sc.tool("t")

    @sc.agent
    def main(ctx):  # type: ignore[no-untyped-def]
        helper = yield ctx.spawn(broken)
        return helper

    @sc.agent
    def broken(ctx):  # type: ignore[no-untyped-def]
        yield ctx.call(t)
        raise RuntimeError("tool output unparsable")

    with pytest.warns(ScenarioWarning, match="1 of 1 runs crashed: RuntimeError"):
        run = sc.run(seed=0)
    assert run.outcomes["success"] == 0.0
    assert run.trace.span("main#0/broken#0").error == "RuntimeError: tool output unparsable"
    assert run.result.error == "RuntimeError: tool output unparsable"
    assert run.crash is not None and run.crash.agent == "main#0/broken#0"
    assert (run.crash.file, run.crash.type) == ("test_engine.py", "RuntimeError")


def test_max_steps_stops_an_infinite_loop() -> None:
    sc = asim.Scenario("loop", max_steps=50)
    t = sc.tool("t", latency=0.0)

    @sc.agent
    def main(ctx):  # type: ignore[no-untyped-def]
        while True:
            yield ctx.call(t)

    run = sc.run(seed=0)
    assert run.outcomes["success"] == 0.0
    assert len(run.trace.calls()) == 50
    assert "max_steps (50) exceeded" in str(run.attributes["stopped"])


def test_deadline_fails_a_slow_run_and_marks_calls_unfinished() -> None:
    sc = asim.Scenario("dl", deadline=5.0)
    t = sc.tool("t", latency=3.0)

    @sc.agent
    def main(ctx):  # type: ignore[no-untyped-def]
        a = yield ctx.call(t)
        return (yield ctx.call(t, a))

    run = sc.run(seed=0)
    assert run.outcomes == {"success": 0.0, "latency": 5.0, "cost": 0.0}
    assert run.trace.span("main#0/t#1").status == "unfinished"
    assert "deadline" in (run.result.error or "")


def test_choice_frequencies_follow_weights_and_inputs_can_shape_them() -> None:
    sc = asim.Scenario("ch")
    m = sc.model("m", latency=0.0)

    @sc.agent
    def main(ctx):  # type: ignore[no-untyped-def]
        c = yield ctx.choose(m, lambda inputs: {"x": 3.0, "y": 1.0})
        return c.value == "x"

    rate = sc.simulate(4000, seed=0, keep_traces=False).rate("success", confidence=0.9999)
    assert rate.low <= 0.75 <= rate.high


def test_custom_mechanism_and_user_outcome() -> None:
    sc = asim.Scenario("custom")
    t = sc.tool(
        "t", mechanism=lambda inputs, noise: {"ok": noise["ok"] < 0.25, "value": 42, "latency": 2.0}
    )

    @sc.agent
    def main(ctx):  # type: ignore[no-untyped-def]
        return (yield ctx.call(t))

    sc.outcome("slow", lambda run: run.outcomes["latency"] > 1)
    batch = sc.simulate(2000, seed=0)
    rate = batch.rate("success", confidence=0.9999)
    assert rate.low <= 0.25 <= rate.high
    ok_run = next(r for r in batch if r.result.ok)
    assert ok_run.result.value == 42 and ok_run.outcomes["slow"] == 1.0


@pytest.mark.parametrize(
    ("field", "bad"),
    [("latency", math.inf), ("latency", -1.0), ("cost", math.nan), ("cost", math.inf)],
)
def test_a_mechanism_returning_a_bad_time_or_cost_fails_the_call_by_name(field, bad) -> None:  # type: ignore[no-untyped-def]
    sc = asim.Scenario("bad-mech")
    t = sc.tool("t", mechanism=lambda inputs, noise: {"ok": True, field: bad})

    @sc.agent
    def main(ctx):  # type: ignore[no-untyped-def]
        return (yield ctx.call(t))

    # the agent fails, as a crash (a bug in scenario code); the run and its trace are still
    # well formed
    with pytest.warns(ScenarioWarning, match="crashed: ScenarioError"):
        run = sc.run(seed=0)
    assert run.outcomes["success"] == 0.0
    assert f"mechanism of 't' returned {field} {bad!r}" in run.result.error
    assert math.isfinite(run.outcomes["latency"]) and math.isfinite(run.outcomes["cost"])
    assert run.trace.span("main#0").error == run.result.error


def test_sub_agent_result_rules() -> None:
    sc = asim.Scenario("sub")

    @sc.agent
    def main(ctx):  # type: ignore[no-untyped-def]
        a = yield ctx.spawn(truthy)
        b = yield ctx.spawn(falsy)
        return a.ok and not b.ok

    @sc.agent
    def truthy(ctx):  # type: ignore[no-untyped-def]
        yield ctx.wait(1.0)
        return "done"

    @sc.agent
    def falsy(ctx):  # type: ignore[no-untyped-def]
        yield ctx.wait(1.0)
        return None

    run = sc.run(seed=0)
    assert run.outcomes["success"] == 1.0 and run.outcomes["latency"] == 2.0
    assert run.trace.span("main#0/truthy#0").value == "done"


def test_addresses_follow_the_documented_scheme() -> None:
    run = next(
        r
        for r in (support_desk().run(seed=s) for s in range(40))
        if any(sp.name == "escalation" for sp in r.trace.spans)
    )
    addrs = run.trace.addresses()
    assert addrs[:4] == [
        "support#0",
        "support#0/lookup_order#0",
        "support#0/planner#0",
        "support#0/planner#1",
    ]
    assert "support#0/escalation#0/planner#1" in addrs


def test_mm1_queue_waiting_time_matches_queueing_theory() -> None:
    # lambda = 0.5, mu = 1: rho = 0.5 and the mean wait in queue is rho / (mu - lambda) = 1.
    sc = asim.Scenario("mm1")
    server = sc.tool("server", latency=dist.Exponential(mean=1.0), capacity=1)

    @sc.agent
    def main(ctx):  # type: ignore[no-untyped-def]
        return (yield ctx.call(server))

    batch = sc.simulate(40_000, seed=0, arrivals=dist.Exponential(mean=2.0))
    waits = np.array([r.trace.spans[1].queued for r in batch])
    means = waits[2000:].reshape(38, -1).mean(axis=1)  # batch means: waits are autocorrelated
    se = means.std(ddof=1) / math.sqrt(len(means))
    assert abs(means.mean() - 1.0) < 4 * se
    assert batch[5].outcomes["latency"] == pytest.approx(
        batch[5].trace.spans[1].queued
        + batch[5].trace.spans[1].duration
        - batch[5].trace.spans[1].queued
    )


def test_arrivals_make_latency_count_from_arrival() -> None:
    sc = _parallel_pair(1)
    batch = sc.simulate(3, seed=0, arrivals=0.5)
    assert [r.attributes["arrival"] for r in batch] == [0.0, 0.5, 1.0]
    assert batch[0].outcomes["latency"] == 2.0
    assert batch[1].outcomes["latency"] > 2.0  # it queued behind session 0
    assert batch[1].trace.spans[0].start == 0.0


@pytest.mark.parametrize(
    "bad",
    [
        lambda sc: sc.tool("t", p_ok=1.5),
        lambda sc: sc.tool("t/x"),
        lambda sc: sc.tool("t", capacity=0),
        lambda sc: sc.tool("t", latency="slow"),
        lambda sc: sc.tool("t", unknown=1),
        lambda sc: (sc.tool("t"), sc.tool("t")),
    ],
)
def test_bad_definitions_are_scenario_errors(bad) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(asim.ScenarioError):
        bad(asim.Scenario("bad"))


def test_yielding_something_else_fails_the_agent_clearly() -> None:
    sc = asim.Scenario("y")

    @sc.agent
    def main(ctx):  # type: ignore[no-untyped-def]
        yield 3

    with pytest.warns(ScenarioWarning, match=r"crashed: ScenarioError: agent 'main' yielded 3"):
        run = sc.run(seed=0)
    assert not run.result.ok and "yielded 3" in (run.result.error or "")
