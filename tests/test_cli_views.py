"""What the command line shows: trees that fit the width, short attribution tables, --json
documents that parse, fixed choices in --help, the report command."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

import agentsim as asim
from agentsim.cli import load_scenario
from agentsim.views.terminal import human_time, span_status
from tests.helpers import run_cli

JAEGER = Path(__file__).resolve().parents[1] / "../shared/data/traces/otel_genai_jaeger/helm.json"
SCENARIO = """
import agentsim as asim
scenario = asim.Scenario("views")
a = scenario.tool("a", p_ok=0.5, latency=1.0)
b = scenario.tool("b", p_ok=0.9, latency=0.25)

@scenario.agent
def main(ctx):
    x = yield ctx.call(a)
    return (yield ctx.call(b, x))
"""
SPAN_LINE = re.compile(
    r"  (agent|tool|llm|choice|wait|chain|step|other)  "
    r"(ok|FAILED|TIMEOUT|cancelled|unfinished)  -?[\d.]+ (µs|ms|s|min)"
)
needs_jaeger = pytest.mark.skipif(not JAEGER.is_file(), reason="shared Jaeger trace absent")


@pytest.fixture
def scenario_file(tmp_path: Path) -> Path:
    path = tmp_path / "sc.py"
    path.write_text(SCENARIO)
    return path


@needs_jaeger
@pytest.mark.parametrize("columns", [80, 100])
def test_show_fits_the_width_with_status_and_time_on_every_span(
    columns: int, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("COLUMNS", str(columns))
    code, out, _ = run_cli(["show", str(JAEGER)], capsys)
    assert code == 0
    lines = out.splitlines()
    assert max(len(line) for line in lines) <= columns
    trace = asim.load_trace(JAEGER)
    span_lines = [line for line in lines if SPAN_LINE.search(line)]
    assert len(span_lines) == len(trace.spans) == 96
    # the one failed HTTP call is visible with its status and error
    assert any("GET#0  other  FAILED" in line for line in span_lines)
    assert "error: HTTP 404" in out


@needs_jaeger
def test_show_filters(capsys: pytest.CaptureFixture[str]) -> None:
    trace = asim.load_trace(JAEGER)
    code, out, _ = run_cli(["show", str(JAEGER), "--failed", "--json"], capsys)
    assert code == 0
    spans = json.loads(out)["traces"][0]["spans"]
    failed = {s.address for s in trace.spans if not s.ok}
    shown = {s["address"] for s in spans}
    assert failed <= shown and all(  # failed spans plus the ancestors that lead to them
        s["status"] != "ok" or any(f.startswith(s["address"] + "/") for f in failed) for s in spans
    )
    code, out, _ = run_cli(["show", str(JAEGER), "--kinds", "llm", "--json"], capsys)
    kinds = [s["kind"] for s in json.loads(out)["traces"][0]["spans"]]
    assert kinds.count("llm") == 4 and set(kinds) <= {"llm", "chain", "agent", "other"}
    code, out, _ = run_cli(["show", str(JAEGER), "--depth", "1"], capsys)
    shallow = [s for s in trace.spans if s.parent is None or trace.span(s.parent).parent is None]
    hidden = 96 - len(shallow)
    assert code == 0 and f"({hidden} spans hidden by --depth, --failed or --kinds)" in out
    code, _, err = run_cli(["show", str(JAEGER), "--kinds", "lm"], capsys)
    assert code == 2 and "unknown kind 'lm'" in err


def test_show_a_scenario_file_points_to_run(
    scenario_file: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code, _, err = run_cli(["show", str(scenario_file)], capsys)
    assert code == 2 and "is a scenario file" in err and "agentsim run" in err


TWO = """
import agentsim as asim
scenario = asim.Scenario("top")
a, b = scenario.tool("a", p_ok=0.5), scenario.tool("b", p_ok=0.5)

@scenario.agent
def main(ctx):
    x, y = yield ctx.parallel(ctx.call(a), ctx.call(b))
    return x.ok and y.ok
"""


def test_attribute_top_k(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = tmp_path / "two.py"
    path.write_text(TWO)
    sc = load_scenario(str(path))  # in-process too, to find a run where both calls failed
    seed = next(s for s in range(99) if len(sc.run(seed=s).trace.failed()) == 3)
    code, out, _ = run_cli(["attribute", str(path), "--seed", str(seed), "--json"], capsys)
    doc = json.loads(out)
    assert code == 0 and doc["attribution"]["values"] == {"main#0/a#0": 0.5, "main#0/b#0": 0.5}
    args = ["attribute", str(path), "--seed", str(seed), "--top", "1"]
    code, out, _ = run_cli(args, capsys)
    rows = [line for line in out.splitlines() if re.match(r"  main#0/[ab]#0 +\+0\.5000$", line)]
    assert code == 0 and len(rows) == 1 and "... 1 more player (--top 1 shown)" in out
    assert re.search(r"exact\), \d+ evaluations?\n", out)


def test_attribute_hides_zero_rows_and_says_how_many(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    sc = asim.Scenario("z")
    a = sc.tool("a", p_ok=0.5, latency=1.0)
    b = sc.tool("b", p_ok=0.9, latency=1.0)

    @sc.agent
    def main(ctx):  # type: ignore[no-untyped-def]
        yield ctx.call(b)
        return (yield ctx.call(a))

    run = next(
        r
        for r in (sc.run(seed=s) for s in range(99))
        if not r.trace.span("main#0/a#0").ok and r.trace.span("main#0/b#0").ok
    )
    path = tmp_path / "run.json"
    asim.save_trace(run.trace, path)
    code, out, _ = run_cli(["attribute", str(path)], capsys)
    assert code == 0
    assert "main#0/a#0" in out and "main#0/b#0  " not in out
    assert "1 player with value 0 hidden (--all shows them)" in out
    code, out, _ = run_cli(["attribute", str(path), "--all"], capsys)
    assert "main#0/b#0  " in out


def test_enum_choices_are_listed_and_checked_before_simulating(
    scenario_file: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("COLUMNS", "200")
    code, out, _ = run_cli(["attribute", "--help"], capsys)
    assert code == 0 and "shapley|banzhaf|but-for|actual|decisive" in out
    assert "calls|agents|tools" in out

    def refuse(*args: object, **kwargs: object) -> None:
        raise AssertionError("simulated before checking the options")

    monkeypatch.setattr(asim.Scenario, "run", refuse)
    for args in (["--method", "lime"], ["--game", "nope"], ["--outcome", "speed"]):
        code, _, err = run_cli(["attribute", str(scenario_file), *args], capsys)
        assert code == 2 and err.startswith("agentsim: error: "), err


def test_version(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run_cli(["--version"], capsys)
    assert code == 0 and out.strip() == f"agentsim {asim.__version__}"


def test_run_and_whatif_json(scenario_file: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run_cli(["run", str(scenario_file), "-n", "50", "--json"], capsys)
    doc = json.loads(out)
    rate = doc["outcomes"]["success rate"]
    assert code == 0 and doc["runs"] == 50 and rate["low"] <= rate["value"] <= rate["high"]
    assert set(doc["outcomes"]["latency (mean)"]) == {"value", "low", "high", "p50", "p95"}
    args = ["whatif", str(scenario_file), "--do", "main#0/a#0:ok=false", "--json"]
    code, out, _ = run_cli(args, capsys)
    doc = json.loads(out)
    assert code == 0 and doc["counterfactual"]["success"] == 0.0
    assert doc["interventions"] == ["do(main#0/a#0, ok=False)"]


def test_human_times_and_status() -> None:
    assert [human_time(x) for x in (1.2, 0.34, 61.0)] == ["1.2 s", "340 ms", "1 min 1 s"]
    span = asim.Span(address="a", kind="tool", name="a", ok=False, error="timeout after 5 s")
    assert span_status(span) == "TIMEOUT"


def test_report_command(
    scenario_file: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    pytest.importorskip("plotly")
    page = tmp_path / "r.html"
    code, _, err = run_cli(
        ["report", str(scenario_file), "--seed", "3", "--out", str(page)], capsys
    )
    assert code == 0, err
    html = page.read_text()
    assert html.startswith("<!DOCTYPE html>") and "Timeline" in html and "Causal graph" in html
    code, _, err = run_cli(["report", str(scenario_file), "--out", str(page)], capsys)
    assert code == 2 and "already exists" in err
    code, _, err = run_cli(["report", str(scenario_file), "--out", str(tmp_path / "r.txt")], capsys)
    assert code == 2 and ".html" in err
    batch_page = tmp_path / "b.html"
    code, _, _ = run_cli(
        ["report", str(scenario_file), "-n", "40", "--out", str(batch_page)], capsys
    )
    assert code == 0 and "40 runs of" in batch_page.read_text()


def test_one_evaluation_is_singular() -> None:
    a = asim.Attribution(
        values={"x": 1.0},
        ci={"x": None},
        game="g",
        method="m",
        evaluations=1,
        v_empty=0.0,
        v_full=1.0,
        exact=True,
    )
    assert "; 1 evaluation;" in str(a)
