"""The public surface is pinned: adding or removing a name must be a visible change here."""

from __future__ import annotations

import agentsim as asim

EXPECTED = {
    # define and run
    "Scenario",
    "Tool",
    "Agent",
    "Result",
    "Run",
    "Batch",
    # twins
    "Calibration",
    "calibrate",
    "Trace",
    "Span",
    "Estimate",
    "dist",
    "noise",
    "save_trace",
    "load_trace",
    "load_traces",
    "to_otlp",
    "save_otlp",
    # intervene
    "Intervention",
    "do",
    "fix",
    "repair",
    "break_",
    "resample",
    "delay",
    "replace",
    "set_params",
    "counterfactual",
    "Counterfactual",
    "RunDiff",
    "effect",
    "Effect",
    "world",
    "World",
    "FiniteWorld",
    "ScenarioWorld",
    "TraceWorld",
    "StructuralModel",
    "scm_graph",
    "ancestors_of_outcome",
    # attribute
    "Attribution",
    "attribute",
    "shapley",
    "banzhaf",
    "but_for",
    "decisive_error",
    "first_error",
    "last_error",
    "all_errors",
    "Locus",
    "actual_causes",
    "is_actual_cause",
    "responsibility",
    "Cause",
    "Witness",
    "probability_of_necessity",
    "probability_of_sufficiency",
    "pns",
    "tian_pearl_bounds",
    "attribute_change",
    # ground truth and real traces
    "workflow",
    "analytic",
    "bench",
    "locate_failure",
    "validate",
    "Validation",
    # what a person sees
    "report",
    # errors
    "AgentSimError",
    "ScenarioError",
    "SimulationError",
    "TraceFormatError",
    "UnknownAddressError",
    "InterventionError",
    "AttributionError",
    "UnanswerableError",
    # root causes, populations and loud scenario bugs
    "Failure",
    "Crash",
    "ScenarioWarning",
    "explain",
    "Explanation",
    "sensitivity",
}


def test_all_is_pinned() -> None:
    assert set(asim.__all__) == EXPECTED
    assert len(asim.__all__) == len(set(asim.__all__))


def test_every_exported_name_exists() -> None:
    for name in asim.__all__:
        assert getattr(asim, name) is not None, name


def test_errors_share_one_root() -> None:
    for name in (
        "ScenarioError",
        "SimulationError",
        "TraceFormatError",
        "UnknownAddressError",
        "InterventionError",
        "AttributionError",
        "UnanswerableError",
    ):
        assert issubclass(getattr(asim, name), asim.AgentSimError)
