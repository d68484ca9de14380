"""StructuralModel: evaluation under do(), parent inference, the world protocols, and errors."""

from __future__ import annotations

from collections.abc import Hashable, Mapping
from dataclasses import dataclass
from typing import Any

import networkx as nx
import pytest

from agentsim.errors import InterventionError, ScenarioError, UnknownAddressError
from agentsim.worlds import FiniteWorld, World
from agentsim.worlds.structural import StructuralModel

BINARY = [0, 1]


def forest_fire(kind: str = "or") -> StructuralModel:
    if kind == "or":
        equation = lambda v: int(v["MD"] or v["L"])  # noqa: E731
    else:
        equation = lambda v: int(v["MD"] and v["L"])  # noqa: E731
    return StructuralModel(
        equations={"MD": None, "L": None, "FF": equation},
        context={"MD": 1, "L": 1},
        domains={"MD": BINARY, "L": BINARY, "FF": BINARY},
    )


@dataclass
class FakeDo:
    target: str
    value: Any


def test_values_and_evaluate_follow_the_api_example() -> None:
    m = forest_fire()
    assert m.values() == {"MD": 1, "L": 1, "FF": 1}
    assert m.evaluate({"MD": 0}) == {"MD": 0, "L": 1, "FF": 1}
    assert m.evaluate({"MD": 0, "L": 0}) == {"MD": 0, "L": 0, "FF": 0}
    assert m.evaluate({"FF": 0}) == {"MD": 1, "L": 1, "FF": 0}


def test_evaluate_does_not_disturb_actual_values() -> None:
    m = forest_fire()
    m.evaluate({"MD": 0, "L": 0})
    values = m.values()
    values["FF"] = 0
    assert m.values() == {"MD": 1, "L": 1, "FF": 1}
    assert m.actual() == m.factual == m.values()


def test_short_circuit_reads_are_all_found() -> None:
    # The equation reads L only when MD is 0: parent inference must still find L.
    assert m_parents(forest_fire()) == {"MD": set(), "L": set(), "FF": {"MD", "L"}}


def m_parents(m: StructuralModel) -> dict[str, set[str]]:
    return {v: set(m.parents(v)) for v in m.variables()}


def test_parents_inferred_through_nested_branches() -> None:
    domains = {v: BINARY for v in "ABCDY"}
    domains["C"] = [0, 1, 2]
    m = StructuralModel(
        equations={
            "A": None,
            "B": None,
            "C": None,
            "D": lambda v: 1 - v["A"],
            # D is read only when C == 2 and A == 0: a rare branch.
            "Y": lambda v: v["B"] if v["C"] != 2 else (v["D"] if v["A"] == 0 else 0),
        },
        context={"A": 1, "B": 0, "C": 0},
        domains=domains,
    )
    assert set(m.parents("Y")) == {"A", "B", "C", "D"}
    assert m.values() == {"A": 1, "B": 0, "C": 0, "D": 0, "Y": 0}
    assert m.evaluate({"C": 2, "A": 0})["Y"] == 1


def test_variables_are_topologically_ordered_and_graph_matches() -> None:
    m = StructuralModel(
        equations={
            "Y": lambda v: int(v["X"] and v["U"]),
            "X": lambda v: v["U"],
            "U": None,
        },
        context={"U": 1},
        domains={"Y": BINARY, "X": BINARY, "U": BINARY},
    )
    assert m.variables() == ["U", "X", "Y"]
    g = m.graph()
    assert isinstance(g, nx.DiGraph)
    assert set(g.edges) == {("U", "X"), ("U", "Y"), ("X", "Y")}
    assert g.nodes["U"]["context"] is True and g.nodes["Y"]["context"] is False
    assert g.nodes["Y"]["actual"] == 1
    assert g.nodes["X"]["domain"] == (0, 1)


def test_given_parents_are_used_and_checked_at_evaluation() -> None:
    m = StructuralModel(
        equations={"A": None, "B": None, "Y": lambda v: v["A"]},
        context={"A": 1, "B": 0},
        domains={"A": BINARY, "B": BINARY, "Y": BINARY},
        parents={"Y": ["A", "B"]},
    )
    assert set(m.parents("Y")) == {"A", "B"}
    # Declared parents are trusted, and a read outside them surfaces at evaluation.
    with pytest.raises(ScenarioError, match="'A', which is not among its parents"):
        StructuralModel(
            equations={"Y": lambda v: v["A"], "A": None},
            context={"A": 1},
            domains={"A": BINARY, "Y": BINARY},
            parents={"Y": []},
        )


def test_non_binary_domains_and_canonical_values() -> None:
    m = StructuralModel(
        equations={"T": None, "Load": lambda v: ["low", "mid", "high"][v["T"]]},
        context={"T": 2},
        domains={"T": [0, 1, 2], "Load": ["low", "mid", "high"]},
    )
    assert m.values() == {"T": 2, "Load": "high"}
    assert m.evaluate({"T": 0})["Load"] == "low"
    # True is the domain value 1, and is stored as the domain's own object.
    assert m.evaluate({"T": True})["T"] == 1
    assert type(m.evaluate({"T": True})["T"]) is int


def test_is_both_a_finite_world_and_a_world() -> None:
    m = forest_fire("and")
    assert isinstance(m, FiniteWorld)
    assert isinstance(m, World)
    assert m.players() == m.players("agents") == ["MD", "L", "FF"]
    assert m.domain("FF") == (0, 1)


def test_outcome_accepts_dicts_pairs_and_do_objects() -> None:
    m = forest_fire("and")
    assert m.outcome(outcome="FF") == 1.0
    assert m.outcome({"L": 0}, outcome="FF") == 0.0
    assert m.outcome([("L", 0)], outcome="FF") == 0.0
    assert m.outcome([FakeDo("MD", 0)], outcome="FF") == 0.0
    assert m.outcome([FakeDo("MD", 1), ("L", 1)], outcome="FF") == 1.0


def test_outcome_accepts_agentsim_do() -> None:
    from agentsim.interventions import do

    assert forest_fire("and").outcome([do("L", value=0)], outcome="FF") == 0.0


def test_outcome_errors_name_the_problem() -> None:
    m = forest_fire()
    with pytest.raises(UnknownAddressError, match=r"'F'.*did you mean 'FF'"):
        m.outcome(outcome="F")
    with pytest.raises(InterventionError, match="cannot read intervention 'L'"):
        m.outcome(["L"], outcome="FF")
    with pytest.raises(InterventionError, match="two interventions set 'L'"):
        m.outcome([("L", 0), ("L", 1)], outcome="FF")
    labels = StructuralModel({"A": None}, {"A": "x"}, {"A": ["x", "y"]})
    with pytest.raises(Exception, match="non-numeric value 'x'"):
        labels.outcome(outcome="A")


def test_intervention_errors() -> None:
    m = forest_fire()
    with pytest.raises(InterventionError, match=r"unknown variable 'LL'.*did you mean 'L'"):
        m.evaluate({"LL": 0})
    with pytest.raises(InterventionError, match=r"cannot set 'L' to 2: not in its domain \[0, 1\]"):
        m.evaluate({"L": 2})
    with pytest.raises(UnknownAddressError, match="unknown variable 'M'"):
        m.domain("M")


def test_cycle_is_named() -> None:
    with pytest.raises(ScenarioError, match=r"cycle: (A -> B -> A|B -> A -> B)"):
        StructuralModel(
            equations={"A": lambda v: v["B"], "B": lambda v: v["A"]},
            context={},
            domains={"A": BINARY, "B": BINARY},
        )


def test_self_loop_is_a_cycle() -> None:
    with pytest.raises(ScenarioError, match="cycle: A -> A"):
        StructuralModel({"A": lambda v: v["A"]}, {}, {"A": BINARY})


def test_unknown_read_is_named_with_a_suggestion() -> None:
    with pytest.raises(ScenarioError, match=r"'FF' reads unknown variable 'LL'.*did you mean 'L'"):
        StructuralModel(
            equations={"L": None, "FF": lambda v: v["LL"]},
            context={"L": 1},
            domains={"L": BINARY, "FF": BINARY},
        )


def test_unknown_read_through_get_is_still_caught() -> None:
    with pytest.raises(ScenarioError, match="reads unknown variable 'Q'"):
        StructuralModel(
            equations={"L": None, "FF": lambda v: v.get("Q", v["L"])},
            context={"L": 1},
            domains={"L": BINARY, "FF": BINARY},
        )


@pytest.mark.parametrize(
    ("context", "message"),
    [
        ({}, "no context value for 'L'"),
        ({"L": 3}, r"context value 3 of 'L' is outside its domain \[0, 1\]"),
        ({"L": 1, "FF": 1}, "context sets 'FF', which has an equation"),
        ({"L": 1, "K": 1}, "context sets unknown variable 'K'"),
    ],
)
def test_context_errors(context: Mapping[str, Hashable], message: str) -> None:
    with pytest.raises(ScenarioError, match=message):
        StructuralModel(
            equations={"L": None, "FF": lambda v: v["L"]},
            context=context,
            domains={"L": BINARY, "FF": BINARY},
        )


def test_equation_leaving_its_domain_is_caught_at_construction() -> None:
    # Only the counterfactual branch L = 0 leaves the domain; it must still be found.
    with pytest.raises(ScenarioError, match=r"'FF' returned 2, outside its domain \[0, 1\]"):
        StructuralModel(
            equations={"L": None, "FF": lambda v: 1 if v["L"] else 2},
            context={"L": 1},
            domains={"L": BINARY, "FF": BINARY},
        )


def test_equation_leaving_its_domain_under_intervention_with_given_parents() -> None:
    m = StructuralModel(
        equations={"L": None, "FF": lambda v: 1 if v["L"] else 2},
        context={"L": 1},
        domains={"L": BINARY, "FF": BINARY},
        parents={"FF": ["L"]},
    )
    with pytest.raises(ScenarioError, match="'FF' returned 2"):
        m.evaluate({"L": 0})


@pytest.mark.parametrize(
    ("domains", "message"),
    [
        ({"L": BINARY}, "variable 'FF' has no domain"),
        ({"L": BINARY, "FF": []}, "domain of 'FF' is empty"),
        ({"L": BINARY, "FF": [0, 1, 1]}, "domain of 'FF' lists 1 twice"),
        ({"L": BINARY, "FF": BINARY, "G": BINARY}, "domains= names 'G', which has no equation"),
        ({"L": BINARY, "FF": [[0], [1]]}, "unhashable value"),
    ],
)
def test_domain_errors(domains: Mapping[str, list[Any]], message: str) -> None:
    with pytest.raises(ScenarioError, match=message):
        StructuralModel(
            equations={"L": None, "FF": lambda v: v["L"]},
            context={"L": 1},
            domains=domains,
        )


def test_equation_raising_is_reported_with_inputs() -> None:
    with pytest.raises(ScenarioError, match=r"'R' raised ZeroDivisionError.*'B': 0"):
        StructuralModel(
            equations={"B": None, "R": lambda v: 1 // v["B"]},
            context={"B": 1},
            domains={"B": BINARY, "R": BINARY},
        )


def test_wide_equation_falls_back_to_the_probe() -> None:
    # An equation reading 17 binary variables has 2**17 branches, above the exploration cap.
    names = [f"X{i}" for i in range(17)]
    equations: dict[str, Any] = {n: None for n in names}
    equations["Y"] = lambda v: int(sum(v[n] for n in names) > 8)
    m = StructuralModel(equations, {n: 1 for n in names}, {n: BINARY for n in [*names, "Y"]})
    assert set(m.parents("Y")) == set(names)
    assert m.values()["Y"] == 1
    assert m.evaluate({n: 0 for n in names[:9]})["Y"] == 0


def test_repr_lists_variables() -> None:
    assert repr(forest_fire()) == "StructuralModel(3 variables: MD, L, FF)"
