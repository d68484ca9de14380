"""agentsim: why did this LLM agent run turn out as it did?

Layer: face (the top). It may import from every layer below it.

Define agent workflows in Python, simulate them as structural causal models whose exogenous
noise is known, and answer counterfactual and attribution questions exactly; import real
traces and answer the questions their structure determines.

>>> import agentsim as asim
>>> sc = asim.Scenario("hello")
>>> echo = sc.tool("echo", p_ok=1.0, latency=0.1)
>>> @sc.agent
... def main(ctx):
...     return (yield ctx.call(echo))
>>> sc.run(seed=0).outcomes["success"]
1.0
"""

from __future__ import annotations

from agentsim import analytic, bench, dist, noise, workflow
from agentsim._version import __version__ as __version__
from agentsim.attribution.actual_cause import (
    Cause,
    Witness,
    actual_causes,
    is_actual_cause,
    responsibility,
)
from agentsim.attribution.api import attribute, banzhaf, but_for, shapley
from agentsim.attribution.baselines import (
    Locus,
    all_errors,
    decisive_error,
    first_error,
    last_error,
)
from agentsim.attribution.change import attribute_change
from agentsim.attribution.probability import (
    pns,
    probability_of_necessity,
    probability_of_sufficiency,
    tian_pearl_bounds,
)
from agentsim.attribution.result import Attribution
from agentsim.batch import Batch
from agentsim.calibrate import Calibration, calibrate
from agentsim.context import Failure
from agentsim.counterfactuals import Counterfactual, Effect, RunDiff, counterfactual, effect
from agentsim.errors import (
    AgentSimError,
    AttributionError,
    InterventionError,
    ScenarioError,
    ScenarioWarning,
    SimulationError,
    TraceFormatError,
    UnanswerableError,
    UnknownAddressError,
)
from agentsim.explain import Explanation, explain, sensitivity
from agentsim.ingest import load_trace, load_traces
from agentsim.interventions import (
    Intervention,
    break_,
    delay,
    do,
    fix,
    repair,
    replace,
    resample,
    set_params,
)
from agentsim.locate import locate_failure
from agentsim.otlp import save_otlp, to_otlp
from agentsim.run import Crash, Result, Run
from agentsim.scenario import Agent, Scenario, Tool
from agentsim.stats import Estimate
from agentsim.trace import Span, Trace, save_trace
from agentsim.validate import Validation, validate
from agentsim.views import report
from agentsim.worlds import FiniteWorld, ScenarioWorld, World, world
from agentsim.worlds.graph import ancestors_of_outcome, scm_graph
from agentsim.worlds.structural import StructuralModel
from agentsim.worlds.trace import TraceWorld

__all__ = [
    "Agent",
    "AgentSimError",
    "Attribution",
    "AttributionError",
    "Batch",
    "Calibration",
    "Cause",
    "Counterfactual",
    "Crash",
    "Effect",
    "Estimate",
    "Explanation",
    "Failure",
    "FiniteWorld",
    "Intervention",
    "InterventionError",
    "Locus",
    "Result",
    "Run",
    "RunDiff",
    "Scenario",
    "ScenarioError",
    "ScenarioWarning",
    "ScenarioWorld",
    "SimulationError",
    "Span",
    "StructuralModel",
    "Tool",
    "Trace",
    "TraceFormatError",
    "TraceWorld",
    "UnanswerableError",
    "UnknownAddressError",
    "Validation",
    "Witness",
    "World",
    "actual_causes",
    "all_errors",
    "analytic",
    "ancestors_of_outcome",
    "attribute",
    "attribute_change",
    "banzhaf",
    "bench",
    "break_",
    "but_for",
    "calibrate",
    "counterfactual",
    "decisive_error",
    "delay",
    "dist",
    "do",
    "effect",
    "explain",
    "first_error",
    "fix",
    "is_actual_cause",
    "last_error",
    "load_trace",
    "load_traces",
    "locate_failure",
    "noise",
    "pns",
    "probability_of_necessity",
    "probability_of_sufficiency",
    "repair",
    "replace",
    "report",
    "resample",
    "responsibility",
    "save_otlp",
    "save_trace",
    "scm_graph",
    "sensitivity",
    "set_params",
    "shapley",
    "tian_pearl_bounds",
    "to_otlp",
    "validate",
    "workflow",
    "world",
]
