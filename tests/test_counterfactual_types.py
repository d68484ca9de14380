"""``counterfactual()`` keeps its result type per input: pinned before the layering moved it.

A simulated Run gives a Run, a trace with its scenario gives a sampled Counterfactual, an
imported trace gives a Trace.
"""

from __future__ import annotations

import agentsim as asim
from agentsim import dist
from tests.helpers import chain


def _failed_run() -> asim.Run:
    sc = chain([0.5, 0.7], latency=dist.Exponential(mean=1.0))
    return next(r for r in (sc.run(seed=s) for s in range(200)) if not r.outcomes["success"])


def test_a_run_gives_a_run_with_its_factual() -> None:
    run = _failed_run()
    cf = asim.counterfactual(run, asim.repair("main#0/t0#0"))
    assert type(cf) is asim.Run
    assert cf.factual is run
    assert cf.interventions == (asim.repair("main#0/t0#0"),)


def test_a_trace_with_its_scenario_gives_a_sampled_counterfactual() -> None:
    run = _failed_run()
    cf = asim.counterfactual(run.trace, asim.repair("main#0/t0#0"), scenario=run.scenario)
    assert type(cf) is asim.Counterfactual
    assert isinstance(cf.outcomes["success"], asim.Estimate)


def test_an_imported_trace_gives_a_trace() -> None:
    tr = asim.Trace(spans=[asim.Span(address="a#0", kind="tool", name="a", start=0, end=2)])
    cf = asim.counterfactual(tr, asim.delay("a#0", 1.5))
    assert type(cf) is asim.Trace
    assert cf.outcomes["latency"] == 3.5


def test_a_structural_model_gives_its_values() -> None:
    m = asim.StructuralModel(
        equations={"A": None, "B": lambda v: v["A"]},
        context={"A": 1},
        domains={"A": [0, 1], "B": [0, 1]},
    )
    assert asim.counterfactual(m, asim.do("A", value=0)) == {"A": 0, "B": 0}
