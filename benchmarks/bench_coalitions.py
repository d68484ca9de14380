"""Coalitions at replay cost: exact Shapley of a failed run versus lean factual runs.

Workload (issue 16): an agent makes ``n`` parallel calls to one tool (p_ok 0.2, exponential
latency) and succeeds only if all succeed. A failed run with ``n = 20`` calls of which
``k = 16`` failed is explained exactly (repair game, Shapley by subset enumeration). Only the
16 failed calls can matter, so the walk visits their ``2^16 = 65,536`` coalitions (the 4
calls that succeeded are proved null by the walk itself) and replays each world without span
records. The yardstick is the time of 65,536 lean factual runs of the same scenario
(``simulate(65_536, keep_traces=False)``), measured in the same process right before and
after, and the target is a ratio of at most 2. Before this change the same attribution took
153-163 s (issue 16: 65,535 replays at 555 µs, 1,048,576 coalitions walked).

Also printed: one coalition's cost against a full counterfactual replay (records, a Run) and
a lean factual run, and the curve ``n = 10 … 24`` (``k = n - 4`` failed calls, at most 12:
the cost follows ``2^k``, not ``2^n``), where the time of ``2^k`` lean factual runs is the
measured per-run cost times ``2^k``.

Run: ``python benchmarks/bench_coalitions.py`` (about three minutes on two idle cores).
"""

from __future__ import annotations

import os
import time

import agentsim as asim
from agentsim import dist


def parallel(n: int, p_ok: float = 0.2) -> asim.Scenario:
    sc = asim.Scenario(f"parallel{n}")
    call = sc.tool("call", p_ok=p_ok, latency=dist.Exponential(mean=1.0))

    @sc.agent
    def main(ctx):  # type: ignore[no-untyped-def]
        results = yield ctx.parallel(*[ctx.call(call) for _ in range(n)])
        return all(r.ok for r in results)

    return sc


def failed_run(sc: asim.Scenario, k: int) -> asim.Run:
    """The first run (seeds 0, 1, ...) in which exactly ``k`` calls failed."""
    seed = 0
    while True:
        run = sc.run(seed=seed)
        if sum(not s.ok for s in run.trace.calls()) == k:
            return run
        seed += 1


def lean_factual(sc: asim.Scenario, runs: int) -> float:
    t0 = time.perf_counter()
    sc.simulate(runs, seed=12345, keep_traces=False, progress=False)
    return time.perf_counter() - t0


def exact_shapley(run: asim.Run, n: int) -> tuple[float, asim.Attribution]:
    t0 = time.perf_counter()
    a = asim.shapley(run, method="exact", budget=2**n, game="repair")
    return time.perf_counter() - t0, a


def main() -> None:
    print(f"load average before: {os.getloadavg()[0]:.2f} (2 cores)")
    n, k = 20, 16
    sc = parallel(n)
    run = failed_run(sc, k)
    before = lean_factual(sc, 2**k)
    t_shap, a = exact_shapley(run, n)
    after = lean_factual(sc, 2**k)
    lean = (before + after) / 2
    failed = [s.address for s in run.trace.calls() if not s.ok]
    nulls = sum(1 for p, x in a.values.items() if p not in failed and x == 0.0)
    print(
        f"exact Shapley, {n} parallel calls, {k} failed (seed {run.seed}): {t_shap:.2f} s, "
        f"{a.evaluations} replays; {nulls} succeeded calls proved null (value 0)"
    )
    print(
        f"{2**k:,} lean factual runs of the same scenario: {before:.2f} s before, "
        f"{after:.2f} s after (mean {lean:.2f} s)"
    )
    print(f"ratio: exact Shapley / {2**k:,} lean factual runs = {t_shap / lean:.2f} (target <= 2)")
    print(
        "before this change (issue 16): 153-163 s against about 3.9 s for the 65,536 lean "
        "factual runs, a ratio of about 40"
    )
    worth = {round(x, 12) for p, x in a.values.items() if p in failed}
    print(f"values: each failed call {sorted(worth)}, sum {sum(a.values.values()):.12f}")

    reps = 400
    ivs = [asim.repair(address) for address in failed[: k // 2]]
    t0 = time.perf_counter()
    for _ in range(reps):
        asim.counterfactual(run, *ivs)
    full = (time.perf_counter() - t0) / reps
    print(
        f"per coalition: walk {t_shap / a.evaluations * 1e6:.0f} µs, full counterfactual "
        f"replay ({k // 2} repairs, records kept) {full * 1e6:.0f} µs, lean factual run "
        f"{lean / 2**k * 1e6:.0f} µs"
    )

    print("curve (k = n - 4 failed calls, at most 12):")
    print("   n   k   replays   exact Shapley   2^k lean factual (est.)   ratio")
    for n in range(10, 25, 2):
        k = min(n - 4, 12)
        sc = parallel(n, p_ok=0.2 if k == n - 4 else 1 - k / n)
        run = failed_run(sc, k)
        per_run = lean_factual(sc, 4096) / 4096
        t_shap, a = exact_shapley(run, n)
        est = per_run * 2**k
        print(
            f"  {n:2d}  {k:2d}  {a.evaluations:8,d}  {t_shap:12.2f} s  {est:20.2f} s"
            f"        {t_shap / est:5.2f}"
        )
    print(f"load average after: {os.getloadavg()[0]:.2f}")


if __name__ == "__main__":
    main()
