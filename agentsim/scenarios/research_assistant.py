"""A research assistant: plan, search three angles in parallel, fetch sources, write.

Layer: face (the top). It may import from every layer below it.

Causal question
---------------
*The report was not written: was it the rate-limited search API, the retries that ran out,
or the writer?* Three search sub-agents share a search API that serves two requests at a
time, so the third waits in its queue; queueing time counts against the API's timeout, so
contention itself causes timeouts, and a timeout triggers a retry that queues again. The
writer needs at least two of the three searches, so one failed searcher is tolerated and
two are fatal: no single searcher is a but-for cause of a failure with two failed searchers,
and each is an actual cause under a contingency (Halpern-Pearl), which is where Shapley and
actual-cause attribution disagree with "first error" heuristics. Under load
(``scenario.simulate(n, arrivals=...)``) sessions share the search capacity and one
session's retries can cause another's timeouts.

Workflow
--------
``research`` (entry agent) asks the ``planner`` model for a research plan, then spawns three
``searcher`` sub-agents in parallel (``ctx.parallel`` of ``ctx.spawn``). Each searcher calls
``web_search`` (capacity 2, 10 s timeout), retrying up to twice when a call fails, then
fetches the best hit with ``fetch_page``. When fewer than two searchers return a page the
entry agent returns a failed :class:`~agentsim.Result` (a custom failure criterion: an agent
fails when it returns a falsy value or a failed Result); otherwise the ``writer`` model drafts
the report from the pages that arrived.

Parameters (realistic assumptions, not measurements)
----------------------------------------------------
- LLM calls: log-normal latency, planner median 2 s, writer median 3 s (``sigma`` 0.4-0.5),
  success rates 0.95-0.97, $0.003 and $0.01 per call.
- ``web_search``: success rate 0.75 per call (empty or irrelevant results, transient
  errors), log-normal latency with a 2.5 s median and a heavy tail (``sigma`` 0.6), two
  concurrent requests (the provider's rate limit), 10 s timeout including time in the queue,
  $0.001 per call.
- ``fetch_page``: success rate 0.90 (paywalls, 404s, bot blocks), 1.5 s median latency.
- Deadline 60 s for the whole report.

Examples
--------
>>> from agentsim.scenarios.research_assistant import scenario
>>> run = scenario.run(seed=1)
>>> [s.address for s in run.trace.spans if s.kind == "agent"][:2]
['research#0', 'research#0/searcher#0']
"""

from __future__ import annotations

from typing import Any

import agentsim as asim
from agentsim import dist

__all__ = ["scenario"]

SEARCHERS = 3
"""Number of parallel search sub-agents."""
NEEDED = 2
"""Pages the writer needs to draft the report."""
RETRIES = 2
"""Extra search attempts a searcher makes after a failed call."""

scenario = asim.Scenario(
    "research-assistant",
    deadline=60.0,
    description="Did the rate-limited search API, exhausted retries or the writer cause a "
    "missing report?",
)

planner = scenario.model(
    "planner", p_ok=0.97, latency=dist.LogNormal(median=2.0, sigma=0.4), cost=0.003
)
web_search = scenario.tool(
    "web_search",
    p_ok=0.75,
    latency=dist.LogNormal(median=2.5, sigma=0.6),
    capacity=2,
    timeout=10.0,
    cost=0.001,
)
fetch_page = scenario.tool("fetch_page", p_ok=0.90, latency=dist.LogNormal(median=1.5, sigma=0.5))
writer = scenario.model(
    "writer", p_ok=0.95, latency=dist.LogNormal(median=3.0, sigma=0.5), cost=0.01
)


@scenario.agent
def research(ctx: Any, question: str = "How do LLM agents fail?") -> Any:
    """Entry agent: plan, search in parallel, and write when enough pages arrived."""
    plan = yield ctx.call(planner, question)
    pages = yield ctx.parallel(*(ctx.spawn(searcher, plan, angle) for angle in range(SEARCHERS)))
    good = [page for page in pages if page.ok]
    if len(good) < NEEDED:
        # A custom failure criterion: returning a failed Result fails this agent's call.
        error = (
            f"only {len(good)} of {SEARCHERS} searchers returned a page; the writer needs {NEEDED}"
        )
        return asim.Result(ok=False, error=error)
    return (yield ctx.call(writer, plan, *good))


@scenario.agent
def searcher(ctx: Any, plan: Any, angle: int) -> Any:
    """Sub-agent: search one angle of the plan (with retries), then fetch the best hit."""
    hits = yield ctx.call(web_search, plan, angle)
    for _ in range(RETRIES):
        if hits.ok:
            break
        hits = yield ctx.call(web_search, plan, angle)
    if not hits.ok:
        return hits
    return (yield ctx.call(fetch_page, hits))
