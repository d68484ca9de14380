"""Scenarios: tools, models, agents and outcomes, defined in Python.

Layer: model. It imports only from its own layer and the ones below it.

A :class:`Scenario` is a probabilistic program. Its *tools* and *models* are the mechanisms of
the SCM (a tool call's result is a deterministic function of the results passed to it and of
its noise); its *agents* are generator functions that the engine runs as SimPy processes,
calling tools, models and sub-agents through a context ``ctx``; its *outcomes* are numbers
computed from a finished run.

The default mechanism of a tool is the noisy-AND with a leak::

    ok = (all inputs ok and u_ok < p_ok) or (some input bad and u_ok < p_recover)

monotone in its inputs because ``p_recover <= p_ok`` is enforced, which is the canonical SCM
under which the probability of necessity is identified.

Examples
--------
>>> from agentsim import dist
>>> sc = Scenario("demo")
>>> search = sc.tool("search", p_ok=0.9, latency=dist.Exponential(mean=1.0))
>>> @sc.agent
... def main(ctx):
...     hit = yield ctx.call(search, "query")
...     return hit
>>> run = sc.run(seed=3)
>>> sorted(run.outcomes)
['cost', 'latency', 'success']
"""

from __future__ import annotations

import contextlib
import dataclasses
import inspect
import math
import re
import weakref
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Literal

from agentsim.dist import Distribution, as_distribution, check_non_negative
from agentsim.errors import ScenarioError, suggest

if TYPE_CHECKING:
    from agentsim.batch import Batch
    from agentsim.dist import _Dist
    from agentsim.interventions import Intervention
    from agentsim.run import Run

__all__ = ["Agent", "Mechanism", "Scenario", "Tool"]

Mechanism = Callable[..., Any]
"""A structural equation ``(inputs, noise) -> fields``: ``inputs`` is the list of Results passed
to the call, ``noise`` gives uniforms by slot (``noise["ok"]``); it returns a dict with any of
``ok``, ``value``, ``latency``, ``cost``, ``error`` (or a bool, taken as ``ok``)."""

# Functions registered as agents by any Scenario, with the name they were registered under
# (weakly held: the registry keeps nothing alive). A plain function is resolved by that name
# only when some scenario registered it, so an ad-hoc sub-agent function is run as written.
_AGENT_FUNCTIONS: weakref.WeakKeyDictionary[Callable[..., Any], str] = weakref.WeakKeyDictionary()


def _is_generator_function(f: Any) -> bool:
    """A generator function, a partial of one, or an object whose ``__call__`` is one."""
    inner = f.fn if isinstance(f, Agent) else getattr(f, "func", f)  # functools.partial
    call = type(inner).__dict__.get("__call__")  # a callable object's method
    return inspect.isgeneratorfunction(inner) or inspect.isgeneratorfunction(call)


_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_.\-]*$")


def check_name(name: str, what: str) -> str:
    """Names are identifiers (letters, digits, ``_ . -``) so that addresses parse."""
    if not isinstance(name, str) or not _NAME.match(name):
        raise ScenarioError(
            f"{what} name {name!r} is not valid; use letters, digits, '_', '.' or '-' "
            "(no '/', '#' or glob characters, which addresses reserve)"
        )
    return name


@dataclass(frozen=True, eq=False)
class Tool:
    """A tool or model: the mechanism of every call made to it.

    Parameters
    ----------
    name : str
        Name of the tool; addresses use it (``main#0/search#2``).
    p_ok : float
        Probability that a call succeeds when all its inputs are ok.
    latency : float or distribution
        Service time in seconds (a number means a fixed latency).
    cost : float or distribution
        Money per call.
    timeout : float, optional
        A call whose queueing plus service exceeds it fails with a timeout error after
        exactly ``timeout`` seconds.
    capacity : int, optional
        Concurrency limit, shared by every call in the environment (a ``simpy.Resource``).
    p_recover : float
        Probability of success when some input failed (the leak); at most ``p_ok``.
    mechanism : callable, optional
        A custom structural equation (see :data:`Mechanism`) replacing the noisy-AND.
    value : object or callable, optional
        The value returned when ok: a constant, or a function of the inputs.
    kind : {"tool", "llm"}
        ``llm`` for models (``Scenario.model``).

    Examples
    --------
    >>> Tool("search", p_ok=0.9).p_ok
    0.9
    >>> Tool("search", p_ok=0.5, p_recover=0.7)  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    agentsim.errors.ScenarioError: tool 'search': p_recover=0.7 exceeds p_ok=0.5; ...
    """

    name: str
    p_ok: float = 1.0
    latency: Any = 0.0
    cost: Any = 0.0
    timeout: float | None = None
    capacity: int | None = None
    p_recover: float = 0.0
    mechanism: Mechanism | None = None
    value: Any = None
    kind: Literal["tool", "llm"] = "tool"
    latency_dist: _Dist = field(init=False, repr=False)
    cost_dist: _Dist | None = field(init=False, repr=False)
    plain: bool = field(init=False, repr=False)
    """Default mechanism, constant cost, no capacity or timeout: the engine's fast path."""
    registered: bool = field(init=False, default=False, repr=False)
    """Whether a Scenario registered this Tool (``sc.tool``, ``sc.model``, ``sc.add``): only
    registered tools are resolved by name in the scenario that runs (see ``resolve_tool``)."""

    def __post_init__(self) -> None:
        check_name(self.name, "tool")
        label = f"tool {self.name!r}"
        for pname in ("p_ok", "p_recover"):
            p = getattr(self, pname)
            if not isinstance(p, int | float) or not 0.0 <= p <= 1.0:
                raise ScenarioError(f"{label}: {pname}={p!r} must be a probability in [0, 1]")
        if self.p_recover > self.p_ok:
            raise ScenarioError(
                f"{label}: p_recover={self.p_recover} exceeds p_ok={self.p_ok}; the noisy-AND "
                "mechanism must be monotone in its inputs (p_recover <= p_ok)"
            )
        if self.timeout is not None and not (self.timeout > 0 and math.isfinite(self.timeout)):
            raise ScenarioError(f"{label}: timeout={self.timeout!r} must be a positive number")
        if self.capacity is not None and (
            not isinstance(self.capacity, int)
            or isinstance(self.capacity, bool)
            or self.capacity < 1
        ):
            raise ScenarioError(f"{label}: capacity={self.capacity!r} must be an integer >= 1")
        if self.kind not in ("tool", "llm"):
            raise ScenarioError(f"{label}: kind={self.kind!r} must be 'tool' or 'llm'")
        if self.mechanism is not None and not callable(self.mechanism):
            raise ScenarioError(f"{label}: mechanism must be callable (inputs, noise) -> fields")
        latency_dist = as_distribution(self.latency, what=f"{label} latency")
        check_non_negative(latency_dist, what=f"{label} latency")
        object.__setattr__(self, "latency_dist", latency_dist)
        cost_dist = None
        if not isinstance(self.cost, int | float):
            cost_dist = as_distribution(self.cost, what=f"{label} cost")
            check_non_negative(cost_dist, what=f"{label} cost")
        elif not (self.cost >= 0 and math.isfinite(self.cost)):
            raise ScenarioError(f"{label}: cost={self.cost!r} must be a finite number >= 0")
        object.__setattr__(self, "cost_dist", cost_dist)
        plain = (
            self.mechanism is None
            and cost_dist is None
            and self.capacity is None
            and self.timeout is None
        )
        object.__setattr__(self, "plain", plain)

    def with_params(self, **params: Any) -> Tool:
        """A copy with some parameters changed (what ``set_params`` applies).

        >>> Tool("a", p_ok=0.5).with_params(p_ok=0.9).p_ok
        0.9
        """
        try:
            return dataclasses.replace(self, **params)
        except TypeError as exc:
            raise ScenarioError(f"tool {self.name!r}: {exc}") from None

    def ok_value(self, inputs: list[Any]) -> Any:
        """The value a successful call returns."""
        if callable(self.value):
            return self.value(inputs)
        return self.value

    def describe(self) -> str:
        """One line: name, kind and parameters."""
        parts = [f"p_ok={self.p_ok}"]
        if self.p_recover:
            parts.append(f"p_recover={self.p_recover}")
        parts.append(f"latency={self.latency}")
        if self.cost:
            parts.append(f"cost={self.cost}")
        if self.timeout is not None:
            parts.append(f"timeout={self.timeout}")
        if self.capacity is not None:
            parts.append(f"capacity={self.capacity}")
        if self.mechanism is not None:
            parts.append("custom mechanism")
        return f"{self.kind} {self.name}: " + ", ".join(parts)


@dataclass(frozen=True, eq=False)
class Agent:
    """An agent: a generator function ``fn(ctx, *args, **kwargs)`` run as a SimPy process.

    Calling the Agent calls the function (so a decorated function stays usable).
    """

    name: str
    fn: Callable[..., Any]

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        return self.fn(*args, **kwargs)


class Scenario:
    """A workflow of agents calling tools and models, with outcomes.

    Parameters
    ----------
    name : str
        Name of the scenario (appears in traces).
    deadline : float, optional
        A run that has not finished after ``deadline`` seconds fails (its in-flight calls are
        recorded as unfinished).
    max_steps : int
        Budget of steps (calls, choices, waits, spawns) per run; a run that exceeds it is
        stopped and recorded as failed with the reason. A run whose simulated time stands
        still for 100,000 steps (a loop of zero-latency calls) is stopped the same way.
    max_depth : int
        How deep sub-agents may nest (a spawn deeper than this fails the spawning agent
        with a :class:`~agentsim.errors.ScenarioError`), so an agent that keeps spawning
        itself fails cleanly instead of exhausting Python's stack.
    description : str
        What causal question the scenario illustrates.
    """

    def __init__(
        self,
        name: str,
        *,
        deadline: float | None = None,
        max_steps: int = 10_000,
        max_depth: int = 64,
        description: str = "",
    ) -> None:
        check_name(name, "scenario")
        if deadline is not None and not (deadline > 0 and math.isfinite(deadline)):
            raise ScenarioError(f"deadline={deadline!r} must be a positive number of seconds")
        if not isinstance(max_steps, int) or max_steps < 1:
            raise ScenarioError(f"max_steps={max_steps!r} must be a positive integer")
        self.name = name
        self.deadline = deadline
        if not isinstance(max_depth, int) or isinstance(max_depth, bool) or max_depth < 1:
            raise ScenarioError(f"max_depth={max_depth!r} must be a positive integer")
        self.max_steps = max_steps
        self.max_depth = max_depth
        self.description = description
        self.tools: dict[str, Tool] = {}
        self.agents: dict[str, Agent] = {}
        self.outcomes: dict[str, Callable[[Run], float]] = {}

    # -- definition ---------------------------------------------------------------------
    def _check_free(self, name: str) -> None:
        if name in self.tools or name in self.agents:
            raise ScenarioError(
                f"scenario {self.name!r} already has a tool, model or agent named {name!r}; "
                "names must be unique"
            )

    def add(self, tool: Tool) -> Tool:
        """Register an existing :class:`Tool`."""
        if not isinstance(tool, Tool):
            raise ScenarioError(f"{tool!r} is not an agentsim Tool")
        self._check_free(tool.name)
        self.tools[tool.name] = tool
        object.__setattr__(tool, "registered", True)
        return tool

    def tool(self, name: str, **params: Any) -> Tool:
        """Define a tool (see :class:`Tool` for the parameters) and return it."""
        try:
            return self.add(Tool(name, kind="tool", **params))
        except TypeError as exc:
            raise ScenarioError(f"tool {name!r}: {exc}") from None

    def model(self, name: str, **params: Any) -> Tool:
        """Define an LLM step (a tool of kind ``llm``) and return it."""
        try:
            return self.add(Tool(name, kind="llm", **params))
        except TypeError as exc:
            raise ScenarioError(f"model {name!r}: {exc}") from None

    def agent(self, fn: Callable[..., Any] | None = None, *, name: str | None = None) -> Any:
        """Register a generator function as an agent (decorator). The first is the entry.

        Use as ``@sc.agent`` or ``@sc.agent(name="planner_agent")``.
        """

        def register(f: Callable[..., Any]) -> Agent:
            if not callable(f):
                raise ScenarioError(f"an agent must be a generator function, got {f!r}")
            if not _is_generator_function(f):
                label = getattr(f, "__name__", repr(f))
                raise ScenarioError(
                    f"agent {label!r} is not a generator function: an agent yields its requests "
                    f"(`result = yield ctx.call(tool)`), and a plain function's calls would "
                    "never be made; add `yield` before each ctx.call/ctx.spawn/ctx.wait"
                )
            agent_name = check_name(name or f.__name__, "agent")
            self._check_free(agent_name)
            a = Agent(agent_name, f)
            self.agents[agent_name] = a
            with contextlib.suppress(TypeError):  # a callable that takes no weak reference
                _AGENT_FUNCTIONS[f] = agent_name
            return a

        return register(fn) if fn is not None else register

    def outcome(self, name: str, fn: Callable[[Run], float]) -> None:
        """Define a named outcome ``fn(run) -> number`` computed from every run."""
        check_name(name, "outcome")
        if name in ("success", "latency", "cost"):
            raise ScenarioError(f"outcome {name!r} is built in; choose another name")
        if not callable(fn):
            raise ScenarioError(f"outcome {name!r} must be a function of the run")
        self.outcomes[name] = fn

    @property
    def entry(self) -> Agent:
        """The entry agent (the first registered)."""
        if not self.agents:
            raise ScenarioError(
                f"scenario {self.name!r} has no agent; decorate a generator function with "
                "@scenario.agent"
            )
        return next(iter(self.agents.values()))

    def outcome_names(self) -> list[str]:
        """Built-in and user outcome names."""
        return ["success", "latency", "cost", *self.outcomes]

    def resolve_agent(self, agent: Any) -> Agent:
        """Find the agent to run from an Agent, its function or its name.

        Agents that a scenario registered are identified by name: an Agent object, or a
        function that some scenario registered as an agent, resolves to this scenario's agent
        of the same name when there is one, so code written against another version of the
        scenario spawns this version's sub-agents (what :func:`attribute_change` relies on).
        A function no scenario registered is run as written, under its own name.

        >>> old, new = Scenario("old"), Scenario("new")
        >>> @old.agent
        ... def helper(ctx):
        ...     yield ctx.wait(0.0)
        ...     return "old"
        >>> @new.agent(name="helper")
        ... def helper2(ctx):
        ...     yield ctx.wait(0.0)
        ...     return "new"
        >>> new.resolve_agent(helper) is new.agents["helper"]
        True
        """
        if isinstance(agent, Agent):
            return self.agents.get(agent.name, agent)
        if isinstance(agent, str):
            if agent in self.agents:
                return self.agents[agent]
            raise ScenarioError(
                f"unknown agent {agent!r}{suggest(agent, self.agents)}; "
                f"agents are {sorted(self.agents)}"
            )
        for a in self.agents.values():
            if a.fn is agent:
                return a
        if callable(agent):
            try:
                registered = _AGENT_FUNCTIONS.get(agent)
            except TypeError:  # not weakly referenceable, so never registered
                registered = None
            if registered is not None and registered in self.agents:
                return self.agents[registered]
            return Agent(check_name(getattr(agent, "__name__", "agent"), "agent"), agent)
        raise ScenarioError(f"{agent!r} is not an agent of scenario {self.name!r}")

    def resolve_tool(self, tool: Any) -> Tool:
        """Find the tool to call from a Tool or its name.

        Tools that a scenario registered are identified by name: such a Tool resolves to
        this scenario's tool of the same name when there is one, so code written against
        another version of the scenario calls this version's tools. A Tool no scenario
        registered (``Tool(...)`` made on the spot, or a ``tool.with_params(...)`` copy) is
        called as it is.

        >>> sc = Scenario("rt")
        >>> search = sc.tool("search", p_ok=0.9)
        >>> sc.resolve_tool("search") is search
        True
        >>> sc.resolve_tool(search.with_params(p_ok=0.5)).p_ok
        0.5
        """
        if isinstance(tool, Tool):
            return self.tools.get(tool.name, tool) if tool.registered else tool
        if isinstance(tool, str) and tool in self.tools:
            return self.tools[tool]
        raise ScenarioError(
            f"unknown tool {tool!r}{suggest(str(tool), self.tools)}; tools are {sorted(self.tools)}"
        )

    def __iter__(self) -> Iterator[Tool]:
        return iter(self.tools.values())

    def __repr__(self) -> str:
        return (
            f"Scenario({self.name!r}, tools={list(self.tools)}, agents={list(self.agents)}, "
            f"deadline={self.deadline})"
        )

    # -- running ------------------------------------------------------------------------
    def run(
        self,
        seed: int = 0,
        *,
        interventions: Intervention | list[Intervention] | tuple[Intervention, ...] = (),
        **inputs: Any,
    ) -> Run:
        """Run the scenario once with ``seed``; ``inputs`` go to the entry agent."""
        # the one upward call of the package (tests/test_layers.py allows it): the executor
        # knows how to run a scenario; a scenario only knows what it is
        from agentsim.executor import run_one

        return run_one(self, seed, inputs, interventions)

    def simulate(
        self,
        n: int,
        seed: int = 0,
        *,
        workers: int = 1,
        keep_traces: bool = True,
        arrivals: Distribution | float | None = None,
        progress: bool | None = None,
        interventions: Intervention | list[Intervention] | tuple[Intervention, ...] = (),
        on_crash: str = "record",
        engine: str = "auto",
        executor: Any = None,
        **inputs: Any,
    ) -> Batch:
        """Run ``n`` sessions; see :func:`agentsim.executor.simulate` (``engine``: "auto",
        "des" or "vector"; ``executor``: a dask.distributed Client). Other keyword
        arguments are inputs of the entry agent (refused when it does not accept them)."""
        from agentsim.executor import simulate  # the allowed upward call (see Scenario.run)

        return simulate(
            self,
            n,
            seed,
            workers=workers,
            keep_traces=keep_traces,
            arrivals=arrivals,
            progress=progress,
            interventions=interventions,
            inputs=inputs,
            on_crash=on_crash,
            engine=engine,
            executor=executor,
        )

    def params(self) -> Mapping[str, Tool]:
        """Tools and models by name."""
        return dict(self.tools)
