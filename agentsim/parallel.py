"""Executors: turn sessions of the engine into Runs and Batches, serially or in processes.

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

import gc
import inspect
import math
import multiprocessing as mp
import os
import sys
import warnings
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any

from agentsim import noise as _noise
from agentsim._apply import compile_interventions
from agentsim.dist import as_distribution
from agentsim.engine import Session, execute, unyielded
from agentsim.errors import ScenarioError, ScenarioWarning, SimulationError
from agentsim.interventions import Intervention, as_interventions
from agentsim.mechanisms import fast_ppf
from agentsim.run import Batch, Run, RunContext
from agentsim.trace import Span, Trace, to_json_value

if TYPE_CHECKING:
    from agentsim.scenario import Scenario

__all__ = [
    "arrival_times",
    "batch_progress",
    "build_trace",
    "make_run",
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


def _is_json(value: Any) -> bool:
    """Whether ``value`` survives a JSON round trip unchanged, type included (a tuple, an enum
    or a non-finite float would come back as something else)."""
    t = type(value)
    if value is None or t is bool or t is int:
        return True
    if t is float:
        return math.isfinite(value)
    if t is str:
        return not any("\ud800" <= c <= "\udfff" for c in value)  # surrogates are not UTF-8
    if t is list:
        return all(_is_json(v) for v in value)
    if t is dict:
        return all(type(k) is str and _is_json(k) and _is_json(v) for k, v in value.items())
    return False


def build_trace(run: Run) -> Trace:
    """Materialise a run's pydantic :class:`~agentsim.trace.Trace` from its records.

    Entry inputs, when the run had any, go to ``attributes["inputs"]`` so that abduction can
    re-run the program as it ran; the names of inputs that are not JSON values go to
    ``attributes["unrecorded_inputs"]`` instead (abduction then refuses rather than guess).
    """
    t0 = float(run.attributes.get("arrival", 0.0))
    attributes: dict[str, Any] = dict(run.attributes)
    if run.context.inputs:
        inputs = dict(run.context.inputs)
        unrecorded = sorted(k for k, v in inputs.items() if not _is_json(v))
        attributes["inputs"] = {k: v for k, v in inputs.items() if k not in unrecorded}
        if unrecorded:
            attributes["unrecorded_inputs"] = unrecorded
    spans = [
        Span(
            address=r.address,
            kind=r.kind,
            name=r.name,
            parent=r.parent,
            agent=r.agent,
            start=r.start - t0,
            end=r.end - t0,
            ok=r.ok,
            error=r.error,
            status=r.status,
            value=to_json_value(r.value),
            inputs=r.inputs,
            cost=r.cost,
            queued=r.queued,
            noise=dict(r.noise),
            attributes=dict(r.attrs) if r.attrs else {},
        )
        for r in run.records
    ]
    return Trace(
        trace_id=f"{run.scenario.name}-{run.seed:x}",
        source="agentsim",
        scenario=run.scenario.name,
        seed=run.seed,
        spans=spans,
        outcomes=dict(run.outcomes),
        interventions=[iv.describe() for iv in run.interventions],
        attributes=attributes,
    )


@contextmanager
def batch_gc() -> Iterator[None]:
    """Collect young garbage less often while a batch runs, then restore the thresholds.

    Every run allocates thousands of short-lived objects (events, records, results), and
    CPython's default threshold of 700 allocations makes the collector rescan the growing
    list of kept runs again and again: measured, it costs a third of the batch's time.
    Simulated runs create no long-lived cycles, so collecting every 50,000 allocations
    frees the same memory, later; and finished runs are moved out of the collector's sight
    (``gc.freeze``) every 512 runs, then handed back (``gc.unfreeze``) when the batch ends.
    """
    old = gc.get_threshold()
    gc.set_threshold(50_000, old[1], old[2])
    try:
        yield
    finally:
        gc.set_threshold(*old)
        gc.unfreeze()


def simulate_seeds(
    scenario: Scenario,
    seeds: list[int],
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
    with batch_gc():
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
    seeds = [_noise.child_seed(seed, i) for i in range(n)]
    show = progress if progress is not None else (sys.stderr.isatty() and n >= 200)
    batch = Batch(scenario=scenario, seed=seed, arrivals=arrivals is not None)
    if arrivals is not None:
        times = arrival_times(seed, n, arrivals)
        compiled = compile_interventions(scenario, ivs) if ivs else None
        with batch_gc():
            sessions = execute(scenario, seeds, inputs, compiled, arrival_times=times)
        key = tuple(sorted(inputs.items()))
        shared_seeds, shared_times = tuple(seeds), tuple(times)  # one copy for all runs
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
        chunks = [seeds[i : i + size] for i in range(0, n, size)]
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
