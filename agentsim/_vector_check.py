"""What the vectorised executor can run: a declarative workflow and nothing it cannot mirror.

Layer: engine. It imports only from its own layer and the ones below it.

:func:`why_not_vectorisable` names the first thing in a batch that needs the discrete-event
engine (Python agents, custom mechanisms or outcomes, shared capacity, arrivals, inputs, or
an intervention without a vectorised form), or returns ``None``.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from agentsim import workflow as wf
from agentsim.errors import ScenarioError
from agentsim.interventions import Intervention
from agentsim.scenario import Scenario, Tool

__all__ = ["RESULT_KINDS", "TOOL_KINDS", "why_not_vectorisable"]

RESULT_KINDS = frozenset({"do", "repair", "break", "delay"})
"""Interventions on a call's or an agent's result that the executor applies."""
TOOL_KINDS = frozenset({"set_params", "replace", "resample", "fix"})
"""Interventions on a call's mechanism or noise that the executor applies (``fix`` maps a
call's own noise out of its failure region, as :class:`agentsim.mechanisms.FixedNoise`)."""


def _tool_reason(tool: Tool) -> str | None:
    if tool.mechanism is not None:
        return f"tool {tool.name!r} has a custom Python mechanism"
    if tool.capacity is not None:
        return f"tool {tool.name!r} has capacity {tool.capacity} (runs would contend for it)"
    if callable(tool.value):
        return f"tool {tool.name!r} computes its value with a Python function"
    return None


def why_not_vectorisable(
    scenario: Scenario,
    interventions: Sequence[Intervention] = (),
    *,
    inputs: dict[str, Any] | None = None,
    arrivals: Any = None,
) -> str | None:
    """Why the vectorised executor cannot run this batch, or ``None`` when it can.

    >>> from agentsim import workflow as wf
    >>> why_not_vectorisable(wf.scenario(wf.call("a"), {"a": {}})) is None
    True
    >>> why_not_vectorisable(wf.scenario(wf.call("a"), {"a": {"capacity": 1}}))
    "tool 'a' has capacity 1 (runs would contend for it)"
    """
    if arrivals is not None:
        return "sessions arrive over time into one environment (arrivals=...)"
    if inputs:
        return f"the entry agent is given inputs {sorted(inputs)}"
    if scenario.outcomes:
        return f"user outcomes {sorted(scenario.outcomes)} read each run's trace"
    for agent in scenario.agents.values():
        if wf.flow_of(agent.fn) is None:
            return f"agent {agent.name!r} is Python code, not a workflow flow"
    for tool in scenario.tools.values():
        reason = _tool_reason(tool)
        if reason:
            return reason
    for iv in interventions:
        if iv.kind not in RESULT_KINDS | TOOL_KINDS:
            return f"intervention {iv.describe()} has no vectorised form"
        if iv.kind == "replace":
            rep = iv.replacement  # type: ignore[attr-defined]
            if not isinstance(rep, Tool) or iv.target in scenario.agents:
                return f"{iv.describe()} replaces a mechanism or agent by Python code"
            reason = _tool_reason(rep)
            if reason:
                return f"{iv.describe()}: {reason}"
        if iv.kind == "set_params":
            for tool in scenario.tools.values():
                try:
                    changed = tool.with_params(**dict(iv.params))  # type: ignore[attr-defined]
                except ScenarioError:
                    continue  # compile_interventions reports it
                reason = _tool_reason(changed)
                if reason:
                    return f"{iv.describe()}: {reason}"
    return None
