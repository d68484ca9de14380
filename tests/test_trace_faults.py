"""Own versus inherited errors in a TraceWorld, and ``fix`` (remove a span's own fault).

``fix`` is keyed on the intervention's kind, so these tests build it minimally as
``Intervention(kind="fix", target=...)``: whatever class the public ``asim.fix`` returns,
TraceWorld answers it the same way.
"""

from __future__ import annotations

import pytest

from agentsim.interventions import Intervention, repair
from agentsim.trace import Span, Trace
from agentsim.worlds.trace import TraceWorld


def fix(target: str) -> Intervention:
    return Intervention(kind="fix", target=target)


def _span(address: str, start: float, end: float, **kw: object) -> Span:
    parent = address.rsplit("/", 1)[0] if "/" in address else None
    name = address.rsplit("/", 1)[-1].split("#")[0]
    kind = kw.pop("kind", "tool" if parent else "agent")
    return Span(address=address, kind=kind, name=name, parent=parent, start=start, end=end, **kw)  # type: ignore[arg-type]


def casualty_chain() -> Trace:
    # The search times out (its own fault); the agent fails with the generic "error" it
    # inherited; the planner succeeded.
    return Trace(
        outcomes={"success": 0.0},
        spans=[
            _span("a#0", 0, 3, ok=False, error="error"),
            _span("a#0/plan#0", 0, 1, kind="llm"),
            _span("a#0/search#0", 1, 3, ok=False, error="timeout"),
        ],
    )


def two_faults() -> Trace:
    # The agent's own error ("quota exceeded") is distinct from its child's ("timeout"):
    # both are faults.
    return Trace(
        outcomes={"success": 0.0},
        spans=[
            _span("a#0", 0, 3, ok=False, error="quota exceeded"),
            _span("a#0/search#0", 1, 3, ok=False, error="timeout"),
        ],
    )


def test_own_and_inherited_errors() -> None:
    w = TraceWorld(casualty_chain())
    assert w.own_errors() == ["a#0/search#0"]
    assert w.inherited_errors() == ["a#0"]
    w2 = TraceWorld(two_faults())
    assert w2.own_errors() == ["a#0", "a#0/search#0"]
    assert w2.inherited_errors() == []


def test_fix_removes_only_the_own_fault() -> None:
    w = TraceWorld(casualty_chain())
    # Fixing the root cause saves the run; fixing the casualty does nothing (its error is
    # inherited and the search still fails); repairing the casualty forces it ok.
    assert w.outcome([fix("a#0/search#0")], "success") == 1.0
    assert w.outcome([fix("a#0")], "success") == 0.0
    assert w.outcome([repair("a#0")], "success") == 1.0
    # A span that did not fail is unchanged by fix.
    assert w.outcome([fix("a#0/plan#0")], "success") == 0.0


def test_fix_with_two_faults_needs_both() -> None:
    w = TraceWorld(two_faults())
    assert w.outcome([fix("a#0/search#0")], "success") == 0.0
    assert w.outcome([fix("a#0")], "success") == 0.0
    assert w.outcome([fix("a#0"), fix("a#0/search#0")], "success") == 1.0
    cf = w.counterfactual([fix("a#0/search#0")])
    assert [(s.address, s.ok) for s in cf] == [("a#0", False), ("a#0/search#0", True)]


def test_fix_of_a_failed_attempt_skips_its_retry() -> None:
    t = Trace(
        outcomes={"success": 1.0},
        spans=[
            _span("a#0", 0, 4),
            _span("a#0/s#0", 0, 1, ok=False, error="timeout", cost=1.0),
            _span("a#0/s#1", 1, 3, cost=1.0),
            _span("a#0/g#0", 3, 4, cost=0.5),
        ],
    )
    w = TraceWorld(t)
    assert w.own_errors() == ["a#0/s#0"]
    # Without the timeout the retry never runs: 1 s and 1.0 of cost saved.
    assert w.outcome([fix("a#0/s#0")], "cost") == pytest.approx(1.5)
    assert w.outcome([fix("a#0/s#0")], "latency") == pytest.approx(2.0)
    assert w.counterfactual([fix("a#0/s#0")]).attributes["skipped"] == ["a#0/s#1"]


def test_actual_causes_on_a_125_span_server_trace_search_only_calls_and_faults() -> None:
    from agentsim.attribution.actual_cause import actual_causes
    from tests.test_trace_time import LEAF, LLM, served_agent

    base = served_agent()
    failed = {LEAF}
    parent = base.span(LEAF).parent
    while parent is not None:
        failed.add(parent)
        parent = base.span(parent).parent
    spans = [
        s.model_copy(update={"ok": False, "error": "HTTP 500" if s.address == LEAF else "error"})
        if s.address in failed
        else s
        for s in base.spans
    ]
    # Pad with 72 zero-cost plumbing spans (push notifications) up to 125 spans.
    spans += [_span(f"POST#0/push#{k}", 18.2780, 18.2780, kind="other") for k in range(72)]
    trace = Trace(outcomes={"success": 0.0}, spans=spans)
    assert len(trace.spans) == 125
    w = TraceWorld(trace)
    assert w.outcome([], "success") == 0.0
    # Variables: the three calls and the one span with an error of its own (the HTTP 500);
    # the other 121 spans are folded into the equations.
    calls = [s for s in w.variables() if "#" in s]
    assert calls == [a.address for a in trace.spans if a.address in set(calls)]
    assert sorted(calls) == sorted([*w.players("calls"), LEAF])
    causes = actual_causes(w, {"success": 0.0}, max_size=2)
    # Either the HTTP request or the LLM call it belongs to, forced ok, saves the run; every
    # other variable was ok, and breaking a call never makes a failed run succeed.
    found = sorted(tuple(sorted(dict(c.variables).items())) for c in causes)
    assert found == sorted([((LEAF, False),), ((LLM, False),)])
    assert w.evaluations <= 2 ** len(calls) * 4
