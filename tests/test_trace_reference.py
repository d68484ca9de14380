"""Players and references of imported traces: calls, not plumbing; populations, not self."""

from __future__ import annotations

from pathlib import Path

import pytest

import agentsim as asim
from agentsim.trace import Trace
from agentsim.worlds.trace import TraceWorld
from tests.test_trace_time import AGENT, LEAF, LLM, served_agent

DATA = Path(__file__).resolve().parents[2] / "shared" / "data"
HELM = DATA / "traces" / "otel_genai_jaeger" / "helm.json"
PHOENIX = DATA / "traces" / "openinference_phoenix" / "pxi_suggestion_traces.json"


def test_calls_are_llm_tool_and_leaf_agent_spans_not_plumbing() -> None:
    w = TraceWorld(served_agent())
    # chat#0 is part of call_llm#1 (an LLM span inside an LLM span); HTTP, queue, stream
    # and handler spans are plumbing; the agent has children (players="agents" has it).
    assert w.players("calls") == [f"{AGENT}/call_llm#0", f"{AGENT}/tool#0", LLM]
    assert LEAF in w.players("spans") and len(w.players("spans")) == len(served_agent().spans)
    assert w.players("agents") == [AGENT]


def test_default_reference_removes_each_calls_own_time() -> None:
    w = TraceWorld(served_agent())
    att = asim.shapley(w, players="calls", outcome="latency", game="baseline", method="exact")
    # The agent runs its calls in sequence, and the poll loop returns with the last call's
    # enqueue: removing call_llm#0 (3 s) or tool#0 (1 s) takes their time off the run.
    # call_llm#1 gives up its critical path: the 0.1 ms enqueue, chat's 0.5 ms tail and the
    # 14.2445 s HTTP leaf (its own 0.7 ms tail after the enqueue is not what the poll loop
    # awaits, so it does not count): 14.2451 s. The calls add up, so each value is its
    # marginal.
    assert att.values == pytest.approx(
        {f"{AGENT}/call_llm#0": 3.0, f"{AGENT}/tool#0": 1.0, LLM: 14.2451}, abs=1e-9
    )
    assert att.v_full - att.v_empty == pytest.approx(sum(att.values.values()))
    assert any("3 spans use the stated default, own time removed" in n for n in att.notes)


@pytest.fixture
def helm() -> Trace:
    if not HELM.exists():
        pytest.skip("shared data folder absent")
    return asim.load_trace(HELM)


def test_helm_latency_attribution_ranks_calls(helm: Trace) -> None:
    w = TraceWorld(helm)
    players = w.players("calls")
    assert {helm.span(p).kind for p in players} == {"llm", "tool"}
    att = asim.shapley(w, players="calls", outcome="latency", game="baseline", method="exact")
    top = max(att.values, key=lambda p: att.values[p])
    assert top.endswith("invoke_agent_helm_agent#0/call_llm#1")
    # Its HTTP request lasts 1.795378 s; with its tails and enqueue it holds about 1.797 s.
    assert 1.795 < att.values[top] < 1.798
    assert all(helm.span(p).duration > 0.05 for p in players)


def test_phoenix_says_why_shares_are_zero() -> None:
    if not PHOENIX.exists():
        pytest.skip("shared data folder absent")
    traces = asim.load_traces(PHOENIX)
    t = traces[0]
    w = asim.world(t, reference=traces)
    att = asim.shapley(w, players="calls", outcome="latency", game="baseline", method="exact")
    # Every span lasts 1 s, so every operation's median over the corpus is 1 s; save_prompt
    # occurs once in the corpus, so it takes the default (own time removed): 1 s.
    unique = "pxi.turn#0/save_prompt#0"
    assert att.values[unique] == pytest.approx(1.0)
    assert all(v == 0.0 for p, v in att.values.items() if p != unique)
    assert any("8 of 9 players' recorded latency equals their reference" in n for n in att.notes)
    assert any("every timestamp in the trace is a whole second" in n for n in att.notes)


def test_world_reference_needs_a_trace() -> None:
    sc = asim.Scenario("r")
    tool = sc.tool("t")

    @sc.agent
    def main(ctx):  # type: ignore[no-untyped-def]
        return (yield ctx.call(tool))

    with pytest.raises(asim.AgentSimError, match="reference= is a corpus of traces"):
        asim.world(sc.run(seed=0), reference=[])


def test_a_pinned_baseline_says_so() -> None:
    # The stream span ends 2.2 ms after the last send and 2 ms after its server span: it
    # holds its recorded end (18.2830), so removing every call's time leaves the latency
    # there, and the notes say which span pins it.
    w = TraceWorld(served_agent(receive_end=18.2830))
    att = asim.shapley(w, players="calls", outcome="latency", game="baseline", method="exact")
    assert att.v_empty == pytest.approx(18.2830)
    assert att.values == pytest.approx(dict.fromkeys(att.values, 0.0))
    assert any("pinned by 'POST#0/http_receive#0'" in n for n in att.notes)
