"""Lanes, frames and records of the vectorised executor, and its cost and step accounting.

Layer: engine. It imports only from its own layer and the ones below it.

:mod:`agentsim.vector` evaluates a flow over many runs ("lanes") at once and records what
happened as a tree of calls, sub-agents and parallel groups; :class:`Accountant` then adds
each run's costs and steps in the engine's order, cut at the deadline and at first-wins
cancellations, and marks the runs whose answer hangs on SimPy's order of simultaneous events.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import numpy as np
from numpy.typing import NDArray

__all__ = ["Accountant"]

F = NDArray[np.float64]
B = NDArray[np.bool_]
I = NDArray[np.int64]  # noqa: E741

_RTOL = 1e-12
_NONE = -1  # error id of "no error"


def near(a: Any, b: Any) -> Any:
    """Where two times are equal or within 1e-12 relative (the engine's order may decide)."""
    with np.errstate(invalid="ignore"):
        d = np.abs(a - b)
        return (d <= _RTOL * np.maximum(np.abs(a), np.abs(b))) & np.isfinite(d)


# -- the record of what happened, for cost and step accounting ------------------------------
class Leaf:
    """One call or decision: a step when it starts, its cost when it ends."""

    __slots__ = ("amount", "end", "idx", "simple", "start")

    def __init__(self, idx: I, start: F, end: F, amount: F, simple: bool) -> None:
        self.idx, self.start, self.end, self.amount, self.simple = idx, start, end, amount, simple


class Child:
    """A sub-agent: its own context's costs, added to the parent's when it returns."""

    __slots__ = ("body_end", "end", "idx", "items", "start")

    def __init__(self, idx: I, start: F, body_end: F, end: F, items: list[Any]) -> None:
        self.idx, self.start, self.body_end, self.end, self.items = idx, start, body_end, end, items


class Group:
    """A parallel group: its branches add to the same context in completion order; the
    losers of a first-wins group are cut at the winner's arrival (``cuts``, per branch)."""

    __slots__ = ("branches", "cuts", "idx")

    def __init__(self, idx: I, branches: list[list[Any]], cuts: F | None) -> None:
        self.idx, self.branches, self.cuts = idx, branches, cuts


class Frame:
    """An agent instance: its address and its per-lane occurrence counters by name."""

    __slots__ = ("address", "counts", "n", "names")

    def __init__(self, address: str, names: frozenset[str], n: int) -> None:
        self.address, self.names, self.n = address, names, n
        self.counts: dict[str, I] = {}

    def occurrence(self, name: str, idx: I) -> I:
        cnt = self.counts.get(name)
        if cnt is None:
            cnt = self.counts[name] = np.zeros(self.n, dtype=np.int64)
        if idx.size == self.n:  # every lane (idx is then 0..n-1): no fancy indexing
            k = cnt.copy()
            cnt += 1
            return k
        k = cnt[idx]
        cnt[idx] = k + 1
        return k


def lane_groups(k: I) -> Iterator[tuple[int, B | None]]:
    """Lanes grouped by an occurrence counter: ``(value, mask)``; mask None means all."""
    if k.size == 0:
        return
    lo, hi = int(k.min()), int(k.max())
    if lo == hi:
        yield lo, None
        return
    for v in np.unique(k):
        yield int(v), k == v


class Out:
    """The representative Result of a step's output for each lane: what an agent would
    return for it (its first failed Result, else its last)."""

    __slots__ = ("end", "err", "ok", "val")

    def __init__(self, ok: B, end: F, err: I, val: I) -> None:
        self.ok, self.end, self.err, self.val = ok, end, err, val

    @staticmethod
    def empty(m: int) -> Out:
        return Out(
            np.zeros(m, bool), np.zeros(m), np.full(m, _NONE, np.int64), np.zeros(m, np.int64)
        )

    def put(self, mask: B | None, o: Out) -> None:
        if mask is None:
            self.ok[:], self.end[:], self.err[:], self.val[:] = o.ok, o.end, o.err, o.val
        else:
            self.ok[mask], self.end[mask], self.err[mask], self.val[mask] = (
                o.ok,
                o.end,
                o.err,
                o.val,
            )

    def copy(self) -> Out:
        """A copy to write into (a call's output arrays are also its record's)."""
        return Out(self.ok.copy(), self.end.copy(), self.err.copy(), self.val.copy())

    def sub(self, mask: B) -> Out:
        return Out(self.ok[mask], self.end[mask], self.err[mask], self.val[mask])


class Accountant:
    """Adds the costs and steps of recorded items to per-lane arrays (see the module)."""

    def __init__(self, n: int, deadline: float, flag: Callable[[I, Any], None]) -> None:
        self.n, self.deadline, self.flag = n, deadline, flag

    def account(self, items: list[Any], cut: F, acc: F, steps: I) -> None:
        """Add the costs and steps of ``items`` (one context, in order) that happen before
        ``cut`` to ``acc`` and ``steps`` (full-length arrays)."""
        uncut = not np.isfinite(cut).any()
        for it in items:
            if type(it) is Group:
                self._group(it, cut, acc, steps)
                continue
            if uncut and type(it) is Leaf:  # the common case, no deadline: plain sums
                if it.idx.size == self.n:
                    steps += 1
                    acc += it.amount
                else:
                    steps[it.idx] += 1
                    acc[it.idx] += it.amount
                continue
            c = cut[it.idx]
            self.flag(it.idx, near(it.start, c))
            steps[it.idx] += it.start < c
            if type(it) is Leaf:
                self.flag(it.idx, near(it.end, c))
                acc[it.idx] += np.where(it.end < c, it.amount, 0.0)
            else:
                child = np.zeros(self.n)
                self.account(it.items, cut, child, steps)
                self.flag(it.idx, (it.end > it.body_end) & (c <= it.end) & (c >= it.body_end))
                acc[it.idx] += child[it.idx]

    def _entries(
        self, g: Group, cut: F, steps: I, out: list[tuple[I, F, F, bool]], top: bool = True
    ) -> None:
        for b, items in enumerate(g.branches):
            bc = cut
            if g.cuts is not None:
                bc = cut.copy()
                bc[g.idx] = np.minimum(cut[g.idx], g.cuts[b])
            for it in items:
                if type(it) is Group:
                    # a nested group's calls start after the outer group's later branches
                    # (its processes are initialised later): not in branch order
                    self._entries(it, bc, steps, out, top=False)
                    continue
                c = bc[it.idx]
                self.flag(it.idx, near(it.start, c))
                steps[it.idx] += it.start < c
                if type(it) is Leaf:
                    self.flag(it.idx, near(it.end, c))
                    out.append(
                        (it.idx, it.end, np.where(it.end < c, it.amount, 0.0), it.simple and top)
                    )
                else:
                    child = np.zeros(self.n)
                    self.account(it.items, bc, child, steps)
                    self.flag(it.idx, (it.end > it.body_end) & (c <= it.end) & (c >= it.body_end))
                    # A halted sub-agent branch adds its partial cost from its own process,
                    # after the halting agent has read its context: at the deadline the run
                    # has already been recorded (lost); after a first-wins cut it counts only
                    # if the parent agent steps again, which is left to the engine.
                    amount = child[it.idx]
                    late = (it.end > c) & np.isfinite(c)
                    self.flag(it.idx, late & (c != self.deadline) & (amount != 0))
                    out.append((it.idx, np.minimum(it.end, c), np.where(late, 0.0, amount), False))

    def _group(self, g: Group, cut: F, acc: F, steps: I) -> None:
        entries: list[tuple[I, F, F, bool]] = []
        self._entries(g, cut, steps, entries)
        pos = np.empty(self.n, np.int64)
        pos[g.idx] = np.arange(g.idx.size)
        times = np.full((len(entries), g.idx.size), np.inf)
        amounts = np.zeros((len(entries), g.idx.size))
        simple = np.zeros((len(entries), g.idx.size), bool)
        for e, (eidx, et, ea, es) in enumerate(entries):
            p = pos[eidx]
            times[e, p], amounts[e, p], simple[e, p] = et, ea, es
        order = np.argsort(times, axis=0, kind="stable")
        times = np.take_along_axis(times, order, 0)
        amounts = np.take_along_axis(amounts, order, 0)
        simple = np.take_along_axis(simple, order, 0)
        # the engine adds costs in completion order; equal times with different amounts are
        # in branch order only between single calls
        for e in range(1, len(entries)):
            clash = (
                near(times[e], times[e - 1])
                & (amounts[e] != amounts[e - 1])
                & (amounts[e] != 0)
                & (amounts[e - 1] != 0)
                & ~(simple[e] & simple[e - 1] & (times[e] == times[e - 1]))
            )
            self.flag(g.idx, clash)
        total = acc[g.idx]
        for e in range(len(entries)):
            total = total + amounts[e]
        acc[g.idx] = total
