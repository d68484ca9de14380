"""A columnar batch's spans as Arrow record batches (what ``Batch.to_arrow(spans=True)`` and
``Batch.to_parquet(spans=True)`` write).

Layer: engine. It imports only from its own layer and the ones below it.

The span columns of a :class:`~agentsim.columns.RunTable` chunk become one record batch
without a Python object per span: strings stay ids, dictionary-encoded against the table's
own string table. Runs that arrived as rows (from worker processes, Dask or the vectorised
executor) have no span columns; they are re-simulated :data:`~agentsim.columns.CHUNK` runs at
a time into a scratch table, so an export of a million such runs never holds more than one
chunk's records.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import TYPE_CHECKING, Any

import numpy as np
from numpy.typing import NDArray

from agentsim._optional import require
from agentsim.columns import CHUNK, REPLAY, RunTable, _Chunk, _Interned
from agentsim.errors import AgentSimError

if TYPE_CHECKING:
    from agentsim.scenario import Scenario

__all__ = ["span_batches"]


def span_batches(table: RunTable, scenario: Scenario, first: int = 0) -> Iterator[Any]:
    """Every span of every run of ``table`` as Arrow record batches, in run order.

    Columns: ``run`` (index in the batch, counted from ``first``), ``seed`` (``uint64``: seeds
    are integers in [0, 2**64)), then the span's
    fields as in its trace (times from the run's arrival); strings are dictionary-encoded;
    ``inputs`` is a list of addresses and ``noise`` a map from slot to uniform. Values and
    span attributes stay in the traces. A run simulated with ``keep_traces=False`` on the
    engine has no spans to give: an :class:`AgentSimError` says so.
    """
    pa = require("pyarrow", "exporting a batch's spans to Arrow")
    table.seal()
    yield from _span_batches(pa, table, scenario, first)


def _span_batches(pa: Any, table: RunTable, scenario: Scenario, first: int) -> Iterator[Any]:
    dictionary = pa.array(table._strings.items, pa.string())
    slots = _Interned()
    layouts = [slots.ids(keys) for keys in table._noise_keys.items]
    slot_names = np.asarray(slots.items, dtype=object)

    def text(ids: NDArray[np.int32]) -> Any:
        indices = pa.array(ids, type=pa.int32(), mask=ids < 0)
        return pa.DictionaryArray.from_arrays(indices, dictionary)

    for start, chunk in zip(table._starts, table._chunks, strict=True):
        counts = chunk.runs["spans"]
        if (counts == -1).any():
            j = int(np.flatnonzero(counts == -1)[0])
            raise AgentSimError(
                f"run {first + start + j} of the batch kept no span records (it was simulated "
                "with keep_traces=False); simulate with keep_traces=True to export spans"
            )
        if (counts == REPLAY).any():
            yield from _replayed(pa, table, scenario, start, len(chunk.runs), first)
            continue
        columns = _columns(pa, chunk, first + start, text, layouts, slot_names)
        # arrays and names, not a dict: pyarrow before 15 takes no dict here
        yield pa.RecordBatch.from_arrays(list(columns.values()), names=list(columns))


def _replayed(
    pa: Any, table: RunTable, scenario: Scenario, start: int, size: int, first: int
) -> Iterator[Any]:
    """The spans of runs ``start .. start + size`` of ``table``, re-simulated a chunk at a
    time (each run's replay is checked against its row)."""
    for lo in range(start, start + size, CHUNK):
        scratch = RunTable()
        for i in range(lo, min(lo + CHUNK, start + size)):
            run = table.run(i, scenario)
            run.records  # noqa: B018 - re-simulated here, so the scratch table keeps them
            scratch.append(run)
        scratch.seal()
        yield from _span_batches(pa, scratch, scenario, first + lo)


def _columns(
    pa: Any,
    chunk: _Chunk,
    start: int,
    text: Any,
    layouts: list[NDArray[np.int32]],
    slot_names: NDArray[Any],
) -> dict[str, Any]:
    rows, spans = chunk.runs, chunk.spans
    counts = rows["spans"]
    arrival = np.repeat(rows["arrival"], counts)
    seeds = rows["seed"].tolist()
    for j, extra in chunk.extra.items():
        if "seed" in extra:
            seeds[j] = extra["seed"]
    seed_column = pa.array(np.repeat(np.asarray(seeds, dtype=np.uint64), counts))
    in_offsets = np.concatenate(([0], np.cumsum(spans["inputs"]))).astype(np.int32)
    keys = [layouts[x] for x in spans["noise"].tolist()]
    key_ids = np.concatenate(keys) if keys else np.empty(0, np.int32)
    noise_offsets = np.concatenate(([0], np.cumsum([len(k) for k in keys]))).astype(np.int32)
    return {
        "run": pa.array(np.repeat(np.arange(start, start + len(rows)), counts)),
        "seed": seed_column,
        **{f: text(spans[f]) for f in ("address", "kind", "name", "parent", "agent")},
        "start": pa.array(spans["start"] - arrival),
        "end": pa.array(spans["end"] - arrival),
        "ok": pa.array(spans["ok"]),
        "error": text(spans["error"]),
        "status": text(spans["status"]),
        "cost": pa.array(spans["cost"]),
        "queued": pa.array(spans["queued"]),
        "inputs": pa.ListArray.from_arrays(pa.array(in_offsets), text(chunk.inputs)),
        "noise": pa.MapArray.from_arrays(
            pa.array(noise_offsets),
            pa.array(slot_names[key_ids], pa.string()),
            pa.array(chunk.noise),
        ),
    }
