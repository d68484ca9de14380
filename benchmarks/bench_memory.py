"""Memory of kept traces: a columnar batch versus the same runs held as objects.

Workload (issue 16): the 10-step chain of ``bench_sim.py``, imported from there (an entry
agent and 10 calls, each fed the previous result: 11 spans per run),
``simulate(100_000, keep_traces=True)``.
Printed side by side in one process, per run: the bytes the batch holds once simulated
(traced allocations still alive, so numpy arrays, string tables and sparse maps all count),
the peak while simulating, the bytes the columns' arrays alone take, and the same runs held
as objects (``Run`` with its span records, as batches kept them before), measured on 10,000
runs. The target is at most 1.5 KB per run. Also printed: the time to simulate with and
without kept traces, and the time to rebuild one run's trace from the columns.

Run: ``python benchmarks/bench_memory.py`` (about two minutes on two idle cores).
"""

from __future__ import annotations

import gc
import os
import time
import tracemalloc

from bench_sim import scenario  # the 10-step chain (this script's folder is on the path)

import agentsim as asim
from agentsim.noise import child_seed


def held(make: object) -> tuple[object, int, int]:
    """What ``make()`` returns, the bytes still allocated for it, and the peak."""
    gc.collect()
    tracemalloc.start()
    base = tracemalloc.get_traced_memory()[0]
    out = make()  # type: ignore[operator]
    gc.collect()
    now, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    return out, now - base, peak - base


def main() -> None:
    print(f"load average before: {os.getloadavg()[0]:.2f} (2 cores)")
    sc = scenario()
    n = 100_000
    batch, kept, peak = held(lambda: sc.simulate(n, seed=0, progress=False))
    assert isinstance(batch, asim.Batch)
    spans = len(batch[0].records)
    table = batch._store  # type: ignore[attr-defined]
    print(
        f"columnar batch, {n:,} kept runs of {spans} spans: {kept / n:,.0f} bytes per run held "
        f"({kept / 2**20:.0f} MiB), peak {peak / n:,.0f} bytes per run while simulating; "
        f"arrays alone {table.nbytes() / n:,.0f} bytes per run (target <= 1,500)"
    )
    m = 10_000
    objects, as_objects, _ = held(lambda: [sc.run(seed=child_seed(0, i)) for i in range(m)])
    print(
        f"the same runs held as objects (Run + span records), {m:,} runs: "
        f"{as_objects / m:,.0f} bytes per run; columns take {(kept / n) / (as_objects / m):.2f}x "
        "of that"
    )
    del objects
    t0 = time.perf_counter()
    sc.simulate(20_000, seed=1, progress=False)
    t_kept = time.perf_counter() - t0
    t0 = time.perf_counter()
    sc.simulate(20_000, seed=1, keep_traces=False, progress=False)
    t_lean = time.perf_counter() - t0
    print(
        f"simulate 20,000 runs: kept traces {20_000 / t_kept:,.0f} runs/s, "
        f"keep_traces=False {20_000 / t_lean:,.0f} runs/s"
    )
    t0 = time.perf_counter()
    for i in range(0, 20_000, 20):
        batch[i].trace  # noqa: B018
    per = (time.perf_counter() - t0) / 1000
    print(f"rebuilding one run's trace from the columns: {per * 1e6:.0f} µs")
    print(f"load average after: {os.getloadavg()[0]:.2f}")


if __name__ == "__main__":
    main()
