"""Locating a failure: the decisive error, and the heuristics it is compared against.

Layer: attribution. It imports only from its own layer and the ones below it.

The *decisive error* of a failed run is the earliest failed step whose correction alone
turns the failure into a success: the definition of the Who&When benchmark (Zhang et al.
2025), made exact here because the counterfactual is computed rather than judged. By default
the correction is ``fix`` (remove the step's own fault, its inputs kept), so a casualty of a
bad input is never decisive: the step whose own mistake it was is, as in Who&When's labels.
With ``game="repair"`` the correction forces the step's output to succeed instead. ``None``
when no single correction suffices (the failure is overdetermined).

The heuristics need no counterfactual at all and are what a log reader does by eye:
``first_error`` (the first failed call), ``last_error`` (the last one) and ``all_errors``.
The benchmark of :mod:`agentsim.bench` measures how often they agree with the decisive error.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from agentsim.attribution.games import supports_fault
from agentsim.errors import AttributionError
from agentsim.interventions import fix, repair
from agentsim.worlds import CallWorld, Evidence, Step, World, as_world

__all__ = ["Locus", "all_errors", "decisive_error", "first_error", "last_error", "steps_of"]


@dataclass(frozen=True)
class Locus:
    """Where a run failed: the agent, the step (0-based position in trace order among the
    steps), the address, and the evidence for the claim."""

    agent: str | None
    step: int | None
    address: str | None
    evidence: str = ""
    method: str = ""
    details: dict[str, Any] = field(default_factory=dict)

    def __str__(self) -> str:
        return f"{self.agent} at step {self.step} ({self.address}): {self.evidence}"


def steps_of(world: World) -> list[Step]:
    """``(address, agent, ok)`` of every step of the world's factual run, in trace order.

    Steps are the spans that are not agent instances (calls, choices, waits, messages).
    """
    if isinstance(world, CallWorld):
        return world.steps()
    raise AttributionError(f"{type(world).__name__} has no steps to locate a failure in")


def _locus(steps: list[Step], i: int, evidence: str, method: str) -> Locus:
    address, agent, _ = steps[i]
    return Locus(agent=agent, step=i, address=address, evidence=evidence, method=method)


def first_error(world: Evidence) -> Locus | None:
    """The first failed step (a heuristic baseline)."""
    steps = steps_of(_as_world(world))
    for i, (_, _, ok) in enumerate(steps):
        if not ok:
            return _locus(steps, i, "first failed step", "first_error")
    return None


def last_error(world: Evidence) -> Locus | None:
    """The last failed step (a heuristic baseline)."""
    steps = steps_of(_as_world(world))
    for i in range(len(steps) - 1, -1, -1):
        if not steps[i][2]:
            return _locus(steps, i, "last failed step", "last_error")
    return None


def all_errors(world: Evidence) -> list[Locus]:
    """Every failed step, in trace order (a heuristic baseline)."""
    steps = steps_of(_as_world(world))
    return [
        _locus(steps, i, "failed step", "all_errors")
        for i, (_, _, ok) in enumerate(steps)
        if not ok
    ]


def decisive_error(
    world: Evidence, outcome: str = "success", game: str | None = None
) -> Locus | None:
    """The earliest failed step whose correction alone turns the failure into a success.

    ``game`` is ``fault`` (correct a step by removing its own fault: :func:`fix`) or
    ``repair`` (force its output to succeed); by default ``fault`` on a world that supports
    it, ``repair`` otherwise (a world without fault support, such as a finite SCM).

    >>> import agentsim as asim
    >>> sc = asim.Scenario("de")
    >>> a, b = sc.tool("a", p_ok=0.5), sc.tool("b", p_ok=0.9)
    >>> @sc.agent
    ... def main(ctx):
    ...     x = yield ctx.call(a)
    ...     return (yield ctx.call(b, x))
    >>> run = next(r for r in (sc.run(seed=s) for s in range(99))
    ...            if not r.result.ok and r.trace.span("main#0/b#0").noise["ok"] < 0.9)
    >>> decisive_error(run).address
    'main#0/a#0'
    """
    w = _as_world(world)
    if game is None:
        game = "fault" if supports_fault(w) else "repair"
    if game not in ("fault", "repair"):
        raise AttributionError(
            f"decisive_error corrects one step at a time with game='fault' or game='repair', "
            f"got game={game!r}"
        )
    if w.outcome([], outcome) != 0.0:
        return None
    correct, verb = (fix, "fixing") if game == "fault" else (repair, "repairing")
    if game == "fault" and not supports_fault(w):
        raise AttributionError(
            f"{type(w).__name__} cannot remove a step's own fault (no fix support); "
            "use game='repair'"
        )
    steps = steps_of(w)
    tried = 0
    for i, (address, _, ok) in enumerate(steps):
        if ok:
            continue
        tried += 1
        if w.outcome([correct(address)], outcome) == 1.0:
            return _locus(
                steps,
                i,
                f"{verb} it alone makes {outcome} 1 (tried {tried} failed steps in order)",
                "decisive_error",
            )
    return None


def _as_world(world: Evidence) -> World:
    return as_world(world)
