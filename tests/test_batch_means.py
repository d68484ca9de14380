"""Intervals for load batches, whose sessions queue for shared capacity (batch means).

The oracle is the M/M/1 queue's closed form: with arrival rate λ and service rate μ (FCFS,
one server), a customer's time in the system is exponential with rate μ - λ, so its mean is
1/(μ - λ) and P(sojourn <= t) = 1 - exp(-(μ - λ) t) (e.g. Kleinrock, *Queueing Systems*,
vol. 1, 1975, sec. 3.2). At λ = 0.5, μ = 1 the mean is 2 and P(sojourn <= 2) = 1 - 1/e.
Before batch means, the Student-t interval of ``batch.mean("latency")`` covered 2 in 22 of
these 40 batches.
"""

from __future__ import annotations

import math

import numpy as np
import pytest

import agentsim as asim
from agentsim import dist
from agentsim.stats import batch_means, mean_ci

LAMBDA, MU = 0.5, 1.0


def mm1() -> asim.Scenario:
    sc = asim.Scenario("mm1")
    server = sc.tool("server", p_ok=1.0, latency=dist.Exponential(mean=1 / MU), capacity=1)

    @sc.agent
    def customer(ctx):  # type: ignore[no-untyped-def]
        return (yield ctx.call(server))

    sc.outcome("fast", lambda run: float(run.outcomes["latency"] <= 2.0))
    return sc


@pytest.mark.slow
def test_load_batch_intervals_cover_the_mm1_closed_form() -> None:
    sc = mm1()
    mean_truth = 1 / (MU - LAMBDA)
    fast_truth = 1 - math.exp(-(MU - LAMBDA) * 2.0)
    seeds = range(40)
    covered_mean = covered_rate = 0
    for seed in seeds:
        batch = sc.simulate(1000, seed=seed, arrivals=dist.Exponential(mean=1 / LAMBDA))
        mean = batch.mean("latency")
        covered_mean += mean.contains(mean_truth)
        covered_rate += batch.rate("fast").contains(fast_truth)
        naive = mean_ci(batch.values("latency"), proportion=False)
        assert mean.width > 1.5 * naive.width  # the correlation the t interval ignores
    # nominal 95%: 34 of 40 or more has probability 0.98 under exact coverage
    assert covered_mean >= 34, covered_mean
    assert covered_rate >= 34, covered_rate


def test_batch_means_of_independent_values_agree_with_the_t_interval() -> None:
    rng = np.random.default_rng(0)
    x = rng.normal(3.0, 1.0, size=4000)
    bm, t = batch_means(x), mean_ci(x)
    assert bm.value == pytest.approx(t.value)
    # the batch means' standard error estimates the same sigma/sqrt(n), with 19 df
    assert 0.6 < bm.width / t.width < 1.5


def test_batch_means_sees_the_correlation_of_an_ar1_series() -> None:
    # AR(1) with phi = 0.9: the variance of the mean is (1 + phi)/(1 - phi) = 19 times the
    # independent one, so the honest half-width is about sqrt(19) = 4.4 times wider.
    rng = np.random.default_rng(1)
    e = rng.normal(size=20_000)
    x = np.empty_like(e)
    x[0] = e[0]
    for i in range(1, x.size):
        x[i] = 0.9 * x[i - 1] + e[i]
    ratio = batch_means(x).width / mean_ci(x).width
    assert 2.5 < ratio < 7.0


def test_an_independent_batch_keeps_its_wilson_and_t_intervals() -> None:
    sc = mm1()
    batch = sc.simulate(200, seed=3)
    values = batch.values("latency")
    assert batch.mean("latency") == mean_ci(values, proportion=False)
    assert batch.rate("fast").n == 200


def test_small_series_fall_back_gracefully() -> None:
    assert batch_means([]).n == 0
    one = batch_means([2.0])
    assert (one.value, one.low, one.high) == (2.0, 2.0, 2.0)
    assert batch_means([1.0, 3.0, 2.0]).value == 2.0
