"""Declarative workflows: combinators that compile to ordinary scenarios.

Layer: model. It imports only from its own layer and the ones below it.

A workflow is a tree of frozen pydantic models (a tagged union on ``kind``) built from seven
combinators. It can be written to JSON and read back, generated at random, compiled into a
:class:`~agentsim.scenario.Scenario` by :func:`scenario`, and analysed exactly, without the
engine, by :mod:`agentsim.analytic`.

Every step receives an *input*, a tuple of Results (possibly empty), and produces an
*output*, a non-empty tuple of Results. A step is *ok* when every Result of its output is ok.
A call passes its input to the tool, so under the default noisy-AND mechanism it succeeds
with probability ``p_ok`` when its input is ok (an empty input is ok) and ``p_recover``
otherwise. The combinators:

``call(tool)``
    One call of ``tool`` with the step's input; the output is its Result.
``seq(*steps)``
    The first step receives the seq's input, each later step the previous step's output;
    the output is the last step's output. At the top level the input is empty, so the first
    call of a workflow has no inputs.
``par(*steps, mode="all")``
    Every branch receives the par's input and they run concurrently (``ctx.parallel``); the
    output is every branch's Result, so the par is ok iff all branches are ok.
``par(*steps, mode="any")``
    ``ctx.first``: the output is the first ok Result to arrive (the other branches are
    cancelled) or, when none is ok, the last failure; ok iff some branch is ok. A branch of a
    par is a ``call``, a ``subagent`` or a nested ``par`` (a par "all" only inside another par
    "all", whose outputs are flattened): what the engine can run concurrently. Wrap anything
    else in a ``subagent``.
``retry(step, n)``
    Runs ``step`` with the retry's input until it is ok, at most ``n + 1`` times; the output
    is the first ok attempt's output or the last failed one's.
``fallback(primary, backup)``
    Runs ``primary``; when it is not ok, runs ``backup`` with the same input and outputs
    what the backup outputs.
``subagent(name, body)``
    ``ctx.spawn``: ``body`` runs as agent ``name`` with the input as arguments, at address
    ``.../name#k``; its Result is ok iff the body's output is ok (an agent returns the first
    failed Result of its output, else the last one).
``choose(model, {option: (weight, branch)})``
    ``ctx.choose``: a Gumbel-max decision by ``model`` (which costs the model's cost and takes
    its latency, and is always ok) picks an option with probability proportional to its
    weight; the chosen branch then runs with the choose's input (not the decision's Result).
    A decision that fails without naming an option (the model's timeout, a forced failure)
    is the choose's output: no branch runs.

Addresses follow the engine: the entry agent is ``main#0``, its k-th call of ``fetch`` is
``main#0/fetch#k`` (counting calls and decisions by the same name), a sub-agent's calls
live under ``main#0/name#k/``.

Examples
--------
>>> flow = seq(call("search"), retry(call("fetch"), n=2))
>>> from_json(to_json(flow)) == flow
True
>>> sc = scenario(flow, tools={"search": dict(p_ok=0.9), "fetch": dict(p_ok=0.5)})
>>> sorted(sc.agents), sorted(sc.tools)
(['main'], ['fetch', 'search'])
>>> [s.address for s in sc.run(seed=1).trace.spans][:2]
['main#0', 'main#0/search#0']
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable, Generator, Iterator, Mapping
from typing import TYPE_CHECKING, Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, TypeAdapter, ValidationError, field_validator

from agentsim.errors import ScenarioError

if TYPE_CHECKING:
    from agentsim.context import Context, Result
    from agentsim.scenario import Scenario

__all__ = [
    "Call",
    "Choose",
    "Fallback",
    "Flow",
    "Option",
    "Par",
    "Retry",
    "Seq",
    "Subagent",
    "call",
    "choose",
    "fallback",
    "flow_of",
    "from_json",
    "nodes",
    "par",
    "retry",
    "scenario",
    "seq",
    "subagent",
    "subagents",
    "to_json",
    "tool_names",
]

FLOW_ATTRIBUTE = "__agentsim_flow__"
"""Attribute of a compiled agent function holding the flow it runs."""

ENTRY = "main"
"""Name of the entry agent of a compiled workflow (its address is ``main#0``)."""

_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_.\-]*$")


def _check_name(name: str, what: str) -> str:
    if not _NAME.match(name):
        raise ValueError(f"{what} name {name!r} is not valid; use letters, digits, '_', '.' or '-'")
    return name


class _Node(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class Call(_Node):
    """One call of a tool or model with the step's input."""

    kind: Literal["call"] = "call"
    tool: str
    """Name of the tool or model called."""

    @field_validator("tool")
    @classmethod
    def _tool(cls, v: str) -> str:
        return _check_name(v, "tool")


class Seq(_Node):
    """Steps in order, each fed the previous step's output."""

    kind: Literal["seq"] = "seq"
    steps: tuple[Flow, ...]
    """The steps (at least one)."""

    @field_validator("steps")
    @classmethod
    def _steps(cls, v: tuple[Flow, ...]) -> tuple[Flow, ...]:
        if not v:
            raise ValueError("seq needs at least one step")
        return v


class Par(_Node):
    """Branches run concurrently: all of them (``mode="all"``) or the first ok (``"any"``)."""

    kind: Literal["par"] = "par"
    steps: tuple[Flow, ...]
    """The branches: calls, sub-agents or nested pars (at least one)."""
    mode: Literal["all", "any"] = "all"
    """``all``: ok iff every branch is ok; ``any``: ok iff some branch is ok."""

    @field_validator("steps")
    @classmethod
    def _steps(cls, v: tuple[Flow, ...]) -> tuple[Flow, ...]:
        if not v:
            raise ValueError("par needs at least one branch")
        for step in v:
            if not isinstance(step, Call | Subagent | Par):
                raise ValueError(
                    f"a par branch must be a call, a subagent or a par, got a {step.kind}; "
                    "wrap it in subagent('name', ...) to run it concurrently"
                )
        return v

    def model_post_init(self, context: Any, /) -> None:
        if self.mode == "any" and any(isinstance(s, Par) and s.mode == "all" for s in self.steps):
            raise ValueError(
                "a par(mode='all') cannot be a branch of a par(mode='any') (its output is "
                "several Results, not one); wrap it in a subagent"
            )


class Retry(_Node):
    """``step`` again, with the same input, until ok: at most ``n + 1`` attempts."""

    kind: Literal["retry"] = "retry"
    step: Flow
    """The step retried."""
    n: int = Field(ge=0)
    """Number of retries after the first attempt."""


class Fallback(_Node):
    """``primary``, then ``backup`` with the same input when the primary is not ok."""

    kind: Literal["fallback"] = "fallback"
    primary: Flow
    """The step tried first."""
    backup: Flow
    """The step run only when the primary is not ok."""


class Subagent(_Node):
    """``body`` run as sub-agent ``name`` (``ctx.spawn``), with the input as arguments."""

    kind: Literal["subagent"] = "subagent"
    name: str
    """Agent name; its instances have addresses ``.../name#k``."""
    body: Flow
    """What the sub-agent does."""

    @field_validator("name")
    @classmethod
    def _name(cls, v: str) -> str:
        if v == ENTRY:
            raise ValueError(f"{ENTRY!r} is the entry agent; name the sub-agent otherwise")
        return _check_name(v, "agent")


class Option(_Node):
    """One option of a :class:`Choose`: its name, weight and branch."""

    name: str
    """Option name (the decision's value; its noise slot is ``choice:<name>``)."""
    weight: float = Field(ge=0)
    """Non-negative weight; options are chosen with probability proportional to it."""
    flow: Flow
    """The branch run when this option is chosen."""

    @field_validator("weight")
    @classmethod
    def _finite(cls, v: float) -> float:
        if not math.isfinite(v):
            raise ValueError(f"option weight must be finite, got {v!r}")
        return v


class Choose(_Node):
    """A Gumbel-max decision by ``model`` (``ctx.choose``), then the chosen branch."""

    kind: Literal["choose"] = "choose"
    model: str
    """Name of the model deciding."""
    options: tuple[Option, ...]
    """The options, in order (at least one, names unique, weights not all zero)."""

    @field_validator("model")
    @classmethod
    def _model(cls, v: str) -> str:
        return _check_name(v, "model")

    @field_validator("options")
    @classmethod
    def _options(cls, v: tuple[Option, ...]) -> tuple[Option, ...]:
        names = [o.name for o in v]
        if not v or len(set(names)) != len(names):
            raise ValueError(f"choose needs at least one option and unique names, got {names}")
        if sum(o.weight for o in v) <= 0:
            raise ValueError(f"choose weights must not all be zero: {names}")
        return v

    def weights(self) -> dict[str, float]:
        """Option name -> weight, as passed to ``ctx.choose``."""
        return {o.name: o.weight for o in self.options}

    def branch(self, option: str) -> Flow:
        """The branch of ``option``."""
        return next(o.flow for o in self.options if o.name == option)


Flow = Annotated[
    Call | Seq | Par | Retry | Fallback | Subagent | Choose, Field(discriminator="kind")
]
"""Any workflow step (a tagged union on ``kind``)."""

for _model in (Seq, Par, Retry, Fallback, Subagent, Option, Choose):
    _model.model_rebuild()

_FLOW: TypeAdapter[Flow] = TypeAdapter(Flow)


def _build(factory: Callable[[], Flow]) -> Flow:
    try:
        return factory()
    except ValidationError as exc:
        msgs = "; ".join(
            (".".join(map(str, e["loc"])) + ": " if e["loc"] else "")
            + str(e["msg"]).removeprefix("Value error, ")
            for e in exc.errors()
        )
        raise ScenarioError(f"invalid workflow: {msgs}") from None


# -- constructors -----------------------------------------------------------------------
def call(tool: str) -> Flow:
    """A call of ``tool``.

    >>> call("search")
    Call(kind='call', tool='search')
    """
    return _build(lambda: Call(tool=tool))


def seq(*steps: Flow) -> Flow:
    """Steps in order, each receiving the previous step's output.

    >>> len(seq(call("a"), call("b")).steps)
    2
    """
    return _build(lambda: Seq(steps=steps))


def par(*steps: Flow, mode: Literal["all", "any"] = "all") -> Flow:
    """Concurrent branches: ok iff all are ok (``"all"``) or the first ok wins (``"any"``).

    >>> par(call("a"), call("b"), mode="any").mode
    'any'
    """
    return _build(lambda: Par(steps=steps, mode=mode))


def retry(step: Flow, n: int) -> Flow:
    """Up to ``n`` retries of ``step`` after a failure (at most ``n + 1`` attempts).

    >>> retry(call("a"), n=2).n
    2
    """
    return _build(lambda: Retry(step=step, n=n))


def fallback(primary: Flow, backup: Flow) -> Flow:
    """``backup`` (with the same input) only when ``primary`` is not ok.

    >>> fallback(call("a"), call("b")).backup.kind
    'call'
    """
    return _build(lambda: Fallback(primary=primary, backup=backup))


def subagent(name: str, body: Flow) -> Flow:
    """``body`` run as the sub-agent ``name``.

    >>> subagent("helper", call("a")).name
    'helper'
    """
    return _build(lambda: Subagent(name=name, body=body))


def choose(model: str, options: Mapping[str, tuple[float, Flow]]) -> Flow:
    """A decision by ``model`` among ``{option: (weight, branch)}``, then the chosen branch.

    >>> choose("llm", {"a": (0.7, call("a")), "b": (0.3, call("b"))}).weights()
    {'a': 0.7, 'b': 0.3}
    """
    opts = tuple(
        (name, w, flow) for name, (w, flow) in options.items()
    )  # unpacked here so a bad shape fails with a clear message below
    return _build(
        lambda: Choose(
            model=model, options=tuple(Option(name=n, weight=w, flow=f) for n, w, f in opts)
        )
    )


# -- serialisation and inspection -------------------------------------------------------
def to_json(flow: Flow, *, indent: int | None = None) -> str:
    """The workflow as JSON text.

    >>> to_json(call("a"))
    '{"kind":"call","tool":"a"}'
    """
    return _FLOW.dump_json(flow, indent=indent).decode()


def from_json(text: str | bytes) -> Flow:
    """Read a workflow written by :func:`to_json` (or by hand: unknown fields are errors).

    >>> from_json('{"kind": "retry", "step": {"kind": "call", "tool": "a"}, "n": 1}').n
    1
    """
    return _build(lambda: _FLOW.validate_json(text))


def nodes(flow: Flow) -> Iterator[Flow]:
    """Every step of ``flow``, depth first, the flow itself first.

    >>> [n.kind for n in nodes(retry(seq(call("a")), n=1))]
    ['retry', 'seq', 'call']
    """
    yield flow
    if isinstance(flow, Seq | Par):
        children: tuple[Flow, ...] = flow.steps
    elif isinstance(flow, Retry):
        children = (flow.step,)
    elif isinstance(flow, Fallback):
        children = (flow.primary, flow.backup)
    elif isinstance(flow, Subagent):
        children = (flow.body,)
    elif isinstance(flow, Choose):
        children = tuple(o.flow for o in flow.options)
    else:
        children = ()
    for child in children:
        yield from nodes(child)


def tool_names(flow: Flow) -> set[str]:
    """Names of the tools called and the models deciding in ``flow``.

    >>> sorted(tool_names(choose("llm", {"x": (1.0, call("a"))})))
    ['a', 'llm']
    """
    out: set[str] = set()
    for node in nodes(flow):
        if isinstance(node, Call):
            out.add(node.tool)
        elif isinstance(node, Choose):
            out.add(node.model)
    return out


def subagents(flow: Flow) -> dict[str, Flow]:
    """Sub-agent name -> body; one name must always have the same body.

    >>> subagents(seq(subagent("h", call("a")), subagent("h", call("a"))))
    {'h': Call(kind='call', tool='a')}
    """
    out: dict[str, Flow] = {}
    for node in nodes(flow):
        if isinstance(node, Subagent):
            if node.name in out and out[node.name] != node.body:
                raise ScenarioError(
                    f"sub-agent {node.name!r} is defined twice with different bodies; "
                    "give each body its own name"
                )
            out[node.name] = node.body
    return out


# -- compilation ------------------------------------------------------------------------
def scenario(
    flow: Flow,
    tools: Mapping[str, Mapping[str, Any]],
    *,
    name: str = "workflow",
    deadline: float | None = None,
    max_steps: int = 10_000,
) -> Scenario:
    """Compile ``flow`` into a scenario whose entry agent ``main`` runs it.

    Parameters
    ----------
    flow : Flow
        The workflow.
    tools : dict
        Tool or model name -> keyword parameters of :class:`~agentsim.scenario.Tool`
        (``p_ok``, ``p_recover``, ``latency``, ``cost``, ``kind``...). Every name the flow
        uses must be present; others are registered too.
    name, deadline, max_steps
        As for :class:`~agentsim.scenario.Scenario`.

    Returns
    -------
    Scenario
        Agents ``main`` (the entry) and one per sub-agent name. Its runs, addresses and
        traces are those of the equivalent hand-written agents.

    Examples
    --------
    >>> sc = scenario(subagent("helper", call("a")), {"a": {"p_ok": 1.0}})
    >>> [s.address for s in sc.run(seed=0).trace.spans]
    ['main#0', 'main#0/helper#0', 'main#0/helper#0/a#0']
    """
    # Compiling is the one step that needs the scenario machinery; the engine-free oracle
    # (agentsim.analytic) imports this module, so the import stays here.
    from agentsim.scenario import Scenario, Tool

    missing = sorted(tool_names(flow) - set(tools))
    if missing:
        raise ScenarioError(
            f"workflow uses {missing} but tools has no entry for them; tools are {sorted(tools)}"
        )
    bodies = subagents(flow)
    sc = Scenario(name, deadline=deadline, max_steps=max_steps)
    for tool_name, params in tools.items():
        try:
            sc.add(Tool(tool_name, **params))
        except TypeError as exc:
            raise ScenarioError(f"tool {tool_name!r}: {exc}") from None
    sc.agent(_agent_function(flow), name=ENTRY)
    for agent_name, body in bodies.items():
        sc.agent(_agent_function(body), name=agent_name)
    return sc


Gen = Generator[Any, Any, tuple["Result", ...]]


def _agent_function(body: Flow) -> Callable[..., Generator[Any, Any, Result]]:
    def agent(ctx: Context, *inputs: Result) -> Generator[Any, Any, Result]:
        out = yield from _run(ctx, body, inputs)
        return _agent_result(out)

    # the vectorised executor reads the flow back from the agent (see flow_of)
    setattr(agent, FLOW_ATTRIBUTE, body)
    return agent


def flow_of(fn: Any) -> Flow | None:
    """The flow an agent function compiled by :func:`scenario` runs, else ``None``.

    >>> sc = scenario(call("a"), {"a": {}})
    >>> flow_of(sc.entry.fn)
    Call(kind='call', tool='a')
    >>> flow_of(lambda ctx: None) is None
    True
    """
    flow = getattr(fn, FLOW_ATTRIBUTE, None)
    kinds = Call | Seq | Par | Retry | Fallback | Subagent | Choose
    return flow if isinstance(flow, kinds) else None


def _agent_result(out: tuple[Result, ...]) -> Result:
    """What an agent returns for an output: its first failed Result, else its last."""
    return next((r for r in out if not r.ok), out[-1])


def _is_ok(out: tuple[Result, ...]) -> bool:
    return all(r.ok for r in out)


def _flatten(results: Any) -> tuple[Result, ...]:
    if isinstance(results, tuple):
        return tuple(r for item in results for r in _flatten(item))
    return (results,)


def _request(ctx: Context, node: Flow, inputs: tuple[Result, ...]) -> Any:
    """The engine request of a par branch (addresses are assigned here, in program order)."""
    if isinstance(node, Call):
        return ctx.call(node.tool, *inputs)
    if isinstance(node, Subagent):
        return ctx.spawn(node.name, *inputs)
    assert isinstance(node, Par)
    branches = [_request(ctx, step, inputs) for step in node.steps]
    return ctx.parallel(*branches) if node.mode == "all" else ctx.first(*branches)


def _run(ctx: Context, node: Flow, inputs: tuple[Result, ...]) -> Gen:
    """Execute ``node`` in agent context ``ctx``; return its output."""
    if isinstance(node, Call):
        return ((yield ctx.call(node.tool, *inputs)),)
    if isinstance(node, Seq):
        out = inputs
        for step in node.steps:
            out = yield from _run(ctx, step, out)
        return out
    if isinstance(node, Par | Subagent):
        return _flatten((yield _request(ctx, node, inputs)))
    if isinstance(node, Retry):
        for _ in range(node.n + 1):
            out = yield from _run(ctx, node.step, inputs)
            if _is_ok(out):
                break
        return out
    if isinstance(node, Fallback):
        out = yield from _run(ctx, node.primary, inputs)
        if _is_ok(out):
            return out
        return (yield from _run(ctx, node.backup, inputs))
    decision = yield ctx.choose(node.model, node.weights(), inputs=inputs)
    if not decision.ok and not any(o.name == decision.value for o in node.options):
        return (decision,)  # the decision failed without naming an option (a timeout)
    return (yield from _run(ctx, node.branch(decision.value), inputs))
