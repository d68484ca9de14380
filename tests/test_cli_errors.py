"""The command line on bad input: one line on standard error, exit status 2, no traceback.

Scenario files that fail to import and directories given where one file is expected.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from agentsim.cli import load_scenario
from tests.helpers import run_cli

SCENARIO = """
import agentsim as asim
scenario = asim.Scenario("cli-errors")
a = scenario.tool("a", p_ok=0.5, latency=1.0)

@scenario.agent
def main(ctx):
    return (yield ctx.call(a))
"""


def assert_one_line_error(code: int, err: str, *fragments: str) -> None:
    assert code == 2, err
    assert err.startswith("agentsim: error: ") and err.count("\n") == 1, err
    assert "Traceback" not in err
    for fragment in fragments:
        assert fragment in err


@pytest.mark.parametrize(
    "source, fragments",
    [
        (
            "raise RuntimeError('boom')\n",
            ["at line 1: RuntimeError: boom", "fix the scenario file"],
        ),
        ("x = 1\ndef f(:\n    pass\n", ["SyntaxError", "line 2", "fix the scenario file"]),
        (
            "import agentsim_no_such_module_here\n",
            ["ModuleNotFoundError: No module named 'agentsim_no_such_module_here'"],
        ),
        ("settings = {}\nsettings['missing']\n", ["at line 2: KeyError: 'missing'"]),
        ("raise ValueError('first line\\nsecond line')\n", ["first line second line; fix"]),
        (
            "import agentsim as asim\nasim.Scenario('s').tool('a', p_ok=2.0)\n",
            ["failed to import at line 2", "p_ok=2.0"],
        ),
        ("x = 1\n", ["defines no `scenario`", "add `scenario = ...`"]),
    ],
    ids=["runtime", "syntax", "missing-module", "keyerror", "multiline", "agentsim", "none"],
)
def test_a_scenario_file_that_fails_to_import_is_one_line(
    source: str, fragments: list[str], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "broken.py"
    path.write_text(source)
    code, _, err = run_cli(["run", str(path), "--runs", "2"], capsys)
    assert_one_line_error(code, err, repr(str(path)), *fragments)


def test_a_failed_import_leaves_no_half_module_behind(tmp_path: Path) -> None:
    path = tmp_path / "broken.py"
    path.write_text("half = 1\nraise RuntimeError('boom')\n")
    before = set(sys.modules)
    with pytest.raises(Exception, match="failed to import"):
        load_scenario(str(path))
    assert {m for m in set(sys.modules) - before if m.startswith("_agentsim_scenario_")} == set()


@pytest.mark.parametrize("exc", ["KeyboardInterrupt()", "SystemExit(7)"])
def test_interrupts_and_exits_are_not_swallowed(exc: str, tmp_path: Path) -> None:
    path = tmp_path / "stops.py"
    path.write_text(f"raise {exc}\n")
    with pytest.raises((KeyboardInterrupt, SystemExit)) as info:
        load_scenario(str(path))
    assert type(info.value).__name__ == exc.partition("(")[0]


def test_a_scenario_module_that_fails_to_import_is_one_line(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    (tmp_path / "agentsim_test_broken_scenario.py").write_text("raise RuntimeError('boom')\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    code, _, err = run_cli(["run", "--module", "agentsim_test_broken_scenario"], capsys)
    assert_one_line_error(
        code, err, "scenario module 'agentsim_test_broken_scenario'", "RuntimeError: boom"
    )


def test_an_unknown_module_name_says_what_to_give(capsys: pytest.CaptureFixture[str]) -> None:
    code, _, err = run_cli(["run", "agentsim_no_such_scenario_module"], capsys)
    assert_one_line_error(
        code, err, "'agentsim_no_such_scenario_module'", "give a path to a .py file"
    )


@pytest.mark.parametrize(
    "args", [["run"], ["whatif", "--do", "main#0/a#0:ok=true"]], ids=["run", "whatif"]
)
def test_a_directory_is_not_a_scenario(
    args: list[str], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (tmp_path / "sc.py").write_text(SCENARIO)
    code, _, err = run_cli([args[0], str(tmp_path), *args[1:]], capsys)
    assert_one_line_error(code, err, repr(str(tmp_path)), "is a directory")
    assert "does not exist" not in err


@pytest.mark.parametrize("command", ["show", "import", "attribute"])
def test_a_directory_is_not_a_trace_file(
    command: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # a readable trace deep below: the commands used to walk the tree and find it
    nested = tmp_path / "a" / "b"
    nested.mkdir(parents=True)
    (nested / "1.json").write_text(json.dumps({"question": "q", "history": []}))
    code, _, err = run_cli([command, str(tmp_path)], capsys)
    assert_one_line_error(code, err, repr(str(tmp_path)), "is a directory", "give a trace file")


def test_the_installed_command_prints_no_traceback(tmp_path: Path) -> None:
    path = tmp_path / "broken.py"
    path.write_text("import agentsim_no_such_module_here\n")
    done = subprocess.run(
        [sys.executable, "-m", "agentsim.cli", "run", str(path)],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 2
    assert done.stderr.count("\n") == 1 and "Traceback" not in done.stderr
    assert str(path) in done.stderr and "ModuleNotFoundError" in done.stderr
