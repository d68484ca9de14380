"""Columnar storage of simulated runs: calls in numpy structured arrays, strings in tables.

Layer: engine. It imports only from its own layer and the ones below it.

Held as objects, a kept run of 11 spans costs about 7.4 KB: per span a record object, a
noise dict, a list of inputs and a handful of strings. A :class:`RunTable` keeps the same
facts in columns: one row of a structured array per span (70 bytes), the noise values and
input addresses in flat arrays, every string (address, tool, agent, error, kind, status) once
in a table with an ``int32`` id per use, and the rare Python objects (call values, choice
weights, an entry agent's return value) in sparse maps. Runs arrive one by one and are
sealed into chunks of :data:`CHUNK` runs. A :class:`~agentsim.run.Run`, its span records and
its trace are rebuilt on demand, equal to the byte to those simulated (a test checks it);
while a caller holds a rebuilt run, asking again returns the same object (a change made to
it lasts as long as it is held: the columns are not rewritten).

Why numpy and not Arrow: numpy is already a dependency, a chunk's spans are one structured
array (one allocation, one buffer when pickled) with a handful of flat arrays beside it, and
rows are read back with one ``tolist()``. Arrow would add a 40 MB dependency for the same
layout; it is the *export* format instead (``Batch.to_arrow()``, Parquet), where the string
tables become Arrow dictionary arrays as they are.

Runs that an executor sent back as rows (:class:`~agentsim._rows.Rows`: worker processes, Dask
tasks, the vectorised executor) enter with :meth:`RunTable.add_rows`, without span records:
their records are re-simulated by the engine when first read (the same seed gives the same
trace), and the replay is checked against the row.

Adding a per-run field: a column in :data:`_RUN` (filled in ``seal`` and ``add_rows``, read in
``run``), or, for a rare Python object, an entry in a chunk's sparse ``extra`` map.
"""

from __future__ import annotations

import bisect
import weakref
from collections.abc import Iterable
from functools import partial
from itertools import chain
from operator import attrgetter
from typing import TYPE_CHECKING, Any

import numpy as np
from numpy.typing import NDArray

from agentsim._engine import Rec
from agentsim._rows import NOTED, Rows, replay_records
from agentsim.context import Result
from agentsim.run import Run, RunContext

if TYPE_CHECKING:
    from agentsim.interventions import Intervention
    from agentsim.scenario import Scenario

__all__ = ["CHUNK", "RunTable"]

CHUNK = 1024
"""Runs per sealed chunk: big enough that a chunk's arrays dwarf their headers, small enough
that the runs waiting to be sealed stay a small part of a large batch."""

_SPAN = np.dtype(
    [
        ("address", "<i4"),
        ("kind", "<i4"),
        ("name", "<i4"),
        ("parent", "<i4"),
        ("agent", "<i4"),
        ("start", "<f8"),
        ("end", "<f8"),
        ("ok", "?"),
        ("error", "<i4"),
        ("status", "<i4"),
        ("cost", "<f8"),
        ("queued", "<f8"),
        ("noise", "<i4"),  # id of the tuple of noise slots, in the order they were drawn
        ("inputs", "<i4"),  # how many input addresses follow in the flat inputs array
    ]
)
"""One span record. Strings are ids into the table's string table (-1 for ``None``)."""

_RUN = np.dtype(
    [
        ("seed", "<i8"),
        ("span0", "<i4"),  # first span (and noise value, and input) of the run in its chunk
        ("noise0", "<i4"),
        ("input0", "<i4"),
        ("spans", "<i4"),  # -1: records not kept; REPLAY: re-simulated when read
        ("ok", "?"),
        ("latency", "<f8"),
        ("cost", "<f8"),
        ("error", "<i4"),
        ("address", "<i4"),
        ("steps", "<i8"),
        ("arrival", "<f8"),
        ("layout", "<i4"),  # id of (outcome names, attribute names, context, interventions)
        ("index", "<i4"),  # the run's position among the sessions of its environment
    ]
)
"""One run: its entry agent's result, its offsets into the span arrays, its shared layout."""

REPLAY = -2
"""``spans`` of a run that arrived as a row: its records are re-simulated when read."""

_SPAN_FIELDS = tuple(
    map(
        attrgetter,
        (
            "address",
            "kind",
            "name",
            "parent",
            "agent",
            "start",
            "end",
            "ok",
            "error",
            "status",
            "cost",
            "queued",
            "noise",
            "inputs",
            "value",
            "attrs",
        ),
    )
)
"""Readers of a span record's fields, in the order ``seal`` reads them (one pass each: faster
than one tuple per record transposed)."""
_COLUMN_ATTRS = {"steps": int, "arrival": float}
"""Run attributes kept in columns when their value has exactly this type."""


class _Interned:
    """Values numbered in first-seen order (``None`` is -1)."""

    def __init__(self) -> None:
        self.items: list[Any] = []
        self.index: dict[Any, int] = {None: -1}

    def id(self, value: Any) -> int:
        i = self.index.get(value)
        if i is None:
            i = self.index[value] = len(self.items)
            self.items.append(value)
        return i

    def ids(self, values: Iterable[Any]) -> NDArray[np.int32]:
        values = list(values)
        index = self.index
        for v in dict.fromkeys(values):  # the distinct values only
            if v not in index:
                index[v] = len(self.items)
                self.items.append(v)
        return np.fromiter(map(index.__getitem__, values), dtype=np.int32, count=len(values))

    def get(self, i: int) -> Any:
        return None if i < 0 else self.items[i]


class _Chunk:
    """Sealed runs: their rows, their spans' rows, flat noise and inputs, sparse objects."""

    __slots__ = ("extra", "inputs", "noise", "outcomes", "runs", "spans", "values")

    def __init__(self) -> None:
        self.runs: NDArray[Any] = np.empty(0, _RUN)
        self.spans: NDArray[Any] = np.empty(0, _SPAN)
        self.noise: NDArray[np.float64] = np.empty(0)
        self.inputs: NDArray[np.int32] = np.empty(0, np.int32)
        self.outcomes: dict[str, NDArray[np.float64]] = {}
        self.values: dict[int, tuple[Any, Any]] = {}
        """Span (in chunk) -> (value, attrs) when either is not ``None``."""
        self.extra: dict[int, dict[str, Any]] = {}
        """Run (in chunk) -> what has no column: result value, other attributes, big seed."""

    def nbytes(self) -> int:
        arrays = (self.runs, self.spans, self.noise, self.inputs, *self.outcomes.values())
        return sum(a.nbytes for a in arrays)


class RunTable:
    """The runs of a batch, in columns (see the module docstring).

    >>> import agentsim as asim
    >>> sc = asim.Scenario("rt")
    >>> t = sc.tool("t", p_ok=0.5)
    >>> @sc.agent
    ... def main(ctx):
    ...     return (yield ctx.call(t))
    >>> runs = [sc.run(seed=s) for s in range(3)]
    >>> table = RunTable()
    >>> table.extend(runs)
    >>> again = table.run(1, sc)
    >>> again.trace.model_dump_json() == runs[1].trace.model_dump_json()
    True
    >>> table.values("success").tolist() == [r.outcomes["success"] for r in runs]
    True
    """

    def __init__(self) -> None:
        self._strings = _Interned()
        self._noise_keys = _Interned()
        self._layouts = _Interned()
        self._shared: list[Any] = []  # contexts' tuples and intervention tuples
        self._shared_ids: dict[int, int] = {}  # id(object) -> position in _shared
        self._chunks: list[_Chunk] = []
        self._starts: list[int] = []
        self._size = 0
        self._pending: list[Run] = []
        self._alive: weakref.WeakValueDictionary[int, Run] = weakref.WeakValueDictionary()

    # -- filling ------------------------------------------------------------------------
    def __len__(self) -> int:
        return self._size + len(self._pending)

    def append(self, run: Run) -> None:
        """Add a run (sealed into columns with the next :data:`CHUNK` runs)."""
        self._pending.append(run)
        if len(self._pending) >= CHUNK:
            self.seal()

    def extend(self, runs: Iterable[Run]) -> None:
        for run in runs:
            self.append(run)

    def __getstate__(self) -> dict[str, Any]:
        self.seal()
        state = dict(self.__dict__)
        state["_alive"] = None
        return state

    def __setstate__(self, state: dict[str, Any]) -> None:
        self.__dict__.update(state)
        self._alive = weakref.WeakValueDictionary()
        self._shared_ids = {id(obj): i for i, obj in enumerate(self._shared)}

    def _share(self, obj: Any) -> int:
        """Number of an object shared by many runs (a context's seeds, an interventions
        tuple), found by identity: hashing a batch-long tuple once per run would cost O(n²)."""
        i = self._shared_ids.get(id(obj))
        if i is None or self._shared[i] is not obj:
            i = self._shared_ids[id(obj)] = len(self._shared)
            self._shared.append(obj)
        return i

    def _layout(self, run: Run) -> int:
        ctx = run.context
        solo = not ctx.coupled and ctx.seeds == (run.seed,)
        context = (
            (solo, self._share(ctx.inputs), ctx.arrival_times, ctx.worlds)
            if solo
            else (
                solo,
                self._share(ctx.inputs),
                self._share(ctx.seeds),
                self._share(ctx.arrival_times),
                self._share(ctx.worlds),
            )
        )
        attrs = tuple([(k, type(v) is _COLUMN_ATTRS.get(k)) for k, v in run.attributes.items()])
        return self._layouts.id(
            (tuple(run.outcomes), attrs, context, self._share(run.interventions))
        )

    def seal(self) -> None:
        """Move the runs waiting into a new chunk of columns."""
        runs = self._pending
        if not runs:
            return
        strings = self._strings
        m = len(runs)
        chunk = _Chunk()
        rows = np.zeros(m, _RUN)
        records = [r.records if r.has_trace else None for r in runs]
        counts = np.array([-1 if r is None else len(r) for r in records], dtype=np.int32)
        recs = list(chain.from_iterable(r for r in records if r is not None))
        spans = np.zeros(len(recs), _SPAN)
        cols = [list(map(field, recs)) for field in _SPAN_FIELDS]
        for k, name in enumerate(("address", "kind", "name", "parent", "agent")):
            spans[name] = strings.ids(cols[k])
        for k, name in ((5, "start"), (6, "end"), (10, "cost"), (11, "queued")):
            spans[name] = np.array(cols[k], dtype=np.float64)
        spans["ok"] = np.array(cols[7], dtype=bool)
        spans["error"] = strings.ids(cols[8])
        spans["status"] = strings.ids(cols[9])
        spans["noise"] = self._noise_keys.ids(map(tuple, cols[12]))
        n_noise = np.fromiter(map(len, cols[12]), dtype=np.int64, count=len(recs))
        n_inputs = np.fromiter(map(len, cols[13]), dtype=np.int64, count=len(recs))
        spans["inputs"] = n_inputs
        chunk.noise = np.array(
            list(chain.from_iterable(map(dict.values, cols[12]))), dtype=np.float64
        )
        chunk.inputs = strings.ids(chain.from_iterable(cols[13]))
        chunk.values = {
            i: (v, a)
            for i, (v, a) in enumerate(zip(cols[14], cols[15], strict=True))
            if v is not None or a is not None
        }
        span0 = np.concatenate(([0], np.cumsum(np.maximum(counts, 0))))[:-1]
        rows["span0"] = span0
        rows["spans"] = counts
        rows["noise0"] = np.concatenate(([0], np.cumsum(n_noise)))[span0]
        rows["input0"] = np.concatenate(([0], np.cumsum(n_inputs)))[span0]
        names: dict[str, None] = {}
        results = [r.result for r in runs]
        per_run: dict[str, list[Any]] = {
            "seed": [],
            "steps": [0] * m,
            "arrival": [0.0] * m,
            "layout": [self._layout(r) for r in runs],
            "index": [r.context.index for r in runs],
            "ok": [x.ok for x in results],
            "latency": [x.latency for x in results],
            "cost": [x.cost for x in results],
        }
        for layout in dict.fromkeys(per_run["layout"]):
            names.update(dict.fromkeys(self._layouts.items[layout][0]))
        for j, run in enumerate(runs):
            extra: dict[str, Any] = {}
            seed = run.seed
            if seed < 2**63:
                per_run["seed"].append(seed)
            else:
                per_run["seed"].append(0)
                extra["seed"] = seed
            if results[j].value is not None:
                extra["value"] = results[j].value
            for key, v in run.attributes.items():
                if type(v) is _COLUMN_ATTRS.get(key):
                    per_run[key][j] = v
                else:
                    extra.setdefault("attributes", {})[key] = v
            if extra:
                chunk.extra[j] = extra
        for key, values in per_run.items():
            rows[key] = values
        rows["error"] = strings.ids(x.error for x in results)
        rows["address"] = strings.ids(x.address for x in results)
        nan = float("nan")
        chunk.outcomes = {
            name: np.array([r.outcomes.get(name, nan) for r in runs], dtype=np.float64)
            for name in names
        }
        chunk.runs, chunk.spans = rows, spans
        # only now, with the chunk whole: a run that cannot be sealed stays pending, its
        # error raised, rather than lost (strings and layouts it added are merely unused)
        self._pending = []
        self._starts.append(self._size)
        self._chunks.append(chunk)
        self._size += m

    def add_rows(
        self,
        scenario: Scenario,
        seeds: list[int],
        rows: Rows,
        interventions: tuple[Intervention, ...],
        inputs: tuple[tuple[str, Any], ...],
    ) -> None:
        """Append runs an executor sent back as rows (one per seed, in order), without span
        records: a run's records are re-simulated when first read."""
        self.seal()
        m = len(rows)
        if m != len(seeds):
            raise ValueError(f"{m} rows for {len(seeds)} seeds")
        if not m:
            return
        strings = self._strings
        names = ("success", "latency", "cost", *rows.outcomes)
        base_attrs = (("steps", True), ("arrival", True))
        context = (True, self._share(inputs), (), ())
        ivs = self._share(interventions)
        layouts: dict[tuple[str, ...], int] = {}

        def layout(extra_keys: tuple[str, ...]) -> int:
            got = layouts.get(extra_keys)
            if got is None:
                attrs = base_attrs + tuple((k, False) for k in extra_keys)
                got = layouts[extra_keys] = self._layouts.id((names, attrs, context, ivs))
            return got

        chunk = _Chunk()
        runs = np.zeros(m, _RUN)
        runs["layout"] = layout(())
        notes = rows.notes
        for j in range(m):
            stopped, value = rows.stopped[j], rows.value[j]
            note = notes[j] if notes is not None else None
            if stopped is None and value is None and note is None:
                continue
            extra: dict[str, Any] = {}
            if value is not None:
                extra["value"] = value
            attributes: dict[str, Any] = {}
            if stopped:
                attributes["stopped"] = stopped
            if note:
                attributes.update((k, note[k]) for k in NOTED if k in note)
            if attributes:
                extra["attributes"] = attributes
                runs["layout"][j] = layout(tuple(attributes))
            chunk.extra[j] = extra
        if all(s < 2**63 for s in seeds):
            runs["seed"] = seeds
        else:
            for j, s in enumerate(seeds):
                if s < 2**63:
                    runs["seed"][j] = s
                else:
                    chunk.extra.setdefault(j, {})["seed"] = s
        runs["spans"] = REPLAY
        runs["ok"] = rows.ok
        runs["latency"] = rows.latency
        runs["cost"] = rows.cost
        runs["steps"] = rows.steps
        runs["error"] = strings.ids(rows.error)
        runs["address"] = strings.id(f"{scenario.entry.name}#0")
        chunk.runs = runs
        chunk.outcomes = {
            "success": rows.ok.astype(np.float64),
            "latency": np.asarray(rows.latency, dtype=np.float64),
            "cost": np.asarray(rows.cost, dtype=np.float64),
            **{k: np.asarray(v, dtype=np.float64) for k, v in rows.outcomes.items()},
        }
        self._starts.append(self._size)
        self._chunks.append(chunk)
        self._size += m

    # -- reading ------------------------------------------------------------------------
    def _locate(self, i: int) -> tuple[_Chunk, int]:
        c = bisect.bisect_right(self._starts, i) - 1
        return self._chunks[c], i - self._starts[c]

    def run(self, i: int, scenario: Scenario) -> Run:
        """Run ``i``, rebuilt from the columns (the same object while a caller holds it)."""
        asked = i
        if i < 0:
            i += len(self)
        if not 0 <= i < len(self):
            raise IndexError(f"run index {asked} out of range for a batch of {len(self)} runs")
        if i >= self._size:
            return self._pending[i - self._size]
        held = self._alive.get(i)
        if held is not None:
            return held
        chunk, j = self._locate(i)
        row = chunk.runs[j]
        get = self._strings.get
        extra = chunk.extra.get(j, {})
        names, attr_layout, context, shared_ivs = self._layouts.get(int(row["layout"]))
        seed = extra.get("seed", int(row["seed"]))
        result = Result(
            bool(row["ok"]),
            extra.get("value"),
            float(row["latency"]),
            float(row["cost"]),
            get(int(row["error"])),
            get(int(row["address"])),
        )
        outcomes = {name: float(chunk.outcomes[name][j]) for name in names}
        other = extra.get("attributes", {})
        attributes = {
            k: _COLUMN_ATTRS[k](row[k]) if in_column else other[k] for k, in_column in attr_layout
        }
        run = Run(
            scenario=scenario,
            seed=seed,
            result=result,
            outcomes=outcomes,
            records=None,
            context=self._context(context, seed, int(row["index"])),
            interventions=self._shared[shared_ivs],
            attributes=attributes,
        )
        if row["spans"] >= 0:
            # the tables of now: a cleared table starts new ones, and this run keeps its own
            run._load = partial(_records, chunk, j, self._strings.items, self._noise_keys.items)
        elif row["spans"] == REPLAY:
            run._load = partial(
                replay_records, scenario, seed, run.context.inputs, run.interventions, result
            )
        self._alive[i] = run
        return run

    def _context(self, context: tuple[Any, ...], seed: int, index: int) -> RunContext:
        shared = self._shared
        if context[0]:
            _, inputs, arrival_times, worlds = context
            return RunContext(
                seeds=(seed,),
                arrival_times=arrival_times,
                index=index,
                inputs=shared[inputs],
                worlds=worlds,
            )
        _, inputs, seeds, arrival_times, worlds = context
        return RunContext(
            seeds=shared[seeds],
            arrival_times=shared[arrival_times],
            index=index,
            inputs=shared[inputs],
            worlds=shared[worlds],
        )

    def values(self, name: str) -> NDArray[np.float64] | None:
        """Outcome ``name`` of every run, or ``None`` when some run lacks it."""
        self.seal()
        parts = []
        for chunk in self._chunks:
            col = chunk.outcomes.get(name)
            if col is None:
                return None
            parts.append(col)
        return np.concatenate(parts) if parts else np.empty(0)

    def seeds(self) -> list[int]:
        """Seeds of the runs, in order."""
        self.seal()
        out: list[int] = []
        for chunk in self._chunks:
            seeds = chunk.runs["seed"].tolist()
            for j, extra in chunk.extra.items():
                if "seed" in extra:
                    seeds[j] = extra["seed"]
            out.extend(seeds)
        return out

    def noted(self, key: str) -> list[int]:
        """Indices of the runs whose attributes hold ``key``, in order (read off the runs'
        layouts, which name every attribute a run has, in a column or not)."""
        self.seal()
        having = [i for i, layout in enumerate(self._layouts.items) if key in dict(layout[1])]
        if not having:
            return []
        wanted = np.asarray(having, dtype=np.int32)
        found: list[int] = []
        for start, chunk in zip(self._starts, self._chunks, strict=True):
            hits = np.flatnonzero(np.isin(chunk.runs["layout"], wanted))
            found.extend((hits + start).tolist())
        return found

    def errors(self) -> list[str | None]:
        """The entry agent's error of every run, in order."""
        self.seal()
        get = self._strings.get
        return [get(i) for chunk in self._chunks for i in chunk.runs["error"].tolist()]

    def outcome_names(self) -> list[str] | None:
        """The outcome names every run has, in order, or ``None`` when runs differ."""
        self.seal()
        layouts = {x for c in self._chunks for x in set(c.runs["layout"].tolist())}
        found = {self._layouts.get(x)[0] for x in layouts}
        return list(found.pop()) if len(found) == 1 else None

    def nbytes(self) -> int:
        """Bytes held by the columns (arrays, not the small tables and sparse maps)."""
        self.seal()
        return sum(c.nbytes() for c in self._chunks)


def _records(chunk: _Chunk, j: int, get: list[Any], keys: list[Any]) -> list[Any]:
    """The span records of run ``j`` of ``chunk``, as the engine made them (``get``: the
    string table, ``keys``: the noise-slot table the chunk was sealed with)."""
    row = chunk.runs[j]
    a, n = int(row["span0"]), int(row["spans"])
    pos, inp = int(row["noise0"]), int(row["input0"])
    noise, inputs, values = chunk.noise, chunk.inputs, chunk.values
    out = []
    for k, fields in enumerate(chunk.spans[a : a + n].tolist()):
        (address, kind, name, parent, agent, start, end, ok, error, status) = fields[:10]
        cost, queued, slots, n_in = fields[10:]
        rec = Rec(
            get[address],
            get[kind],
            get[name],
            None if parent < 0 else get[parent],
            None if agent < 0 else get[agent],  # type: ignore[arg-type]
            start,
            [get[x] for x in inputs[inp : inp + n_in].tolist()],
        )
        inp += n_in
        names = keys[slots]
        rec.noise = dict(zip(names, noise[pos : pos + len(names)].tolist(), strict=True))
        pos += len(names)
        rec.end, rec.ok, rec.cost, rec.queued = end, ok, cost, queued
        rec.error = None if error < 0 else get[error]
        rec.status = get[status]
        hit = values.get(a + k)
        if hit is not None:
            rec.value, rec.attrs = hit
        out.append(rec)
    return out
