"""The world of a simulated run: re-simulate it under interventions, its noise held fixed
(causal layer; imports kernel, model and the executor).

For a simulated run the exogenous noise is the addressed noise field at the run's seed, so
Pearl's three steps are exact: abduction is a look-up (the noise *is* the field), action
compiles the interventions, and prediction replays the program with every address the factual
run reached fed its factual noise (:func:`counterfactual_run`). Addresses that exist only in
the counterfactual world draw from the same field; they are listed in ``unaligned``.
"""

from __future__ import annotations

import fnmatch
import functools
from collections.abc import Collection, Hashable, Mapping, Sequence
from typing import Any

import numpy as np
from numpy.typing import NDArray

from agentsim._compiled import check_address_targets, compile_interventions
from agentsim.errors import AgentSimError, AttributionError, InterventionError
from agentsim.executor import replay
from agentsim.interventions import (
    Intervention,
    agent_names_of,
    as_interventions,
    do,
)
from agentsim.mechanisms import fault_bounds
from agentsim.run import Run
from agentsim.worlds._repair import LEAN_OUTCOMES, RepairWorlds
from agentsim.worlds.protocol import PLAYER_KINDS, Step

__all__ = ["ScenarioWorld", "counterfactual_run"]


def counterfactual_run(run: Run, ivs: Sequence[Intervention]) -> Run:
    """The exact counterfactual of a simulated run under ``ivs`` (Pearl's three steps).

    >>> import agentsim as asim
    >>> sc = asim.Scenario("cr")
    >>> t = sc.tool("t", p_ok=0.5)
    >>> @sc.agent
    ... def main(ctx):
    ...     return (yield ctx.call(t))
    >>> counterfactual_run(sc.run(seed=0), [asim.repair("main#0/t#0")]).outcomes["success"]
    1.0
    """
    ivs = as_interventions(list(ivs))
    # 1. Abduction: the exogenous noise of a simulated run is its noise field (exact).
    # 2. Action and 3. prediction: re-run the program under ivs with that noise.
    cf = replay(run, ivs)
    addresses = [r.address for r in run.records] if run.has_trace else []
    check_address_targets(addresses, ivs, cf.attributes.pop("_matched", set()))
    if run.has_trace:
        factual_addresses = set(addresses)
        cf.unaligned = tuple(r.address for r in cf.records if r.address not in factual_addresses)
    return cf


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
        self._repair_stores: dict[tuple[Any, ...], RepairWorlds] = {}
        self._faults: tuple[list[str], list[str]] | None = None
        self.evaluations = 0

    @functools.cached_property
    def _records(self) -> list[Any]:
        if not self.run.has_trace:
            raise AgentSimError(
                "this run was simulated with keep_traces=False, so its calls are unknown; "
                f"re-run it with scenario.run(seed={self.run.seed})"
            )
        return self.run.records

    @functools.cached_property
    def _calls(self) -> list[Any]:
        return [r for r in self._records if r.kind in ("tool", "llm")]

    @functools.cached_property
    def _agents(self) -> list[Any]:
        return [r for r in self._records if r.kind == "agent" and r.parent is not None]

    @functools.cached_property
    def _root(self) -> Any:
        return next((r for r in self._records if r.parent is None), None)

    @functools.cached_property
    def _own(self) -> list[Any]:
        root = self._root
        return [r for r in self._calls if root is not None and r.parent == root.address]

    @property
    def factual(self) -> Run:
        """The factual run."""
        return self.run

    def counterfactual(self, interventions: Sequence[Any] = ()) -> Run:
        """The counterfactual run under ``interventions`` (cached by the interventions)."""
        ivs = as_interventions(list(interventions))
        hit = self._cache.pop(ivs, None)
        if hit is None:
            hit = counterfactual_run(self.run, ivs)
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
    def _repair_worlds(self, players: Mapping[str, Sequence[str]], outcome: str) -> RepairWorlds:
        lean = outcome in LEAN_OUTCOMES
        key = (tuple((p, tuple(ts)) for p, ts in players.items()), lean)
        store = self._repair_stores.get(key)
        if store is None:
            store = RepairWorlds(self.run, players, lean, on_replay=self._count_replay)
            self._repair_stores[key] = store
        return store

    def _count_replay(self) -> None:
        self.evaluations += 1

    def repair_outcome(
        self, coalition: frozenset[str], players: Mapping[str, Sequence[str]], outcome: str
    ) -> float:
        """``v(S)`` of the repair game, replaying only when a repair can change something.

        Repairing a call that already succeeds in a world changes nothing in it (same noise,
        same value, same latency; a success did not time out), so if every call a player
        targets already succeeds in the world of ``S - {p}``, the world of ``S`` is that
        world. Worlds are memoised by coalition; only the others are replayed (counted in
        ``evaluations``), without span records when ``outcome`` is a built-in one.
        """
        store = self._repair_worlds(players, outcome)
        mask = 0
        for j, p in enumerate(store.names):
            if p in coalition:
                mask |= 1 << j
        return store.value(store.world(mask), outcome)

    def repair_table(
        self, names: Sequence[str], players: Mapping[str, Sequence[str]], outcome: str
    ) -> NDArray[np.float64]:
        """``v(S)`` of the repair game for every coalition of ``names`` (a subset of
        ``players``), indexed by bitmask; walks only the players that can matter (see
        :mod:`agentsim.worlds._repair`)."""
        store = self._repair_worlds({p: players[p] for p in names}, outcome)
        return store.table(outcome)

    # -- the fault game ----------------------------------------------------------------------
    def faults(self) -> list[str]:
        """Addresses of the factual calls that failed on their own: a noise slot in its
        effective mechanism's failure region (``u_ok >= p_ok``, or a service time beyond the
        timeout). Casualties of bad input are not faults; a call with both is."""
        return self._classify()[0]

    def unfixable(self) -> list[str]:
        """Failed calls whose custom mechanism declares no success region (``fix`` refuses
        them; see :func:`agentsim.interventions.fix`)."""
        return self._classify()[1]

    def missed_deadline(self) -> bool:
        """Whether the run was stopped by its scenario's deadline."""
        error = self.run.result.error or ""
        return error.startswith("deadline exceeded")

    def _classify(self) -> tuple[list[str], list[str]]:
        if self._faults is None:
            run = self.run
            compiled = compile_interventions(run.scenario, run.interventions)
            faults: list[str] = []
            unfixable: list[str] = []
            for r in self._calls:
                if r.attrs and "weights" in r.attrs:
                    continue  # a choice has no fault of its own
                tool = run.scenario.tools.get(r.name)
                if tool is None:
                    continue
                for iv in compiled.for_call(r.address, _Req(tool), agent_names_of(r.address)):
                    tool, _ = compiled.apply_to_tool(iv, tool, None)
                try:
                    bounds = fault_bounds(tool)
                except InterventionError:
                    if not r.ok:
                        unfixable.append(r.address)
                    continue
                if any(r.noise.get(slot, 0.0) >= c for slot, c in bounds.items()):
                    faults.append(r.address)
            self._faults = (faults, unfixable)
        return self._faults

    def players(self, kind: str = "calls") -> list[str]:
        """``calls``: addresses of tool and model calls; ``agents``: sub-agent instances and,
        when the entry agent made calls of its own, ``"<entry> (own calls)"`` (so that the
        agents' shares cover the whole run); ``tools``: names of tools and models called."""
        if kind == "calls":
            return [r.address for r in self._calls]
        if kind == "agents":
            own = [self.own_calls_player] if self._own else []
            return own + [r.address for r in self._agents]
        if kind == "tools":
            return list(dict.fromkeys(r.name for r in self._calls))
        raise AttributionError(
            f"unknown player kind {kind!r}; use one of {list(PLAYER_KINDS)} or a dict "
            "{name: [address or glob, ...]}"
        )

    def player_targets(self, kind: str, name: str) -> list[str]:
        """Intervention targets of a player: its address, its calls, or its tool name."""
        if kind == "agents":
            if self._own and name == self.own_calls_player:
                return [r.address for r in self._own]
            return [f"{name}/*"]
        return [name]

    @property
    def own_calls_player(self) -> str:
        """Name of the player made of the entry agent's own (direct) calls."""
        return f"{self._root.name if self._root is not None else 'entry'} (own calls)"

    def reference(self, target: str, outcome: str) -> list[Intervention]:
        """Interventions setting ``target`` to its typical behaviour for ``outcome``:
        each matching call's median latency (``latency``) or zero cost (``cost``)."""
        out: list[Intervention] = []
        for r in self._calls:
            if r.address == target or r.name == target or fnmatch.fnmatchcase(r.address, target):
                tool = self.run.scenario.tools[r.name]
                if outcome == "cost":
                    out.append(do(r.address, cost=0.0))
                else:
                    out.append(do(r.address, latency=tool.latency_dist.median()))
        return out

    def describe_reference(self, targets: Sequence[str], outcome: str) -> list[str]:
        """Where the references come from: the scenario's own mechanisms."""
        what = "zero cost" if outcome == "cost" else "the median of its latency distribution"
        return [f"reference of each call: {what} (from the scenario's mechanisms)"]

    # -- steps and provably null players ---------------------------------------------------
    def steps(self) -> list[Step]:
        """``(address, agent, ok)`` of every span that is not an agent instance, in order."""
        return [(r.address, r.agent, bool(r.ok)) for r in self._records if r.kind != "agent"]

    def null_players(
        self, game: str, outcome: str, players: Mapping[str, Sequence[str]]
    ) -> list[str]:
        """Players provably null in ``game`` on this run.

        In the repair game, a call that would succeed whatever its inputs (default
        mechanism, no timeout, recorded ``u_ok`` below ``p_recover``) returns exactly the
        same result when repaired, in every coalition's world: its player is null.
        """
        if game != "repair" or self.run.interventions:  # a planted fault may change it
            return []
        return [
            p
            for p, targets in players.items()
            if all("#" in t and "*" not in t and self._always_ok(t) for t in targets)
        ]

    def _always_ok(self, address: str) -> bool:
        rec = next((r for r in self._calls if r.address == address), None)
        if rec is None:
            return False
        tool = self.run.scenario.tools.get(rec.name)
        if tool is None or tool.mechanism is not None or tool.timeout is not None:
            return False
        u = rec.noise.get("ok")
        return u is not None and u < tool.p_recover

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


class _Req:
    """The shape of a call request that intervention matching reads (its tool)."""

    __slots__ = ("tool",)

    def __init__(self, tool: Any) -> None:
        self.tool = tool
