"""Parent inference for :class:`~agentsim.worlds.structural.StructuralModel`: read the equations.

Layer: causal. It imports only from its own layer and the ones below it.

Each equation is called on a :class:`Recorder`, a mapping that answers every read and records
it. Replaying the equation with incremented choices explores, depth first, every value of every
variable it reads, so each branch of its code runs at least once and the set of keys read is a
superset of the true parents. The walk is capped at ``2**16`` calls per equation; past that,
a deterministic probe of 4096 assignments plus the actual one stands in, which may miss a rarely
read parent (the module docstring of :mod:`agentsim.worlds.structural` says when to pass
``parents=``).
"""

from __future__ import annotations

import random
from collections.abc import Callable, Hashable, Iterable, Iterator, Mapping, Sequence
from typing import TYPE_CHECKING, Any

from agentsim.errors import ScenarioError, suggest

if TYPE_CHECKING:
    from agentsim.worlds.structural import Equation

__all__ = ["Recorder", "infer_parents"]

_EXPLORE_LIMIT = 2**16
_PROBE_SIZE = 4096

InDomain = Callable[[str, Any, Mapping[str, Hashable]], Hashable]
"""``(variable, value, inputs) -> canonical value``; raises ScenarioError outside the domain."""


class Recorder(Mapping[str, Hashable]):
    """A mapping that answers an equation's reads and records them.

    With ``fixed`` it answers from a full assignment. Without it, the first value of every
    domain is given to each fresh read, except that the first ``len(choices)`` fresh reads take
    the domain indices in ``choices``: replaying with incremented choices walks the equation's
    decision tree depth first.
    """

    def __init__(
        self,
        domains: Mapping[str, Sequence[Hashable]],
        choices: Sequence[int] = (),
        fixed: Mapping[str, Hashable] | None = None,
    ) -> None:
        self._domains = domains
        self._choices = choices
        self._fixed = fixed
        self.trail: list[tuple[str, int]] = []
        self.read: dict[str, Hashable] = {}
        self.unknown: list[str] = []

    def __getitem__(self, key: str) -> Hashable:
        if key in self.read:
            return self.read[key]
        if key not in self._domains:
            self.unknown.append(key)
            raise KeyError(key)
        if self._fixed is not None:
            value = self._fixed[key]
        else:
            k = len(self.trail)
            choice = self._choices[k] if k < len(self._choices) else 0
            self.trail.append((key, choice))
            value = self._domains[key][choice]
        self.read[key] = value
        return value

    def __iter__(self) -> Iterator[str]:
        return iter(self._domains)

    def __len__(self) -> int:
        return len(self._domains)


def infer_parents(
    var: str,
    equation: Equation,
    equations: Mapping[str, Equation | None],
    domains: Mapping[str, Sequence[Hashable]],
    context: Mapping[str, Hashable],
    in_domain: InDomain,
) -> frozenset[str]:
    """The variables ``equation`` (of ``var``) reads on any branch of its code.

    Raises
    ------
    ScenarioError
        If the equation raises, reads an unknown variable or returns a value outside the
        domain of ``var``, or (in the probe) the equations form a cycle.
    """
    reads: set[str] = set()
    choices: list[int] = []
    for _ in range(_EXPLORE_LIMIT):
        recorder = Recorder(domains, choices)
        _call_recorded(var, equation, recorder, equations, in_domain)
        reads.update(recorder.read)
        # Backtrack to the deepest read with an untried value, as in a depth-first walk.
        trail = recorder.trail
        i = len(trail) - 1
        while i >= 0 and trail[i][1] + 1 >= len(domains[trail[i][0]]):
            i -= 1
        if i < 0:
            return frozenset(reads)
        choices = [c for _, c in trail[:i]] + [trail[i][1] + 1]
    for assignment in _probe_assignments(equations, domains, context, in_domain):
        recorder = Recorder(domains, fixed=assignment)
        _call_recorded(var, equation, recorder, equations, in_domain)
        reads.update(recorder.read)
    return frozenset(reads)


def _probe_assignments(
    equations: Mapping[str, Equation | None],
    domains: Mapping[str, Sequence[Hashable]],
    context: Mapping[str, Hashable],
    in_domain: InDomain,
) -> Iterable[dict[str, Hashable]]:
    rng = random.Random(0x5C3)
    for _ in range(_PROBE_SIZE):
        yield {v: rng.choice(d) for v, d in domains.items()}
    yield _lazy_actual(equations, domains, context, in_domain)


def _lazy_actual(
    equations: Mapping[str, Equation | None],
    domains: Mapping[str, Sequence[Hashable]],
    context: Mapping[str, Hashable],
    in_domain: InDomain,
) -> dict[str, Hashable]:
    """Actual values computed on demand, before any parent or order is known."""
    values: dict[str, Hashable] = dict(context)
    stack: list[str] = []

    class _Lazy(Mapping[str, Hashable]):
        def __getitem__(self, key: str) -> Hashable:
            return resolve(key)

        def __iter__(self) -> Iterator[str]:
            return iter(domains)

        def __len__(self) -> int:
            return len(domains)

    def resolve(key: str) -> Hashable:
        if key in values:
            return values[key]
        if key not in domains:
            raise ScenarioError(
                f"an equation reads unknown variable {key!r}{suggest(key, domains)}"
            )
        if key in stack:
            cycle = [*stack[stack.index(key) :], key]
            raise ScenarioError(f"the equations form a cycle: {' -> '.join(cycle)}")
        stack.append(key)
        equation = equations[key]
        assert equation is not None  # context variables are already in values
        values[key] = in_domain(key, equation(_Lazy()), {})
        stack.pop()
        return values[key]

    for var in equations:
        resolve(var)
    return values


def _call_recorded(
    var: str,
    equation: Equation,
    recorder: Recorder,
    equations: Mapping[str, Equation | None],
    in_domain: InDomain,
) -> None:
    try:
        result = equation(recorder)
    except Exception as exc:
        if not recorder.unknown:
            raise ScenarioError(
                f"equation of {var!r} raised {type(exc).__name__}: {exc} on inputs "
                f"{recorder.read}; fix the equation or pass parents= to skip the search"
            ) from exc
        result = None
    if recorder.unknown:
        bad = recorder.unknown[0]
        raise ScenarioError(
            f"equation of {var!r} reads unknown variable {bad!r}{suggest(bad, equations)}"
        )
    in_domain(var, result, recorder.read)
