"""The executor: simulate and replay, turning the engine's sessions into Runs and Batches
(engine layer; imports kernel, model, the engine and the compiled interventions).

``simulate(n, seed)`` runs ``n`` independent sessions whose seeds are
``noise.child_seed(seed, i)``; run ``i`` is the same whatever ``n`` or ``workers`` is, so
``workers=2`` gives exactly the batch ``workers=1`` gives. With ``arrivals`` the sessions
instead arrive over time into *one* environment and share the tools' capacity, so queueing,
timeouts under load and the coupling between runs emerge from the simulation; such a batch
runs in one process because its sessions are one causal system.

Processes are forked (the scenario, which holds user functions and lambdas, is inherited
rather than pickled); where fork is unavailable the batch runs serially. Workers send back
compact rows (:mod:`agentsim._rows`), not Run objects; the batch keeps every run in columns
(:class:`~agentsim.columns.RunTable`) and re-simulates a row's trace when it is read.
``executor=`` takes a ``dask.distributed`` client instead: the batch is cut into chunks of
run indices, so results never depend on the partitioning.

``engine="auto"`` runs declarative workflows on the vectorised executor
(:mod:`agentsim.vector`) when nothing in the batch needs the discrete-event engine, and
says which engine ran in ``Batch.engine``.
"""

from __future__ import annotations

import dataclasses
import inspect
import multiprocessing as mp
import os
import sys
import warnings
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any

import numpy as np

from agentsim import noise as _noise
from agentsim import vector
from agentsim._compiled import compile_interventions
from agentsim._engine import Session, execute
from agentsim._gc import collect_rarely, freeze_existing, unfreeze
from agentsim._rows import Rows, notes_of, rows_from_outcomes, rows_from_runs
from agentsim.batch import Batch
from agentsim.columns import RunTable
from agentsim.dist import as_distribution
from agentsim.errors import ScenarioError, ScenarioWarning, SimulationError
from agentsim.interventions import Intervention, as_interventions
from agentsim.mechanisms import fast_ppf
from agentsim.run import Run, RunContext

if TYPE_CHECKING:
    from agentsim.scenario import Scenario

__all__ = [
    "ENGINES",
    "arrival_times",
    "batch_progress",
    "batch_rows",
    "make_run",
    "population_rows",
    "replay",
    "run_one",
    "session_outcomes",
    "simulate",
    "simulate_seeds",
]

ENGINES = ("auto", "des", "vector")
"""Values of ``simulate(engine=...)``."""


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
    outcomes = session_outcomes(s)
    attrs: dict[str, Any] = {"steps": s.steps, "arrival": s.t0}
    if context.coupled:  # the trace alone does not determine this run (abduction refuses)
        attrs["coupled_sessions"] = len(context.seeds)
    if s.stop_reason:
        attrs["stopped"] = s.stop_reason
    attrs.update(_session_notes(s) or {})
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
    # an outcome function that read the trace built it before every outcome was known
    run._trace = None
    if not keep:
        run.drop_records()
    return run


def session_outcomes(s: Session) -> dict[str, float]:
    """The built-in outcomes of a finished session: ``success``, ``latency`` (from the
    session's arrival) and ``cost`` (every completed call)."""
    assert s.result is not None
    return {"success": 1.0 if s.result.ok else 0.0, "latency": s.end - s.t0, "cost": s.cost}


def _session_notes(s: Session) -> dict[str, Any] | None:
    """A session's records of scenario bugs: its crash, its unyielded requests."""
    notes: dict[str, Any] = {}
    if s.crash is not None:
        notes["crash"] = s.crash.as_dict()
    count, lost = s.lost
    if count:
        where = (": " + ", ".join(lost[:3]) + ("..." if len(lost) > 3 else "")) if lost else ""
        notes["warnings"] = [
            f"{count} call request(s) created but never yielded, so never made{where}; write "
            "`yield ctx.call(...)` (or pass the request to ctx.parallel/ctx.first)"
        ]
    return notes or None


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
    lost = batch.with_attribute("warnings")
    if lost:
        warnings.warn(
            f"{len(lost)} of {len(batch)} runs: {batch[lost[0]].warnings[0]}",
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
    sink: Callable[[Run], None] | None = None,
) -> list[Run]:
    """Independent runs, one environment each, in seed order (handed to ``sink`` one by one
    when it is given; the list returned is then empty)."""
    compiled = compile_interventions(scenario, interventions) if interventions else None
    key = tuple(sorted(inputs.items()))
    record = keep or bool(scenario.outcomes)  # user outcomes may read the trace
    out = []
    with collect_rarely(unfreeze=True):
        for seed in seeds:
            (s,) = execute(scenario, [seed], inputs, compiled, record_calls=record)
            run = make_run(scenario, s, RunContext(seeds=(seed,), inputs=key), interventions, keep)
            if sink is None:
                out.append(run)
            else:
                sink(run)
            if on_run is not None:
                on_run()
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


Job = tuple["Scenario", dict[str, Any], tuple[Intervention, ...], str]
"""What a worker needs: scenario, entry inputs, interventions, engine ("des" or "vector")."""


def batch_rows(job: Job, seeds: list[int]) -> Rows:
    """The rows of the runs with ``seeds``: on the vectorised executor (the runs it leaves
    to the engine re-simulated here) or on the engine, recording no spans."""
    sc, inputs, ivs, engine = job
    if engine == "vector":
        out = vector.evaluate(sc, seeds, ivs)
        rows = rows_from_outcomes(out)
        delegated = np.flatnonzero(out.delegate).tolist()
        if delegated:
            runs = simulate_seeds(sc, [seeds[i] for i in delegated], inputs, ivs, keep=False)
            rows.take(delegated, rows_from_runs(runs))
        return rows
    return _engine_rows(sc, seeds, inputs, ivs)


def _engine_rows(
    sc: Scenario,
    seeds: list[int],
    inputs: dict[str, Any],
    ivs: tuple[Intervention, ...],
    probes: tuple[str, ...] = (),
) -> Rows:
    """Rows straight from the engine's sessions (no Run objects), unless user outcomes
    need each run; ``probes`` are addresses whose ok flag each row records."""
    if sc.outcomes and not probes:
        return rows_from_runs(simulate_seeds(sc, seeds, inputs, ivs, keep=False))
    if sc.outcomes:
        raise ScenarioError(
            f"scenario {sc.name!r} has user outcomes {sorted(sc.outcomes)}; population "
            "questions on an executor need the built-in outcomes (run without executor=)"
        )
    compiled = compile_interventions(sc, ivs) if ivs else None
    seen = {a: np.full(len(seeds), -1, np.int8) for a in probes}
    n = len(seeds)
    ok, lat, cost = np.zeros(n, bool), np.zeros(n), np.zeros(n)
    steps = np.zeros(n, np.int64)
    error: list[str | None] = []
    value: list[Any] = []
    stopped: list[str | None] = []
    notes: list[dict[str, Any] | None] = []
    with collect_rarely(unfreeze=True):
        for i, seed in enumerate(seeds):
            (s,) = execute(sc, [seed], inputs, compiled, record_calls=bool(probes))
            for rec in s.records if probes else ():
                if rec.address in seen:
                    seen[rec.address][i] = 1 if rec.ok else 0
            r = s.result
            assert r is not None
            ok[i], lat[i], cost[i], steps[i] = r.ok, s.end - s.t0, s.cost, s.steps
            error.append(r.error)
            value.append(r.value)
            stopped.append(s.stop_reason or None)
            notes.append(_session_notes(s))
    return Rows(ok, lat, cost, steps, error, value, stopped, {}, seen or None, notes_of(notes))


def _probe_rows(
    job: tuple[Scenario, tuple[Intervention, ...], tuple[str, ...]], seeds: list[int]
) -> Rows:
    sc, ivs, probes = job
    return _engine_rows(sc, seeds, {}, ivs, probes)


def population_rows(
    scenario: Scenario,
    n: int,
    seed: int,
    interventions: tuple[Intervention, ...],
    executor: Any,
    probes: tuple[str, ...] = (),
) -> Rows:
    """The rows of ``simulate(scenario, n, seed, interventions=...)`` computed on a Dask
    ``executor``, with the ok flag of each ``probes`` address (what population questions
    such as PN and PS condition on), without building runs.

    Run ``i`` has seed ``child_seed(seed, i)`` whatever the partitioning.
    """
    seeds = _noise.child_seeds(seed, n).tolist()
    return _on_client(executor, (scenario, interventions, probes), seeds, _probe_rows)


def _work(chunk: list[int]) -> Rows:
    return batch_rows(_FORKED["job"], chunk)


def _concat(parts: list[Rows]) -> Rows:
    names = list(parts[0].outcomes) if parts else []
    return Rows(
        ok=np.concatenate([p.ok for p in parts]),
        latency=np.concatenate([p.latency for p in parts]),
        cost=np.concatenate([p.cost for p in parts]),
        steps=np.concatenate([p.steps for p in parts]),
        error=[e for p in parts for e in p.error],
        value=[v for p in parts for v in p.value],
        stopped=[x for p in parts for x in p.stopped],
        outcomes={k: np.concatenate([p.outcomes[k] for p in parts]) for k in names},
        probes=(
            {k: np.concatenate([p.probes[k] for p in parts]) for k in parts[0].probes}  # type: ignore[index]
            if parts and parts[0].probes
            else None
        ),
        notes=notes_of(
            [x for p in parts for x in (p.notes if p.notes is not None else [None] * len(p))]
        ),
    )


def _chunks(seeds: list[int], parts: int, most: int) -> list[list[int]]:
    size = max(1, min(most, -(-len(seeds) // parts)))
    return [seeds[i : i + size] for i in range(0, len(seeds), size)]


def _on_client(
    client: Any, job: Any, seeds: list[int], fn: Callable[[Any, list[int]], Rows] = batch_rows
) -> Rows:
    """Rows computed on a ``dask.distributed`` client, chunked by run index."""
    if not (callable(getattr(client, "map", None)) and callable(getattr(client, "gather", None))):
        raise ScenarioError(
            f"executor={client!r} is not a dask.distributed Client (it needs map and gather); "
            "pass Client(...) or use workers= for processes on this machine"
        )
    info = client.scheduler_info() if callable(getattr(client, "scheduler_info", None)) else {}
    nworkers = max(1, len(info.get("workers", {})) or 1)
    chunks = _chunks(seeds, nworkers * 4, 50_000)
    # a fresh key per batch (hash=False): a population asks for many batches of the same
    # job back to back, and re-scattering a content-hashed key while the previous batch's
    # copy is being released loses it on the workers ("lost dependencies")
    shared = (
        client.scatter(job, broadcast=True, hash=False)
        if callable(getattr(client, "scatter", None))
        else job
    )
    futures = client.map(fn, [shared] * len(chunks), chunks, pure=False)
    return _concat(list(client.gather(futures)))


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
    engine: str = "auto",
    executor: Any = None,
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
    engine : {"auto", "des", "vector"}
        ``des`` steps the SimPy engine run by run; ``vector`` evaluates a declarative
        workflow (:mod:`agentsim.workflow`) for all runs at once with numpy, with the same
        per-run outcomes (:mod:`agentsim.vector`); ``auto`` picks ``vector`` when the batch
        allows it (a workflow scenario, no capacity, no arrivals, no custom Python
        mechanism or outcome). ``Batch.engine`` says which ran.
    executor : dask.distributed.Client, optional
        Run the batch on a Dask cluster, cut into chunks of run indices (results identical
        to ``workers=1``); ``workers`` is then ignored.

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
    >>> batch.engine
    'des'
    """
    if not isinstance(n, int) or isinstance(n, bool) or n < 1:
        raise ScenarioError(f"n={n!r} must be a positive integer number of runs")
    if not isinstance(workers, int) or workers < 1:
        raise ScenarioError(f"workers={workers!r} must be a positive integer")
    if on_crash not in ("record", "raise"):
        raise ScenarioError(f"on_crash={on_crash!r} must be 'record' or 'raise'")
    if engine not in ENGINES:
        raise ScenarioError(f"engine={engine!r} is not one of {ENGINES}")
    inputs = dict(inputs or {})
    check_inputs(scenario, inputs, "simulate()")
    ivs = as_interventions(interventions)
    reason = (
        vector.why_not_vectorisable(scenario, ivs, inputs=inputs, arrivals=arrivals)
        if engine != "des"
        else "engine='des' was asked for"
    )
    if engine == "vector" and reason is not None:
        raise ScenarioError(
            f"scenario {scenario.name!r} cannot run on the vectorised executor: {reason}; "
            "use engine='des' (or 'auto', which picks the engine that can run it)"
        )
    use = "vector" if reason is None else "des"
    batch = _simulate(
        scenario, n, seed, workers, keep_traces, arrivals, progress, ivs, inputs, use, executor
    )
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
    use: str,
    executor: Any,
) -> Batch:
    # generated lazily: a huge n must not build its seed list before the first run
    seeds = (_noise.child_seed(seed, i) for i in range(n))
    show = progress if progress is not None else (sys.stderr.isatty() and n >= 200)
    table = RunTable()
    batch = Batch(scenario, seed, table, arrivals=arrivals is not None, engine=use)
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
            table.append(make_run(scenario, s, ctx, ivs, keep_traces))
        table.seal()
        return batch
    key = tuple(sorted(inputs.items()))
    job: Job = (scenario, inputs, ivs, use)
    forked = workers > 1 and n >= 2 * workers and "fork" in mp.get_all_start_methods()
    # these executors cut the seed list into chunks (the serial engine takes it lazily)
    chunked = executor is not None or use == "vector" or forked
    listed = _noise.child_seeds(seed, n).tolist() if chunked else []
    if executor is not None:
        table.add_rows(scenario, listed, _on_client(executor, job, listed), ivs, key)
        return batch
    if use == "vector" and not forked:
        with collect_rarely(unfreeze=True):
            table.add_rows(scenario, listed, batch_rows(job, listed), ivs, key)
        return batch
    with _progress(n, bool(show), f"simulating {scenario.name}") as advance:
        if not forked:
            simulate_seeds(
                scenario, seeds, inputs, ivs, keep_traces, lambda: advance(1), table.append
            )
            table.seal()
            return batch
        chunks = _chunks(listed, workers * 4, 5_000 if use == "des" else 50_000)
        _FORKED["job"] = job
        parts: list[Rows] = []
        # Objects alive before the fork stay out of the children's collections (else each
        # child's collector touches, and so copies, every page of the parent's heap).
        freeze_existing()
        try:
            fork = mp.get_context("fork")
            with fork.Pool(processes=min(workers, os.cpu_count() or workers)) as pool:
                for rows in pool.imap(_work, chunks):
                    parts.append(rows)
                    advance(len(rows))
        except Exception as exc:
            raise SimulationError(
                f"a worker process failed ({type(exc).__name__}: {exc}); run with workers=1 "
                "to see the error in this process"
            ) from exc
        finally:
            _FORKED.pop("job", None)
            unfreeze()
    table.add_rows(scenario, listed, _concat(parts), ivs, key)
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
