"""Structure and dependency inference on hand-built traces with known answers."""

from __future__ import annotations

import pytest

import agentsim as asim
from agentsim import workflow as wf
from agentsim.calibrate import calibrate
from agentsim.calibrate._deps import choose_parent
from agentsim.calibrate._fit import detect_timeout, fit_latency
from agentsim.trace import Span, Trace


def trace_of(calls: list[tuple[str, str, bool]], ok: bool = True) -> Trace:
    """A root agent ``main`` calling ``(name, kind, ok)`` in sequence, one second each."""
    spans = [Span(address="main#0", kind="agent", name="main", start=0.0, end=len(calls), ok=ok)]
    for i, (name, kind, c_ok) in enumerate(calls):
        spans.append(
            Span(
                address=f"main#0/{name}#{i}",
                kind=kind,
                name=name,
                parent="main#0",  # type: ignore[arg-type]
                start=float(i),
                end=i + 1.0,
                ok=c_ok,
                error=None if c_ok else "boom",
            )
        )
    return Trace(spans=spans, outcomes={"success": float(ok)})


def test_an_optional_step_after_a_model_call_is_its_routing_choice() -> None:
    with_b = [("plan", "llm", True), ("b", "tool", True), ("c", "tool", True)]
    without_b = [("plan", "llm", True), ("c", "tool", True)]
    cal = calibrate([trace_of(with_b)] * 60 + [trace_of(without_b)] * 40)
    route = cal.flow.steps[1]  # type: ignore[union-attr]
    assert isinstance(route, wf.Choose) and route.model == "plan.route"
    assert route.weights() == pytest.approx({"run": 0.6, "skip": 0.4})
    assert route.branch("run") == wf.call("b")
    assert cal.tools()["b.skip"] == {"p_ok": 1.0, "p_recover": 0.0, "latency": 0.0}
    runs = cal.scenario.simulate(n=2000, seed=0)
    ran_b = sum(any(s.name == "b" for s in r.trace.spans) for r in runs) / 2000
    assert abs(ran_b - 0.6) < 4 * (0.24 / 2000) ** 0.5


def test_parallel_siblings_become_a_par_group() -> None:
    spans = [Span(address="main#0", kind="agent", name="main", start=0.0, end=3.0)]
    spans += [
        Span(address="main#0/a#0", kind="tool", name="a", parent="main#0", start=0.0, end=2.0),
        Span(address="main#0/b#0", kind="tool", name="b", parent="main#0", start=0.0, end=1.5),
        Span(address="main#0/c#0", kind="tool", name="c", parent="main#0", start=2.0, end=3.0),
    ]
    cal = calibrate([Trace(spans=spans)] * 5)
    assert wf.to_json(cal.flow) == wf.to_json(
        wf.seq(wf.par(wf.call("a"), wf.call("b")), wf.call("c"))
    )


def test_an_independent_step_is_not_a_casualty() -> None:
    # c follows a, which often fails, but c's success does not depend on it.
    rows = []
    for k in range(200):
        a_ok = k % 2 == 0
        c_ok = k % 5 != 0
        rows.append(trace_of([("a", "tool", a_ok), ("c", "tool", c_ok)]))
    cal = calibrate(rows)
    assert cal.params["c"].parents == {"main:1:c": "none"}
    assert cal.params["c"].casualties == 0
    assert cal.params["c"].p_ok.value == pytest.approx(0.8)
    assert cal.params["c"].p_recover is not None and cal.params["c"].p_recover.value == 0.8


def test_choose_parent_prefers_the_step_that_explains_failures() -> None:
    oks = [True, True, False, False, True, False]
    first_ok = [True, True, False, False, True, False]
    other = [True, False, True, False, True, True]
    choice = choose_parent(oks, {"none": [True] * 6, "s0": first_ok, "s1": other}, natural="s1")
    assert choice.parent == "s0" and (choice.ok_good, choice.n_good, choice.ok_bad) == (3, 3, 0)


def test_timeouts_are_censored_latencies() -> None:
    d = asim.dist.Exponential(mean=1.0)
    u = [(i + 0.5) / 400 for i in range(400)]
    raw = [d.ppf(x) for x in u]
    cut = [min(v, 2.0) for v in raw]
    assert detect_timeout(cut, [v < 2.0 for v in raw]) == 2.0
    fit = fit_latency(cut, timeout=2.0)
    assert fit.family == "exponential" and fit.censored == sum(v >= 2.0 for v in raw)
    assert fit.median() == pytest.approx(d.median(), rel=0.03)
    naive = fit_latency([v for v in cut if v < 2.0])
    assert naive.median() < 0.9 * d.median()  # dropping the cut-off calls biases it down


def test_calibrate_refuses_an_empty_corpus_and_unknown_structure() -> None:
    with pytest.raises(asim.TraceFormatError, match="at least one trace"):
        calibrate([])
    with pytest.raises(asim.ScenarioError, match="structure='infer'"):
        calibrate([trace_of([("a", "tool", True)])], structure="given")


def test_a_latency_no_family_fits_is_empirical() -> None:
    grid = [(i + 0.5) / 300 for i in range(300)]
    fast, slow = (
        asim.dist.LogNormal(median=0.2, sigma=0.1),
        asim.dist.LogNormal(median=5.0, sigma=0.1),
    )
    bimodal = [fast.ppf(u) for u in grid] + [slow.ppf(u) for u in grid]
    fit = fit_latency(bimodal)
    assert fit.family == "empirical" and fit.ks_pvalue < 1e-3
    assert isinstance(fit.dist, asim.dist.Empirical)
    assert fit.dist.ppf(0.25) == pytest.approx(0.2, rel=0.05)
    assert fit.dist.ppf(0.75) == pytest.approx(5.0, rel=0.05)
