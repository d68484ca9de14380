"""Benchmark: calibrate a twin from a 100k-span stripped OTLP JSON Lines corpus.

The corpus is the done-when scenario of the calibration tests (a retried search, then a
fetch-else-cache fallback), simulated until it has at least ``n_spans`` spans, exported as OTLP
and stripped of every ``agentsim.*`` attribute. Calibration streams it
(``agentsim.calibrate.calibrate_files``: JSON Lines read one export at a time, compact call
records kept, the 20% hold-out summarised as it passes), so peak traced memory should stay
well under 10x the file size. For comparison, the same corpus is also loaded whole with
``load_traces`` (what a notebook user might do first).

Run with ``python benchmarks/bench_calibrate.py [n_spans]``.
"""

from __future__ import annotations

import json
import sys
import tempfile
import time
import tracemalloc
from pathlib import Path

import agentsim as asim
from agentsim import dist
from agentsim import workflow as wf
from agentsim.calibrate import calibrate_files, strip_otlp

FLOW = wf.seq(wf.retry(wf.call("search"), n=2), wf.fallback(wf.call("fetch"), wf.call("cache")))
TOOLS = {
    "search": dict(p_ok=0.7, latency=dist.LogNormal(median=0.8, sigma=0.4)),
    "fetch": dict(p_ok=0.8, latency=dist.Exponential(mean=1.5), timeout=4.0, cost=0.01),
    "cache": dict(p_ok=0.9, latency=dist.Normal(mean=0.3, sd=0.05)),
}


def write_corpus(path: Path, n_spans: int) -> tuple[int, int]:
    sc = wf.scenario(FLOW, TOOLS)
    spans = runs = 0
    seed = 0
    with path.open("w") as f:
        while spans < n_spans:
            for run in sc.simulate(n=1000, seed=seed):
                f.write(json.dumps(strip_otlp(asim.to_otlp(run.trace))) + "\n")
                spans += len(run.trace.spans)
                runs += 1
            seed += 1
    return spans, runs


def measure(label: str, fn: object) -> float:
    tracemalloc.start()
    t0 = time.perf_counter()
    result = fn()  # type: ignore[operator]
    elapsed = time.perf_counter() - t0
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    print(f"{label:<44} {elapsed:8.1f} s   peak {peak / 1e6:8.1f} MB")
    del result
    return peak


def main() -> None:
    n_spans = int(sys.argv[1]) if len(sys.argv) > 1 else 100_000
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "corpus.jsonl"
        t0 = time.perf_counter()
        spans, runs = write_corpus(path, n_spans)
        size = path.stat().st_size
        print(
            f"corpus: {spans} spans in {runs} runs, {size / 1e6:.1f} MB of stripped OTLP JSON "
            f"Lines (written in {time.perf_counter() - t0:.1f} s)"
        )
        streamed = measure(
            "calibrate_files (streamed, 20% hold-out)",
            lambda: calibrate_files([path], holdout=0.2, runs=2000),
        )
        whole = measure("load_traces (whole corpus in memory)", lambda: asim.load_traces(path))
        print(
            f"peak / file size: streamed calibration {streamed / size:.2f}x, "
            f"load_traces {whole / size:.2f}x"
        )


if __name__ == "__main__":
    main()
