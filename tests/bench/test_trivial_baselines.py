"""Trivial Who&When baselines, scored beside the locator on the same logs."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from agentsim.bench.trivial import (
    Comparison,
    author_before_first_error,
    compare_on_whowhen,
    first_reply,
    last_speaker,
)
from agentsim.trace import Span, Trace

WHOWHEN = Path(__file__).resolve().parents[3] / "shared" / "data" / "whowhen-dev"


def log(*steps: tuple[str, str]) -> Trace:
    return Trace(
        source="whowhen",
        spans=[
            Span(
                address=f"run#0/step#{i}",
                kind="step",
                name="step",
                agent=a,
                attributes={"content": c},
            )
            for i, (a, c) in enumerate(steps)
        ],
    )


def test_each_rule_on_a_hand_made_log() -> None:
    t = log(
        ("human", "what is 2+2?"),
        ("Planner", "ask the coder"),
        ("Coder", "print(2+2)"),
        ("Terminal", "exitcode: 1 (execution failed)"),
        ("Coder", "the answer is 5"),
        ("Planner", "TERMINATE"),
    )
    assert first_reply(t) == ("Planner", 1)
    assert last_speaker(t) == ("Planner", 5)
    assert author_before_first_error(t) == ("Coder", 2)
    # without an error word the rule falls back to the last speaker
    assert author_before_first_error(log(("A", "fine"), ("B", "also fine"))) == ("B", 1)


def write_logs(folder: Path) -> None:
    sub = folder / "Mini"
    sub.mkdir(parents=True)
    logs = [  # the mistake is always the first reply: the baseline gets both right
        [
            ("human", "task"),
            ("Coder", "wrong code"),
            ("Terminal", "exitcode: 1"),
            ("Coder", "fixed, result 3"),
        ],
        [("human", "task"), ("Searcher", "made up a number"), ("Coder", "result is 7")],
    ]
    for k, history in enumerate(logs):
        doc = {
            "question": "q",
            "ground_truth": "x",
            "mistake_agent": history[1][0],
            "mistake_step": "1",
            "mistake_reason": "",
            "history": [{"role": a, "content": c} for a, c in history],
        }
        (sub / f"{k}.json").write_text(json.dumps(doc))


def test_compare_scores_every_method_on_the_same_logs(tmp_path: Path) -> None:
    write_logs(tmp_path)
    c = compare_on_whowhen(tmp_path)
    assert c.counts == {"Mini": 2}
    assert c.agent[("Mini", "first reply")] == 1.0 and c.step[("Mini", "first reply")] == 1.0
    assert c.step[("Mini", "last speaker")] == 0.0
    text = str(c)
    assert "first reply" in text and "locator" in text
    if c.step[("Mini", "locator")] < 1.0:
        assert "'first reply' beats the locator on step" in text


def test_not_beaten_says_ties_and_wins_plainly() -> None:
    c = Comparison(
        counts={"S": 4},
        agent={
            ("S", "locator"): 0.5,
            ("S", "first reply"): 0.5,
            ("S", "last speaker"): 0.25,
            ("S", "author before first error"): 0.75,
        },
        step={
            ("S", "locator"): 0.5,
            ("S", "first reply"): 0.0,
            ("S", "last speaker"): 0.0,
            ("S", "author before first error"): 0.25,
        },
    )
    assert c.not_beaten() == [
        "S: 'first reply' ties the locator on agent (50.0% vs 50.0%)",
        "S: 'author before first error' beats the locator on agent (75.0% vs 50.0%)",
    ]


@pytest.mark.skipif(not WHOWHEN.is_dir(), reason="shared data folder is absent")
def test_on_the_dev_logs_the_table_in_the_readme_is_what_bench_computes() -> None:
    c = compare_on_whowhen(WHOWHEN)
    readme = (Path(__file__).resolve().parents[2] / "README.md").read_text()
    for subset, n in c.counts.items():
        for method in c.methods():
            row = f"| {subset} ({n} logs) | {method} | {c.agent[(subset, method)]:.1%} | "
            assert row + f"{c.step[(subset, method)]:.1%} |" in readme
