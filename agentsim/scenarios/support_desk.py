"""A customer-support desk: look up the order, plan, then refund or escalate.

Layer: face (the top). It may import from every layer below it.

Causal question
---------------
*This ticket was not resolved: which step caused it?* A run fails when the order lookup, the
planner, the refund tool or the escalation path fails, or when the whole ticket misses its
30-second deadline. Because a failed lookup poisons the plan (the planner's noisy-AND sees a
bad input), the first error in the trace is not always the only cause, and a failure on the
escalation path can be masked by the racing drafts of ``ctx.first``. The scenario is the
running example of the API: ask ``asim.decisive_error(run)``, ``asim.but_for(run)`` or
``asim.effect(scenario, [asim.set_params("lookup_order", p_ok=0.999)], outcome="success")``.

Workflow
--------
``support`` (entry agent) calls ``lookup_order``, asks the ``planner`` model for a plan, lets
the ``triage`` model choose ``refund`` or ``escalate`` (a Gumbel-max ``ctx.choose``), then
either calls ``issue_refund`` (shared capacity 2, 5 s timeout) or spawns the ``escalation``
sub-agent. ``escalation`` fetches the customer's history and summarises the ticket in
parallel (``ctx.parallel``), races two reply drafts and keeps the first good one
(``ctx.first``), waits 2 s for a human to pick the ticket up (``ctx.wait``) and hands it over.

Parameters (realistic assumptions, not measurements)
----------------------------------------------------
- LLM calls: log-normal latency with medians 1.2-2.5 s (``sigma`` 0.4-0.5), success rates
  0.95-0.97 (refusals, malformed output, provider errors), $0.002-0.004 per call.
- Tools: success rates 0.96-0.99, sub-second latencies; the refund API is a shared service
  with two concurrent slots and a 5 s timeout; the CRM is slow-tailed (log-normal, 1 s median,
  ``sigma`` 0.8) with a 4 s timeout.
- Triage sends 60% of tickets to a refund and 40% to escalation (a ``ctx.choose`` decision
  always returns an option: only its latency and cost come from the ``triage`` model);
  deadline 30 s.

Examples
--------
>>> from agentsim.scenarios.support_desk import scenario
>>> run = scenario.run(seed=7)
>>> sorted(run.outcomes)
['cost', 'latency', 'resolved_fast', 'success']
>>> run.trace.span("support#0/lookup_order#0").kind
'tool'
"""

from __future__ import annotations

from typing import Any

import agentsim as asim
from agentsim import dist

__all__ = ["scenario"]

scenario = asim.Scenario(
    "support-desk",
    deadline=30.0,
    description="Which step caused an unresolved support ticket: lookup, planner, refund or "
    "the escalation path?",
)

lookup_order = scenario.tool(
    "lookup_order", p_ok=0.97, latency=dist.LogNormal(median=0.4, sigma=0.3)
)
issue_refund = scenario.tool(
    "issue_refund",
    p_ok=0.98,
    latency=dist.LogNormal(median=1.0, sigma=0.9),
    capacity=2,
    timeout=5.0,
)
crm_history = scenario.tool(
    "crm_history", p_ok=0.96, latency=dist.LogNormal(median=1.0, sigma=0.8), timeout=4.0
)
handoff = scenario.tool("handoff_to_human", p_ok=0.99, latency=dist.Exponential(mean=0.3))

planner = scenario.model(
    "planner", p_ok=0.95, latency=dist.LogNormal(median=1.5, sigma=0.4), cost=0.002
)
triage = scenario.model(
    "triage", p_ok=0.97, latency=dist.LogNormal(median=1.2, sigma=0.4), cost=0.001
)
summarizer = scenario.model(
    "summarizer", p_ok=0.96, latency=dist.LogNormal(median=2.0, sigma=0.5), cost=0.003
)
drafter = scenario.model(
    "drafter", p_ok=0.95, latency=dist.LogNormal(median=2.5, sigma=0.5), cost=0.004
)


@scenario.agent
def support(ctx: Any, ticket: str = "T-1") -> Any:
    """Entry agent: look the order up, plan, and refund or escalate."""
    order = yield ctx.call(lookup_order, ticket)
    plan = yield ctx.call(planner, order)
    choice = yield ctx.choose(triage, {"refund": 0.6, "escalate": 0.4}, inputs=[plan])
    if choice.value == "refund":
        return (yield ctx.call(issue_refund, plan))
    return (yield ctx.spawn(escalation, plan))


@scenario.agent
def escalation(ctx: Any, plan: Any) -> Any:
    """Sub-agent: gather context in parallel, race two drafts, hand over to a human."""
    history, summary = yield ctx.parallel(ctx.call(crm_history, plan), ctx.call(summarizer, plan))
    draft = yield ctx.first(ctx.call(drafter, history, summary), ctx.call(drafter, summary))
    yield ctx.wait(2.0)
    return (yield ctx.call(handoff, draft))


scenario.outcome(
    "resolved_fast",
    lambda run: float(run.outcomes["success"] and run.outcomes["latency"] < 10.0),
)
