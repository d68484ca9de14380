"""Simulation on a Dask cluster: the same batch, run by run, as ``workers=1``.

A ``LocalCluster`` of two worker processes; the batch is cut into chunks of run indices,
so the answer cannot depend on the partitioning. Skipped when ``distributed`` is absent.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import numpy as np
import pytest

import agentsim as asim
from agentsim import dist
from agentsim import workflow as wf

distributed = pytest.importorskip("distributed")

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def client() -> Iterator[Any]:
    cluster = distributed.LocalCluster(
        n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None
    )
    with distributed.Client(cluster) as c:
        yield c
    cluster.close()


def _scenario() -> asim.Scenario:
    flow = wf.seq(
        wf.call("search"),
        wf.retry(
            wf.par(wf.call("fetch"), wf.subagent("helper", wf.call("fetch")), mode="any"), n=2
        ),
        wf.call("answer"),
    )
    tools = {
        "search": dict(p_ok=0.9, latency=dist.Exponential(mean=1.0), cost=0.1),
        "fetch": dict(p_ok=0.6, latency=dist.LogNormal(median=0.5, sigma=0.4), cost=0.2),
        "answer": dict(p_ok=0.8, p_recover=0.1, latency=0.5, cost=1.0),
    }
    return wf.scenario(flow, tools, deadline=6.0)


def _same(a: asim.Batch, b: asim.Batch) -> None:
    assert len(a) == len(b)
    for x, y in zip(a, b, strict=True):
        assert (x.seed, x.outcomes, x.result, x.attributes) == (
            y.seed,
            y.outcomes,
            y.result,
            y.attributes,
        )


@pytest.mark.parametrize("engine", ["des", "vector"])
def test_dask_batch_equals_one_worker(client: Any, engine: str) -> None:
    sc = _scenario()
    local = sc.simulate(301, seed=5, engine=engine, keep_traces=False)
    remote = sc.simulate(301, seed=5, engine=engine, executor=client)
    assert remote.engine == engine
    _same(local, remote)
    assert remote[17].trace == sc.run(seed=local[17].seed).trace


def test_dask_effect_equals_local(client: Any) -> None:
    sc = _scenario()
    iv = asim.set_params("fetch", p_ok=0.9)
    local = asim.effect(sc, iv, n=400, seed=1)
    remote = asim.effect(sc, iv, n=400, seed=1, executor=client)
    assert local.ate == remote.ate
    assert np.isclose(local.treated.value, remote.treated.value, rtol=0, atol=0)


def test_executor_must_be_a_client() -> None:
    with pytest.raises(asim.ScenarioError, match=r"not a dask\.distributed Client"):
        _scenario().simulate(10, executor=object())


@pytest.mark.parametrize(
    "fn", [asim.probability_of_necessity, asim.probability_of_sufficiency, asim.pns]
)
def test_dask_probabilities_of_causation_equal_local(client: Any, fn: Any) -> None:
    sc = _scenario()
    cause, effect = {"main#0/search#0": True}, {"success": 1.0}
    if fn is asim.probability_of_sufficiency:
        cause = {"main#0/search#0": False}
    local = fn(sc, cause, effect, n=300, seed=2)
    remote = fn(sc, cause, effect, n=300, seed=2, executor=client)
    assert (local.value, local.n) == (remote.value, remote.n)


def test_dask_explain_and_sensitivity_equal_local(client: Any) -> None:
    sc = _scenario()
    local = asim.explain(sc, n=200, seed=3, decisive=False, progress=False)
    remote = asim.explain(sc, n=200, seed=3, decisive=False, progress=False, executor=client)
    assert local.rows == remote.rows
    s_local = asim.sensitivity(sc, p_ok=+0.05, n=300, seed=1, progress=False)
    s_remote = asim.sensitivity(sc, p_ok=+0.05, n=300, seed=1, progress=False, executor=client)
    assert s_local.effects == s_remote.effects
