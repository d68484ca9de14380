"""The tool parameters the oracle understands, read and checked once.

Layer: face (the top). It may import from every layer below it.

Every public function of :mod:`agentsim.analytic` starts by turning the ``tools`` mapping given
to :func:`agentsim.workflow.scenario` into :class:`_Params` records: the noisy-AND's ``p_ok``
and ``p_recover``, the latency distribution and a constant cost. Anything the oracle cannot
reason about (a custom mechanism, a timeout where it would turn slow calls into failures) is
refused here with :class:`~agentsim.errors.UnanswerableError`.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from agentsim.dist import as_distribution
from agentsim.errors import ScenarioError, UnanswerableError
from agentsim.workflow import Choose, Flow, tool_names

Pair = tuple[float, float]

_KNOWN = {"p_ok", "p_recover", "latency", "cost", "timeout", "capacity", "value", "kind"}


@dataclass(frozen=True)
class _Params:
    p_ok: float
    p_recover: float
    latency: Any
    cost: float | None  # None: not a constant
    timeout: float | None
    capacity: int | None


def _params(tools: Mapping[str, Mapping[str, Any]], flow: Flow) -> dict[str, _Params]:
    missing = sorted(tool_names(flow) - set(tools))
    if missing:
        raise ScenarioError(f"workflow uses {missing} but tools has no entry for them")
    out = {}
    for name, p in tools.items():
        if "mechanism" in p:
            raise UnanswerableError(
                f"tool {name!r} has a custom mechanism; the oracle knows only the noisy-AND"
            )
        unknown = set(p) - _KNOWN
        if unknown:
            raise ScenarioError(f"tool {name!r}: unknown parameters {sorted(unknown)}")
        p_ok, p_rec = float(p.get("p_ok", 1.0)), float(p.get("p_recover", 0.0))
        if not 0.0 <= p_rec <= p_ok <= 1.0:
            raise ScenarioError(f"tool {name!r}: need 0 <= p_recover <= p_ok <= 1")
        cost = p.get("cost", 0.0)
        out[name] = _Params(
            p_ok,
            p_rec,
            as_distribution(p.get("latency", 0.0), what=f"tool {name!r} latency"),
            float(cost) if isinstance(cost, int | float) else None,
            p.get("timeout"),
            p.get("capacity"),
        )
    return out


def _no_timeouts(params: Mapping[str, _Params], flow: Flow) -> None:
    for name in sorted(tool_names(flow)):
        if params[name].timeout is not None:
            raise UnanswerableError(
                f"tool {name!r} has a timeout, which turns slow calls into failures; the "
                "oracle assumes calls fail only through their noise"
            )


def _normalised(node: Choose) -> list[tuple[float, Flow]]:
    total = sum(o.weight for o in node.options)
    return [(o.weight / total, o.flow) for o in node.options if o.weight > 0]
