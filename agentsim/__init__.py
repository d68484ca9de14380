"""agentsim: why did this LLM agent run turn out as it did?

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

from agentsim import dist, noise
from agentsim.errors import (
    AgentSimError,
    AttributionError,
    InterventionError,
    ScenarioError,
    SimulationError,
    TraceFormatError,
    UnanswerableError,
    UnknownAddressError,
)
from agentsim.interventions import (
    Intervention,
    break_,
    delay,
    do,
    repair,
    replace,
    resample,
    set_params,
)
from agentsim.run import Batch, Result, Run
from agentsim.scenario import Agent, Scenario, Tool
from agentsim.stats import Estimate
from agentsim.trace import Span, Trace, save_trace

__version__ = "0.1.0"

__all__ = [
    "Agent",
    "AgentSimError",
    "AttributionError",
    "Batch",
    "Estimate",
    "Intervention",
    "InterventionError",
    "Result",
    "Run",
    "Scenario",
    "ScenarioError",
    "SimulationError",
    "Span",
    "Tool",
    "Trace",
    "TraceFormatError",
    "UnanswerableError",
    "UnknownAddressError",
    "break_",
    "delay",
    "dist",
    "do",
    "noise",
    "repair",
    "replace",
    "resample",
    "save_trace",
    "set_params",
]
