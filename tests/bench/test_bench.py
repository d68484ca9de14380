"""Planted-fault benchmarks: labels checked independently, Who&When files, scoring."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

import agentsim as asim
from agentsim.attribution.baselines import steps_of
from agentsim.bench import (
    METHODS,
    Benchmark,
    Score,
    WhoWhenLog,
    compare_methods,
    export_whowhen,
    generate,
    load_whowhen,
    locate,
    parse_fault,
    render_step,
    score,
    score_files,
)
from agentsim.noise import child_seed

WHOWHEN = Path(__file__).resolve().parents[3] / "shared" / "data" / "whowhen-dev"

try:
    from agentsim.attribution.actual_cause import actual_causes as _hp  # noqa: F401

    HAVE_HP = True
except ImportError:  # pragma: no cover - being finished elsewhere
    HAVE_HP = False


def research() -> asim.Scenario:
    """A writer fed by a researcher sub-agent that retries a failed search once."""
    sc = asim.Scenario("bench-research")
    search = sc.tool("search", p_ok=0.6, latency=0.5)
    fetch = sc.tool("fetch", p_ok=0.9, latency=1.0)
    writer = sc.model("writer", p_ok=0.9, latency=2.0)

    @sc.agent
    def main(ctx):  # type: ignore[no-untyped-def]
        page = yield ctx.spawn(researcher)
        return (yield ctx.call(writer, page))

    @sc.agent
    def researcher(ctx):  # type: ignore[no-untyped-def]
        hits = yield ctx.call(search)
        if not hits.ok:  # a recovered first failure is harmless
            hits = yield ctx.call(search)
        return (yield ctx.call(fetch, hits))

    return sc


def both_required() -> asim.Scenario:
    """Two parallel calls, both required: a run where both fail is overdetermined."""
    sc = asim.Scenario("bench-both")
    a, b = sc.tool("a", p_ok=0.9), sc.tool("b", p_ok=0.9)

    @sc.agent
    def main(ctx):  # type: ignore[no-untyped-def]
        x, y = yield ctx.parallel(ctx.call(a), ctx.call(b))
        return x.ok and y.ok

    return sc


FAULT = asim.set_params("fetch", p_ok=0.5)


@pytest.fixture(scope="module")
def bench() -> Benchmark:
    return generate(research(), fault=FAULT, n=40, seed=3)


def _success(run: asim.Run, address: str) -> float:
    """Success when ``address``'s own fault alone is removed, in the faulty world (fault
    passed along)."""
    cf = asim.counterfactual(run, [FAULT, asim.fix(address)])
    return float(cf.outcomes["success"])


def _own_fault(span: asim.Span) -> bool:
    """Whether a call's recorded noise is in its failure region (p_ok of the faulty world)."""
    p_ok = {"search": 0.6, "fetch": 0.5, "writer": 0.9}[span.name]
    return span.noise["ok"] >= p_ok


def test_every_label_is_the_earliest_single_fix_under_the_fault(bench: Benchmark) -> None:
    sc = research()
    assert len(bench.items) == 40
    agents = set()
    for item in bench.items:
        run = sc.run(seed=item.seed, interventions=FAULT)  # reproduced independently
        assert run.outcomes["success"] == 0.0
        assert run.trace.model_dump() == item.trace.model_dump()
        calls = run.trace.calls()
        assert [s.address for s in calls] == [a for a, _, _ in steps_of(asim.world(run))]
        assert calls[item.mistake_step].address == item.address
        assert calls[item.mistake_step].agent == item.mistake_agent
        assert not calls[item.mistake_step].ok
        assert _own_fault(calls[item.mistake_step])  # never a casualty of bad input
        assert _success(run, item.address) == 1.0
        for earlier in calls[: item.mistake_step]:
            if not earlier.ok:
                assert _success(run, earlier.address) == 0.0, (item.seed, earlier.address)
        agents.add(item.mistake_agent)
    assert agents == {"main", "researcher"}  # labels in both agents


def test_labels_agree_with_but_for_shapley_and_actual_causes(bench: Benchmark) -> None:
    for item in bench.items:
        assert item.but_for and item.but_for[0] == item.address
        assert item.shapley is not None and item.shapley_exact
        assert abs(sum(item.shapley.values()) - 1.0) < 1e-9  # efficiency: v(N) - v(∅) = 1
        if HAVE_HP:
            # a but-for cause is an actual cause under every Halpern-Pearl definition
            assert item.actual_causes is not None
            assert (item.address,) in item.actual_causes
        else:  # pragma: no cover
            assert item.actual_causes is None and bench.notes


def test_runs_and_failures_are_accounted_for(bench: Benchmark) -> None:
    sc = research()
    seeds = [child_seed(3, i) for i in range(bench.runs_simulated)]
    runs = [sc.run(seed=s, interventions=FAULT) for s in seeds]
    failed = [r for r in runs if not r.outcomes["success"]]
    # a failure is labelled exactly when some failed call's fix alone saves it
    saved = [
        r.seed
        for r in failed
        if any(_success(r, c.address) == 1.0 for c in r.trace.calls() if not c.ok)
    ]
    assert [it.seed for it in bench.items] == saved
    assert bench.failures == len(failed)
    assert bench.skipped == len(failed) - len(saved) > 0  # both search tries and fetch failed


def test_the_fault_is_kept_in_every_counterfactual() -> None:
    sc = asim.Scenario("fw")
    a, b = sc.tool("a", p_ok=0.9), sc.tool("b", p_ok=0.9)

    @sc.agent
    def main(ctx):  # type: ignore[no-untyped-def]
        x = yield ctx.call(a)
        return (yield ctx.call(b, x))

    fault = asim.set_params("b", p_ok=0.1)
    run = sc.run(seed=0, interventions=fault)
    assert [s.ok for s in run.trace.calls()] == [True, False]
    w = asim.world(run)
    assert w.outcome([asim.repair("main#0/a#0")]) == 0.0  # a was ok: nothing changes
    cf = asim.counterfactual(run, asim.repair("main#0/a#0"))
    assert cf.interventions == (fault, asim.repair("main#0/a#0"))
    assert asim.decisive_error(run).address == "main#0/b#0"
    assert w.outcome([asim.repair("main#0/b#0")]) == 1.0
    # under a break_ fault, a repair listed after it wins
    broken = sc.run(seed=0, interventions=asim.break_("a"))
    assert asim.world(broken).outcome([asim.repair("main#0/a#0")]) == 1.0


def test_overdetermined_failures_are_counted_and_skipped() -> None:
    sc = both_required()
    fault = [asim.set_params("a", p_ok=0.5), asim.set_params("b", p_ok=0.5)]
    b = generate(sc, fault=fault, n=30, seed=1, actual=False)
    expected_skipped = 0
    expected_items = []
    for i in range(b.runs_simulated):
        run = sc.run(seed=child_seed(1, i), interventions=fault)
        failed = [s.address for s in run.trace.calls() if not s.ok]
        if len(failed) == 2:
            expected_skipped += 1
        elif len(failed) == 1:
            expected_items.append((run.seed, failed[0]))
    assert b.skipped == expected_skipped > 5
    assert [(it.seed, it.address) for it in b.items] == expected_items
    assert b.fault == ("set_params(a, p_ok=0.5)", "set_params(b, p_ok=0.5)")


def test_generation_is_deterministic_and_honours_max_runs() -> None:
    sc = research()
    one = generate(sc, fault=FAULT, n=5, seed=9, shapley=False, actual=False)
    two = generate(sc, fault=FAULT, n=5, seed=9, shapley=False, actual=False)
    assert one.items == two.items and one.runs_simulated == two.runs_simulated
    safe = asim.Scenario("safe")
    t = safe.tool("t", p_ok=1.0)

    @safe.agent
    def main(ctx):  # type: ignore[no-untyped-def]
        return (yield ctx.call(t))

    with pytest.warns(UserWarning, match="only 0 of 3"):
        b = generate(safe, n=3, max_runs=20)
    assert b.items == () and b.runs_simulated == 20 and "max_runs" in b.notes[0]


def test_export_then_load_round_trips(bench: Benchmark, tmp_path: Path) -> None:
    paths = export_whowhen(bench, tmp_path)
    assert [p.name for p in paths] == [f"{i}.json" for i in range(1, 41)]
    raw = json.loads(paths[0].read_text())
    assert isinstance(raw["mistake_step"], str) and raw["mistake_step"].isdigit()
    logs = load_whowhen(tmp_path)
    assert len(logs) == 40
    for log, item in zip(logs, bench.items, strict=True):
        assert log.label == item.label
        assert log.ground_truth == "success"
        assert item.scenario in log.question and str(item.seed) in log.question
        assert item.address in log.mistake_reason
        calls = item.trace.calls()
        assert [(s.name, s.role, s.content) for s in log.history] == [
            (c.agent, "assistant", render_step(c)) for c in calls
        ]
        assert log.history[log.mistake_step].speaker == item.mistake_agent
        assert log.extra["agentsim"]["address"] == item.address
        assert log.extra["agentsim"]["fault"] == ["set_params(fetch, p_ok=0.5)"]
    failed = [s for s in logs[0].history if "failed after" in s.content]
    assert failed  # errors are visible in the rendered history


def test_export_refuses_to_mix_and_overwrite_removes_stale_files(
    bench: Benchmark, tmp_path: Path
) -> None:
    export_whowhen(bench.items[:5], tmp_path)
    with pytest.raises(asim.AgentSimError, match="overwrite=True"):
        export_whowhen(bench.items[:3], tmp_path)
    export_whowhen(bench.items[:3], tmp_path, overwrite=True)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["1.json", "2.json", "3.json"]
    assert [log.label for log in load_whowhen(tmp_path)] == [it.label for it in bench.items[:3]]


def test_render_step_says_what_happened(bench: Benchmark) -> None:
    spans = bench.items[0].trace.calls()
    text = [render_step(s) for s in spans]
    for s, line in zip(spans, text, strict=True):
        assert s.address in line and s.name in line
        assert ("failed after" in line) == (not s.ok)


@pytest.mark.skipif(not WHOWHEN.is_dir(), reason="../shared/data is not present")
def test_load_real_whowhen_dev_logs() -> None:
    algo = load_whowhen(WHOWHEN / "Algorithm-Generated")
    hand = load_whowhen(WHOWHEN / "Hand-Crafted")
    assert len(algo) == 25 and len(hand) == 10
    assert [Path(log.file).stem for log in algo] == [str(i) for i in range(1, 26)]
    for log in algo + hand:
        assert isinstance(log.mistake_step, int) and 0 <= log.mistake_step < len(log.history)
    assert algo[0].label == ("Excel_Expert", 0)
    assert all(s.name is not None for log in algo for s in log.history)  # speaker in name
    first = hand[0]
    assert first.label == ("WebSurfer", 12)
    assert first.history[0].name is None and first.history[0].speaker == "human"  # in role
    assert hand[9].file.endswith("10.json") and hand[9].label == ("Orchestrator", 9)
    # the annotated step is spoken by the annotated agent in most logs
    same = sum(log.history[log.mistake_step].speaker.startswith(log.mistake_agent) for log in algo)
    assert same == 23


@pytest.mark.parametrize(
    ("text", "field"),
    [
        ('{"question": "q", "mistake_agent": "A", "mistake_step": "0"}', "history"),
        ('{"question": "q", "mistake_agent": "A", "history": []}', "mistake_step"),
        (
            '{"question": "q", "mistake_agent": "A", "mistake_step": "one", "history": []}',
            "mistake_step",
        ),
        (
            '{"question": "q", "mistake_agent": "A", "mistake_step": "3", '
            '"history": [{"name": "A", "content": ""}]}',
            "mistake_step",
        ),
        ('{"question": "q", "mistake_step": "0", "history": []}', "mistake_agent"),
        (
            '{"question": "q", "mistake_agent": "A", "mistake_step": "0", '
            '"history": [{"content": "hi"}]}',
            "name",
        ),
    ],
)
def test_malformed_logs_name_the_file_and_field(tmp_path: Path, text: str, field: str) -> None:
    path = tmp_path / "7.json"
    path.write_text(text)
    with pytest.raises(asim.TraceFormatError) as info:
        load_whowhen(tmp_path)
    assert "7.json" in str(info.value) and repr(field) in str(info.value)


def test_not_json_is_a_trace_format_error(tmp_path: Path) -> None:
    (tmp_path / "1.json").write_text("{not json")
    with pytest.raises(asim.TraceFormatError, match=r"1\.json.*not valid JSON"):
        load_whowhen(tmp_path)


def test_score_against_hand_computed_values() -> None:
    labels = [("A", 12), ("B", 3), ("A", 0), ("C", 7), ("B", 5)]
    preds = [("A", 1), ("B", 3), ("B", 1), None, ("B", None)]
    s = score(preds, labels)
    assert s.n == 5
    assert s.agent_hits == 3 and s.agent_accuracy == 3 / 5  # A, B, B
    assert s.step_hits == 1 and s.step_accuracy == 1 / 5  # "1" inside "12" is not a hit
    assert s.distances == (11, 0, 1, None, None)
    assert s.within_k(0) == 1 / 5 and s.within_k(1) == 2 / 5 and s.within_k(11) == 3 / 5
    assert str(s) == "n=5: agent 60.0%, step 20.0%, within 1 step 40.0%"
    with pytest.raises(asim.AttributionError, match="2 predictions but 1 labels"):
        score([("A", 1), ("A", 2)], [("A", 1)])
    with pytest.raises(asim.AttributionError, match="not substrings"):
        score([("A", "1")], [("A", 12)])
    with pytest.raises(asim.AttributionError, match="k=-1"):
        s.within_k(-1)
    assert isinstance(score([], []), Score) and score([], []).n == 0


def test_score_files_matches_integers_not_substrings(tmp_path: Path) -> None:
    history = [{"name": f"agent{i % 3}", "content": str(i)} for i in range(20)]
    for i, (agent, step) in enumerate([("agent0", 12), ("agent1", 4), ("agent2", 2)], 1):
        log = {
            "question": "q",
            "mistake_agent": agent,
            "mistake_step": str(step),
            "history": history,
        }
        (tmp_path / "labels").mkdir(exist_ok=True)
        (tmp_path / "labels" / f"{i}.json").write_text(json.dumps(log))
    preds = {
        "1": {"agent": "agent0", "step": "1"},
        "2.json": ["agent1", 4],
        "3": {"mistake_agent": "agent0", "mistake_step": "12"},
    }
    (tmp_path / "preds.json").write_text(json.dumps(preds))
    s = score_files(tmp_path / "preds.json", tmp_path / "labels")
    assert (s.n, s.agent_hits, s.step_hits) == (3, 2, 1)
    (tmp_path / "preds.json").write_text(json.dumps({"1": ["agent0", 12]}))
    with pytest.raises(asim.AttributionError, match="no prediction for 2 of 3"):
        score_files(tmp_path / "preds.json", tmp_path / "labels")
    # a folder of predicted logs, matched by file name
    s2 = score_files(tmp_path / "labels", tmp_path / "labels")
    assert s2.step_accuracy == 1.0 and s2.agent_accuracy == 1.0


def test_compare_methods_on_a_benchmark_with_harmless_early_failures(bench: Benchmark) -> None:
    table = compare_methods(bench)
    assert list(table) == list(METHODS)
    assert all(s.n == 40 for s in table.values())
    assert table["decisive_error"].step_accuracy == 1.0
    assert table["but_for"].step_accuracy == 1.0
    first = table["first_error"]
    # a failed search recovered by the retry is harmless, and first_error blames it
    recovered = [it for it in bench.items if not it.trace.calls()[0].ok and it.trace.calls()[1].ok]
    assert recovered and all(locate(it, "first_error")[1] == 0 for it in recovered)
    assert all(it.mistake_step > 0 for it in recovered)
    firsts = [next(i for i, s in enumerate(it.trace.calls()) if not s.ok) for it in bench.items]
    assert first.step_hits == sum(
        f == it.mistake_step for f, it in zip(firsts, bench.items, strict=True)
    )
    assert first.step_accuracy <= 1 - len(recovered) / 40
    # last_error is right only when nothing failed after the decisive error: a failed fetch
    # poisons the writer (noisy-AND, no leak), so it is wrong for every fetch label
    ends = sum(
        1 for it in bench.items if all(s.ok for s in it.trace.calls()[it.mistake_step + 1 :])
    )
    assert table["last_error"].step_hits == ends < 40
    for it in bench.items:
        assert locate(it, "decisive_error") == it.label


def test_compare_methods_without_shapley_leaves_it_out() -> None:
    b = generate(research(), fault=FAULT, n=4, shapley=False, actual=False)
    assert "shapley" not in compare_methods(b)
    with pytest.raises(asim.AttributionError, match="unknown method"):
        locate(b.items[0], "oracle")


def test_parse_fault() -> None:
    assert parse_fault("set_params:search:p_ok=0.5") == asim.set_params("search", p_ok=0.5)
    assert parse_fault("break:fetch") == asim.break_("fetch")
    assert parse_fault("break_:fetch") == asim.break_("fetch")
    assert parse_fault("do:main#0/a#0:ok=false,latency=2") == asim.do(
        "main#0/a#0", ok=False, latency=2
    )
    assert parse_fault("delay:search:1.5") == asim.delay("search", 1.5)
    assert parse_fault("resample:planner") == asim.resample("planner")
    for bad in (
        "nope:x",
        "break:",
        "set_params:x:p_ok",
        "delay:x:soon",
        "break:x:p=1",
        "set_params:x:colour=1",
    ):
        with pytest.raises(asim.InterventionError):
            parse_fault(bad)


def test_who_when_log_records_are_frozen() -> None:
    log = WhoWhenLog("q", "a", (), "A", 0)
    with pytest.raises(AttributeError):
        log.mistake_step = 1  # type: ignore[misc]


def test_to_dataframe_has_one_row_per_item(bench: Benchmark) -> None:
    pytest.importorskip("pandas")
    df = bench.to_dataframe()
    assert len(df) == 40
    assert list(df["mistake_step"]) == [it.mistake_step for it in bench.items]
    assert (df["shapley_top"] == df["address"]).all()  # ties go to the earliest call
