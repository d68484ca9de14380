"""The twin's answer for a real trace: decisive errors over twin runs matched to it."""

from __future__ import annotations

import math

import agentsim as asim
from agentsim import workflow as wf
from agentsim.calibrate import calibrate, strip_otlp, twin_locus
from agentsim.ingest import parse_traces

CHAIN = wf.scenario(
    wf.seq(wf.call("a"), wf.call("b")),
    {"a": dict(p_ok=0.7, latency=1.0), "b": dict(p_ok=0.8, latency=1.0)},
)


def stripped(run: asim.Run) -> asim.Trace:
    (trace,) = parse_traces(strip_otlp(asim.to_otlp(run.trace)))
    return trace


def test_share_is_the_twin_posterior_of_the_decisive_error() -> None:
    runs = list(CHAIN.simulate(n=600, seed=0))
    cal = calibrate(stripped(r) for r in runs)
    # A real trace where a failed (and so did b, a casualty under p_recover = 0): in the twin,
    # repairing a saves the run exactly when b's own noise is good, with probability p_ok(b).
    trace = stripped(next(r for r in runs if not r.trace.span("main#0/a#0").ok))
    loc = twin_locus(cal, trace, n=3000, seed=1)
    p = cal.params["b"].p_ok.value
    assert loc.step == 0 and loc.address == trace.calls()[0].address and loc.agent == "main"
    assert loc.matched > 500
    assert abs(loc.share - p) <= 4 * math.sqrt(p * (1 - p) / loc.matched)


def test_validate_scores_claims_on_real_traces_against_the_twin() -> None:
    runs = list(CHAIN.simulate(n=600, seed=0))
    cal = calibrate(stripped(r) for r in runs)
    failed = {
        f"{k}.json": stripped(r)
        for k, r in enumerate(runs[:200])
        if not r.trace.span("main#0/a#0").ok
    }
    first = asim.validate(failed, {key: {"step": 0} for key in failed}, twin=cal)
    last = asim.validate(failed, {key: {"step": 1} for key in failed}, twin=cal)
    assert first.step_accuracy == 1.0 and last.step_accuracy == 0.0


def test_a_trace_no_twin_run_matches_gets_no_reference() -> None:
    cal = calibrate(r.trace for r in CHAIN.simulate(n=100, seed=0))
    odd = wf.scenario(wf.seq(wf.call("a"), wf.call("a"), wf.call("a")), {"a": dict(p_ok=1.0)})
    loc = twin_locus(cal, odd.run(seed=0).trace, n=200)
    assert (loc.step, loc.matched, loc.share) == (None, 0, 0.0)
