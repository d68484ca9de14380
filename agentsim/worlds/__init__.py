"""Worlds: anything that can say what the outcome would be under interventions (causal layer).

This package is the only seam between the simulator and the causal layer above it. Its
protocols (:class:`World`, :class:`FiniteWorld`) are what attribution consumes; its worlds
implement them for each kind of evidence:

* :class:`ScenarioWorld`: a simulated run (exact noise; :mod:`agentsim.worlds.scenario`);
* :class:`~agentsim.worlds.abduced.AbducedWorld`: a trace plus the program that made it
  (posterior noise; :mod:`agentsim.worlds.abduced`);
* :class:`~agentsim.worlds.trace.TraceWorld`: an imported trace's time, error and cost
  equations (:mod:`agentsim.worlds.trace`);
* :class:`~agentsim.worlds.structural.StructuralModel`: a finite SCM written as equations;
* :class:`~agentsim.worlds.population.PopulationWorld`: a scenario's population of runs, for
  PN/PS/PNS and change attribution;

and :mod:`agentsim.worlds.graph` draws the causal graph of a run or trace. :func:`as_world`
is the one place that turns an object into its world.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from agentsim.errors import AgentSimError
from agentsim.run import Run
from agentsim.trace import Trace
from agentsim.worlds.abduced import AbducedWorld
from agentsim.worlds.population import PopulationWorld
from agentsim.worlds.protocol import (
    PLAYER_KINDS,
    CallWorld,
    CounterfactualWorld,
    FaultWorld,
    FiniteWorld,
    MonotoneWorld,
    ReferenceWorld,
    RepairShortcutWorld,
    Step,
    World,
)
from agentsim.worlds.scenario import ScenarioWorld
from agentsim.worlds.structural import StructuralModel
from agentsim.worlds.trace import TraceWorld

if TYPE_CHECKING:
    from agentsim.scenario import Scenario

Evidence = Run | Trace | World
"""What every attribution function accepts: a simulated run, an imported trace, or a world."""

__all__ = [
    "PLAYER_KINDS",
    "AbducedWorld",
    "CallWorld",
    "CounterfactualWorld",
    "Evidence",
    "FaultWorld",
    "FiniteWorld",
    "MonotoneWorld",
    "PopulationWorld",
    "ReferenceWorld",
    "RepairShortcutWorld",
    "ScenarioWorld",
    "Step",
    "StructuralModel",
    "TraceWorld",
    "World",
    "as_world",
    "world",
]


def as_world(
    obj: Evidence, *, scenario: Scenario | None = None, samples: int = 200, seed: int = 0
) -> World:
    """Wrap ``obj`` as a world: the one place that dispatches on the type of evidence.

    A :class:`~agentsim.run.Run` becomes a :class:`ScenarioWorld`; a
    :class:`~agentsim.trace.Trace` a :class:`TraceWorld`, or, given the ``scenario`` that
    produced it, an :class:`AbducedWorld` (``samples`` posterior draws seeded by ``seed``);
    a world (a :class:`StructuralModel`, a :class:`TraceWorld`, anything implementing
    :class:`World`) passes through.

    >>> import agentsim as asim
    >>> sc = asim.Scenario("aw")
    >>> t = sc.tool("t")
    >>> @sc.agent
    ... def main(ctx):
    ...     return (yield ctx.call(t))
    >>> type(as_world(sc.run(seed=0))).__name__
    'ScenarioWorld'
    """
    if isinstance(obj, Run):
        return ScenarioWorld(obj)
    if isinstance(obj, Trace):
        if scenario is not None:
            return AbducedWorld(obj, scenario, samples=samples, seed=seed)
        return TraceWorld(obj)
    if isinstance(obj, World):
        return obj
    raise AgentSimError(
        f"{type(obj).__name__} is not a world; pass a Run, a Trace, a StructuralModel or a World"
    )


def world(
    obj: Any,
    reference: Sequence[Trace] | None = None,
    *,
    scenario: Scenario | None = None,
) -> World:
    """``asim.world(run_or_trace)``: the world in which to ask what-if questions.

    ``reference`` (traces only) is a corpus of traces whose spans give each operation's
    typical behaviour to the baseline game (see :class:`~agentsim.worlds.trace.TraceWorld`);
    ``scenario`` (traces only) is the program that made the trace, for abduction.
    """
    if reference is not None:
        if not isinstance(obj, Trace):
            raise AgentSimError(
                f"reference= is a corpus of traces for an imported trace's world, but a "
                f"{type(obj).__name__} was given; a simulated run's references come from its "
                "scenario's mechanisms, so drop reference="
            )
        return TraceWorld(obj, reference=list(reference))
    return as_world(obj, scenario=scenario)
