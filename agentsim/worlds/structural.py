"""Finite structural causal models written directly as equations.

A structural causal model (SCM) gives every variable an *equation* that computes its value from
the values of other variables, its *parents*. Some variables have no equation: the *context*
sets them (Halpern's exogenous settings, folded into the variables they set), and they can
still be intervened on. Intervening with ``do(X = x)`` replaces the equation of ``X`` by the
constant ``x`` and leaves every other equation alone; the values of all variables under the
intervention follow by evaluating the equations in topological order.

Halpern and Pearl's forest fire, in which a dropped match (``MD``) or lightning (``L``) is
enough to start the fire (``FF``)::

    >>> m = StructuralModel(
    ...     equations={"MD": None, "L": None, "FF": lambda v: int(v["MD"] or v["L"])},
    ...     context={"MD": 1, "L": 1},
    ...     domains={"MD": [0, 1], "L": [0, 1], "FF": [0, 1]},
    ... )
    >>> m.values()
    {'MD': 1, 'L': 1, 'FF': 1}
    >>> m.evaluate({"MD": 0, "L": 0})
    {'MD': 0, 'L': 0, 'FF': 0}
    >>> sorted(m.parents("FF"))
    ['L', 'MD']

A :class:`StructuralModel` is both a :class:`~agentsim.worlds.FiniteWorld`, so Halpern-Pearl
actual causation (:mod:`agentsim.attribution.actual_cause`) reasons over it, and a
:class:`~agentsim.worlds.World`, so coalition games (Shapley, but-for) play on it, with every
variable a player.

Parents are read off the equations themselves. Each equation is called on a recording mapping
that answers every read and explores, depth first, every value of every variable the equation
reads, so each branch of the equation's code runs at least once and the set of keys read is a
superset of the true parents. This is an exact enumeration over the inputs that matter, and it
costs far less than enumerating every full assignment of the domains. It is capped at
``2**16`` calls per equation; an equation that reads more than that (for example one that reads
twenty binary variables) falls back to a deterministic probe of 4096 assignments plus the
actual one, which may miss a rarely read parent. Pass ``parents=`` for such an equation.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable, Collection, Hashable, Iterable, Mapping, Sequence
from typing import Any

import networkx as nx
import numpy as np

from agentsim.errors import (
    AttributionError,
    InterventionError,
    ScenarioError,
    UnknownAddressError,
    suggest,
)
from agentsim.worlds._parents import infer_parents

__all__ = ["Equation", "StructuralModel"]

MONOTONE_CHECK_ROWS = 2**20
"""Most equation calls :meth:`StructuralModel.monotone` makes before answering "unknown"."""

Equation = Callable[[Mapping[str, Any]], Any]
"""An equation: called with a mapping of variable values, returns the variable's value."""


class StructuralModel:
    """A finite-domain structural causal model written as equations.

    Parameters
    ----------
    equations : mapping of str to callable or None
        ``{variable: equation}``. An equation takes a mapping of variable values and returns
        the variable's value; ``None`` marks a variable set by ``context``.
    context : mapping of str to value
        The value of every variable whose equation is ``None``.
    domains : mapping of str to sequence
        The finite set of values of every variable (hashable, no repeats).
    parents : mapping of str to collection of str, optional
        Parents of some or all variables, a superset of the variables their equations read.
        Variables left out have their parents inferred (see the module docstring).

    Raises
    ------
    ScenarioError
        If a variable has no domain, a context value is missing or outside its domain, an
        equation reads an unknown variable or returns a value outside its domain, or the
        equations form a cycle.

    Examples
    --------
    >>> m = StructuralModel(
    ...     equations={"MD": None, "L": None, "FF": lambda v: int(v["MD"] and v["L"])},
    ...     context={"MD": 1, "L": 1},
    ...     domains={"MD": [0, 1], "L": [0, 1], "FF": [0, 1]},
    ... )
    >>> m.evaluate({"L": 0})["FF"]
    0
    >>> m.outcome([("L", 0)], outcome="FF")
    0.0
    >>> m.variables()
    ['MD', 'L', 'FF']
    """

    def __init__(
        self,
        equations: Mapping[str, Equation | None],
        context: Mapping[str, Hashable],
        domains: Mapping[str, Sequence[Hashable]],
        parents: Mapping[str, Collection[str]] | None = None,
    ) -> None:
        self._equations: dict[str, Equation | None] = dict(equations)
        self._declared = {v: i for i, v in enumerate(self._equations)}
        self._canon = _check_domains(self._equations, domains)
        self._domains = {v: tuple(self._canon[v]) for v in self._equations}
        self._context = self._check_context(context)
        self._parents = self._find_parents(parents or {})
        self._order = self._topological_order()
        self._actual = self.evaluate({})
        self.evaluations = 0
        """Evaluations asked through the World protocol (``outcome``, ``counterfactual``)."""
        self._monotone: bool | None = None

    # -- the model -------------------------------------------------------------------------

    def values(self) -> dict[str, Hashable]:
        """Actual values of all variables, in topological order.

        Examples
        --------
        >>> m = StructuralModel({"A": None, "B": lambda v: 1 - v["A"]}, {"A": 1},
        ...                     {"A": [0, 1], "B": [0, 1]})
        >>> m.values()
        {'A': 1, 'B': 0}
        """
        return dict(self._actual)

    def evaluate(self, interventions: Mapping[str, Hashable]) -> dict[str, Hashable]:
        """Values of all variables under ``do(interventions)``, context held fixed.

        Parameters
        ----------
        interventions : mapping of str to value
            ``{variable: value}``; each value must lie in the variable's domain.

        Returns
        -------
        dict
            Every variable's value, in topological order.

        Raises
        ------
        InterventionError
            If a variable is unknown or a value lies outside its domain.

        Examples
        --------
        >>> m = StructuralModel({"A": None, "B": lambda v: 1 - v["A"]}, {"A": 1},
        ...                     {"A": [0, 1], "B": [0, 1]})
        >>> m.evaluate({"A": 0})
        {'A': 0, 'B': 1}
        """
        setting = self._check_setting(interventions)
        values: dict[str, Hashable] = {}
        for var in self._order:
            if var in setting:
                values[var] = setting[var]
                continue
            equation = self._equations[var]
            if equation is None:
                values[var] = self._context[var]
                continue
            try:
                result = equation(values)
            except KeyError as exc:
                raise self._missing_parent(var, exc, values) from exc
            except Exception as exc:
                raise ScenarioError(
                    f"equation of {var!r} raised {type(exc).__name__}: {exc} "
                    f"(inputs {_parent_values(self._parents[var], values)})"
                ) from exc
            values[var] = self._in_domain(var, result, values)
        return values

    def graph(self) -> nx.DiGraph:
        """The causal graph: an edge from each parent to its child.

        Nodes carry ``domain``, ``actual`` and ``context`` (True for context variables).

        Examples
        --------
        >>> m = StructuralModel({"A": None, "B": lambda v: v["A"]}, {"A": 1},
        ...                     {"A": [0, 1], "B": [0, 1]})
        >>> list(m.graph().edges)
        [('A', 'B')]
        """
        g = nx.DiGraph()
        for var in self._order:
            g.add_node(
                var,
                domain=self._domains[var],
                actual=self._actual[var],
                context=self._equations[var] is None,
            )
        for var in self._order:
            g.add_edges_from((p, var) for p in sorted(self._parents[var], key=self._position))
        return g

    # -- the FiniteWorld protocol ------------------------------------------------------------

    def variables(self) -> list[str]:
        """All variables, context variables included, in a topological order.

        Ties are broken by the order in which ``equations`` lists the variables.

        Examples
        --------
        >>> m = StructuralModel({"B": lambda v: v["A"], "A": None}, {"A": 1},
        ...                     {"A": [0, 1], "B": [0, 1]})
        >>> m.variables()
        ['A', 'B']
        """
        return list(self._order)

    def domain(self, variable: str) -> tuple[Hashable, ...]:
        """The finite set of values ``variable`` can take.

        Examples
        --------
        >>> m = StructuralModel({"A": None}, {"A": "low"}, {"A": ["low", "high"]})
        >>> m.domain("A")
        ('low', 'high')
        """
        return self._domains[self._known(variable)]

    def actual(self) -> dict[str, Hashable]:
        """Actual values of all variables (same as :meth:`values`).

        Examples
        --------
        >>> StructuralModel({"A": None}, {"A": 0}, {"A": [0, 1]}).actual()
        {'A': 0}
        """
        return dict(self._actual)

    def parents(self, variable: str) -> frozenset[str]:
        """The variables the equation of ``variable`` may read (empty for context variables).

        Examples
        --------
        >>> m = StructuralModel({"A": None, "B": None, "C": lambda v: v["A"] or v["B"]},
        ...                     {"A": 1, "B": 0}, {"A": [0, 1], "B": [0, 1], "C": [0, 1]})
        >>> sorted(m.parents("C")), sorted(m.parents("A"))
        (['A', 'B'], [])
        """
        return self._parents[self._known(variable)]

    def monotone(self) -> bool:
        """Whether every equation is non-decreasing in each parent (domains of numbers).

        Each equation is tabulated over its parents' domains (at most
        :data:`MONOTONE_CHECK_ROWS` calls in all; a larger model answers False, "unknown").
        Actual-causation searches use it to skip questions monotonicity answers (a *no* vote
        never causes a motion to pass).

        Examples
        --------
        >>> m = StructuralModel({"A": None, "B": None, "C": lambda v: v["A"] or v["B"]},
        ...                     {"A": 1, "B": 0}, {"A": [0, 1], "B": [0, 1], "C": [0, 1]})
        >>> m.monotone()
        True
        >>> StructuralModel({"A": None, "B": lambda v: 1 - v["A"]}, {"A": 1},
        ...                 {"A": [0, 1], "B": [0, 1]}).monotone()
        False
        """
        if self._monotone is None:
            self._monotone = self._check_monotone()
        return self._monotone

    def _check_monotone(self) -> bool:
        def numeric(x: Any) -> bool:
            return isinstance(x, int | float) and x == x  # bool is an int; NaN is not ordered

        if not all(numeric(x) for d in self._domains.values() for x in d):
            return False
        rows = 0
        for var in self._order:
            equation = self._equations[var]
            if equation is None:
                continue
            parents = sorted(self._parents[var], key=self._position)
            axes = [sorted(self._domains[p], key=_number) for p in parents]
            rows += int(np.prod([len(a) for a in axes], dtype=np.int64))
            if rows > MONOTONE_CHECK_ROWS:
                return False
            outputs: list[float] = []
            for combo in itertools.product(*axes):  # C order, as reshape reads it
                try:
                    out = equation(dict(zip(parents, combo, strict=True)))
                except Exception:
                    return False  # an equation reading beyond its parents: unknown
                if not numeric(out):
                    return False
                outputs.append(float(out))
            table = np.asarray(outputs).reshape([len(a) for a in axes])
            if any(np.any(np.diff(table, axis=i) < 0) for i in range(len(axes))):
                return False
        return True

    # -- the World protocol ------------------------------------------------------------------

    @property
    def factual(self) -> dict[str, Hashable]:
        """Actual values of all variables.

        Examples
        --------
        >>> StructuralModel({"A": None}, {"A": 1}, {"A": [0, 1]}).factual
        {'A': 1}
        """
        return dict(self._actual)

    def counterfactual(self, interventions: Any = ()) -> dict[str, Hashable]:
        """Values of all variables under ``interventions`` (as :meth:`outcome` reads them).

        Examples
        --------
        >>> m = StructuralModel({"A": None, "B": lambda v: v["A"]}, {"A": 1},
        ...                     {"A": [0, 1], "B": [0, 1]})
        >>> m.counterfactual({"A": 0})
        {'A': 0, 'B': 0}
        """
        self.evaluations += 1
        return self.evaluate(_as_setting(interventions))

    def outcome(self, interventions: Any = (), outcome: str = "success") -> float:
        """The value of variable ``outcome`` under ``interventions``, as a float.

        Parameters
        ----------
        interventions : mapping or sequence
            ``{variable: value}``, or a sequence of ``(variable, value)`` pairs or of objects
            with ``.target`` and ``.value`` attributes (such as ``agentsim.do(...)``).
        outcome : str
            The variable to read; its values must be numbers or booleans.

        Examples
        --------
        >>> m = StructuralModel({"A": None, "B": lambda v: v["A"]}, {"A": 1},
        ...                     {"A": [0, 1], "B": [0, 1]})
        >>> m.outcome({"A": 0}, outcome="B"), m.outcome(outcome="B")
        (0.0, 1.0)
        """
        if outcome not in self._domains:
            raise UnknownAddressError(
                f"unknown outcome variable {outcome!r}{suggest(outcome, self._order)} "
                f"(variables: {', '.join(self._order)})"
            )
        value = self.counterfactual(interventions)[outcome]
        try:
            return float(value)  # type: ignore[arg-type]
        except (TypeError, ValueError) as exc:
            raise AttributionError(
                f"outcome variable {outcome!r} has the non-numeric value {value!r}; "
                "choose a variable whose values are numbers or booleans"
            ) from exc

    def players(self, kind: str = "calls") -> list[str]:
        """The players of a coalition game on this model: its variables, whatever ``kind``.

        Examples
        --------
        >>> m = StructuralModel({"A": None, "B": lambda v: v["A"]}, {"A": 1},
        ...                     {"A": [0, 1], "B": [0, 1]})
        >>> m.players(), m.players("agents")
        (['A', 'B'], ['A', 'B'])
        """
        return list(self._order)

    def __repr__(self) -> str:
        return f"StructuralModel({len(self._order)} variables: {', '.join(self._order)})"

    # -- construction helpers ---------------------------------------------------------------

    def _position(self, variable: str) -> int:
        return self._declared[variable]

    def _known(self, variable: str) -> str:
        if variable not in self._domains:
            raise UnknownAddressError(
                f"unknown variable {variable!r}{suggest(variable, self._domains)} "
                f"({len(self._domains)} variables in this model)"
            )
        return variable

    def _check_context(self, context: Mapping[str, Hashable]) -> dict[str, Hashable]:
        checked: dict[str, Hashable] = {}
        for var, value in context.items():
            if var not in self._equations:
                raise ScenarioError(
                    f"context sets unknown variable {var!r}{suggest(var, self._equations)}"
                )
            if self._equations[var] is not None:
                raise ScenarioError(
                    f"context sets {var!r}, which has an equation; give {var!r} the equation "
                    "None to set it by context, or drop it from the context"
                )
            checked[var] = _canonical(self._canon, var, value, "context value")
        missing = [v for v, eq in self._equations.items() if eq is None and v not in checked]
        if missing:
            raise ScenarioError(
                f"no context value for {', '.join(map(repr, missing))}; a variable whose "
                "equation is None must be set in context="
            )
        return checked

    def _find_parents(self, given: Mapping[str, Collection[str]]) -> dict[str, frozenset[str]]:
        for var in given:
            if var not in self._equations:
                raise ScenarioError(
                    f"parents= names unknown variable {var!r}{suggest(var, self._equations)}"
                )
        found: dict[str, frozenset[str]] = {}
        for var, equation in self._equations.items():
            if var in given:
                listed = frozenset(given[var])
                for p in listed:
                    if p not in self._equations:
                        raise ScenarioError(
                            f"parents= of {var!r} lists unknown variable {p!r}"
                            f"{suggest(p, self._equations)}"
                        )
                found[var] = listed if equation is not None else frozenset()
            elif equation is None:
                found[var] = frozenset()
            else:
                found[var] = infer_parents(
                    var, equation, self._equations, self._domains, self._context, self._in_domain
                )
        return found

    def _topological_order(self) -> list[str]:
        g = nx.DiGraph()
        g.add_nodes_from(self._equations)
        for var, ps in self._parents.items():
            g.add_edges_from((p, var) for p in ps)
        try:
            cycle = nx.find_cycle(g)
        except nx.NetworkXNoCycle:
            return list(nx.lexicographical_topological_sort(g, key=self._declared.__getitem__))
        path = [u for u, _ in cycle] + [cycle[0][0]]
        raise ScenarioError(
            f"the equations form a cycle: {' -> '.join(path)}; a structural model must be "
            "acyclic (each arrow reads as 'is read by the equation of')"
        )

    # -- evaluation helpers -----------------------------------------------------------------

    def _check_setting(self, interventions: Mapping[str, Hashable]) -> dict[str, Hashable]:
        setting: dict[str, Hashable] = {}
        for var, value in interventions.items():
            canon = self._canon.get(var)
            if canon is None:
                raise InterventionError(
                    f"cannot intervene on unknown variable {var!r}{suggest(var, self._domains)}"
                )
            try:
                setting[var] = canon[value]
            except (KeyError, TypeError):
                raise InterventionError(
                    f"cannot set {var!r} to {value!r}: not in its domain {list(canon)}"
                ) from None
        return setting

    def _in_domain(self, var: str, value: Any, inputs: Mapping[str, Hashable]) -> Hashable:
        try:
            return self._canon[var][value]
        except (KeyError, TypeError):
            raise ScenarioError(
                f"equation of {var!r} returned {value!r}, outside its domain "
                f"{list(self._canon[var])} (inputs {dict(inputs)}); widen the domain or fix "
                "the equation"
            ) from None

    def _missing_parent(
        self, var: str, exc: KeyError, values: Mapping[str, Hashable]
    ) -> ScenarioError:
        key = exc.args[0] if exc.args else None
        if isinstance(key, str) and key in self._domains:
            return ScenarioError(
                f"equation of {var!r} read {key!r}, which is not among its parents "
                f"{sorted(self._parents[var])}; pass parents= including {key!r}"
            )
        return ScenarioError(
            f"equation of {var!r} raised KeyError: {exc} "
            f"(inputs {_parent_values(self._parents[var], values)})"
        )


def _number(x: Any) -> float:
    return float(x)


def _check_domains(
    equations: Mapping[str, Equation | None], domains: Mapping[str, Sequence[Hashable]]
) -> dict[str, dict[Hashable, Hashable]]:
    """Validate domains; map each value to itself so lookups canonicalise (True -> 1)."""
    for var in equations:
        if not isinstance(var, str):
            raise ScenarioError(f"variable names must be strings, not {var!r}")
        if var not in domains:
            raise ScenarioError(
                f"variable {var!r} has no domain; add domains[{var!r}] = [its values]"
            )
    canon: dict[str, dict[Hashable, Hashable]] = {}
    for var, values in domains.items():
        if var not in equations:
            raise ScenarioError(
                f"domains= names {var!r}, which has no equation{suggest(var, equations)}; "
                "give it an equation (None if the context sets it)"
            )
        if isinstance(values, str) or not isinstance(values, Iterable):
            raise ScenarioError(f"domain of {var!r} must be a list of values, not {values!r}")
        table: dict[Hashable, Hashable] = {}
        for value in values:
            try:
                if value in table:
                    raise ScenarioError(f"domain of {var!r} lists {value!r} twice")
            except TypeError:
                raise ScenarioError(
                    f"domain of {var!r} holds the unhashable value {value!r}"
                ) from None
            table[value] = value
        if not table:
            raise ScenarioError(f"domain of {var!r} is empty; list at least one value")
        canon[var] = table
    return {v: canon[v] for v in equations}


def _canonical(
    canon: Mapping[str, Mapping[Hashable, Hashable]], var: str, value: Any, what: str
) -> Hashable:
    try:
        return canon[var][value]
    except (KeyError, TypeError):
        raise ScenarioError(
            f"{what} {value!r} of {var!r} is outside its domain {list(canon[var])}"
        ) from None


def _parent_values(parents: Iterable[str], values: Mapping[str, Hashable]) -> dict[str, Any]:
    return {p: values[p] for p in sorted(parents) if p in values}


def _as_setting(interventions: Any) -> dict[str, Hashable]:
    """Read ``{var: value}``, ``[(var, value), ...]`` or ``[obj.target/obj.value, ...]``."""
    if isinstance(interventions, Mapping):
        return dict(interventions)
    if isinstance(interventions, str) or not isinstance(interventions, Iterable):
        raise InterventionError(
            f"interventions must be a mapping or a sequence, not {interventions!r}"
        )
    setting: dict[str, Hashable] = {}
    for item in interventions:
        if isinstance(item, tuple) and len(item) == 2 and isinstance(item[0], str):
            var, value = item
        elif hasattr(item, "target") and hasattr(item, "value"):
            var, value = item.target, item.value
        else:
            raise InterventionError(
                f"cannot read intervention {item!r}: give (variable, value) or an object "
                "with .target and .value"
            )
        if var in setting and setting[var] != value:
            raise InterventionError(
                f"two interventions set {var!r}: to {setting[var]!r} and to {value!r}"
            )
        setting[var] = value
    return setting
