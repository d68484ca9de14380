"""The vectorised executor: many runs of a declarative workflow evaluated at once with numpy.

Layer: engine. It imports only from its own layer and the ones below it.

A scenario compiled from an :mod:`agentsim.workflow` flow is a fixed program: which call
comes next depends only on which earlier calls were ok, on their times and on decisions. So
instead of stepping SimPy once per call per run, this module walks the flow *once* and
evaluates each step for every run that reaches it, as numpy arrays over runs ("lanes"),
drawing the very same addressed noise (:func:`agentsim.noise.uniform_keys`, bit-identical to
the scalar field). Addresses that differ between lanes (the third attempt of a retry in one
run is the first in another) are handled by grouping lanes by their occurrence counters.

What it reproduces, run by run, is the discrete-event engine's: success, latency, cost,
the entry agent's error and value, and the step count. Exactness:

* success and cost are exact; costs are added in the engine's order (completion order inside
  a parallel group), so even their floating-point sums agree;
* latencies are exact for fixed latencies and equal to the engine's to 1e-12 relative
  otherwise: drawn latencies use numpy on arrays (``log1p`` for the exponential, each
  distribution's ``ppf``), and numpy's SIMD ``log1p`` differs from libm's, which the engine
  calls, in the last bit for about 7% of inputs on AVX-512 machines (taking :mod:`math`'s
  element by element would be exact but cost four times the whole evaluation). Gumbel-max
  decisions take :mod:`math`'s ``log``, as the engine does;
* where the engine's answer depends on SimPy's order of simultaneous events (a call ending
  exactly at the deadline, two branches of a first-wins group tying where one is not a single
  call, a cancellation inside an agent's ``delay``) or on behaviour outside the flow's
  semantics (a successful decision that names no option, a run over its step budget), the lane is
  *delegated*: :func:`evaluate` marks it and the caller runs it on the discrete-event engine.
  Ties that the engine resolves by branch order (single calls of a group ending together) are
  resolved here the same way. Near-ties (within 1e-12 relative) are delegated too, so a
  last-bit difference in a latency can never flip an outcome.

Interventions: ``do``, ``repair``, ``break_``, ``delay`` (on calls and agents), ``fix`` (the
call's own noise carried out of its failure region as :class:`agentsim.mechanisms.FixedNoise`
does, with the same float operations), ``set_params``, ``resample`` and ``replace`` by a
Tool. A forced failure keeps an already failed call's own result, as the engine does.

Examples
--------
>>> from agentsim import workflow as wf
>>> sc = wf.scenario(wf.retry(wf.call("a"), n=2), {"a": {"p_ok": 0.5, "latency": 1.0}})
>>> out = evaluate(sc, [3, 4, 5])
>>> [bool(x) for x in out.success] == [sc.run(seed=s).outcomes["success"] == 1 for s in (3, 4, 5)]
True
"""

from __future__ import annotations

import fnmatch
import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
from numpy.typing import NDArray

from agentsim import noise as _noise
from agentsim import workflow as wf
from agentsim._compiled import Compiled, compile_interventions
from agentsim._vector_check import RESULT_KINDS as _RESULT_KINDS
from agentsim._vector_check import TOOL_KINDS as _TOOL_KINDS
from agentsim._vector_check import why_not_vectorisable
from agentsim._vector_parts import (
    Accountant,
    Child,
    Frame,
    Group,
    Leaf,
    Out,
    lane_groups,
    near,
)
from agentsim.dist import Exponential, Fixed
from agentsim.errors import ScenarioError
from agentsim.interventions import Intervention, is_pattern
from agentsim.mechanisms import fault_bounds
from agentsim.scenario import Scenario, Tool

__all__ = ["Outcomes", "evaluate", "why_not_vectorisable"]

F = NDArray[np.float64]
B = NDArray[np.bool_]
I = NDArray[np.int64]  # noqa: E741

_CHUNK = 1 << 15
_NONE = -1  # error id of "no error"


@dataclass
class Outcomes:
    """Per-run results of :func:`evaluate`, in seed order.

    ``delegate`` marks the runs the discrete-event engine must evaluate instead (their other
    fields are meaningless). ``error`` and ``value`` index ``errors`` and ``values``.
    """

    success: B
    latency: F
    cost: F
    steps: I
    error: I
    value: I
    delegate: B
    errors: list[str | None]
    values: list[Any]
    stopped: B


# -- the evaluator ------------------------------------------------------------------------
class _Evaluator:
    def __init__(self, scenario: Scenario, compiled: Compiled | None) -> None:
        self.sc = scenario
        self.compiled = compiled
        self.flows = {name: wf.flow_of(a.fn) for name, a in scenario.agents.items()}
        self.errors: list[str | None] = []
        self._err_ids: dict[str, int] = {}
        self.values: list[Any] = [None]
        self._matches: dict[tuple[str, frozenset[str]], tuple[Intervention, ...]] = {}
        self.keys: NDArray[np.uint64] = np.zeros(0, np.uint64)
        self.tie: B = np.zeros(0, bool)
        self.n = 0
        self.deadline = math.inf if scenario.deadline is None else float(scenario.deadline)

    # tables --------------------------------------------------------------------------------
    def err(self, text: str) -> int:
        i = self._err_ids.get(text)
        if i is None:
            i = self._err_ids[text] = len(self.errors)
            self.errors.append(text)
        return i

    def val(self, value: Any) -> int:
        for i, v in enumerate(self.values):
            if v is value or (type(v) is type(value) and v == value):
                return i
        self.values.append(value)
        return len(self.values) - 1

    def flag(self, idx: I, mask: Any) -> None:
        if np.any(mask):
            self.tie[idx[mask]] = True

    # noise ---------------------------------------------------------------------------------
    def draw(
        self, idx: I, address: str, slot: str, draw: int, fixed: dict[str, float] | None = None
    ) -> F:
        keys = self.keys if idx.size == self.n else self.keys[idx]
        u = _noise.uniform_keys(keys, address, slot, draw)
        c = fixed.get(slot) if fixed is not None else None
        if c is not None and c < 1.0:
            # FixedNoise: a uniform in the failure region [c, 1) carried onto [0, c), with
            # the engine's float operations in the same order (bit-identical)
            u = np.where(u >= c, c * (u - c) / (1.0 - c), u)
        return u

    def ppf(
        self,
        d: Any,
        idx: I,
        address: str,
        slot: str,
        draw: int,
        fixed: dict[str, float] | None = None,
    ) -> F:
        if type(d) is Fixed:
            return np.full(idx.size, d.value)
        u = self.draw(idx, address, slot, draw, fixed)
        if type(d) is Exponential:
            # the engine's formula; numpy's log1p differs from libm's in the last bit for
            # about 7% of inputs on AVX-512 machines (near-ties are delegated, see above)
            return -d.mean * np.log1p(-u)
        return np.asarray(d.ppf(u), dtype=np.float64)

    # interventions -------------------------------------------------------------------------
    def matched(self, address: str, tool: Tool, names: frozenset[str]) -> tuple[Intervention, ...]:
        if self.compiled is None:
            return ()
        key = (address, names)
        hit = self._matches.get(key)
        if hit is None:
            hit = self._matches[key] = self.compiled.for_call(address, _Req(tool), names)
        return hit

    # calls and decisions -------------------------------------------------------------------
    def call(
        self, name: str, fr: Frame, idx: I, in_ok: B, t: F, sink: list[Any], simple: bool
    ) -> Out:
        out = Out.empty(idx.size)
        for kv, mask in lane_groups(fr.occurrence(name, idx)):
            sub = idx if mask is None else idx[mask]
            if mask is None:
                return self._call_at(
                    name, f"{fr.address}/{name}#{kv}", fr, idx, in_ok, t, sink, simple
                )
            o = self._call_at(
                name,
                f"{fr.address}/{name}#{kv}",
                fr,
                sub,
                in_ok if mask is None else in_ok[mask],
                t if mask is None else t[mask],
                sink,
                simple,
            )
            out.put(mask, o)
        return out

    def _effective(self, tool: Tool, matched: tuple[Intervention, ...]) -> tuple[Tool, int]:
        draw: int | None = None
        if self.compiled is not None:
            for iv in matched:
                if iv.kind in _TOOL_KINDS:
                    tool, draw = self.compiled.apply_to_tool(iv, tool, draw)
        return tool, draw or 0

    def _call_at(
        self,
        name: str,
        address: str,
        fr: Frame,
        idx: I,
        in_ok: B,
        t: F,
        sink: list[Any],
        simple: bool,
    ) -> Out:
        tool0 = self.sc.resolve_tool(name)
        matched = self.matched(address, tool0, fr.names)
        tool, d = self._effective(tool0, matched)
        fixed = fault_bounds(tool) if any(iv.kind == "fix" for iv in matched) else None
        m = idx.size
        u_ok = self.draw(idx, address, "ok", d, fixed)
        all_in = bool(in_ok.all())
        if all_in or tool.p_ok == tool.p_recover:
            ok = u_ok < tool.p_ok
        else:
            ok = u_ok < np.where(in_ok, tool.p_ok, tool.p_recover)
        lat = self.ppf(tool.latency_dist, idx, address, "latency", d, fixed)
        cost = (
            np.full(m, float(tool.cost))
            if tool.cost_dist is None
            else self.ppf(tool.cost_dist, idx, address, "cost", d, fixed)
        )
        ok_val = self.val(tool.value)
        val = np.zeros(m, np.int64) if ok_val == 0 else np.where(ok, ok_val, 0).astype(np.int64)
        err = np.full(m, _NONE, np.int64)
        bad = ~ok
        if all_in:
            err[bad] = self.err(f"{name} failed")
        else:
            err[bad & in_ok] = self.err(f"{name} failed")
            err[bad & ~in_ok] = self.err(f"{name} failed (bad input)")
        forced = np.zeros(m, bool)
        for iv in matched:
            if iv.kind not in _RESULT_KINDS:
                continue
            if iv.kind == "repair":
                val = np.where(~ok & (val == 0), ok_val, val)
            lat, cost = self._result_iv(
                iv, ok, lat, cost, err, val, forced, choice=False, failed=f"{tool0.name} failed"
            )
        return self._finish(tool, idx, t, ok, lat, cost, err, val, forced, sink, simple)

    def _result_iv(
        self,
        iv: Any,
        ok: B,
        lat: F,
        cost: F,
        err: I,
        val: I,
        forced: B,
        *,
        choice: bool,
        failed: str,
    ) -> tuple[F, F]:
        """Apply a result-level intervention in place (as ``Compiled.apply_to_result``): a
        forced failure keeps a failed call's own result and makes a success read ``failed``
        (the tool's own failure text, or "agent failed")."""
        if iv.kind == "do":
            if iv.ok is not None:
                if iv.ok:
                    ok[:], err[:], forced[:] = True, _NONE, True
                else:
                    hit = ok.copy()
                    ok[hit], val[hit], err[hit] = False, 0, self.err(failed)
            if iv.set_value:
                val[:] = self.val(iv.value)
            if iv.latency is not None:
                lat = np.full(lat.size, iv.latency, dtype=np.float64)
            if iv.cost is not None:
                cost = np.full(cost.size, iv.cost, dtype=np.float64)
        elif iv.kind == "repair":
            ok[:], err[:], forced[:] = True, _NONE, True
        elif iv.kind == "break":
            hit = ok.copy()
            ok[hit], err[hit] = False, self.err(failed)
            if not choice:
                val[hit] = 0
        elif iv.kind == "delay":
            lat = np.maximum(0.0, lat + iv.seconds)
        return lat, cost

    def _finish(
        self,
        tool: Tool,
        idx: I,
        t: F,
        ok: B,
        lat: F,
        cost: F,
        err: I,
        val: I,
        forced: B,
        sink: list[Any],
        simple: bool,
    ) -> Out:
        end = t + lat
        if tool.timeout is not None:
            to = tool.timeout
            self.flag(idx, ~forced & near(lat, to))
            out = ~forced & (lat > to)
            if out.any():
                end = np.where(out, t + to, end)
                ok[out], val[out] = False, 0
                err[out] = self.err(f"timeout after {to:g}s")
        sink.append(Leaf(idx, t, end, cost, simple))
        return Out(ok, end, err, val)

    def choose(self, node: wf.Choose, fr: Frame, idx: I, in_ok: B, t: F, sink: list[Any]) -> Out:
        out = Out.empty(idx.size)
        for kv, mask in lane_groups(fr.occurrence(node.model, idx)):
            sub = idx if mask is None else idx[mask]
            o = self._choose_at(
                node,
                f"{fr.address}/{node.model}#{kv}",
                fr,
                sub,
                in_ok if mask is None else in_ok[mask],
                t if mask is None else t[mask],
                sink,
            )
            out.put(mask, o)
        return out

    def _choose_at(
        self, node: wf.Choose, address: str, fr: Frame, idx: I, in_ok: B, t: F, sink: list[Any]
    ) -> Out:
        tool0 = self.sc.resolve_tool(node.model)
        matched = self.matched(address, tool0, fr.names)
        tool, d = self._effective(tool0, matched)
        m = idx.size
        best = np.zeros(m, np.int64)
        best_score = np.full(m, -np.inf)
        for j, opt in enumerate(node.options):
            if opt.weight <= 0:
                continue
            u = self.draw(idx, address, f"choice:{opt.name}", d)
            # Categorical.choose: math.log(w) + gumbel(u), with math's log as the engine's
            g = np.fromiter((-math.log(-math.log(x)) for x in u.tolist()), float, m)
            score = math.log(opt.weight) + g
            self.flag(idx, near(score, best_score))
            better = score > best_score
            best[better], best_score[better] = j, score[better]
        option_ids = np.array([self.val(o.name) for o in node.options], np.int64)
        val = option_ids[best]
        lat = self.ppf(tool.latency_dist, idx, address, "latency", d)
        cost = (
            np.full(m, float(tool.cost))
            if tool.cost_dist is None
            else self.ppf(tool.cost_dist, idx, address, "cost", d)
        )
        ok = np.ones(m, bool)
        err = np.full(m, _NONE, np.int64)
        forced = np.zeros(m, bool)
        for iv in matched:
            if iv.kind in _RESULT_KINDS:
                lat, cost = self._result_iv(
                    iv,
                    ok,
                    lat,
                    cost,
                    err,
                    val,
                    forced,
                    choice=True,
                    failed=f"{tool0.name} failed",
                )
        dec = self._finish(tool, idx, t, ok, lat, cost, err, val, forced, sink, False)
        # the branch is picked by the decision's value; a failed decision that names no
        # option (a timeout) is the choose's output; a successful one that names none makes
        # the agent raise in the engine: such lanes are left to it
        out = Out.empty(m)
        picked = np.full(m, -1, np.int64)
        for j, oid in enumerate(option_ids):
            picked[dec.val == oid] = j
        failed = (picked < 0) & ~dec.ok
        if failed.any():
            out.put(failed, dec.sub(failed))
        self.flag(idx, (picked < 0) & dec.ok)
        for j, opt in enumerate(node.options):
            mask = picked == j
            if mask.any():
                out.put(mask, self.node(opt.flow, fr, idx[mask], in_ok[mask], dec.end[mask], sink))
        return out

    # agents --------------------------------------------------------------------------------
    def agent_result(self, name: str, address: str, o: Out) -> F:
        """Agent-level interventions (``Compiled.apply_to_agent``); returns the extra delay."""
        extra = 0.0
        if self.compiled is None:
            return np.zeros(o.ok.size)
        for iv in self.compiled.interventions:
            if iv.kind in _TOOL_KINDS:
                continue
            hit = (iv.agent_result and iv.target == name) or (
                is_pattern(iv.target) and fnmatch.fnmatchcase(address, iv.target)
            )
            if not hit:
                continue
            if iv.kind == "delay":
                extra += max(0.0, iv.seconds)  # type: ignore[attr-defined]
            else:
                m = o.ok.size
                self._result_iv(
                    iv,
                    o.ok,
                    np.zeros(m),
                    np.zeros(m),
                    o.err,
                    o.val,
                    np.zeros(m, bool),
                    choice=False,
                    failed="agent failed",
                )
        return np.full(o.ok.size, extra)

    def subagent(
        self, node: wf.Subagent, fr: Frame, idx: I, in_ok: B, t: F, sink: list[Any]
    ) -> Out:
        out = Out.empty(idx.size)
        body = self.flows[node.name]
        assert body is not None
        for kv, mask in lane_groups(fr.occurrence(node.name, idx)):
            sub = idx if mask is None else idx[mask]
            t0 = t if mask is None else t[mask]
            address = f"{fr.address}/{node.name}#{kv}"
            child = Frame(address, fr.names | {node.name}, self.n)
            items: list[Any] = []
            o = self.node(body, child, sub, in_ok if mask is None else in_ok[mask], t0, items)
            body_end = o.end
            extra = self.agent_result(node.name, address, o)
            if extra.any():
                o.end = body_end + extra
            sink.append(Child(sub, t0, body_end, o.end, items))
            out.put(mask, o)
        return out

    # combinators ---------------------------------------------------------------------------
    def node(self, node: wf.Flow, fr: Frame, idx: I, in_ok: B, t: F, sink: list[Any]) -> Out:
        if idx.size == 0:
            return Out.empty(0)
        if isinstance(node, wf.Call):
            return self.call(node.tool, fr, idx, in_ok, t, sink, False)
        if isinstance(node, wf.Seq):
            o = Out(in_ok, t, np.zeros(0, np.int64), np.zeros(0, np.int64))
            for step in node.steps:
                o = self.node(step, fr, idx, o.ok, o.end, sink)
            return o
        if isinstance(node, wf.Retry):
            o = self.node(node.step, fr, idx, in_ok, t, sink).copy()
            for _ in range(node.n):
                again = ~o.ok
                if not again.any():
                    break
                o.put(again, self.node(node.step, fr, idx[again], in_ok[again], o.end[again], sink))
            return o
        if isinstance(node, wf.Fallback):
            o = self.node(node.primary, fr, idx, in_ok, t, sink).copy()
            bad = ~o.ok
            if bad.any():
                o.put(bad, self.node(node.backup, fr, idx[bad], in_ok[bad], o.end[bad], sink))
            return o
        if isinstance(node, wf.Subagent):
            return self.subagent(node, fr, idx, in_ok, t, sink)
        if isinstance(node, wf.Choose):
            return self.choose(node, fr, idx, in_ok, t, sink)
        assert isinstance(node, wf.Par)
        return self.par(node, fr, idx, in_ok, t, sink)

    def branch(self, node: wf.Flow, fr: Frame, idx: I, in_ok: B, t: F, sink: list[Any]) -> Out:
        if isinstance(node, wf.Call):
            return self.call(node.tool, fr, idx, in_ok, t, sink, True)
        if isinstance(node, wf.Subagent):
            return self.subagent(node, fr, idx, in_ok, t, sink)
        assert isinstance(node, wf.Par)
        return self.par(node, fr, idx, in_ok, t, sink)

    def par(self, node: wf.Par, fr: Frame, idx: I, in_ok: B, t: F, sink: list[Any]) -> Out:
        sinks: list[list[Any]] = [[] for _ in node.steps]
        outs = [
            self.branch(s, fr, idx, in_ok, t, k) for s, k in zip(node.steps, sinks, strict=True)
        ]
        ok = np.stack([o.ok for o in outs])
        end = np.stack([o.end for o in outs])
        err = np.stack([o.err for o in outs])
        val = np.stack([o.val for o in outs])
        simple = np.array([isinstance(s, wf.Call) for s in node.steps])
        cols = np.arange(idx.size)
        nb = len(outs)
        if node.mode == "all":
            # the agent's Result: the first failed branch's, else the last branch's
            failed = ~ok
            rep = np.where(failed.any(axis=0), failed.argmax(axis=0), nb - 1)
            sink.append(Group(idx, sinks, None))
            return Out(np.all(ok, axis=0), end.max(axis=0), err[rep, cols], val[rep, cols])
        ok_end = np.where(ok, end, np.inf)
        win_t = ok_end.min(axis=0)
        won = np.isfinite(win_t)
        last_t = end.max(axis=0)
        at = np.where(won, win_t, last_t)
        tied = end == at
        # winner: the first ok branch arriving at win_t; else the last branch to fail
        winner = np.where(won, (ok & tied).argmax(axis=0), nb - 1 - tied[::-1].argmax(axis=0))
        w_simple = simple[winner]
        for b in range(nb):
            other = winner != b
            exact_ok = tied[b] & simple[b] & w_simple
            self.flag(idx, other & near(end[b], at) & ~exact_ok)
        loser = won & (np.arange(nb)[:, None] != winner) & ~(tied & simple[:, None])
        cuts = np.where(loser, win_t, np.inf)
        sink.append(Group(idx, sinks, cuts))
        return Out(won, at, err[winner, cols], val[winner, cols])

    # a batch -------------------------------------------------------------------------------
    def run(self, keys: NDArray[np.uint64]) -> tuple[Out, F, I, B, B]:
        n = self.n = keys.size
        self.keys = keys
        self.tie = np.zeros(n, bool)
        entry = self.sc.entry
        flow = self.flows[entry.name]
        assert flow is not None
        address = f"{entry.name}#0"
        fr = Frame(address, frozenset({entry.name}), n)
        idx = np.arange(n)
        items: list[Any] = []
        o = self.node(flow, fr, idx, np.ones(n, bool), np.zeros(n), items)
        body_end = o.end
        extra = self.agent_result(entry.name, address, o)
        if extra.any():
            o.end = body_end + extra
        deadline = self.sc.deadline
        cut = np.full(n, np.inf if deadline is None else float(deadline))
        cost = np.zeros(n)
        steps = np.zeros(n, np.int64)
        Accountant(n, self.deadline, self.flag).account(items, cut, cost, steps)
        stopped = np.zeros(n, bool)
        if deadline is not None:
            self.flag(idx, near(o.end, deadline))
            self.flag(idx, (o.end > body_end) & (deadline <= o.end) & (deadline >= body_end))
            stopped = o.end > deadline
            o.ok[stopped], o.val[stopped], o.end[stopped] = False, 0, deadline
            o.err[stopped] = self.err(f"deadline exceeded ({deadline:g}s)")
        self.tie |= steps > self.sc.max_steps
        return o, cost, steps, self.tie, stopped


class _Req:
    """What ``Compiled.for_call`` reads of a request: its tool."""

    __slots__ = ("tool",)

    def __init__(self, tool: Tool) -> None:
        self.tool = tool


def evaluate(
    scenario: Scenario,
    seeds: Sequence[int] | NDArray[np.integer],
    interventions: Sequence[Intervention] = (),
    *,
    chunk: int = _CHUNK,
) -> Outcomes:
    """Evaluate the runs of a workflow scenario with the given seeds, vectorised.

    Parameters
    ----------
    scenario : Scenario
        Compiled by :func:`agentsim.workflow.scenario` (see :func:`why_not_vectorisable`).
    seeds : sequence of int
        One seed per run (``noise.child_seed(batch_seed, i)`` for a batch).
    interventions : sequence of Intervention
        Applied to every run.
    chunk : int
        Runs evaluated together (memory grows with it).

    Returns
    -------
    Outcomes
        Per-run arrays; runs marked ``delegate`` must be evaluated by the engine.

    Raises
    ------
    ScenarioError
        When the scenario cannot be vectorised (the message says why).
    """
    ivs = tuple(interventions)
    reason = why_not_vectorisable(scenario, ivs)
    if reason is not None:
        raise ScenarioError(
            f"scenario {scenario.name!r} cannot run on the vectorised executor: {reason}; "
            "use engine='des' (or 'auto', which picks the engine that can run it)"
        )
    compiled = compile_interventions(scenario, ivs) if ivs else None
    keys = _noise.seed_keys(np.asarray(seeds, dtype=np.uint64))
    ev = _Evaluator(scenario, compiled)
    parts = []
    for lo in range(0, keys.size, chunk):
        o, cost, steps, tie, stopped = ev.run(keys[lo : lo + chunk])
        parts.append((o.ok, o.end, cost, steps, o.err, o.val, tie, stopped))
    cols = list(zip(*parts, strict=True)) if parts else [[np.zeros(0)]] * 8
    return Outcomes(
        success=np.concatenate(cols[0]).astype(bool),
        latency=np.concatenate(cols[1]).astype(np.float64),
        cost=np.concatenate(cols[2]).astype(np.float64),
        steps=np.concatenate(cols[3]).astype(np.int64),
        error=np.concatenate(cols[4]).astype(np.int64),
        value=np.concatenate(cols[5]).astype(np.int64),
        delegate=np.concatenate(cols[6]).astype(bool),
        errors=ev.errors,
        values=ev.values,
        stopped=np.concatenate(cols[7]).astype(bool),
    )
