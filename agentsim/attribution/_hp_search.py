"""The search behind Halpern-Pearl actual causation (private to :mod:`.actual_cause`).

Layer: attribution. It imports only from its own layer and the ones below it.

A :class:`Search` holds one world and one effect, and answers AC2 and AC3 questions about
candidate causes with as few world evaluations as it can:

* Only ancestors of the effect's variables matter. A contingency ``W`` or a path set ``Z'``
  is drawn from them; for the modified definition ``W`` is further limited to descendants of
  the cause, since holding any other variable at its actual value changes nothing.
* Contingencies are tried by increasing size and the first witness found is returned, so its
  ``W`` is as small as possible (which is what degrees of responsibility need).
* AC2(b) is checked depth first over the optional settings in topological order: a variable
  whose value already equals the value it would be set to is set at no cost, so only settings
  that actually change a value branch the search.
* Under the original definition a contingency variable whose every path to the effect runs
  through the cause or other contingency variables is skipped: a smaller contingency without
  it is a witness whenever this one is.
* Evaluations are cached, keyed by the frozen setting, in a cache of bounded size (least
  recently used settings are dropped), and every search has a budget of steps (evaluations
  asked for, cached or not, and contingencies tried): past it, :class:`AttributionError` says
  which budget ran out and how to ask a smaller question.
* In a monotone world (every equation non-decreasing in each parent, as a
  :class:`~agentsim.worlds.MonotoneWorld` reports) a cause whose every variable sits at the
  bottom of its domain cannot cause an upward-closed effect (nor one at the top a
  downward-closed effect): whatever the contingency, raising the cause keeps the effect. So a
  *no* voter is refused without any search.
* Degrees of responsibility under the original and updated definitions follow Chockler and
  Halpern (2004), which count the contingency variables whose witness value differs from the
  actual one. Holding a variable at its actual value is free, and only matters for variables
  downstream of the cause or of a changed variable, so the search for the fewest changes
  tries changed sets by size and, for each, held sets drawn from those descendants.
"""

from __future__ import annotations

import contextlib
import itertools
from collections import OrderedDict
from collections.abc import Callable, Hashable, Iterable, Iterator, Mapping, Sequence
from types import MappingProxyType
from typing import Literal, TypeAlias

from agentsim.errors import AgentSimError, AttributionError, suggest
from agentsim.worlds import Evidence, FiniteWorld, MonotoneWorld, World, as_world
from agentsim.worlds.structural import StructuralModel

Definition: TypeAlias = Literal["original", "updated", "modified"]
DEFINITIONS: tuple[Definition, ...] = ("original", "updated", "modified")
Effect: TypeAlias = Mapping[str, Hashable] | Callable[[Mapping[str, Hashable]], bool]
Setting: TypeAlias = dict[str, Hashable]
Found: TypeAlias = tuple[Setting, Setting, tuple[str, ...]]
"""A witness as ``(w, x_prime, z)``."""

DEFAULT_BUDGET = 100_000
"""Steps a search may take by default in a :class:`~agentsim.StructuralModel`: evaluations
asked for (cached or not) and contingencies tried. A 17-voter question takes at most a few
hundred; refuting a non-cause in a 12-variable model under the updated definition, 17,000."""
REPLAY_BUDGET = 10_000
"""The default in any other world (a run, a trace), where every evaluation is a replay."""
CACHE_SIZE = 65_536
"""Evaluated settings kept, least recently used dropped first."""


def check_budget(budget: int | None, world: object = None) -> int:
    """Return ``budget`` if it is a positive int; ``None`` means the default for ``world``."""
    if budget is None:
        return DEFAULT_BUDGET if isinstance(world, StructuralModel) else REPLAY_BUDGET
    if isinstance(budget, bool) or not isinstance(budget, int) or budget < 1:
        raise AttributionError(
            f"budget must be a positive number of search steps, not {budget!r}; "
            f"the default is {DEFAULT_BUDGET}"
        )
    return budget


def check_definition(definition: str) -> Definition:
    """Return ``definition`` if it names a Halpern-Pearl definition, else raise."""
    for known in DEFINITIONS:
        if definition == known:
            return known
    raise AttributionError(
        f"unknown definition {definition!r}{suggest(str(definition), DEFINITIONS)}; "
        f"choose one of {', '.join(DEFINITIONS)}"
    )


def _ordered(domain: Sequence[Hashable]) -> tuple[Hashable, ...]:
    """A monotone world's domain in increasing order (its values are numbers)."""
    return tuple(sorted(domain, key=lambda x: float(x)))  # type: ignore[arg-type]


class Search:
    """AC1-AC3 questions about one effect in one finite world, with a shared cache."""

    def __init__(
        self, world: FiniteWorld | Evidence, effect: Effect, budget: int | None = None
    ) -> None:
        if not isinstance(world, FiniteWorld | World):
            # a simulated Run or an imported Trace: its world is a FiniteWorld over its calls
            with contextlib.suppress(AgentSimError):  # not evidence of any kind: refused below
                world = as_world(world)
        if not isinstance(world, FiniteWorld):
            raise AttributionError(
                f"actual causation needs a FiniteWorld (variables, domains, evaluate), "
                f"not {type(world).__name__}; wrap the model in agentsim.StructuralModel"
            )
        self.world = world
        self.order = list(world.variables())
        self.index = {v: i for i, v in enumerate(self.order)}
        self.actual: Setting = dict(world.actual())
        self.domains = {v: tuple(world.domain(v)) for v in self.order}
        self.parents = {v: frozenset(world.parents(v)) for v in self.order}
        children: dict[str, set[str]] = {v: set() for v in self.order}
        for var, ps in self.parents.items():
            for p in ps:
                children[p].add(var)
        self.children = {v: frozenset(cs) for v, cs in children.items()}
        self.phi, self.effect_vars = self._compile_effect(effect)
        self.conjunctive = not callable(effect)
        self.relevant = self.closure(self.effect_vars, self.parents)
        self.evaluations = 0
        self.steps = 0
        self.budget = check_budget(budget, world)
        self._cache: OrderedDict[frozenset[tuple[str, Hashable]], Mapping[str, Hashable]] = (
            OrderedDict()
        )
        self._ac2: dict[tuple[Definition, frozenset[tuple[str, Hashable]]], Found | None] = {}
        self._descendants: dict[frozenset[str], frozenset[str]] = {}
        self._monotone: bool | None = None

    # -- inputs ----------------------------------------------------------------------------

    def _compile_effect(
        self, effect: Effect
    ) -> tuple[Callable[[Mapping[str, Hashable]], bool], frozenset[str]]:
        self.effect_target: Setting = {}
        if callable(effect):
            test = effect
            return (lambda values: bool(test(values))), frozenset(self.order)
        target = self.check_setting(effect, "effect")
        self.effect_target = target
        items = tuple(target.items())
        return (lambda values: all(values[v] == x for v, x in items)), frozenset(target)

    def check_setting(self, setting: Mapping[str, Hashable], what: str) -> Setting:
        """Validate a cause or effect ``{variable: value}``; return it in topological order."""
        if not isinstance(setting, Mapping) or not setting:
            raise AttributionError(
                f"the {what} must be a non-empty mapping {{variable: value}}, not {setting!r}"
            )
        for var, value in setting.items():
            if var not in self.index:
                raise AttributionError(
                    f"the {what} names unknown variable {var!r}{suggest(var, self.order)} "
                    f"({len(self.order)} variables in this world)"
                )
            if value not in self.domains[var]:
                raise AttributionError(
                    f"the {what} sets {var!r} to {value!r}, outside its domain "
                    f"{list(self.domains[var])}"
                )
        return {v: setting[v] for v in self.sorted(setting)}

    # -- graph helpers ---------------------------------------------------------------------

    def sorted(self, variables: Iterable[str]) -> list[str]:
        """``variables`` in topological order."""
        return sorted(variables, key=self.index.__getitem__)

    @staticmethod
    def closure(start: Iterable[str], edges: Mapping[str, frozenset[str]]) -> frozenset[str]:
        """``start`` with everything reachable from it along ``edges``."""
        seen = set(start)
        stack = list(seen)
        while stack:
            for nxt in edges[stack.pop()]:
                if nxt not in seen:
                    seen.add(nxt)
                    stack.append(nxt)
        return frozenset(seen)

    def descendants(self, variables: Iterable[str]) -> frozenset[str]:
        """``variables`` and their descendants (cached)."""
        key = frozenset(variables)
        if key not in self._descendants:
            self._descendants[key] = self.closure(key, self.children)
        return self._descendants[key]

    def _blocked(self, var: str, others: frozenset[str]) -> bool:
        """True when every directed path from ``var`` to the effect meets ``others``."""
        if var in self.effect_vars:
            return False
        seen = {var}
        stack = [var]
        while stack:
            for child in self.children[stack.pop()]:
                if child in self.effect_vars and child not in others:
                    return False
                if child not in seen and child not in others:
                    seen.add(child)
                    stack.append(child)
        return True

    # -- evaluation ------------------------------------------------------------------------

    def tick(self) -> None:
        """Count one step of the search; raise once the budget is spent."""
        self.steps += 1
        if self.steps > self.budget:
            raise AttributionError(
                f"the Halpern-Pearl search spent its budget of {self.budget} steps "
                f"({self.evaluations} world evaluations) without an answer: the question "
                f"has {len(self.relevant)} variables that can reach the effect; pass a larger "
                f"budget=..., fewer candidates=... or a smaller max_size=..., or use "
                f"definition='modified', which tries no contingency values"
            )

    def evaluate(self, setting: Setting) -> Mapping[str, Hashable]:
        """Values under ``do(setting)``, from a bounded cache of recent settings."""
        self.tick()
        key = frozenset(setting.items())
        values = self._cache.get(key)
        if values is None:
            self.evaluations += 1
            values = MappingProxyType(dict(self.world.evaluate(setting)))
            self._cache[key] = values
            if len(self._cache) > CACHE_SIZE:
                self._cache.popitem(last=False)
        else:
            self._cache.move_to_end(key)
        return values

    def holds(self, setting: Setting) -> bool:
        """Whether the effect holds under ``do(setting)``."""
        return self.phi(self.evaluate(setting))

    # -- AC1, AC2, AC3 ---------------------------------------------------------------------

    def ac1(self, cause: Setting) -> bool:
        """AC1: the cause and the effect both hold in the actual world."""
        return all(self.actual[v] == x for v, x in cause.items()) and self.phi(self.actual)

    def ac2(self, cause: Setting, definition: Definition, max_w: int | None = None) -> Found | None:
        """A witness for AC2 with the smallest contingency ``W``, or None.

        With ``max_w`` only contingencies of at most that size are tried.
        """
        key = (definition, frozenset(cause.items()))
        if key in self._ac2:
            found = self._ac2[key]
            if found is not None and max_w is not None and len(found[0]) > max_w:
                return None
            return found
        if definition == "modified":
            found = self._modified_witness(cause, max_w)
        else:
            found = self._hp_witness(cause, definition, max_w)
        if found is not None or max_w is None:
            self._ac2[key] = found
        return found

    def ac3(self, cause: Setting, definition: Definition) -> bool:
        """AC3: no strict, non-empty part of the cause satisfies AC2."""
        variables = list(cause)
        for size in range(1, len(variables)):
            for part in itertools.combinations(variables, size):
                if self.ac2({v: cause[v] for v in part}, definition) is not None:
                    return False
        return True

    def redundant(self, cause: Setting) -> bool:
        """Whether some cause variable reaches the effect only through the others.

        Such a variable changes nothing in any AC2 evaluation, since all of the cause is
        always set, so the rest of the cause satisfies AC2 whenever the whole does: the whole
        fails AC2 or AC3. The same holds for a variable that cannot reach the effect at all.
        """
        fixed = frozenset(cause)
        return any(v not in self.relevant or self._blocked(v, fixed - {v}) for v in cause)

    def cannot_matter(self, cause: Setting) -> bool:
        """Whether monotonicity alone rules out AC2 for ``cause`` (see the module docstring).

        In a monotone world with a conjunctive effect whose values all sit at the top of their
        domains (upward closed), a cause whose values all sit at the bottom of theirs cannot
        be a cause: AC2 needs the effect under the cause and a contingency, and its failure
        under some other, hence higher, setting of the cause with the same contingency. The
        mirror case (effect at the bottom, cause at the top) is the same.
        """
        if not self.conjunctive or not isinstance(self.world, MonotoneWorld):
            return False
        effect = self.effect_target

        def at(values: Mapping[str, Hashable], end: int) -> bool:
            try:
                return all(x == _ordered(self.domains[v])[end] for v, x in values.items())
            except (TypeError, ValueError):  # values that are not numbers: no order
                return False

        if not ((at(effect, -1) and at(cause, 0)) or (at(effect, 0) and at(cause, -1))):
            return False
        if self._monotone is None:  # asked only now: tabulating equations has a cost
            self._monotone = self.world.monotone()
        return self._monotone

    def cause_witness(self, cause: Setting, definition: Definition) -> Found | None:
        """The smallest-contingency witness when ``cause`` satisfies AC1-AC3, else None."""
        if not self.ac1(cause) or self.redundant(cause) or self.cannot_matter(cause):
            return None
        found = self.ac2(cause, definition)
        if found is None or not self.ac3(cause, definition):
            return None
        return found

    def _alternatives(self, cause: Setting) -> list[Setting]:
        """Every setting ``x'`` of the cause variables except the actual one."""
        variables = list(cause)
        actual = tuple(cause.values())
        return [
            dict(zip(variables, values, strict=True))
            for values in itertools.product(*(self.domains[v] for v in variables))
            if values != actual
        ]

    def _modified_witness(self, cause: Setting, max_w: int | None) -> Found | None:
        # AC2(a^m): some W held at its actual values and some x' make the effect fail. Holding
        # a conjunct of the effect at its actual value can only help the effect, so a
        # conjunctive effect's own variables never need to be in W.
        pool_set = (self.descendants(cause) & self.relevant) - set(cause)
        if self.conjunctive:
            pool_set -= self.effect_vars
        pool = self.sorted(pool_set)
        alternatives = self._alternatives(cause)
        limit = len(pool) if max_w is None else min(max_w, len(pool))
        for size in range(limit + 1):
            for held_vars in itertools.combinations(pool, size):
                held = {v: self.actual[v] for v in held_vars}
                for x_prime in alternatives:
                    if not self.holds({**held, **x_prime}):
                        return held, x_prime, ()
        return None

    def _hp_witness(
        self, cause: Setting, definition: Definition, max_w: int | None
    ) -> Found | None:
        # A contingency W splits into its frontier F (members with a path to the effect that
        # avoids the cause and the rest of W) and a remainder S that F and the cause cut off
        # from the effect. AC2(a), and AC2(b) with Z' empty, see only F = w_F, so they are
        # decided once per frontier; S matters only to the rest of AC2(b^u). Under AC2(b^o)
        # S changes nothing at all, so the original definition only tries S empty.
        pool = self.sorted(self.relevant - set(cause))
        alternatives = self._alternatives(cause)
        limit = len(pool) if max_w is None else min(max_w, len(pool))
        frontiers: dict[tuple[str, ...], list[tuple[Setting, Setting]]] = {}
        # Z' parts of failed AC2(b^u) checks whose W' lay inside the frontier, per option: an
        # extension S that misses such a Z' fails the same check.
        refuted: dict[tuple[tuple[str, ...], int], list[frozenset[str]]] = {}
        for size in range(limit + 1):
            smallest = 0 if definition == "updated" else size
            for f in range(smallest, size + 1):
                for frontier in itertools.combinations(pool, f):
                    self.tick()
                    if frontier not in frontiers:
                        if len(frontiers) >= CACHE_SIZE:
                            frontiers.clear()
                        frontiers[frontier] = self._dependence(frontier, cause, alternatives)
                    options = frontiers[frontier]
                    if not options:
                        continue
                    rest = self._cut_off(set(frontier) | set(cause), pool)
                    for extra in itertools.combinations(rest, size - f):
                        for extra_values in itertools.product(*(self.domains[v] for v in extra)):
                            self.tick()
                            for k, (w_f, x_prime) in enumerate(options):
                                known = refuted.setdefault((frontier, k), [])
                                if any(z.isdisjoint(extra) for z in known):
                                    continue
                                merged = {**w_f, **dict(zip(extra, extra_values, strict=True))}
                                w = {v: merged[v] for v in self.sorted(merged)}
                                bad = self._b_counterexample(cause, w, definition)
                                if bad is None:
                                    return w, x_prime, self._path_set(cause, w)
                                if set(bad).isdisjoint(extra):
                                    known.append(frozenset(bad) - set(cause) - set(w))
        return None

    def fewest_changes(self, cause: Setting, definition: Definition) -> int | None:
        """Chockler and Halpern's ``k``: the fewest contingency values that differ from actual.

        Over every witness ``(W = w, x')`` of AC2 (original or updated definition), the least
        number of variables of ``W`` whose value in ``w`` differs from their actual value;
        None when AC2 fails. A witness is a changed part ``C`` (values other than the actual
        ones) and a held part ``H`` (actual values). Holding a variable that neither the cause
        nor ``C`` can move changes no value in any world AC2 looks at, so ``H`` is drawn from
        the descendants of the cause and ``C`` only, and ``C`` is tried by increasing size.
        """
        if self.cannot_matter(cause):
            return None
        pool = self.sorted(self.relevant - set(cause))
        alternatives = self._alternatives(cause)
        for size in range(len(pool) + 1):
            for changed in itertools.combinations(pool, size):
                others = [[x for x in self.domains[v] if x != self.actual[v]] for v in changed]
                movable = self.sorted(
                    (self.descendants(set(cause) | set(changed)) & self.relevant)
                    - set(cause)
                    - set(changed)
                )
                for values in itertools.product(*others):
                    w_c = dict(zip(changed, values, strict=True))
                    for held_size in range(len(movable) + 1):
                        for held in itertools.combinations(movable, held_size):
                            self.tick()
                            merged = {**w_c, **{v: self.actual[v] for v in held}}
                            w = {v: merged[v] for v in self.sorted(merged)}
                            if any(not self.holds({**w, **xp}) for xp in alternatives) and (
                                self._b_counterexample(cause, w, definition) is None
                            ):
                                return size
        return None

    def _dependence(
        self, frontier: Sequence[str], cause: Setting, alternatives: Sequence[Setting]
    ) -> list[tuple[Setting, Setting]]:
        """Settings ``w`` of a frontier under which the effect depends on the cause.

        Each comes with an ``x'`` satisfying AC2(a); AC2(b) with Z' and W' empty holds too.
        Empty when ``frontier`` is not a frontier or cuts every path from cause to effect.
        """
        fixed = frozenset(frontier) | frozenset(cause)
        if any(self._blocked(v, fixed - {v}) for v in frontier):
            return []
        if all(self._blocked(v, fixed - {v}) for v in cause):
            return []
        found: list[tuple[Setting, Setting]] = []
        for values in itertools.product(*(self.domains[v] for v in frontier)):
            w = dict(zip(frontier, values, strict=True))
            if not self.holds({**cause, **w}):
                continue
            x_prime = next((xp for xp in alternatives if not self.holds({**w, **xp})), None)
            if x_prime is not None:
                found.append((w, x_prime))
        return found

    def _cut_off(self, fixed: set[str], pool: Sequence[str]) -> list[str]:
        """Variables of ``pool`` outside ``fixed`` whose every path to the effect meets it."""
        reach = {v for v in self.effect_vars if v not in fixed}
        stack = list(reach)
        while stack:
            for parent in self.parents[stack.pop()]:
                if parent not in reach and parent not in fixed:
                    reach.add(parent)
                    stack.append(parent)
        return [v for v in pool if v not in reach and v not in fixed]

    def _path_set(self, cause: Setting, w: Setting) -> tuple[str, ...]:
        """Z reported in a witness: the cause and the variables on its paths to the effect."""
        on_paths = (self.descendants(cause) & self.relevant) - set(w)
        return tuple(self.sorted(on_paths | set(cause)))

    def _b_counterexample(
        self, cause: Setting, w: Setting, definition: Definition
    ) -> Setting | None:
        """A setting refuting AC2(b^o) or AC2(b^u) for the contingency ``W = w``, or None.

        The effect must survive restoring any subset Z' of the other variables to their
        actual values (and, for the updated definition, applying any subset W' of the
        contingency). Variables outside the descendants of cause and contingency already sit
        at their actual values, and variables that cannot reach the effect do not matter, so
        only the rest are optional settings.
        """
        touched = self.descendants(set(cause) | set(w))
        restorable = ((self.relevant & touched) - set(cause)) - set(w)
        optional = [(v, self.actual[v]) for v in restorable]
        if definition == "updated":
            fixed = dict(cause)
            optional.extend(w.items())
        else:
            fixed = {**cause, **w}
        optional.sort(key=lambda item: self.index[item[0]])
        return self._counterexample(fixed, optional)

    def _counterexample(
        self, fixed: Setting, optional: Sequence[tuple[str, Hashable]]
    ) -> Setting | None:
        """A setting, ``fixed`` plus a subset of ``optional``, under which the effect fails.

        ``optional`` is in topological order, so the value a variable takes depends only on
        the choices made before it. A choice that sets a variable to the value it already has
        is no choice at all, and only real changes branch.
        """
        stack: list[tuple[int, Setting]] = [(0, fixed)]
        while stack:
            start, setting = stack.pop()
            values = self.evaluate(setting)
            j = start
            while j < len(optional) and values[optional[j][0]] == optional[j][1]:
                j += 1
            if j == len(optional):
                if not self.phi(values):
                    return setting
                continue
            var, value = optional[j]
            stack.append((j + 1, setting))
            stack.append((j + 1, {**setting, var: value}))
        return None

    # -- enumeration -----------------------------------------------------------------------

    def minimal_causes(
        self, pool: Sequence[str], max_size: int, definition: Definition
    ) -> Iterator[tuple[Setting, Found]]:
        """Causes built from ``pool`` (actual values), smallest first, with their witnesses.

        A set fails AC3 exactly when one of its strict subsets satisfies AC2; every strict
        subset is smaller, so by the time a set is reached all of them have been decided.
        """
        if not self.phi(self.actual):
            return
        satisfied: list[frozenset[str]] = []
        candidates = self.sorted(set(pool) & self.relevant)
        for size in range(1, max_size + 1):
            for variables in itertools.combinations(candidates, size):
                members = frozenset(variables)
                if any(s < members for s in satisfied):
                    continue
                cause = {v: self.actual[v] for v in variables}
                if self.redundant(cause):
                    continue
                found = self.ac2(cause, definition)
                if found is not None:
                    satisfied.append(members)
                    yield cause, found

    def modified_responsibility(self, cause: Setting) -> float:
        """Halpern's (2016) degree of responsibility under the modified definition.

        ``1/k`` with ``k`` the least ``|X| + |W|`` over causes ``X = x`` that contain every
        conjunct of ``cause`` and their witnesses; 0 when no cause contains it.
        """
        if not self.ac1(cause) or self.redundant(cause):
            return 0.0
        if self.cannot_matter(cause) and not any(self.parents[v] for v in cause):
            # A context variable at the bottom can be dropped from any cause containing it
            # (it keeps its value, which is below any x'), so no such cause passes AC3.
            return 0.0
        pool = self.sorted(self.relevant - set(cause))
        best = len(self.order) * 2 + 1
        satisfied: list[frozenset[str]] = []
        for size in range(len(cause), len(cause) + len(pool) + 1):
            if size >= best:
                break
            for extra in itertools.combinations(pool, size - len(cause)):
                members = frozenset(cause) | frozenset(extra)
                if any(s < members for s in satisfied):
                    continue
                bigger = {v: self.actual[v] for v in self.sorted(members)}
                if self.redundant(bigger):
                    continue
                found = self.ac2(bigger, "modified", max_w=best - size - 1)
                if found is None:
                    continue
                satisfied.append(members)
                if self.ac3(bigger, "modified"):
                    best = min(best, size + len(found[0]))
                    if best == size:
                        break
        return 0.0 if best > len(self.order) * 2 else 1.0 / best
