"""Columnar batches: runs rebuilt from columns are the runs simulated, to the byte."""

from __future__ import annotations

import gc
import pickle
from pathlib import Path

import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import agentsim as asim
from agentsim import dist, workflow
from agentsim.columns import CHUNK, RunTable
from agentsim.noise import child_seed
from agentsim.scenarios.coding_agent import scenario as coding
from agentsim.scenarios.research_assistant import scenario as research
from agentsim.scenarios.support_desk import scenario as support
from tests.helpers import chain
from tests.strategies_local import programs

pa = pytest.importorskip("pyarrow")
BUNDLED = [support, research, coding]


def _same(rebuilt: asim.Run, original: asim.Run) -> None:
    assert rebuilt.trace.model_dump_json() == original.trace.model_dump_json()
    assert rebuilt.outcomes == original.outcomes
    assert rebuilt.result == original.result
    assert rebuilt.attributes == original.attributes
    assert rebuilt.context == original.context
    assert rebuilt.interventions == original.interventions
    assert rebuilt.seed == original.seed


def _chain(n: int = 10) -> asim.Scenario:
    """An agent and ``n`` calls, each fed the previous result: ``n + 1`` spans a run."""
    return chain([0.9] * n, latency=dist.Exponential(mean=1.0))


@pytest.mark.parametrize("sc", BUNDLED, ids=lambda s: s.name)
def test_bundled_scenarios_rebuild_byte_identical_runs(sc: asim.Scenario) -> None:
    # choices (weights in span attributes), values, sub-agents, retries, fallbacks, user
    # outcomes that read the trace: every run is rebuilt from columns once nobody holds it
    n = CHUNK + 40
    batch = sc.simulate(n, seed=3, progress=False)
    gc.collect()
    for i in (0, 1, 517, CHUNK - 1, CHUNK, n - 1):
        run = batch[i]
        assert run._records is None and run._load is not None  # built from the columns
        _same(run, sc.run(seed=child_seed(3, i)))


@settings(max_examples=30, deadline=None)
@given(programs(max_steps=5), st.integers(0, 2**32), st.booleans())
def test_random_programs_rebuild_byte_identical_runs(
    sc: asim.Scenario, seed: int, intervene: bool
) -> None:
    ivs = [asim.break_("t0")] if intervene else []
    table = RunTable()
    originals = [sc.run(seed=seed + k, interventions=ivs) for k in range(5)]
    table.extend(originals)
    table.seal()
    clone = pickle.loads(pickle.dumps(table))
    for k, original in enumerate(originals):
        _same(clone.run(k, sc), original)
        _same(clone.run(k, sc), sc.run(seed=seed + k, interventions=ivs))


def test_a_load_batch_keeps_its_shared_context() -> None:
    sc = asim.Scenario("load")
    t = sc.tool("t", p_ok=0.8, latency=dist.Exponential(mean=1.0), capacity=1, timeout=2.0)

    @sc.agent
    def main(ctx):  # type: ignore[no-untyped-def]
        return (yield ctx.call(t))

    batch = sc.simulate(30, seed=1, arrivals=dist.Exponential(mean=0.5), progress=False)
    assert isinstance(batch._store, RunTable)
    table = RunTable()
    table.extend(list(batch))
    table.seal()
    for i in (0, 7, 29):
        again = table.run(i, sc)
        assert again.context == batch[i].context and again.context.coupled
        assert again.trace.model_dump_json() == batch[i].trace.model_dump_json()
    cf = asim.counterfactual(table.run(7, sc), asim.repair("main#0/t#0"))
    assert cf.outcomes == asim.counterfactual(batch[7], asim.repair("main#0/t#0")).outcomes


def test_a_held_run_is_the_same_object_and_unheld_runs_are_freed() -> None:
    batch = support.simulate(CHUNK + 5, seed=0, keep_traces=False, progress=False)
    run = batch[3]
    assert batch[3] is run and batch.runs.index(run) == 3
    assert not run.has_trace
    with pytest.raises(asim.AgentSimError, match="keep_traces=False"):
        run.trace  # noqa: B018
    del run
    gc.collect()
    assert len(batch._store._alive) == 0  # type: ignore[attr-defined]


@pytest.mark.parametrize("sc", BUNDLED, ids=lambda s: s.name)
def test_to_pandas_reads_the_columns_as_the_runs_say(sc: asim.Scenario) -> None:
    n = CHUNK + 3
    batch = sc.simulate(n, seed=5, progress=False)
    runs = [sc.run(seed=child_seed(5, i)) for i in range(n)]
    rows = [{"seed": r.seed, **r.outcomes, "error": r.result.error} for r in runs]
    pd.testing.assert_frame_equal(batch.to_pandas(), pd.DataFrame(rows))
    assert batch.seeds() == [child_seed(5, i) for i in range(n)]
    # a batch assembled by hand from the same runs gives the same frame
    by_hand = asim.Batch(sc, 5, runs)
    pd.testing.assert_frame_equal(by_hand.to_pandas(), pd.DataFrame(rows))


def test_outcome_columns_and_failures_match_the_runs() -> None:
    batch = research.simulate(CHUNK + 100, seed=2, progress=False)
    assert batch.values("success").tolist() == [r.outcomes["success"] for r in batch]
    failed = [r.seed for r in batch.failures()]
    assert failed == [r.seed for r in batch if not r.outcomes["success"]]
    assert 0 < len(failed) < len(batch)
    assert batch.failed_indices() == [i for i, r in enumerate(batch) if not r.outcomes["success"]]


def test_kept_runs_of_an_eleven_span_chain_cost_under_1_5_kb_each() -> None:
    # the budget, counted in bytes the columns hold (deterministic, not timed)
    sc = _chain()
    n = 4 * CHUNK
    batch = sc.simulate(n, seed=0, progress=False)
    table = batch._store
    assert isinstance(table, RunTable)
    assert len(batch[0].records) == 11
    assert table.nbytes() / n < 1500


def test_rows_from_workers_and_the_vector_executor_read_back_as_the_engine_runs() -> None:
    # runs that arrive as rows have no span columns: they are re-simulated when read
    flow = workflow.seq(
        workflow.retry(workflow.call("search"), 2),
        workflow.fallback(workflow.call("answer"), workflow.call("backup")),
    )
    tools = {
        "search": {"p_ok": 0.6, "latency": dist.Exponential(mean=1.0)},
        "answer": {"p_ok": 0.8, "latency": dist.LogNormal(1.0, 0.5)},
        "backup": {"p_ok": 0.5},
    }
    sc = workflow.scenario(flow, tools, name="rows")
    serial = sc.simulate(300, seed=4, engine="des", progress=False)
    for other in (
        sc.simulate(300, seed=4, engine="des", workers=2, progress=False),
        sc.simulate(300, seed=4, engine="vector", progress=False),
    ):
        assert isinstance(other._store, RunTable)
        assert other.values("success").tolist() == serial.values("success").tolist()
        for i in (0, 1, 150, 299):
            run = other[i]
            assert run.has_trace and run._records is None
            assert run.result == serial[i].result
            assert run.attributes == serial[i].attributes
            assert run.trace.model_dump_json() == serial[i].trace.model_dump_json()


def test_a_replay_that_disagrees_with_its_row_is_reported() -> None:
    sc = _chain(3)
    batch = sc.simulate(20, seed=0, workers=2, progress=False)
    table = batch._store
    assert isinstance(table, RunTable)
    chunk = table._chunks[0]
    chunk.runs["ok"][5] = not chunk.runs["ok"][5]  # corrupt one row
    with pytest.raises(asim.SimulationError, match=r"replaying run seed=\d+ gave"):
        batch[5].trace  # noqa: B018


def test_arrow_runs_table_matches_to_pandas_and_spans_match_the_traces(tmp_path: Path) -> None:
    import pyarrow.compute as pc
    import pyarrow.parquet as pq

    batch = support.simulate(CHUNK + 30, seed=4, progress=False)
    runs = batch.to_arrow()
    frame = batch.to_pandas()
    assert runs.column_names == list(frame.columns)
    for name in frame.columns:
        expected = [None if pd.isna(x) else x for x in frame[name].tolist()]
        assert runs.column(name).to_pylist() == expected
    spans = batch.to_arrow(spans=True)
    assert spans.num_rows == sum(len(r.trace.spans) for r in batch)
    for i in (2, CHUNK + 7):
        rows = spans.filter(pc.equal(spans.column("run"), i)).to_pylist()
        trace = batch[i].trace
        assert [r["address"] for r in rows] == trace.addresses()
        for row, span in zip(rows, trace.spans, strict=True):
            assert row["seed"] == trace.seed
            for f in ("kind", "name", "parent", "agent", "start", "end", "ok", "error"):
                assert row[f] == getattr(span, f)
            assert (row["status"], row["cost"], row["queued"]) == (
                span.status,
                span.cost,
                span.queued,
            )
            assert row["inputs"] == span.inputs
            assert dict(row["noise"]) == span.noise
    path = batch.to_parquet(tmp_path / "spans.parquet", spans=True)
    assert pq.read_table(path).to_pylist() == spans.to_pylist()
    assert pq.read_table(batch.to_parquet(tmp_path / "runs.parquet")).equals(runs)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["runs.parquet", "spans.parquet"]


def test_spans_of_runs_from_workers_are_re_simulated_for_export() -> None:
    sc = _chain(4)
    n = CHUNK + 10  # more than one scratch chunk
    serial = sc.simulate(n, seed=9, progress=False).to_arrow(spans=True)
    forked = sc.simulate(n, seed=9, workers=2, progress=False).to_arrow(spans=True)
    assert forked.num_rows == serial.num_rows == 5 * n
    assert forked.to_pylist() == serial.to_pylist()


def test_a_failed_span_export_leaves_the_old_file_and_no_temporary(tmp_path: Path) -> None:
    target = tmp_path / "spans.parquet"
    target.write_bytes(b"the user's file")
    lean = _chain(2).simulate(5, seed=0, keep_traces=False, progress=False)
    with pytest.raises(asim.AgentSimError, match="run 0 of the batch kept no span records"):
        lean.to_parquet(target, spans=True)
    assert target.read_bytes() == b"the user's file"
    assert [p.name for p in tmp_path.iterdir()] == ["spans.parquet"]
    by_hand = asim.Batch(lean.scenario, 0, list(lean))
    with pytest.raises(asim.AgentSimError, match="assembled from a list of runs"):
        by_hand.to_arrow(spans=True)


def test_arrow_export_without_pyarrow_names_the_extra(monkeypatch: pytest.MonkeyPatch) -> None:
    import importlib

    real = importlib.import_module

    def refuse(name: str, *args):  # type: ignore[no-untyped-def]
        if name.startswith("pyarrow"):
            raise ImportError(name)
        return real(name, *args)

    monkeypatch.setattr(importlib, "import_module", refuse)
    batch = support.simulate(5, seed=0, progress=False)
    with pytest.raises(ImportError, match=r"agentsim\[arrow\]"):
        batch.to_arrow()
    with pytest.raises(ImportError, match=r"agentsim\[arrow\]"):
        batch.to_parquet("never-written.parquet")
    assert not Path("never-written.parquet").exists()


def test_replacing_the_runs_keeps_the_runs_already_read() -> None:
    batch = support.simulate(CHUNK + 20, seed=1, progress=False)
    held = batch[7]
    want = held.trace.model_dump_json()
    del held
    gc.collect()
    held = batch[7]  # rebuilt from the columns, its spans not read yet
    batch.runs = [r for r in batch.runs if r.outcomes["success"]]  # filter
    assert len(batch) == int(sum(batch.values("success"))) > 0
    assert batch.rate().value == 1.0
    other = research.simulate(5, seed=0, progress=False)
    batch.runs = list(other)
    assert held.trace.model_dump_json() == want
    assert [r.seed for r in batch] == other.seeds()


def test_a_run_that_cannot_be_sealed_stays_in_the_batch() -> None:
    batch = _chain(2).simulate(10, seed=0, progress=False)
    bad = _chain(2).run(seed=99)
    bad.outcomes["success"] = "yes"  # type: ignore[assignment]
    batch.runs.append(bad)
    with pytest.raises(ValueError):
        batch.rate()
    assert len(batch) == 11 and batch[10] is bad


def test_with_attribute_finds_attributes_in_columns_and_in_sparse_maps() -> None:
    batch = _chain(2).simulate(30, seed=0, progress=False)
    by_hand = asim.Batch(batch.scenario, 0, list(batch))
    assert batch.with_attribute("steps") == by_hand.with_attribute("steps") == list(range(30))
    assert batch.with_attribute("crash") == by_hand.with_attribute("crash") == []
    load = _chain(2).simulate(12, seed=0, arrivals=1.0, progress=False)
    assert load.with_attribute("arrival") == list(range(12))


def test_a_batch_slices_like_a_list() -> None:
    batch = _chain(2).simulate(6, seed=0, progress=False)
    assert [r.seed for r in batch[1:5:2]] == batch.seeds()[1:5:2]
    assert batch[-1].seed == batch.seeds()[-1]
    with pytest.raises(IndexError, match="run index -7 out of range for a batch of 6 runs"):
        batch[-7]


def test_seeds_export_as_uint64_up_to_2_64(tmp_path: Path) -> None:
    import pyarrow.parquet as pq

    sc = _chain(2)
    batch = sc.simulate(3, seed=0, progress=False)
    big = 2**64 - 1  # the largest seed there is
    batch.runs.append(sc.run(seed=big))
    seeds = [*batch.seeds()]
    assert seeds[-1] == big
    runs = batch.to_arrow()
    assert runs.schema.field("seed").type == pa.uint64()
    assert runs.column("seed").to_pylist() == seeds
    spans = batch.to_arrow(spans=True)
    assert spans.column("seed").to_pylist() == [s for s in seeds for _ in range(3)]
    path = batch.to_parquet(tmp_path / "spans.parquet", spans=True)
    assert pq.read_table(path).column("seed").to_pylist() == spans.column("seed").to_pylist()
