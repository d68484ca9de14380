"""``agentsim calibrate`` writes a twin module that ``agentsim run`` runs."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from tests.helpers import run_cli


@pytest.mark.slow
def test_calibrate_then_run_the_twin(
    corpus_path: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    twin = tmp_path / "twin.py"
    code, out, err = run_cli(
        ["calibrate", str(corpus_path), "--holdout", "0.2", "--out", str(twin), "-n", "2000"],
        capsys,
    )
    assert code == 0, err
    assert "search (tool, " in out
    held = int(re.search(r"fit check: (\d+) held-out traces", out).group(1))  # type: ignore[union-attr]
    assert 500 <= held <= 700  # a seeded 20% draw of 3000
    assert "run success rate" in out and "FAIL" not in out
    assert 'wf.retry(wf.call("search"), n=2)' in twin.read_text()
    code, out, err = run_cli(["run", str(twin), "--runs", "300"], capsys)
    assert code == 0, err
    assert "twin: 300 runs" in out


def test_calibrate_refuses_a_missing_corpus(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code, _, err = run_cli(
        ["calibrate", str(tmp_path / "nope.jsonl"), "--out", str(tmp_path / "t.py")], capsys
    )
    assert code == 2
    assert err.count("\n") == 1 and "does not exist" in err


def test_calibrate_refuses_a_bad_holdout(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code, _, err = run_cli(
        ["calibrate", "x.jsonl", "--holdout", "1.5", "--out", str(tmp_path / "t.py")], capsys
    )
    assert code == 2 and "holdout" in err
