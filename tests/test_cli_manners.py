"""The command line with hostile or careless input: one line and exit 2, never a traceback;
output files written with care; nothing printed from a trace can drive the terminal."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

import agentsim as asim
from agentsim.run import Run
from tests.helpers import run_cli

SCENARIO = """
import agentsim as asim
scenario = asim.Scenario("manners")
a = scenario.tool("a", p_ok=0.5, latency=1.0)

@scenario.agent
def main(ctx):
    return (yield ctx.call(a))
"""
JAEGER = Path(__file__).resolve().parents[1] / "../shared/data/traces/otel_genai_jaeger/helm.json"


def one_line_error(code: int, err: str, *fragments: str) -> None:
    assert code == 2, err
    assert err.startswith("agentsim: error: ") and err.count("\n") == 1, err
    for fragment in fragments:
        assert fragment in err, err


@pytest.fixture
def scenario_file(tmp_path: Path) -> Path:
    path = tmp_path / "sc.py"
    path.write_text(SCENARIO)
    return path


def hostile_trace(tmp_path: Path) -> Path:
    """An OTLP-JSON-like Jaeger file whose span name holds a lone surrogate and escapes."""
    name = "evil\ud800\x1b]0;pwned\x07\u202eexe\x1b[2J"
    spans = [
        {
            "traceID": "t1",
            "spanID": f"s{i}",
            "operationName": "root" if i == 0 else name,
            "references": [] if i == 0 else [{"refType": "CHILD_OF", "spanID": "s0"}],
            "startTime": 1_000_000 + i,
            "duration": 1000,
            "tags": [{"key": "error", "type": "bool", "value": i == 1}],
            "processID": "p1",
        }
        for i in range(2)
    ]
    doc = {"data": [{"traceID": "t1", "spans": spans, "processes": {"p1": {"serviceName": "s"}}}]}
    path = tmp_path / "hostile.json"
    path.write_text(json.dumps(doc))  # json escapes the surrogate as \ud800
    return path


# -- item 11 and 13: surrogates and terminal escapes ------------------------------------
@pytest.mark.parametrize(
    "command", [["show"], ["attribute", "--all", "--over", "spans"], ["show", "--json"]]
)
def test_hostile_names_are_printed_escaped(
    command: list[str], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = hostile_trace(tmp_path)
    code, out, err = run_cli([*command, str(path)], capsys)
    assert code == 0, err
    for raw in ("\x1b", "\x07", "\u202e", "\ud800"):
        assert raw not in out and raw not in err
    if "--json" in command:
        names = [s["name"] for t in json.loads(out)["traces"] for s in t["spans"]]
        assert any(n.startswith("evil\ud800\x1b]0;pwned") for n in names)  # data kept exact
    else:
        assert "evil\\ud800\\x1b]0;pwned\\x07\\u202eexe\\x1b[2J" in out


def test_import_of_a_surrogate_name_is_one_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = hostile_trace(tmp_path)
    code, _, err = run_cli(["import", str(path), "--out", str(tmp_path / "o.json")], capsys)
    one_line_error(code, err, "not valid Unicode", "o.json")
    assert not (tmp_path / "o.json").exists()


@pytest.mark.parametrize("kind", ["not-utf8", "deep"])
@pytest.mark.parametrize("command", ["bench-score", "validate"])
def test_unreadable_json_is_one_line(
    kind: str, command: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    bad = tmp_path / "bad.json"
    if kind == "not-utf8":
        bad.write_bytes(b'{"1.json": "caf\xe9"}')
    else:
        bad.write_text("[" * 100_000 + "]" * 100_000)
    labels = tmp_path / "labels"
    labels.mkdir()
    (labels / "1.json").write_text(
        json.dumps(
            {"question": "q", "mistake_agent": "A", "mistake_step": "0", "history": [{"name": "A"}]}
        )
    )
    if command == "bench-score":
        args = ["bench", "score", str(bad), str(labels)]
    else:
        args = ["validate", str(labels), "--claims", str(bad), "--reference", "annotation"]
    code, _, err = run_cli(args, capsys)
    one_line_error(code, err, "bad.json")
    assert "Traceback" not in err


# -- item 14: streamed --out, deep chains ----------------------------------------------
def test_run_out_streams_one_trace_at_a_time(
    scenario_file: Path,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    events: list[str] = []
    original = Run.drop_records

    def drop(self: Run) -> None:
        events.append("drop")
        original(self)

    monkeypatch.setattr(Run, "drop_records", drop)
    dumps = asim.Trace.model_dump_json

    def dump(self: asim.Trace, **kw: object) -> str:
        events.append("write")
        return dumps(self, **kw)  # type: ignore[arg-type]

    monkeypatch.setattr(asim.Trace, "model_dump_json", dump)
    out = tmp_path / "runs.jsonl"
    code, _, err = run_cli(["run", str(scenario_file), "-n", "4", "--out", str(out)], capsys)
    assert code == 0, err
    assert events == ["write", "drop"] * 4  # never the whole file in memory
    assert len(out.read_text().splitlines()) == 4


def test_show_prints_every_span_of_a_500_deep_chain(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    spans = [
        asim.Span(
            address=f"s{i}",
            kind="tool",
            name=f"s{i}",
            parent=f"s{i - 1}" if i else None,
            start=float(i),
            end=float(i) + 1,
        )
        for i in range(500)
    ]
    path = tmp_path / "deep.json"
    asim.save_trace(asim.Trace(trace_id="deep", spans=spans), path)
    code, out, _ = run_cli(["show", str(path)], capsys)
    assert code == 0
    assert all(f"s{i}  tool  ok  1 s" in out for i in range(500))
    assert max(len(line) for line in out.splitlines()) <= 100  # deep levels fold, never widen


# -- item 15: --out manners -------------------------------------------------------------
def test_existing_out_needs_force(
    scenario_file: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    target = tmp_path / "runs.jsonl"
    target.write_text("keep me\n")
    code, _, err = run_cli(["run", str(scenario_file), "-n", "2", "--out", str(target)], capsys)
    one_line_error(code, err, "already exists", "--force")
    assert target.read_text() == "keep me\n"
    args = ["run", str(scenario_file), "-n", "2", "--out", str(target), "--force"]
    code, _, _ = run_cli(args, capsys)
    assert code == 0 and len(target.read_text().splitlines()) == 2


def test_run_out_is_checked_before_simulating(
    scenario_file: Path,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    def refuse(*args: object, **kwargs: object) -> None:
        raise AssertionError("simulated before checking --out")

    monkeypatch.setattr(asim.Scenario, "simulate", refuse)
    code, _, err = run_cli(["run", str(scenario_file), "-n", "3", "--out", "x.json"], capsys)
    one_line_error(code, err, "'x.json'", ".jsonl")
    blocker = tmp_path / "file"
    blocker.write_text("")
    code, _, err = run_cli(
        ["run", str(scenario_file), "-n", "3", "--out", str(blocker / "r.jsonl")], capsys
    )
    one_line_error(code, err, str(blocker / "r.jsonl"))
    assert ".tmp" not in err


def test_out_written_through_a_symlink_with_umask_mode(
    scenario_file: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    real = tmp_path / "real.jsonl"
    link = tmp_path / "link.jsonl"
    link.symlink_to(real)
    old = os.umask(0o027)
    try:
        code, _, err = run_cli(["run", str(scenario_file), "-n", "2", "--out", str(link)], capsys)
    finally:
        os.umask(old)
    assert code == 0, err
    assert link.is_symlink() and len(real.read_text().splitlines()) == 2
    assert real.stat().st_mode & 0o777 == 0o640


# -- item 16: smaller manners ------------------------------------------------------------
def test_a_bare_name_is_not_imported_unless_asked(capsys: pytest.CaptureFixture[str]) -> None:
    sys.modules.pop("antigravity", None)
    code, _, err = run_cli(["attribute", "antigravity"], capsys)
    one_line_error(code, err, "no scenario file 'antigravity'", "--module")
    assert "antigravity" not in sys.modules


def test_validate_on_an_empty_folder_exits_2(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    claims = tmp_path / "claims.json"
    claims.write_text("{}")
    (tmp_path / "empty").mkdir()
    code, _, err = run_cli(["validate", str(tmp_path / "empty"), "--claims", str(claims)], capsys)
    one_line_error(code, err, "holds no trace file")


def test_bench_score_without_labels_says_so(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (tmp_path / "labels").mkdir()
    (tmp_path / "preds.json").write_text("[]")
    code, out, err = run_cli(
        ["bench", "score", str(tmp_path / "preds.json"), str(tmp_path / "labels")], capsys
    )
    assert "nan" not in out + err
    one_line_error(code, err, "no labelled item")


def test_claims_keyed_to_unknown_traces_are_reported(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    folder = tmp_path / "logs"
    folder.mkdir()
    for i in (1, 2):
        history = [{"name": "AB"[j % 2], "content": ""} for j in range(4)]
        log = {"question": "q", "mistake_agent": "A", "mistake_step": "0", "history": history}
        (folder / f"{i}.json").write_text(json.dumps(log))
    claims = tmp_path / "claims.json"
    claim = {"agent": "A", "step": 0}
    claims.write_text(json.dumps({"1.json": claim, "9.json": claim, "typo": claim}))
    args = ["validate", str(folder), "--claims", str(claims), "--reference", "annotation"]
    code, out, _ = run_cli(args, capsys)
    assert code == 0 and "2 claim(s) name no trace and were not scored: '9.json', 'typo'" in out
    code, out, _ = run_cli([*args, "--json"], capsys)
    assert json.loads(out)["unmatched"] == ["9.json", "typo"]


def test_bench_generate_suggests_the_flag(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    def refuse(*args: object, **kwargs: object) -> None:
        raise AssertionError("simulated before checking the folder")

    monkeypatch.setattr(asim.bench, "generate", refuse)
    out_dir = tmp_path / "bench"
    out_dir.mkdir()
    (out_dir / "1.json").write_text("{}")
    args = [
        "bench",
        "generate",
        "scenarios.support_desk",
        "--fault",
        "set_params:planner:p_ok=0.7",
        "--out",
        str(out_dir),
        "--runs",
        "2",
    ]
    code, _, err = run_cli(args, capsys)
    one_line_error(code, err, "--overwrite")
    assert "overwrite=True" not in err


@pytest.mark.slow
def test_sigint_exits_130_with_one_line(scenario_file: Path, tmp_path: Path) -> None:
    ready = tmp_path / "ready"
    scenario_file.write_text(SCENARIO + f"\nopen({str(ready)!r}, 'w').close()\n")
    proc = subprocess.Popen(
        [sys.executable, "-m", "agentsim.cli", "run", str(scenario_file), "-n", "100000000"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    while not ready.exists() and proc.poll() is None:
        time.sleep(0.05)  # polling for a file, not a time limit
    proc.send_signal(signal.SIGINT)
    _, err = proc.communicate(timeout=120)
    assert proc.returncode == 130
    assert err.strip() == "agentsim: interrupted"
