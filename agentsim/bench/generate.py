"""Planted-fault benchmarks: failed runs labelled with their exact decisive error.

Layer: face (the top). It may import from every layer below it.

Failure-attribution benchmarks such as Who&When (Zhang et al. 2025) label each failed run
with the agent and the step that caused it, as judged by people. In a simulation the label
can be *computed*: plant a fault in a scenario (``asim.set_params("fetch", p_ok=0.5)``), run
it, and for every failed run find the **decisive error**, the earliest failed step whose own
fault, removed alone (:func:`agentsim.fix`), in the faulty world, turns the failure into a
success. Labels follow the fault semantics, as Who&When's name the agent whose *own* action
was wrong: a step that failed only because its input was bad (a casualty) is never the
label. A failure that no single fix saves (two required calls both failed on their own) has
no decisive error; it is counted in ``skipped`` and left out, because no single (agent, step)
label is right for it. A planted ``break_`` forces a failure that is part of the faulty
world's mechanism, which no fix removes; plant a ``set_params`` fault to make a call
unreliable instead.

Each kept :class:`Item` also carries the run's Halpern-Pearl actual causes (small ones, when
:mod:`agentsim.attribution.actual_cause` is available), its but-for causes and its Shapley
shares over calls in the fault game, all computed in the faulty world (the run carries its
fault as interventions, and every counterfactual of it keeps them).

Run ``i`` of a benchmark has seed ``agentsim.noise.child_seed(seed, i)``, as run ``i`` of
``scenario.simulate(n, seed)`` does, so ``scenario.run(seed=item.seed, interventions=fault)``
reproduces an item's run.

Examples
--------
>>> import agentsim as asim
>>> sc = asim.Scenario("gen")
>>> search, fetch = sc.tool("search", p_ok=0.9), sc.tool("fetch", p_ok=0.9)
>>> @sc.agent
... def main(ctx):
...     hits = yield ctx.call(search)
...     return (yield ctx.call(fetch, hits))
>>> bench = generate(sc, fault=asim.set_params("fetch", p_ok=0.5), n=5, seed=0, actual=False)
>>> len(bench.items), bench.skipped
(5, 0)
>>> item = bench.items[0]
>>> item.mistake_agent, item.mistake_step, item.address
('main', 1, 'main#0/fetch#0')
>>> item.shapley
{'main#0/search#0': 0.0, 'main#0/fetch#0': 1.0}
"""

from __future__ import annotations

import warnings
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from agentsim import noise
from agentsim._optional import require
from agentsim.attribution.actual_cause import actual_causes
from agentsim.attribution.api import but_for as but_for_values
from agentsim.attribution.api import shapley as shapley_values
from agentsim.attribution.baselines import decisive_error
from agentsim.errors import InterventionError, ScenarioError
from agentsim.interventions import (
    Intervention,
    as_interventions,
    break_,
    delay,
    do,
    repair,
    resample,
    set_params,
)
from agentsim.worlds import ScenarioWorld

if TYPE_CHECKING:
    import pandas as pd

    from agentsim.run import Run
    from agentsim.scenario import Scenario
    from agentsim.trace import Trace

__all__ = ["Benchmark", "Item", "generate", "parse_fault"]

Causes = tuple[tuple[str, ...], ...]


@dataclass(frozen=True)
class Item:
    """One labelled failure: a failed run under the fault and its exact decisive error.

    ``mistake_step`` is the 0-based position of the decisive call among the run's steps (its
    non-agent spans in trace order, ``run.trace.calls()``; the indexing of
    :func:`agentsim.attribution.baselines.steps_of` and of Who&When's ``history``).
    """

    scenario: str
    """Name of the scenario."""
    seed: int
    """Seed of the run: ``scenario.run(seed=seed, interventions=fault)`` reproduces it."""
    address: str
    """Address of the decisive error."""
    mistake_agent: str
    """Name of the agent that made the decisive call."""
    mistake_step: int
    """0-based index of the decisive call among the run's steps."""
    evidence: str
    """Why the label holds, in words."""
    trace: Trace = field(repr=False, compare=False, hash=False)
    """The failed run's trace (produced under the fault)."""
    shapley: Mapping[str, float] | None = field(default=None, compare=False, hash=False)
    """Shapley share of each call in the fault game (``None`` when not computed)."""
    shapley_exact: bool = field(default=True, compare=False)
    """Whether ``shapley`` is exact (subset enumeration) rather than a sampled estimate."""
    actual_causes: Causes | None = field(default=None, compare=False)
    """Halpern-Pearl (modified) actual causes of the failure, each a tuple of addresses
    whose failures jointly cause it (``None`` when not computed or unavailable)."""
    but_for: tuple[str, ...] = field(default=(), compare=False)
    """Calls whose fix alone turns the failure into a success (trace order)."""
    run: Run | None = field(default=None, repr=False, compare=False, hash=False)
    """The run itself (for recomputing methods); ``None`` once dropped."""

    @property
    def label(self) -> tuple[str, int]:
        """``(mistake_agent, mistake_step)``: what :func:`agentsim.bench.score` compares."""
        return (self.mistake_agent, self.mistake_step)


@dataclass(frozen=True)
class Benchmark:
    """Labelled failures of one scenario under one planted fault."""

    scenario: str
    """Name of the scenario."""
    fault: tuple[str, ...]
    """Descriptions of the fault's interventions."""
    items: tuple[Item, ...]
    """The labelled failures, in seed order."""
    skipped: int
    """Failed runs without a decisive error (overdetermined failures), left out."""
    runs_simulated: int
    """Runs simulated to find the items (successes included)."""
    seed: int = 0
    """Seed of the benchmark."""
    interventions: tuple[Intervention, ...] = field(default=(), repr=False)
    """The fault itself."""
    notes: tuple[str, ...] = ()
    """What was left out or could not be computed."""

    @property
    def failures(self) -> int:
        """Failed runs examined: ``len(items) + skipped``."""
        return len(self.items) + self.skipped

    def __len__(self) -> int:
        return len(self.items)

    def __iter__(self) -> Iterator[Item]:
        return iter(self.items)

    def to_dataframe(self) -> pd.DataFrame:
        """One row per item: seed, address, agent, step, steps, top Shapley call, causes."""
        pandas = require("pandas", "Benchmark.to_dataframe")

        rows = []
        for it in self.items:
            shares = dict(it.shapley or {})
            top = max(shares, key=lambda k: shares[k]) if shares else None
            rows.append(
                {
                    "seed": it.seed,
                    "address": it.address,
                    "mistake_agent": it.mistake_agent,
                    "mistake_step": it.mistake_step,
                    "steps": len(it.trace.calls()),
                    "failed_steps": sum(1 for s in it.trace.calls() if not s.ok),
                    "shapley_top": top,
                    "actual_causes": None if it.actual_causes is None else len(it.actual_causes),
                }
            )
        frame: pd.DataFrame = pandas.DataFrame(rows)
        return frame

    def __str__(self) -> str:
        return (
            f"benchmark {self.scenario!r} under {', '.join(self.fault) or 'no fault'}: "
            f"{len(self.items)} labelled failures, {self.skipped} overdetermined skipped, "
            f"{self.runs_simulated} runs simulated"
        )


def _label(
    run: Run,
    fault: tuple[Intervention, ...],
    *,
    shapley: bool,
    actual: Any,
    actual_max_size: int,
    notes: list[str],
) -> Item | None:
    world = ScenarioWorld(run)
    locus = decisive_error(world, game="fault")
    if locus is None or locus.address is None or locus.step is None:
        return None
    trace = run.trace
    calls = world.players("calls")
    bf = but_for_values(world, players="calls", game="fault")
    but_for = tuple(a for a in calls if bf.values[a] == 1.0)
    shares: Mapping[str, float] | None = None
    exact = True
    if shapley:
        att = shapley_values(world, players="calls", game="fault", seed=0)
        shares = {a: float(att.values[a]) for a in calls}
        exact = bool(att.exact)
    causes: Causes | None = None
    if actual is not None:
        failed = [s.address for s in trace.calls() if not s.ok and s.kind in ("tool", "llm")]
        try:
            found = actual(
                world,
                {"success": 0.0},
                max_size=actual_max_size,
                definition="modified",
                candidates=failed,
            )
        except Exception as exc:  # the solver is being finished elsewhere: record, go on
            notes.append(f"actual causes failed on seed {run.seed}: {type(exc).__name__}: {exc}")
        else:
            causes = tuple(tuple(c.variables) for c in found)
    return Item(
        scenario=run.scenario.name,
        seed=run.seed,
        address=locus.address,
        mistake_agent=locus.agent or "",
        mistake_step=locus.step,
        evidence=f"fixing {locus.address} alone turns the failure into a success",
        trace=trace,
        shapley=shares,
        shapley_exact=exact,
        actual_causes=causes,
        but_for=but_for,
        run=run,
    )


def generate(
    scenario: Scenario,
    fault: Intervention | Sequence[Intervention] = (),
    n: int = 200,
    seed: int = 0,
    *,
    max_runs: int | None = None,
    shapley: bool = True,
    actual: bool = True,
    actual_max_size: int = 2,
    outcome: str = "success",
) -> Benchmark:
    """Simulate ``scenario`` under ``fault`` until ``n`` failed runs have a decisive error.

    Parameters
    ----------
    scenario : Scenario
        The workflow to break.
    fault : Intervention or sequence of Intervention
        The planted fault, applied to every run (``asim.set_params("fetch", p_ok=0.5)``).
    n : int
        Labelled failures wanted.
    seed : int
        Run ``i`` has seed ``agentsim.noise.child_seed(seed, i)``.
    max_runs : int, optional
        Most runs to simulate; by default ``max(1000, 200 * n)``. When it is reached first,
        the benchmark holds fewer than ``n`` items and a warning says so.
    shapley : bool
        Label each item with Shapley shares over calls (fault game; exact up to 12 calls,
        sampled beyond, see :func:`agentsim.shapley`).
    actual : bool
        Label each item with its Halpern-Pearl actual causes (modified definition, searched
        among the failed calls, at most ``actual_max_size`` conjuncts). Skipped, with a note,
        when :mod:`agentsim.attribution.actual_cause` cannot be imported.
    actual_max_size : int
        Largest actual cause searched for.
    outcome : str
        Only ``"success"`` is supported: the decisive error is defined for failures.

    Returns
    -------
    Benchmark

    Examples
    --------
    >>> import agentsim as asim
    >>> sc = asim.Scenario("both")
    >>> t = sc.tool("t", p_ok=0.9)
    >>> @sc.agent
    ... def main(ctx):
    ...     x, y = yield ctx.parallel(ctx.call(t), ctx.call(t))
    ...     return x.ok and y.ok
    >>> b = generate(sc, fault=asim.set_params("t", p_ok=0.3), n=3, shapley=False, actual=False)
    >>> len(b.items), b.skipped, b.failures <= b.runs_simulated
    (3, 3, True)
    """
    if outcome != "success":
        raise ScenarioError(f"outcome={outcome!r}: planted-fault benchmarks label 'success' only")
    if not isinstance(n, int) or isinstance(n, bool) or n < 1:
        raise ScenarioError(f"n={n!r} must be a positive integer number of labelled failures")
    limit = max(1000, 200 * n) if max_runs is None else max_runs
    if not isinstance(limit, int) or limit < 1:
        raise ScenarioError(f"max_runs={max_runs!r} must be a positive integer")
    ivs = as_interventions(fault)
    notes: list[str] = []
    solver = actual_causes if actual else None
    if actual and solver is None:
        notes.append("actual causes not computed: agentsim.attribution.actual_cause unavailable")
    items: list[Item] = []
    skipped = 0
    simulated = 0
    while len(items) < n and simulated < limit:
        run = scenario.run(seed=noise.child_seed(seed, simulated), interventions=ivs)
        simulated += 1
        if run.outcomes["success"]:
            continue
        item = _label(
            run, ivs, shapley=shapley, actual=solver, actual_max_size=actual_max_size, notes=notes
        )
        if item is None:
            skipped += 1
        else:
            items.append(item)
    if len(items) < n:
        msg = (
            f"only {len(items)} of {n} labelled failures after {simulated} runs of "
            f"{scenario.name!r}; raise max_runs or plant a stronger fault"
        )
        notes.append(msg)
        warnings.warn(msg, stacklevel=2)
    return Benchmark(
        scenario=scenario.name,
        fault=tuple(iv.describe() for iv in ivs),
        items=tuple(items),
        skipped=skipped,
        runs_simulated=simulated,
        seed=seed,
        interventions=ivs,
        notes=tuple(dict.fromkeys(notes)),
    )


def _parse_value(text: str) -> Any:
    low = text.strip().lower()
    if low in ("true", "false"):
        return low == "true"
    if low in ("none", "null"):
        return None
    for conv in (int, float):
        try:
            return conv(text)
        except ValueError:
            pass
    return text.strip()


def _parse_params(text: str, spec: str) -> dict[str, Any]:
    params: dict[str, Any] = {}
    for part in filter(None, (p.strip() for p in text.split(","))):
        key, sep, value = part.partition("=")
        if not sep or not key.strip():
            raise InterventionError(
                f"fault {spec!r}: parameter {part!r} is not name=value (e.g. p_ok=0.5)"
            )
        params[key.strip()] = _parse_value(value)
    return params


_KINDS = ("set_params", "break", "repair", "do", "delay", "resample")


def parse_fault(text: str) -> Intervention:
    """Parse a fault written on the command line: ``KIND:TARGET[:PARAMS]``.

    ``PARAMS`` are comma-separated ``name=value`` pairs (``true``/``false``, numbers and
    strings); ``delay`` takes a number of seconds.

    ============================================  =========================================
    text                                          intervention
    ============================================  =========================================
    ``set_params:search:p_ok=0.5``                ``set_params("search", p_ok=0.5)``
    ``break:fetch``                               ``break_("fetch")``
    ``do:main#0/a#0:ok=false,latency=2``          ``do("main#0/a#0", ok=False, latency=2)``
    ``delay:search:1.5``                          ``delay("search", 1.5)``
    ``resample:planner``                          ``resample("planner")``
    ============================================  =========================================

    >>> parse_fault("set_params:search:p_ok=0.5").describe()
    'set_params(search, p_ok=0.5)'
    >>> parse_fault("do:main#0/a#0:ok=false,latency=2").describe()
    'do(main#0/a#0, ok=False, latency=2.0)'
    >>> parse_fault("explode:search")
    Traceback (most recent call last):
    ...
    agentsim.errors.InterventionError: fault 'explode:search': unknown kind 'explode'; ...
    """
    kind, _, rest = text.strip().partition(":")
    target, _, args = rest.partition(":")
    kind = kind.strip().replace("break_", "break")
    target = target.strip()
    if kind not in _KINDS:
        raise InterventionError(
            f"fault {text!r}: unknown kind {kind!r}; write KIND:TARGET[:PARAMS] with KIND one "
            f"of {list(_KINDS)}, e.g. 'set_params:search:p_ok=0.5'"
        )
    if not target:
        raise InterventionError(f"fault {text!r}: no target; write {kind}:TARGET")
    if kind == "delay":
        try:
            return delay(target, float(args))
        except ValueError:
            raise InterventionError(
                f"fault {text!r}: delay needs seconds, e.g. 'delay:{target}:1.5'"
            ) from None
    params = _parse_params(args, text)
    try:
        if kind == "set_params":
            return set_params(target, **params)
        if kind == "do":
            return do(target, **params)
        if kind == "resample":
            return resample(target, **params)
        if params:
            raise InterventionError(f"fault {text!r}: {kind} takes no parameters")
        return break_(target) if kind == "break" else repair(target)
    except TypeError as exc:
        raise InterventionError(f"fault {text!r}: {exc}") from None
