"""Attribution of a change: which of the differences between two versions of a scenario
moved an outcome, and by how much.

Two versions of a scenario differ by *mechanism changes*: a tool or model whose parameters
changed (a new model, a more reliable search tool), or an agent whose code changed. Each
change is a player; a coalition ``S`` is the old scenario with the changes in ``S`` applied
as interventions (``replace``), so ``v(∅)`` is the old scenario and ``v(N)`` the new one.
Shapley values split the total change ``v(N) - v(∅)`` among the changes, like DoWhy's
distribution-change attribution but with the exact mechanisms known.

Tools and agents are identified by name inside the scenario that runs (see
:meth:`~agentsim.context.Context.call`): the new code of a changed agent, run in the old
scenario, calls the old scenario's tools and sub-agents unless their changes are in the
coalition too, so each change is credited with its own effect only.

Every coalition is simulated on the same ``n`` seeds (common random numbers), so the Shapley
value of each change can be computed *per run*, and its confidence interval comes from the
run-to-run spread of those per-run values.
"""

from __future__ import annotations

import math
from dataclasses import fields
from itertools import combinations
from typing import TYPE_CHECKING, Any

import numpy as np

from agentsim.attribution.result import Attribution
from agentsim.errors import AttributionError
from agentsim.interventions import Intervention, replace
from agentsim.stats import paired_difference
from agentsim.worlds.population import PopulationWorld

if TYPE_CHECKING:
    from agentsim.scenario import Scenario, Tool

__all__ = ["attribute_change", "mechanism_changes"]

_MAX_CHANGES = 8


def _same_tool(a: Tool, b: Tool) -> bool:
    names = [f.name for f in fields(a) if f.init]
    return all(getattr(a, n) == getattr(b, n) for n in names)


def mechanism_changes(before: Scenario, after: Scenario) -> dict[str, Intervention]:
    """Change name -> the intervention that applies it to ``before``.

    >>> import agentsim as asim
    >>> old, new = asim.Scenario("old"), asim.Scenario("new")
    >>> _ = old.tool("search", p_ok=0.9), new.tool("search", p_ok=0.95)
    >>> list(mechanism_changes(old, new))
    ['tool search']
    """
    changes: dict[str, Intervention] = {}
    for name, tool in after.tools.items():
        old = before.tools.get(name)
        if old is None:
            continue
        if not _same_tool(old, tool):
            changes[f"{tool.kind} {name}"] = replace(name, tool)
    for name, agent in after.agents.items():
        old_agent = before.agents.get(name)
        if old_agent is not None and old_agent.fn.__code__ is not agent.fn.__code__:
            changes[f"agent {name}"] = replace(name, agent.fn)
    return changes


def attribute_change(
    before: Scenario,
    after: Scenario,
    outcome: str = "success",
    n: int = 20_000,
    seed: int = 0,
    *,
    workers: int = 1,
    confidence: float = 0.95,
    executor: Any = None,
) -> Attribution:
    """Shapley attribution of ``E[outcome | after] - E[outcome | before]`` to the mechanism
    changes between the two versions (see the module docstring). ``executor`` runs every
    batch on a ``dask.distributed`` client (same values as without).

    >>> import agentsim as asim
    >>> def version(p_search, p_llm):
    ...     sc = asim.Scenario("v")
    ...     s = sc.tool("search", p_ok=p_search)
    ...     m = sc.model("llm", p_ok=p_llm)
    ...     @sc.agent
    ...     def main(ctx):
    ...         hit = yield ctx.call(s)
    ...         return (yield ctx.call(m, hit))
    ...     return sc
    >>> a = attribute_change(version(0.9, 0.9), version(0.9, 0.7), n=4000)
    >>> list(a.values), round(a.values["llm llm"], 2)
    (['llm llm'], -0.18)
    """
    changes = mechanism_changes(before, after)
    extra = sorted(set(after.tools) ^ set(before.tools))
    notes = []
    if extra:
        notes.append(f"tools present in only one version are not players: {extra}")
    if not changes:
        raise AttributionError(
            f"scenarios {before.name!r} and {after.name!r} have no mechanism change in common "
            "tools or agents to attribute"
        )
    if len(changes) > _MAX_CHANGES:
        raise AttributionError(
            f"{len(changes)} changes is too many for exact attribution "
            f"(at most {_MAX_CHANGES}); group them"
        )
    names = list(changes)
    k = len(names)
    population = PopulationWorld(before, n, seed, workers=workers, executor=executor)
    ys: dict[frozenset[str], np.ndarray] = {}
    for size in range(k + 1):
        for combo in combinations(names, size):
            ys[frozenset(combo)] = population.outcomes([changes[c] for c in combo], outcome)
    per_run: dict[str, np.ndarray] = {}
    for player in names:
        others = [c for c in names if c != player]
        acc = np.zeros(n)
        for size in range(k):
            w = math.factorial(size) * math.factorial(k - size - 1) / math.factorial(k)
            for combo in combinations(others, size):
                s = frozenset(combo)
                acc += w * (ys[s | {player}] - ys[s])
        per_run[player] = acc
    values, ci = {}, {}
    for p in names:
        est = paired_difference(per_run[p], np.zeros(n), confidence)
        values[p] = est.value
        ci[p] = (est.low, est.high)
    v_empty = float(ys[frozenset()].mean())
    v_full = float(ys[frozenset(names)].mean())
    gap = sum(values.values()) - (v_full - v_empty)
    notes.append(f"{2**k} coalitions x {n} paired runs; per-run Shapley values, t intervals")
    return Attribution(
        values=values,
        ci=ci,
        game="change",
        method="shapley/exact-paired",
        outcome=outcome,
        evaluations=(2**k) * n,
        efficiency_gap=gap,
        v_empty=v_empty,
        v_full=v_full,
        exact=False,
        confidence=confidence,
        notes=notes,
    )
