"""Worlds: anything that can say what the outcome would be under interventions.

A *world* holds an exogenous context fixed (a simulated run's noise, an imported trace's
observations, a finite SCM's context) and answers "what is the outcome under these
interventions?". Every attribution method consumes a world and nothing else, which is why one
solver works on a simulated run, a hand-written :class:`~agentsim.StructuralModel` and an
imported trace alike.

Two protocols live here:

* :class:`World`, the coalition-game view used by Shapley, Banzhaf, but-for and decisive error:
  ``outcome(interventions, outcome) -> float`` and ``players(kind)``.
* :class:`FiniteWorld`, the variable view used by Halpern-Pearl actual causation: endogenous
  variables with finite domains, their actual values, and ``evaluate(setting)`` under
  ``do(setting)``.
"""

from __future__ import annotations

from collections.abc import Collection, Hashable, Mapping, Sequence
from typing import TYPE_CHECKING, Any, Protocol, runtime_checkable

if TYPE_CHECKING:
    from agentsim.run import Run

__all__ = ["FiniteWorld", "MonotoneWorld", "ScenarioWorld", "World", "as_world", "world"]


@runtime_checkable
class World(Protocol):
    """A context held fixed, queried under interventions."""

    @property
    def factual(self) -> Any:
        """The factual object (a Run, a Trace, or a StructuralModel's actual values)."""

    def outcome(self, interventions: Sequence[Any] = (), outcome: str = "success") -> float:
        """The value of ``outcome`` when ``interventions`` are applied, context held fixed."""

    def players(self, kind: str = "calls") -> list[str]:
        """Names of the players of the given kind (``calls``, ``agents``, ``tools``...)."""


@runtime_checkable
class FiniteWorld(Protocol):
    """Endogenous variables with finite domains: what actual causation reasons over."""

    def variables(self) -> list[str]:
        """Endogenous variables, in a topological order."""

    def domain(self, variable: str) -> Sequence[Hashable]:
        """The finite set of values ``variable`` can take."""

    def actual(self) -> Mapping[str, Hashable]:
        """Actual (factual) values of all endogenous variables."""

    def evaluate(self, setting: Mapping[str, Hashable]) -> Mapping[str, Hashable]:
        """Values of all endogenous variables under ``do(setting)``."""

    def parents(self, variable: str) -> Collection[str]:
        """Variables the equation of ``variable`` may read (a superset is allowed)."""


@runtime_checkable
class MonotoneWorld(Protocol):
    """A finite world that can say whether it is monotone (an optional extra of FiniteWorld).

    Monotone means: every domain is a set of numbers, and every variable's equation is
    non-decreasing in each of its parents. Then every value under ``do(setting)`` is
    non-decreasing in the values set, which lets actual-causation searches skip questions
    whose answer monotonicity already gives.
    """

    def monotone(self) -> bool:
        """True only when the world is known to be monotone (False when unknown)."""


PLAYER_KINDS = ("calls", "agents", "tools")
RUN_CACHE_SIZE = 2048
"""Counterfactual runs a :class:`ScenarioWorld` keeps, least recently used dropped first."""


class ScenarioWorld:
    """A simulated run as a world: re-simulate under interventions, noise held fixed.

    Evaluations are cached by the tuple of interventions (the :data:`RUN_CACHE_SIZE` most
    recently used), and counted in ``evaluations``
    (distinct simulations actually run). A run from a batch whose sessions shared resources is
    re-simulated together with its whole batch.

    It is also a :class:`FiniteWorld` whose variables are the factual calls' success flags
    (domain ``[False, True]``) followed by the run's outcomes, so Halpern-Pearl actual
    causation applies to runs: ``do(X=x)`` on a call is ``asim.do(address, ok=x)``. A call
    absent from a counterfactual world has value ``None`` there.

    >>> import agentsim as asim
    >>> sc = asim.Scenario("w")
    >>> t = sc.tool("t", p_ok=0.5)
    >>> @sc.agent
    ... def main(ctx):
    ...     return (yield ctx.call(t))
    >>> w = ScenarioWorld(sc.run(seed=0))
    >>> w.outcome([asim.repair("main#0/t#0")])
    1.0
    >>> w.players("calls")
    ['main#0/t#0']
    """

    def __init__(self, run: Run) -> None:
        self.run = run
        self._cache: dict[tuple[Any, ...], Run] = {}
        self._repair_memo: dict[frozenset[str], Run] = {}
        self.evaluations = 0
        trace_spans = run.records
        self._calls = [r for r in trace_spans if r.kind in ("tool", "llm")]
        self._agents = [r for r in trace_spans if r.kind == "agent" and r.parent is not None]

    @property
    def factual(self) -> Run:
        """The factual run."""
        return self.run

    def counterfactual(self, interventions: Sequence[Any] = ()) -> Run:
        """The counterfactual run under ``interventions`` (cached)."""
        from agentsim.counterfactuals import counterfactual
        from agentsim.interventions import as_interventions

        ivs = as_interventions(list(interventions))
        if not ivs:
            return self.run
        hit = self._cache.pop(ivs, None)
        if hit is None:
            hit = counterfactual(self.run, ivs)
            self.evaluations += 1
            if len(self._cache) >= RUN_CACHE_SIZE:  # bounded: drop the least recently used
                del self._cache[next(iter(self._cache))]
        self._cache[ivs] = hit
        return hit

    def outcome(self, interventions: Sequence[Any] = (), outcome: str = "success") -> float:
        """Outcome ``outcome`` under ``interventions``."""
        if not interventions:
            return self.run.outcome(outcome)
        return self.counterfactual(interventions).outcome(outcome)

    # -- the repair game, with shortcuts ----------------------------------------------------
    def repair_outcome(
        self, coalition: frozenset[str], players: Mapping[str, Sequence[str]], outcome: str
    ) -> float:
        """``v(S)`` of the repair game, replaying only when a repair can change something.

        Repairing a call that already succeeds in a world changes nothing in it (same noise,
        same value, same latency; a success did not time out), so if every call a player
        targets already succeeds in the world of ``S - {p}``, the world of ``S`` is that
        world. Worlds are memoised by coalition; only the others are replayed (counted in
        ``evaluations``).
        """
        return self._repair_state(frozenset(coalition), players).outcome(outcome)

    def _repair_state(self, coalition: frozenset[str], players: Mapping[str, Sequence[str]]) -> Run:
        from agentsim.counterfactuals import replay
        from agentsim.interventions import as_interventions, repair

        memo = self._repair_memo
        hit = memo.get(coalition)
        if hit is not None:
            return hit
        if not coalition:
            memo[coalition] = self.run
            return self.run
        order = list(players)
        peel = sorted(coalition, key=order.index, reverse=True)
        known = [p for p in peel if coalition - {p} in memo] or peel[:1]
        for p in known:
            sub = self._repair_state(coalition - {p}, players)
            if self._all_ok(sub, players[p]):
                memo[coalition] = sub
                return sub
        ivs = as_interventions([repair(t) for q in order if q in coalition for t in players[q]])
        world = replay(self.run, ivs)
        self.evaluations += 1
        memo[coalition] = world
        return world

    @staticmethod
    def _all_ok(world: Run, targets: Sequence[str]) -> bool:
        """Whether repairing ``targets`` in ``world`` would change nothing: every call they
        match succeeded (a cancelled or unfinished one counts as not), and so did every agent
        instance an address or glob among them matches (a repair forces its result too)."""
        import fnmatch

        from agentsim.interventions import agent_names_of, is_pattern, target_matches

        for r in world.records:
            if r.kind in ("tool", "llm"):
                if r.ok and r.status == "done":
                    continue
                names = agent_names_of(r.address)
                if any(target_matches(t, r.address, r.name, names) for t in targets):
                    return False
            elif (
                r.kind == "agent"
                and not r.ok
                and any(is_pattern(t) and fnmatch.fnmatchcase(r.address, t) for t in targets)
            ):
                return False
        return True

    def players(self, kind: str = "calls") -> list[str]:
        """``calls``: addresses of tool and model calls; ``agents``: sub-agent instances;
        ``tools``: names of tools and models called."""
        if kind == "calls":
            return [r.address for r in self._calls]
        if kind == "agents":
            return [r.address for r in self._agents]
        if kind == "tools":
            return list(dict.fromkeys(r.name for r in self._calls))
        from agentsim.errors import AttributionError

        raise AttributionError(
            f"unknown player kind {kind!r}; use one of {list(PLAYER_KINDS)} or a dict "
            "{name: [address or glob, ...]}"
        )

    def player_targets(self, kind: str, name: str) -> list[str]:
        """Intervention targets of a player: its address, its calls, or its tool name."""
        if kind == "agents":
            return [f"{name}/*"]
        return [name]

    def reference(self, target: str, outcome: str) -> Any:
        """Interventions setting ``target`` to its typical behaviour for ``outcome``:
        each matching call's median latency (``latency``) or zero cost (``cost``)."""
        import fnmatch

        from agentsim.interventions import do

        out = []
        for r in self._calls:
            if r.address == target or r.name == target or fnmatch.fnmatchcase(r.address, target):
                tool = self.run.scenario.tools[r.name]
                if outcome == "cost":
                    out.append(do(r.address, cost=0.0))
                else:
                    out.append(do(r.address, latency=tool.latency_dist.median()))
        return out

    # -- FiniteWorld --------------------------------------------------------------------
    def variables(self) -> list[str]:
        """Factual call addresses in trace order, then outcome names."""
        return [r.address for r in self._calls] + list(self.run.outcomes)

    def domain(self, variable: str) -> Sequence[Hashable]:
        """``[False, True]`` for a call; ``[0.0, 1.0]`` for an outcome."""
        return [False, True] if "#" in variable else [0.0, 1.0]

    def actual(self) -> Mapping[str, Hashable]:
        """Factual success flags and outcomes."""
        values: dict[str, Hashable] = {r.address: r.ok for r in self._calls}
        values.update(self.run.outcomes)
        return values

    def evaluate(self, setting: Mapping[str, Hashable]) -> Mapping[str, Hashable]:
        """Success flags and outcomes under ``do(address, ok=value)`` for each setting."""
        from agentsim.interventions import do

        ivs = [do(a, ok=bool(v)) for a, v in sorted(setting.items()) if "#" in a]
        cf = self.counterfactual(ivs) if ivs else self.run
        oks = {r.address: r.ok for r in cf.records if r.kind in ("tool", "llm")}
        values: dict[str, Hashable] = {r.address: oks.get(r.address) for r in self._calls}
        values.update(cf.outcomes)
        # outcomes are sinks of the SCM: do(Y = y) on one sets it and changes nothing else
        values.update({k: v for k, v in setting.items() if "#" not in k})
        return values

    def parents(self, variable: str) -> Collection[str]:
        """Conservatively, every call issued before ``variable`` (all calls for an outcome;
        outcomes never feed calls or each other)."""
        names = [r.address for r in self._calls]
        if variable in names:
            return names[: names.index(variable)]
        return names


def as_world(obj: Any) -> Any:
    """Wrap ``obj`` as a world: a Run becomes a :class:`ScenarioWorld`, a Trace a
    ``TraceWorld``; a world (anything with ``outcome`` and ``players``) passes through.

    >>> import agentsim as asim
    >>> sc = asim.Scenario("aw")
    >>> t = sc.tool("t")
    >>> @sc.agent
    ... def main(ctx):
    ...     return (yield ctx.call(t))
    >>> type(as_world(sc.run(seed=0))).__name__
    'ScenarioWorld'
    """
    from agentsim.run import Run
    from agentsim.trace import Trace

    if isinstance(obj, Run):
        if not obj.has_trace:
            from agentsim.errors import AgentSimError

            raise AgentSimError(
                "this run was simulated with keep_traces=False, so its calls are unknown; "
                f"re-run it with scenario.run(seed={obj.seed})"
            )
        return ScenarioWorld(obj)
    if isinstance(obj, Trace):
        from agentsim.tracemodel import TraceWorld

        return TraceWorld(obj)
    if hasattr(obj, "outcome") and hasattr(obj, "players"):
        return obj
    from agentsim.errors import AgentSimError

    raise AgentSimError(
        f"{type(obj).__name__} is not a world; pass a Run, a Trace, a StructuralModel or a World"
    )


def world(obj: Any) -> Any:
    """``asim.world(run_or_trace)``: the world in which to ask what-if questions."""
    return as_world(obj)
