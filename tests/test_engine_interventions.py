"""Interventions at the engine's choke point: effective mechanism, scope, event structure."""

from __future__ import annotations

import pytest

import agentsim as asim


def _slow() -> asim.Scenario:
    sc = asim.Scenario("slow")
    slow = sc.tool("slow", latency=7.0)

    @sc.agent
    def main(ctx):  # type: ignore[no-untyped-def]
        return (yield ctx.call(slow))

    return sc


def test_set_params_timeout_applies_to_the_call() -> None:
    run = _slow().run(seed=0)
    assert run.outcomes["success"] == 1.0 and run.outcomes["latency"] == 7.0
    cf = asim.counterfactual(run, asim.set_params("slow", timeout=2.5))
    span = cf.trace.span("main#0/slow#0")
    assert not span.ok and span.error == "timeout after 2.5s"
    assert cf.outcomes["latency"] == 2.5


def test_replaced_tool_brings_its_own_timeout() -> None:
    sc = _slow()
    quick_or_cut = asim.Tool("other", latency=7.0, timeout=1.0)
    cf = asim.counterfactual(sc.run(seed=0), asim.replace("slow", quick_or_cut))
    assert cf.trace.span("main#0/slow#0").error == "timeout after 1s"


def _pair(capacity: int) -> asim.Scenario:
    sc = asim.Scenario("pair")
    t = sc.tool("t", latency=1.0, capacity=capacity)

    @sc.agent
    def main(ctx):  # type: ignore[no-untyped-def]
        a, _b = yield ctx.parallel(ctx.call(t), ctx.call(t))
        return a

    return sc


def test_set_params_capacity_gives_a_pool_of_that_size() -> None:
    run = _pair(1).run(seed=0)
    assert run.outcomes["latency"] == 2.0
    cf = asim.counterfactual(run, asim.set_params("t", capacity=2))
    assert cf.outcomes["latency"] == 1.0
    assert [s.queued for s in cf.trace.calls()] == [0.0, 0.0]


def test_replacing_an_agent_does_not_touch_the_calls_its_replacement_makes() -> None:
    sc = asim.Scenario("rep")
    t = sc.tool("t", p_ok=1.0, latency=1.0)
    flaky = sc.tool("flaky", p_ok=0.0, latency=1.0)

    @sc.agent
    def main(ctx):  # type: ignore[no-untyped-def]
        return (yield ctx.spawn(worker))

    @sc.agent
    def worker(ctx):  # type: ignore[no-untyped-def]
        return (yield ctx.call(flaky))

    def better(ctx):  # type: ignore[no-untyped-def]
        return (yield ctx.call(t))

    run = sc.run(seed=0)
    assert run.outcomes["success"] == 0.0
    cf = asim.counterfactual(run, asim.replace("worker", better))
    span = cf.trace.span("main#0/worker#0/t#0")
    assert span.ok and span.error is None
    assert cf.outcomes["success"] == 1.0


def test_a_counterfactual_on_one_session_leaves_its_peers_sub_agents_alone() -> None:
    sc = asim.Scenario("coupled-agents")
    t = sc.tool("t", p_ok=1.0, latency=2.0, capacity=1)

    @sc.agent
    def main(ctx):  # type: ignore[no-untyped-def]
        return (yield ctx.spawn(worker))

    @sc.agent
    def worker(ctx):  # type: ignore[no-untyped-def]
        return (yield ctx.call(t))

    batch = sc.simulate(3, seed=0, arrivals=1.0)
    assert [r.outcomes["success"] for r in batch] == [1.0, 1.0, 1.0]
    cf = asim.counterfactual(batch[1], asim.break_("worker", agent_result=True))
    assert cf.outcomes["success"] == 0.0
    assert [p.outcomes["success"] for p in cf.peers] == [1.0, 0.0, 1.0]


def _queue_with_timeouts() -> asim.Scenario:
    # fixed latencies and periodic arrivals: many events fall on the same instant, so any
    # change in the event structure of one call would reorder the others
    sc = asim.Scenario("ties")
    t = sc.tool("t", p_ok=0.8, latency=1.0, capacity=1, timeout=2.5)
    u = sc.tool("u", p_ok=0.9, latency=0.5, capacity=1, timeout=1.0)

    @sc.agent
    def main(ctx):  # type: ignore[no-untyped-def]
        a = yield ctx.call(t)
        b = yield ctx.call(u, a)
        return b

    return sc


def test_repairing_an_ok_call_in_a_coupled_batch_changes_nothing() -> None:
    sc = _queue_with_timeouts()
    batch = sc.simulate(6, seed=3, arrivals=0.5)
    checked = 0
    for i, run in enumerate(batch):
        for span in run.trace.calls():
            if not span.ok:
                continue
            cf = asim.counterfactual(run, asim.repair(span.address))
            got = [(s.address, s.start, s.end, s.queued, s.ok) for s in cf.trace.spans]
            want = [(s.address, s.start, s.end, s.queued, s.ok) for s in run.trace.spans]
            assert got == want, (i, span.address)
            assert [p.outcomes for p in cf.peers] == [r.outcomes for r in batch]
            checked += 1
    assert checked >= 6


def test_repair_of_a_timed_out_queued_call_waits_for_its_slot() -> None:
    sc = _queue_with_timeouts()
    batch = sc.simulate(6, seed=3, arrivals=0.5)
    late = [s for r in batch for s in r.trace.calls() if s.error and "timeout" in s.error]
    assert late, "the scenario should make some calls time out in the queue"
    run = next(r for r in batch if late[0] in r.trace.spans)
    cf = asim.counterfactual(run, asim.repair(late[0].address))
    span = cf.trace.span(late[0].address)
    assert span.ok and span.status == "done"
    # it kept its place in the queue and then did its full service time
    assert span.end - span.start - span.queued == (1.0 if span.name == "t" else 0.5)


def test_repairing_an_ok_call_keeps_the_order_of_a_tie() -> None:
    # left's a (capacity and timeout) and right's b (capacity only) end at the same instant;
    # which branch then gets the one slot of c follows the event queue, so a repair of the
    # already-ok a must schedule exactly the events the factual a did
    sc = asim.Scenario("tie")
    a = sc.tool("a", p_ok=1.0, latency=1.0, capacity=1, timeout=5.0)
    b = sc.tool("b", p_ok=1.0, latency=1.0, capacity=1)
    c = sc.tool("c", p_ok=1.0, latency=1.0, capacity=1)

    @sc.agent
    def main(ctx):  # type: ignore[no-untyped-def]
        first, _ = yield ctx.parallel(ctx.spawn(left), ctx.spawn(right))
        return first

    @sc.agent
    def left(ctx):  # type: ignore[no-untyped-def]
        x = yield ctx.call(a)
        return (yield ctx.call(c, x))

    @sc.agent
    def right(ctx):  # type: ignore[no-untyped-def]
        x = yield ctx.call(b)
        return (yield ctx.call(c, x))

    run = sc.run(seed=0)
    served = [(s.address, s.queued) for s in run.trace.calls() if s.name == "c"]
    assert served == [("main#0/right#0/c#0", 0.0), ("main#0/left#0/c#0", 1.0)]
    cf = asim.counterfactual(run, asim.repair("main#0/left#0/a#0"))
    assert [(s.address, s.queued) for s in cf.trace.calls() if s.name == "c"] == served
    assert not cf.diff(run)


def test_a_coupled_counterfactual_keeps_the_batch_interventions_on_every_session() -> None:
    sc = asim.Scenario("coupled-world")
    t = sc.tool("t", p_ok=1.0, latency=2.0, capacity=1)

    @sc.agent
    def main(ctx):  # type: ignore[no-untyped-def]
        return (yield ctx.call(t))

    batch = sc.simulate(3, seed=0, arrivals=1.0, interventions=asim.do("t", latency=0.5))
    assert [r.outcomes["latency"] for r in batch] == [0.5, 0.5, 0.5]
    cf = asim.counterfactual(batch[1], asim.do("main#0/t#0", latency=3.0))
    # session 1 holds the server from 1 to 4; session 2 (still under the batch's do) waits
    assert [p.outcomes["latency"] for p in cf.peers] == [0.5, 3.0, 2.5]
    assert [len(p.interventions) for p in cf.peers] == [1, 2, 1]
    # a counterfactual of that counterfactual keeps each session's world
    cf2 = asim.counterfactual(cf, asim.do("main#0/t#0", latency=1.0))
    assert [p.outcomes["latency"] for p in cf2.peers] == [0.5, 1.0, 0.5]


def _server() -> asim.Scenario:
    sc = asim.Scenario("server")
    t = sc.tool("t", p_ok=1.0, latency=2.0, capacity=1)

    @sc.agent
    def main(ctx):  # type: ignore[no-untyped-def]
        return (yield ctx.call(t))

    return sc


def test_capacity_cannot_change_for_some_calls_only() -> None:
    run = _pair(1).run(seed=0)
    for target in ("main#0/t#0", "main#0/t#*"):
        with pytest.raises(asim.InterventionError, match="capacity is one pool"):
            asim.counterfactual(run, asim.set_params(target, capacity=2))


def test_capacity_of_a_shared_tool_cannot_change_for_one_session_of_a_batch() -> None:
    sc = _server()
    batch = sc.simulate(3, seed=0, arrivals=1.0)
    assert [r.outcomes["latency"] for r in batch] == [2.0, 3.0, 4.0]
    # the pool is one server for every session: a private pool of any size for session 2
    # would be a different system, so the question is refused
    for capacity in (1, 2, 5):
        if capacity == 1:
            cf = asim.counterfactual(batch[2], asim.set_params("t", capacity=capacity))
            assert cf.outcomes["latency"] == 4.0
            continue
        with pytest.raises(asim.InterventionError, match="one pool of capacity 1"):
            asim.counterfactual(batch[2], asim.set_params("t", capacity=capacity))
    # the same change for every session is a well-posed question
    wider = sc.simulate(3, seed=0, arrivals=1.0, interventions=asim.set_params("t", capacity=2))
    assert [r.outcomes["latency"] for r in wider] == [2.0, 2.0, 2.0]


def test_a_counterfactual_of_a_peer_keeps_every_other_sessions_world() -> None:
    sc = _server()
    batch = sc.simulate(3, seed=0, arrivals=1.0, interventions=asim.do("t", latency=0.5))
    cf = asim.counterfactual(batch[1], asim.do("main#0/t#0", latency=3.0))
    assert [p.outcomes["latency"] for p in cf.peers] == [0.5, 3.0, 2.5]
    # now change session 2 of that world: session 1 still holds the server from 1 to 4
    cf3 = asim.counterfactual(cf.peers[2], asim.do("main#0/t#0", latency=1.0))
    assert [p.outcomes["latency"] for p in cf3.peers] == [0.5, 3.0, 3.0]
    assert [len(p.interventions) for p in cf3.peers] == [1, 2, 2]
    assert cf3.outcomes == cf3.peers[2].outcomes


def test_a_slot_freed_as_a_queued_calls_timer_fires_times_the_call_out_at_once() -> None:
    # the holder ends at 0 + 0.30000000000000004 and the waiter's timer fires at 0.1 + 0.2:
    # the same float instant; the holder's event was scheduled first, so the slot is granted
    # as the timer fires, and the time left of the timeout is 0.2 - 0.20000000000000004 < 0
    sc = asim.Scenario("float-tie")
    p = sc.tool("p", latency=0.1 + 0.2, capacity=1, timeout=0.2)

    @sc.agent
    def main(ctx):  # type: ignore[no-untyped-def]
        return (yield ctx.parallel(ctx.call(p), ctx.spawn(late)))

    @sc.agent
    def late(ctx):  # type: ignore[no-untyped-def]
        yield ctx.wait(0.1)
        return (yield ctx.call(p))

    run = sc.run(seed=0, interventions=asim.repair("main#0/p#0"))
    holder, waiter = run.trace.span("main#0/p#0"), run.trace.span("main#0/late#0/p#0")
    assert holder.ok and holder.end == 0.1 + 0.2
    assert not waiter.ok and waiter.error == "timeout after 0.2s"
    assert waiter.end == 0.1 + 0.2 and waiter.start == 0.1


def test_a_deadline_inside_an_agent_level_delay_stops_the_run_cleanly() -> None:
    # was an uncaught simpy.Interrupt: the delay's wait sat outside the agent's halt handling
    from agentsim import workflow as wf

    sc = wf.scenario(wf.subagent("s0", wf.call("a")), {"a": {"latency": 1.8}}, deadline=2.0)
    run = sc.run(seed=0, interventions=[asim.delay("main#0/s0#0", 0.5)])
    assert run.outcomes["success"] == 0.0
    assert "deadline exceeded (2s)" in (run.result.error or "")
    assert run.trace.span("main#0/s0#0").status == "unfinished"
    assert run.outcomes["latency"] == 2.0
