"""Workers that scale: ``simulate(n, workers=2)`` against ``workers=1`` on the engine.

Workload: the 10-step chain of ``bench_sim.py`` (a hand-written agent, so it runs on the
discrete-event engine), ``N`` runs (default 100,000), with ``keep_traces=False`` and with the
default ``keep_traces=True``. The two worker counts are run interleaved, best of ``R``
rounds (default 3), and the batches are checked identical run by run (outcomes, results and
step counts; workers send compact rows and the parent rebuilds a trace on demand, so one
trace per batch is compared too). The machine's load average is printed before and after:
on a shared 2-core machine a second worker can only help as much as a core is free. So the
script also accounts CPU time (``getrusage``): the serial batch's CPU seconds against the
parallel batch's critical path (the parent's CPU plus the busier half of the workers' CPU),
which is the speed-up an otherwise idle machine would show.

Run: ``.venv/bin/python benchmarks/bench_workers.py [N] [R]``.
"""

from __future__ import annotations

import os
import resource
import sys
import time

import numpy as np
from bench_sim import STEPS, scenario  # the 10-step chain (this script's folder is on the path)

import agentsim as asim

N = int(sys.argv[1]) if len(sys.argv) > 1 else 100_000
R = int(sys.argv[2]) if len(sys.argv) > 2 else 3


def same(a: asim.Batch, b: asim.Batch) -> bool:
    if len(a) != len(b):
        return False
    for name in ("success", "latency", "cost"):
        if not np.array_equal(a.values(name), b.values(name)):
            return False
    return all(
        x.seed == y.seed and x.result == y.result and x.attributes == y.attributes
        for x, y in zip(a, b, strict=True)
    ) and (not a[N // 2].has_trace or a[N // 2].trace == b[N // 2].trace)


def main() -> None:
    sc = scenario()
    sc.simulate(200, progress=False)
    load0 = os.getloadavg()
    print(f"workload: {STEPS}-step chain on the engine, {N} runs, best of {R} interleaved rounds")
    for keep in (False, True):
        best: dict[int, float] = {}
        cpu: dict[int, float] = {}
        batches: dict[int, asim.Batch] = {}
        for _ in range(R):
            for workers in (1, 2):
                batches.pop(workers, None)
                me0 = resource.getrusage(resource.RUSAGE_SELF)
                kids0 = resource.getrusage(resource.RUSAGE_CHILDREN)
                t0 = time.perf_counter()
                batches[workers] = sc.simulate(
                    N, seed=0, workers=workers, keep_traces=keep, progress=False
                )
                wall = time.perf_counter() - t0
                me1 = resource.getrusage(resource.RUSAGE_SELF)
                kids1 = resource.getrusage(resource.RUSAGE_CHILDREN)
                parent = (me1.ru_utime + me1.ru_stime) - (me0.ru_utime + me0.ru_stime)
                kids = (kids1.ru_utime + kids1.ru_stime) - (kids0.ru_utime + kids0.ru_stime)
                path = parent + kids / workers
                best[workers] = min(best.get(workers, float("inf")), wall)
                cpu[workers] = min(cpu.get(workers, float("inf")), path)
        ok = same(batches[1], batches[2])
        print(
            f"keep_traces={keep!s:5}  wall clock: workers=1 {N / best[1]:7.0f} runs/s, "
            f"workers=2 {N / best[2]:7.0f} runs/s, speed-up {best[1] / best[2]:.2f}x   "
            f"CPU critical path: {cpu[1]:.1f} s vs {cpu[2]:.1f} s, speed-up "
            f"{cpu[1] / cpu[2]:.2f}x (target >= 1.6x)   identical: {ok}"
        )
        if not ok:
            sys.exit("workers=2 gave a different batch than workers=1")
    load1 = os.getloadavg()
    print(
        f"machine: {os.cpu_count()} cores; load average (1, 5, 15 min) before "
        f"{load0[0]:.1f} {load0[1]:.1f} {load0[2]:.1f}, after {load1[0]:.1f} {load1[1]:.1f} "
        f"{load1[2]:.1f}"
    )


if __name__ == "__main__":
    main()
