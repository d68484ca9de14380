"""What a report says about a run, a trace or a batch: root cause, casualties, attribution.

Layer: face (the top). It may import from every layer below it.

Answers come from the library's defaults (``decisive_error(run)`` and ``shapley(run)`` without a
``game=``), so the report follows whatever game the library uses to explain a failure.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import networkx as nx
import numpy as np

from agentsim import interventions as _interventions
from agentsim.attribution.api import shapley
from agentsim.attribution.baselines import decisive_error
from agentsim.attribution.result import Attribution
from agentsim.batch import Batch
from agentsim.counterfactuals import counterfactual
from agentsim.errors import AgentSimError
from agentsim.explain import explain
from agentsim.run import Run
from agentsim.stats import Estimate
from agentsim.trace import Trace
from agentsim.worlds.graph import OUTCOME, scm_graph

__all__ = ["BatchFindings", "RunFindings", "find", "find_batch", "find_run"]

SHAPLEY_BUDGET = 2000
"""World evaluations a report spends on one Shapley attribution (sampled beyond that)."""


@dataclass
class RunFindings:
    """The answers a report shows for one run or trace."""

    trace: Trace
    title: str
    outcomes: dict[str, float]
    failed: bool
    root: str | None = None
    """Address of the root cause (the decisive error, else the largest Shapley value)."""
    root_evidence: str = ""
    casualties: list[str] = field(default_factory=list)
    """Failed spans its failure reached through results (inputs, and calls to their agent)."""
    by_call: Attribution | None = None
    by_agent: Attribution | None = None
    fix_label: str = ""
    fixed: dict[str, Estimate] = field(default_factory=dict)
    """Outcomes had the root cause been fixed (exact estimates for simulated runs)."""
    graph: Any = None
    notes: list[str] = field(default_factory=list)

    @property
    def other_failures(self) -> list[str]:
        """Failed spans that are neither the root cause nor its casualties."""
        skip = {self.root, *self.casualties}
        return [s.address for s in self.trace.spans if not s.ok and s.address not in skip]


@dataclass
class BatchFindings:
    """The answers a report shows for a batch of runs."""

    name: str
    n: int
    seed: int
    estimates: dict[str, Estimate]
    latencies: list[float]
    crashes: int
    explain: Any = None
    """The result of :func:`agentsim.explain` for a batch with failures (else ``None``)."""
    example: RunFindings | None = None
    """A failed run of the batch, explained."""
    notes: list[str] = field(default_factory=list)


def _attempt(notes: list[str], what: str, fn: Any, *args: Any, **kwargs: Any) -> Any:
    """``fn(*args, **kwargs)``, or ``None`` with a note when the library cannot answer."""
    try:
        return fn(*args, **kwargs)
    except AgentSimError as exc:
        notes.append(f"{what}: {exc}")
        return None


def _as_estimates(outcomes: dict[str, Any]) -> dict[str, Estimate]:
    out: dict[str, Estimate] = {}
    for k, v in outcomes.items():
        if isinstance(v, Estimate):
            out[k] = v
        elif isinstance(v, int | float):
            out[k] = Estimate(float(v), float(v), float(v))
    return out


def find_run(obj: Run | Trace, title: str | None = None) -> RunFindings:
    """Root cause, casualties, attributions and the fixed outcome of a run or trace.

    >>> import agentsim as asim
    >>> sc = asim.Scenario("f")
    >>> a, b = sc.tool("a", p_ok=0.5), sc.tool("b", p_ok=0.9)
    >>> @sc.agent
    ... def main(ctx):
    ...     x = yield ctx.call(a)
    ...     return (yield ctx.call(b, x))
    >>> run = next(r for r in (sc.run(seed=s) for s in range(99))
    ...            if not r.result.ok and r.trace.span("main#0/b#0").noise["ok"] < 0.9)
    >>> f = find_run(run)
    >>> f.root, f.casualties, f.fixed["success"].value
    ('main#0/a#0', ['main#0', 'main#0/b#0'], 1.0)
    """
    trace = obj.trace if isinstance(obj, Run) else obj
    outcomes = dict(obj.outcomes)
    if title is None:
        title = (
            f"{trace.scenario or 'run'} seed {trace.seed}"
            if trace.scenario is not None
            else f"{trace.source} trace {trace.trace_id}".strip()
        )
    failed = "success" in outcomes and not outcomes["success"]
    found = RunFindings(trace=trace, title=title, outcomes=outcomes, failed=failed)
    found.graph = scm_graph(obj)
    if not failed:
        return found
    notes = found.notes
    locus = _attempt(notes, "decisive error", decisive_error, obj)
    found.by_call = _attempt(notes, "attribution by call", shapley, obj, budget=SHAPLEY_BUDGET)
    if sum(1 for s in trace.spans if s.kind == "agent") > 1:
        found.by_agent = _attempt(
            notes, "attribution by agent", shapley, obj, players="agents", budget=SHAPLEY_BUDGET
        )
    if locus is not None and locus.address is not None:
        found.root, found.root_evidence = locus.address, f"decisive error: {locus.evidence}"
    elif found.by_call is not None:
        top = [(p, v) for p, v in found.by_call.top(1) if v > 0]
        if top and top[0][0] in found.graph:
            found.root = top[0][0]
            found.root_evidence = "largest Shapley value (no single fix saves the run)"
    if found.root is None:
        return found
    found.casualties = [
        s.address
        for s in trace.spans
        if not s.ok and s.address != found.root and s.address in _descendants(found)
    ]
    fix = getattr(_interventions, "fix", None)
    iv = fix(found.root) if fix is not None else _interventions.repair(found.root)
    found.fix_label = iv.describe()
    cf = _attempt(notes, "counterfactual", counterfactual, obj, iv)
    if cf is not None:
        found.fixed = _as_estimates(dict(cf.outcomes))
    return found


def _descendants(found: RunFindings) -> set[str]:
    """Spans the root cause's failure can reach through results: data edges (its result was
    an input) and a call's edge to its own agent instance (the agent's result is computed from
    its calls). Control edges between siblings are left out: a call issued after the root
    cause in the same agent did not receive its result, so its failure is its own."""
    g: nx.DiGraph = found.graph
    if found.root not in g:
        return set()
    parent = {s.address: s.parent for s in found.trace.spans}
    flows = nx.DiGraph(
        (u, v) for u, v, kinds in g.edges(data="kinds") if "data" in kinds or parent.get(u) == v
    )
    if found.root not in flows:
        return set()
    return set(nx.descendants(flows, found.root)) - {OUTCOME}


def find_batch(batch: Batch, *, explain_over: str = "tools") -> BatchFindings:
    """Success, latency and cost with intervals; ``explain`` when present; a failed example."""
    estimates = {"success rate": batch.rate("success")}
    for name in ("latency", "cost"):
        estimates[f"mean {name}"] = batch.mean(name)
    crashes_fn = getattr(batch, "crashes", None)
    crashes = len(list(crashes_fn())) if callable(crashes_fn) else 0
    found = BatchFindings(
        name=batch.scenario.name,
        n=len(batch),
        seed=batch.seed,
        estimates=estimates,
        latencies=[float(x) for x in np.asarray(batch.values("latency"))],
        crashes=crashes,
    )
    if len(batch) and batch.rate("success").value < 1 and not batch.arrivals:
        found.explain = _attempt(found.notes, "explain", explain, batch, over=explain_over)
    index = next((i for i in batch.failed_indices() if batch[i].has_trace), None)
    if index is not None:
        failed = batch[index]
        found.example = find_run(
            failed, f"a failed run: run {index} of the batch (seed {failed.seed})"
        )
    return found


def find(obj: Any) -> RunFindings | BatchFindings:
    """:func:`find_batch` for a :class:`Batch`, :func:`find_run` for a run or a trace."""
    if isinstance(obj, Batch):
        return find_batch(obj)
    if isinstance(obj, Run | Trace):
        return find_run(obj)
    raise AgentSimError(
        f"cannot report on a {type(obj).__name__}; give a Run, a Trace or a Batch "
        "(sc.run(seed=...), asim.load_trace(path), sc.simulate(n))"
    )
