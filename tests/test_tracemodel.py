"""TraceWorld: the time, error and cost equations of an imported trace, checked by hand."""

from __future__ import annotations

from pathlib import Path

import pytest

import agentsim as asim
from agentsim.errors import UnanswerableError, UnknownAddressError
from agentsim.trace import Span, Trace
from agentsim.worlds.trace import TraceWorld, trace_counterfactual

DATA = Path(__file__).resolve().parents[2] / "shared" / "data"


def _span(address: str, start: float, end: float, **kw: object) -> Span:
    parent = address.rsplit("/", 1)[0] if "/" in address else None
    name = address.rsplit("/", 1)[-1].split("#")[0]
    kind = kw.pop("kind", "tool" if parent else "agent")
    return Span(address=address, kind=kind, name=name, parent=parent, start=start, end=end, **kw)  # type: ignore[arg-type]


def sequential() -> Trace:
    # a#0 runs s (0-2), f (2.5-5.5, a 0.5 s gap), g (5.5-6.5), then 0.5 s of its own.
    return Trace(
        spans=[
            _span("a#0", 0, 7),
            _span("a#0/s#0", 0, 2, cost=0.1),
            _span("a#0/f#0", 2.5, 5.5, cost=0.2),
            _span("a#0/g#0", 5.5, 6.5, cost=0.3),
        ]
    )


def fan_out() -> Trace:
    # p (0-1), then x (1-4) and y (1-2) in parallel, then z (4-5): x is critical, y has 2 s
    # of slack.
    return Trace(
        spans=[
            _span("a#0", 0, 5),
            _span("a#0/p#0", 0, 1),
            _span("a#0/x#0", 1, 4),
            _span("a#0/y#0", 1, 2),
            _span("a#0/z#0", 4, 5),
        ]
    )


def retried() -> Trace:
    return Trace(
        outcomes={"success": 1.0},
        spans=[
            _span("a#0", 0, 4),
            _span(
                "a#0/s#0",
                0,
                1,
                ok=False,
                error="timeout",
                cost=1.0,
                attributes={"tokens": {"input": 10, "output": 5, "total": 15}},
            ),
            _span("a#0/s#1", 1, 3, cost=1.0, attributes={"tokens": {"total": 20}}),
            _span("a#0/g#0", 3, 4, cost=0.5),
        ],
    )


def test_sequential_delay_shortens_makespan_exactly() -> None:
    w = TraceWorld(sequential())
    assert w.outcome([], "latency") == 7.0
    assert w.outcome([asim.delay("a#0/f#0", -2.0)], "latency") == pytest.approx(5.0)
    assert w.outcome([asim.delay("f", 1.5)], "latency") == pytest.approx(8.5)
    assert w.outcome([asim.do("a#0/s#0", latency=0.0)], "latency") == pytest.approx(5.0)
    cf = asim.counterfactual(sequential(), asim.delay("a#0/f#0", -2.0))
    assert cf.outcomes["latency"] == pytest.approx(5.0)
    # The gap before f and the parent's tail are kept: g now starts at 3.5.
    assert cf.span("a#0/g#0").start == pytest.approx(3.5)
    assert cf.span("a#0").end == pytest.approx(5.0)


def test_delay_never_below_zero_and_parent_tail() -> None:
    w = TraceWorld(sequential())
    assert w.outcome([asim.delay("a#0/g#0", -5.0)], "latency") == pytest.approx(6.0)
    # A longer parent spends the extra time on its own tail after its last child.
    assert w.outcome([asim.delay("a#0", 1.0)], "latency") == pytest.approx(8.0)
    # A shorter one gives up its 0.5 s tail, then its critical path, latest time first:
    # g (1 s), then f (1.5 of its 3 s); the 0.5 s gap before f stays. 7 - 3 = 4.
    assert w.outcome([asim.delay("a#0", -3.0)], "latency") == pytest.approx(4.0)
    cf = w.counterfactual([asim.delay("a#0", -3.0)])
    assert cf.span("a#0/f#0").duration == pytest.approx(1.5)
    assert cf.span("a#0/g#0").duration == pytest.approx(0.0)
    # The same through do(latency=...): 7 s -> 4 s.
    assert w.outcome([asim.do("a#0", latency=4.0)], "latency") == pytest.approx(4.0)
    # The path holds 0.5 + 1 + 3 + 2 = 6.5 s; -6 leaves s 0.5 s and the gap: 1.0 s.
    assert w.outcome([asim.delay("a#0", -6.0)], "latency") == pytest.approx(1.0)
    with pytest.raises(asim.InterventionError, match=r"at most 6\.5 s.*") as info:
        w.outcome([asim.delay("a#0", -6.6)], "latency")
    assert "'a#0/g#0' 1 s" in str(info.value)
    assert w.own_time("a#0") == pytest.approx(1.0)


def test_parallel_slack() -> None:
    w = TraceWorld(fan_out())
    assert w.outcome([], "latency") == 5.0
    assert w.outcome([asim.delay("a#0/y#0", -0.5)], "latency") == 5.0
    assert w.outcome([asim.delay("a#0/y#0", 1.5)], "latency") == 5.0  # within the slack
    assert w.outcome([asim.delay("a#0/y#0", 3.0)], "latency") == pytest.approx(6.0)
    # Shortening the critical branch by 3 s gains only up to y's end: x ends at 1, y at 2.
    assert w.outcome([asim.delay("a#0/x#0", -3.0)], "latency") == pytest.approx(3.0)
    assert w.outcome([asim.delay("a#0/x#0", -1.0)], "latency") == pytest.approx(4.0)


def test_retry_recovered_is_not_but_for_and_breaking_retry_fails() -> None:
    w = TraceWorld(retried())
    assert w.outcome([], "success") == 1.0
    assert w.outcome([asim.repair("a#0/s#0")], "success") == 1.0
    assert w.outcome([asim.break_("a#0/s#1")], "success") == 0.0
    assert w.outcome([asim.break_("a#0/g#0")], "success") == 0.0
    bf = asim.but_for(retried(), players="calls", game="break")
    assert bf.values == {"a#0/s#0": 0.0, "a#0/s#1": -1.0, "a#0/g#0": -1.0}
    assert w.retries("a#0/s#0") == ["a#0/s#1"]


def test_retry_cost_is_charged_to_the_error() -> None:
    w = TraceWorld(retried())
    assert w.outcome([], "cost") == pytest.approx(2.5)
    assert w.outcome([], "tokens") == 35.0
    assert w.retry_cost("a#0/s#0") == pytest.approx(1.0)
    assert w.retry_cost("a#0/s#0", "tokens") == 20.0
    # Had the first attempt succeeded, the retry would not have run: 2 s saved.
    assert w.outcome([asim.repair("a#0/s#0")], "latency") == pytest.approx(2.0)
    cf = w.counterfactual([asim.repair("a#0/s#0")])
    assert "a#0/s#1" not in cf.addresses()
    assert cf.attributes["skipped"] == ["a#0/s#1"]
    assert w.outcome([asim.do("a#0/g#0", cost=2.0)], "cost") == pytest.approx(4.0)


def test_propagated_versus_own_error() -> None:
    spans = [
        _span("a#0", 0, 2, ok=False, error="Error: search timed out"),
        _span("a#0/s#0", 0, 1, ok=False, error="search timed out"),
        _span("a#0/t#0", 1, 2),
    ]
    w = TraceWorld(Trace(outcomes={"success": 0.0}, spans=spans))
    assert not w.failed_itself("a#0")  # its error repeats the child's
    assert w.outcome([asim.repair("a#0/s#0")], "success") == 1.0
    own = [spans[0].model_copy(update={"error": "quota exceeded"}), *spans[1:]]
    w2 = TraceWorld(Trace(outcomes={"success": 0.0}, spans=own))
    assert w2.failed_itself("a#0")
    assert w2.outcome([asim.repair("a#0/s#0")], "success") == 0.0
    assert w2.outcome([asim.repair("a#0/s#0"), asim.repair("a#0")], "success") == 1.0
    # Under a parent recorded ok, the next tool call is the failed one's fallback ...
    ok_parent = [spans[0].model_copy(update={"ok": True, "error": None}), *spans[1:]]
    w3 = TraceWorld(Trace(spans=ok_parent))
    assert w3.retries("a#0/s#0") == ["a#0/t#0"]
    assert not w3.tolerated("a#0/s#0")
    assert w3.outcome([asim.break_("a#0/t#0")], "success") == 0.0
    # ... but an LLM call is not: the parent tolerated the error, in every world.
    llm = [*ok_parent[:2], ok_parent[2].model_copy(update={"kind": "llm"})]
    w4 = TraceWorld(Trace(spans=llm))
    assert w4.tolerated("a#0/s#0")
    assert w4.outcome([], "success") == 1.0
    assert w4.outcome([asim.break_("a#0/s#0")], "success") == 1.0
    assert w4.outcome([asim.break_("a#0/t#0")], "success") == 0.0


def test_run_failed_by_its_outcome_cannot_be_repaired() -> None:
    t = sequential().model_copy(update={"outcomes": {"success": 0.0}})
    w = TraceWorld(t)
    assert w.outcome([], "success") == 0.0
    assert w.outcome([asim.repair("*")], "success") == 0.0


def test_baseline_shapley_on_sequential_trace() -> None:
    t = Trace(
        spans=[
            _span("a#0", 0, 10),
            _span("a#0/s#0", 0, 1),
            _span("a#0/s#1", 1, 4),
            _span("a#0/s#2", 4, 6),
            _span("a#0/g#0", 6, 10),
        ]
    )
    att = asim.shapley(t, players="calls", outcome="latency", game="baseline")
    # No corpus: the stated default removes each call's own time; in a sequence each call
    # accounts for its duration, and the result says which reference it used.
    assert att.values == pytest.approx(
        {"a#0/s#0": 1.0, "a#0/s#1": 3.0, "a#0/s#2": 2.0, "a#0/g#0": 4.0}
    )
    assert sum(att.values.values()) == pytest.approx(att.v_full - att.v_empty)
    assert any("4 spans use the stated default, own time removed" in n for n in att.notes)
    # With a corpus: s's population is {1, 3, 2} from this trace (each span left out of its
    # own) plus 2 from another trace; g's is {6} from the other trace.
    other = Trace(
        trace_id="other",
        spans=[_span("b#0", 0, 8), _span("b#0/s#0", 0, 2), _span("b#0/g#0", 2, 8)],
    )
    w = asim.world(t, reference=[t, other])
    # References: s#0 median{3, 2, 2} = 2; s#1 median{1, 2, 2} = 2; s#2 median{1, 3, 2} = 2;
    # g#0 median{6} = 6. Sequential, so v(S) = 10 + sum over players outside S of
    # (reference - duration) and each value is duration - reference: -1, 1, 0, -2.
    att = asim.shapley(w, players="calls", outcome="latency", game="baseline")
    assert att.values == pytest.approx(
        {"a#0/s#0": -1.0, "a#0/s#1": 1.0, "a#0/s#2": 0.0, "a#0/g#0": -2.0}
    )
    assert att.v_empty == pytest.approx(12.0)
    assert any("corpus of 2 traces for 4 spans; 0 spans use" in n for n in att.notes)
    cost = asim.shapley(retried(), players="calls", outcome="cost", game="baseline")
    assert cost.values == pytest.approx({"a#0/s#0": 1.0, "a#0/s#1": 1.0, "a#0/g#0": 0.5})


def test_players_targets_and_steps() -> None:
    w = TraceWorld(retried())
    assert w.players("calls") == ["a#0/s#0", "a#0/s#1", "a#0/g#0"]
    assert w.players("agents") == ["a#0"]
    assert w.players("tools") == ["s", "g"]
    assert w.player_targets("agents", "a#0") == ["a#0", "a#0/*"]
    assert w.steps() == [("a#0/s#0", None, False), ("a#0/s#1", None, True), ("a#0/g#0", None, True)]
    with pytest.raises(asim.AttributionError):
        w.players("nodes")


@pytest.mark.parametrize(
    "iv",
    [
        asim.resample("a#0/s#0"),
        asim.replace("s", mechanism=lambda inputs, noise: {"ok": True}),
        asim.set_params("s", p_ok=0.99),
        asim.do("a#0/s#0", value="other reply"),
    ],
)
def test_unanswerable_interventions(iv: asim.Intervention) -> None:
    with pytest.raises(UnanswerableError, match="calibrate a scenario"):
        TraceWorld(retried()).outcome([iv], "success")


def test_unknown_target_suggests() -> None:
    with pytest.raises(UnknownAddressError, match="did you mean"):
        TraceWorld(retried()).outcome([asim.repair("a#0/s#9")])


def test_finite_world_and_actual_cause() -> None:
    from agentsim.attribution.actual_cause import actual_causes

    spans = [
        _span("a#0", 0, 2, ok=False, error="error"),
        _span("a#0/s#0", 0, 1, ok=False, error="boom"),
        _span("a#0/t#0", 1, 2),
    ]
    w = TraceWorld(Trace(outcomes={"success": 0.0}, spans=spans))
    assert w.actual()["a#0/s#0"] is False
    assert w.evaluate({"a#0/s#0": True})["success"] == 1.0
    causes = actual_causes(w, {"success": 0.0}, max_size=1)
    # The agent's generic error is inherited and it has children: not a variable (its flag
    # follows s's), so the one cause is the tool's own failure.
    assert [dict(c.variables) for c in causes] == [{"a#0/s#0": False}]
    assert w.variables()[:2] == ["a#0/s#0", "a#0/t#0"]


def test_trace_counterfactual_consistency() -> None:
    t = fan_out()
    cf = trace_counterfactual(t, [])
    assert [(s.start, s.end, s.ok) for s in cf] == [(s.start, s.end, s.ok) for s in t]


def _real_traces() -> list[tuple[str, Trace]]:
    if not DATA.is_dir():
        pytest.skip("shared data folder is absent")
    files = sorted((DATA / "traces").rglob("*.json"))
    files = [f for f in files if not f.name.startswith("README")]
    return [(f"{f.name}#{i}", t) for f in files for i, t in enumerate(asim.load_traces(f))]


def test_real_traces_factual_consistency() -> None:
    traces = _real_traces()
    assert len(traces) >= 20
    for name, t in traces:
        w = TraceWorld(t)
        for key, value in t.outcomes.items():
            assert w.outcome([], key) == pytest.approx(value, abs=1e-9), (name, key)
        cf = w.counterfactual([])
        for a, b in zip(t.spans, cf.spans, strict=True):
            assert (a.ok, a.start, a.end) == (b.ok, pytest.approx(b.start), pytest.approx(b.end))


def test_real_trace_delay_hand_checked() -> None:
    path = DATA / "traces" / "any_agent_otel_genai" / "OPENAI_trace.json"
    if not path.exists():
        pytest.skip("shared data folder is absent")
    t = asim.load_trace(path)
    w = TraceWorld(t)
    tool = "invoke_agent_[any_agent]#0/execute_tool_get_current_time#0"
    # Every child of the agent runs after the previous one (0.24117-0.24369 for this tool,
    # then LLM 0.244446-0.558089 ...), and the agent ends 1.383 ms after its last child, so a
    # one-second delay of the tool adds exactly one second; shortening it by 2 ms saves 2 ms.
    assert w.outcome([], "latency") == pytest.approx(1.22725)
    assert w.outcome([asim.delay(tool, 1.0)], "latency") == pytest.approx(2.22725)
    assert w.outcome([asim.delay(tool, -0.002)], "latency") == pytest.approx(1.22525)
    assert w.outcome([asim.delay(tool, -1.0)], "latency") == pytest.approx(1.22725 - 0.00252)
