"""Success probability and expected cost: channels on the input bit.

Layer: face (the top). It may import from every layer below it.

Under the noisy-AND with a leak every step acts on one bit, "is my input ok", as the pair
``(P(ok | input ok), P(ok | input bad))``; the combinators compose these pairs in closed form
(see :mod:`agentsim.analytic`). Expected costs compose the same way, weighting each step's
cost by the probability that its input is ok.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

from agentsim.analytic._params import Pair, _no_timeouts, _normalised, _Params, _params
from agentsim.errors import UnanswerableError
from agentsim.workflow import Call, Choose, Fallback, Flow, Par, Retry, Seq, Subagent

__all__ = ["expected_cost", "success_probability"]


def _pair(node: Flow, params: Mapping[str, _Params]) -> Pair:
    """``(P(ok | input ok), P(ok | input bad))`` of ``node``."""
    if isinstance(node, Call):
        t = params[node.tool]
        return t.p_ok, t.p_recover
    if isinstance(node, Seq):
        a, b = 1.0, 0.0  # the identity channel
        for step in node.steps:
            a2, b2 = _pair(step, params)
            a, b = a * a2 + (1 - a) * b2, b * a2 + (1 - b) * b2
        return a, b
    if isinstance(node, Par):
        pairs = [_pair(s, params) for s in node.steps]
        if node.mode == "all":
            return math.prod(p[0] for p in pairs), math.prod(p[1] for p in pairs)
        return 1 - math.prod(1 - p[0] for p in pairs), 1 - math.prod(1 - p[1] for p in pairs)
    if isinstance(node, Retry):
        a, b = _pair(node.step, params)
        return 1 - (1 - a) ** (node.n + 1), 1 - (1 - b) ** (node.n + 1)
    if isinstance(node, Fallback):
        (a1, b1), (a2, b2) = _pair(node.primary, params), _pair(node.backup, params)
        return 1 - (1 - a1) * (1 - a2), 1 - (1 - b1) * (1 - b2)
    if isinstance(node, Subagent):
        return _pair(node.body, params)
    mix = [(w, _pair(f, params)) for w, f in _normalised(node)]
    return sum(w * p[0] for w, p in mix), sum(w * p[1] for w, p in mix)


def success_probability(flow: Flow, tools: Mapping[str, Mapping[str, Any]]) -> float:
    """Exact probability that the workflow succeeds (no deadline).

    Parameters
    ----------
    flow : Flow
        The workflow (see :mod:`agentsim.workflow`).
    tools : dict
        Tool name -> parameters, as given to :func:`agentsim.workflow.scenario`.

    Examples
    --------
    >>> from agentsim import workflow as wf
    >>> success_probability(wf.retry(wf.call("a"), n=2), {"a": dict(p_ok=0.5)})
    0.875
    """
    params = _params(tools, flow)
    _no_timeouts(params, flow)
    return _pair(flow, params)[0]


def _max_cost(node: Flow, params: Mapping[str, _Params]) -> float:
    if isinstance(node, Call):
        return params[node.tool].cost or 0.0
    if isinstance(node, Seq | Par):
        return sum(_max_cost(s, params) for s in node.steps)
    if isinstance(node, Retry):
        return (node.n + 1) * _max_cost(node.step, params)
    if isinstance(node, Fallback):
        return _max_cost(node.primary, params) + _max_cost(node.backup, params)
    if isinstance(node, Subagent):
        return _max_cost(node.body, params)
    return (params[node.model].cost or 0.0) + max(_max_cost(o.flow, params) for o in node.options)


def _cost_pair(node: Flow, params: Mapping[str, _Params]) -> Pair:
    """Expected cost of ``node`` given an ok input, and given a bad one."""
    if isinstance(node, Call | Choose):
        t = params[node.tool if isinstance(node, Call) else node.model]
        if t.cost is None:
            raise UnanswerableError(f"tool {t!r} has a random cost; expected_cost needs constants")
        if isinstance(node, Call):
            return t.cost, t.cost
        mix = [(w, _cost_pair(f, params)) for w, f in _normalised(node)]
        return (
            t.cost + sum(w * c[0] for w, c in mix),
            t.cost + sum(w * c[1] for w, c in mix),
        )
    if isinstance(node, Seq):
        out = []
        for q0 in (1.0, 0.0):
            q, total = q0, 0.0
            for step in node.steps:
                (ca, cb), (a, b) = _cost_pair(step, params), _pair(step, params)
                total += q * ca + (1 - q) * cb
                q = q * a + (1 - q) * b
            out.append(total)
        return out[0], out[1]
    if isinstance(node, Par):
        if node.mode == "any" and _max_cost(node, params) > 0:
            raise UnanswerableError(
                "a par(mode='any') with costly branches: the engine charges only the calls "
                "that complete, and which losers complete before being cancelled depends on "
                "timing; expected_cost handles par 'any' only when its branches cost nothing"
            )
        pairs = [_cost_pair(s, params) for s in node.steps]
        return sum(c[0] for c in pairs), sum(c[1] for c in pairs)
    if isinstance(node, Retry):
        (ca, cb), (a, b) = _cost_pair(node.step, params), _pair(node.step, params)
        return (
            ca * sum((1 - a) ** k for k in range(node.n + 1)),
            cb * sum((1 - b) ** k for k in range(node.n + 1)),
        )
    if isinstance(node, Fallback):
        (c1a, c1b), (a, b) = _cost_pair(node.primary, params), _pair(node.primary, params)
        c2a, c2b = _cost_pair(node.backup, params)
        return c1a + (1 - a) * c2a, c1b + (1 - b) * c2b
    return _cost_pair(node.body, params)


def expected_cost(flow: Flow, tools: Mapping[str, Mapping[str, Any]]) -> float:
    """Exact expected cost of a run: every completed call and decision pays its tool's cost.

    A par ``"any"`` whose branches cost something is refused (the engine does not charge the
    cancelled losers, and which ones complete depends on timing).

    >>> from agentsim import workflow as wf
    >>> expected_cost(wf.fallback(wf.call("a"), wf.call("b")),
    ...               {"a": dict(p_ok=0.5, cost=1.0), "b": dict(cost=2.0)})
    2.0
    """
    params = _params(tools, flow)
    _no_timeouts(params, flow)
    return _cost_pair(flow, params)[0]
