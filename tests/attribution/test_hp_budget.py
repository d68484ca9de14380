"""Bounded Halpern-Pearl searches: a step budget, a bounded cache, monotone shortcuts.

The 17-voter questions used to enumerate about 3**16 contingency settings (a *no* voter under
the original and updated definitions), caching a value map for each, until the process ran
out of memory. Their answers follow from textbook reasoning, which is the oracle here: a vote
is monotone, so a *no* vote can never be what makes a motion pass (Chockler and Halpern, 2004,
sec. 3: voters for the loser have responsibility 0), and an 11-6 yes voter becomes critical
once two other yes votes are flipped (k = 2, responsibility 1/3). Each question is asked with
a small explicit budget, so a search that wandered would fail here rather than hang.
"""

from __future__ import annotations

import functools
from typing import Any

import pytest

from agentsim.attribution import _hp_search
from agentsim.attribution.actual_cause import (
    Definition,
    actual_causes,
    find_witness,
    is_actual_cause,
    responsibility,
)
from agentsim.errors import AttributionError
from agentsim.worlds.structural import StructuralModel

DEFINITIONS: tuple[Definition, ...] = ("original", "updated", "modified")


@functools.cache
def majority(yes: int, no: int) -> StructuralModel:
    names = [f"V{i}" for i in range(yes + no)]
    equations: dict[str, Any] = {n: None for n in names}
    equations["P"] = lambda v: int(sum(v[n] for n in names) > len(names) // 2)
    context = {n: int(i < yes) for i, n in enumerate(names)}
    domains = {v: [0, 1] for v in [*names, "P"]}
    return StructuralModel(equations, context, domains, parents={"P": names})


@pytest.mark.parametrize("definition", DEFINITIONS)
def test_a_no_voter_in_an_11_6_vote_is_no_cause_within_a_small_budget(
    definition: Definition,
) -> None:
    m = majority(11, 6)
    assert m.monotone()
    no_voter = {"V16": 0}
    assert not is_actual_cause(m, no_voter, {"P": 1}, definition=definition, budget=2_000)
    assert responsibility(m, no_voter, {"P": 1}, definition=definition, budget=2_000) == 0.0


@pytest.mark.parametrize("definition", ["original", "updated"])
def test_a_yes_voter_in_an_11_6_vote_needs_two_flipped_votes(definition: Definition) -> None:
    m = majority(11, 6)
    witness = find_witness(m, {"V0": 1}, {"P": 1}, definition=definition, budget=2_000)
    assert witness is not None
    assert sorted(witness.w.values()) == [0, 0] and set(witness.w) <= {f"V{i}" for i in range(11)}
    degree = responsibility(m, {"V0": 1}, {"P": 1}, definition=definition, budget=2_000)
    assert degree == pytest.approx(1 / 3)


def test_a_yes_voter_in_an_11_6_vote_is_part_of_a_three_vote_cause_when_modified() -> None:
    # Under the modified definition contingencies cannot flip votes: three yes votes must go
    # together (11 - 3 = 8 of 17 fails), so a single one is not a cause, and k = |X| = 3.
    m = majority(11, 6)
    assert not is_actual_cause(m, {"V0": 1}, {"P": 1}, definition="modified", budget=20_000)
    degree = responsibility(m, {"V0": 1}, {"P": 1}, definition="modified", budget=20_000)
    assert degree == pytest.approx(1 / 3)


def test_a_spent_budget_is_an_attribution_error_naming_it() -> None:
    with pytest.raises(AttributionError, match=r"budget of 5 steps.*budget="):
        responsibility(majority(11, 6), {"V0": 1}, {"P": 1}, definition="original", budget=5)


@pytest.mark.parametrize("bad", [0, -3, 1.5, True, "many"])
def test_a_bad_budget_is_refused(bad: Any) -> None:
    with pytest.raises(AttributionError, match="budget must be a positive number"):
        is_actual_cause(majority(3, 2), {"V0": 1}, {"P": 1}, budget=bad)


def test_the_evaluation_cache_stays_within_its_bound(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(_hp_search, "CACHE_SIZE", 8)
    m = majority(5, 4)
    search = _hp_search.Search(m, {"P": 1})
    for i in range(9):
        for x in (0, 1):
            search.evaluate({f"V{i}": x})
            assert len(search._cache) <= 8
    assert search.evaluations == 18


def test_sizes_beyond_the_candidates_are_not_enumerated() -> None:
    # Eight voters, all yes, a majority of five: the causes are the 70 sets of four voters.
    # max_size far beyond the 8 candidates gives the same list as max_size=8, at once.
    m = majority(8, 0)
    huge = actual_causes(m, {"P": 1}, max_size=10**6, definition="modified", budget=50_000)
    assert huge == actual_causes(m, {"P": 1}, max_size=8, definition="modified")
    assert len(huge) == 70


def test_a_non_monotone_model_gets_no_shortcut() -> None:
    # "P passes unless everyone votes yes": a yes vote at the top of its domain matters the
    # other way round, and a no voter here *is* a but-for cause of passing.
    names = ["A", "B", "C"]
    equations: dict[str, Any] = {n: None for n in names}
    equations["P"] = lambda v: int(not all(v[n] for n in names))
    m = StructuralModel(equations, {"A": 1, "B": 1, "C": 0}, {v: [0, 1] for v in [*names, "P"]})
    assert not m.monotone()
    for definition in DEFINITIONS:
        assert is_actual_cause(m, {"C": 0}, {"P": 1}, definition=definition)
