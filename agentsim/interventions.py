"""The intervention algebra: what can be changed in a run, and where.

Layer: model. It imports only from its own layer and the ones below it.

An intervention is a frozen, hashable value naming a *target* and a change. Targets are

* an exact address: ``"support#0/lookup_order#0"``;
* a glob over addresses: ``"support#0/planner#*"``, ``"*/search#*"`` (``*`` crosses ``/``);
* a tool or model name: ``"issue_refund"`` (all of its calls);
* an agent name: ``"escalation"`` (all calls made inside any instance of it; with
  ``agent_result=True``, the agent instance's own result instead).

Hard interventions set a call's result: :func:`do`, :func:`repair`, :func:`break_`,
:func:`delay`. Soft interventions change a mechanism or its noise: :func:`fix` (remove the
call's own fault: an intervention on its exogenous noise only), :func:`resample` (fresh
noise, same mechanism), :func:`replace` (swap a tool, model or sub-agent), :func:`set_params`
(change a tool's parameters). All of them apply at one place, the engine's dispatch of a call.

Fix versus repair. ``repair(X)`` forces X's *output* to success. ``fix(X)`` removes X's *own
fault* and nothing else: it maps X's noise out of its mechanism's failure region and leaves
its inputs alone. For the default noisy-AND tool the own-failure region of ``u_ok`` is
``[p_ok, 1)`` and a fixed call reads::

    u_ok' = u_ok                                  if u_ok < p_ok   (no own failure: unchanged)
    u_ok' = p_ok * (u_ok - p_ok) / (1 - p_ok)     if u_ok >= p_ok  (own failure removed)

and, for a tool with a ``timeout``, the same map of ``u_latency`` with ``c = F(timeout)`` in
place of ``p_ok`` (an own timeout, service time beyond the timeout, is removed; a timeout
caused by queueing for capacity is not the call's own fault and stays). The map is monotone:
it never raises a uniform (so a fixed call is never worse than the factual one, whatever its
inputs), it keeps the order of the noises it moves, and it carries the uniform law on the
failure region to the uniform law on the success region, so a fixed call behaves like a call
drawn given that it has no fault of its own. With good inputs a fixed call succeeds; with
bad inputs it does what the mechanism does with bad inputs (it recovers when
``u_ok' < p_recover``, so with ``p_recover = 0`` it still fails); a call that did not fail on
its own is unchanged, to the bit. A success region that is empty (``p_ok = 0``, a fixed
latency beyond the timeout) cannot be entered, so such a call still fails.

A custom mechanism declares its success region by an attribute on the callable,
``mechanism.success_region = {"ok": 0.9}`` (slot name -> ``c``: the noise of that slot is the
call's own fault when it is ``>= c``); fixing a call whose mechanism declares none raises
:class:`~agentsim.errors.InterventionError` (use ``repair`` for it, or declare the region).
A choice (``ctx.choose``) and a wait have no fault of their own: fixing them changes nothing.

Examples
--------
>>> repair("support#0/planner#*").describe()
'repair(support#0/planner#*)'
>>> do("main#0/search#0", ok=False, latency=2.0).describe()
'do(main#0/search#0, ok=False, latency=2.0)'
>>> set_params("lookup_order", p_ok=0.999) == set_params("lookup_order", p_ok=0.999)
True
>>> fix("*/search#*").describe()
'fix(*/search#*)'
"""

from __future__ import annotations

import fnmatch
import math
from collections.abc import Callable, Iterable, Sequence
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, JsonValue, field_validator

from agentsim.errors import InterventionError

__all__ = [
    "Break",
    "Delay",
    "Do",
    "Fix",
    "Intervention",
    "Repair",
    "Replace",
    "Resample",
    "SetParams",
    "agent_names_of",
    "as_interventions",
    "break_",
    "delay",
    "do",
    "fix",
    "is_pattern",
    "repair",
    "replace",
    "resample",
    "set_params",
    "target_matches",
]

_GLOB = set("*?[")


def is_pattern(target: str) -> bool:
    """Whether ``target`` is an address or address glob (as opposed to a tool/agent name).

    >>> is_pattern("main#0/search#1"), is_pattern("*/search#*"), is_pattern("search")
    (True, True, False)
    """
    return "#" in target or "/" in target or bool(_GLOB & set(target))


def target_matches(target: str, address: str, tool: str, agent_names: frozenset[str]) -> bool:
    """Whether a call-level target (address, glob, tool name or agent name) matches a call.

    >>> target_matches("planner", "main#0/planner#2", "planner", frozenset({"main"}))
    True
    >>> target_matches("main#0/sub#0/*", "main#0/sub#0/t#1", "t", frozenset({"main", "sub"}))
    True
    """
    if is_pattern(target):
        return fnmatch.fnmatchcase(address, target)
    return target == tool or target in agent_names


def agent_names_of(address: str) -> frozenset[str]:
    """Names of the agent instances on a call's address path.

    >>> sorted(agent_names_of("main#0/sub#1/search#2"))
    ['main', 'sub']
    """
    return frozenset(seg.split("#", 1)[0] for seg in address.split("/")[:-1])


class Intervention(BaseModel):
    """Base of all interventions: a target and a change. Frozen and hashable."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    kind: str
    """The intervention's name (``do``, ``repair``...)."""
    target: str
    """Address, address glob, tool name or agent name (see module docstring)."""
    agent_result: bool = False
    """For an agent-name target: act on the agent instance's result, not on its calls."""

    @field_validator("target")
    @classmethod
    def _nonempty(cls, v: str) -> str:
        if not isinstance(v, str) or not v.strip():
            raise InterventionError(f"intervention target must be a non-empty string, got {v!r}")
        return v

    def describe(self) -> str:
        """A readable one-line description."""
        extra = self._describe_args()
        tail = ", agent_result=True" if self.agent_result else ""
        return f"{self.kind}({self.target}{', ' + extra if extra else ''}{tail})"

    def _describe_args(self) -> str:
        return ""

    def matches_address(self, address: str) -> bool:
        """Whether an address-pattern target matches ``address`` (names never match here)."""
        return is_pattern(self.target) and fnmatch.fnmatchcase(address, self.target)

    def __str__(self) -> str:
        return self.describe()


class Do(Intervention):
    """``do(target, ok=, value=, latency=, cost=)``: set fields of the result."""

    kind: Literal["do"] = "do"
    ok: bool | None = None
    """Forced success flag, or ``None`` to keep the mechanism's."""
    value: JsonValue = None
    """Forced value (only when ``set_value``)."""
    set_value: bool = False
    """Whether ``value`` is forced (so that ``None`` can be forced too)."""
    latency: float | None = None
    """Forced latency in seconds."""
    cost: float | None = None
    """Forced cost."""

    def _describe_args(self) -> str:
        parts = []
        if self.ok is not None:
            parts.append(f"ok={self.ok}")
        if self.set_value:
            parts.append(f"value={self.value!r}")
        if self.latency is not None:
            parts.append(f"latency={self.latency}")
        if self.cost is not None:
            parts.append(f"cost={self.cost}")
        return ", ".join(parts)


class Repair(Intervention):
    """Force ``ok=True`` with the value the mechanism yields when ok, on the same noise."""

    kind: Literal["repair"] = "repair"


class Fix(Intervention):
    """Remove the target's own fault: map its noise out of its mechanism's failure region
    (see the module docstring); its inputs, and every other call's noise, stay as they are."""

    kind: Literal["fix"] = "fix"

    @field_validator("agent_result")
    @classmethod
    def _calls_only(cls, v: bool) -> bool:
        if v:
            raise InterventionError(
                "fix acts on calls' own noise; an agent's result has no noise of its own, so "
                "fix(agent_name) (all its calls) is the way to remove an agent's faults"
            )
        return v


class Break(Intervention):
    """Force ``ok=False`` (the error a failure of the tool reads; a call that failed
    already keeps its own result), same noise otherwise."""

    kind: Literal["break"] = "break"


class Resample(Intervention):
    """Draw fresh noise (draw index ``draw`` of the field) through the same mechanism."""

    kind: Literal["resample"] = "resample"
    draw: int = 1
    """Which fresh draw: any k > 0 gives noise independent of the factual (k = 0)."""

    @field_validator("draw")
    @classmethod
    def _positive(cls, v: int) -> int:
        if v < 1:
            raise InterventionError(f"resample draw must be >= 1 (0 is the factual), got {v}")
        return v

    def _describe_args(self) -> str:
        return f"draw={self.draw}" if self.draw != 1 else ""


class Delay(Intervention):
    """Add ``seconds`` to the call's latency (negative shortens, never below zero)."""

    kind: Literal["delay"] = "delay"
    seconds: float
    """Seconds added to the latency."""

    def _describe_args(self) -> str:
        return f"{self.seconds:+g}s"


class Replace(Intervention):
    """Swap a tool, model or sub-agent for another (a Tool, a mechanism, an agent function).

    The replacement is a Python object, so this intervention serialises to its description
    only (``replacement_name``); it is the documented callable escape hatch.
    """

    kind: Literal["replace"] = "replace"
    replacement: Any = Field(default=None, exclude=True)
    """A Tool, a mechanism callable ``(inputs, noise) -> fields``, or an agent function."""
    replacement_name: str = ""
    """A readable name of the replacement."""

    def _describe_args(self) -> str:
        return self.replacement_name

    def __hash__(self) -> int:
        return hash((self.kind, self.target, self.replacement_name, id(self.replacement)))


class SetParams(Intervention):
    """Change parameters of a tool's mechanism (``p_ok``, ``latency``, ``cost``...)."""

    kind: Literal["set_params"] = "set_params"
    params: tuple[tuple[str, Any], ...]
    """The parameters, as sorted (name, value) pairs."""

    def _describe_args(self) -> str:
        return ", ".join(f"{k}={_short(v)}" for k, v in self.params)

    def __hash__(self) -> int:
        return hash((self.kind, self.target, repr(self.params)))


def _short(v: Any) -> str:
    if isinstance(v, BaseModel):
        fields = ", ".join(f"{k}={x}" for k, x in v.model_dump().items() if k != "kind")
        return f"{type(v).__name__}({fields})"
    return repr(v)


_UNSET: Any = object()


def do(
    target: str,
    *,
    ok: bool | None = None,
    value: Any = _UNSET,
    latency: float | None = None,
    cost: float | None = None,
    agent_result: bool = False,
) -> Do:
    """Set fields of the target's result.

    >>> do("main#0/a#0", ok=True).ok
    True
    """
    if ok is None and value is _UNSET and latency is None and cost is None:
        raise InterventionError(
            f"do({target!r}) sets nothing; give at least one of ok=, value=, latency=, cost="
        )
    for what, x in (("latency", latency), ("cost", cost)):
        if x is not None and not (isinstance(x, int | float) and 0 <= x < math.inf):
            raise InterventionError(
                f"do({target!r}, {what}={x!r}): {what} must be a finite number >= 0"
            )
    set_value = value is not _UNSET
    return Do(
        target=target,
        ok=ok,
        value=value if set_value else None,
        set_value=set_value,
        latency=latency,
        cost=cost,
        agent_result=agent_result,
    )


def repair(target: str, *, agent_result: bool = False) -> Repair:
    """Force the target to succeed.

    >>> repair("search").describe()
    'repair(search)'
    """
    return Repair(target=target, agent_result=agent_result)


def fix(target: str) -> Fix:
    """Remove the target's own fault (an intervention on its exogenous noise only).

    A call that failed, or timed out, on its own succeeds when its inputs are good; with bad
    inputs it does what its mechanism does with bad inputs; a call that did not fail on its
    own is unchanged. The target is an address, a glob, a tool name or an agent name (all
    calls inside it). See the module docstring for the noise map.

    >>> fix("support#0/lookup_order#0").describe()
    'fix(support#0/lookup_order#0)'
    """
    return Fix(target=target)


def break_(target: str, *, agent_result: bool = False) -> Break:
    """Force the target to fail.

    >>> break_("issue_refund").describe()
    'break(issue_refund)'
    """
    return Break(target=target, agent_result=agent_result)


def resample(target: str, *, draw: int = 1) -> Resample:
    """Redraw the target's noise (draw ``draw`` of the field).

    >>> resample("main#0/a#0", draw=3).draw
    3
    """
    return Resample(target=target, draw=draw)


def delay(target: str, seconds: float) -> Delay:
    """Add ``seconds`` to the target's latency.

    >>> delay("main#0/a#0", -2.0).describe()
    'delay(main#0/a#0, -2s)'
    """
    if not (isinstance(seconds, int | float) and math.isfinite(seconds)):
        raise InterventionError(f"delay({target!r}, {seconds!r}): seconds must be a finite number")
    return Delay(target=target, seconds=float(seconds))


def replace(
    name: str, replacement: Any = None, *, mechanism: Callable[..., Any] | None = None
) -> Replace:
    """Swap a tool/model (for a Tool or a mechanism callable) or a sub-agent (for an agent).

    >>> replace("planner", mechanism=lambda inputs, noise: {"ok": True}).kind
    'replace'
    """
    if (replacement is None) == (mechanism is None):
        raise InterventionError(
            f"replace({name!r}) needs exactly one of a replacement (Tool or agent) or mechanism="
        )
    obj = replacement if replacement is not None else mechanism
    label = getattr(obj, "name", None) or getattr(obj, "__name__", None) or type(obj).__name__
    if mechanism is not None:
        label = f"mechanism={label}"
    return Replace(target=name, replacement=obj, replacement_name=str(label))


def set_params(tool: str, **params: Any) -> SetParams:
    """Change a tool's parameters (any of ``p_ok``, ``p_recover``, ``latency``, ``cost``,
    ``timeout``, ``capacity``).

    >>> set_params("lookup_order", p_ok=0.999).describe()
    'set_params(lookup_order, p_ok=0.999)'
    """
    allowed = {"p_ok", "p_recover", "latency", "cost", "timeout", "capacity", "value"}
    unknown = sorted(set(params) - allowed)
    if not params or unknown:
        raise InterventionError(
            f"set_params({tool!r}) got {unknown or 'no parameters'}; "
            f"allowed parameters are {sorted(allowed)}"
        )
    return SetParams(target=tool, params=tuple(sorted(params.items())))


def as_interventions(items: Iterable[Any] | Intervention | None) -> tuple[Intervention, ...]:
    """Normalise one intervention, a sequence of them, or ``None`` to a tuple.

    >>> as_interventions(repair("a"))
    (Repair(kind='repair', target='a', agent_result=False),)
    """
    if items is None:
        return ()
    if isinstance(items, Intervention):
        return (items,)
    out: list[Intervention] = []
    for item in items:
        if isinstance(item, Intervention):
            out.append(item)
        elif isinstance(item, Sequence) and not isinstance(item, str):
            out.extend(as_interventions(item))
        else:
            raise InterventionError(
                f"{item!r} is not an intervention; build one with asim.do, asim.fix, asim.repair, "
                "asim.break_, asim.resample, asim.delay, asim.replace or asim.set_params"
            )
    return tuple(out)
