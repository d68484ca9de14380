"""The repair game's coalition worlds on a simulated run: lean replays, shared by effect
(causal layer; imports kernel, model, the engine and the executor).

In the repair game ``v(S)`` is the outcome of the world in which every call a player of
``S`` targets is repaired. Three facts make the ``2^n`` worlds cheap to walk:

* **A repair of a call that already succeeds changes nothing.** Same noise, same value, same
  latency, and a success did not time out, so if every call (and, for a glob, every agent
  instance) player ``p`` targets ends ok in the world of ``S``, the world of ``S ∪ {p}`` *is*
  that world. Worlds are therefore shared by their effective repairs: a coalition is
  replayed only when no member can be peeled off this way, and walking coalitions in
  bitmask order, every subset is known when a coalition is met.
* **Players that can never matter are proved null by the walk itself.** Start from the
  players a repair can change in the factual world, and walk their coalitions. If no world
  met makes any other player's calls fail, then by the first fact adding those players to
  any coalition changes nothing: their marginal contribution is 0 everywhere, and
  ``v(S) = v(S ∩ A)`` for the players ``A`` walked. A world that does make another player's
  call fail adds that player to ``A`` and the walk goes on, so the proof is a closure, not a
  guess. Only ``2^|A|`` coalitions are visited.
* **A replay needs no records.** The outcome and the calls that did not end ok are all a
  world has to say, so a replay runs the engine without span records (a run whose outcome
  is a user function, or that shares resources with a batch, is replayed in full).

The table the walk returns is indexed by bitmask over every player asked for, so a solver
computes exactly what it would from plain enumeration (the same numbers, the same
arithmetic); a property test compares the two.
"""

from __future__ import annotations

import fnmatch
from array import array
from collections.abc import Callable, Mapping, Sequence
from typing import TYPE_CHECKING, Any

import numpy as np
from numpy.typing import NDArray

from agentsim._compiled import Compiled, compile_interventions
from agentsim._engine import execute
from agentsim._gc import collect_rarely, freeze_existing
from agentsim.executor import replay, session_outcomes
from agentsim.interventions import (
    Intervention,
    agent_names_of,
    is_pattern,
    repair,
    target_matches,
)

if TYPE_CHECKING:
    from agentsim.run import Run

__all__ = ["LEAN_OUTCOMES", "RepairWorlds"]

LEAN_OUTCOMES = frozenset({"success", "latency", "cost", "failure"})
"""Outcomes a replay without span records can give (user outcomes may read the trace)."""


def _value(outcomes: Mapping[str, float], name: str) -> float:
    """``Run.outcome`` on an outcome dict: ``failure`` is ``1 - success``."""
    x = outcomes.get(name)
    if x is None and name == "failure":
        return 1.0 - outcomes["success"]
    assert x is not None, name
    return x


class RepairWorlds:
    """Every coalition world of the repair game on one run, for one set of players.

    A world is kept as its outcomes and a bitmask of the players whose repair could still
    change it (``bad``: some call they target did not end ok there). ``world(mask)`` finds
    the world of one coalition (bit ``j`` = player ``j``), replaying only when it must;
    ``table(outcome)`` walks all coalitions that can matter and returns every coalition's
    value. ``replays`` counts the simulations run.
    """

    def __init__(
        self,
        run: Run,
        players: Mapping[str, Sequence[str]],
        lean: bool,
        on_replay: Callable[[], None] | None = None,
    ) -> None:
        self.run = run
        self.names = tuple(players)
        self.targets = tuple(tuple(players[p]) for p in self.names)
        self.replays = 0
        self._on_replay = on_replay
        self._own = tuple(run.interventions)
        self._ivs: tuple[tuple[Intervention, ...], ...] = tuple(
            tuple(repair(t) for t in ts) for ts in self.targets
        )
        # Every intervention a coalition can receive is checked against the scenario once,
        # here; a coalition's set is then indexed without checking it again.
        compile_interventions(
            run.scenario, self._own + tuple(iv for ivs in self._ivs for iv in ivs)
        )
        self._lean = lean and not run.context.coupled
        self._inputs = dict(run.context.inputs)
        self._call_bits: dict[tuple[str, str], int] = {}
        self._agent_bits: dict[str, int] = {}
        self._outcomes: list[Mapping[str, float]] = [run.outcomes]
        self._bad: list[int] = [self._bad_of(run.records, ())]
        self._memo: dict[int, int] = {0: 0}
        self._walked: tuple[list[int], array[int]] | None = None

    # -- which players a world leaves something to repair for ---------------------------
    def _bits_of_call(self, address: str, tool: str) -> int:
        key = (address, tool)
        bits = self._call_bits.get(key)
        if bits is None:
            names = agent_names_of(address)
            bits = 0
            for j, ts in enumerate(self.targets):
                if any(target_matches(t, address, tool, names) for t in ts):
                    bits |= 1 << j
            self._call_bits[key] = bits
        return bits

    def _bits_of_agent(self, address: str) -> int:
        bits = self._agent_bits.get(address)
        if bits is None:
            bits = 0
            for j, ts in enumerate(self.targets):
                if any(is_pattern(t) and fnmatch.fnmatchcase(address, t) for t in ts):
                    bits |= 1 << j
            self._agent_bits[address] = bits
        return bits

    def _bad_of(self, records: Sequence[Any], failed: Sequence[tuple[str, str]]) -> int:
        """Players whose repair would change this world: a call they match did not end ok
        (a cancelled or unfinished one counts as not), or an agent instance a glob of theirs
        matches failed (a repair forces its result too)."""
        bad = 0
        for r in records:
            kind = r.kind
            if kind == "tool" or kind == "llm":
                if not (r.ok and r.status == "done"):
                    bad |= self._bits_of_call(r.address, r.name)
            elif kind == "agent" and not r.ok:
                bad |= self._bits_of_agent(r.address)
        for address, tool in failed:
            bad |= self._bits_of_call(address, tool)
        return bad

    # -- replays ------------------------------------------------------------------------
    def _replay(self, mask: int) -> int:
        """Simulate the world of coalition ``mask``; return its index."""
        ivs = tuple(iv for j, ivs in enumerate(self._ivs) if mask >> j & 1 for iv in ivs)
        if self._lean:
            sc = self.run.scenario
            ivs = self._own + ivs
            (s,) = execute(sc, [self.run.seed], self._inputs, Compiled(sc, ivs), record_calls=False)
            outcomes: Mapping[str, float] = session_outcomes(s)
            bad = self._bad_of(s.records, s.failed)
        else:
            cf = replay(self.run, ivs)
            outcomes, bad = cf.outcomes, self._bad_of(cf.records, ())
        self._outcomes.append(outcomes)
        self._bad.append(bad)
        self.replays += 1
        if self._on_replay is not None:
            self._on_replay()
        return len(self._bad) - 1

    def value(self, world: int, outcome: str) -> float:
        """Outcome ``outcome`` of world ``world``."""
        return _value(self._outcomes[world], outcome)

    def world(self, mask: int) -> int:
        """The world of one coalition, memoised; replayed only when no member can be peeled
        off (its repair changes nothing in the world of the others)."""
        hit = self._memo.get(mask)
        if hit is not None:
            return hit
        if self._walked is not None:  # every world is known: that of the walked members
            order, wid = self._walked
            c = 0
            for k, j in enumerate(order):
                c |= (mask >> j & 1) << k
            return wid[c]
        members = [1 << j for j in reversed(range(len(self.names))) if mask >> j & 1]
        memo = self._memo
        known = [b for b in members if mask ^ b in memo] or members[:1]
        for b in known:
            sub = self.world(mask ^ b)
            if not self._bad[sub] & b:
                memo[mask] = sub
                return sub
        found = self._replay(mask)
        memo[mask] = found
        return found

    def table(self, outcome: str) -> NDArray[np.float64]:
        """``v(S)`` for every coalition, indexed by bitmask over :attr:`names`.

        Walks only the players that can matter (see the module docstring), in bitmask order
        over them, peeling off members whose repair changes nothing; every other
        coalition's value is that of its intersection with the walked players.
        """
        n = len(self.names)
        if self._walked is None:
            self._walked = self._walk()
        order, wid = self._walked
        values = np.array([self.value(w, outcome) for w in range(len(self._bad))], dtype=np.float64)
        per_walked = values[np.frombuffer(wid, dtype=np.int32)]
        if order == list(range(n)):
            return per_walked
        masks = np.arange(1 << n, dtype=np.int64)
        index = np.zeros(1 << n, dtype=np.int64)
        for k, j in enumerate(order):
            index |= ((masks >> j) & 1) << k
        out: NDArray[np.float64] = per_walked[index]
        return out

    def _walk(self) -> tuple[list[int], array[int]]:
        """Visit every coalition of the players that can matter, in bitmask order over them;
        return those players (compressed bit ``k`` is player ``order[k]``) and the world of
        each compressed coalition."""
        n = len(self.names)
        bad0 = self._bad[0]
        order = [j for j in range(n) if bad0 >> j & 1]
        walked = sum(1 << j for j in order)
        full = [1 << j for j in order]  # compressed bit k -> the player's own bit
        wid = array("i", [0])
        bad = self._bad
        with collect_rarely(unfreeze=True):
            # The walk allocates millions of short-lived objects; what existed before it is
            # moved out of the collector's sight (handed back when the batch policy ends).
            freeze_existing()
            k = 0
            while k < len(order):
                for c in range(1 << k, 1 << (k + 1)):
                    found = -1
                    rest = c
                    while rest:
                        low = rest & -rest
                        w = wid[c ^ low]
                        if not bad[w] & full[low.bit_length() - 1]:
                            found = w
                            break
                        rest ^= low
                    if found < 0:
                        mask = 0
                        rest = c
                        while rest:
                            low = rest & -rest
                            mask |= full[low.bit_length() - 1]
                            rest ^= low
                        found = self._replay(mask)
                        extra = bad[found] & ~walked
                        if extra:  # a player outside the walk can now matter: walk it too
                            for j in range(n):
                                if extra >> j & 1:
                                    order.append(j)
                                    full.append(1 << j)
                            walked |= extra
                    wid.append(found)
                k += 1
        return order, wid
