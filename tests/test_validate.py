"""validate: accuracy, within-k, top-k and kappa against hand-computed values."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

import agentsim as asim
from agentsim.trace import Span, Trace
from agentsim.validate import cohen_kappa, load_claims, validate


def log(agents: str, mistake_agent: str, mistake_step: int) -> Trace:
    return Trace(
        source="whowhen",
        outcomes={"success": 0.0},
        attributes={"mistake_agent": mistake_agent, "mistake_step": mistake_step},
        spans=[Span(address="run#0", kind="agent", name="run")]
        + [
            Span(
                address=f"run#0/step#{i}",
                kind="step",
                name="step",
                parent="run#0",
                agent=a,
                attributes={"content": "..."},
            )
            for i, a in enumerate(agents)
        ],
    )


CORPUS = {
    "1.json": log("ABAB", "A", 0),
    "2.json": log("ABAB", "B", 3),
    "3.json": log("ABABAB", "A", 4),
    "4.json": log("AB", "B", 1),
}


def test_accuracy_within_k_and_kappa_by_hand() -> None:
    claims = {
        "1.json": {"agent": "A", "step": 0},  # exact
        "2.json": {"agent": "A", "step": 0},  # wrong agent, 3 steps off
        "3.json": [2, 4, 0],  # agent read from step 2 (A); top-2 holds 4
        "4.json": {"step": "run#0/step#1"},  # an address; agent B read from it
    }
    v = validate(CORPUS, claims, world_method="annotation", k=2)
    assert v.n == 4
    assert v.agent_accuracy == 0.75
    assert v.step_accuracy == 0.5
    assert v.within_k == 0.75  # distances 0, 3, 2, 0
    assert v.top_k == 0.75  # 1: [0]; 2: [0]; 3: [2, 4]; 4: [1]
    # claimed A A A B vs reference A B A B: p_o = 3/4, p_e = 3/4*1/2 + 1/4*1/2 = 1/2.
    assert v.kappa == pytest.approx(0.5)
    d = v.to_dict()
    assert d["traces"][1]["agent_match"] is False
    json.dumps(d)
    assert "agent 75.0%" in str(v)


def test_agreement_between_two_claim_sets(tmp_path: Path) -> None:
    judge = {"1.json": {"agent": "A", "step": 0}, "2.json": {"agent": "B", "step": 1}}
    other = {"1.json": {"agent": "B", "step": 1}, "2.json": {"agent": "B", "step": 1}}
    path = tmp_path / "claims.json"
    path.write_text(json.dumps(other))
    v = validate(CORPUS, judge, against=path)
    assert (v.n, v.reference, v.agent_accuracy, v.step_accuracy) == (2, "claims", 0.5, 0.5)
    # A B vs B B: p_o = 1/2, p_e = 1/2*1 + 1/2*0 ... = 1/2 -> kappa 0.
    assert v.kappa == pytest.approx(0.0)
    assert load_claims(path) == other


def test_cohen_kappa_known_values() -> None:
    assert cohen_kappa(list("aabb"), list("aabb")) == 1.0
    # p_o = 8/10, p_e = 0.5*0.3 + 0.5*0.7 = 0.5 -> (0.8 - 0.5) / 0.5 = 0.6
    assert cohen_kappa(list("aaaaabbbbb"), list("aaabbbbbbb")) == pytest.approx(0.6)
    assert cohen_kappa(list("aa"), list("aa")) is None


def test_single_trace_causal_checks() -> None:
    t = Trace(
        trace_id="t",
        outcomes={"success": 0.0},
        spans=[
            Span(address="a#0", kind="agent", name="a", end=3, ok=False, error="error"),
            Span(
                address="a#0/s#0",
                kind="tool",
                name="s",
                parent="a#0",
                agent="a",
                end=1,
                ok=False,
                error="timeout",
            ),
            Span(address="a#0/s#1", kind="tool", name="s", parent="a#0", agent="a", start=1, end=2),
            Span(
                address="a#0/f#0",
                kind="llm",
                name="f",
                parent="a#0",
                agent="a",
                start=2,
                end=3,
                ok=False,
                error="bad",
            ),
        ],
    )
    right = validate(t, claim={"agent": "a", "step": 2})
    (score,) = right.traces
    assert (score.but_for, score.actual_cause, score.shapley_rank) == (True, True, 1)
    assert score.shapley_value == pytest.approx(1.0)
    assert right.step_accuracy == 1.0  # the engine's decisive error is step 2
    wrong = validate(t, {"agent": "a", "step": 0}).traces[0]  # a recovered error
    assert (wrong.but_for, wrong.actual_cause, wrong.shapley_rank) == (False, False, 2)
    assert wrong.shapley_value == pytest.approx(0.0)
    assert "but-for cause: no" in str(validate(t, {"agent": "a", "step": 0}))


def test_bad_claims_are_explained() -> None:
    with pytest.raises(asim.AttributionError, match="neither a step index"):
        validate(CORPUS["1.json"], {"step": "nowhere"})
    with pytest.raises(asim.AttributionError, match="world_method"):
        validate(CORPUS, {}, world_method="oracle")
