"""TraceWorld's time equations on traces shaped like a served agent: streams, polls, pins.

The synthetic trace mirrors the shared Jaeger trace of an agent served over A2A, at the scale
of the trace the issue describes (a last LLM call of about 14 s): a server span ``POST``
whose streaming ``http_receive`` span ends with the last ``http_send``, a detached event
stream enclosing the agent, and a polling loop of 0.5 s ``dequeue`` spans (cancelled polls)
whose last one returns when the agent's ``enqueue`` fires. Every expected number below is
computed by hand from the times written here.
"""

from __future__ import annotations

from pathlib import Path

import pytest

import agentsim as asim
from agentsim.trace import Span, Trace
from agentsim.worlds.trace import TraceWorld

DATA = Path(__file__).resolve().parents[2] / "shared" / "data"
HELM = DATA / "traces" / "otel_genai_jaeger" / "helm.json"

STREAM = "POST#0/setup#0/stream#0"
AGENT = f"{STREAM}/invocation#0/agent#0"
LLM = f"{AGENT}/call_llm#1"
LEAF = f"{LLM}/chat#0/POST#0"
POLL = 0.5001  # a poll lasts 0.5 s, the next begins 0.1 ms later
WAITER = 36  # the poll in progress when the agent's enqueue fires at 18.2773


def _span(address: str, kind: str, start: float, end: float) -> Span:
    parent = address.rsplit("/", 1)[0] if "/" in address else None
    name = address.rsplit("/", 1)[-1].split("#")[0]
    return Span(address=address, kind=kind, name=name, parent=parent, start=start, end=end)  # type: ignore[arg-type]


def served_agent(receive_end: float = 18.28105) -> Trace:
    polls = [
        _span(f"POST#0/dequeue#{k}", "other", 0.01 + k * POLL, 0.01 + k * POLL + 0.5)
        for k in range(WAITER)
    ]
    waiter = _span(f"POST#0/dequeue#{WAITER}", "other", 0.01 + WAITER * POLL, 18.2775)
    return Trace(
        spans=[
            _span("POST#0", "chain", 0.0, 18.2810),
            # The stream span ends 50 µs after its server span (clock skew).
            _span("POST#0/http_receive#0", "other", 0.001, receive_end),
            _span("POST#0/setup#0", "chain", 0.001, 0.002),
            _span(STREAM, "chain", 0.0015, 18.2800),  # outlives setup: detached
            _span(f"{STREAM}/invocation#0", "chain", 0.002, 18.2790),
            _span(AGENT, "agent", 0.003, 18.2785),
            _span(f"{AGENT}/call_llm#0", "llm", 0.010, 3.010),
            _span(f"{AGENT}/tool#0", "tool", 3.020, 4.020),
            _span(LLM, "llm", 4.030, 18.2780),
            _span(f"{LLM}/chat#0", "llm", 4.031, 18.2770),
            _span(LEAF, "other", 4.032, 18.2765),
            _span(f"{LLM}/enqueue#0", "other", 18.2772, 18.2773),
            _span(f"{STREAM}/enqueue#0", "other", 18.2792, 18.2793),
            *polls,
            waiter,
            _span("POST#0/task_done#0", "other", 18.2776, 18.2777),
            _span("POST#0/http_send#0", "other", 18.2800, 18.2805),
            _span("POST#0/http_send#1", "other", 18.2806, 18.2808),
        ]
    )


def test_factual_is_reproduced() -> None:
    t = served_agent()
    w = TraceWorld(t)
    assert w.outcome([], "latency") == pytest.approx(18.28105)
    cf = w.counterfactual([])
    for a, b in zip(t.spans, cf.spans, strict=True):
        assert (a.start, a.end) == (pytest.approx(b.start), pytest.approx(b.end)), a.address


def test_shorter_leaf_shortens_the_run_through_stream_and_poll_loop() -> None:
    w = TraceWorld(served_agent())
    faster = [asim.delay(LEAF, -2.0)]
    # The leaf ends at 16.2765; chat, call_llm, agent, invocation and the stream follow it
    # (their tails kept); the enqueue fires at 16.2773 and the last poll returns 0.2 ms
    # later, at 16.2775; task_done and both http_send spans follow, and http_receive ends
    # 0.25 ms after the last send: 18.28105 - 2.
    assert w.outcome(faster, "latency") == pytest.approx(16.28105, abs=1e-9)
    assert w.pinned_by(faster) is None
    cf = w.counterfactual(faster)
    assert cf.span(STREAM).end == pytest.approx(16.2800)
    assert cf.span("POST#0").end == pytest.approx(16.2810)
    # Poll 32 (16.0132-16.5132) is the one in progress: cut at 16.2775; polls 33-35 never
    # begin; the waiting poll ends when the event arrives.
    assert cf.span("POST#0/dequeue#32").end == pytest.approx(16.2775)
    assert cf.attributes["skipped"] == [f"POST#0/dequeue#{k}" for k in (33, 34, 35)]
    assert cf.span(f"POST#0/dequeue#{WAITER}").end == pytest.approx(16.2775)
    assert "pinned_by" not in cf.attributes


def test_longer_leaf_lengthens_the_run() -> None:
    w = TraceWorld(served_agent())
    # +3 s: the enqueue fires at 21.2773, the waiting poll (started 18.0136) lasts until
    # 21.2775, and everything after it moves by 3 s.
    assert w.outcome([asim.delay(LEAF, 3.0)], "latency") == pytest.approx(21.28105, abs=1e-9)


def test_delay_on_the_llm_call_goes_where_its_time_is_spent() -> None:
    w = TraceWorld(served_agent())
    # call_llm#1's tail after its enqueue is 0.7 ms, the enqueue lasts 0.1 ms, chat's tail
    # after the HTTP leaf is 0.5 ms; the leaf gives the remaining 2 - 0.0013 = 1.9987 s.
    # The poll loop awaits the enqueue, not the call's end, so the 0.7 ms of tail comes off
    # the call but not off the run: 18.28105 - (2 - 0.0007) = 16.28175.
    for iv in (asim.delay(LLM, -2.0), asim.do(LLM, latency=(18.2780 - 4.030) - 2.0)):
        assert w.outcome([iv], "latency") == pytest.approx(16.28175, abs=1e-9)
        assert w.counterfactual([iv]).span(LLM).end == pytest.approx(16.2780)
        moved = w.counterfactual([iv]).attributes["time_moved_to"]
        assert moved == pytest.approx(
            {LLM: -0.0007, f"{LLM}/enqueue#0": -0.0001, f"{LLM}/chat#0": -0.0005, LEAF: -1.9987}
        )
    # The agent span passes the time down the same path, after its own 0.5 ms tail (also
    # after the enqueue): 18.28105 - (2 - 0.0005 - 0.0007) = 16.28225.
    assert w.outcome([asim.delay(AGENT, -2.0)], "latency") == pytest.approx(16.28225, abs=1e-9)
    # Its critical path holds 0.7 + 0.1 + 0.5 ms + 14.2445 s = 14.2458 s: no more.
    with pytest.raises(asim.InterventionError, match=r"at most 14\.2458 s") as info:
        w.outcome([asim.delay(LLM, -15.0)], "latency")
    assert repr(LEAF) in str(info.value)


def test_a_stream_that_waits_for_nothing_pins_the_latency() -> None:
    # The receive span now ends 2.2 ms after the last send: not together with anything, and
    # 2 ms after its server span, so it holds its recorded time and sets the latency.
    w = TraceWorld(served_agent(receive_end=18.2830))
    faster = [asim.delay(LEAF, -2.0)]
    assert w.outcome(faster, "latency") == pytest.approx(18.2830)
    assert w.pinned_by(faster) == "POST#0/http_receive#0"
    cf = w.counterfactual(faster)
    assert cf.attributes["pinned_by"] == "POST#0/http_receive#0"
    assert any("pinned by" in str(x) for x in cf.attributes["warnings"])  # type: ignore[union-attr]


@pytest.fixture
def helm() -> Trace:
    if not HELM.exists():
        pytest.skip("shared data folder absent")
    return asim.load_trace(HELM)


def _address(trace: Trace, suffix: str) -> str:
    return next(s.address for s in trace if s.address.endswith(suffix))


def test_helm_last_llm_call_moves_the_run(helm: Trace) -> None:
    w = TraceWorld(helm)
    leaf = _address(helm, "call_llm#1/openai.chat#0/POST#0")
    llm = _address(helm, "call_llm#1")
    base = w.outcome([], "latency")
    assert base == pytest.approx(4.180492)
    # The last LLM call's HTTP request lasts 1.795378 s (2.377575-4.172953): shortening it by
    # 1 s shortens the run by 1 s, through the stream, the poll loop and the server span.
    for iv in (asim.delay(leaf, -1.0), asim.delay(llm, -1.0)):
        assert w.outcome([iv], "latency") == pytest.approx(base - 1.0, abs=0.05)
        assert w.pinned_by([iv]) is None
    assert w.outcome([asim.delay(leaf, 1.0)], "latency") == pytest.approx(base + 1.0, abs=0.05)
    # The call's critical path holds 1.79726 s; more is refused, naming the leaf.
    with pytest.raises(asim.InterventionError, match=r"at most 1\.79726 s") as info:
        w.outcome([asim.delay(llm, -1.9)], "latency")
    assert repr(leaf) in str(info.value)


def test_helm_tool_waits_for_its_http_request_under_the_agent(helm: Trace) -> None:
    w = TraceWorld(helm)
    tool = _address(helm, "execute_tool_helm_list_releases#0")
    # The MCP request (agent-level POST 2.312895-2.368860) holds the tool's time; the tool
    # ends 0.752 ms after it. Shortening the tool itself is refused, naming that request.
    with pytest.raises(asim.InterventionError, match=r"at most 0\.000752 s") as info:
        w.outcome([asim.delay(tool, -0.05)], "latency")
    assert "invoke_agent_helm_agent#0/POST#4' ends" in str(info.value)
    # So a faster first LLM call gains nothing: the tool still waits for that request, whose
    # start the trace ties to earlier agent-level spans; the result says what pins it.
    leaf = _address(helm, "call_llm#0/openai.chat#0/POST#0")
    faster = [asim.delay(leaf, -1.0)]
    assert w.outcome(faster, "latency") == pytest.approx(w.outcome([], "latency"))
    assert str(w.pinned_by(faster)).endswith("invoke_agent_helm_agent#0/POST#4")
