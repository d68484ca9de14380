"""Probabilities of causation over a scenario's population of runs.

Layer: attribution. It imports only from its own layer and the ones below it.

For a binary cause ``X = x`` (a call's success flag) and effect ``Y = y`` (an outcome):

* **PN**, the probability of necessity, ``P(Y_{x'} != y | X = x, Y = y)``: among runs where
  the cause and the effect both happened, how often would the effect have failed to happen
  had the cause not happened? (Was it necessary?)
* **PS**, the probability of sufficiency, ``P(Y_x = y | X = x', Y != y)``: among runs where
  neither happened, how often would forcing the cause have produced the effect?
* **PNS**, ``P(Y_x = y, Y_{x'} != y)``: how often is the cause both necessary and sufficient?
  Runs that never make the call count in its denominator (there the cause is neither).

In a simulated scenario every run is an SCM with known noise, so these are computed exactly
run by run (two counterfactuals per run) and estimated over the population with Wilson
intervals. When only data exist, :func:`tian_pearl_bounds` gives the sharp bounds of Tian &
Pearl (2000) from observational and experimental summaries.

References
----------
Tian, J. and Pearl, J. (2000). Probabilities of causation: bounds and identification.
Annals of Mathematics and Artificial Intelligence 28.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np

from agentsim.errors import AttributionError
from agentsim.interventions import do
from agentsim.stats import Estimate, wilson
from agentsim.worlds.population import PopulationWorld

if TYPE_CHECKING:
    from agentsim.scenario import Scenario

__all__ = [
    "pns",
    "probability_of_necessity",
    "probability_of_sufficiency",
    "tian_pearl_bounds",
]


def _one(mapping: Mapping[str, Any], what: str) -> tuple[str, Any]:
    if not isinstance(mapping, Mapping) or len(mapping) != 1:
        raise AttributionError(
            f"{what} must be a one-item dict, e.g. {{'main#0/search#0': False}}; got {mapping!r}"
        )
    ((k, v),) = mapping.items()
    return str(k), v


def _population(
    scenario: Scenario,
    cause: Mapping[str, Any],
    effect: Mapping[str, Any],
    n: int,
    seed: int,
    mode: str,
    executor: Any = None,
) -> Estimate:
    address, x = _one(cause, "cause")
    outcome, y = _one(effect, "effect")
    x = bool(x)
    if executor is not None:
        return _on_executor(scenario, address, x, outcome, y, n, seed, mode, executor)
    hits = total = 0
    for unit in PopulationWorld(scenario, n, seed).units():
        actual = unit.actual()
        if address not in actual:
            # The call never happens in this run, so setting it changes nothing (every other
            # noise is held fixed): no cause to condition PN or PS on, and for PNS a run in
            # which the cause is neither necessary nor sufficient.
            total += mode == "pns"
            continue
        xr, yr = bool(actual[address]), unit.outcome((), outcome) == y
        if mode == "pn":
            if xr != x or not yr:
                continue
            total += 1
            hits += unit.outcome([do(address, ok=not x)], outcome) != y
        elif mode == "ps":
            if xr == x or yr:
                continue
            total += 1
            hits += unit.outcome([do(address, ok=x)], outcome) == y
        else:
            total += 1
            y_x = unit.outcome([do(address, ok=x)], outcome) == y
            y_not = unit.outcome([do(address, ok=not x)], outcome) == y
            hits += y_x and not y_not
    if total == 0:
        raise AttributionError(
            f"no run of {n} satisfies the conditioning event for {mode.upper()} "
            f"(cause {dict(cause)}, effect {dict(effect)}); simulate more runs"
        )
    return wilson(hits, total)


def probability_of_necessity(
    scenario: Scenario,
    cause: Mapping[str, Any],
    effect: Mapping[str, Any],
    n: int = 50_000,
    seed: int = 0,
    *,
    executor: Any = None,
) -> Estimate:
    """PN by exact per-run counterfactuals over ``n`` simulated runs.

    ``executor`` (a ``dask.distributed`` client) computes the same counts from whole
    batches on a cluster, partitioned by run index (same answer).

    ``cause`` is ``{address: ok_value}``, ``effect`` is ``{outcome: value}``.

    >>> import agentsim as asim
    >>> sc = asim.Scenario("pn")
    >>> a, b = sc.tool("a", p_ok=0.7), sc.tool("b", p_ok=0.6)
    >>> @sc.agent
    ... def main(ctx):
    ...     x, y = yield ctx.parallel(ctx.call(a), ctx.call(b))
    ...     return x.ok or y.ok
    >>> pn = probability_of_necessity(sc, {"main#0/a#0": True}, {"success": 1.0}, n=3000)
    >>> pn.contains(0.4)  # had a failed, success needed b: P(b fails) = 0.4
    True
    """
    return _population(scenario, cause, effect, n, seed, "pn", executor)


def probability_of_sufficiency(
    scenario: Scenario,
    cause: Mapping[str, Any],
    effect: Mapping[str, Any],
    n: int = 50_000,
    seed: int = 0,
    *,
    executor: Any = None,
) -> Estimate:
    """PS by exact per-run counterfactuals over ``n`` simulated runs."""
    return _population(scenario, cause, effect, n, seed, "ps", executor)


def pns(
    scenario: Scenario,
    cause: Mapping[str, Any],
    effect: Mapping[str, Any],
    n: int = 50_000,
    seed: int = 0,
    *,
    executor: Any = None,
) -> Estimate:
    """PNS by exact per-run counterfactuals over ``n`` simulated runs."""
    return _population(scenario, cause, effect, n, seed, "pns", executor)


def _on_executor(
    scenario: Scenario,
    address: str,
    x: bool,
    outcome: str,
    y: Any,
    n: int,
    seed: int,
    mode: str,
    executor: Any,
) -> Estimate:
    """The same counts as the per-run loop, from whole batches on a Dask executor: a
    simulated run's counterfactual under ``do`` is the run of the same seed under that
    ``do`` (its noise is the field), so each arm is one batch partitioned by run index."""
    world = PopulationWorld(scenario, n, seed, executor=executor)
    xf, values = world.call_oks(address, outcome)
    yf = values == y
    reached = xf >= 0
    if mode == "pn":
        cond = reached & (xf == int(x)) & yf
        flip = world.outcomes([do(address, ok=not x)], outcome)
        hits = int(np.count_nonzero(cond & (flip != y)))
        total = int(np.count_nonzero(cond))
    elif mode == "ps":
        cond = reached & (xf != int(x)) & ~yf
        flip = world.outcomes([do(address, ok=x)], outcome)
        hits = int(np.count_nonzero(cond & (flip == y)))
        total = int(np.count_nonzero(cond))
    else:
        y_x = world.outcomes([do(address, ok=x)], outcome)
        y_not = world.outcomes([do(address, ok=not x)], outcome)
        both = (y_x == y) & ~(y_not == y)
        hits, total = int(np.count_nonzero(reached & both)), n
    if total == 0:
        raise AttributionError(
            f"no run of {n} satisfies the conditioning event for {mode.upper()} "
            f"(cause {{{address!r}: {x}}}, effect {{{outcome!r}: {y!r}}}); simulate more runs"
        )
    return wilson(hits, total)


@dataclass(frozen=True)
class Bounds:
    """Lower and upper bounds of a probability of causation."""

    low: float
    high: float

    def contains(self, x: float, tol: float = 1e-12) -> bool:
        """Whether ``x`` lies within the bounds."""
        return self.low - tol <= x <= self.high + tol


def tian_pearl_bounds(
    *, p_xy: float, p_xy_: float, p_x_y: float, p_x_y_: float, p_y_do_x: float, p_y_do_x_: float
) -> dict[str, Bounds]:
    """Sharp bounds on PN, PS and PNS from observational and experimental data.

    Parameters are the observational joint ``P(x, y)``, ``P(x, y')``, ``P(x', y)``,
    ``P(x', y')`` (they must sum to 1) and the experimental ``P(y | do(x))``,
    ``P(y | do(x'))``.

    >>> b = tian_pearl_bounds(p_xy=0.3, p_xy_=0.2, p_x_y=0.1, p_x_y_=0.4,
    ...                       p_y_do_x=0.6, p_y_do_x_=0.2)
    >>> round(b["pns"].low, 3), round(b["pns"].high, 3)
    (0.4, 0.6)
    """
    probs = (p_xy, p_xy_, p_x_y, p_x_y_, p_y_do_x, p_y_do_x_)
    if any(not 0.0 <= p <= 1.0 for p in probs) or abs(sum(probs[:4]) - 1.0) > 1e-9:
        raise AttributionError(
            "tian_pearl_bounds needs probabilities in [0, 1] with the four observational "
            f"cells summing to 1; got {probs}"
        )
    p_y = p_xy + p_x_y
    pns_low = max(0.0, p_y_do_x - p_y_do_x_, p_y - p_y_do_x_, p_y_do_x - p_y)
    pns_high = min(p_y_do_x, 1.0 - p_y_do_x_, p_xy + p_x_y_, p_y_do_x - p_y_do_x_ + p_xy_ + p_x_y)
    out = {"pns": Bounds(pns_low, pns_high)}
    if p_xy > 0:
        out["pn"] = Bounds(
            max(0.0, (p_y - p_y_do_x_) / p_xy), min(1.0, ((1.0 - p_y_do_x_) - p_x_y_) / p_xy)
        )
    if p_x_y_ > 0:
        out["ps"] = Bounds(
            max(0.0, (p_y_do_x - p_y) / p_x_y_), min(1.0, (p_y_do_x - p_xy) / p_x_y_)
        )
    return out
