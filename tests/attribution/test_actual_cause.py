"""Halpern-Pearl actual causation on the textbook examples, with their textbook values."""

from __future__ import annotations

from collections.abc import Hashable, Mapping
from typing import Any

import pytest

from agentsim.attribution.actual_cause import (
    Cause,
    Definition,
    Witness,
    actual_causes,
    but_for_variables,
    find_witness,
    is_actual_cause,
    responsibility,
)
from agentsim.errors import AttributionError
from agentsim.worlds.structural import StructuralModel

DEFINITIONS: tuple[Definition, ...] = ("original", "updated", "modified")
BINARY = [0, 1]


def binary_model(equations: Mapping[str, Any], context: Mapping[str, int]) -> StructuralModel:
    return StructuralModel(equations, context, {v: BINARY for v in equations})


def forest_fire(kind: str) -> StructuralModel:
    if kind == "disjunctive":
        fire = lambda v: int(v["L"] or v["MD"])  # noqa: E731
    else:
        fire = lambda v: int(v["L"] and v["MD"])  # noqa: E731
    return binary_model({"L": None, "MD": None, "FF": fire}, {"L": 1, "MD": 1})


def rock_throwing() -> StructuralModel:
    return binary_model(
        {
            "ST": None,
            "BT": None,
            "SH": lambda v: v["ST"],
            "BH": lambda v: int(v["BT"] and not v["SH"]),
            "BS": lambda v: int(v["SH"] or v["BH"]),
        },
        {"ST": 1, "BT": 1},
    )


def voting(yes: int, no: int) -> StructuralModel:
    names = [f"V{i}" for i in range(yes + no)]
    equations: dict[str, Any] = {n: None for n in names}
    equations["P"] = lambda v: int(sum(v[n] for n in names) > 4)
    context = {n: int(i < yes) for i, n in enumerate(names)}
    return binary_model(equations, context)


def double_prevention() -> StructuralModel:
    # Suzy flies a bombing mission (SM); the enemy shoots her down (ES) unless Billy shoots
    # the enemy first (BS); the target is bombed (TD) if she flies and is not shot down.
    return binary_model(
        {
            "SM": None,
            "BS": None,
            "ES": lambda v: int(v["SM"] and not v["BS"]),
            "TD": lambda v: int(v["SM"] and not v["ES"]),
        },
        {"SM": 1, "BS": 1},
    )


# -- forest fires ---------------------------------------------------------------------------


def test_disjunctive_fire_modified_needs_the_conjunction() -> None:
    m = forest_fire("disjunctive")
    assert not is_actual_cause(m, {"L": 1}, {"FF": 1}, definition="modified")
    assert not is_actual_cause(m, {"MD": 1}, {"FF": 1}, definition="modified")
    assert is_actual_cause(m, {"L": 1, "MD": 1}, {"FF": 1}, definition="modified")
    assert responsibility(m, {"L": 1}, {"FF": 1}, definition="modified") == 0.5
    assert responsibility(m, {"MD": 1}, {"FF": 1}, definition="modified") == 0.5


@pytest.mark.parametrize("definition", ["original", "updated"])
def test_disjunctive_fire_original_and_updated_each_alone(definition: Definition) -> None:
    m = forest_fire("disjunctive")
    for var, other in (("L", "MD"), ("MD", "L")):
        assert is_actual_cause(m, {var: 1}, {"FF": 1}, definition=definition)
        witness = find_witness(m, {var: 1}, {"FF": 1}, definition=definition)
        assert witness == Witness(w={other: 0}, x_prime={var: 0}, z=(var, "FF"))
        assert responsibility(m, {var: 1}, {"FF": 1}, definition=definition) == 0.5
    # AC3: the conjunction is not minimal when each conjunct is a cause.
    assert not is_actual_cause(m, {"L": 1, "MD": 1}, {"FF": 1}, definition=definition)


@pytest.mark.parametrize("definition", DEFINITIONS)
def test_conjunctive_fire_each_is_a_cause_with_full_responsibility(definition: Definition) -> None:
    m = forest_fire("conjunctive")
    for var in ("L", "MD"):
        assert is_actual_cause(m, {var: 1}, {"FF": 1}, definition=definition)
        assert responsibility(m, {var: 1}, {"FF": 1}, definition=definition) == 1.0
        assert find_witness(m, {var: 1}, {"FF": 1}, definition) == Witness(
            w={}, x_prime={var: 0}, z=(var, "FF") if definition != "modified" else ()
        )


# -- preemption -----------------------------------------------------------------------------


@pytest.mark.parametrize("definition", DEFINITIONS)
def test_rock_throwing_suzy_is_the_cause_not_billy(definition: Definition) -> None:
    m = rock_throwing()
    assert is_actual_cause(m, {"ST": 1}, {"BS": 1}, definition=definition)
    assert not is_actual_cause(m, {"BT": 1}, {"BS": 1}, definition=definition)
    assert responsibility(m, {"BT": 1}, {"BS": 1}, definition=definition) == 0.0


# Chockler and Halpern (2004), Definition 3.1, in our words (the wording is not checked
# against the paper here): the degree of responsibility of X = x for phi in (M, u) is 0 when
# X = x is not a cause; otherwise 1/(k+1), where k is the least number of variables of W whose
# values in the witness w differ from their values in the context u, over every partition
# (Z, W) and setting (x', w) for which AC2 holds.
# Suzy's witness holds Billy's hit at its actual value 0: no value differs, k = 0.
@pytest.mark.parametrize("definition", ["original", "updated"])
def test_rock_throwing_suzy_has_full_responsibility_under_chockler_halpern(
    definition: Definition,
) -> None:
    assert responsibility(rock_throwing(), {"ST": 1}, {"BS": 1}, definition=definition) == 1.0


# Halpern (2016), ch. 6, for the modified definition: 1/k with k the least |X| + |W| over causes
# containing the conjunct: ST = 1 with W = {BH} gives k = 2.
def test_rock_throwing_suzy_has_half_responsibility_under_the_modified_definition() -> None:
    assert responsibility(rock_throwing(), {"ST": 1}, {"BS": 1}, definition="modified") == 0.5


def test_rock_throwing_modified_witness_freezes_billys_hit() -> None:
    witness = find_witness(rock_throwing(), {"ST": 1}, {"BS": 1}, definition="modified")
    assert witness == Witness(w={"BH": 0}, x_prime={"ST": 0}, z=())


def test_rock_throwing_has_no_but_for_cause() -> None:
    # Take away Suzy's throw, or her rock's hit, and Billy's rock breaks the bottle anyway.
    assert but_for_variables(rock_throwing(), {"BS": 1}) == []
    assert but_for_variables(forest_fire("conjunctive"), {"FF": 1}) == ["L", "MD"]


@pytest.mark.parametrize("definition", DEFINITIONS)
def test_rock_throwing_actual_causes_exclude_billy(definition: Definition) -> None:
    causes = actual_causes(rock_throwing(), {"BS": 1}, definition=definition)
    assert [c.variables for c in causes] == [{"ST": 1}, {"SH": 1}]
    # each holds BH at its actual 0: CH04 counts no change, the modified rule counts |X|+|W|
    expected = 0.5 if definition == "modified" else 1.0
    assert [c.responsibility for c in causes] == [expected, expected]
    assert all(c.definition == definition for c in causes)


# -- voting ---------------------------------------------------------------------------------


@pytest.mark.parametrize("definition", DEFINITIONS)
@pytest.mark.parametrize(("yes", "no", "expected"), [(8, 0, 0.25), (7, 1, 1 / 3), (5, 3, 1.0)])
def test_voting_responsibility(definition: Definition, yes: int, no: int, expected: float) -> None:
    m = voting(yes, no)
    assert responsibility(m, {"V0": 1}, {"P": 1}, definition=definition) == pytest.approx(expected)


def test_voting_no_voter_has_no_responsibility() -> None:
    m = voting(7, 1)
    for definition in DEFINITIONS:
        assert responsibility(m, {"V7": 0}, {"P": 1}, definition=definition) == 0.0


def test_voting_modified_causes_are_four_yes_votes() -> None:
    causes = actual_causes(voting(8, 0), {"P": 1}, max_size=4, definition="modified")
    assert len(causes) == 70  # every 4 of the 8 voters
    assert all(len(c.variables) == 4 and c.responsibility == 0.25 for c in causes)
    assert actual_causes(voting(8, 0), {"P": 1}, max_size=3, definition="modified") == []


def test_voting_original_witness_flips_three_votes() -> None:
    witness = find_witness(voting(8, 0), {"V0": 1}, {"P": 1}, definition="original")
    assert witness is not None
    assert len(witness.w) == 3 and set(witness.w.values()) == {0}


# -- double prevention ----------------------------------------------------------------------


@pytest.mark.parametrize("definition", DEFINITIONS)
def test_double_prevention_billys_shot_causes_the_bombing(definition: Definition) -> None:
    m = double_prevention()
    assert m.values() == {"SM": 1, "BS": 1, "ES": 0, "TD": 1}
    assert is_actual_cause(m, {"BS": 1}, {"TD": 1}, definition=definition)
    assert responsibility(m, {"BS": 1}, {"TD": 1}, definition=definition) == 1.0
    assert is_actual_cause(m, {"ES": 0}, {"TD": 1}, definition=definition)


# -- other behaviour ------------------------------------------------------------------------


def test_ac1_fails_for_counterfactual_values_and_absent_effects() -> None:
    m = forest_fire("conjunctive")
    for definition in DEFINITIONS:
        assert not is_actual_cause(m, {"L": 0}, {"FF": 1}, definition=definition)
        assert not is_actual_cause(m, {"L": 1}, {"FF": 0}, definition=definition)
        assert responsibility(m, {"L": 1}, {"FF": 0}, definition=definition) == 0.0
    assert actual_causes(m, {"FF": 0}) == []


def test_non_ancestors_are_never_causes() -> None:
    m = binary_model(
        {"A": None, "B": None, "Y": lambda v: v["A"], "Z": lambda v: v["Y"]},
        {"A": 1, "B": 1},
    )
    for definition in DEFINITIONS:
        assert not is_actual_cause(m, {"B": 1}, {"Y": 1}, definition=definition)
        assert not is_actual_cause(m, {"Z": 1}, {"Y": 1}, definition=definition)
        assert not is_actual_cause(m, {"A": 1, "B": 1}, {"Y": 1}, definition=definition)
        assert responsibility(m, {"B": 1}, {"Y": 1}, definition=definition) == 0.0


def test_callable_effect_is_a_predicate_on_all_values() -> None:
    m = forest_fire("disjunctive")
    burnt = lambda values: values["FF"] == 1  # noqa: E731
    assert is_actual_cause(m, {"L": 1}, burnt, definition="updated")
    assert not is_actual_cause(m, {"L": 1}, burnt, definition="modified")
    assert is_actual_cause(m, {"L": 1, "MD": 1}, burnt, definition="modified")
    # With a predicate no variable is excluded, so FF = 1 causes itself.
    found = [c.variables for c in actual_causes(m, burnt, definition="original")]
    assert found == [{"L": 1}, {"MD": 1}, {"FF": 1}]


def test_non_binary_domains_use_every_alternative_value() -> None:
    # The alarm sounds at smoke level 2 only; the fire's size S is 0, 1 or 2.
    m = StructuralModel(
        equations={"S": None, "A": lambda v: int(v["S"] == 2)},
        context={"S": 2},
        domains={"S": [0, 1, 2], "A": BINARY},
    )
    witness = find_witness(m, {"S": 2}, {"A": 1})
    assert witness == Witness(w={}, x_prime={"S": 0}, z=())
    # Smoke level 1 is not actual, so it cannot be a cause (AC1).
    assert not is_actual_cause(m, {"S": 1}, {"A": 1})


def test_candidates_restrict_the_enumeration() -> None:
    causes = actual_causes(rock_throwing(), {"BS": 1}, definition="updated", candidates=["BT"])
    assert causes == []
    with pytest.raises(AttributionError, match="unknown variable 'SX'"):
        actual_causes(rock_throwing(), {"BS": 1}, candidates=["SX"])


def test_cause_is_readable_and_hashable() -> None:
    (cause,) = actual_causes(forest_fire("disjunctive"), {"FF": 1})
    assert isinstance(cause, Cause)
    assert str(cause) == "L=1 ∧ MD=1 (modified HP; responsibility 0.5; W={}, x'={L=0, MD=0})"
    assert len({cause, cause}) == 1


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"cause": {"LL": 1}}, "unknown variable 'LL'.*did you mean 'L'"),
        ({"cause": {"L": 5}}, r"sets 'L' to 5, outside its domain \[0, 1\]"),
        ({"cause": {}}, "cause must be a non-empty mapping"),
        ({"effect": {"F": 1}}, "effect names unknown variable 'F'"),
        ({"definition": "modifed"}, "unknown definition 'modifed'.*did you mean 'modified'"),
    ],
)
def test_malformed_questions_raise(kwargs: Mapping[str, Any], message: str) -> None:
    question: dict[str, Any] = {"cause": {"L": 1}, "effect": {"FF": 1}, "definition": "modified"}
    question.update(kwargs)
    with pytest.raises(AttributionError, match=message):
        is_actual_cause(forest_fire("disjunctive"), **question)


def test_a_world_without_variables_is_refused() -> None:
    with pytest.raises(AttributionError, match="needs a FiniteWorld"):
        is_actual_cause(object(), {"L": 1}, {"FF": 1})  # type: ignore[arg-type]
    with pytest.raises(AttributionError, match="max_size must be an int of at least 1"):
        actual_causes(forest_fire("disjunctive"), {"FF": 1}, max_size=0)


# -- search effort --------------------------------------------------------------------------


class CountingWorld:
    """A FiniteWorld that counts calls to ``evaluate``."""

    def __init__(self, model: StructuralModel) -> None:
        self.model = model
        self.calls = 0

    def variables(self) -> list[str]:
        return self.model.variables()

    def domain(self, variable: str) -> tuple[Hashable, ...]:
        return self.model.domain(variable)

    def actual(self) -> dict[str, Hashable]:
        return self.model.actual()

    def evaluate(self, setting: Mapping[str, Hashable]) -> dict[str, Hashable]:
        self.calls += 1
        return self.model.evaluate(setting)

    def parents(self, variable: str) -> frozenset[str]:
        return self.model.parents(variable)


def twelve_variables() -> StructuralModel:
    """Three throwers in a preemption chain, a guard, and distractors: 12 variables."""
    return binary_model(
        {
            "A1": None,
            "A2": None,
            "A3": None,
            "N1": None,
            "N2": None,
            "N3": None,
            "H1": lambda v: v["A1"],
            "H2": lambda v: int(v["A2"] and not v["H1"]),
            "H3": lambda v: int(v["A3"] and not v["H1"] and not v["H2"]),
            "G": lambda v: int(v["N1"] and v["N2"]),
            "K": lambda v: int(v["G"] or v["N3"]),
            "B": lambda v: int(v["K"] and (v["H1"] or v["H2"] or v["H3"])),
        },
        {"A1": 1, "A2": 1, "A3": 1, "N1": 1, "N2": 0, "N3": 1},
    )


# Contingencies over the 11 other variables number 3**11 = 177147 before AC2(b) is checked;
# the search needs 44 evaluations to find the witness and about 1600 to refute a non-cause.
EVALUATION_BUDGET = 100


def test_twelve_variable_model_is_answered_with_few_evaluations() -> None:
    world = CountingWorld(twelve_variables())
    witness = find_witness(world, {"A1": 1}, {"B": 1}, definition="updated")
    assert witness is not None
    assert len(witness.w) == 2
    assert world.calls < EVALUATION_BUDGET


def test_twelve_variable_model_non_cause_is_refuted_with_few_evaluations() -> None:
    world = CountingWorld(twelve_variables())
    # a wrapped world gets the replay budget by default; this one is cheap to evaluate
    assert not is_actual_cause(world, {"A2": 1}, {"B": 1}, definition="updated", budget=10**5)
    assert world.calls < 25 * EVALUATION_BUDGET


def test_twelve_variable_model_responsibilities() -> None:
    m = twelve_variables()
    # the witness holds H2 and H3 at their actual 0: no value changed, so CH04 gives 1
    assert responsibility(m, {"A1": 1}, {"B": 1}, definition="updated") == 1.0
    assert responsibility(m, {"A1": 1}, {"B": 1}, definition="modified") == pytest.approx(1 / 3)
    assert responsibility(m, {"N3": 1}, {"B": 1}, definition="modified") == 1.0
    assert responsibility(m, {"N1": 1}, {"B": 1}, definition="modified") == 0.0
