"""Batches: many runs of one scenario, and where they are kept.

Layer: engine. It imports only from its own layer and the ones below it.

A :class:`Batch` estimates rates and means over its runs with confidence intervals and exports
them (pandas, Arrow, Parquet). It keeps its runs in a :class:`RunStore`: what ``simulate``
fills is a columnar :class:`~agentsim.columns.RunTable`, which builds a :class:`Run` only when
one is read; a batch assembled by hand from a list of runs keeps the objects.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterable, Iterator, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol, overload, runtime_checkable

import numpy as np
from numpy.typing import NDArray

from agentsim._arrow import span_batches
from agentsim._display import html_of
from agentsim._io import atomic_path
from agentsim._optional import require
from agentsim.columns import RunTable
from agentsim.errors import AgentSimError
from agentsim.run import Run, outcome_mean
from agentsim.stats import Estimate, batch_means, wilson

if TYPE_CHECKING:
    import pandas as pd
    import pyarrow as pa

    from agentsim.scenario import Scenario

__all__ = ["Batch", "RunStore", "Runs"]


@runtime_checkable
class RunStore(Protocol):
    """Where a :class:`Batch` keeps its runs: a list of objects, or columns
    (:class:`agentsim.columns.RunTable`, what ``simulate`` fills)."""

    def __len__(self) -> int: ...
    def append(self, run: Run) -> None: ...
    def extend(self, runs: Iterable[Run]) -> None: ...
    def run(self, i: int, scenario: Scenario) -> Run: ...
    def values(self, name: str) -> NDArray[np.float64] | None: ...
    def seeds(self) -> list[int]: ...
    def errors(self) -> list[str | None]: ...
    def noted(self, key: str) -> list[int]: ...
    def outcome_names(self) -> list[str] | None: ...


class _RunList:
    """Runs kept as objects (a batch assembled by hand)."""

    def __init__(self, runs: Iterable[Run] = ()) -> None:
        self.items = list(runs)

    def __len__(self) -> int:
        return len(self.items)

    def append(self, run: Run) -> None:
        self.items.append(run)

    def extend(self, runs: Iterable[Run]) -> None:
        self.items.extend(runs)

    def run(self, i: int, scenario: Scenario) -> Run:
        return self.items[i]

    def values(self, name: str) -> NDArray[np.float64] | None:
        return None

    def seeds(self) -> list[int]:
        return [r.seed for r in self.items]

    def errors(self) -> list[str | None]:
        return [r.result.error for r in self.items]

    def noted(self, key: str) -> list[int]:
        return [i for i, r in enumerate(self.items) if key in r.attributes]

    def outcome_names(self) -> list[str] | None:
        return None


class Runs(Sequence[Run]):
    """The runs of a batch, in order: a sequence that builds each run when it is read (the
    same object while a caller holds it), and grows with ``append`` and ``extend``."""

    def __init__(self, store: RunStore, scenario: Scenario) -> None:
        self._store = store
        self._scenario = scenario

    def __len__(self) -> int:
        return len(self._store)

    @overload
    def __getitem__(self, i: int) -> Run: ...
    @overload
    def __getitem__(self, i: slice) -> list[Run]: ...
    def __getitem__(self, i: int | slice) -> Run | list[Run]:
        if isinstance(i, slice):
            return [self._store.run(k, self._scenario) for k in range(len(self))[i]]
        return self._store.run(i, self._scenario)

    def __iter__(self) -> Iterator[Run]:
        store, scenario = self._store, self._scenario
        return (store.run(k, scenario) for k in range(len(store)))

    def __repr__(self) -> str:
        return f"<{len(self):,} runs of {self._scenario.name!r}, each built when read>"

    def append(self, run: Run) -> None:
        """Add a run at the end. A simulated batch stores it in its columns: its seed,
        result, outcomes, attributes, context, interventions and records, not the links of
        a counterfactual run (``factual``, ``peers``)."""
        self._store.append(run)

    def extend(self, runs: Iterable[Run]) -> None:
        """Add runs at the end."""
        self._store.extend(runs)


class Batch:
    """Many runs of one scenario, in seed order.

    ``rate`` and ``mean`` return :class:`~agentsim.stats.Estimate` values with 95% intervals
    (Wilson for proportions, Student-t for means; batch means for a load batch, whose
    sessions are correlated through the capacity they share). A simulated batch keeps its
    runs in columns (:class:`agentsim.columns.RunTable`) and builds a :class:`Run`, and its
    trace, only when one is read: the same object while it is held, and a change made to it
    lasts only that long. Outcome columns (``values``, ``rate``, ``mean``, ``to_pandas``) are
    read without building runs.

    >>> import agentsim as asim
    >>> sc = asim.Scenario("b")
    >>> t = sc.tool("t", p_ok=0.5)
    >>> @sc.agent
    ... def main(ctx):
    ...     return (yield ctx.call(t))
    >>> batch = sc.simulate(3, seed=0, progress=False)
    >>> batch[1].seed == batch.seeds()[1], len(batch.to_pandas())
    (True, 3)
    >>> batch.runs
    <3 runs of 'b', each built when read>
    """

    def __init__(
        self,
        scenario: Scenario,
        seed: int,
        runs: Iterable[Run] | RunStore = (),
        arrivals: bool = False,
        engine: str = "des",
    ) -> None:
        self.scenario = scenario
        self.seed = seed
        self.arrivals = arrivals
        self.engine = engine
        """Which executor simulated the batch: ``"des"`` (the SimPy engine) or ``"vector"``."""
        self._store: RunStore = runs if isinstance(runs, RunStore) else _RunList(runs)

    @property
    def runs(self) -> Runs:
        """The runs, in order (each built when read)."""
        return Runs(self._store, self.scenario)

    @runs.setter
    def runs(self, runs: Iterable[Run]) -> None:
        # a new store: runs read from the old one (perhaps among ``runs``) keep theirs
        store = RunTable() if isinstance(self._store, RunTable) else _RunList()
        store.extend(runs)
        self._store = store

    def __len__(self) -> int:
        return len(self._store)

    def __iter__(self) -> Iterator[Run]:
        return iter(self.runs)

    @overload
    def __getitem__(self, i: int) -> Run: ...
    @overload
    def __getitem__(self, i: slice) -> list[Run]: ...
    def __getitem__(self, i: int | slice) -> Run | list[Run]:
        return self.runs[i]

    def values(self, name: str) -> np.ndarray:
        """Outcome ``name`` of every run as a numpy array."""
        column = self._store.values(name)
        if column is not None:
            return column
        if len(self) and name not in self[0].outcomes:
            self[0].outcome(name)  # raises, naming the outcomes there are
        return np.asarray([r.outcomes[name] for r in self], dtype=np.float64)

    def rate(self, name: str = "success", confidence: float = 0.95) -> Estimate:
        """Proportion of runs where outcome ``name`` is truthy, with a Wilson interval; for a
        load batch (``arrivals=``), whose sessions are correlated, the union of that and a
        batch-means interval."""
        v = self.values(name)
        w = wilson(float(np.count_nonzero(v)), int(v.size), confidence)
        if not self.arrivals:
            return w
        # the wider of the two: batch means for the correlation, Wilson when batches agree
        bm = batch_means(v != 0, confidence, bounds=(0.0, 1.0))
        return Estimate(w.value, min(w.low, bm.low), max(w.high, bm.high), w.n, confidence)

    def mean(self, name: str, confidence: float = 0.95) -> Estimate:
        """Mean of outcome ``name``: a Student-t interval, or a Wilson interval for an
        outcome whose values are all 0 or 1 (never for ``latency`` and ``cost``); for a load
        batch (``arrivals=``), whose sessions queue for shared capacity and so are
        correlated, a batch-means interval (:func:`~agentsim.stats.batch_means`)."""
        if self.arrivals:
            return batch_means(self.values(name), confidence)
        return outcome_mean(name, self.values(name), confidence)

    def failed_indices(self, outcome: str = "success") -> list[int]:
        """Positions of the runs whose ``outcome`` is falsy, in order (read off the outcome
        column, without building runs)."""
        return [int(i) for i in np.flatnonzero(self.values(outcome) == 0.0)]

    def failures(self, outcome: str = "success") -> Iterator[Run]:
        """Runs whose ``outcome`` is falsy (failed runs, by default)."""
        return (self[i] for i in self.failed_indices(outcome))

    def with_attribute(self, key: str) -> list[int]:
        """Positions of the runs whose attributes hold ``key``, in order (``"crash"``,
        ``"warnings"``: the rare records of scenario bugs; found without building runs)."""
        return self._store.noted(key)

    def crashes(self) -> list[Run]:
        """Runs whose scenario code crashed (raised an exception that is not a modelled
        failure); they count as failures too, but they are bugs, not outcomes."""
        return [self[i] for i in self.with_attribute("crash")]

    def crash_summary(self) -> str | None:
        """One line, ``"N of M runs crashed: NameError: name 'x' is not defined (rag.py:17)"``
        (the first crash, and how many other kinds there were), or ``None``."""
        crashed = self.crashes()
        if not crashed:
            return None
        first = crashed[0].crash
        kinds = {str(r.crash) for r in crashed}
        more = f" (and {len(kinds) - 1} other kinds)" if len(kinds) > 1 else ""
        return f"{len(crashed)} of {len(self)} runs crashed: {first}{more}"

    def where(self, predicate: Callable[[Run], bool]) -> list[Run]:
        """Runs for which ``predicate(run)`` holds."""
        return [r for r in self if predicate(r)]

    def seeds(self) -> Sequence[int]:
        """Seeds of the runs, in order."""
        return self._store.seeds()

    def _outcome_columns(self) -> dict[str, Any]:
        """Every outcome's values, in the runs' outcome order (``None`` where a run of a
        hand-made batch lacks one)."""
        names = self._store.outcome_names()
        if names is not None:
            return {k: self._store.values(k) for k in names}
        names = list(dict.fromkeys(k for r in self for k in r.outcomes))
        return {k: [r.outcomes.get(k) for r in self] for k in names}

    def to_pandas(self) -> pd.DataFrame:
        """One row per run: seed, outcomes, error of the entry agent."""
        pandas = require("pandas", "Batch.to_pandas")
        if not len(self):
            return pandas.DataFrame()  # type: ignore[no-any-return]
        columns: dict[str, Any] = {"seed": self._store.seeds()}
        columns.update(self._outcome_columns())
        columns["error"] = self._store.errors()
        frame: pd.DataFrame = pandas.DataFrame(columns)
        return frame

    def to_arrow(self, spans: bool = False) -> pa.Table:
        """The batch as an Arrow table (needs ``pyarrow``: ``pip install 'agentsim[arrow]'``).

        ``spans=False``: one row per run, the columns of :meth:`to_pandas`. ``spans=True``:
        one row per span (see :func:`agentsim._arrow.span_batches`), strings
        dictionary-encoded; runs that arrived as rows are re-simulated for it.
        """
        pa = require("pyarrow", "Batch.to_arrow")
        if spans:
            return pa.Table.from_batches(list(self._span_batches()))
        # seeds are integers in [0, 2**64)
        columns: dict[str, Any] = {"seed": pa.array(self._store.seeds(), pa.uint64())}
        columns.update({k: pa.array(v, pa.float64()) for k, v in self._outcome_columns().items()})
        columns["error"] = pa.array(self._store.errors(), pa.string())
        return pa.table(columns)

    def to_parquet(self, path: str | os.PathLike[str], spans: bool = False) -> Path:
        """Write :meth:`to_arrow` to a Parquet file, atomically; spans are streamed one chunk
        of runs at a time, so a large batch's spans never exist twice in memory."""
        pq = require("pyarrow.parquet", "Batch.to_parquet")
        with atomic_path(path) as tmp:
            if not spans:
                pq.write_table(self.to_arrow(), tmp)
                return Path(path)
            writer = None
            try:
                for part in self._span_batches():
                    if writer is None:
                        writer = pq.ParquetWriter(tmp, part.schema)
                    writer.write_batch(part)
            finally:
                if writer is not None:
                    writer.close()
            if writer is None:
                raise AgentSimError(f"this batch has no runs to write to {str(path)!r}")
        return Path(path)

    def _span_batches(self) -> Iterator[Any]:
        if not isinstance(self._store, RunTable):
            raise AgentSimError(
                "this batch holds its runs as objects (it was assembled from a list of runs), "
                "so its spans are not in columns; simulate it with Scenario.simulate to "
                "export its spans"
            )
        return span_batches(self._store, self.scenario)

    def _repr_html_(self) -> str | None:
        """Rich display in notebooks (drawn by :mod:`agentsim.views.snippets`)."""
        return html_of(self)

    def __repr__(self) -> str:
        crashed = len(self.with_attribute("crash"))
        tail = f", crashed={crashed}" if crashed else ""
        return f"Batch(scenario={self.scenario.name!r}, n={len(self)}, seed={self.seed}{tail})"
