r"""Actual causation: but-for causes and the three Halpern-Pearl definitions.

Layer: attribution. It imports only from its own layer and the ones below it.

*Did* ``X = x`` cause ``φ`` in this run? That is a question about one actual situation, not
about a population: a finite structural model with its context fixed (a
:class:`~agentsim.worlds.FiniteWorld`), the actual values of its variables, and an effect
``φ``, such as ``{"FF": 1}``.

But-for causation
-----------------
The simplest answer is counterfactual dependence: ``X = x`` is a *but-for* cause of ``φ`` if
both actually hold and, had ``X`` been some other ``x'`` (everything else following its
equation), ``φ`` would not have held. It fails on two textbook patterns.

*Overdetermination.* A forest fire ``FF = L or MD`` starts when lightning strikes (``L = 1``)
and, at the same moment, an arsonist drops a match (``MD = 1``). Without the lightning the
match still burns the forest, and the other way round, so neither is a but-for cause, yet
surely the fire did not happen without a cause.

*Preemption.* Suzy and Billy both throw rocks at a bottle (``ST = BT = 1``). Suzy's arrives
first and shatters it (``SH = ST``, ``BS = SH or BH``); Billy's arrives at broken glass
(``BH = BT and not SH``, so ``BH = 0``). Had Suzy not thrown, Billy's rock would have broken
the bottle: Suzy's throw is not a but-for cause, yet it is *the* cause, and Billy's is not.

Halpern-Pearl: counterfactual dependence under a contingency
------------------------------------------------------------
Halpern and Pearl keep counterfactual dependence but let it be tested under a *contingency*
``W = w``, an intervention on other variables. In the rock example, hold ``BH`` at its actual
value 0: now the bottle breaks if and only if Suzy throws. For Billy no contingency works: to
make the bottle depend on his throw one must stop Suzy's rock (``SH = 0``), but then ``BH``
leaves its actual value 0 and the bottle breaks by a route that did not actually happen.

Every definition has three clauses. ``X = x`` (a conjunction of variable values) causes ``φ``
when:

AC1
    ``X = x`` and ``φ`` both actually hold.
AC2
    There are a contingency and an alternative setting ``x'`` under which the effect depends
    on ``X``; the definitions differ only here (below). ``Z`` names the variables not in
    ``W``, and ``z*`` their actual values.
AC3
    ``X`` is minimal: no strict part of ``X = x`` satisfies AC1 and AC2.

The three versions of AC2 are:

``"original"`` (Halpern and Pearl, 2001)
    AC2(a): ``[X ← x', W ← w] ¬φ`` for some ``x'`` and any ``w``; AC2(b^o): ``[X ← x,
    W ← w, Z' ← z*] φ`` for every subset ``Z'`` of ``Z``. Clause (b) keeps the contingency
    honest: with the cause restored, the effect must survive putting any path variable back
    at its actual value.
``"updated"`` (Halpern and Pearl, 2005)
    AC2(a) as before; AC2(b^u): ``[X ← x, W' ← w, Z' ← z*] φ`` for every subset ``W'`` of
    ``W`` and ``Z'`` of ``Z``. The contingency must work piece by piece, not only as a
    whole, which rules out some spurious causes the original version admits.
``"modified"`` (Halpern, 2015)
    AC2(a^m): ``[X ← x', W ← w*] ¬φ`` where ``w*`` are the *actual* values of ``W``. There is
    no clause (b): a contingency may only freeze variables at what they actually were.

In the disjunctive forest fire, ``L = 1`` is a cause under the original and updated
definitions (contingency ``MD = 0``) but not under the modified one, where ``MD`` may only be
held at 1; there the cause is the conjunction ``L = 1 ∧ MD = 1``, and each conjunct is *part
of* a cause. In the rock example all three definitions agree: ``ST = 1`` is a cause (``W =
{BH}`` held at 0) and ``BT = 1`` is not. A but-for cause is a cause under all three (take
``W`` empty).

Degree of responsibility
------------------------
Causes come in degrees. Chockler and Halpern (2004, Definition 3.1) give a cause ``X = x``
responsibility ``1/(k+1)``, where ``k`` is the least number of variables of a contingency
``W`` that have *different values in* ``w`` *than in the actual context*, over every
``(W, w, x')`` for which AC2 holds: a voter in an 8-0 vote won by a majority of 5 needs three
other votes flipped, so responsibility ``1/4``; in a 5-3 vote it is ``1``. A contingency
variable held at its actual value costs nothing: Suzy's throw, whose witness holds Billy's
hit at its actual 0, has responsibility 1. We use this rule for the original and updated
definitions. For
the modified definition, where contingencies cannot flip values, Halpern (2016, ch. 6)
takes ``1/k`` with ``k`` the least ``|X| + |W|`` over causes ``X = x`` containing the
conjunct and their witnesses: in the 8-0 vote four yes-votes must go together, ``k = 4``; in
the forest fire ``k = 2`` for each of ``L = 1`` and ``MD = 1``; Suzy's throw gets ``1/2``
(her throw and Billy's frozen hit). Both rules give 1 to a but-for cause and 0 to anything
that is not (part of) a cause.

Computing it
------------
Deciding actual causation is intractable in general (Eiter and Lukasiewicz, 2002;
Aleksandrowicz et al., 2017), so the search here is exhaustive but pruned: only ancestors of
the effect's variables enter ``W`` and ``Z``, contingencies are tried smallest first and the
first witness ends the search, AC2(b) branches only on settings that change a value,
recent world evaluations are cached, and monotone models (a vote) skip what monotonicity
answers. Every search has a budget of steps (``budget=``; by default 100,000 on a
structural model, 10,000 on a run, where each evaluation is a replay); past it an
:class:`~agentsim.errors.AttributionError` says so, rather than the search running on. A
dozen-variable model answers in well under a second, a 17-voter vote in about one.

Examples
--------
>>> from agentsim.worlds.structural import StructuralModel
>>> fire = StructuralModel(
...     equations={"MD": None, "L": None, "FF": lambda v: int(v["MD"] or v["L"])},
...     context={"MD": 1, "L": 1},
...     domains={"MD": [0, 1], "L": [0, 1], "FF": [0, 1]},
... )
>>> is_actual_cause(fire, {"L": 1}, {"FF": 1}, definition="original")
True
>>> is_actual_cause(fire, {"L": 1}, {"FF": 1}, definition="modified")
False
>>> is_actual_cause(fire, {"L": 1, "MD": 1}, {"FF": 1}, definition="modified")
True
>>> responsibility(fire, {"L": 1}, {"FF": 1})
0.5

References
----------
.. [1] J. Y. Halpern and J. Pearl, "Causes and explanations: a structural-model approach.
   Part I: Causes", UAI 2001; journal version in Brit. J. Phil. Sci. 56(4), 2005.
.. [2] J. Y. Halpern, "A modification of the Halpern-Pearl definition of causality",
   IJCAI 2015.
.. [3] J. Y. Halpern, *Actual Causality*, MIT Press, 2016 (ch. 2 for the definitions,
   ch. 6 for responsibility).
.. [4] H. Chockler and J. Y. Halpern, "Responsibility and blame: a structural-model
   approach", JAIR 22, 2004.
.. [5] T. Eiter and T. Lukasiewicz, "Complexity results for structure-based causality",
   Artificial Intelligence 142, 2002.
.. [6] G. Aleksandrowicz, H. Chockler, J. Y. Halpern and A. Ivrii, "The computational
   complexity of structure-based causality", JAIR 58, 2017.
"""

from __future__ import annotations

from collections.abc import Collection, Hashable, Mapping
from dataclasses import dataclass
from typing import Any

from agentsim.attribution._hp_search import (
    Definition,
    Effect,
    Found,
    Search,
    check_budget,
    check_definition,
)
from agentsim.errors import AttributionError, suggest
from agentsim.worlds import Evidence, FiniteWorld

__all__ = [
    "Cause",
    "Definition",
    "Witness",
    "actual_causes",
    "but_for_variables",
    "find_witness",
    "is_actual_cause",
    "responsibility",
]


def _show(setting: Mapping[str, Any]) -> str:
    return "{" + ", ".join(f"{v}={x!r}" for v, x in setting.items()) + "}"


@dataclass(frozen=True)
class Witness:
    """Why a cause satisfies AC2: the contingency, the alternative and the path set.

    Examples
    --------
    >>> Witness(w={"BH": 0}, x_prime={"ST": 0}, z=("ST", "SH", "BS"))
    Witness(w={'BH': 0}, x_prime={'ST': 0}, z=('ST', 'SH', 'BS'))
    """

    w: dict[str, Hashable]
    """The contingency ``W = w``: set (original, updated) or held at actual values (modified)."""
    x_prime: dict[str, Hashable]
    """The alternative setting ``x'`` of the cause variables under which the effect fails."""
    z: tuple[str, ...] = ()
    """The cause and the variables on its paths to the effect outside ``W``; empty for the
    modified definition, which has no AC2(b)."""

    def __hash__(self) -> int:
        return hash((frozenset(self.w.items()), frozenset(self.x_prime.items()), self.z))


@dataclass(frozen=True)
class Cause:
    """An actual cause: a conjunction of actual variable values, with its witness.

    Examples
    --------
    >>> c = Cause({"ST": 1}, Witness({"BH": 0}, {"ST": 0}), 0.5, "modified")
    >>> print(c)
    ST=1 (modified HP; responsibility 0.5; W={BH=0}, x'={ST=0})
    """

    variables: dict[str, Hashable]
    """The conjuncts ``X = x``, in topological order."""
    witness: Witness
    """A witness with the smallest contingency."""
    responsibility: float
    """The degree of responsibility of the conjunction (see :func:`responsibility`)."""
    definition: Definition
    """Which Halpern-Pearl definition it is a cause under."""

    def __str__(self) -> str:
        conjuncts = " ∧ ".join(f"{v}={x!r}" for v, x in self.variables.items())
        return (
            f"{conjuncts} ({self.definition} HP; responsibility {self.responsibility:.3g}; "
            f"W={_show(self.witness.w)}, x'={_show(self.witness.x_prime)})"
        )

    def __hash__(self) -> int:
        return hash((frozenset(self.variables.items()), self.witness, self.definition))


def _witness(found: Found) -> Witness:
    w, x_prime, z = found
    return Witness(w=dict(w), x_prime=dict(x_prime), z=z)


def _degree(
    search: Search, found: Found, cause: dict[str, Hashable], definition: Definition
) -> float:
    """Responsibility of a cause (AC1-AC3 hold) from its smallest-contingency witness.

    Modified: ``1/(|X| + |W|)`` for the cause itself. Original and updated: Chockler and
    Halpern's ``1/(k+1)``, ``k`` the fewest contingency values differing from actual.
    """
    if definition == "modified":
        return 1.0 / (len(cause) + len(found[0]))
    k = search.fewest_changes(cause, definition)
    if k is None:  # pragma: no cover - AC2 holds, so some witness exists
        raise AssertionError(f"AC2 holds for {cause} but no witness was found")
    return 1.0 / (k + 1)


def is_actual_cause(
    world: FiniteWorld | Evidence,
    cause: Mapping[str, Hashable],
    effect: Effect,
    definition: Definition = "modified",
    budget: int | None = None,
) -> bool:
    """Whether ``cause`` is an actual cause of ``effect`` (AC1, AC2 and AC3).

    Parameters
    ----------
    world : FiniteWorld
        The model with its context fixed, such as a :class:`~agentsim.StructuralModel`.
    cause : mapping of str to value
        The conjunction ``X = x``.
    effect : mapping of str to value, or callable
        ``{variable: value}`` (a conjunction), or a predicate on the values of all variables.
    definition : {"modified", "original", "updated"}
        Which Halpern-Pearl definition to apply (see the module docstring).
    budget : int, optional
        The most search steps (world evaluations asked for, and contingencies tried) before
        giving up with :class:`~agentsim.errors.AttributionError`; by default 100,000 on a
        :class:`~agentsim.StructuralModel` and 10,000 on a run or a trace, where every
        evaluation is a replay.

    Returns
    -------
    bool

    Raises
    ------
    AttributionError
        If the search spends its budget without an answer.

    Examples
    --------
    >>> from agentsim.worlds.structural import StructuralModel
    >>> rocks = StructuralModel(
    ...     equations={"ST": None, "BT": None, "SH": lambda v: v["ST"],
    ...                "BH": lambda v: int(v["BT"] and not v["SH"]),
    ...                "BS": lambda v: int(v["SH"] or v["BH"])},
    ...     context={"ST": 1, "BT": 1}, domains={v: [0, 1] for v in "ST BT SH BH BS".split()},
    ... )
    >>> is_actual_cause(rocks, {"ST": 1}, {"BS": 1}), is_actual_cause(rocks, {"BT": 1}, {"BS": 1})
    (True, False)

    References
    ----------
    .. [1] J. Y. Halpern, *Actual Causality*, MIT Press, 2016, ch. 2.
    """
    return find_witness(world, cause, effect, definition, budget) is not None


def find_witness(
    world: FiniteWorld | Evidence,
    cause: Mapping[str, Hashable],
    effect: Effect,
    definition: Definition = "modified",
    budget: int | None = None,
) -> Witness | None:
    """A witness with the smallest contingency ``W``, or None when ``cause`` is not a cause.

    Parameters
    ----------
    world, cause, effect, definition, budget
        As in :func:`is_actual_cause`.

    Returns
    -------
    Witness or None
        ``None`` unless ``cause`` satisfies AC1, AC2 and AC3.

    Examples
    --------
    >>> from agentsim.worlds.structural import StructuralModel
    >>> fire = StructuralModel(
    ...     equations={"MD": None, "L": None, "FF": lambda v: int(v["MD"] or v["L"])},
    ...     context={"MD": 1, "L": 1}, domains={"MD": [0, 1], "L": [0, 1], "FF": [0, 1]},
    ... )
    >>> find_witness(fire, {"L": 1}, {"FF": 1}, definition="updated")
    Witness(w={'MD': 0}, x_prime={'L': 0}, z=('L', 'FF'))
    >>> find_witness(fire, {"L": 1}, {"FF": 1}, definition="modified") is None
    True

    References
    ----------
    .. [1] J. Y. Halpern, *Actual Causality*, MIT Press, 2016, sec. 2.2.
    """
    definition = check_definition(definition)
    search = Search(world, effect, budget)
    found = search.cause_witness(search.check_setting(cause, "cause"), definition)
    return None if found is None else _witness(found)


def actual_causes(
    world: FiniteWorld | Evidence,
    effect: Effect,
    max_size: int = 3,
    definition: Definition = "modified",
    candidates: Collection[str] | None = None,
    budget: int | None = None,
) -> list[Cause]:
    """Every actual cause of ``effect`` with at most ``max_size`` conjuncts.

    Parameters
    ----------
    world : FiniteWorld
        The model with its context fixed.
    effect : mapping of str to value, or callable
        As in :func:`is_actual_cause`.
    max_size : int
        The largest number of conjuncts in a cause (sizes beyond the number of candidates
        are not tried).
    definition : {"modified", "original", "updated"}
        Which Halpern-Pearl definition to apply.
    candidates : collection of str, optional
        Variables causes may be built from. By default every variable except those the
        effect mapping names (each of which trivially causes itself).
    budget : int, optional
        The most search steps for the whole enumeration (world evaluations asked for, and
        contingencies tried) before giving up with
        :class:`~agentsim.errors.AttributionError`; by default 100,000 on a
        :class:`~agentsim.StructuralModel` and 10,000 on a run or a trace, where every
        evaluation is a replay.

    Returns
    -------
    list of Cause
        Smallest causes first, then in topological order of their variables.

    Examples
    --------
    >>> from agentsim.worlds.structural import StructuralModel
    >>> fire = StructuralModel(
    ...     equations={"MD": None, "L": None, "FF": lambda v: int(v["MD"] or v["L"])},
    ...     context={"MD": 1, "L": 1}, domains={"MD": [0, 1], "L": [0, 1], "FF": [0, 1]},
    ... )
    >>> for cause in actual_causes(fire, {"FF": 1}):
    ...     print(cause)
    MD=1 ∧ L=1 (modified HP; responsibility 0.5; W={}, x'={MD=0, L=0})
    >>> [str(c).split(" (")[0] for c in actual_causes(fire, {"FF": 1}, definition="original")]
    ['MD=1', 'L=1']

    References
    ----------
    .. [1] J. Y. Halpern, *Actual Causality*, MIT Press, 2016.
    """
    definition = check_definition(definition)
    if isinstance(max_size, bool) or not isinstance(max_size, int) or max_size < 1:
        raise AttributionError(f"max_size must be an int of at least 1, not {max_size!r}")
    search = Search(world, effect, check_budget(budget, world))
    if candidates is None:
        pool = [v for v in search.order if not (isinstance(effect, Mapping) and v in effect)]
    else:
        for var in candidates:
            if var not in search.index:
                raise AttributionError(
                    f"candidates name unknown variable {var!r}{suggest(var, search.order)}"
                )
        pool = list(dict.fromkeys(candidates))
    return [
        Cause(
            variables=cause,
            witness=_witness(found),
            responsibility=_degree(search, found, cause, definition),
            definition=definition,
        )
        for cause, found in search.minimal_causes(pool, min(max_size, len(pool)), definition)
    ]


def responsibility(
    world: FiniteWorld | Evidence,
    cause: Mapping[str, Hashable],
    effect: Effect,
    definition: Definition = "modified",
    budget: int | None = None,
) -> float:
    """The degree of responsibility of ``cause`` for ``effect``, in ``[0, 1]``.

    Under ``"modified"`` (Halpern, 2016, ch. 6) it is ``1/k``, where ``k`` is the least
    ``|X| + |W|`` over actual causes ``X = x`` containing every conjunct of ``cause`` and their
    witnesses (``W`` the variables held at their actual values); 0 when no cause contains it.
    Under ``"original"`` and ``"updated"`` (Chockler and Halpern, 2004, Definition 3.1) it
    is ``1/(k+1)``, where ``k`` is the least number of contingency variables whose value in
    a witness differs from their actual value; 0 when ``cause`` is not itself a cause. A
    conjunction of several variables counts as one unit.

    Parameters
    ----------
    world, cause, effect, definition, budget
        As in :func:`is_actual_cause`.

    Returns
    -------
    float

    Examples
    --------
    Eight voters, all voting yes; the motion passes with more than four votes. Under the
    modified definition a voter is part of a cause of four voters; under Chockler and
    Halpern's rule three other votes must be flipped first. Either way the degree is 1/4.

    >>> from agentsim.worlds.structural import StructuralModel
    >>> names = [f"V{i}" for i in range(8)]
    >>> equations = {v: None for v in names}
    >>> equations["P"] = lambda v: int(sum(v[n] for n in names) > 4)
    >>> vote = StructuralModel(equations, {v: 1 for v in names},
    ...                        {v: [0, 1] for v in [*names, "P"]})
    >>> responsibility(vote, {"V0": 1}, {"P": 1})
    0.25
    >>> responsibility(vote, {"V0": 1}, {"P": 1}, definition="updated")
    0.25

    References
    ----------
    .. [1] H. Chockler and J. Y. Halpern, "Responsibility and blame: a structural-model
       approach", JAIR 22, 2004.
    .. [2] J. Y. Halpern, *Actual Causality*, MIT Press, 2016, ch. 6.
    """
    definition = check_definition(definition)
    search = Search(world, effect, budget)
    checked = search.check_setting(cause, "cause")
    if definition == "modified":
        return search.modified_responsibility(checked)
    found = search.cause_witness(checked, definition)
    return 0.0 if found is None else _degree(search, found, checked, definition)


def but_for_variables(world: FiniteWorld | Evidence, effect: Effect) -> list[str]:
    """Variables whose actual value is a but-for cause of ``effect``.

    ``X = x`` is a but-for cause when the effect actually holds and fails under some
    ``do(X = x')``. Every but-for cause is an actual cause under all three definitions.

    Parameters
    ----------
    world : FiniteWorld
        The model with its context fixed.
    effect : mapping of str to value, or callable
        As in :func:`is_actual_cause`; variables the mapping names are left out.

    Returns
    -------
    list of str
        In topological order.

    Examples
    --------
    >>> from agentsim.worlds.structural import StructuralModel
    >>> fire = StructuralModel(
    ...     equations={"MD": None, "L": None, "FF": lambda v: int(v["MD"] and v["L"])},
    ...     context={"MD": 1, "L": 1}, domains={"MD": [0, 1], "L": [0, 1], "FF": [0, 1]},
    ... )
    >>> but_for_variables(fire, {"FF": 1})
    ['MD', 'L']
    """
    search = Search(world, effect)
    if not search.phi(search.actual):
        return []
    named = set(effect) if isinstance(effect, Mapping) else set()
    return [
        v
        for v in search.order
        if v in search.relevant
        and v not in named
        and any(not search.holds({v: x}) for x in search.domains[v] if x != search.actual[v])
    ]
