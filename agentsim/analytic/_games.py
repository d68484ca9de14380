"""Exact values of the repair game, by enumerating every coalition.

The repair game on a failed run gives a coalition ``S`` of players (addresses, or named
groups of addresses) the value ``v(S) = P(success | repair every address of S, the rest
keeps its factual noise)``, computed by :func:`~agentsim.analytic.counterfactual_success`.
With at most :data:`~agentsim.analytic.MAX_STOCHASTIC_CALLS` players all ``2**n`` coalitions
can be evaluated, so Shapley and Banzhaf values are exact: the reference the sampling
estimators of :mod:`agentsim.attribution` are checked against.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping, Sequence
from typing import Any

from agentsim.analytic._enumerate import MAX_STOCHASTIC_CALLS, counterfactual_success
from agentsim.errors import AttributionError
from agentsim.workflow import Flow

__all__ = ["banzhaf_repair", "shapley_repair"]


def _groups(players: Sequence[str] | Mapping[str, Sequence[str]]) -> dict[str, tuple[str, ...]]:
    if isinstance(players, Mapping):
        out = {str(k): ((v,) if isinstance(v, str) else tuple(v)) for k, v in players.items()}
    else:
        out = {str(p): (str(p),) for p in players}
    if not 0 < len(out) <= MAX_STOCHASTIC_CALLS:
        raise AttributionError(f"need 1 to {MAX_STOCHASTIC_CALLS} players, got {len(out)}")
    return out


def _repair_game(
    flow: Flow,
    tools: Mapping[str, Mapping[str, Any]],
    factual_oks: Mapping[str, bool],
    groups: dict[str, tuple[str, ...]],
    kw: dict[str, Any],
) -> Callable[[int], float]:
    names = list(groups)
    cache: dict[int, float] = {}

    def v(mask: int) -> float:
        if mask not in cache:
            forced = {a: True for i, n in enumerate(names) if mask >> i & 1 for a in groups[n]}
            cache[mask] = counterfactual_success(flow, tools, factual_oks, forced, **kw)
        return cache[mask]

    return v


def shapley_repair(
    flow: Flow,
    tools: Mapping[str, Mapping[str, Any]],
    factual_oks: Mapping[str, bool],
    players: Sequence[str] | Mapping[str, Sequence[str]],
    *,
    bands: Mapping[str, int] | None = None,
    choices: Mapping[str, str] | None = None,
) -> dict[str, float]:
    """Exact Shapley values of the repair game ``v(S) = P(success | repair every address of
    S, the rest keeps its factual noise)``, by enumerating every coalition.

    ``players`` is a list of addresses or a dict ``{name: [address, ...]}``; ``bands`` and
    ``choices`` are as for :func:`counterfactual_success`.

    >>> from agentsim import workflow as wf
    >>> flow, tools = wf.par(wf.call("a"), wf.call("b")), {"a": dict(p_ok=0.5), "b": dict(p_ok=0.5)}
    >>> oks = {"main#0/a#0": False, "main#0/b#0": False}
    >>> shapley_repair(flow, tools, oks, list(oks))
    {'main#0/a#0': 0.5, 'main#0/b#0': 0.5}

    References
    ----------
    Shapley, L. S. (1953). A value for n-person games.
    """
    groups = _groups(players)
    v = _repair_game(flow, tools, factual_oks, groups, {"bands": bands, "choices": choices})
    n = len(groups)
    weight = [math.factorial(k) * math.factorial(n - k - 1) / math.factorial(n) for k in range(n)]
    out = {}
    for i, name in enumerate(groups):
        total = 0.0
        for mask in range(1 << n):
            if not mask >> i & 1:
                total += weight[mask.bit_count()] * (v(mask | 1 << i) - v(mask))
        out[name] = total
    return out


def banzhaf_repair(
    flow: Flow,
    tools: Mapping[str, Mapping[str, Any]],
    factual_oks: Mapping[str, bool],
    players: Sequence[str] | Mapping[str, Sequence[str]],
    *,
    bands: Mapping[str, int] | None = None,
    choices: Mapping[str, str] | None = None,
) -> dict[str, float]:
    """Exact Banzhaf values of the repair game: each player's marginal contribution averaged
    over all ``2**(n-1)`` coalitions of the others.

    >>> from agentsim import workflow as wf
    >>> flow, tools = wf.par(wf.call("a"), wf.call("b")), {"a": dict(p_ok=0.5), "b": dict(p_ok=0.5)}
    >>> oks = {"main#0/a#0": False, "main#0/b#0": False}
    >>> banzhaf_repair(flow, tools, oks, list(oks))
    {'main#0/a#0': 0.5, 'main#0/b#0': 0.5}

    References
    ----------
    Banzhaf, J. F. (1965). Weighted voting doesn't work: a mathematical analysis.
    """
    groups = _groups(players)
    v = _repair_game(flow, tools, factual_oks, groups, {"bands": bands, "choices": choices})
    n = len(groups)
    out = {}
    for i, name in enumerate(groups):
        diffs = [v(m | 1 << i) - v(m) for m in range(1 << n) if not m >> i & 1]
        out[name] = sum(diffs) / len(diffs)
    return out
