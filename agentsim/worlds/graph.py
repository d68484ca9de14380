"""The causal graph of a run or trace, as a networkx DiGraph.

Layer: causal. It imports only from its own layer and the ones below it.

Nodes are span addresses, with attributes ``kind``, ``agent``, ``tool`` (the callee name),
``ok``, ``start`` and ``end``. Edges say why one span can influence another:

* ``data``: the result of the source was passed to the target as an input;
* ``control``: the source precedes the target in the same agent instance (the agent saw the
  source's result before issuing the target, so it could branch on it), or the source is a
  call inside an agent instance and the target is that instance (its result is computed from
  its calls);
* ``resource``: the target queued for a capacity-limited tool that the source was holding;
* ``timing``: the source was cancelled (it lost a ``first``) or cut short inside the target
  agent; its result never reached the agent, only its duration could matter (had it been
  faster, it might have won).

A node named ``"outcome"`` depends on the entry agent. Because control edges are
conservative (an agent *could* have branched on any result it received), every span that is
not an ancestor of the outcome in this graph provably cannot change it in this world.

Examples
--------
>>> import agentsim as asim
>>> sc = asim.Scenario("g")
>>> t = sc.tool("t")
>>> @sc.agent
... def main(ctx):
...     a = yield ctx.call(t)
...     return (yield ctx.call(t, a))
>>> g = scm_graph(sc.run(seed=0))
>>> g.edges["main#0/t#0", "main#0/t#1"]["kinds"]
['data', 'control']
>>> sorted(ancestors_of_outcome(g))
['main#0', 'main#0/t#0', 'main#0/t#1']
"""

from __future__ import annotations

from collections import defaultdict
from typing import Any

import networkx as nx

from agentsim.run import Run
from agentsim.trace import Span, Trace

__all__ = ["OUTCOME", "ancestors_of_outcome", "scm_graph"]

OUTCOME = "outcome"


def _add_edge(g: nx.DiGraph, u: str, v: str, kind: str) -> None:
    if u == v or u not in g or v not in g:
        return
    if g.has_edge(u, v):
        if kind not in g.edges[u, v]["kinds"]:
            g.edges[u, v]["kinds"].append(kind)
    else:
        g.add_edge(u, v, kinds=[kind], kind=kind)


def _spans(obj: Run | Trace) -> list[Span]:
    trace = obj.trace if isinstance(obj, Run) else obj
    return list(trace.spans)


def scm_graph(run_or_trace: Run | Trace) -> nx.DiGraph:
    """The causal graph of a run or trace (see the module docstring for edge kinds)."""
    spans = _spans(run_or_trace)
    g = nx.DiGraph()
    for s in spans:
        g.add_node(
            s.address,
            kind=s.kind,
            agent=s.agent,
            tool=s.name,
            ok=s.ok,
            start=s.start,
            end=s.end,
            status=s.status,
        )
    g.add_node(OUTCOME, kind="outcome")
    by_parent: dict[str | None, list[Span]] = defaultdict(list)
    for s in spans:
        by_parent[s.parent].append(s)
    for s in spans:
        for a in s.inputs:
            _add_edge(g, a, s.address, "data")
        if s.parent is not None:
            _add_edge(g, s.address, s.parent, "control" if s.status == "done" else "timing")
    for siblings in by_parent.values():
        for i, later in enumerate(siblings):
            for earlier in siblings[:i]:
                if earlier.end <= later.start + 1e-12 and earlier.status == "done":
                    _add_edge(g, earlier.address, later.address, "control")
    by_tool: dict[str, list[Span]] = defaultdict(list)
    for s in spans:
        if s.kind in ("tool", "llm"):
            by_tool[s.name].append(s)
    for calls in by_tool.values():
        for waiter in calls:
            if waiter.queued <= 0:
                continue
            began = waiter.start + waiter.queued
            for holder in calls:
                if (
                    holder is not waiter
                    and holder.start <= waiter.start < holder.end <= began + 1e-9
                ):
                    _add_edge(g, holder.address, waiter.address, "resource")
    for root in by_parent.get(None, []):
        _add_edge(g, root.address, OUTCOME, "control")
    return g


def ancestors_of_outcome(
    graph: nx.DiGraph, outcome: str = OUTCOME, kinds: tuple[str, ...] | None = None
) -> set[Any]:
    """Addresses with a directed path to the outcome node.

    With ``kinds``, only edges of those kinds count: ``("data", "control", "resource")``
    gives the calls whose *success or value* can matter; a call outside that set can be
    repaired or broken without changing the outcome.
    """
    if kinds is None:
        return set(nx.ancestors(graph, outcome))
    keep = [(u, v) for u, v, k in graph.edges(data="kinds") if set(k) & set(kinds)]
    return set(nx.ancestors(graph.edge_subgraph(keep), outcome)) if keep else set()
