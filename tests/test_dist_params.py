"""Distributions as a new user writes them: positional parameters, clear one-line errors, and
no silent NaN, infinity or negative latency (which made runs report success 1.000 with latency
nan, or die in SimPy with "Negative delay")."""

from __future__ import annotations

import math
from typing import Any

import pytest

import agentsim as asim
from agentsim import dist
from agentsim.errors import ScenarioError


@pytest.mark.parametrize(
    ("positional", "keywords"),
    [
        (dist.Fixed(1.0), dist.Fixed(value=1.0)),
        (dist.Uniform(1.0, 3.0), dist.Uniform(low=1.0, high=3.0)),
        (dist.Exponential(2.0), dist.Exponential(mean=2.0)),
        (dist.LogNormal(1.5, 0.4), dist.LogNormal(median=1.5, sigma=0.4)),
        (dist.Normal(1.0, 0.5), dist.Normal(mean=1.0, sd=0.5)),
        (dist.Empirical([3.0, 1.0]), dist.Empirical(samples=[3.0, 1.0])),
        (dist.Bernoulli(0.3), dist.Bernoulli(p=0.3)),
        (dist.Categorical({"a": 1.0}), dist.Categorical(weights={"a": 1.0})),
        (dist.LogNormal(1.5, sigma=0.4), dist.LogNormal(median=1.5, sigma=0.4)),
    ],
)
def test_natural_positional_parameters(positional: Any, keywords: Any) -> None:
    assert positional == keywords
    assert positional.ppf(0.7) == keywords.ppf(0.7)


@pytest.mark.parametrize(
    ("make", "message"),
    [
        (lambda: dist.LogNormal(mean=1), r"^LogNormal has no parameter 'mean'; use median=.*"),
        (lambda: dist.Exponential(rate=2.0), r"^Exponential has no parameter 'rate'; use mean="),
        (lambda: dist.Normal(0.0, std=1.0), r"^Normal has no parameter 'std'; use sd="),
        (lambda: dist.Fixed(1.0, 2.0), r"^Fixed takes 1 positional parameter \(value\), got 2"),
        (lambda: dist.Uniform(1.0, low=0.0), r"^Uniform got low twice"),
        (lambda: dist.LogNormal(1.5), r"^LogNormal needs sigma"),
        (lambda: dist.Exponential("soon"), r"^Exponential mean must be a number, got 'soon'"),
    ],
)
def test_a_wrong_parameter_is_one_clear_line(make: Any, message: str) -> None:
    with pytest.raises(ScenarioError, match=message) as info:
        make()
    assert "\n" not in str(info.value) and "pydantic" not in str(info.value)


@pytest.mark.parametrize(
    "make",
    [
        lambda: dist.Fixed(math.nan),
        lambda: dist.Fixed(math.inf),
        lambda: dist.Normal(mean=math.nan, sd=1.0),
        lambda: dist.Normal(mean=0.0, sd=math.inf),
        lambda: dist.Exponential(mean=math.inf),
        lambda: dist.LogNormal(median=math.nan, sigma=0.3),
        lambda: dist.Uniform(0.0, math.inf),
    ],
)
def test_non_finite_parameters_are_refused_at_definition(make: Any) -> None:
    with pytest.raises(ScenarioError, match="must be finite"):
        make()


@pytest.mark.parametrize(
    "latency",
    [dist.Fixed(-1.0), dist.Uniform(-1.0, 1.0), dist.Empirical([-0.5, 2.0]), -1.0],
)
def test_a_negative_latency_is_refused_when_the_tool_is_defined(latency: Any) -> None:
    with pytest.raises(ScenarioError, match="negative"):
        asim.Tool("t", latency=latency)


@pytest.mark.parametrize("cost", [math.inf, math.nan, -1.0, dist.Fixed(-2.0)])
def test_a_non_finite_or_negative_cost_is_refused(cost: Any) -> None:
    with pytest.raises(ScenarioError, match="cost"):
        asim.Tool("t", cost=cost)


def test_a_negative_fixed_value_is_still_a_distribution() -> None:
    # only latencies and costs must be >= 0; a distribution by itself may be negative
    assert dist.Fixed(-1.0).ppf(0.5) == -1.0
