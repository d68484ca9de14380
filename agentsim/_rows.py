"""Compact per-run rows: what a worker sends back, and runs rebuilt from them.

Layer: engine. It imports only from its own layer and the ones below it.

A worker process (or a Dask task, or the vectorised executor) returns a batch's runs as
columns (numpy arrays of outcomes, short lists of errors and values) instead of pickled
:class:`~agentsim.run.Run` objects: a tenth of the bytes, and nothing for the parent's
garbage collector to walk. The parent adds the rows to the batch's columns
(:meth:`agentsim.columns.RunTable.add_rows`); a run's span records are rebuilt when read by
re-simulating its seed on the discrete-event engine (the same trace, by determinism), so
nothing is lost.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np
from numpy.typing import NDArray

from agentsim._compiled import compile_interventions
from agentsim._engine import execute
from agentsim.context import Result
from agentsim.errors import SimulationError
from agentsim.run import Run

if TYPE_CHECKING:
    from agentsim.interventions import Intervention
    from agentsim.scenario import Scenario
    from agentsim.vector import Outcomes

__all__ = [
    "NOTED",
    "Rows",
    "notes_of",
    "replay_records",
    "rows_from_outcomes",
    "rows_from_runs",
    "run_notes",
]


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


def replay_records(
    scenario: Scenario,
    seed: int,
    inputs: tuple[tuple[str, Any], ...],
    interventions: tuple[Intervention, ...],
    want: Result,
) -> list[Any]:
    """The span records of a run known by its row, re-simulated by the engine (the same seed
    and interventions give the same run). A replay that disagreed with its row would be a bug
    in an executor: a :class:`SimulationError` says so."""
    compiled = compile_interventions(scenario, interventions) if interventions else None
    (s,) = execute(scenario, [seed], dict(inputs), compiled)
    assert s.result is not None
    got = (s.result.ok, s.end - s.t0, s.cost)
    if got[0] != want.ok or abs(got[1] - want.latency) > 1e-9 * max(1.0, abs(want.latency)):
        raise SimulationError(
            f"replaying run seed={seed} gave (ok, latency, cost)={got}, but the batch "
            f"recorded {(want.ok, want.latency, want.cost)}; please report this executor "
            "mismatch"
        )
    return s.records
