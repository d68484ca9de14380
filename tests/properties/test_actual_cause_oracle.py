"""The pruned Halpern-Pearl search against a brute-force oracle on random small models.

A random model is a DAG over at most six variables: the first few are set by the context and
every other one is a function of up to three earlier variables, given as a truth table. Half
the tables are arbitrary; the rest are an AND or an OR of literals (``BH = BT and not SH``),
which is where overdetermination and preemption, and so non-trivial witnesses, come from.
The oracle below is the textbook definition read literally, sharing no code with the library:
it evaluates the truth tables itself and enumerates every contingency W, every setting w, every
alternative x' and every subset W' and Z' (Halpern, *Actual Causality*, 2016, sec. 2.2).
"""

from __future__ import annotations

import itertools
from collections.abc import Callable, Hashable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from fractions import Fraction
from typing import Any

import pytest
from hypothesis import given, settings, target
from hypothesis import strategies as st

from agentsim.attribution.actual_cause import (
    Definition,
    Witness,
    actual_causes,
    find_witness,
    is_actual_cause,
    responsibility,
)
from agentsim.worlds.structural import StructuralModel

DEFINITIONS: tuple[Definition, ...] = ("original", "updated", "modified")
Values = dict[str, int]


@dataclass(frozen=True)
class RandomModel:
    names: tuple[str, ...]
    sizes: dict[str, int]
    context: dict[str, int]
    parents: dict[str, tuple[str, ...]]
    tables: dict[str, tuple[int, ...]]

    def evaluate(self, setting: Values) -> Values:
        values: Values = {}
        for var in self.names:
            if var in setting:
                values[var] = setting[var]
            elif var in self.context:
                values[var] = self.context[var]
            else:
                values[var] = self.tables[var][self.row(var, values)]
        return values

    def row(self, var: str, values: Mapping[str, Any]) -> int:
        row = 0
        for p in self.parents[var]:
            row = row * self.sizes[p] + values[p]
        return row

    def structural(self) -> StructuralModel:
        def equation(var: str) -> Callable[[Mapping[str, Any]], int]:
            return lambda v: self.tables[var][self.row(var, v)]

        return StructuralModel(
            equations={v: None if v in self.context else equation(v) for v in self.names},
            context=self.context,
            domains={v: list(range(self.sizes[v])) for v in self.names},
        )


@st.composite
def random_models(draw: st.DrawFn, max_vars: int = 6, max_size: int = 2) -> RandomModel:
    n = draw(st.integers(min_value=min(3, max_vars), max_value=max_vars))
    names = tuple(f"V{i}" for i in range(n))
    sizes = {v: draw(st.integers(min_value=2, max_value=max_size)) for v in names}
    n_context = draw(st.integers(min_value=1, max_value=max(1, n // 2)))
    context = {v: draw(st.integers(0, sizes[v] - 1)) for v in names[:n_context]}
    parents: dict[str, tuple[str, ...]] = {}
    tables: dict[str, tuple[int, ...]] = {}
    for i in range(n_context, n):
        var = names[i]
        chosen = draw(st.sets(st.sampled_from(names[:i]), min_size=1, max_size=min(i, 3)))
        parents[var] = tuple(p for p in names if p in chosen)
        inputs = list(itertools.product(*(range(sizes[p]) for p in parents[var])))
        kind = draw(st.sampled_from(["or", "and", "table"]))
        if kind == "table":
            cell = st.integers(0, sizes[var] - 1)
            tables[var] = tuple(draw(st.lists(cell, min_size=len(inputs), max_size=len(inputs))))
        else:
            # A literal is "the parent is non-zero", possibly negated.
            negated = [draw(st.booleans()) for _ in parents[var]]
            literals = [
                [bool(x) != neg for x, neg in zip(row, negated, strict=True)] for row in inputs
            ]
            combine = all if kind == "and" else any
            tables[var] = tuple(int(combine(lits)) for lits in literals)
    for var in names[:n_context]:
        parents[var] = ()
    return RandomModel(names, sizes, context, parents, tables)


@st.composite
def questions(draw: st.DrawFn, max_vars: int = 6, max_size: int = 2) -> tuple[RandomModel, Values]:
    model = draw(random_models(max_vars=max_vars, max_size=max_size))
    actual = model.evaluate({})
    # The last variable, often a sink with several causes upstream, plus maybe another one.
    endogenous = [v for v in model.names if v not in model.context]
    effect_vars = {model.names[-1]} | draw(st.sets(st.sampled_from(endogenous), max_size=1))
    return model, {v: actual[v] for v in model.names if v in effect_vars}


# -- the oracle -----------------------------------------------------------------------------


def subsets(items: Sequence[str]) -> Iterator[tuple[str, ...]]:
    for k in range(len(items) + 1):
        yield from itertools.combinations(items, k)


def settings_of(model: RandomModel, variables: Sequence[str]) -> Iterator[Values]:
    for values in itertools.product(*(range(model.sizes[v]) for v in variables)):
        yield dict(zip(variables, values, strict=True))


class Oracle:
    def __init__(self, model: RandomModel, effect: Values) -> None:
        self.model = model
        self.effect = effect
        self.actual = model.evaluate({})
        self._min_w: dict[tuple[frozenset[tuple[str, int]], str], int | None] = {}

    def phi(self, setting: Values) -> bool:
        values = self.model.evaluate(setting)
        return all(values[v] == x for v, x in self.effect.items())

    def ac2_witnesses(
        self, cause: Values, definition: Definition
    ) -> Iterator[tuple[Values, Values]]:
        """Every (w, x') satisfying AC2, straight from the definitions."""
        others = [v for v in self.model.names if v not in cause]
        for w_vars in subsets(others):
            z_vars = [v for v in self.model.names if v not in w_vars]
            if definition == "modified":
                ws: Iterator[Values] = iter([{v: self.actual[v] for v in w_vars}])
            else:
                ws = settings_of(self.model, w_vars)
            for w in ws:
                for x_prime in settings_of(self.model, list(cause)):
                    if self.phi({**w, **x_prime}):
                        continue  # AC2(a) or AC2(a^m) fails
                    if definition == "modified" or self.b_holds(cause, w, z_vars, definition):
                        yield w, x_prime

    def b_holds(
        self, cause: Values, w: Values, z_vars: Sequence[str], definition: Definition
    ) -> bool:
        w_parts = list(subsets(list(w))) if definition == "updated" else [tuple(w)]
        for w_part in w_parts:
            for z_part in subsets(z_vars):
                setting = {v: self.actual[v] for v in z_part}
                setting.update({v: w[v] for v in w_part})
                setting.update(cause)
                if not self.phi(setting):
                    return False
        return True

    def min_w(self, cause: Values, definition: Definition) -> int | None:
        key = (frozenset(cause.items()), definition)
        if key not in self._min_w:
            sizes = [len(w) for w, _ in self.ac2_witnesses(cause, definition)]
            self._min_w[key] = min(sizes) if sizes else None
        return self._min_w[key]

    def is_cause(self, cause: Values, definition: Definition) -> bool:
        if any(self.actual[v] != x for v, x in cause.items()) or not self.phi({}):
            return False
        if self.min_w(cause, definition) is None:
            return False
        return all(
            self.min_w({v: cause[v] for v in part}, definition) is None
            for k in range(1, len(cause))
            for part in itertools.combinations(cause, k)
        )

    def responsibility(self, cause: Values, definition: Definition) -> Fraction:
        if definition != "modified":
            # Chockler and Halpern (2004), Definition 3.1 (paraphrased): k is the least number
            # of variables of W whose values in w differ from those in the context u, over AC2.
            if not self.is_cause(cause, definition):
                return Fraction(0)
            k = min(
                sum(w[v] != self.actual[v] for v in w)
                for w, _ in self.ac2_witnesses(cause, definition)
            )
            return Fraction(1, k + 1)
        best: int | None = None
        rest = [v for v in self.model.names if v not in cause]
        for extra in subsets(rest):
            bigger = {**cause, **{v: self.actual[v] for v in extra}}
            if self.is_cause(bigger, "modified"):
                k = self.min_w(bigger, "modified")
                assert k is not None
                best = len(bigger) + k if best is None else min(best, len(bigger) + k)
        return Fraction(0) if best is None else Fraction(1, best)

    def is_witness(
        self, cause: Mapping[str, Hashable], witness: Witness, definition: Definition
    ) -> bool:
        return any(
            w == witness.w and x_prime == witness.x_prime
            for w, x_prime in self.ac2_witnesses(
                {v: int(x) for v, x in cause.items()},  # type: ignore[call-overload]
                definition,
            )
        )


# -- the properties -------------------------------------------------------------------------


@pytest.mark.parametrize("definition", DEFINITIONS)
@settings(max_examples=100, deadline=None)
@given(question=questions())
def test_single_causes_agree_with_the_oracle(
    definition: Definition, question: tuple[RandomModel, Values]
) -> None:
    model, effect = question
    world = model.structural()
    oracle = Oracle(model, effect)
    non_trivial = 0
    for var in model.names:
        cause = {var: oracle.actual[var]}
        expected = oracle.is_cause(cause, definition)
        assert is_actual_cause(world, cause, effect, definition) == expected
        witness = find_witness(world, cause, effect, definition)
        assert (witness is not None) == expected
        if witness is not None:
            assert oracle.is_witness(cause, witness, definition)
            assert len(witness.w) == oracle.min_w(cause, definition)
        degree = responsibility(world, cause, effect, definition)
        assert degree == pytest.approx(float(oracle.responsibility(cause, definition)))
        non_trivial += 0 < degree < 1
    # Steer generation towards models where causes need contingencies.
    target(float(non_trivial), label="causes with responsibility below 1")


@pytest.mark.parametrize("definition", DEFINITIONS)
@settings(max_examples=60, deadline=None)
@given(question=questions(max_vars=5))
def test_enumerated_causes_agree_with_the_oracle(
    definition: Definition, question: tuple[RandomModel, Values]
) -> None:
    model, effect = question
    world = model.structural()
    oracle = Oracle(model, effect)
    pool = [v for v in model.names if v not in effect]
    expected = [
        {v: oracle.actual[v] for v in combo}
        for k in (1, 2, 3)
        for combo in itertools.combinations(pool, k)
        if oracle.is_cause({v: oracle.actual[v] for v in combo}, definition)
    ]
    found = actual_causes(world, effect, max_size=3, definition=definition)
    assert [c.variables for c in found] == expected
    for cause in found:
        assert oracle.is_witness(cause.variables, cause.witness, definition)
    target(float(sum(c.responsibility < 1 for c in found)), label="causes with contingencies")


@pytest.mark.parametrize("definition", DEFINITIONS)
@settings(max_examples=40, deadline=None)
@given(question=questions(max_vars=4, max_size=3))
def test_non_binary_models_agree_with_the_oracle(
    definition: Definition, question: tuple[RandomModel, Values]
) -> None:
    model, effect = question
    world = model.structural()
    oracle = Oracle(model, effect)
    for var in model.names:
        cause = {var: oracle.actual[var]}
        assert is_actual_cause(world, cause, effect, definition) == oracle.is_cause(
            cause, definition
        )
        degree = responsibility(world, cause, effect, definition)
        assert degree == pytest.approx(float(oracle.responsibility(cause, definition)))


@settings(max_examples=60, deadline=None)
@given(model=random_models(), data=st.data())
def test_structural_model_evaluates_like_the_truth_tables(
    model: RandomModel, data: st.DataObject
) -> None:
    world = model.structural()
    assert world.values() == model.evaluate({})
    for var in world.variables():
        assert set(world.parents(var)) <= set(model.parents[var])
    targets = data.draw(st.sets(st.sampled_from(model.names)))
    setting = {v: data.draw(st.integers(0, model.sizes[v] - 1)) for v in targets}
    assert world.evaluate(setting) == model.evaluate(setting)
