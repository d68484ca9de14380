"""Exact values of the repair and fault games, by enumerating every coalition.

The repair game on a failed run gives a coalition ``S`` of players (addresses, or named
groups of addresses) the value ``v(S) = P(success | repair every address of S, the rest
keeps its factual noise)``, computed by :func:`~agentsim.analytic.counterfactual_success`.
With at most :data:`~agentsim.analytic.MAX_STOCHASTIC_CALLS` players all ``2**n`` coalitions
can be evaluated, so Shapley and Banzhaf values are exact: the reference the sampling
estimators of :mod:`agentsim.attribution` are checked against.

The fault game gives ``S`` the value ``v(S) = success | fix every address of S``: the ok-noise
of each such call, when it is an own fault (band 2), moves below ``p_ok`` by the map of
:func:`~agentsim.analytic.fixed_band`, and everything else keeps its factual noise. It needs
the exact uniforms of every address either world may reach, so its values are 0/1 games.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping, Sequence
from typing import Any

from agentsim.analytic._enumerate import (
    MAX_STOCHASTIC_CALLS,
    counterfactual_success,
    fixed_band,
    noise_bands,
)
from agentsim.errors import AttributionError
from agentsim.workflow import Flow

__all__ = ["banzhaf_fault", "banzhaf_repair", "shapley_fault", "shapley_repair"]


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
    return _shapley_of(v, list(groups))


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
    return _banzhaf_of(v, list(groups))


def _fault_game(
    flow: Flow,
    tools: Mapping[str, Mapping[str, Any]],
    factual_oks: Mapping[str, bool],
    groups: dict[str, tuple[str, ...]],
    uniforms: Mapping[str, float],
    choices: Mapping[str, str] | None,
) -> Callable[[int], float]:
    names = list(groups)
    bands = noise_bands(uniforms, tools)
    cache: dict[int, float] = {}

    def fixed_of(address: str) -> int:
        p = tools[address.rsplit("/", 1)[-1].split("#", 1)[0]]
        return fixed_band(
            uniforms[address], float(p.get("p_ok", 1.0)), float(p.get("p_recover", 0.0))
        )

    def v(mask: int) -> float:
        if mask not in cache:
            fixed = {
                a: fixed_of(a)
                for i, n in enumerate(names)
                if mask >> i & 1
                for a in groups[n]
                if a in uniforms
            }
            cache[mask] = counterfactual_success(
                flow, tools, factual_oks, {}, bands=bands, choices=choices, fixed=fixed
            )
        return cache[mask]

    return v


def _shapley_of(v: Callable[[int], float], names: Sequence[str]) -> dict[str, float]:
    n = len(names)
    weight = [math.factorial(k) * math.factorial(n - k - 1) / math.factorial(n) for k in range(n)]
    out = {}
    for i, name in enumerate(names):
        total = 0.0
        for mask in range(1 << n):
            if not mask >> i & 1:
                total += weight[mask.bit_count()] * (v(mask | 1 << i) - v(mask))
        out[name] = total
    return out


def _banzhaf_of(v: Callable[[int], float], names: Sequence[str]) -> dict[str, float]:
    n = len(names)
    out = {}
    for i, name in enumerate(names):
        diffs = [v(m | 1 << i) - v(m) for m in range(1 << n) if not m >> i & 1]
        out[name] = sum(diffs) / len(diffs)
    return out


def shapley_fault(
    flow: Flow,
    tools: Mapping[str, Mapping[str, Any]],
    factual_oks: Mapping[str, bool],
    players: Sequence[str] | Mapping[str, Sequence[str]],
    *,
    uniforms: Mapping[str, float],
    choices: Mapping[str, str] | None = None,
) -> dict[str, float]:
    """Exact Shapley values of the fault game ``v(S) = success | fix every address of S``.

    ``uniforms`` gives the ok-noise of every call address either world may reach (an
    address of a player that no world reaches is ignored); ``players`` and ``choices`` are
    as for :func:`shapley_repair`.

    >>> from agentsim import workflow as wf
    >>> flow = wf.seq(wf.call("a"), wf.call("b"))
    >>> tools = {"a": dict(p_ok=0.5), "b": dict(p_ok=0.9)}
    >>> u = {"main#0/a#0": 0.7, "main#0/b#0": 0.3}   # a failed on its own, b on bad input
    >>> oks = {"main#0/a#0": False, "main#0/b#0": False}
    >>> shapley_fault(flow, tools, oks, list(oks), uniforms=u)
    {'main#0/a#0': 1.0, 'main#0/b#0': 0.0}
    """
    groups = _groups(players)
    return _shapley_of(
        _fault_game(flow, tools, factual_oks, groups, uniforms, choices), list(groups)
    )


def banzhaf_fault(
    flow: Flow,
    tools: Mapping[str, Mapping[str, Any]],
    factual_oks: Mapping[str, bool],
    players: Sequence[str] | Mapping[str, Sequence[str]],
    *,
    uniforms: Mapping[str, float],
    choices: Mapping[str, str] | None = None,
) -> dict[str, float]:
    """Exact Banzhaf values of the fault game (see :func:`shapley_fault`)."""
    groups = _groups(players)
    return _banzhaf_of(
        _fault_game(flow, tools, factual_oks, groups, uniforms, choices), list(groups)
    )
