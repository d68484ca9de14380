"""Exact answers for declarative workflows, computed without the engine.

This module is an *oracle*: a second, independent implementation of the semantics of
:mod:`agentsim.workflow`, written from the workflow tree and the tools' parameters alone
(it never imports SimPy, the engine or the scenario machinery), against which the engine
and the attribution code are checked.

Success. Under the noisy-AND with a leak, a call succeeds with probability ``p_ok`` when
its input is ok and ``p_recover`` when it is not, with noise of its own (every address is
reached at most once per run, and addresses carry independent noise). So each step acts on
one bit, "is my input ok", as a 2-state channel ``(a, b) = (P(ok | input ok), P(ok | input
bad))``, and the combinators compose channels::

    call       (p_ok, p_recover)
    seq        a = a1 a2 + (1 - a1) b2,  b = b1 a2 + (1 - b1) b2      (folded left)
    par all    (prod a_i, prod b_i)           par any   1 - prod(1 - .)
    retry n    1 - (1 - .)^(n + 1)            fallback  1 - (1 - .1)(1 - .2)
    choose     sum_o w_o (a_o, b_o)           subagent  its body

:func:`success_probability` is ``a`` of the whole workflow (a workflow's first input is
empty, hence ok). :func:`expected_cost` composes expected costs the same way.

Worlds. The exogenous noise of a call at address ``A`` is ``u = U(seed, A, "ok")``, and all
that matters of it is which of three intervals holds it, its *band*::

    band 0: u < p_recover      ok whatever its input
    band 1: p_recover <= u < p_ok      ok iff its input is ok
    band 2: u >= p_ok          never ok

(a decision's noise is the option its Gumbel-max picks). :func:`enumerate_worlds` lists every
outcome pattern of the reachable calls with its probability, refining a call's band only as
far as its ok needs. :func:`counterfactual_success` follows Pearl's three steps on bands:
*abduction* keeps the band assignments consistent with the factual ok pattern (weighted by
their prior), *action* forces the intervened addresses, *prediction* replays the workflow on
the same bands; an address that only the counterfactual world reaches keeps its prior, as
in the engine, where it draws from the same noise field. :func:`shapley_repair` and
:func:`banzhaf_repair` solve the repair game exactly by subset enumeration.

Latency. :func:`latency_distribution` handles workflows whose control flow does not depend
on chance (every retry, fallback and par "any" has a certain outcome) and whose latencies are
fixed or exponential: a sequence is a shifted hypoexponential (phase-type, closed form via a
matrix exponential; Erlang when rates repeat), a par is the maximum (all) or minimum (any) of
its branches, whose CDF is the product of CDFs, and a decision mixes its branches.

The oracle ignores deadlines, timeouts, capacity and custom mechanisms (it raises
:class:`~agentsim.errors.UnanswerableError` where they would matter). In a par "any" the
engine cancels the losing branches; here every branch runs to completion, which changes no
ok that can reach the outcome, only which calls a world lists.

Examples
--------
>>> from agentsim import workflow as wf
>>> tools = {"a": dict(p_ok=0.9), "b": dict(p_ok=0.5)}
>>> round(success_probability(wf.seq(wf.call("a"), wf.retry(wf.call("b"), n=1)), tools), 6)
0.675
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, TypeVar

import numpy as np
from scipy import integrate, linalg

from agentsim.dist import Exponential, Fixed, as_distribution
from agentsim.errors import AttributionError, ScenarioError, UnanswerableError, suggest
from agentsim.workflow import (
    ENTRY,
    Call,
    Choose,
    Fallback,
    Flow,
    Par,
    Retry,
    Seq,
    Subagent,
    tool_names,
)

__all__ = [
    "LatencyDistribution",
    "World",
    "band",
    "banzhaf_repair",
    "counterfactual_success",
    "enumerate_worlds",
    "expected_cost",
    "latency_distribution",
    "noise_bands",
    "shapley_repair",
    "success_probability",
]

MAX_STOCHASTIC_CALLS = 16
"""Largest number of stochastic calls :func:`enumerate_worlds` enumerates over."""

T = TypeVar("T")
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


# -- success and cost: channels on the input bit ----------------------------------------
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


# -- latency ----------------------------------------------------------------------------
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


# -- worlds: exact enumeration of the noise ---------------------------------------------
def band(u: float, p_ok: float, p_recover: float = 0.0) -> int:
    """The band of a call's ok-noise ``u``: 0 below ``p_recover``, 1 below ``p_ok``, else 2.

    >>> band(0.05, 0.9, 0.1), band(0.5, 0.9, 0.1), band(0.95, 0.9, 0.1)
    (0, 1, 2)
    """
    return 0 if u < p_recover else 1 if u < p_ok else 2


def noise_bands(
    uniforms: Mapping[str, float], tools: Mapping[str, Mapping[str, Any]]
) -> dict[str, int]:
    """Bands of the ok-noise of calls, by address (the tool is the address's last name).

    >>> noise_bands({"main#0/a#0": 0.95}, {"a": dict(p_ok=0.9)})
    {'main#0/a#0': 2}
    """
    out = {}
    for address, u in uniforms.items():
        name = address.rsplit("/", 1)[-1].split("#", 1)[0]
        p = tools[name]
        out[address] = band(u, float(p.get("p_ok", 1.0)), float(p.get("p_recover", 0.0)))
    return out


@dataclass(frozen=True)
class World:
    """One outcome pattern of the reachable calls and decisions, with its probability."""

    probability: float
    """Probability of this pattern (the patterns of :func:`enumerate_worlds` sum to 1)."""
    success: bool
    """Whether the workflow succeeds in this world."""
    oks: dict[str, bool] = field(default_factory=dict)
    """Call address -> ok, in program order (with every par branch run to completion)."""
    choices: dict[str, str] = field(default_factory=dict)
    """Decision address -> option chosen."""


class _Split(Exception):
    def __init__(self, key: tuple[str, str], parts: list[tuple[frozenset[Any], float]]):
        super().__init__(key)
        self.key, self.parts = key, parts


class _Impossible(Exception):
    pass


class _Replay:
    """One pass of a workflow over partial knowledge of the noise (band or option sets)."""

    def __init__(
        self,
        params: Mapping[str, _Params],
        know: Mapping[tuple[str, str], frozenset[Any]],
        forced: Mapping[str, bool],
        evidence: Mapping[str, bool],
        weights_seen: dict[str, dict[str, float]],
    ) -> None:
        self.params, self.know, self.forced = params, know, forced
        self.evidence, self.weights_seen = evidence, weights_seen
        self.oks: dict[str, bool] = {}
        self.choices: dict[str, str] = {}
        self.success = False

    def _prior(self, tool: str) -> tuple[float, float, float]:
        t = self.params[tool]
        return t.p_recover, t.p_ok - t.p_recover, 1.0 - t.p_ok

    def call(self, address: str, tool: str, inputs_ok: bool) -> bool:
        if address in self.forced:
            ok = self.forced[address]
        else:
            prior = self._prior(tool)
            key = (address, "ok")
            bands = self.know.get(key) or frozenset(b for b in range(3) if prior[b] > 0)
            lo = frozenset(b for b in bands if b < (2 if inputs_ok else 1))
            if lo and lo != bands:
                total = sum(prior[b] for b in bands)
                hi = bands - lo
                parts = [(s, sum(prior[b] for b in s) / total) for s in (lo, hi)]
                raise _Split(key, parts)
            ok = bool(lo)
            if self.evidence.get(address, ok) != ok:
                raise _Impossible
        self.oks[address] = ok
        return ok

    def choose(self, address: str, weights: dict[str, float]) -> str:
        seen = self.weights_seen.setdefault(address, weights)
        if seen != weights:
            raise UnanswerableError(
                f"the decision at {address!r} has weights {weights} in one world and {seen} "
                "in the other; the oracle replays only decisions made with the same weights"
            )
        key = (address, "choice")
        options = self.know.get(key) or frozenset(o for o, w in weights.items() if w > 0)
        if len(options) > 1:
            total = sum(weights[o] for o in options)
            raise _Split(key, [(frozenset([o]), weights[o] / total) for o in sorted(options)])
        (option,) = options
        if weights.get(option, 0.0) <= 0:
            raise _Impossible
        self.choices[address] = option
        return str(option)

    def agent(self, address: str, ok: bool) -> bool:
        return self.forced.get(address, ok)


class _Ctx:
    __slots__ = ("address", "counts")

    def __init__(self, address: str) -> None:
        self.address, self.counts = address, {}

    def next(self, name: str) -> str:
        k = self.counts.get(name, 0)
        self.counts[name] = k + 1
        return f"{self.address}/{name}#{k}"

    counts: dict[str, int]


def _exec(node: Flow, ctx: _Ctx, inputs_ok: bool, r: _Replay) -> bool:
    """Whether ``node`` is ok, mirroring the compiled agent step by step."""
    if isinstance(node, Call):
        return r.call(ctx.next(node.tool), node.tool, inputs_ok)
    if isinstance(node, Seq):
        ok = inputs_ok
        for step in node.steps:
            ok = _exec(step, ctx, ok, r)
        return ok
    if isinstance(node, Par):  # every branch runs; no short circuit
        oks = [_exec(s, ctx, inputs_ok, r) for s in node.steps]
        return all(oks) if node.mode == "all" else any(oks)
    if isinstance(node, Retry):
        return any(_exec(node.step, ctx, inputs_ok, r) for _ in range(node.n + 1))
    if isinstance(node, Fallback):
        return _exec(node.primary, ctx, inputs_ok, r) or _exec(node.backup, ctx, inputs_ok, r)
    if isinstance(node, Subagent):
        address = ctx.next(node.name)
        return r.agent(address, _exec(node.body, _Ctx(address), inputs_ok, r))
    option = r.choose(ctx.next(node.model), node.weights())
    return _exec(node.branch(option), ctx, inputs_ok, r)


def _explore(
    replay: Callable[[Mapping[tuple[str, str], frozenset[Any]]], T],
    know: Mapping[tuple[str, str], frozenset[Any]],
) -> Iterator[tuple[float, T]]:
    """Depth-first over refinements of the noise knowledge: ``(prior weight, result)`` of
    every leaf whose replay is possible; the leaves partition the noise."""
    stack: list[tuple[float, Mapping[tuple[str, str], frozenset[Any]]]] = [(1.0, know)]
    while stack:
        w, k = stack.pop()
        try:
            out = replay(k)
        except _Split as split:
            for part, p in reversed(split.parts):
                stack.append((w * p, {**k, split.key: part}))
            continue
        except _Impossible:
            continue
        yield w, out


def _stochastic_bound(node: Flow, params: Mapping[str, _Params]) -> int:
    if isinstance(node, Call):
        t = params[node.tool]
        return int(t.p_ok not in (0.0, 1.0) or t.p_recover not in (0.0, 1.0))
    if isinstance(node, Seq | Par):
        return sum(_stochastic_bound(s, params) for s in node.steps)
    if isinstance(node, Retry):
        return (node.n + 1) * _stochastic_bound(node.step, params)
    if isinstance(node, Fallback):
        return _stochastic_bound(node.primary, params) + _stochastic_bound(node.backup, params)
    if isinstance(node, Subagent):
        return _stochastic_bound(node.body, params)
    return max(_stochastic_bound(o.flow, params) for o in node.options)


def _run(
    flow: Flow,
    params: Mapping[str, _Params],
    know: Mapping[tuple[str, str], frozenset[Any]],
    forced: Mapping[str, bool],
    evidence: Mapping[str, bool],
    weights_seen: dict[str, dict[str, float]],
) -> _Replay:
    r = _Replay(params, know, forced, evidence, weights_seen)
    ok = r.agent(f"{ENTRY}#0", _exec(flow, _Ctx(f"{ENTRY}#0"), True, r))
    r.success = ok
    return r


def enumerate_worlds(
    flow: Flow,
    tools: Mapping[str, Mapping[str, Any]],
    interventions: Mapping[str, bool] | None = None,
) -> Iterator[World]:
    """Every outcome pattern of the reachable calls and decisions, with its probability.

    Parameters
    ----------
    flow, tools
        The workflow and its tools' parameters.
    interventions : dict, optional
        Address -> forced ok (``True`` repairs, ``False`` breaks a call or a sub-agent's
        result); the worlds are then those of the intervened workflow.

    Examples
    --------
    >>> from agentsim import workflow as wf
    >>> worlds = list(enumerate_worlds(wf.retry(wf.call("a"), n=1), {"a": dict(p_ok=0.5)}))
    >>> [(w.oks, w.probability) for w in worlds]
    [({'main#0/a#0': True}, 0.5), ({'main#0/a#0': False, 'main#0/a#1': True}, 0.25), \
({'main#0/a#0': False, 'main#0/a#1': False}, 0.25)]
    """
    params = _params(tools, flow)
    _no_timeouts(params, flow)
    bound = _stochastic_bound(flow, params)
    if bound > MAX_STOCHASTIC_CALLS:
        raise UnanswerableError(
            f"the workflow may make {bound} stochastic calls; exact enumeration is limited to "
            f"{MAX_STOCHASTIC_CALLS} (2**{MAX_STOCHASTIC_CALLS} worlds)"
        )
    forced = dict(interventions or {})
    for w, r in _explore(lambda k: _run(flow, params, k, forced, {}, {}), {}):
        yield World(w, r.success, r.oks, r.choices)


def counterfactual_success(
    flow: Flow,
    tools: Mapping[str, Mapping[str, Any]],
    factual_oks: Mapping[str, bool],
    interventions: Mapping[str, bool],
    *,
    bands: Mapping[str, int] | None = None,
    choices: Mapping[str, str] | None = None,
) -> float:
    """Probability that the workflow would have succeeded under ``interventions``, given the
    factual ok pattern.

    Parameters
    ----------
    flow, tools
        The workflow and its tools' parameters.
    factual_oks : dict
        Address -> ok of calls observed in the factual run (the evidence). Calls left out
        are latent and averaged over.
    interventions : dict
        Address -> forced ok (``True`` is ``repair``, ``False`` is ``break_``) of calls or
        sub-agent instances (``main#0/helper#0``).
    bands : dict, optional
        Address -> band of the ok-noise where it is known exactly (see :func:`band` and
        :func:`noise_bands`); with every reachable address known the answer is 0 or 1.
    choices : dict, optional
        Decision address -> the option chosen in the factual run.

    Returns
    -------
    float
        ``P(success in the intervened world | evidence)``; addresses reached only by the
        intervened world keep their prior, as in the engine.

    Examples
    --------
    >>> from agentsim import workflow as wf
    >>> flow, tools = wf.seq(wf.call("a"), wf.call("b")), {"a": dict(p_ok=0.5), "b": dict(p_ok=0.8)}
    >>> counterfactual_success(flow, tools, {"main#0/a#0": False}, {"main#0/a#0": True})
    0.8
    """
    params = _params(tools, flow)
    _no_timeouts(params, flow)
    know: dict[tuple[str, str], frozenset[Any]] = {}
    for address, b in (bands or {}).items():
        if b not in (0, 1, 2):
            raise ScenarioError(f"band {b!r} at {address!r} must be 0, 1 or 2")
        know[(address, "ok")] = frozenset([b])
    for address, option in (choices or {}).items():
        know[(address, "choice")] = frozenset([option])
    reached: set[str] = set()

    def replay(k: Mapping[tuple[str, str], frozenset[Any]]) -> bool:
        seen: dict[str, dict[str, float]] = {}
        factual = _run(flow, params, k, {}, factual_oks, seen)
        reached.update(factual.oks)
        return _run(flow, params, k, interventions, {}, seen).success

    num = den = 0.0
    for w, ok in _explore(replay, know):
        den += w
        num += w if ok else 0.0
    if den == 0.0:
        raise UnanswerableError(
            "the factual ok pattern is impossible under this workflow and these tools"
        )
    stray = sorted(set(factual_oks) - reached)
    if stray:
        raise UnanswerableError(
            f"factual_oks names {stray[0]!r}, which the workflow never reaches"
            f"{suggest(stray[0], reached)}"
        )
    return num / den


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
