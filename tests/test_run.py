"""Runs and batches: estimates, failures, pandas, traces kept or not."""

from __future__ import annotations

import pytest

import agentsim as asim
from tests.helpers import chain


def test_batch_estimates_and_failures() -> None:
    batch = chain([0.8], latency=2.0).simulate(1000, seed=4)
    rate = batch.rate("success")
    assert rate.low < 0.8 < rate.high and rate.n == 1000
    assert batch.mean("latency").value == 2.0 and batch.mean("latency").exact
    failed = list(batch.failures())
    assert len(failed) == 1000 - int(batch.values("success").sum())
    assert all(r.outcomes["success"] == 0.0 for r in failed)


def test_to_pandas_has_one_row_per_run() -> None:
    pd = pytest.importorskip("pandas")
    df = chain([0.5]).simulate(50, seed=0).to_pandas()
    assert isinstance(df, pd.DataFrame) and len(df) == 50
    assert {"seed", "success", "latency", "cost", "error"} <= set(df.columns)


def test_keep_traces_false_drops_records_but_keeps_outcomes() -> None:
    sc = chain([0.5, 0.5])
    lean = sc.simulate(20, seed=0, keep_traces=False)
    full = sc.simulate(20, seed=0)
    assert [r.outcomes for r in lean] == [r.outcomes for r in full]
    with pytest.raises(asim.AgentSimError, match="keep_traces=False"):
        _ = lean[0].trace


def test_batch_runs_are_reproducible_one_by_one() -> None:
    sc = chain([0.5, 0.7])
    batch = sc.simulate(30, seed=9)
    assert sc.run(seed=batch[12].seed).outcomes == batch[12].outcomes


def test_unknown_outcome_suggests() -> None:
    run = chain([0.5]).run(seed=0)
    with pytest.raises(asim.AgentSimError, match="did you mean 'latency'"):
        run.outcome("latncy")
    assert run.outcome("failure") == 1.0 - run.outcome("success")


def test_latency_and_cost_intervals_are_never_proportions() -> None:
    sc = asim.Scenario("fixed")
    t = sc.tool("t", p_ok=0.5, latency=1.0, cost=1.0)

    @sc.agent
    def main(ctx):  # type: ignore[no-untyped-def]
        return (yield ctx.call(t))

    batch = sc.simulate(40, seed=0, progress=False)
    for name in ("latency", "cost"):
        est = batch.mean(name)  # every run takes exactly 1 s and costs exactly 1
        assert (est.value, est.low, est.high) == (1.0, 1.0, 1.0)
    assert batch.mean("success").low < batch.mean("success").value  # a proportion
