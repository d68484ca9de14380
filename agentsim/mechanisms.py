"""Structural equations of calls: the default noisy-AND with a leak, custom mechanisms,
and Gumbel-max choices.

Layer: model. It imports only from its own layer and the ones below it.

A mechanism maps a call's inputs (the Results passed to it) and its noise to its result
fields. It is evaluated once per call at the engine's dispatch point, and returns the list
``[ok, value, latency, cost, error, forced]`` that interventions may then edit in place
(``forced`` marks a result whose success was imposed, so a timeout no longer applies).

The default mechanism of a tool with parameters ``p_ok`` and ``p_recover``::

    ok      = u_ok < (p_ok if all inputs ok else p_recover)
    latency = latency_dist.ppf(u_latency)
    cost    = cost (a constant) or cost_dist.ppf(u_cost)

Examples
--------
>>> from agentsim.scenario import Tool
>>> tool = Tool("search", p_ok=0.9, latency=2.0)
>>> evaluate_call(tool, [], {"ok": 0.5, "latency": 0.5})[:3]
[True, None, 2.0]
>>> evaluate_call(tool, [], {"ok": 0.95, "latency": 0.5})[0]
False
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any, Protocol

from agentsim.dist import Categorical, Exponential, Fixed
from agentsim.errors import InterventionError, ScenarioError

if TYPE_CHECKING:
    from agentsim.dist import _Dist
    from agentsim.scenario import Tool

__all__ = [
    "FixedNoise",
    "NoiseSource",
    "evaluate_call",
    "evaluate_choice",
    "fast_ppf",
    "fault_bounds",
]


class NoiseSource(Protocol):
    """Uniforms by slot name: ``noise["ok"]``. A dict works, and so does the engine's
    lazily drawing :class:`~agentsim.noise.Noise`."""

    def __getitem__(self, slot: str, /) -> float: ...


def fast_ppf(d: _Dist, noise: NoiseSource, slot: str) -> float:
    """``d.ppf(noise[slot])`` with math fast paths for the common distributions.

    A fixed value consumes no noise.
    """
    t = type(d)
    if t is Fixed:
        return d.value  # type: ignore[attr-defined, no-any-return]
    u = noise[slot]
    if t is Exponential:
        return -d.mean * math.log1p(-u)  # type: ignore[attr-defined, no-any-return]
    return d.ppf(u)


def fault_bounds(tool: Tool) -> dict[str, float]:
    """The failure region of each of a call's noise slots: ``{slot: c}`` means the call's own
    noise in ``slot`` is a fault when it is ``>= c`` (its success region is ``[0, c)``).

    The default mechanism: ``ok`` below ``p_ok``, and, with a timeout, ``latency`` below
    ``F(timeout)`` (service time within the timeout). A custom mechanism declares its region
    with an attribute ``success_region = {slot: c}``; one that declares none cannot be fixed.

    >>> from agentsim.scenario import Tool
    >>> from agentsim import dist
    >>> fault_bounds(Tool("t", p_ok=0.8))
    {'ok': 0.8}
    >>> slow = Tool("t", latency=dist.Exponential(mean=1.0), timeout=1.0)
    >>> round(fault_bounds(slow)["latency"], 4)
    0.6321
    """
    if tool.mechanism is not None:
        region = getattr(tool.mechanism, "success_region", None)
        if not isinstance(region, Mapping) or not all(
            isinstance(k, str) and isinstance(c, int | float) and 0.0 <= c <= 1.0
            for k, c in region.items()
        ):
            raise InterventionError(
                f"cannot fix a call of {tool.name!r}: its custom mechanism declares no success "
                f"region (got success_region={region!r}); set mechanism.success_region = "
                "{'ok': p} (slot -> c: noise >= c is the call's own fault), or use repair"
            )
        return {k: float(c) for k, c in region.items()}
    bounds = {"ok": float(tool.p_ok)}
    if tool.timeout is not None:
        bounds["latency"] = (
            (1.0 if tool.latency_dist.value <= tool.timeout else 0.0)
            if type(tool.latency_dist) is Fixed
            else float(tool.latency_dist.cdf(tool.timeout))
        )
    return bounds


class FixedNoise:
    """The noise of a fixed call: ``noise`` with every slot's own fault removed.

    A uniform ``u >= c`` in a slot whose success region is ``[0, c)`` is mapped to
    ``c * (u - c) / (1 - c)``: monotone (never raises a uniform), order-preserving, and
    carrying the uniform law on ``[c, 1)`` to the uniform law on ``[0, c)``. A uniform in the
    success region is returned unchanged (see :func:`agentsim.interventions.fix`).

    >>> n = FixedNoise({"ok": 0.95, "latency": 0.5}, {"ok": 0.9})
    >>> round(n["ok"], 6), n["latency"]
    (0.45, 0.5)
    >>> FixedNoise({"ok": 0.3}, {"ok": 0.9})["ok"]
    0.3
    """

    __slots__ = ("_bounds", "_noise", "recorded")

    def __init__(self, noise: NoiseSource, bounds: Mapping[str, float]) -> None:
        self._noise = noise
        self._bounds = bounds
        self.recorded: dict[str, float] = {}

    def __getitem__(self, slot: str) -> float:
        u = self.recorded.get(slot)
        if u is None:
            u = self._noise[slot]
            c = self._bounds.get(slot)
            if c is not None and u >= c:
                u = c * (u - c) / (1.0 - c) if c < 1.0 else u
            self.recorded[slot] = u
        return u


def _cost(tool: Tool, noise: NoiseSource) -> float:
    if tool.cost_dist is None:
        return float(tool.cost)
    return fast_ppf(tool.cost_dist, noise, "cost")


def evaluate_call(tool: Tool, inputs: Sequence[Any], noise: NoiseSource) -> list[Any]:
    """Evaluate ``tool``'s mechanism on ``inputs`` and ``noise``."""
    if tool.mechanism is not None:
        return _custom(tool, inputs, noise)
    inputs_ok = True
    for r in inputs:
        if not r.ok:
            inputs_ok = False
            break
    p = tool.p_ok if inputs_ok else tool.p_recover
    ok = noise["ok"] < p
    latency = fast_ppf(tool.latency_dist, noise, "latency")
    cost = _cost(tool, noise)
    if ok:
        value = None if tool.value is None else tool.ok_value(list(inputs))
        return [True, value, latency, cost, None, False]
    error = f"{tool.name} failed" if inputs_ok else f"{tool.name} failed (bad input)"
    return [False, None, latency, cost, error, False]


def _custom(tool: Tool, inputs: Sequence[Any], noise: NoiseSource) -> list[Any]:
    assert tool.mechanism is not None
    try:
        out = tool.mechanism(list(inputs), noise)
    except Exception as exc:
        return [False, None, 0.0, 0.0, f"mechanism raised {type(exc).__name__}: {exc}", False]
    if isinstance(out, bool):
        out = {"ok": out}
    elif hasattr(out, "ok") and not isinstance(out, Mapping):
        out = {k: getattr(out, k) for k in ("ok", "value", "latency", "cost", "error")}
    if not isinstance(out, Mapping) or "ok" not in out:
        raise ScenarioError(
            f"mechanism of {tool.name!r} returned {out!r}; return a dict with at least 'ok' "
            "(and optionally value, latency, cost, error) or a bool"
        )
    ok = bool(out["ok"])
    latency = out.get("latency")
    if latency is None:
        latency = fast_ppf(tool.latency_dist, noise, "latency")
    if not (isinstance(latency, int | float) and 0 <= latency < math.inf):
        raise ScenarioError(
            f"mechanism of {tool.name!r} returned latency {latency!r}; need a finite number >= 0"
        )
    cost = out.get("cost")
    if cost is None:
        cost = _cost(tool, noise)
    elif isinstance(cost, int | float) and 0 <= cost < math.inf:
        cost = float(cost)
    else:
        raise ScenarioError(
            f"mechanism of {tool.name!r} returned cost {cost!r}; need a finite number >= 0"
        )
    value = out.get("value", tool.ok_value(list(inputs)) if ok else None)
    error = out.get("error") if not ok else None
    if not ok and error is None:
        error = f"{tool.name} failed"
    return [ok, value, float(latency), cost, error, False]


def choice_weights(weights: Any, raw_inputs: Sequence[Any]) -> Categorical:
    """Resolve ``weights`` (a dict, a Categorical, or a function of the inputs)."""
    w = weights(list(raw_inputs)) if callable(weights) else weights
    if isinstance(w, Categorical):
        return w
    if not isinstance(w, Mapping):
        raise ScenarioError(f"choice weights must be a dict of option -> weight, got {w!r}")
    return Categorical(weights=dict(w))


def evaluate_choice(
    tool: Tool,
    weights: Any,
    raw_inputs: Sequence[Any],
    inputs: Sequence[Any],
    noise: NoiseSource,
) -> list[Any]:
    """A Gumbel-max decision by ``tool``: ok, its value is the option chosen.

    Each option ``o`` reads the uniform in slot ``choice:o``, so options keep their noise when
    the option set or the weights change. The weights used are appended to the fields (the
    engine records them on the span, for abduction).
    """
    cat = choice_weights(weights, raw_inputs)
    option = cat.choose({o: noise[f"choice:{o}"] for o in cat.options})
    latency = fast_ppf(tool.latency_dist, noise, "latency")
    return [True, option, latency, _cost(tool, noise), None, False, dict(cat.weights)]
