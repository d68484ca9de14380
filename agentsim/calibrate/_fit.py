"""Mechanism fits of one tool or model: success probability, latency family, timeout, cost.

Layer: calibrate. It imports only from its own layer and the ones below it.

*Success.* Under the noisy-AND, a call whose inputs were all ok succeeds with probability
``p_ok``; the count of successes among such calls is binomial, so with a uniform Beta(1, 1)
prior the posterior of ``p_ok`` is Beta(1 + ok, 1 + failed): its mode (``ok / n``, the
maximum-likelihood estimate) is the estimate and its equal-tailed quantiles the interval; when
every call succeeded (or every call failed) the mode sits on the boundary, and the interval is
the one-sided one that contains it (``[q, 1]`` with ``q`` the ``1 - confidence`` quantile).
``p_recover`` (the leak) is the same posterior over the
calls made with a bad input.

*Latency.* Each family of :mod:`agentsim.dist` that can describe a duration (``LogNormal``,
``Exponential``, ``Normal``, ``Uniform``; ``Fixed`` when every duration is equal) is fitted
by maximum likelihood with ``scipy.stats`` and the one with the smallest AIC wins; the
Kolmogorov-Smirnov statistic of the winner says how well it fits, and when even the winner is
rejected (KS p-value below 0.001 with 50 or more observations) the twin uses the
``Empirical`` quantile function instead.

*Timeouts.* A tool with a timeout ``T`` records failed calls lasting exactly ``T``: a cut-off.
When the longest calls of a tool are all failures clustered within 0.1% of each other (at
least three of them), ``T`` is their smallest duration; those calls are right-censored
latencies (``scipy.stats.CensoredData``) and carry no evidence about ``p_ok``, since a timeout
fails a call whatever its success noise was.

Examples
--------
>>> fit = fit_success(ok=70, failed=30)
>>> round(fit.value, 4), round(fit.low, 3), round(fit.high, 3)
(0.7, 0.604, 0.781)
>>> fit_latency([0.5] * 10).family
'fixed'
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np
from scipy import stats

from agentsim import dist
from agentsim.stats import Estimate

__all__ = ["LatencyFit", "detect_timeout", "fit_latency", "fit_success"]

KS_REJECT = 1e-3
"""KS p-value below which the best family is rejected in favour of ``Empirical``."""
KS_MIN_N = 50
"""Fewest observations for a KS rejection (fewer cannot tell families apart reliably)."""
EMPIRICAL_POINTS = 101
"""Quantiles kept by an ``Empirical`` fit (a readable twin file, whatever the corpus size)."""


def fit_success(ok: int, failed: int, confidence: float = 0.95) -> Estimate:
    """Beta(1 + ok, 1 + failed) posterior mode and interval of a probability.

    >>> fit_success(0, 0).value
    0.5
    >>> e = fit_success(10, 0)
    >>> e.value, e.high, round(e.low, 3)
    (1.0, 1.0, 0.762)
    """
    post = stats.beta(1 + ok, 1 + failed)
    n = ok + failed
    value = ok / n if n else 0.5
    if n and failed == 0:
        low, high = float(post.ppf(1.0 - confidence)), 1.0
    elif n and ok == 0:
        low, high = 0.0, float(post.ppf(confidence))
    else:
        tail = (1.0 - confidence) / 2
        low, high = float(post.ppf(tail)), float(post.ppf(1.0 - tail))
    return Estimate(value, low, high, n=n, confidence=confidence)


@dataclass(frozen=True)
class LatencyFit:
    """The latency distribution chosen for a tool, and the evidence for the choice."""

    family: str
    """``lognormal``, ``exponential``, ``normal``, ``uniform``, ``fixed`` or ``empirical``."""
    dist: dist._Dist
    """The fitted distribution (an :mod:`agentsim.dist` object)."""
    n: int
    """Durations used (censored ones included)."""
    censored: int = 0
    """Durations cut off by the timeout (right-censored)."""
    ks: float = 0.0
    """Kolmogorov-Smirnov statistic of the chosen family against the uncensored durations."""
    ks_pvalue: float = 1.0
    """Its p-value (small: the family does not fit)."""
    aic: dict[str, float] = field(default_factory=dict)
    """AIC of every family tried (smaller is better)."""

    def median(self) -> float:
        """The fitted median latency."""
        return float(self.dist.ppf(0.5))


def detect_timeout(durations: Sequence[float], oks: Sequence[bool]) -> float | None:
    """The cut-off of a tool's durations, or ``None`` when the data show none.

    >>> detect_timeout([1.0, 2.0, 4.0, 4.0, 4.0], [True, True, False, False, False])
    4.0
    >>> detect_timeout([1.0, 2.0, 4.0], [True, True, False]) is None
    True
    """
    if len(durations) < 3:
        return None
    order = sorted(zip(durations, oks, strict=True), reverse=True)
    top = order[0][0]
    if top <= 0:
        return None
    cluster = [(d, ok) for d, ok in order if d >= top * (1 - 1e-3)]
    if len(cluster) < 3 or any(ok for _, ok in cluster):
        return None
    return float(min(d for d, _ in cluster))


def _aic(loglik: float, k: int) -> float:
    return 2 * k - 2 * loglik if math.isfinite(loglik) else math.inf


def _candidates(x: np.ndarray, cut: np.ndarray) -> list[tuple[str, dist._Dist, float, int, object]]:
    """(family, agentsim dist, log-likelihood, parameters, frozen scipy dist) per family."""
    data: np.ndarray | stats.CensoredData = (
        stats.CensoredData(uncensored=x, right=cut) if len(cut) else x
    )
    out: list[tuple[str, dist._Dist, float, int, object]] = []

    def loglik(frozen: object) -> float:
        logpdf = getattr(frozen, "logpdf")  # noqa: B009 - scipy's frozen dists are untyped
        logsf = getattr(frozen, "logsf")  # noqa: B009
        total = float(np.sum(logpdf(x)))
        if len(cut):
            total += float(np.sum(logsf(cut)))
        return total

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        positive = bool(np.all(x > 0))
        if positive:
            s, _, scale = stats.lognorm.fit(data, floc=0)
            if s > 0 and scale > 0:
                frozen = stats.lognorm(s, 0, scale)
                d = dist.LogNormal(median_=float(scale), sigma=float(s))
                out.append(("lognormal", d, loglik(frozen), 2, frozen))
        _, scale = stats.expon.fit(data, floc=0)
        if scale > 0:
            frozen = stats.expon(0, scale)
            out.append(
                ("exponential", dist.Exponential(mean=float(scale)), loglik(frozen), 1, frozen)
            )
        mu, sd = stats.norm.fit(data)
        if sd > 0:
            # agentsim's Normal is truncated at 0; the untruncated MLE is used, which is
            # the same fit whenever the mean is several sds above 0 (durations of that shape).
            frozen = stats.norm(mu, sd)
            out.append(
                ("normal", dist.Normal(mean=float(mu), sd=float(sd)), loglik(frozen), 2, frozen)
            )
        if not len(cut):
            lo, hi = float(np.min(x)), float(np.max(x))
            if hi > lo:
                frozen = stats.uniform(lo, hi - lo)
                out.append(("uniform", dist.Uniform(low=lo, high=hi), loglik(frozen), 2, frozen))
    return out


def fit_latency(durations: Sequence[float], timeout: float | None = None) -> LatencyFit:
    """Choose and fit a latency distribution for ``durations`` (see the module docstring).

    Durations at or above ``timeout`` are treated as right-censored at it.

    >>> rng = np.random.default_rng(0)
    >>> fit = fit_latency(rng.lognormal(np.log(2.0), 0.5, size=2000).tolist())
    >>> fit.family, round(fit.median(), 1)
    ('lognormal', 2.0)
    """
    arr = np.asarray(durations, dtype=np.float64)
    n = len(arr)
    if n == 0:
        return LatencyFit("fixed", dist.Fixed(value=0.0), 0)
    if timeout is not None:
        cut_mask = arr >= timeout * (1 - 1e-3)
        x, cut = arr[~cut_mask], np.full(int(cut_mask.sum()), float(timeout))
    else:
        x, cut = arr, np.empty(0)
    if len(x) == 0 or float(np.ptp(x)) <= 1e-12 * max(1.0, float(np.max(np.abs(x)))):
        value = float(x[0]) if len(x) else float(timeout or 0.0)
        return LatencyFit("fixed", dist.Fixed(value=max(value, 0.0)), n, len(cut))
    if len(x) < 2:
        return LatencyFit("fixed", dist.Fixed(value=float(np.median(x))), n, len(cut))
    cands = _candidates(x, cut)
    aic = {name: _aic(ll, k) for name, _, ll, k, _ in cands}
    name, chosen, _, _, frozen = min(cands, key=lambda c: aic[c[0]])
    cdf = getattr(frozen, "cdf")  # noqa: B009
    if len(cut):
        # KS of the uncensored part against the family conditioned on staying below the cut.
        top = float(cdf(float(cut[0])))
        result = stats.kstest(x, lambda v: np.minimum(cdf(v) / top, 1.0))
    else:
        result = stats.kstest(x, cdf)
    ks, pvalue = float(result.statistic), float(result.pvalue)
    if pvalue < KS_REJECT and len(x) >= KS_MIN_N:
        qs = np.quantile(arr, np.linspace(0.0, 1.0, min(EMPIRICAL_POINTS, n)))
        emp = dist.Empirical(samples=tuple(float(q) for q in qs))
        return LatencyFit("empirical", emp, n, len(cut), ks, pvalue, aic)
    return LatencyFit(name, chosen, n, len(cut), ks, pvalue, aic)
