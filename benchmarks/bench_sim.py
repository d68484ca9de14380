"""Simulation overhead: agentsim versus a minimal raw-SimPy loop doing the same draws.

Workload: a 10-step sequential agent; each step succeeds with p_ok 0.9 and takes an
exponential latency of mean 1 s; 10,000 runs. The raw loop draws the same two uniforms per
step (the addressed noise field, so its runs are agentsim's runs), computes the same ok flag
and latency, and advances a SimPy clock; it records nothing. A second raw loop drawing from a
numpy Generator instead is printed for reference. agentsim runs once keeping span
records (so every run's trace can be built), once with ``keep_traces=False``, and once
building every pydantic Trace.

The same chain written as a declarative workflow runs on the vectorised executor
(:mod:`agentsim.vector`): its core (outcome arrays for ``V`` runs, default 10 x N) and the
whole ``simulate(engine="vector")`` (Run objects included) are timed against the same raw
loop, and every one of the N runs is checked against the discrete-event engine (success and
cost exactly, latency to 1e-12 relative: numpy's ``log1p`` may differ from libm's in the last
bit). The script exits non-zero if any run differs. The machine's load average is printed:
on a shared machine every figure is slower, the ratios much less so.

Run: ``.venv/bin/python benchmarks/bench_sim.py [N] [V]``. Prints runs/s and ratios.
"""

from __future__ import annotations

import math
import os
import sys
import time

import numpy as np
import simpy

import agentsim as asim
from agentsim import dist, vector
from agentsim import workflow as wf
from agentsim.noise import child_seed, child_seeds, uniform

N = int(sys.argv[1]) if len(sys.argv) > 1 else 10_000
V = int(sys.argv[2]) if len(sys.argv) > 2 else 10 * N
STEPS = 10


def raw_loop_field(n: int) -> float:
    """The same workload drawing the same uniforms: agentsim's addressed noise field."""
    successes = 0
    addresses = [f"main#0/step#{k}" for k in range(STEPS)]
    for i in range(n):
        seed = child_seed(0, i)
        env = simpy.Environment()
        out = {}

        def agent(env: simpy.Environment, out: dict[str, bool] = out, seed: int = seed):  # type: ignore[no-untyped-def]
            ok = True
            for address in addresses:
                u_ok = uniform(seed, address, "ok")
                u_lat = uniform(seed, address, "latency")
                ok = ok and u_ok < 0.9
                yield env.timeout(-1.0 * math.log1p(-u_lat))
            out["ok"] = ok

        env.process(agent(env))
        env.run()
        successes += out["ok"]
    return successes / n


def raw_loop(n: int) -> float:
    """The same workload drawing from a numpy Generator (no addressed noise)."""
    rng = np.random.default_rng(0)
    successes = 0
    for _ in range(n):
        env = simpy.Environment()
        out = {}

        def agent(env: simpy.Environment, out: dict[str, bool] = out):  # type: ignore[no-untyped-def]
            ok = True
            for _ in range(STEPS):
                u_ok = rng.random()
                u_lat = rng.random()
                ok = ok and u_ok < 0.9
                yield env.timeout(-1.0 * math.log1p(-u_lat))
            out["ok"] = ok

        env.process(agent(env))
        env.run()
        successes += out["ok"]
    return successes / n


def scenario() -> asim.Scenario:
    sc = asim.Scenario("chain10")
    step = sc.tool("step", p_ok=0.9, p_recover=0.0, latency=dist.Exponential(mean=1.0))

    @sc.agent
    def main(ctx):  # type: ignore[no-untyped-def]
        prev = None
        for _ in range(STEPS):
            prev = yield (ctx.call(step, prev) if prev is not None else ctx.call(step))
        return prev

    return sc


def workflow_scenario() -> asim.Scenario:
    """The same chain as a declarative flow (same addresses, inputs and noise)."""
    step = dict(p_ok=0.9, p_recover=0.0, latency=dist.Exponential(mean=1.0))
    return wf.scenario(wf.seq(*[wf.call("step")] * STEPS), {"step": step}, name="chain10")


def check_equal(des: asim.Batch, vec: asim.Batch) -> int:
    """Runs whose outcomes differ (success and cost exactly, latency to 1e-12 relative)."""
    bad = 0
    for d, v in zip(des, vec, strict=True):
        same = (
            d.seed == v.seed
            and d.outcomes["success"] == v.outcomes["success"]
            and d.outcomes["cost"] == v.outcomes["cost"]
            and math.isclose(d.outcomes["latency"], v.outcomes["latency"], rel_tol=1e-12)
            and d.result.error == v.result.error
        )
        bad += not same
    return bad


def timed(fn):  # type: ignore[no-untyped-def]
    t0 = time.perf_counter()
    value = fn()
    return time.perf_counter() - t0, value


def main() -> None:
    load0 = os.getloadavg()[0]
    sc = scenario()
    flow_sc = workflow_scenario()
    sc.simulate(500, seed=99, progress=False)  # warm the address-hash caches of both paths
    raw_loop_field(500)
    seeds = child_seeds(0, V)
    vector.evaluate(flow_sc, seeds[:1000])
    best: dict[str, float] = {}
    result: dict[str, object] = {}
    jobs = {
        "numpy": lambda: raw_loop(N),
        "raw": lambda: raw_loop_field(N),
        "keep": lambda: sc.simulate(N, seed=0, progress=False),
        "lean": lambda: sc.simulate(N, seed=0, keep_traces=False, progress=False),
        "vcore": lambda: vector.evaluate(flow_sc, seeds),
        "vsim": lambda: flow_sc.simulate(N, seed=0, engine="vector", progress=False),
    }
    for _ in range(3):  # interleaved, best of three: the machine's noise hits all alike
        for name, job in jobs.items():
            t, value = timed(job)
            best[name] = min(best.get(name, float("inf")), t)
            result[name] = value
    des = flow_sc.simulate(N, seed=0, engine="des", keep_traces=False, progress=False)
    vec = result["vsim"]
    bad = check_equal(des, vec)  # type: ignore[arg-type]
    delegated = int(result["vcore"].delegate.sum())  # type: ignore[attr-defined]
    b1 = result["keep"]
    t_pyd, _ = timed(lambda: [r.trace for r in b1])  # type: ignore[attr-defined]
    t_raw = best["raw"]
    print(
        f"workload: {STEPS}-step chain, p_ok 0.9, Exponential(mean=1) latency, {N} runs (best of 3)"
    )
    print(
        f"raw SimPy loop, numpy rng  {N / best['numpy']:8.0f} runs/s   "
        f"success {result['numpy']:.3f}"
    )
    print(
        f"raw SimPy loop, same draws {N / t_raw:8.0f} runs/s   "
        f"success {result['raw']:.3f}  (baseline)"
    )
    print(
        f"agentsim, span records     {N / best['keep']:8.0f} runs/s   success "
        f"{b1.rate().value:.3f}   ratio {best['keep'] / t_raw:.2f}x"
    )  # type: ignore[attr-defined]
    print(
        f"agentsim, keep_traces=False {N / best['lean']:7.0f} runs/s   "
        f"ratio {best['lean'] / t_raw:.2f}x"
    )
    print(
        f"building pydantic Traces   {N / t_pyd:8.0f} traces/s (on demand; building all "
        f"adds {t_pyd / t_raw:.2f}x of the raw loop's time)"
    )
    raw_rate = N / t_raw
    core_rate = V / best["vcore"]
    sim_rate = N / best["vsim"]
    print(
        f"vectorised executor, core  {core_rate:8.0f} runs/s   ({V} runs, outcome arrays)   "
        f"speed-up {core_rate / raw_rate:.1f}x the raw loop (target >= 50x)"
    )
    print(
        f"simulate(engine='vector')  {sim_rate:8.0f} runs/s   (Run objects included)   "
        f"speed-up {sim_rate / raw_rate:.1f}x the raw loop, "
        f"{sim_rate / (N / best['lean']):.1f}x agentsim's lean DES batch"
    )
    print(
        f"checked against the DES: {N - bad}/{N} runs equal (success, cost exact; latency "
        f"1e-12 rel.), {delegated} of {V} runs delegated to the DES by the core"
    )
    load1 = os.getloadavg()[0]
    print(f"machine: {os.cpu_count()} cores, load average {load0:.1f} before, {load1:.1f} after")
    if bad:
        sys.exit(f"{bad} runs differ between the vectorised executor and the DES")


if __name__ == "__main__":
    main()
