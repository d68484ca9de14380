"""The SimPy kernel: runs a scenario's agents and records every call.

Layer: engine. It imports only from its own layer and the ones below it.

Each agent instance is a generator driven by :func:`_drive`, which hands every request the
agent yields (``ctx.call``, ``ctx.parallel``, ``ctx.first``, ``ctx.spawn``, ``ctx.choose``,
``ctx.wait``) to :func:`_execute`. Every call to a tool or model goes through one function,
:func:`_dispatch`: it is the single place where interventions apply, noise is drawn by
address, the mechanism is evaluated, the clock advances (queueing for shared capacity,
timeouts) and the span is recorded. Sub-agents run inline in their parent's process;
``parallel`` and ``first`` branches run as their own SimPy processes; a branch that loses a
``first`` is interrupted and its in-flight calls are recorded as cancelled.

Failure behaviour: an agent that raises :class:`~agentsim.context.Failure` fails with its
message (a modelled failure); an agent that raises anything else fails too, and the session
records the first such exception as a *crash* (type, message, the scenario file and line),
or re-raises it when asked to (``on_crash="raise"``); a run that exceeds its scenario's
``max_steps`` is stopped (every further step halts) and records why; a run past its
``deadline`` is interrupted and its in-flight calls are recorded as unfinished.
"""

from __future__ import annotations

import inspect
import math
import os
import traceback
from collections.abc import Generator
from typing import TYPE_CHECKING, Any

import simpy

from agentsim import noise as _noise
from agentsim._gc import collect_rarely
from agentsim.context import Context, Failure, Result, _Call, _Choose, _Group, _Spawn, _Wait
from agentsim.dist import Exponential, Fixed
from agentsim.errors import InterventionError, ScenarioError
from agentsim.mechanisms import FixedNoise, evaluate_call, evaluate_choice, fault_bounds
from agentsim.noise import Noise
from agentsim.run import Crash
from agentsim.scenario import Agent, Tool

if TYPE_CHECKING:
    from agentsim.scenario import Scenario

__all__ = ["Context", "Kernel", "Noise", "Rec", "Session", "execute"]

Gen = Generator[Any, Any, Any]
ZERO_TIME_STEPS = 100_000
"""Steps a run may take while simulated time stands still before it is stopped."""
_REQUESTS = (_Call, _Choose, _Wait, _Spawn)


class _Halt(Exception):
    """Unwinds an agent's stack when its branch is cancelled or its run is stopped."""

    def __init__(self, status: str, reason: str) -> None:
        super().__init__(reason)
        self.status = status
        self.reason = reason


class Rec:
    """A span record: the engine's mutable, cheap form of a :class:`~agentsim.trace.Span`."""

    __slots__ = (
        "address",
        "agent",
        "attrs",
        "cost",
        "end",
        "error",
        "inputs",
        "kind",
        "name",
        "noise",
        "ok",
        "parent",
        "queued",
        "start",
        "status",
        "value",
    )

    def __init__(
        self,
        address: str,
        kind: str,
        name: str,
        parent: str | None,
        agent: str,
        start: float,
        inputs: list[str],
    ) -> None:
        self.address = address
        self.kind = kind
        self.name = name
        self.parent = parent
        self.agent = agent
        self.start = start
        self.end = start
        self.inputs = inputs
        self.ok = True
        self.error: str | None = None
        self.status = "done"
        self.value: Any = None
        self.cost = 0.0
        self.queued = 0.0
        self.noise: dict[str, float] = {}
        self.attrs: dict[str, Any] | None = None


# -- sessions and the kernel ------------------------------------------------------------
class Kernel:
    """One SimPy environment and its shared resources (tool capacity)."""

    def __init__(self, scenario: Scenario) -> None:
        self.env = simpy.Environment()
        self.scenario = scenario
        self._resources: dict[str, simpy.Resource] = {}

    def resource(self, tool: Tool, intervened: bool = False) -> simpy.Resource:
        """The shared capacity of ``tool``: one pool per tool name for the whole environment,
        its size that of the first call's (effective) tool.

        Every call of a tool in the environment, whichever session makes it, queues for the
        same pool, so no call can have a capacity of its own: a call whose tool asks for
        another one (an intervention confined to one agent's calls or to one session of a
        coupled batch, or an ad-hoc ``Tool`` of the same name) is refused, with an
        :class:`InterventionError` when the session runs under interventions (it escapes the
        run) and a :class:`ScenarioError` otherwise (it fails the calling agent)."""
        res = self._resources.get(tool.name)
        if res is None:
            res = simpy.Resource(self.env, capacity=tool.capacity or 1)
            self._resources[tool.name] = res
        elif res.capacity != tool.capacity:
            error = InterventionError if intervened else ScenarioError
            raise error(
                f"a call of tool {tool.name!r} asks for capacity {tool.capacity}, but the tool "
                f"has one pool of capacity {res.capacity} shared by every call in the "
                "environment; change the capacity by tool name, for every session (simulate "
                "the batch with the intervention), or give the tool another name"
            )
        return res


class Session:
    """The mutable state of one run inside a kernel."""

    __slots__ = (
        "contexts",
        "cost",
        "crash",
        "draw",
        "end",
        "env",
        "failed",
        "halted",
        "index",
        "ivs",
        "keep",
        "kernel",
        "limit",
        "lost",
        "max_steps",
        "override",
        "raise_crash",
        "records",
        "result",
        "scenario",
        "seed",
        "seed_key",
        "since",
        "steps",
        "stop_reason",
        "t0",
    )

    def __init__(
        self,
        kernel: Kernel,
        seed: int,
        index: int,
        t0: float,
        override: dict[str, dict[str, float]] | None,
        draw: int,
        ivs: Any,
    ) -> None:
        self.kernel = kernel
        self.env = kernel.env
        self.ivs = ivs
        self.scenario = kernel.scenario
        self.seed = seed
        self.seed_key = _noise._seed_key(seed)
        self.index = index
        self.t0 = t0
        self.override = override
        self.draw = draw
        self.records: list[Rec] = []
        self.failed: list[tuple[str, str]] = []
        """(address, tool) of every unrecorded call that did not end ok (``keep=False``)."""
        self.steps = 0
        self.max_steps = kernel.scenario.max_steps
        self.limit = min(self.max_steps, ZERO_TIME_STEPS)
        """The step count at which :meth:`check` runs: the budget, or a zero-time check."""
        self.since = t0
        """Simulated time at the last zero-time check."""
        self.halted: _Halt | None = None
        self.result: Result | None = None
        self.end = t0
        self.cost = 0.0
        self.stop_reason: str | None = None
        self.keep = True
        self.contexts: list[Context] = []
        self.lost: tuple[int, list[str]] = (0, [])
        """Requests created but never yielded, found when the session finished: how many,
        and their addresses when calls were recorded (see :func:`_unyielded`)."""
        self.crash: Crash | None = None
        self.raise_crash = False

    def step(self) -> None:
        if self.halted is not None:
            raise self.halted
        self.steps += 1
        if self.steps > self.max_steps:
            reason = f"max_steps ({self.max_steps}) exceeded: run stopped"
            self.stop_reason = reason
            self.halted = _Halt("unfinished", reason)
            raise self.halted

    def check(self) -> None:
        """At ``limit`` steps: stop at the step budget, or when time stood still since the
        last check (a loop of zero-latency calls would otherwise spin to ``max_steps``)."""
        if self.halted is not None or self.steps >= self.max_steps:
            self.step()
        if self.env.now == self.since:
            reason = (
                f"{ZERO_TIME_STEPS} steps without simulated time advancing (a loop of "
                "zero-latency calls?): run stopped"
            )
            self.stop_reason = reason
            self.halted = _Halt("unfinished", reason)
            raise self.halted
        self.since = self.env.now
        self.limit = min(self.max_steps, self.steps + ZERO_TIME_STEPS)

    def noise(self, address: str, draw: int | None = None) -> Noise:
        ovr = self.override.get(address) if self.override else None
        return Noise(self.seed_key, address, self.draw if draw is None else draw, ovr)


def _drive(ctx: Context, gen: Any) -> Gen:
    """Run an agent generator to completion; return ``(value, error)``."""
    if not inspect.isgenerator(gen):
        return gen, None
    send: Any = None
    throw: BaseException | None = None
    s = ctx._s
    while True:
        try:
            req = gen.throw(throw) if throw is not None else gen.send(send)
            throw = None
        except StopIteration as stop:
            return stop.value, None
        except Exception as exc:  # an agent that raises fails; a bug is also recorded
            return None, _raised(s, ctx.address, exc)
        try:
            _mark_used(ctx, req)
            if type(req) is _Call:
                tool = req.tool
                if (
                    tool.plain
                    and s.ivs is None
                    and s.override is None
                    and s.halted is None
                    and s.steps < s.limit
                ):
                    # the commonest call, straight to its specialised dispatch (one generator
                    # layer less); _dispatch makes the same choice for every other caller
                    s.steps += 1
                    send = yield from _plain_call(ctx, s, req, tool)
                else:
                    send = yield from _dispatch(ctx, req)
            else:
                send = yield from _execute(ctx, req)
        except _Halt:
            gen.close()
            raise
        except ScenarioError as exc:
            throw = exc


def _mark_used(ctx: Context, req: Any) -> None:
    """Refuse a request yielded a second time: it would record one address twice."""
    for r in req.children if type(req) is _Group else (req,):
        if type(r) in _REQUESTS:
            if r.used:
                raise ScenarioError(
                    f"agent {ctx.name!r} yielded the request for {r.address!r} a second time; "
                    "each ctx.call(...) (or choose, wait, spawn) is one call: make a new one "
                    "to call again"
                )
            r.used = True


def _execute(ctx: Context, req: Any) -> Gen:
    t = type(req)
    if t is _Call:
        return (yield from _dispatch(ctx, req))
    if t is _Spawn:
        return (yield from _spawn(ctx, req))
    if t is _Group:
        return (yield from _group(ctx, req))
    if t is _Choose:
        return (yield from _dispatch(ctx, req))
    if t is _Wait:
        return (yield from _dispatch(ctx, req))
    if isinstance(req, list | tuple):
        return (yield from _group(ctx, _Group("all", tuple(req))))
    raise ScenarioError(
        f"agent {ctx.name!r} yielded {req!r}; yield ctx.call(...), ctx.parallel(...), "
        "ctx.first(...), ctx.spawn(...), ctx.choose(...) or ctx.wait(...)"
    )


def _dispatch(ctx: Context, req: Any) -> Gen:
    """The single choke point of every call, choice and wait."""
    s = ctx._s
    if s.halted is not None or s.steps >= s.limit:
        s.check()
    s.steps += 1
    env = s.env
    address = req.address
    ivs = s.ivs
    matched = ivs.for_call(address, req, ctx.agent_names) if ivs is not None else ()
    if s.override is None and type(req) is _Call and req.tool.plain:
        if not matched:
            return (yield from _plain_call(ctx, s, req, req.tool))
        if not s.keep and ivs is not None and ivs.result_level(matched):
            # nothing reads this call's record: the fast path, then the changed result
            return (yield from _plain_call(ctx, s, req, req.tool, matched))
    if type(req) is _Wait:
        rec = Rec(address, "wait", "wait", ctx.address, ctx.name, env.now, [])
        fields: list[Any] = [True, None, req.seconds, 0.0, None, False]
        noise: Noise | FixedNoise | None = None
        inputs: list[Result] = []
    else:
        tool = req.tool
        draw = None
        if ivs is not None:
            for iv in matched:  # mechanism-level interventions come first
                tool, draw = ivs.apply_to_tool(iv, tool, draw)
        inputs = [x for x in req.inputs if type(x) is Result]
        noise = s.noise(address, draw)
        kind = "choice" if type(req) is _Choose else tool.kind
        if kind != "choice" and any(iv.kind == "fix" for iv in matched):
            # fix: the call's own noise, mapped out of the effective mechanism's failure
            # region (a choice has no fault of its own)
            noise = FixedNoise(noise, fault_bounds(tool))
        rec = Rec(
            address, kind, tool.name, ctx.address, ctx.name, env.now, [r.address for r in inputs]
        )
        if kind == "choice":
            fields = evaluate_choice(tool, req.weights, req.inputs, inputs, noise)
            rec.attrs = {"weights": fields.pop()}
        else:
            fields = evaluate_call(tool, inputs, noise)
    if ivs is not None:
        for iv in matched:  # result-level interventions
            if ivs.apply_to_result(iv, fields, req, inputs):  # provenance: a span attribute
                rec.attrs = {**(rec.attrs or {}), "intervened_by": iv.describe()}
    # timeout and capacity are those of the effective mechanism (after replace/set_params)
    timeout = None if type(req) is _Wait else tool.timeout
    res = (
        s.kernel.resource(tool, s.ivs is not None)
        if type(req) is not _Wait and tool.capacity
        else None
    )
    s.records.append(rec)
    ok, value, latency, cost, error, forced = fields
    start = env.now
    try:
        if res is None:
            if timeout is not None and latency > timeout and not forced:
                yield env.timeout(timeout)
                ok, value, error = False, None, f"timeout after {timeout:g}s"
            else:
                yield env.timeout(latency)
        else:
            with res.request() as slot:
                if timeout is None:
                    yield slot
                else:
                    # A forced result (repair, do(ok=True)) ignores the timeout but schedules
                    # the same timer, so that the event queue, and with it the order of
                    # simultaneous events elsewhere in the run, is that of the factual call.
                    yield slot | env.timeout(timeout)
                    if forced and not slot.triggered:
                        yield slot
                rec.queued = env.now - start
                remaining = None if timeout is None else timeout - rec.queued
                if (
                    not forced
                    and remaining is not None
                    and (not slot.triggered or latency > remaining)
                ):
                    if slot.triggered:
                        yield env.timeout(max(remaining, 0.0))  # float rounding
                    ok, value, error = False, None, f"timeout after {timeout:g}s"
                else:
                    yield env.timeout(latency)
    except simpy.Interrupt as intr:
        _finish_halted(rec, env.now, intr.cause, noise)
        raise (
            intr.cause if isinstance(intr.cause, _Halt) else _Halt("cancelled", "cancelled")
        ) from None
    rec.end = env.now
    rec.ok, rec.value, rec.error, rec.cost = ok, value, error, cost
    if noise is not None:
        rec.noise = noise.recorded
    ctx.cost += cost
    return Result(ok, value, env.now - start, cost, error, address)


def _plain_call(ctx: Context, s: Session, req: _Call, tool: Tool, matched: Any = ()) -> Gen:
    """:func:`_dispatch` specialised to the commonest call: default noisy-AND mechanism, no
    capacity, no timeout, factual noise, and no intervention but those in ``matched``, which
    act on the result only (``repair``, ``break_``, ``do``, ``delay``; the caller keeps no
    record of such a call). Same semantics, fewer lookups."""
    env = s.env
    address = req.address
    sk, draw = s.seed_key, s.draw
    inputs_ok = True
    for x in req.inputs:
        if type(x) is Result and not x.ok:
            inputs_ok = False
            break
    site_ok, site_lat = _noise.call_sites(address)
    u_ok = _noise._finish(sk, site_ok, draw)
    ok = u_ok < (tool.p_ok if inputs_ok else tool.p_recover)
    d = tool.latency_dist
    u_lat = None
    if type(d) is Fixed:
        latency = d.value
    else:
        u_lat = _noise._finish(sk, site_lat, draw)
        latency = -d.mean * math.log1p(-u_lat) if type(d) is Exponential else d.ppf(u_lat)
    cost = tool.cost
    start = env._now
    if s.keep:
        parents = [x.address for x in req.inputs if type(x) is Result]
        rec = Rec(address, tool.kind, tool.name, ctx.address, ctx.name, start, parents)
        rec.noise = {"ok": u_ok} if u_lat is None else {"ok": u_ok, "latency": u_lat}
        s.records.append(rec)
    else:
        rec = None
    if ok:
        value = (
            None
            if tool.value is None
            else tool.ok_value([x for x in req.inputs if type(x) is Result])
        )
        error = None
    else:
        value = None
        error = f"{tool.name} failed" if inputs_ok else f"{tool.name} failed (bad input)"
    if matched:
        assert s.ivs is not None
        fields = [ok, value, latency, cost, error, False]
        inputs = [x for x in req.inputs if type(x) is Result]
        for iv in matched:
            s.ivs.apply_to_result(iv, fields, req, inputs)
        ok, value, latency, cost, error, _ = fields
    if rec is None and not ok:
        s.failed.append((address, tool.name))
    try:
        yield env.timeout(latency)
    except simpy.Interrupt as intr:
        if rec is not None:
            _finish_halted(rec, env._now, intr.cause, None)
        elif ok:
            s.failed.append((address, tool.name))
        raise (
            intr.cause if isinstance(intr.cause, _Halt) else _Halt("cancelled", "cancelled")
        ) from None
    now = env._now
    if rec is not None:
        rec.end = now
        rec.ok, rec.value, rec.error, rec.cost = ok, value, error, cost
    ctx.cost += cost
    return Result(ok, value, now - start, cost, error, address)


def _finish_halted(rec: Rec, now: float, cause: Any, noise: Noise | FixedNoise | None) -> None:
    rec.end = now
    rec.ok = False
    rec.status = cause.status if isinstance(cause, _Halt) else "cancelled"
    rec.error = cause.reason if isinstance(cause, _Halt) else "cancelled"
    if noise is not None:
        rec.noise = noise.recorded


_PACKAGE = os.path.dirname(os.path.abspath(__file__))


def _raised(s: Session, address: str, exc: Exception) -> str:
    """The error of an agent that raised ``exc``: a :class:`Failure` is a modelled failure
    (its message); anything else is a crash, recorded on the session (the first one) or
    re-raised when the session was asked to."""
    if isinstance(exc, Failure):
        return str(exc) or "failure"
    if s.raise_crash:
        raise exc
    if s.crash is None:
        file, line = "", 0
        for frame in reversed(traceback.extract_tb(exc.__traceback__)):
            if not os.path.abspath(frame.filename).startswith(_PACKAGE + os.sep):
                file, line = os.path.basename(frame.filename), frame.lineno or 0
                break
        s.crash = Crash(type(exc).__name__, str(exc), file, line, address)
    return f"{type(exc).__name__}: {exc}"


def _unyielded(s: Session) -> tuple[int, list[str]]:
    """Requests the session's agents created (``ctx.call(...)``) but never yielded, so never
    made: a bug in scenario code that would otherwise pass silently. How many, and their
    addresses when the session recorded its calls (none otherwise). Nothing for a run that
    was stopped early (a deadline, the step budget, a cancelled branch) or that crashed (the
    crash is reported, and the requests it cut short are its consequence). Reads the
    session's contexts, so :func:`execute` calls it before dropping them."""
    if s.stop_reason is not None or s.halted is not None or s.crash is not None:
        return (0, [])
    created = sum(sum(c._counts.values()) for c in s.contexts)
    if created <= s.steps:
        return (0, [])
    if not s.keep:
        return (created - s.steps, [])
    made = {r.address for r in s.records}
    out: list[str] = []
    for c in s.contexts:
        for name, k in c._counts.items():
            out.extend(a for i in range(k) if (a := f"{c.address}/{name}#{i}") not in made)
    return (len(out), out)


def _agent_result(
    value: Any, error: str | None, address: str, latency: float, cost: float
) -> Result:
    if error is not None:
        return Result(False, None, latency, cost, error, address)
    if type(value) is Result:
        return Result(value.ok, value.value, latency, cost, value.error, address)
    if value:
        return Result(True, value, latency, cost, None, address)
    return Result(False, value, latency, cost, f"agent returned {value!r}", address)


def _spawn(ctx: Context, req: _Spawn) -> Gen:
    s = ctx._s
    depth = req.address.count("/")
    if depth > s.scenario.max_depth:
        raise ScenarioError(
            f"agent {req.agent.name!r} would run {depth} sub-agents deep, beyond the "
            f"scenario's max_depth={s.scenario.max_depth} (an agent that keeps spawning "
            "itself?); raise max_depth if the nesting is meant"
        )
    s.step()
    env = s.kernel.env
    ivs = s.ivs
    agent = req.agent
    fn = agent.fn
    if ivs is not None:
        fn = ivs.agent_function(agent, req.address, fn)
    child = Context(s, req.address, agent.name, ctx.agent_names | {agent.name})
    s.contexts.append(child)
    rec = Rec(
        req.address,
        "agent",
        agent.name,
        ctx.address,
        agent.name,
        env.now,
        [x.address for x in req.args if type(x) is Result],
    )
    s.records.append(rec)
    start = env.now
    try:
        err0: str | None = None
        try:
            gen = fn(child, *req.args, **req.kwargs)
        except Exception as exc:
            gen, err0 = None, _raised(s, req.address, exc)
        if err0 is None:
            value, error = yield from _drive(child, gen)
        else:
            value, error = None, err0
        result = _agent_result(value, error, req.address, env.now - start, child.cost)
        if ivs is not None:
            result, extra = ivs.apply_to_agent(result, agent.name, req.address)
            yield from _pause(env, extra)
    except _Halt as halt:
        _finish_halted(rec, env.now, halt, None)
        ctx.cost += child.cost
        raise
    rec.end, rec.ok, rec.value, rec.error, rec.cost = (
        env.now,
        result.ok,
        result.value,
        result.error,
        0.0,
    )
    ctx.cost += child.cost
    return result


def _branch(ctx: Context, req: Any) -> Gen:
    try:
        return (yield from _execute(ctx, req))
    except _Halt as halt:
        addr = getattr(req, "address", ctx.address)
        return Result(False, None, 0.0, 0.0, halt.reason, addr)


def _group(ctx: Context, req: _Group) -> Gen:
    env = ctx._s.kernel.env
    procs = [env.process(_branch(ctx, child)) for child in req.children]
    try:
        if req.mode == "all":
            yield env.all_of(procs)
            return tuple(p.value for p in procs)
        pending = list(procs)
        last: Any = None
        while pending:
            yield env.any_of(pending)
            for p in [p for p in pending if p.triggered]:
                pending.remove(p)
                last = p.value
                if type(last) is Result and last.ok:
                    for other in pending:
                        if other.is_alive:
                            other.interrupt(
                                _Halt(
                                    "cancelled",
                                    f"cancelled: another branch succeeded first ({last.address})",
                                )
                            )
                    return last
        return last
    except simpy.Interrupt as intr:
        for p in procs:
            if p.is_alive:
                p.interrupt(intr.cause)
        raise (
            intr.cause if isinstance(intr.cause, _Halt) else _Halt("cancelled", "cancelled")
        ) from None


def _pause(env: simpy.Environment, seconds: float) -> Gen:
    """Wait ``seconds`` (an agent-level ``delay``); a cancellation or a deadline arriving
    meanwhile surfaces as the ``_Halt`` it carries, as it would inside the agent's code."""
    if seconds <= 0:
        return
    try:
        yield env.timeout(seconds)
    except simpy.Interrupt as intr:
        raise (
            intr.cause if isinstance(intr.cause, _Halt) else _Halt("cancelled", "cancelled")
        ) from None


def _root(s: Session, agent: Agent, inputs: dict[str, Any]) -> Gen:
    env = s.kernel.env
    address = f"{agent.name}#0"
    ctx = Context(s, address, agent.name, frozenset({agent.name}))
    s.contexts.append(ctx)
    rec = Rec(address, "agent", agent.name, None, agent.name, env.now, [])
    s.records.append(rec)
    ivs = s.ivs
    fn = ivs.agent_function(agent, address, agent.fn) if ivs is not None else agent.fn
    try:
        try:
            gen = fn(ctx, **inputs)
        except Exception as exc:
            value, error = None, _raised(s, address, exc)
        else:
            value, error = yield from _drive(ctx, gen)
        result = _agent_result(value, error, address, env.now - s.t0, ctx.cost)
        if ivs is not None:
            result, extra = ivs.apply_to_agent(result, agent.name, address)
            yield from _pause(env, extra)
        rec.ok, rec.value, rec.error = result.ok, result.value, result.error
    except _Halt as halt:
        _finish_halted(rec, env.now, halt, None)
        result = Result(False, None, env.now - s.t0, ctx.cost, halt.reason, address)
        if halt.status == "unfinished" and s.stop_reason is None:
            s.stop_reason = halt.reason
    rec.end = env.now
    s.result = result
    s.end = env.now
    s.cost = ctx.cost


def _session(s: Session, agent: Agent, inputs: dict[str, Any], deadline: float) -> Gen:
    env = s.kernel.env
    proc = env.process(_root(s, agent, inputs))
    timer = env.timeout(deadline)
    yield proc | timer
    if not proc.triggered:
        proc.interrupt(_Halt("unfinished", f"deadline exceeded ({deadline:g}s)"))
        yield proc


def execute(
    scenario: Scenario,
    seeds: list[int],
    inputs: dict[str, Any],
    interventions: Any = None,
    *,
    arrival_times: list[float] | None = None,
    override: dict[int, dict[str, dict[str, float]]] | None = None,
    draw: int = 0,
    record_calls: bool = True,
    per_session: list[Any] | None = None,
    raise_crash: bool = False,
) -> list[Session]:
    """Simulate sessions in one environment (coupled when ``arrival_times`` is given).

    ``record_calls=False`` skips the span records of plain calls (when nothing will read
    the trace: no trace kept and no user outcome). ``interventions`` is a compiled
    intervention set (see :mod:`agentsim._compiled`) or ``None``; ``per_session``, when given,
    holds one such set per session instead (a counterfactual of one session of a coupled
    batch intervenes on that session only). ``override`` maps a session
    index to per-address noise (abduction); addresses it does not cover draw ``draw`` of the
    field.
    """
    kernel = Kernel(scenario)
    agent = scenario.entry
    sessions: list[Session] = []
    times = arrival_times or [0.0] * len(seeds)
    for i, seed in enumerate(seeds):
        ovr = override.get(i) if override else None
        ivs = interventions if per_session is None else per_session[i]
        session = Session(kernel, seed, i, times[i], ovr, draw, ivs)
        session.keep = record_calls
        session.raise_crash = raise_crash
        sessions.append(session)
    if arrival_times is None:
        for s in sessions:
            _start(s, agent, inputs, scenario.deadline)
    else:
        kernel.env.process(_launch(kernel, sessions, agent, inputs, scenario.deadline))
    with collect_rarely():
        kernel.env.run()
    for s in sessions:
        s.lost = _unyielded(s)
        # contexts point back at their session: dropping them lets a finished session, and
        # the span records it holds, be freed by reference counting instead of waiting for
        # the cycle collector (measured: 10 to 15% of a batch's time)
        s.contexts = []
    return sessions


def _launch(
    kernel: Kernel,
    sessions: list[Session],
    agent: Agent,
    inputs: dict[str, Any],
    deadline: float | None,
) -> Gen:
    env = kernel.env
    for s in sessions:
        if s.t0 > env.now:
            yield env.timeout(s.t0 - env.now)
        _start(s, agent, inputs, deadline)


def _start(s: Session, agent: Agent, inputs: dict[str, Any], deadline: float | None) -> None:
    if deadline is None:
        s.kernel.env.process(_root(s, agent, inputs))
    else:
        s.kernel.env.process(_session(s, agent, inputs, deadline))
