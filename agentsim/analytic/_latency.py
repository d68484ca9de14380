"""Latency distributions of workflows whose control flow does not depend on chance.

Layer: face (the top). It may import from every layer below it.

With fixed or exponential latencies, a sequence is a shifted hypoexponential (phase-type,
closed form via a matrix exponential), a par is the maximum (all) or minimum (any) of its
branches, whose CDF is a product of CDFs, a sequence of such an extreme and a closed form is a
convolution integral, and a decision mixes its branches.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np
from scipy import integrate, linalg

from agentsim.analytic._params import _no_timeouts, _normalised, _Params, _params
from agentsim.analytic._probability import _pair
from agentsim.dist import Exponential, Fixed
from agentsim.errors import UnanswerableError
from agentsim.workflow import Call, Choose, Fallback, Flow, Par, Retry, Seq

__all__ = ["LatencyDistribution", "latency_distribution"]


class LatencyDistribution:
    """The distribution of a run's latency: :meth:`cdf` and :attr:`mean`.

    Built by :func:`latency_distribution`; subclasses are sums of fixed and exponential
    latencies (closed form), maxima and minima of independent parts (product of CDFs), sums
    of such an extreme and a closed form (a convolution integral) and mixtures.
    """

    lower: float = 0.0
    """A lower bound of the support."""

    def cdf(self, t: float) -> float:
        """``P(latency <= t)``."""
        raise NotImplementedError

    @property
    def mean(self) -> float:
        """Expected latency (by numeric integration of ``1 - cdf`` where not closed form)."""
        lo = self.lower
        cuts = sorted({lo, *(b for b in self.breaks() if b > lo)})
        total = lo
        for x, y in zip(cuts, [*cuts[1:], math.inf], strict=True):
            total += float(integrate.quad(lambda t: 1.0 - self.cdf(t), x, y, limit=200)[0])
        return total

    def breaks(self) -> set[float]:
        """Points where the CDF may jump (fixed shifts), for numeric integration."""
        return {self.lower}

    def shifted(self, c: float) -> LatencyDistribution:
        """The distribution of ``latency + c``."""
        raise NotImplementedError


@dataclass(frozen=True)
class _Phase(LatencyDistribution):
    """``shift`` plus a sum of independent exponentials with ``rates`` (hypoexponential)."""

    shift: float
    rates: tuple[float, ...]

    @property
    def lower(self) -> float:  # type: ignore[override]
        return self.shift

    @property
    def mean(self) -> float:
        return self.shift + sum(1.0 / r for r in self.rates)

    def _expm(self, t: float) -> Any:
        n = len(self.rates)
        gen = np.diag([-r for r in self.rates]) + np.diag(list(self.rates[:-1]), 1)
        return linalg.expm(gen * t)[0] if n else np.ones(0)

    def cdf(self, t: float) -> float:
        if t < self.shift:
            return 0.0
        if not self.rates:
            return 1.0
        return float(min(1.0, max(0.0, 1.0 - self._expm(t - self.shift).sum())))

    def pdf(self, t: float) -> float:
        """Density at ``t`` (the sum must contain an exponential)."""
        if t < self.shift:
            return 0.0
        return float(self._expm(t - self.shift)[-1] * self.rates[-1])

    def shifted(self, c: float) -> LatencyDistribution:
        return _Phase(self.shift + c, self.rates)


@dataclass(frozen=True)
class _Extreme(LatencyDistribution):
    parts: tuple[LatencyDistribution, ...]
    largest: bool

    @property
    def lower(self) -> float:  # type: ignore[override]
        lows = [p.lower for p in self.parts]
        return max(lows) if self.largest else min(lows)

    def cdf(self, t: float) -> float:
        if self.largest:
            return math.prod(p.cdf(t) for p in self.parts)
        return 1.0 - math.prod(1.0 - p.cdf(t) for p in self.parts)

    def breaks(self) -> set[float]:
        return set().union(*(p.breaks() for p in self.parts))

    def shifted(self, c: float) -> LatencyDistribution:
        return _Extreme(tuple(p.shifted(c) for p in self.parts), self.largest)


@dataclass(frozen=True)
class _Conv(LatencyDistribution):
    """``base + phase`` with ``phase`` containing at least one exponential."""

    base: LatencyDistribution
    phase: _Phase

    @property
    def lower(self) -> float:  # type: ignore[override]
        return self.base.lower + self.phase.shift

    @property
    def mean(self) -> float:
        return self.base.mean + self.phase.mean

    def cdf(self, t: float) -> float:
        lo, s0 = self.base.lower, self.phase.shift
        if t <= lo + s0:
            return 0.0
        pts = sorted(t - b for b in self.base.breaks() if s0 < t - b < t - lo)
        val = integrate.quad(
            lambda s: self.base.cdf(t - s) * self.phase.pdf(s), s0, t - lo, points=pts or None
        )[0]
        return min(1.0, max(0.0, float(val)))

    def breaks(self) -> set[float]:
        return {self.lower}

    def shifted(self, c: float) -> LatencyDistribution:
        return _Conv(self.base, _Phase(self.phase.shift + c, self.phase.rates))


@dataclass(frozen=True)
class _Mixture(LatencyDistribution):
    parts: tuple[tuple[float, LatencyDistribution], ...]

    @property
    def lower(self) -> float:  # type: ignore[override]
        return min(p.lower for _, p in self.parts)

    @property
    def mean(self) -> float:
        return sum(w * p.mean for w, p in self.parts)

    def cdf(self, t: float) -> float:
        return sum(w * p.cdf(t) for w, p in self.parts)

    def breaks(self) -> set[float]:
        return set().union(*(p.breaks() for _, p in self.parts))

    def shifted(self, c: float) -> LatencyDistribution:
        return _Mixture(tuple((w, p.shifted(c)) for w, p in self.parts))


def _add(x: LatencyDistribution, y: LatencyDistribution) -> LatencyDistribution:
    if isinstance(x, _Mixture):
        return _Mixture(tuple((w, _add(p, y)) for w, p in x.parts))
    if isinstance(y, _Mixture):
        return _Mixture(tuple((w, _add(x, p)) for w, p in y.parts))
    if isinstance(x, _Phase) and isinstance(y, _Phase):
        return _Phase(x.shift + y.shift, x.rates + y.rates)
    if isinstance(x, _Phase):
        x, y = y, x
    if not isinstance(y, _Phase):
        raise UnanswerableError(
            "latency of a sequence of two parallel blocks: the oracle convolves a parallel "
            "block only with fixed or exponential latencies"
        )
    if not y.rates:
        return x.shifted(y.shift)
    if isinstance(x, _Conv):
        return _Conv(x.base, _Phase(x.phase.shift + y.shift, x.phase.rates + y.rates))
    return _Conv(x, y)


def _extreme(parts: list[LatencyDistribution], largest: bool) -> LatencyDistribution:
    if len(parts) == 1:
        return parts[0]
    for i, p in enumerate(parts):
        if isinstance(p, _Mixture):
            return _Mixture(
                tuple((w, _extreme([*parts[:i], q, *parts[i + 1 :]], largest)) for w, q in p.parts)
            )
    return _Extreme(tuple(parts), largest)


def _certain(p: float, what: str) -> bool:
    if p not in (0.0, 1.0):
        raise UnanswerableError(
            f"a {what} succeeds with probability {p:.4g}, so which calls run is random; "
            "latency_distribution needs workflows whose failures do not change control flow "
            "(for example p_ok=1 inside retry, fallback and par 'any')"
        )
    return p == 1.0


def _latency(node: Flow, q: float, params: Mapping[str, _Params]) -> LatencyDistribution:
    """Latency of ``node`` when its input is ok with probability ``q`` (0 or 1 where it
    matters)."""

    def prob(n: Flow) -> float:
        a, b = _pair(n, params)
        return q * a + (1 - q) * b

    if isinstance(node, Call | Choose):
        name = node.tool if isinstance(node, Call) else node.model
        t = params[name]
        if t.capacity is not None:
            raise UnanswerableError(f"tool {name!r} has a capacity limit (queueing)")
        d = t.latency
        if isinstance(d, Fixed):
            own = _Phase(d.value, ())
        elif isinstance(d, Exponential):
            own = _Phase(0.0, (1.0 / d.mean,))
        else:
            raise UnanswerableError(
                f"tool {name!r} has latency {d!r}; closed forms need fixed or exponential"
            )
        if isinstance(node, Call):
            return own
        return _add(own, _Mixture(tuple((w, _latency(f, q, params)) for w, f in _normalised(node))))
    if isinstance(node, Seq):
        total: LatencyDistribution = _Phase(0.0, ())
        for step in node.steps:
            total = _add(total, _latency(step, q, params))
            a, b = _pair(step, params)
            q = q * a + (1 - q) * b
        return total
    if isinstance(node, Par):
        parts = [_latency(s, q, params) for s in node.steps]
        if node.mode == "all":
            return _extreme(parts, largest=True)
        oks = [_certain(prob(s), "par 'any' branch") for s in node.steps]
        if any(oks):
            return _extreme([p for p, ok in zip(parts, oks, strict=True) if ok], largest=False)
        return _extreme(parts, largest=True)
    if isinstance(node, Retry):
        one = _latency(node.step, q, params)
        attempts = 1 if _certain(prob(node.step), "retried step") else node.n + 1
        total = one
        for _ in range(attempts - 1):
            total = _add(total, one)
        return total
    if isinstance(node, Fallback):
        first = _latency(node.primary, q, params)
        if _certain(prob(node.primary), "fallback's primary"):
            return first
        return _add(first, _latency(node.backup, q, params))
    return _latency(node.body, q, params)


def latency_distribution(flow: Flow, tools: Mapping[str, Mapping[str, Any]]) -> LatencyDistribution:
    """The exact distribution of a run's latency, where closed forms exist.

    Needs fixed or exponential latencies, no capacity or timeout, and control flow that does
    not depend on chance; raises :class:`~agentsim.errors.UnanswerableError` otherwise.

    >>> from agentsim import workflow as wf
    >>> from agentsim.dist import Exponential
    >>> tools = {"a": dict(latency=Exponential(mean=1.0)), "b": dict(latency=Exponential(mean=0.5))}
    >>> round(latency_distribution(wf.par(wf.call("a"), wf.call("b")), tools).mean, 6)
    1.166667
    """
    params = _params(tools, flow)
    _no_timeouts(params, flow)
    return _latency(flow, 1.0, params)
