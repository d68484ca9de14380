"""Compiled interventions: every check of an intervention set, and how it applies at the
engine's dispatch point (engine layer; imports kernel and model).

:func:`compile_interventions` checks a set of interventions against a scenario (every name
target must be a tool, model or agent; :func:`check_address_targets` checks address targets
against the worlds they ran in) and returns an object the engine consults
for each call: which interventions match (cached by address), how they change the mechanism
(``replace``, ``set_params``, ``resample``), how they change its noise (``fix``: the noise is
mapped out of the *effective* mechanism's failure region, after ``replace``/``set_params``)
and how they change the result (``do``, ``repair``, ``break_``, ``delay``). Order of
application: mechanism-level ones in the order given, then ``fix``, then result-level ones in
the order given.
"""

from __future__ import annotations

import fnmatch
from collections.abc import Generator, Sequence
from typing import TYPE_CHECKING, Any

from agentsim.context import Result
from agentsim.errors import InterventionError, UnknownAddressError, suggest
from agentsim.interventions import Intervention, is_pattern
from agentsim.mechanisms import fault_bounds
from agentsim.scenario import Agent, Tool

if TYPE_CHECKING:
    from agentsim.scenario import Scenario

__all__ = ["Compiled", "check_address_targets", "compile_interventions"]

Gen = Generator[Any, Any, Any]

_MECHANISM = {"replace", "set_params", "resample", "fix"}
_RESULT = frozenset({"do", "repair", "break", "delay"})


class Compiled:
    """Interventions checked against a scenario, ready for the engine."""

    def __init__(self, scenario: Scenario, interventions: tuple[Intervention, ...]) -> None:
        self.scenario = scenario
        self.interventions = interventions
        self._tools: dict[tuple[int, Intervention], Tool] = {}
        self.matched: set[Intervention] = set()
        # Index the targets once, so that matching a call costs two dict look-ups in the
        # common case (exact addresses and tool names), not a scan with fnmatch.
        self._exact: dict[str, list[tuple[int, Intervention]]] = {}
        self._names: dict[str, list[tuple[int, Intervention]]] = {}
        self._globs: list[tuple[int, Intervention]] = []
        for i, iv in enumerate(interventions):
            t = iv.target
            if is_pattern(t):
                if set(t) & {"*", "?", "["}:
                    self._globs.append((i, iv))
                else:
                    self._exact.setdefault(t, []).append((i, iv))
            elif not iv.agent_result:
                if iv.kind == "replace" and t in scenario.agents:
                    continue  # replaces the agent's function (agent_function), not its calls
                self._names.setdefault(t, []).append((i, iv))
        self._agent_names = frozenset(self._names) & frozenset(scenario.agents)

    # -- calls ----------------------------------------------------------------------------
    def for_call(
        self, address: str, req: Any, agent_names: frozenset[str]
    ) -> tuple[Intervention, ...]:
        """Interventions matching a call, in the order they were given."""
        if not self._names and not self._globs:  # exact addresses only: one look-up
            exact = self._exact.get(address)
            if not exact:
                return ()
            found = tuple(iv for _, iv in exact)
            self.matched.update(found)
            return found
        tool_name = req.tool.name if hasattr(req, "tool") else "wait"
        hits = self._exact.get(address, []) + self._names.get(tool_name, [])
        if self._agent_names:
            for name in self._agent_names & agent_names:
                hits = hits + self._names[name]
        if self._globs:
            hits = hits + [
                (i, iv) for i, iv in self._globs if fnmatch.fnmatchcase(address, iv.target)
            ]
        if not hits:
            return ()
        hits.sort(key=lambda pair: pair[0])
        found = tuple(iv for _, iv in hits)
        self.matched.update(found)
        return found

    def result_level(self, matched: tuple[Intervention, ...]) -> bool:
        """Whether every intervention in ``matched`` changes only a call's result (not its
        mechanism or its noise), so the call can be evaluated as if none applied first."""
        return all(iv.kind in _RESULT for iv in matched)

    def apply_to_tool(
        self, iv: Intervention, tool: Tool, draw: int | None
    ) -> tuple[Tool, int | None]:
        kind = iv.kind
        if kind == "resample":
            return tool, iv.draw  # type: ignore[attr-defined]
        if kind not in ("replace", "set_params"):
            return tool, draw
        key = (id(tool), iv)
        new = self._tools.get(key)
        if new is None:
            if kind == "set_params":
                new = tool.with_params(**dict(iv.params))  # type: ignore[attr-defined]
            else:
                rep = iv.replacement  # type: ignore[attr-defined]
                if isinstance(rep, Tool):
                    new = rep.with_params(name=tool.name, kind=tool.kind)
                elif isinstance(rep, Agent):
                    raise InterventionError(
                        f"{iv.describe()}: cannot replace tool {tool.name!r} by agent {rep.name!r}"
                    )
                else:
                    new = tool.with_params(mechanism=rep)
            self._tools[key] = new
        return new, draw

    def apply_to_result(
        self, iv: Intervention, fields: list[Any], req: Any, inputs: list[Result]
    ) -> bool:
        """Apply a result-level intervention to ``fields``; True when it changed them.

        A forced failure of a call that already failed keeps the call's own result (its
        factual value: nothing changes); one of a success reads like the tool's own failure,
        and the engine records the intervention on the span, not in the error text.
        """
        before = fields[:5]
        kind = iv.kind
        if kind == "do":
            if iv.ok is not None:  # type: ignore[attr-defined]
                if iv.ok:  # type: ignore[attr-defined]
                    fields[0], fields[4], fields[5] = True, None, True
                elif fields[0]:
                    fields[0], fields[1], fields[4] = False, None, _forced_error(req)
            if iv.set_value:  # type: ignore[attr-defined]
                fields[1] = iv.value  # type: ignore[attr-defined]
            if iv.latency is not None:  # type: ignore[attr-defined]
                fields[2] = iv.latency  # type: ignore[attr-defined]
            if iv.cost is not None:  # type: ignore[attr-defined]
                fields[3] = iv.cost  # type: ignore[attr-defined]
        elif kind == "repair":
            if (
                not fields[0]
                and fields[1] is None
                and hasattr(req, "tool")
                and type(req).__name__ != "_Choose"
            ):
                fields[1] = req.tool.ok_value(inputs)
            fields[0], fields[4], fields[5] = True, None, True
        elif kind == "break" and fields[0]:
            fields[0], fields[4] = False, _forced_error(req)
            if type(req).__name__ != "_Choose":
                fields[1] = None
        elif kind == "delay":
            fields[2] = max(0.0, fields[2] + iv.seconds)  # type: ignore[attr-defined]
        return fields[:5] != before

    # -- agents ---------------------------------------------------------------------------
    def agent_function(self, agent: Agent, address: str, fn: Any) -> Any:
        for iv in self.interventions:
            if iv.kind != "replace" or iv.agent_result:
                continue
            if iv.target == agent.name or (
                is_pattern(iv.target) and fnmatch.fnmatchcase(address, iv.target)
            ):
                self.matched.add(iv)
                rep = iv.replacement  # type: ignore[attr-defined]
                return rep.fn if isinstance(rep, Agent) else rep
        return fn

    def apply_to_agent(self, result: Result, name: str, address: str) -> tuple[Result, float]:
        """An agent instance's result under the interventions on it, and the extra seconds a
        ``delay`` adds (the engine waits them, so a cancellation or deadline that arrives
        meanwhile halts the agent like one inside its own code)."""
        fields = [result.ok, result.value, result.latency, result.cost, result.error, False]
        extra = 0.0
        touched = False
        for iv in self.interventions:
            if iv.kind in _MECHANISM:
                continue
            hit = (iv.agent_result and iv.target == name) or (
                is_pattern(iv.target) and fnmatch.fnmatchcase(address, iv.target)
            )
            if not hit:
                continue
            self.matched.add(iv)
            touched = True
            if iv.kind == "delay":
                extra += max(0.0, iv.seconds)  # type: ignore[attr-defined]
            else:
                self.apply_to_result(iv, fields, None, [])
        if not touched:
            return result, 0.0
        ok, value, latency, cost, error, _ = fields
        return Result(bool(ok), value, float(latency) + extra, float(cost), error, address), extra


def _forced_error(req: Any) -> str:
    """The error text of a forced failure: the tool's own, or an agent's."""
    tool = getattr(req, "tool", None)
    return f"{tool.name} failed" if tool is not None else "agent failed"


def compile_interventions(scenario: Scenario, interventions: tuple[Intervention, ...]) -> Compiled:
    """Check ``interventions`` against ``scenario`` and prepare them for the engine."""
    names = list(scenario.tools) + list(scenario.agents)
    for iv in interventions:
        t = iv.target
        params = dict(getattr(iv, "params", ()))
        if iv.kind == "set_params" and "capacity" in params and is_pattern(t):
            raise InterventionError(
                f"{iv.describe()}: a tool's capacity is one pool shared by all its calls, "
                "so it cannot change for some calls only; target the tool name instead"
            )
        if is_pattern(t):
            continue
        if t not in scenario.tools and t not in scenario.agents:
            raise UnknownAddressError(
                f"{iv.describe()}: {t!r} is not an address, tool, model or agent of scenario "
                f"{scenario.name!r}{suggest(t, names)}"
            )
        if iv.agent_result and t not in scenario.agents:
            raise InterventionError(f"{iv.describe()}: agent_result=True needs an agent name")
        if iv.kind == "set_params" and t not in scenario.tools:
            raise InterventionError(
                f"{iv.describe()}: set_params targets a tool or model, and {t!r} is an agent"
            )
        if iv.kind == "set_params":
            try:
                scenario.tools[t].with_params(**dict(iv.params))  # type: ignore[attr-defined]
            except Exception as exc:
                raise InterventionError(f"{iv.describe()}: {exc}") from None
        if iv.kind == "fix" and t in scenario.tools:
            fault_bounds(scenario.tools[t])  # a custom mechanism must declare its region
        if iv.kind == "replace" and t in scenario.agents:
            rep = iv.replacement  # type: ignore[attr-defined]
            if isinstance(rep, Tool) or not callable(rep):
                raise InterventionError(
                    f"{iv.describe()}: {t!r} is an agent; replace it with an agent function"
                )
    return Compiled(scenario, interventions)


def check_address_targets(
    addresses: Sequence[str], ivs: tuple[Intervention, ...], matched: set[Intervention]
) -> None:
    """An address target must match a call of the factual world (``addresses``) or one the
    counterfactual world reached (``matched``: the interventions that matched a call there)."""
    for iv in ivs:
        if not is_pattern(iv.target) or iv in matched:
            continue
        if any(fnmatch.fnmatchcase(a, iv.target) for a in addresses):
            continue
        raise UnknownAddressError(
            f"{iv.describe()} matches no address{suggest(iv.target, addresses)} "
            f"({len(addresses)} addresses in this run)"
        )
