"""Compact per-run rows: what a worker sends back, and runs rebuilt from them.

Layer: engine. It imports only from its own layer and the ones below it.

A worker process (or a Dask task, or the vectorised executor) returns a batch's runs as
columns (numpy arrays of outcomes, short lists of errors and values) instead of pickled
:class:`~agentsim.run.Run` objects: a tenth of the bytes, and nothing for the parent's
garbage collector to walk. The parent turns each row into a :class:`ReplayRun`, whose span
records are rebuilt on demand by re-simulating its seed on the discrete-event engine (the
same trace, by determinism), so nothing is lost.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np
from numpy.typing import NDArray

from agentsim._compiled import compile_interventions
from agentsim._engine import execute
from agentsim._gc import paused
from agentsim.context import Result
from agentsim.errors import SimulationError
from agentsim.run import Run, RunContext

if TYPE_CHECKING:
    from agentsim.interventions import Intervention
    from agentsim.scenario import Scenario
    from agentsim.trace import Trace
    from agentsim.vector import Outcomes

__all__ = ["ReplayRun", "Rows", "notes_of", "rows_from_outcomes", "rows_from_runs", "run_notes"]


@dataclass
class Rows:
    """Runs as columns, in seed order (``outcomes`` holds the user outcomes)."""

    ok: NDArray[np.bool_]
    latency: NDArray[np.float64]
    cost: NDArray[np.float64]
    steps: NDArray[np.int64]
    error: list[str | None]
    value: list[Any]
    stopped: list[str | None]
    outcomes: dict[str, NDArray[np.float64]]
    probes: dict[str, NDArray[np.int8]] | None = None
    """For asked addresses: 1 where the call was ok, 0 where it failed, -1 where the run
    never made it (population questions condition on it)."""
    notes: list[dict[str, Any] | None] | None = None
    """Per row, the run's ``crash`` and ``warnings`` attributes where it has any (scenario
    bugs the engine recorded); ``None`` when no row has any."""

    def __len__(self) -> int:
        return int(self.ok.size)

    def values(self, name: str) -> NDArray[np.float64]:
        """Outcome ``name`` of every row (``success``, ``latency``, ``cost`` or a user one)."""
        if name == "success":
            return self.ok.astype(np.float64)
        if name == "failure":
            return 1.0 - self.ok.astype(np.float64)
        if name in ("latency", "cost"):
            return self.latency if name == "latency" else self.cost
        return self.outcomes[name]

    def take(self, positions: list[int], other: Rows) -> None:
        """Overwrite rows ``positions`` with ``other``'s rows, in order."""
        pos = np.asarray(positions, dtype=np.int64)
        self.ok[pos], self.latency[pos], self.cost[pos] = other.ok, other.latency, other.cost
        self.steps[pos] = other.steps
        for j, p in enumerate(positions):
            self.error[p], self.value[p], self.stopped[p] = (
                other.error[j],
                other.value[j],
                other.stopped[j],
            )
        if other.notes is not None:
            if self.notes is None:
                self.notes = [None] * len(self)
            for j, p in enumerate(positions):
                self.notes[p] = other.notes[j]


def rows_from_runs(runs: list[Run]) -> Rows:
    """Rows of runs simulated by the engine."""
    names = [k for k in (runs[0].outcomes if runs else {}) if k not in _BUILTIN]
    return Rows(
        ok=np.array([r.result.ok for r in runs], dtype=bool),
        latency=np.array([r.outcomes["latency"] for r in runs], dtype=np.float64),
        cost=np.array([r.outcomes["cost"] for r in runs], dtype=np.float64),
        steps=np.array([r.attributes.get("steps", 0) for r in runs], dtype=np.int64),
        error=[r.result.error for r in runs],
        value=[r.result.value for r in runs],
        stopped=[r.attributes.get("stopped") for r in runs],
        outcomes={k: np.array([r.outcomes[k] for r in runs], dtype=np.float64) for k in names},
        notes=notes_of([run_notes(r.attributes) for r in runs]),
    )


NOTED = ("crash", "warnings")
"""Run attributes that rows carry (the rare records of scenario bugs)."""


def run_notes(attributes: dict[str, Any]) -> dict[str, Any] | None:
    """The attributes of :data:`NOTED` a run has, or ``None``."""
    got = {k: attributes[k] for k in NOTED if k in attributes}
    return got or None


def notes_of(notes: list[dict[str, Any] | None]) -> list[dict[str, Any] | None] | None:
    """``notes``, or ``None`` when no row has any."""
    return notes if any(n is not None for n in notes) else None


def rows_from_outcomes(out: Outcomes) -> Rows:
    """Rows of runs evaluated by the vectorised executor."""
    errors, values = out.errors, out.values
    stop = {i for i in np.flatnonzero(out.stopped).tolist()}
    return Rows(
        ok=out.success.copy(),
        latency=out.latency.copy(),
        cost=out.cost.copy(),
        steps=out.steps.copy(),
        error=[None if e < 0 else errors[e] for e in out.error.tolist()],
        value=[values[v] for v in out.value.tolist()],
        stopped=[errors[e] if i in stop else None for i, e in enumerate(out.error.tolist())],
        outcomes={},
    )


_BUILTIN = ("success", "latency", "cost")


class ReplayRun(Run):
    """A run known by its row; its span records are re-simulated by the engine when asked.

    The replayed session must reproduce the row's outcomes (it does, by determinism); if it
    did not, that would be a bug in an executor, reported as a :class:`SimulationError`.
    """

    def _replay(self) -> list[Any]:
        if self._records is None:
            ivs = self.interventions
            compiled = compile_interventions(self.scenario, ivs) if ivs else None
            (s,) = execute(self.scenario, [self.seed], dict(self.context.inputs), compiled)
            assert s.result is not None
            got = (s.result.ok, s.end - s.t0, s.cost)
            want = (self.result.ok, self.outcomes["latency"], self.outcomes["cost"])
            if got[0] != want[0] or abs(got[1] - want[1]) > 1e-9 * max(1.0, abs(want[1])):
                raise SimulationError(
                    f"replaying run seed={self.seed} gave (ok, latency, cost)={got}, but the "
                    f"batch recorded {want}; please report this executor mismatch"
                )
            self._records = s.records
        return self._records

    @property
    def trace(self) -> Trace:
        """The run's trace, re-simulated on first access."""
        self._replay()
        return Run.trace.fget(self)  # type: ignore[attr-defined,no-any-return]

    @property
    def has_trace(self) -> bool:
        """Always: the trace can be rebuilt."""
        return True

    @property
    def records(self) -> list[Any]:
        """The engine's span records, re-simulated on first access."""
        return self._replay()


def assemble(
    scenario: Scenario,
    seeds: list[int],
    rows: Rows,
    interventions: tuple[Intervention, ...],
    inputs: tuple[tuple[str, Any], ...],
) -> list[Run]:
    """:class:`ReplayRun` objects for ``rows`` (one per seed)."""
    address = f"{scenario.entry.name}#0"
    extra = list(rows.outcomes.items())
    out: list[Run] = []
    oks, lats, costs, steps = (
        rows.ok.tolist(),
        rows.latency.tolist(),
        rows.cost.tolist(),
        rows.steps.tolist(),
    )
    columns = [(k, v.tolist()) for k, v in extra]
    # Building runs allocates several objects each and makes no cycles; the collector would
    # only rescan the growing list (measured: two thirds of the time), so it waits.
    with paused():
        _build(
            scenario,
            seeds,
            rows,
            interventions,
            inputs,
            address,
            oks,
            lats,
            costs,
            steps,
            columns,
            out,
        )
    return out


def _build(
    scenario: Scenario,
    seeds: list[int],
    rows: Rows,
    interventions: tuple[Intervention, ...],
    inputs: tuple[tuple[str, Any], ...],
    address: str,
    oks: list[bool],
    lats: list[float],
    costs: list[float],
    steps: list[int],
    columns: list[tuple[str, list[float]]],
    out: list[Run],
) -> None:
    notes = rows.notes
    for i, seed in enumerate(seeds):
        ok, lat, cost = oks[i], lats[i], costs[i]
        outcomes = {"success": 1.0 if ok else 0.0, "latency": lat, "cost": cost}
        for k, col in columns:
            outcomes[k] = col[i]
        attrs: dict[str, Any] = {"steps": steps[i], "arrival": 0.0}
        if rows.stopped[i]:
            attrs["stopped"] = rows.stopped[i]
        note = notes[i] if notes is not None else None
        if note is not None:
            attrs.update(note)
        out.append(
            ReplayRun(
                scenario=scenario,
                seed=seed,
                result=Result(ok, rows.value[i], lat, cost, rows.error[i], address),
                outcomes=outcomes,
                records=None,
                context=RunContext(seeds=(seed,), inputs=inputs),
                interventions=interventions,
                attributes=attrs,
            )
        )
