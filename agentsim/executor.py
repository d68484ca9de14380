"""The executor: simulate and replay, turning the engine's sessions into Runs and Batches
(engine layer; imports kernel, model, the engine and the compiled interventions).

``simulate(n, seed)`` runs ``n`` independent sessions whose seeds are
``noise.child_seed(seed, i)``; run ``i`` is the same whatever ``n`` or ``workers`` is, so
``workers=2`` gives exactly the batch ``workers=1`` gives. With ``arrivals`` the sessions
instead arrive over time into *one* environment and share the tools' capacity, so queueing,
timeouts under load and the coupling between runs emerge from the simulation; such a batch
runs in one process because its sessions are one causal system.

Processes are forked (the scenario, which holds user functions and lambdas, is inherited
rather than pickled); where fork is unavailable the batch runs serially.
"""

from __future__ import annotations

import dataclasses
import gc
import inspect
import itertools
import multiprocessing as mp
import os
import sys
import warnings
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any

from agentsim import noise as _noise
from agentsim._compiled import compile_interventions
from agentsim._engine import Session, execute, unyielded
from agentsim._gc import collect_rarely
from agentsim.dist import as_distribution
from agentsim.errors import ScenarioError, ScenarioWarning, SimulationError
from agentsim.interventions import Intervention, as_interventions
from agentsim.mechanisms import fast_ppf
from agentsim.run import Batch, Run, RunContext

if TYPE_CHECKING:
    from agentsim.scenario import Scenario

__all__ = [
    "arrival_times",
    "batch_progress",
    "make_run",
    "replay",
    "run_one",
    "simulate",
    "simulate_seeds",
]


def make_run(
    scenario: Scenario,
    s: Session,
    context: RunContext,
    interventions: tuple[Intervention, ...],
    keep: bool,
) -> Run:
    """Wrap a finished session as a :class:`Run` and compute its outcomes.

    ``latency`` counts from the session's arrival; ``cost`` sums every completed call.
    """
    result = s.result
    assert result is not None
    outcomes = {
        "success": 1.0 if result.ok else 0.0,
        "latency": s.end - s.t0,
        "cost": s.cost,
    }
    attrs: dict[str, Any] = {"steps": s.steps, "arrival": s.t0}
    if context.coupled:  # the trace alone does not determine this run (abduction refuses)
        attrs["coupled_sessions"] = len(context.seeds)
    if s.stop_reason:
        attrs["stopped"] = s.stop_reason
    if s.crash is not None:
        attrs["crash"] = s.crash.as_dict()
    lost = unyielded(s)
    if lost:
        attrs["warnings"] = [
            f"{len(lost)} call request(s) created but never yielded, so never made: "
            + ", ".join(lost[:3])
            + ("..." if len(lost) > 3 else "")
            + "; write `yield ctx.call(...)` (or pass the request to ctx.parallel/ctx.first)"
        ]
    run = Run(
        scenario=scenario,
        seed=s.seed,
        result=result,
        outcomes=outcomes,
        records=s.records,
        context=context,
        interventions=interventions,
        attributes=attrs,
    )
    for name, fn in scenario.outcomes.items():
        try:
            outcomes[name] = float(fn(run))
        except Exception as exc:
            raise ScenarioError(
                f"outcome {name!r} of scenario {scenario.name!r} raised {type(exc).__name__}: {exc}"
            ) from exc
    if not keep:
        run.drop_records()
    return run


def check_inputs(scenario: Scenario, inputs: dict[str, Any], what: str) -> None:
    """Refuse, before any run, entry inputs that the entry agent does not accept (a mistyped
    option of ``simulate`` would otherwise reach the agent and fail every run)."""
    if not inputs:
        return
    fn = scenario.entry.fn
    try:
        sig = inspect.signature(fn)
    except (TypeError, ValueError):  # a builtin or C callable: nothing to check against
        return
    try:
        sig.bind(None, **inputs)
    except TypeError as exc:
        params = [p for p in list(sig.parameters)[1:]]
        raise ScenarioError(
            f"{what} got {sorted(inputs)} as inputs of the entry agent "
            f"{scenario.entry.name}{sig}, which does not accept them ({exc}); keyword "
            f"arguments that are not options of {what} go to the entry agent, whose inputs are "
            f"{params or 'none'}"
        ) from None


def warn_scenario_bugs(batch: Batch) -> None:
    """One warning per batch when scenario code crashed or left requests unyielded."""
    summary = batch.crash_summary()
    if summary:
        warnings.warn(
            f"{summary}; the run records each crash (run.crash, batch.crashes()); pass "
            "on_crash='raise' to stop at the first with its traceback",
            ScenarioWarning,
            stacklevel=3,
        )
    lost = [r for r in batch.runs if r.attributes.get("warnings")]
    if lost:
        warnings.warn(
            f"{len(lost)} of {len(batch.runs)} runs: {lost[0].attributes['warnings'][0]}",
            ScenarioWarning,
            stacklevel=3,
        )


def raise_first_crash(batch: Batch) -> None:
    """Re-run the first crashed run (deterministically, in this process) so that its
    exception propagates with its own traceback."""
    crashed = batch.crashes()
    if not crashed:
        return
    run = crashed[0]
    ctx = run.context
    compiled = (
        compile_interventions(batch.scenario, run.interventions) if run.interventions else None
    )
    try:
        execute(
            batch.scenario,
            list(ctx.seeds),
            dict(ctx.inputs),
            compiled,
            arrival_times=list(ctx.arrival_times) or None,
            raise_crash=True,
        )
    except Exception as exc:
        # SimPy re-raises a process's exception as a copy caused by the original; raise the
        # original, whose traceback leads into the scenario code
        cause = exc.__cause__
        raise (cause if type(cause) is type(exc) else exc) from None
    raise SimulationError(  # pragma: no cover - the re-run raises first
        f"run seed {run.seed} crashed ({run.crash}) but its re-run did not"
    )


def run_one(scenario: Scenario, seed: int, inputs: dict[str, Any], interventions: Any = ()) -> Run:
    """Simulate one run (what ``Scenario.run`` does)."""
    check_inputs(scenario, inputs, "run()")
    ivs = as_interventions(interventions)
    compiled = compile_interventions(scenario, ivs) if ivs else None
    (s,) = execute(scenario, [seed], inputs, compiled)
    ctx = RunContext(seeds=(seed,), inputs=tuple(sorted(inputs.items())))
    run = make_run(scenario, s, ctx, ivs, keep=True)
    warn_scenario_bugs(Batch(scenario=scenario, seed=seed, runs=[run]))
    return run


def simulate_seeds(
    scenario: Scenario,
    seeds: Iterable[int],
    inputs: dict[str, Any],
    interventions: tuple[Intervention, ...],
    keep: bool,
    on_run: Callable[[], None] | None = None,
) -> list[Run]:
    """Independent runs, one environment each, in seed order."""
    compiled = compile_interventions(scenario, interventions) if interventions else None
    key = tuple(sorted(inputs.items()))
    record = keep or bool(scenario.outcomes)  # user outcomes may read the trace
    out = []
    with collect_rarely(unfreeze=True):
        for i, seed in enumerate(seeds):
            (s,) = execute(scenario, [seed], inputs, compiled, record_calls=record)
            out.append(
                make_run(scenario, s, RunContext(seeds=(seed,), inputs=key), interventions, keep)
            )
            if on_run is not None:
                on_run()
            if i % 512 == 511:
                gc.freeze()
    return out


def arrival_times(seed: int, n: int, arrivals: Any) -> list[float]:
    """Arrival times of ``n`` sessions: cumulative inter-arrival gaps drawn from the noise
    field at address ``arrivals`` (slot ``gap:i``), the first session arriving at 0.

    >>> arrival_times(0, 3, 2.0)
    [0.0, 2.0, 4.0]
    """
    d = as_distribution(arrivals, what="arrivals")
    times, t = [], 0.0
    for i in range(n):
        times.append(t)
        t += fast_ppf(d, {f"gap:{i}": _noise.uniform(seed, "arrivals", f"gap:{i}")}, f"gap:{i}")
    return times


_FORKED: dict[str, Any] = {}


def _work(chunk: list[int]) -> list[Run]:
    sc, inputs, ivs, keep = _FORKED["job"]
    runs = simulate_seeds(sc, chunk, inputs, ivs, keep)
    for r in runs:  # the parent re-attaches its own scenario object
        r.scenario = None  # type: ignore[assignment]
    return runs


@contextmanager
def batch_progress(total: int, enabled: bool, label: str) -> Iterator[Callable[[int], None]]:
    """A rich progress bar over ``total`` steps (nothing when not ``enabled``); yields the
    function that advances it."""
    with _progress(total, enabled, label) as advance:
        yield advance


@contextmanager
def _progress(total: int, enabled: bool, label: str) -> Iterator[Callable[[int], None]]:
    if not enabled:
        yield lambda k: None
        return
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TimeRemainingColumn

    with Progress(
        "[progress.description]{task.description}",
        BarColumn(),
        MofNCompleteColumn(),
        TimeRemainingColumn(),
        transient=True,
    ) as bar:
        task = bar.add_task(label, total=total)
        yield lambda k: bar.advance(task, k)


def simulate(
    scenario: Scenario,
    n: int,
    seed: int = 0,
    *,
    workers: int = 1,
    keep_traces: bool = True,
    arrivals: Any = None,
    progress: bool | None = None,
    interventions: Any = (),
    inputs: dict[str, Any] | None = None,
    on_crash: str = "record",
) -> Batch:
    """Simulate ``n`` runs of ``scenario``.

    Parameters
    ----------
    n : int
        Number of runs (sessions).
    seed : int
        Batch seed; run ``i`` has seed ``noise.child_seed(seed, i)``.
    workers : int
        Processes to use (results are identical whatever this is).
    keep_traces : bool
        Keep span records so that ``run.trace`` can be built (costs memory).
    arrivals : float or distribution, optional
        Inter-arrival times: sessions arrive over time into one environment and share
        capacity (runs serially; ``workers`` is ignored).
    progress : bool, optional
        Show a progress bar (default: when stderr is a terminal and ``n >= 200``).
    interventions : intervention or sequence
        Applied to every run.
    inputs : dict
        Keyword inputs of the entry agent (refused with a ScenarioError, before any run,
        when the entry agent does not accept them).
    on_crash : {"record", "raise"}
        What to do when scenario code raises an exception that is not a modelled
        :class:`~agentsim.context.Failure`: ``record`` it on the run (which fails; the batch
        warns once and :meth:`Batch.crashes` lists them), or ``raise`` the first one.

    Examples
    --------
    >>> from agentsim import Scenario
    >>> sc = Scenario("s")
    >>> t = sc.tool("t", p_ok=0.5)
    >>> @sc.agent
    ... def main(ctx):
    ...     return (yield ctx.call(t))
    >>> batch = simulate(sc, 100, seed=1)
    >>> 0.3 < batch.rate("success").value < 0.7
    True
    """
    if not isinstance(n, int) or isinstance(n, bool) or n < 1:
        raise ScenarioError(f"n={n!r} must be a positive integer number of runs")
    if not isinstance(workers, int) or workers < 1:
        raise ScenarioError(f"workers={workers!r} must be a positive integer")
    if on_crash not in ("record", "raise"):
        raise ScenarioError(f"on_crash={on_crash!r} must be 'record' or 'raise'")
    inputs = dict(inputs or {})
    check_inputs(scenario, inputs, "simulate()")
    ivs = as_interventions(interventions)
    batch = _simulate(scenario, n, seed, workers, keep_traces, arrivals, progress, ivs, inputs)
    if on_crash == "raise":
        raise_first_crash(batch)
    warn_scenario_bugs(batch)
    return batch


def _simulate(
    scenario: Scenario,
    n: int,
    seed: int,
    workers: int,
    keep_traces: bool,
    arrivals: Any,
    progress: bool | None,
    ivs: tuple[Intervention, ...],
    inputs: dict[str, Any],
) -> Batch:
    # generated lazily: a huge n must not build its seed list before the first run
    seeds = (_noise.child_seed(seed, i) for i in range(n))
    show = progress if progress is not None else (sys.stderr.isatty() and n >= 200)
    batch = Batch(scenario=scenario, seed=seed, arrivals=arrivals is not None)
    if arrivals is not None:
        times = arrival_times(seed, n, arrivals)
        compiled = compile_interventions(scenario, ivs) if ivs else None
        with collect_rarely(unfreeze=True):
            shared_seeds = tuple(seeds)  # one environment holds every session anyway
            sessions = execute(scenario, list(shared_seeds), inputs, compiled, arrival_times=times)
        key = tuple(sorted(inputs.items()))
        shared_times = tuple(times)  # one copy for all runs
        for i, s in enumerate(sessions):
            ctx = RunContext(seeds=shared_seeds, arrival_times=shared_times, index=i, inputs=key)
            batch.runs.append(make_run(scenario, s, ctx, ivs, keep_traces))
        return batch
    with _progress(n, bool(show), f"simulating {scenario.name}") as advance:
        if workers == 1 or n < 2 * workers or "fork" not in mp.get_all_start_methods():
            batch.runs = simulate_seeds(
                scenario, seeds, inputs, ivs, keep_traces, on_run=lambda: advance(1)
            )
            return batch
        size = max(1, min(500, n // (workers * 4)))
        chunks = (list(itertools.islice(seeds, size)) for _ in range(0, n, size))
        _FORKED["job"] = (scenario, inputs, ivs, keep_traces)
        try:
            fork = mp.get_context("fork")
            with fork.Pool(processes=min(workers, os.cpu_count() or workers)) as pool:
                for runs in pool.imap(_work, chunks):
                    for r in runs:
                        r.scenario = scenario
                    batch.runs.extend(runs)
                    advance(len(runs))
        except Exception as exc:
            raise SimulationError(
                f"a worker process failed ({type(exc).__name__}: {exc}); run with workers=1 "
                "to see the error in this process"
            ) from exc
        finally:
            _FORKED.pop("job", None)
    return batch


def replay(run: Run, ivs: tuple[Intervention, ...], *, keep: bool = True) -> Run:
    """Re-simulate ``run`` under its own interventions followed by ``ivs``, with its
    exogenous noise held fixed (no checks: :func:`agentsim._compiled.check_address_targets`
    checks address targets against the worlds)."""

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
