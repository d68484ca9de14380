"""Cost of one counterfactual replay versus its factual simulation.

Workload: a 50-call run (a sequential agent calling a tool with p_ok 0.97 and exponential
latency 50 times, each call fed the previous result). For 400 seeds, one loop simulates the
factual runs and another computes one counterfactual of each (repair of the 25th call) with
``asim.counterfactual``, which re-simulates the run with its noise held fixed, checks the
intervention's target against the factual run, and records which addresses are unaligned.
Both loops run side by side in this process, three times, discarding results as they go
(keeping them would time the memory allocator rather than agentsim); the best of three of
each is compared. The ratio is what the target (<= 1.5x) is about.

Run: ``.venv/bin/python benchmarks/bench_counterfactual.py``.
"""

from __future__ import annotations

import time

import agentsim as asim
from agentsim import dist

CALLS = 50
SEEDS = range(400)


def scenario() -> asim.Scenario:
    sc = asim.Scenario("chain50")
    step = sc.tool("step", p_ok=0.97, latency=dist.Exponential(mean=1.0))

    @sc.agent
    def main(ctx):  # type: ignore[no-untyped-def]
        prev = yield ctx.call(step)
        for _ in range(CALLS - 1):
            prev = yield ctx.call(step, prev)
        return prev

    return sc


def main() -> None:
    sc = scenario()
    iv = asim.repair("main#0/step#24")
    factual_runs = [sc.run(seed=s) for s in SEEDS]  # the inputs of the counterfactuals
    best_fact = best_cf = float("inf")
    for _ in range(3):  # steady state: each loop discards its results as it goes; best of 3
        t0 = time.perf_counter()
        for s in SEEDS:
            sc.run(seed=s)
        t1 = time.perf_counter()
        for run in factual_runs:
            asim.counterfactual(run, iv)
        t2 = time.perf_counter()
        best_fact, best_cf = min(best_fact, t1 - t0), min(best_cf, t2 - t1)
    n = len(SEEDS)
    print(f"workload: {CALLS}-call run, {n} seeds, one repair each (best of 3 loops)")
    print(f"factual simulation      {best_fact / n * 1e6:8.0f} us per run")
    print(
        f"counterfactual replay   {best_cf / n * 1e6:8.0f} us per run   "
        f"ratio {best_cf / best_fact:.2f}x"
    )


if __name__ == "__main__":
    main()
