"""Batch-level answers: whose faults cost the most success, and what would raise it most.

A per-run attribution says whose fault one failure was. Across a population of runs two
different questions are asked, and their answers can rank players differently:

* **blame** (``share``): the population Shapley value of the fault game. With ``v(S)`` the
  probability of success when every call of the players in ``S`` has its own fault removed
  (:func:`agentsim.fix`), the shares sum to ``v(N) - v(∅)``: the failure rate, less the
  failures that no fault removal prevents (reported as ``unexplained``). By linearity it is
  the mean, over runs, of each run's fault-game Shapley value.
* **leverage**: the paired effect on success of fixing that player alone,
  ``v({i}) - v(∅)``. A player that fails rarely but always fatally has small blame and
  large leverage when others' faults are redundant with it; a player whose faults always
  coincide with another's shares the blame for failures that fixing it alone does not
  prevent.
* **decisive**: the fraction of failed runs whose decisive error (the earliest failed step
  whose fix alone saves the run, :func:`agentsim.decisive_error`) belongs to the player.

Every coalition is simulated on the same seeds (common random numbers), so each run
contributes one paired value per player and every interval is a Student-t interval over runs
(Wilson for ``decisive``). :func:`sensitivity` ranks the paired effects of small parameter
changes (``p_ok=+0.05``, ``capacity=+1``) the same way.

Examples
--------
>>> import agentsim as asim
>>> sc = asim.Scenario("ex")
>>> a, b = sc.tool("a", p_ok=0.9), sc.tool("b", p_ok=0.5)
>>> @sc.agent
... def main(ctx):
...     x = yield ctx.call(a)
...     return (yield ctx.call(b, x))
>>> ex = explain(sc, n=2000, seed=0)
>>> [row.player for row in ex.rows]
['b', 'a']
>>> round(sum(r.share.value for r in ex.rows), 6) == round(ex.failure_rate.value, 6)
True
"""

from __future__ import annotations

import math
import sys
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np

from agentsim._display import html_of
from agentsim.attribution.baselines import decisive_error
from agentsim.batch import Batch
from agentsim.errors import AttributionError
from agentsim.executor import batch_progress
from agentsim.interventions import (
    Intervention,
    agent_names_of,
    as_interventions,
    fix,
    set_params,
    target_matches,
)
from agentsim.scenario import Scenario
from agentsim.stats import Estimate, mean_ci, paired_difference, wilson
from agentsim.worlds import PopulationWorld, ScenarioWorld

if TYPE_CHECKING:
    import pandas as pd

__all__ = ["Explanation", "Row", "Sensitivity", "explain", "sensitivity", "top_causes"]

MAX_PLAYERS = 8
"""Most players :func:`explain` solves exactly (``2**k`` coalition batches of ``n`` runs)."""


@dataclass(frozen=True)
class Row:
    """One player of an :class:`Explanation`."""

    player: str
    share: Estimate
    """Population Shapley value of the fault game (a share of the failure rate)."""
    leverage: Estimate
    """Paired effect on success of fixing this player alone."""
    decisive: Estimate
    """Fraction of failed runs whose decisive error belongs to this player."""


@dataclass(frozen=True)
class Explanation:
    """What :func:`explain` returns: one :class:`Row` per player, largest share first."""

    rows: list[Row]
    over: str
    outcome: str
    n: int
    seed: int
    failure_rate: Estimate
    unexplained: Estimate
    """Failure rate that no fault removal prevents (``1 - v(N)``): deadlines missed without
    a failed call, modelled failures, calls whose success region is empty."""
    evaluations: int
    """Runs simulated (every coalition's batch counted)."""
    notes: list[str] = field(default_factory=list)

    def rankings_differ(self) -> bool:
        """Whether ranking by blame (share) and by leverage put a different player first or
        order the players differently."""
        by_share = [r.player for r in self.rows]
        by_leverage = [r.player for r in sorted(self.rows, key=lambda r: -r.leverage.value)]
        return by_share != by_leverage

    def _repr_html_(self) -> str | None:
        """Rich display in notebooks (drawn by :mod:`agentsim.views.snippets`)."""
        return html_of(self)

    def to_pandas(self) -> pd.DataFrame:
        """One row per player: share, leverage, decisive, each with low and high."""
        import pandas as pd

        records = []
        for r in self.rows:
            rec: dict[str, Any] = {"player": r.player}
            for name in ("share", "leverage", "decisive"):
                est: Estimate = getattr(r, name)
                rec[name], rec[f"{name}_low"], rec[f"{name}_high"] = est.value, est.low, est.high
            records.append(rec)
        return pd.DataFrame.from_records(records)

    def lines(self) -> list[str]:
        """The rendered result as text lines (what ``str`` prints)."""
        out = [
            f"why {self.outcome} fails, over {self.over} ({self.n} runs, seed {self.seed}): "
            f"failure rate {_fmt(self.failure_rate)}, of which no fault removal prevents "
            f"{_fmt(self.unexplained)}"
        ]
        width = max([len(r.player) for r in self.rows] + [6])
        out.append(f"  {'player':<{width}}  {'share':>24}  {'leverage':>24}  {'decisive':>24}")
        for r in self.rows:
            out.append(
                f"  {r.player:<{width}}  {_fmt(r.share):>24}  {_fmt(r.leverage):>24}  "
                f"{_fmt(r.decisive):>24}"
            )
        if self.rows and self.rankings_differ():
            top = max(self.rows, key=lambda r: r.leverage.value)
            out.append(
                f"blame and leverage rank differently: {self.rows[0].player} takes the most "
                f"blame, fixing {top.player} alone raises {self.outcome} the most"
            )
        out.extend(f"note: {n}" for n in self.notes)
        return out

    def __str__(self) -> str:
        return "\n".join(self.lines())

    def __rich__(self) -> Any:
        from rich.table import Table

        table = Table(title=self.lines()[0], title_justify="left")
        for col in ("player", "share", "leverage", "decisive"):
            table.add_column(col, justify="left" if col == "player" else "right")
        for r in self.rows:
            table.add_row(r.player, _fmt(r.share), _fmt(r.leverage), _fmt(r.decisive))
        caption = self.lines()[2 + len(self.rows) :]
        if caption:
            table.caption = "\n".join(caption)
            table.caption_justify = "left"
        return table


def _fmt(e: Estimate) -> str:
    def three(x: float) -> str:
        return f"{round(x, 3) + 0.0:.3f}"  # + 0.0: a bound of -1e-19 prints 0.000, not -0.000

    return f"{three(e.value)} [{three(e.low)}, {three(e.high)}]"


def _name(address: str) -> str:
    """The callee name of an address: ``main#0/sub#1/search#2`` -> ``search``."""
    return address.rsplit("/", 1)[-1].split("#", 1)[0]


def _players(
    sc: Scenario, over: Any, worlds: Sequence[ScenarioWorld], fault_addresses: list[str]
) -> dict[str, tuple[str, ...]]:
    """Player name -> fix targets, for the population."""
    if isinstance(over, Mapping):
        return {str(k): (v,) if isinstance(v, str) else tuple(v) for k, v in over.items()}
    if over == "tools":
        called = {t for w in worlds for t in w.players("tools")}
        return {t: (t,) for t in sc.tools if t in called}
    if over == "agents":
        entry = sc.entry.name
        out = {f"{entry} (own calls)": tuple(f"{entry}#0/{t}#*" for t in sc.tools)}
        spawned = {_name(a) for w in worlds for a in w.players("agents")} - {entry}
        out.update({a: (a,) for a in sc.agents if a in spawned})
        return out
    if over == "calls":
        return {a: (a,) for a in fault_addresses}
    raise AttributionError(
        f"over={over!r} must be 'tools', 'agents', 'calls' or a dict {{name: [targets]}}"
    )


def explain(
    target: Scenario | Batch,
    over: Any = "tools",
    outcome: str = "success",
    n: int | None = None,
    seed: int | None = None,
    *,
    workers: int = 1,
    decisive: bool = True,
    confidence: float = 0.95,
    progress: bool | None = None,
    executor: Any = None,
) -> Explanation:
    """Explain a scenario's (or a batch's) failures at the level of the population.

    Parameters
    ----------
    target : Scenario or Batch
        A scenario (simulated here with ``n`` runs from ``seed``), or a batch of independent
        runs (its scenario, size, seed, interventions and inputs are reused).
    over : {"tools", "agents", "calls"} or dict
        The players: tools; agents (the entry agent's own calls, and each sub-agent with
        every call inside it); call addresses that had a fault in some run; or a dict
        ``{name: [fix targets]}``.
    outcome : str
        A 0/1 outcome (``success`` or a user outcome); ``failure`` is ``1 - outcome``.
    n, seed : int
        Runs and batch seed (for a scenario; by default 2000 and 0).
    workers : int
        Processes for the coalition batches (results do not depend on it).
    decisive : bool
        Also locate each failure's decisive error (one replay per failed step tried).
    confidence : float
        Of every interval.
    progress : bool, optional
        Show a progress bar over the coalition batches (default: when stderr is a terminal).
    executor : dask.distributed.Client, optional
        Run the batches on a Dask cluster (the same answer as without).

    Returns
    -------
    Explanation
        One row per player, largest share first.
    """
    sc, base_ivs, inputs, n, seed = _population(target, n, seed)
    show = progress if progress is not None else sys.stderr.isatty()
    population = PopulationWorld(
        sc, n, seed, workers=workers, inputs=inputs, base=base_ivs, executor=executor
    )
    worlds = list(population.units())
    y0 = np.asarray([w.outcome([], outcome) for w in worlds], dtype=np.float64)
    if not np.all((y0 == 0.0) | (y0 == 1.0)):
        raise AttributionError(f"outcome {outcome!r} is not 0/1; explain needs a success flag")
    fault_addresses = list(dict.fromkeys(a for w in worlds for a in w.faults()))
    players = _players(sc, over, worlds, fault_addresses)
    if not players:
        raise AttributionError(f"no players over {over!r}: nothing in these runs can be fixed")
    if len(players) > MAX_PLAYERS:
        raise AttributionError(
            f"{len(players)} players over {over!r}; explain solves at most {MAX_PLAYERS} "
            "exactly (2**k batches); pass over='tools' or a dict of groups"
        )
    names = list(players)
    k = len(names)
    values: dict[int, np.ndarray] = {0: y0}
    evaluations = n
    with batch_progress((1 << k) - 1, show, f"explaining {sc.name}") as advance:
        for mask in range(1, 1 << k):
            ivs = [fix(t) for i, p in enumerate(names) if mask >> i & 1 for t in players[p]]
            values[mask] = population.outcomes(ivs, outcome)
            evaluations += n
            advance(1)
    weight = [math.factorial(s) * math.factorial(k - s - 1) / math.factorial(k) for s in range(k)]
    failed = [i for i, y in enumerate(y0) if y == 0.0]
    owners = _decisive_owners(worlds, failed, players, outcome) if decisive else {}
    rows = []
    for i, p in enumerate(names):
        phi = np.zeros(n)
        for mask in range(1 << k):
            if not mask >> i & 1:
                phi += weight[mask.bit_count()] * (values[mask | 1 << i] - values[mask])
        share = mean_ci(phi, confidence, proportion=False)
        lev = paired_difference(values[1 << i], y0, confidence)
        dec = (
            wilson(sum(1 for j in failed if p in owners.get(j, ())), len(failed), confidence)
            if decisive and failed
            else Estimate(math.nan, math.nan, math.nan, 0, confidence)
        )
        rows.append(Row(p, share, lev, dec))
    rows.sort(key=lambda r: -r.share.value)
    full = values[(1 << k) - 1]
    notes = []
    if over == "calls":
        notes.append("players are the call addresses that had a fault of their own in some run")
    base = population.factual_batch()
    if any(r.attributes.get("crash") for r in base):
        notes.append(f"{base.crash_summary()}: crashes are failures no fix removes")
    return Explanation(
        rows=rows,
        over=str(over) if isinstance(over, str) else "groups",
        outcome=outcome,
        n=n,
        seed=seed,
        failure_rate=mean_ci(1.0 - y0, confidence, proportion=True),
        unexplained=mean_ci(1.0 - full, confidence, proportion=True),
        evaluations=evaluations,
        notes=notes,
    )


def _population(
    target: Scenario | Batch, n: int | None, seed: int | None
) -> tuple[Scenario, tuple[Intervention, ...], dict[str, Any], int, int]:
    if isinstance(target, Batch):
        if target.arrivals:
            raise AttributionError(
                "this batch's sessions shared an environment (arrivals=...), so its runs are "
                "coupled; explain re-simulates independent runs: pass the scenario instead"
            )
        first = target.runs[0] if target.runs else None
        ivs = tuple(first.interventions) if first is not None else ()
        inputs = dict(first.context.inputs) if first is not None else {}
        return target.scenario, ivs, inputs, n or len(target), target.seed if seed is None else seed
    if isinstance(target, Scenario):
        return target, (), {}, 2000 if n is None else n, 0 if seed is None else seed
    raise AttributionError(
        f"explain takes a Scenario or a Batch, got {type(target).__name__}; for one run use "
        "asim.shapley(run)"
    )


def _decisive_owners(
    worlds: Sequence[ScenarioWorld],
    failed: Sequence[int],
    players: Mapping[str, tuple[str, ...]],
    outcome: str,
) -> dict[int, tuple[str, ...]]:
    """Run index -> the players owning that failed run's decisive error (if any)."""
    out: dict[int, tuple[str, ...]] = {}
    for j in failed:
        locus = decisive_error(worlds[j], outcome, game="fault")
        if locus is None or locus.address is None:
            continue
        address = locus.address
        names = agent_names_of(address)
        out[j] = tuple(
            p
            for p, targets in players.items()
            if any(target_matches(t, address, _name(address), names) for t in targets)
        )
    return out


def top_causes(
    batch: Batch, k: int = 3, limit: int = 200, outcome: str = "success"
) -> tuple[list[tuple[str, int]], int]:
    """The tools most often the decisive error of the batch's failures: ``([(tool, count),
    ...], failures examined)``, from at most ``limit`` failed runs (in seed order; runs
    without traces are skipped). A cheap summary under ``agentsim run``; :func:`explain`
    gives the full answer with intervals.

    >>> import agentsim as asim
    >>> sc = asim.Scenario("tc")
    >>> a, b = sc.tool("a", p_ok=0.99), sc.tool("b", p_ok=0.5)
    >>> @sc.agent
    ... def main(ctx):
    ...     return (yield ctx.call(b, (yield ctx.call(a))))
    >>> causes, examined = top_causes(sc.simulate(200, seed=0))
    >>> causes[0][0], examined > 50
    ('b', True)
    """
    counts: dict[str, int] = {}
    examined = 0
    for run in batch.runs:
        if examined >= limit:
            break
        if run.outcomes.get(outcome, 1.0) or not run.has_trace:
            continue
        examined += 1
        world = ScenarioWorld(run)
        locus = decisive_error(world, outcome, game="fault")
        if locus is None or locus.address is None:
            name = "(no single fix)" if not run.attributes.get("crash") else "(crash)"
        else:
            name = _name(locus.address)
        counts[name] = counts.get(name, 0) + 1
    ranked = sorted(counts.items(), key=lambda kv: (-kv[1], kv[0]))
    return ranked[:k], examined


@dataclass(frozen=True)
class Sensitivity:
    """Paired effects of small parameter changes, largest first."""

    effects: list[tuple[str, Estimate]]
    """``(change, paired effect on the outcome)`` pairs, largest effect first."""
    outcome: str
    n: int
    seed: int

    def to_pandas(self) -> pd.DataFrame:
        """One row per change: effect, low, high."""
        import pandas as pd

        return pd.DataFrame.from_records(
            [
                {"change": c, "effect": e.value, "low": e.low, "high": e.high}
                for c, e in self.effects
            ]
        )

    def __str__(self) -> str:
        head = f"paired effect on {self.outcome} ({self.n} runs, seed {self.seed}):"
        return "\n".join([head] + [f"  {c}: {_fmt(e)}" for c, e in self.effects])


def sensitivity(
    scenario: Scenario,
    over: str = "tools",
    outcome: str = "success",
    n: int = 2000,
    seed: int = 0,
    *,
    p_ok: float | None = None,
    capacity: int | None = None,
    workers: int = 1,
    confidence: float = 0.95,
    progress: bool | None = None,
    executor: Any = None,
) -> Sensitivity:
    """Rank the paired effects on ``outcome`` of a small change to each tool's parameters.

    ``p_ok=+0.05`` raises every tool's ``p_ok`` by 0.05 (capped at 1) one tool at a time;
    ``capacity=+1`` adds capacity to every tool that has a limit. All arms share the
    baseline's seeds (common random numbers), so each effect's interval is a paired one.
    ``executor`` (a ``dask.distributed`` client) runs the batches on a cluster (same answer).

    >>> import agentsim as asim
    >>> sc = asim.Scenario("sens")
    >>> a, b = sc.tool("a", p_ok=0.9), sc.tool("b", p_ok=0.6)
    >>> @sc.agent
    ... def main(ctx):
    ...     return (yield ctx.call(b, (yield ctx.call(a))))
    >>> s = sensitivity(sc, p_ok=+0.05, n=1000)
    >>> [c for c, _ in s.effects]
    ['set_params(b, p_ok=0.65)', 'set_params(a, p_ok=0.95)']
    """
    if over != "tools":
        raise AttributionError(f"over={over!r}: sensitivity ranks parameter changes of tools")
    if p_ok is None and capacity is None:
        raise AttributionError("sensitivity needs a change: p_ok=+0.05 and/or capacity=+1")
    changes: list[Intervention] = []
    for t in scenario.tools.values():
        if p_ok is not None:
            new = round(min(1.0, max(t.p_recover, t.p_ok + p_ok)), 12)
            if new != t.p_ok:
                changes.append(set_params(t.name, p_ok=new))
        if capacity is not None and t.capacity is not None:
            changes.append(set_params(t.name, capacity=max(1, t.capacity + capacity)))
    population = PopulationWorld(scenario, n, seed, workers=workers, executor=executor)
    y0 = population.outcomes((), outcome)
    effects = []
    show = progress if progress is not None else sys.stderr.isatty()
    ivs = as_interventions(changes)
    with batch_progress(len(ivs), show, f"sensitivity of {scenario.name}") as advance:
        for iv in ivs:
            y = population.outcomes([iv], outcome)
            effects.append((iv.describe(), paired_difference(y, y0, confidence)))
            advance(1)
    effects.sort(key=lambda ce: -ce[1].value)
    return Sensitivity(effects=effects, outcome=outcome, n=n, seed=seed)
