"""Counterfactuals by Pearl's three steps, on simulated runs and on traces, and average
effects over a scenario's population (face layer: dispatches to the worlds).

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

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from agentsim import noise as _noise
from agentsim._display import html_of
from agentsim.errors import AgentSimError
from agentsim.interventions import Intervention, as_interventions
from agentsim.run import RunDiff, SpanChange, diff_runs, outcome_mean
from agentsim.stats import Estimate, paired_difference, z_value
from agentsim.worlds import CounterfactualWorld, Evidence, as_world
from agentsim.worlds.abduced import Counterfactual
from agentsim.worlds.population import PopulationWorld

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


def counterfactual(
    world: Evidence,
    *interventions: Intervention | Sequence[Intervention],
    scenario: Scenario | None = None,
    samples: int = 200,
    seed: int = 0,
) -> Any:
    """The counterfactual of ``world`` under ``interventions``.

    Parameters
    ----------
    world : Run, Trace or World
        A simulated run (exact counterfactual), or a trace. A trace with a ``scenario``
        is replayed by abduction; an imported trace without one is answered by its
        :class:`~agentsim.worlds.trace.TraceWorld`. Any other world answers with its own
        ``counterfactual``.
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
    Run, Counterfactual or Trace
        For a run, a counterfactual :class:`~agentsim.run.Run` with ``unaligned`` and
        ``diff``; for a trace with a scenario, a :class:`Counterfactual` whose outcomes are
        :class:`~agentsim.stats.Estimate` values; for an imported trace, the counterfactual
        :class:`~agentsim.trace.Trace` with recomputed times, flags and outcomes.
    """
    ivs = as_interventions(list(interventions))
    w = as_world(world, scenario=scenario, samples=samples, seed=seed)
    if not isinstance(w, CounterfactualWorld):
        raise AgentSimError(
            f"{type(w).__name__} answers outcome(...) but has no counterfactual(...); ask "
            "world.outcome(interventions, outcome) for the value you need"
        )
    return w.counterfactual(ivs)


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

    def _repr_html_(self) -> str | None:
        """Rich display in notebooks (drawn by :mod:`agentsim.views.snippets`)."""
        return html_of(self)

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
    ivs = as_interventions(interventions)
    base_ivs = as_interventions(baseline)
    yb = PopulationWorld(scenario, n, seed, workers=workers, executor=executor).outcomes(
        base_ivs, outcome
    )
    other_seed = seed if paired else _noise.child_seed(seed, 2**32)
    treated = PopulationWorld(scenario, n, other_seed, workers=workers, executor=executor)
    yt = treated.outcomes(base_ivs + ivs, outcome)
    if paired:
        ate = paired_difference(yt, yb, confidence)
    else:
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
