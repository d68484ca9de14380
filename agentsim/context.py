"""What an agent sees: the context ``ctx``, the requests it yields and the Results it gets back.

Layer: model. It imports only from its own layer and the ones below it.

An agent is a generator function ``fn(ctx, *args)``. Every method of :class:`Context` returns
a *request* (a call, a choice, a wait, a sub-agent, or a group of requests run in parallel);
the agent ``yield``s it and receives the result when the engine has carried it out. Addresses
are assigned when a request is created, in program order, so the same program reaches the
same addresses in every world where it takes the same path.

Examples
--------
>>> import agentsim as asim
>>> sc = asim.Scenario("ctx")
>>> t = sc.tool("t", latency=1.0)
>>> @sc.agent
... def main(ctx):
...     a, b = yield ctx.parallel(ctx.call(t), ctx.call(t))
...     yield ctx.wait(0.5)
...     return (yield ctx.call(t, a, b))
>>> sc.run(seed=0).trace.addresses()
['main#0', 'main#0/t#0', 'main#0/t#1', 'main#0/wait#0', 'main#0/t#2']
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import TYPE_CHECKING, Any

from agentsim.errors import ScenarioError
from agentsim.scenario import Agent, Tool

if TYPE_CHECKING:
    from agentsim._engine import Session

__all__ = ["Context", "Failure", "Result"]


class Result:
    """What a call returns to the agent that made it (treat it as immutable).

    Attributes: ``ok`` (whether the call succeeded), ``value`` (what it returned; ``None`` on
    failure unless a mechanism says otherwise), ``latency`` (seconds from issue to return,
    queueing included), ``cost`` (money spent; for a sub-agent, every call inside it),
    ``error`` (message when not ok) and ``address`` (the call that produced it).

    >>> r = Result(ok=True, value=3, latency=0.5, cost=0.01, error=None, address="m#0/a#0")
    >>> r.ok, r.value
    (True, 3)
    """

    # A plain slotted class: a frozen dataclass costs a microsecond per call in __init__,
    # which is a tenth of the engine's whole budget per simulated call.
    __slots__ = ("address", "cost", "error", "latency", "ok", "value")

    def __init__(
        self,
        ok: bool,
        value: Any = None,
        latency: float = 0.0,
        cost: float = 0.0,
        error: str | None = None,
        address: str = "",
    ) -> None:
        self.ok = ok
        self.value = value
        self.latency = latency
        self.cost = cost
        self.error = error
        self.address = address

    def _key(self) -> tuple[Any, ...]:
        return (self.ok, self.value, self.latency, self.cost, self.error, self.address)

    def __eq__(self, other: object) -> bool:
        return type(other) is Result and self._key() == other._key()

    def __hash__(self) -> int:
        return hash((self.ok, self.latency, self.cost, self.error, self.address))

    def __repr__(self) -> str:
        return (
            f"Result(ok={self.ok}, value={self.value!r}, latency={self.latency:.4g}, "
            f"cost={self.cost:.4g}, error={self.error!r}, address={self.address!r})"
        )

    def __agentsim_json__(self) -> Any:
        return self.value


class Failure(Exception):
    """Raise it inside an agent to model a failure: the agent's result fails with the message
    as its error. Any other exception raised by scenario code is a *crash* (a bug in the
    scenario), which the run records and the batch reports loudly.

    >>> import agentsim as asim
    >>> sc = asim.Scenario("fail")
    >>> @sc.agent
    ... def main(ctx):
    ...     yield ctx.wait(1.0)
    ...     raise asim.Failure("no refund possible")
    >>> run = sc.run(seed=0)
    >>> run.result.error, run.crash
    ('no refund possible', None)
    """


class _Call:
    __slots__ = ("address", "inputs", "tool", "used")

    def __init__(self, tool: Tool, address: str, inputs: tuple[Any, ...]) -> None:
        self.tool, self.address, self.inputs = tool, address, inputs
        self.used = False  # set when yielded: a request is one call, yielded once


class _Choose:
    __slots__ = ("address", "inputs", "tool", "used", "weights")

    def __init__(self, tool: Tool, address: str, weights: Any, inputs: tuple[Any, ...]) -> None:
        self.tool, self.address, self.weights, self.inputs = tool, address, weights, inputs
        self.used = False  # set when yielded: a request is one call, yielded once


class _Wait:
    __slots__ = ("address", "seconds", "used")

    def __init__(self, address: str, seconds: float) -> None:
        self.address, self.seconds = address, seconds
        self.used = False  # set when yielded: a request is one call, yielded once


class _Spawn:
    __slots__ = ("address", "agent", "args", "kwargs", "used")

    def __init__(
        self, agent: Agent, address: str, args: tuple[Any, ...], kwargs: dict[str, Any]
    ) -> None:
        self.agent, self.address, self.args, self.kwargs = agent, address, args, kwargs
        self.used = False  # set when yielded: a request is one call, yielded once


class _Group:
    __slots__ = ("children", "mode")

    def __init__(self, mode: str, children: tuple[Any, ...]) -> None:
        self.mode, self.children = mode, children


class Context:
    """What an agent receives as ``ctx``: the way to call tools, models and sub-agents.

    Every method returns a *request*; the agent ``yield``s it and receives the result.
    Addresses are assigned when the request is created, in program order.
    """

    __slots__ = ("_counts", "_s", "_tools", "address", "agent_names", "cost", "name")

    def __init__(
        self, session: Session, address: str, name: str, agent_names: frozenset[str]
    ) -> None:
        self._s = session
        self._tools = session.scenario.tools
        self.address = address
        self.name = name
        self.agent_names = agent_names
        self._counts: dict[str, int] = {}
        self.cost = 0.0

    def _addr(self, name: str) -> str:
        k = self._counts.get(name, 0)
        self._counts[name] = k + 1
        return f"{self.address}/{name}#{k}"

    @property
    def now(self) -> float:
        """Current simulated time (seconds since this session arrived)."""
        return float(self._s.kernel.env.now) - self._s.t0

    def call(self, tool: Tool | str, *inputs: Any) -> _Call:
        """Call a tool or model; Results among ``inputs`` are its data-flow parents.

        A tool that a scenario registered is identified by its name in the running scenario:
        it resolves to the scenario's tool of that name (so code written against another
        version of the scenario calls this version's tools); an unregistered Tool, such as a
        ``tool.with_params(...)`` copy, is called as it is (see ``Scenario.resolve_tool``)."""
        if type(tool) is Tool:
            t = self._tools.get(tool.name, tool) if tool.registered else tool
        else:
            t = self._resolve(tool)
        name = t.name
        counts = self._counts
        k = counts.get(name, 0)
        counts[name] = k + 1
        return _Call(t, f"{self.address}/{name}#{k}", inputs)

    def _resolve(self, tool: Any) -> Tool:
        return self._s.scenario.resolve_tool(tool)

    def choose(self, model: Tool | str, weights: Any, inputs: Iterable[Any] = ()) -> _Choose:
        """A categorical decision by ``model`` (Gumbel-max); ``weights`` is a dict of option
        weights or a function of the inputs returning one. The result's value is the option.

        A decision always succeeds: it takes the model's latency and cost, but not its
        ``p_ok`` (the model's failures are modelled by ``ctx.call``; bad inputs can shape the
        decision through a weights function). ``break_`` can still make it fail."""
        t = self._s.scenario.resolve_tool(model)
        return _Choose(t, self._addr(t.name), weights, tuple(inputs))

    def spawn(self, agent: Any, *args: Any, **kwargs: Any) -> _Spawn:
        """Run a sub-agent (its own address ``parent/agent#k``) and receive its Result."""
        a = self._s.scenario.resolve_agent(agent)
        return _Spawn(a, self._addr(a.name), args, kwargs)

    def wait(self, seconds: float) -> _Wait:
        """Let ``seconds`` of simulated time pass."""
        if not seconds >= 0:
            raise ScenarioError(f"ctx.wait needs seconds >= 0, got {seconds!r}")
        return _Wait(self._addr("wait"), float(seconds))

    def parallel(self, *requests: Any) -> _Group:
        """Run requests concurrently and receive all their results (a tuple)."""
        return _Group("all", _check_requests(requests, "parallel"))

    def first(self, *requests: Any) -> _Group:
        """Run requests concurrently; receive the first ok result and cancel the rest.
        When none succeeds, receive the last failure."""
        return _Group("first", _check_requests(requests, "first"))


def _check_requests(requests: tuple[Any, ...], what: str) -> tuple[Any, ...]:
    if len(requests) == 1 and isinstance(requests[0], list | tuple):
        requests = tuple(requests[0])
    if not requests:
        raise ScenarioError(f"ctx.{what}() needs at least one request")
    return requests
