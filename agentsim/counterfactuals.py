"""Counterfactuals by Pearl's three steps, on simulated runs and on traces.

For a simulated run, the exogenous noise is the addressed noise field at the run's seed, so:

1. **Abduction** is exact: the noise consistent with the factual run *is* the field.
2. **Action**: the interventions are compiled and applied at the engine's dispatch point.
3. **Prediction**: the program is re-run with every non-intervened address fed its factual
   noise. A run that shared an environment with others (``simulate(..., arrivals=...)``) is
   re-simulated together with its whole batch, because contention couples them.

Addresses that exist only in the counterfactual world (an extra retry, a branch not taken)
draw their noise from the same field; their values are interventional rather than
counterfactual, and the result lists them in ``unaligned``.

For a trace that carries results but not noise, abduction samples the noise from its
posterior given the recorded results (Bernoulli results confine ``u_ok`` to ``[0, p)`` or
``[p, 1)``; observed latencies are inverted through the distribution's ``cdf``; Gumbel-max
choices use the top-down posterior of Oberst & Sontag 2019); every unobserved address gets
fresh noise. The outcome is then an :class:`~agentsim.stats.Estimate` over ``samples`` draws.

Examples
--------
>>> import agentsim as asim
>>> sc = asim.Scenario("cf")
>>> a = sc.tool("a", p_ok=0.5)
>>> b = sc.tool("b", p_ok=0.9)
>>> @sc.agent
... def main(ctx):
...     x = yield ctx.call(a)
...     return (yield ctx.call(b, x))
>>> def fixable(r):
...     return not r.trace.span("main#0/a#0").ok and r.trace.span("main#0/b#0").noise["ok"] < 0.9
>>> run = next(r for r in (sc.run(seed=s) for s in range(50)) if fixable(r))
>>> counterfactual(run, asim.repair("main#0/a#0")).outcomes["success"]
1.0
"""

from __future__ import annotations

import dataclasses
import fnmatch
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from agentsim import noise as _noise
from agentsim._apply import compile_interventions
from agentsim.errors import UnknownAddressError, suggest
from agentsim.interventions import Intervention, as_interventions, is_pattern
from agentsim.parallel import make_run
from agentsim.run import Run, RunContext, outcome_mean
from agentsim.stats import Estimate, paired_difference
from agentsim.trace import Trace

if TYPE_CHECKING:
    from agentsim.scenario import Scenario

__all__ = [
    "Counterfactual",
    "Effect",
    "RunDiff",
    "SpanChange",
    "counterfactual",
    "diff_runs",
    "effect",
]


def _check_targets(factual: Run, ivs: tuple[Intervention, ...], matched: set[Intervention]) -> None:
    """An address target must match something in the factual or counterfactual world."""
    addresses = [r.address for r in factual.records] if factual.has_trace else []
    for iv in ivs:
        if not is_pattern(iv.target) or iv in matched:
            continue
        if any(fnmatch.fnmatchcase(a, iv.target) for a in addresses):
            continue
        raise UnknownAddressError(
            f"{iv.describe()} matches no address{suggest(iv.target, addresses)} "
            f"({len(addresses)} addresses in this run)"
        )


def replay(run: Run, ivs: tuple[Intervention, ...], *, keep: bool = True) -> Run:
    """Re-simulate ``run`` under its own interventions followed by ``ivs``, with its
    exogenous noise held fixed (no checks)."""
    from agentsim.engine import execute

    sc = run.scenario
    ctx = run.context
    # The run's own interventions (a planted fault, an earlier what-if) are part of its
    # world: keep them, then apply the new ones (later result-level ones win).
    ivs = tuple(run.interventions) + tuple(ivs)
    compiled = compile_interventions(sc, ivs) if ivs else None
    inputs = dict(ctx.inputs)
    peers: list[Run] = []
    if ctx.coupled:
        # Contention couples the sessions of a load batch: re-simulate all of them. Each
        # session keeps the interventions of its own world (the batch's, or those an earlier
        # counterfactual gave it); the new ones apply to this run's session only.
        n = len(ctx.seeds)
        worlds = list(ctx.worlds) if len(ctx.worlds) == n else [tuple(run.interventions)] * n
        worlds[ctx.index] = ivs
        ctx = dataclasses.replace(ctx, worlds=tuple(worlds))
        sets: dict[tuple[Intervention, ...], Any] = {ivs: compiled}
        for w in worlds:
            if w not in sets:
                sets[w] = compile_interventions(sc, w) if w else None
        sessions = execute(
            sc,
            list(ctx.seeds),
            inputs,
            per_session=[sets[w] for w in worlds],
            arrival_times=list(ctx.arrival_times) or None,
        )
        s = sessions[ctx.index]
        peers = [
            make_run(sc, other, replace_index(ctx, i), worlds[i], keep=False)
            for i, other in enumerate(sessions)
        ]
    else:
        (s,) = execute(sc, [run.seed], inputs, compiled)
    cf = make_run(sc, s, ctx, ivs, keep=keep)
    cf.factual = run
    cf.peers = peers
    if compiled is not None:
        cf.attributes["_matched"] = compiled.matched
    return cf


def replace_index(ctx: RunContext, index: int) -> RunContext:
    """The same batch context for another session."""
    return dataclasses.replace(ctx, index=index)


def counterfactual(
    world: Run | Trace,
    *interventions: Intervention | Sequence[Intervention],
    scenario: Scenario | None = None,
    samples: int = 200,
    seed: int = 0,
) -> Any:
    """The counterfactual of ``world`` under ``interventions``.

    Parameters
    ----------
    world : Run or Trace
        A simulated run (exact counterfactual), or a trace. A trace with a ``scenario``
        is replayed by abduction; an imported trace without one is answered by its
        :class:`~agentsim.tracemodel.TraceWorld`.
    interventions : Intervention
        What to change (``asim.repair(...)``, ``asim.do(...)``...).
    scenario : Scenario, optional
        The program that produced a trace, for abduction.
    samples : int
        Posterior samples for abduction from a trace without recorded noise.
    seed : int
        Seed of the fresh noise used by abduction.

    Returns
    -------
    Run or Counterfactual
        For a run, a counterfactual :class:`~agentsim.run.Run` with ``unaligned`` and
        ``diff``; for a trace with a scenario, a :class:`Counterfactual` whose outcomes are
        :class:`~agentsim.stats.Estimate` values.
    """
    ivs = as_interventions(list(interventions))
    if isinstance(world, Run):
        # 1. Abduction: the exogenous noise of a simulated run is its noise field (exact).
        # 2. Action and 3. prediction: re-run the program under ivs with that noise.
        cf = replay(world, ivs)
        _check_targets(world, ivs, cf.attributes.pop("_matched", set()))
        if world.has_trace:
            factual_addresses = {r.address for r in world.records}
            cf.unaligned = tuple(
                r.address for r in cf.records if r.address not in factual_addresses
            )
        return cf
    if isinstance(world, Trace):
        if scenario is None:
            from agentsim.tracemodel import trace_counterfactual

            return trace_counterfactual(world, ivs)
        from agentsim.abduction import abduce_counterfactual

        return abduce_counterfactual(world, ivs, scenario, samples=samples, seed=seed)
    from agentsim.worlds import as_world

    w = as_world(world)
    return w.counterfactual(ivs)


@dataclass(frozen=True)
class Counterfactual:
    """A counterfactual answered by sampling (abduction from a trace).

    ``outcomes`` maps each outcome to an :class:`~agentsim.stats.Estimate` over the posterior
    samples; ``exact`` is true for an outcome when every sample agreed.
    """

    outcomes: dict[str, Estimate]
    samples: list[Run]
    interventions: tuple[Intervention, ...]
    unaligned: tuple[str, ...] = ()

    def __repr__(self) -> str:
        outs = ", ".join(f"{k}={v}" for k, v in self.outcomes.items())
        return f"Counterfactual({outs}, samples={len(self.samples)})"


@dataclass(frozen=True)
class SpanChange:
    """One field of one span that differs between two runs."""

    address: str
    field: str
    before: Any
    after: Any


@dataclass
class RunDiff:
    """What changed from a factual run to a counterfactual one."""

    changes: list[SpanChange] = field(default_factory=list)
    added: list[str] = field(default_factory=list)
    removed: list[str] = field(default_factory=list)
    outcomes: dict[str, tuple[float, float]] = field(default_factory=dict)

    @property
    def changed_addresses(self) -> list[str]:
        """Addresses whose span changed, in trace order, without repeats."""
        return list(dict.fromkeys(c.address for c in self.changes))

    def __bool__(self) -> bool:
        return bool(self.changes or self.added or self.removed) or any(
            a != b for a, b in self.outcomes.values()
        )

    def __str__(self) -> str:
        lines = []
        for name, (a, b) in self.outcomes.items():
            mark = "" if a == b else "   <- changed"
            lines.append(f"{name:>12}: {a:.4g} -> {b:.4g}{mark}")
        for c in self.changes:
            lines.append(f"  ~ {c.address} {c.field}: {c.before!r} -> {c.after!r}")
        lines.extend(
            f"  + {a} (only in the counterfactual: interventional noise)" for a in self.added
        )
        lines.extend(f"  - {a} (no longer happens)" for a in self.removed)
        return "\n".join(lines)


_COMPARED = ("ok", "error", "status")


def diff_runs(before: Run, after: Run, *, time_tolerance: float = 1e-9) -> RunDiff:
    """Compare two runs span by span (ok, error, status, start and end times) and outcomes.

    >>> import agentsim as asim
    >>> sc = asim.Scenario("d")
    >>> t = sc.tool("t", p_ok=0.5, latency=1.0)
    >>> @sc.agent
    ... def main(ctx):
    ...     return (yield ctx.call(t))
    >>> run = sc.run(seed=1)
    >>> str(diff_runs(run, asim.counterfactual(run, asim.do("main#0/t#0", latency=3.0))))
    ... # doctest: +ELLIPSIS
    '...latency: 1 -> 3   <- changed...'
    """
    a = {r.address: r for r in before.records}
    b = {r.address: r for r in after.records}
    d = RunDiff()
    for addr, ra in a.items():
        rb = b.get(addr)
        if rb is None:
            d.removed.append(addr)
            continue
        for f in _COMPARED:
            if getattr(ra, f) != getattr(rb, f):
                d.changes.append(SpanChange(addr, f, getattr(ra, f), getattr(rb, f)))
        for f in ("start", "end"):
            if abs(getattr(ra, f) - getattr(rb, f)) > time_tolerance:
                d.changes.append(
                    SpanChange(addr, f, round(getattr(ra, f), 6), round(getattr(rb, f), 6))
                )
    d.added = [addr for addr in b if addr not in a]
    d.outcomes = {
        k: (before.outcomes[k], after.outcomes.get(k, float("nan"))) for k in before.outcomes
    }
    return d


@dataclass(frozen=True)
class Effect:
    """An average effect estimated with common random numbers.

    ``baseline`` and ``treated`` are the outcome's mean in each arm; ``ate`` is the mean of
    the paired differences (treated minus baseline, run by run, same seeds), whose interval
    is much tighter than the difference of two independent means when the arms are
    positively correlated.
    """

    baseline: Estimate
    treated: Estimate
    ate: Estimate
    outcome: str
    n: int
    paired: bool = True
    interventions: tuple[str, ...] = ()

    def __str__(self) -> str:
        how = "paired" if self.paired else "unpaired"
        return (
            f"effect on {self.outcome} ({how}, n={self.n}): baseline {self.baseline}, "
            f"treated {self.treated}, difference {self.ate}"
        )


def effect(
    scenario: Scenario,
    interventions: Intervention | Sequence[Intervention],
    outcome: str = "success",
    n: int = 10_000,
    seed: int = 0,
    *,
    paired: bool = True,
    workers: int = 1,
    baseline: Intervention | Sequence[Intervention] = (),
    confidence: float = 0.95,
    executor: Any = None,
) -> Effect:
    """Average effect of ``interventions`` on ``outcome`` over ``n`` runs.

    With ``paired=True`` (the default) both arms use the same seeds (common random
    numbers); ``paired=False`` draws the treated arm from independent seeds and uses a
    Welch-type interval, for comparison. ``executor`` runs both arms on a
    ``dask.distributed`` client (same answer as without, whatever the partitioning).

    >>> import agentsim as asim
    >>> sc = asim.Scenario("e")
    >>> t = sc.tool("t", p_ok=0.8)
    >>> @sc.agent
    ... def main(ctx):
    ...     return (yield ctx.call(t))
    >>> e = effect(sc, asim.set_params("t", p_ok=0.9), n=2000)
    >>> e.ate.contains(0.1)
    True
    """
    import math

    ivs = as_interventions(interventions)
    base_ivs = as_interventions(baseline)
    b = scenario.simulate(
        n,
        seed,
        workers=workers,
        keep_traces=False,
        progress=False,
        interventions=base_ivs,
        executor=executor,
    )
    other_seed = seed if paired else _noise.child_seed(seed, 2**32)
    t = scenario.simulate(
        n,
        other_seed,
        workers=workers,
        keep_traces=False,
        progress=False,
        interventions=base_ivs + ivs,
        executor=executor,
    )
    yb, yt = b.values(outcome), t.values(outcome)
    if paired:
        ate = paired_difference(yt, yb, confidence)
    else:
        from agentsim.stats import z_value

        m = float(yt.mean() - yb.mean())
        se = math.sqrt(float(yt.var(ddof=1)) / n + float(yb.var(ddof=1)) / n)
        z = z_value(confidence)
        ate = Estimate(m, m - z * se, m + z * se, n, confidence)
    return Effect(
        baseline=outcome_mean(outcome, yb, confidence),
        treated=outcome_mean(outcome, yt, confidence),
        ate=ate,
        outcome=outcome,
        n=n,
        paired=paired,
        interventions=tuple(iv.describe() for iv in ivs),
    )
