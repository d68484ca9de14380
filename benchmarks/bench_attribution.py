"""Attribution speed: agentsim's exact Shapley on simulated runs versus DoWhy's
``gcm.attribute_anomalies`` on the equivalent chain.

Workload: an 11-call sequential chain (each call fed the previous result, p_ok 0.9,
exponential latency). agentsim attributes the failure of 10 failed runs exactly (repair game,
Shapley by subset enumeration over the 11 calls, every coalition a counterfactual replay).
DoWhy fits an invertible SCM on the 11-node chain X0 -> ... -> X10 (the calls' success flags,
2,000 simulated runs; auto-assigned mechanisms, library defaults) and attributes the
anomalous final node of the same 10 runs with ``gcm.attribute_anomalies`` (library defaults).
DoWhy is an optional benchmark dependency: install it into a separate venv
(``pip install dowhy`` and this package) and run this script there; without it, only the
agentsim side and the solver timings are printed.

Also printed: exact Shapley time for 10, 15 and 20 players, for the solver alone (a cheap
value function) and, for 10 and 15, with every coalition a counterfactual replay of a chain.

Run: ``python benchmarks/bench_attribution.py``.
"""

from __future__ import annotations

import time

import numpy as np

import agentsim as asim
from agentsim import dist
from agentsim.attribution.shapley import shapley_values


def chain(n: int, p_ok: float = 0.9) -> asim.Scenario:
    sc = asim.Scenario(f"chain{n}")
    step = sc.tool("step", p_ok=p_ok, latency=dist.Exponential(mean=1.0))

    @sc.agent
    def main(ctx):  # type: ignore[no-untyped-def]
        prev = yield ctx.call(step)
        for _ in range(n - 1):
            prev = yield ctx.call(step, prev)
        return prev

    return sc


def agentsim_side(failed: list[asim.Run]) -> tuple[float, int]:
    t0 = time.perf_counter()
    evaluations = 0
    for run in failed:
        a = asim.shapley(run, players="calls", game="repair", method="exact", prune=False)
        evaluations += a.evaluations
    return time.perf_counter() - t0, evaluations


def dowhy_side(batch: asim.Batch, failed: list[asim.Run]) -> float | None:
    try:
        import networkx as nx
        import pandas as pd
        from dowhy import gcm
    except ImportError:
        return None
    names = [f"X{i}" for i in range(11)]
    rows = [[float(s.ok) for s in r.trace.calls()] for r in batch]
    data = pd.DataFrame(rows, columns=names)
    anomalies = pd.DataFrame(
        [[float(s.ok) for s in r.trace.calls()] for r in failed], columns=names
    )
    graph = nx.DiGraph([(names[i], names[i + 1]) for i in range(10)])
    model = gcm.InvertibleStructuralCausalModel(graph)
    gcm.auto.assign_causal_mechanisms(model, data)
    gcm.fit(model, data)
    t0 = time.perf_counter()
    gcm.attribute_anomalies(model, target_node="X10", anomaly_samples=anomalies)
    return time.perf_counter() - t0


def main() -> None:
    sc = chain(11)
    batch = sc.simulate(2000, seed=0, progress=False)
    failed = [r for r in batch if not r.result.ok and len(r.trace.calls()) == 11][:10]
    t_ours, evals = agentsim_side(failed)
    print(
        f"agentsim exact Shapley, 10 failed runs of an 11-call chain: {t_ours:.2f} s "
        f"({evals} counterfactual replays)"
    )
    t_dowhy = dowhy_side(batch, failed)
    if t_dowhy is None:
        print("DoWhy not installed here: comparison skipped")
    else:
        print(f"DoWhy gcm.attribute_anomalies, same 10 rows:          {t_dowhy:.2f} s")
        print(f"ratio: agentsim is {t_dowhy / t_ours:.0f}x faster")
    for n in (10, 15, 20):
        weights = np.linspace(0.1, 1.0, n)
        names = [f"p{i}" for i in range(n)]
        index = {p: i for i, p in enumerate(names)}

        def v(s: frozenset[str], w: np.ndarray = weights, ix: dict[str, int] = index) -> float:
            return float(sum(w[ix[p]] for p in s)) ** 2

        t0 = time.perf_counter()
        shapley_values(names, v, method="exact", budget=2**n)
        t_solver = time.perf_counter() - t0
        line = f"exact Shapley, {n} players: solver alone {t_solver:.3f} s"
        if n <= 15:
            run = next(
                r
                for r in chain(n, 0.75).simulate(500, seed=1, progress=False)
                if len(r.trace.failed()) > 2 and len(r.trace.calls()) == n
            )
            t0 = time.perf_counter()
            a = asim.shapley(run, method="exact", budget=2**n, prune=False)
            line += (
                f"; on a failed {n}-call run {time.perf_counter() - t0:.2f} s "
                f"({a.evaluations} replays)"
            )
        print(line)


if __name__ == "__main__":
    main()
