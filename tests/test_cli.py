"""The command line: every command's happy path and one-line errors with exit status 2."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.helpers import run_cli

SCENARIO = """
import agentsim as asim
scenario = asim.Scenario("cli-demo")
a = scenario.tool("a", p_ok=0.5, latency=1.0)
b = scenario.tool("b", p_ok=0.9, latency=2.0)

@scenario.agent
def main(ctx):
    x = yield ctx.call(a)
    return (yield ctx.call(b, x))
"""


@pytest.fixture
def scenario_file(tmp_path: Path) -> Path:
    p = tmp_path / "sc.py"
    p.write_text(SCENARIO)
    return p


def test_run_prints_summary_and_writes_traces(
    scenario_file: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out_file = tmp_path / "runs.jsonl"
    code, out, _ = run_cli(
        ["run", str(scenario_file), "--runs", "200", "--seed", "1", "--out", str(out_file)], capsys
    )
    assert code == 0
    assert "success rate" in out and "cli-demo: 200 runs" in out
    lines = out_file.read_text().splitlines()
    assert len(lines) == 200 and json.loads(lines[0])["scenario"] == "cli-demo"


def test_show_prints_a_tree(
    scenario_file: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out_file = tmp_path / "one.jsonl"
    run_cli(["run", str(scenario_file), "--runs", "1", "--out", str(out_file)], capsys)
    code, out, _ = run_cli(["show", str(out_file)], capsys)
    # local names under their parent, each with kind, status and time
    assert code == 0 and "main#0  agent  FAILED  3 s" in out
    assert "├─ a#0  tool  FAILED" in out and "└─ b#0  tool  FAILED  2 s" in out


def test_whatif_prints_factual_counterfactual_and_diff(
    scenario_file: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code, out, _ = run_cli(
        ["whatif", str(scenario_file), "--seed", "3", "--do", "main#0/a#0:ok=false"], capsys
    )
    assert code == 0
    assert "factual" in out and "counterfactual" in out
    assert "do(main#0/a#0, ok=False)" in out


def test_attribute_scenario_and_trace(
    scenario_file: Path, shared_data: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code, out, _ = run_cli(["attribute", str(scenario_file), "--seed", "2"], capsys)
    assert code == 0 and "Attribution" in out
    trace = shared_data / "traces" / "langfuse_export" / "google-adk-2025-08-28.trace.json"
    code, out, _ = run_cli(["attribute", str(trace), "--outcome", "latency"], capsys)
    assert code == 0 and "baseline" in out


@pytest.mark.parametrize(
    "args, fragment",
    [
        (["run", "missing.py"], "does not exist"),
        (["run", "json"], "pass --module to import the Python module 'json'"),
        (["run", "-m", "json"], "defines no `scenario`"),
        (["run", "x.py", "--runs", "zero"], "--runs"),
        (["show", "nope.json"], "does not exist"),
        (["whatif", "sc.py", "--do", "main#0/a#0:colour=red"], "unknown field"),
        (["frobnicate"], "No such command"),
    ],
)
def test_user_errors_are_one_line_and_exit_2(
    args: list[str],
    fragment: str,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    monkeypatch.chdir(tmp_path)
    (tmp_path / "sc.py").write_text(SCENARIO)
    code, _, err = run_cli(args, capsys)
    assert code == 2
    assert err.count("\n") == 1 and err.startswith("agentsim: error: ")
    assert fragment in err


def test_malformed_trace_is_a_one_line_error(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    bad = tmp_path / "bad.json"
    bad.write_text('{"resourceSpans": [{"scopeSpans": [{"spans": [{"spanId": 3}]}]}]')
    code, _, err = run_cli(["show", str(bad)], capsys)
    assert code == 2 and err.count("\n") == 1 and "bad.json" in err


def test_help_exits_zero(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run_cli(["--help"], capsys)
    assert code == 0 and "whatif" in out


def test_bench_generate_then_score(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out_dir = tmp_path / "bench"
    code, out, _ = run_cli(
        [
            "bench",
            "generate",
            "agentsim.scenarios.support_desk",
            "--fault",
            "set_params:planner:p_ok=0.7",
            "--out",
            str(out_dir),
            "--runs",
            "8",
        ],
        capsys,
    )
    assert code == 0 and "8 labelled failures" in out
    assert sorted(p.name for p in out_dir.iterdir())[:2] == ["1.json", "2.json"]
    code, out, _ = run_cli(["bench", "score", str(out_dir), str(out_dir)], capsys)
    assert code == 0 and "agent 100.0%, step 100.0%" in out


def test_validate_command(
    shared_data: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    claims = tmp_path / "claims.json"
    claims.write_text(json.dumps({"1.json": {"agent": "Excel_Expert", "step": 0}}))
    folder = shared_data / "whowhen-dev" / "Algorithm-Generated"
    code, out, _ = run_cli(
        ["validate", str(folder), "--claims", str(claims), "--reference", "annotation"], capsys
    )
    assert code == 0 and "scored against annotation" in out


def test_bracketed_names_survive_printing(
    shared_data: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    trace = shared_data / "traces" / "langfuse_export" / "google-adk-2025-08-28.trace.json"
    code, out, _ = run_cli(["show", str(trace)], capsys)
    assert code == 0 and "invocation_[hello_app]#0" in out
    code, out, _ = run_cli(["attribute", str(trace), "--outcome", "latency"], capsys)
    assert code == 0 and "agent_run_[hello_agent]#0/call_llm#0" in out
