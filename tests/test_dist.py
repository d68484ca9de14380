"""Distributions: inverse-CDF maps and their inverses, against scipy and closed forms."""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st
from scipy import stats

from agentsim import dist
from agentsim.errors import ScenarioError

U = st.floats(min_value=1e-9, max_value=1 - 1e-9)


@given(U)
def test_lognormal_matches_scipy_and_inverts(u: float) -> None:
    d = dist.LogNormal(median=0.4, sigma=0.3)
    assert d.ppf(u) == pytest.approx(stats.lognorm(s=0.3, scale=0.4).ppf(u), rel=1e-9)
    assert d.cdf(d.ppf(u)) == pytest.approx(u, abs=1e-9)


@given(U)
def test_exponential_closed_form(u: float) -> None:
    d = dist.Exponential(mean=2.0)
    assert d.ppf(u) == pytest.approx(-2.0 * math.log(1 - u), rel=1e-9)
    assert d.cdf(d.ppf(u)) == pytest.approx(u, abs=1e-9)


@given(U)
def test_truncated_normal_is_nonnegative_and_inverts(u: float) -> None:
    d = dist.Normal(mean=0.5, sd=1.0)
    x = d.ppf(u)
    assert x >= 0
    ref = stats.truncnorm(a=-0.5, b=np.inf, loc=0.5, scale=1.0)
    assert x == pytest.approx(ref.ppf(u), rel=1e-6, abs=1e-9)
    assert d.cdf(x) == pytest.approx(u, abs=1e-7)


def test_vectorised_equals_scalar() -> None:
    u = np.linspace(0.01, 0.99, 50)
    for d in (
        dist.LogNormal(median=1.0, sigma=0.5),
        dist.Exponential(mean=1.0),
        dist.Uniform(low=1.0, high=4.0),
        dist.Normal(mean=2.0, sd=0.5),
        dist.Empirical(samples=[3.0, 1.0, 2.0, 7.0]),
    ):
        assert np.allclose(d.ppf(u), [d.ppf(float(x)) for x in u], rtol=1e-12)
        assert np.allclose(d.cdf(d.ppf(u)), u, atol=1e-9)


def test_empirical_quantiles_and_inverse() -> None:
    d = dist.Empirical(samples=[4.0, 1.0, 2.0, 3.0])
    assert d.ppf(0.0) == 1.0 and d.ppf(1.0) == 4.0
    assert d.ppf(0.5) == pytest.approx(2.5)
    assert d.cdf(2.5) == pytest.approx(0.5)


def test_bernoulli_is_a_monotone_threshold() -> None:
    b = dist.Bernoulli(p=0.3)
    assert b.ppf(np.array([0.1, 0.29, 0.3, 0.9])).tolist() == [1.0, 1.0, 0.0, 0.0]
    assert b.interval(False) == (0.3, 1.0)


def test_gumbel_max_frequencies_match_weights() -> None:
    from agentsim.noise import uniform

    c = dist.Categorical(weights={"a": 0.2, "b": 0.5, "c": 0.3})
    n = 20_000
    picks = [c.choose({o: uniform(s, "x#0", f"choice:{o}") for o in c.options}) for s in range(n)]
    for o, p in c.probabilities().items():
        freq = picks.count(o) / n
        assert abs(freq - p) < 4 * math.sqrt(p * (1 - p) / n)


def test_gumbel_posterior_reproduces_choice_and_matches_prior_when_marginalised() -> None:
    from agentsim.noise import uniform

    c = dist.Categorical(weights={"a": 0.2, "b": 0.5, "c": 0.3})
    for s in range(500):
        fresh = {o: uniform(s, "p#0", o) for o in c.options}
        for chosen in c.options:
            assert c.choose(c.posterior_uniforms(chosen, fresh)) == chosen


@pytest.mark.parametrize(
    "make",
    [
        lambda: dist.Exponential(mean=0),
        lambda: dist.LogNormal(median=-1, sigma=1),
        lambda: dist.Uniform(low=2, high=1),
        lambda: dist.Bernoulli(p=1.5),
        lambda: dist.Categorical(weights={"a": -1}),
        lambda: dist.Empirical(samples=[]),
        lambda: dist.as_distribution("slow"),
    ],
)
def test_bad_parameters_are_clear_errors(make) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises((ScenarioError, ValueError)):
        make()


def test_distributions_round_trip_json() -> None:
    from pydantic import TypeAdapter

    ta: TypeAdapter[dist.Distribution] = TypeAdapter(dist.Distribution)
    for d in (
        dist.LogNormal(median=0.4, sigma=0.3),
        dist.Fixed(value=2.0),
        dist.Categorical(weights={"x": 1.0}),
    ):
        assert ta.validate_json(ta.dump_json(d, by_alias=True)) == d
