"""Distributions as inverse-CDF maps from uniform noise.

Layer: kernel. It imports nothing of the package above the kernel.

An agentsim SCM keeps its randomness outside its mechanisms: every random quantity is a
deterministic function of a uniform number drawn from the noise field (:mod:`agentsim.noise`).
A distribution here is therefore a pair of maps, ``ppf(u) -> value`` (the quantile function,
used to *simulate*) and ``cdf(value) -> u`` (its inverse, used for *abduction*: recovering the
noise that produced an observed value). For continuous distributions the two are inverse
bijections, so a latency and its noise are in one-to-one correspondence and a counterfactual
on a real trace can hold the noise of an observed duration fixed exactly.

Both maps accept a Python float or a numpy array and return the same shape. Categorical
choices use Gumbel-max noise, one uniform per option (Oberst & Sontag 2019), so that a
counterfactual that changes one option's weight does not reshuffle the others.

Distributions are frozen pydantic models with a ``kind`` tag, so workflows that use them can
be written to and read from JSON.

Examples
--------
>>> d = LogNormal(median=0.4, sigma=0.3)
>>> round(d.ppf(0.5), 6)
0.4
>>> round(float(d.cdf(d.ppf(0.9))), 12)
0.9
>>> Exponential(mean=2.0).ppf(0.0)
0.0

References
----------
Oberst, M. and Sontag, D. (2019). Counterfactual off-policy evaluation with Gumbel-max
structural causal models. ICML.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import Annotated, Any, ClassVar, Literal, TypeAlias, overload

import numpy as np
from numpy.typing import NDArray
from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    ValidationError,
    field_validator,
    model_validator,
)
from scipy import special

from agentsim.errors import AgentSimError, ScenarioError, suggest

__all__ = [
    "Bernoulli",
    "Categorical",
    "Distribution",
    "Empirical",
    "Exponential",
    "Fixed",
    "LogNormal",
    "Normal",
    "Uniform",
    "as_distribution",
    "gumbel",
]

Array: TypeAlias = NDArray[np.float64]


def _is_scalar(u: Any) -> bool:
    return isinstance(u, float | int) and not isinstance(u, bool)


def _one_line(name: str, exc: ValidationError) -> AgentSimError:
    """The first problem pydantic found, as one ScenarioError line naming the parameter."""
    first = exc.errors()[0]
    cause = first.get("ctx", {}).get("error")
    if isinstance(cause, AgentSimError):
        return cause
    where = ".".join(str(x) for x in first["loc"]) or "parameters"
    kind = "a number" if first["type"].startswith("float") else "valid"
    return ScenarioError(f"{name} {where} must be {kind}, got {first.get('input')!r}")


def gumbel(u: float) -> float:
    """Standard Gumbel variate from a uniform: ``-log(-log(u))``.

    >>> round(gumbel(0.5), 6)
    0.366513
    """
    return -math.log(-math.log(u))


class _Dist(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    PARAMS: ClassVar[tuple[str, ...]] = ()
    """The parameters, in the order they may be given positionally."""
    HINTS: ClassVar[dict[str, str]] = {}
    """What to write instead of a parameter people often guess wrong."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        # Natural positional parameters (LogNormal(1.5, 0.4)) and one clear line for a wrong
        # keyword, instead of pydantic's keyword-only constructor and multi-line dump.
        name = type(self).__name__
        params = self.PARAMS
        if len(args) > len(params):
            raise ScenarioError(
                f"{name} takes {len(params)} positional parameter{'s' * (len(params) != 1)} "
                f"({', '.join(params)}), got {len(args)}: {args!r}"
            )
        for param, value in zip(params, args, strict=False):
            if param in kwargs:
                raise ScenarioError(f"{name} got {param} twice (positionally and by keyword)")
            kwargs[param] = value
        fields = {f: info.alias or f for f, info in type(self).model_fields.items()}
        for key in list(kwargs):
            if key in fields and fields[key] != key:  # a field's own name (median_): its alias
                kwargs[fields[key]] = kwargs.pop(key)
        for key in kwargs:
            if key not in params and key != "kind":
                hint = self.HINTS.get(key) or f"its parameters are {', '.join(params)}"
                raise ScenarioError(
                    f"{name} has no parameter {key!r}; {hint}{suggest(key, params)}"
                )
        missing = [p for p in params if p not in kwargs and self._required(p)]
        if missing:
            raise ScenarioError(f"{name} needs {', '.join(missing)}: {name}({', '.join(params)})")
        try:
            super().__init__(**kwargs)
        except ValidationError as exc:
            raise _one_line(name, exc) from None

    @classmethod
    def _required(cls, param: str) -> bool:
        for field_name, info in cls.model_fields.items():
            if param in (field_name, info.alias):
                return info.is_required()
        return False

    @model_validator(mode="after")
    def _finite(self) -> _Dist:
        for field_name, info in type(self).model_fields.items():
            value = getattr(self, field_name)
            if isinstance(value, float) and not math.isfinite(value):
                raise ScenarioError(
                    f"{type(self).__name__} {info.alias or field_name}={value!r}: parameters "
                    "must be finite numbers"
                )
        return self

    @overload
    def ppf(self, u: float) -> float: ...
    @overload
    def ppf(self, u: Array) -> Array: ...
    def ppf(self, u: Any) -> Any:
        """Quantile function: the value whose noise is ``u``."""
        if _is_scalar(u):
            return float(self._ppf(np.float64(u)))
        return np.asarray(self._ppf(np.asarray(u, dtype=np.float64)), dtype=np.float64)

    @overload
    def cdf(self, x: float) -> float: ...
    @overload
    def cdf(self, x: Array) -> Array: ...
    def cdf(self, x: Any) -> Any:
        """Cumulative distribution function: the noise ``u`` that yields ``x`` (abduction)."""
        if _is_scalar(x):
            return float(self._cdf(np.float64(x)))
        return np.asarray(self._cdf(np.asarray(x, dtype=np.float64)), dtype=np.float64)

    def median(self) -> float:
        """The 0.5 quantile, a natural baseline value (``baseline`` attribution game)."""
        return self.ppf(0.5)

    def _ppf(self, u: Any) -> Any:
        raise NotImplementedError

    def _cdf(self, x: Any) -> Any:
        raise NotImplementedError


class Fixed(_Dist):
    """A constant: ``ppf(u) = value`` for every ``u``.

    >>> Fixed(value=1.5).ppf(0.3)
    1.5
    """

    PARAMS: ClassVar[tuple[str, ...]] = ("value",)
    HINTS: ClassVar[dict[str, str]] = {}
    kind: Literal["fixed"] = "fixed"
    value: float
    """The constant."""

    def _ppf(self, u: Any) -> Any:
        return np.zeros_like(u) + self.value

    def _cdf(self, x: Any) -> Any:
        return np.where(x >= self.value, 1.0, 0.0)


class Uniform(_Dist):
    """Uniform on ``[low, high]``.

    >>> Uniform(low=1.0, high=3.0).ppf(0.25)
    1.5
    """

    PARAMS: ClassVar[tuple[str, ...]] = ("low", "high")
    HINTS: ClassVar[dict[str, str]] = {}
    kind: Literal["uniform"] = "uniform"
    low: float = 0.0
    """Lower end."""
    high: float = 1.0
    """Upper end (must exceed ``low``)."""

    @model_validator(mode="after")
    def _check(self) -> Uniform:
        if not self.high > self.low:
            raise ScenarioError(f"Uniform needs high > low, got low={self.low}, high={self.high}")
        return self

    def _ppf(self, u: Any) -> Any:
        return self.low + u * (self.high - self.low)

    def _cdf(self, x: Any) -> Any:
        return np.clip((x - self.low) / (self.high - self.low), 0.0, 1.0)


class Exponential(_Dist):
    """Exponential with the given ``mean`` (rate ``1/mean``).

    >>> round(Exponential(mean=1.0).ppf(1 - math.exp(-2.0)), 12)
    2.0
    """

    PARAMS: ClassVar[tuple[str, ...]] = ("mean",)
    HINTS: ClassVar[dict[str, str]] = {"rate": "use mean=1/rate", "scale": "use mean="}
    kind: Literal["exponential"] = "exponential"
    mean: float
    """Mean (seconds, for a latency); must be positive."""

    @field_validator("mean")
    @classmethod
    def _positive(cls, v: float) -> float:
        if not v > 0:
            raise ScenarioError(f"Exponential mean must be positive, got {v!r}")
        return v

    def _ppf(self, u: Any) -> Any:
        return -self.mean * np.log1p(-u)

    def _cdf(self, x: Any) -> Any:
        return np.where(x > 0, -np.expm1(-np.maximum(x, 0.0) / self.mean), 0.0)


class LogNormal(_Dist):
    """Log-normal given by its ``median`` and the ``sigma`` of its logarithm.

    >>> LogNormal(median=2.0, sigma=0.5).median()
    2.0
    """

    PARAMS: ClassVar[tuple[str, ...]] = ("median", "sigma")
    HINTS: ClassVar[dict[str, str]] = {
        "mean": "use median=exp(mu) (LogNormal(median, sigma))",
        "mu": "use median=exp(mu)",
        "sd": "use sigma= (the sd of the log)",
        "scale": "use median=",
    }
    kind: Literal["lognormal"] = "lognormal"
    median_: float = Field(alias="median")
    """Median (``exp(mu)``); must be positive."""
    sigma: float
    """Standard deviation of ``log(X)``; must be positive."""

    model_config = ConfigDict(frozen=True, extra="forbid", populate_by_name=True)

    @model_validator(mode="after")
    def _check(self) -> LogNormal:
        if not (self.median_ > 0 and self.sigma > 0):
            raise ScenarioError(
                f"LogNormal needs median > 0 and sigma > 0, got median={self.median_}, "
                f"sigma={self.sigma}"
            )
        return self

    def _ppf(self, u: Any) -> Any:
        return self.median_ * np.exp(self.sigma * special.ndtri(u))

    def _cdf(self, x: Any) -> Any:
        safe = np.maximum(x, 1e-300)
        return np.where(x > 0, special.ndtr(np.log(safe / self.median_) / self.sigma), 0.0)


class Normal(_Dist):
    """Normal ``(mean, sd)`` truncated at 0, for durations that cannot be negative.

    >>> d = Normal(mean=10.0, sd=1.0)
    >>> round(d.ppf(0.5), 6)
    10.0
    >>> Normal(mean=0.0, sd=1.0).ppf(1e-12) >= 0
    True
    """

    PARAMS: ClassVar[tuple[str, ...]] = ("mean", "sd")
    HINTS: ClassVar[dict[str, str]] = {
        "std": "use sd=",
        "sigma": "use sd=",
        "loc": "use mean=",
        "scale": "use sd=",
    }
    kind: Literal["normal"] = "normal"
    mean: float
    """Mean of the untruncated normal."""
    sd: float
    """Standard deviation of the untruncated normal; must be positive."""

    @field_validator("sd")
    @classmethod
    def _positive(cls, v: float) -> float:
        if not v > 0:
            raise ScenarioError(f"Normal sd must be positive, got {v!r}")
        return v

    def _f0(self) -> float:
        return float(special.ndtr(-self.mean / self.sd))

    def _ppf(self, u: Any) -> Any:
        f0 = self._f0()
        return np.maximum(self.mean + self.sd * special.ndtri(f0 + u * (1.0 - f0)), 0.0)

    def _cdf(self, x: Any) -> Any:
        f0 = self._f0()
        p = (special.ndtr((x - self.mean) / self.sd) - f0) / (1.0 - f0)
        return np.where(x >= 0, np.clip(p, 0.0, 1.0), 0.0)


class Empirical(_Dist):
    """The empirical quantile function of observed ``samples`` (linear interpolation).

    ``ppf`` interpolates between order statistics at probabilities ``i / (n - 1)``; ``cdf``
    is its inverse on the samples' range, so abduction of an observed value is exact.

    >>> d = Empirical(samples=[1.0, 2.0, 3.0])
    >>> d.ppf(0.25), d.cdf(2.5)
    (1.5, 0.75)
    """

    PARAMS: ClassVar[tuple[str, ...]] = ("samples",)
    HINTS: ClassVar[dict[str, str]] = {"values": "use samples=", "data": "use samples="}
    kind: Literal["empirical"] = "empirical"
    samples: tuple[float, ...]
    """The observed values (at least one)."""

    @field_validator("samples")
    @classmethod
    def _sorted(cls, v: tuple[float, ...]) -> tuple[float, ...]:
        if len(v) == 0:
            raise ScenarioError("Empirical needs at least one sample")
        if not all(math.isfinite(x) for x in v):
            raise ScenarioError("Empirical samples must be finite numbers")
        return tuple(sorted(v))

    def _grid(self) -> tuple[Array, Array]:
        xs = np.asarray(self.samples, dtype=np.float64)
        n = len(xs)
        ps = np.linspace(0.0, 1.0, n) if n > 1 else np.asarray([0.5])
        return ps, xs

    def _ppf(self, u: Any) -> Any:
        ps, xs = self._grid()
        return np.interp(u, ps, xs)

    def _cdf(self, x: Any) -> Any:
        ps, xs = self._grid()
        if len(xs) == 1:
            return np.where(x >= xs[0], 1.0, 0.0)
        return np.interp(x, xs, ps, left=0.0, right=1.0)


class Bernoulli(_Dist):
    """Bernoulli(p): ``ppf(u) = 1.0 if u < p else 0.0`` (a monotone threshold).

    >>> Bernoulli(p=0.3).ppf(0.29), Bernoulli(p=0.3).ppf(0.31)
    (1.0, 0.0)
    """

    PARAMS: ClassVar[tuple[str, ...]] = ("p",)
    HINTS: ClassVar[dict[str, str]] = {"p_ok": "use p="}
    kind: Literal["bernoulli"] = "bernoulli"
    p: float
    """Probability of 1."""

    @field_validator("p")
    @classmethod
    def _prob(cls, v: float) -> float:
        if not 0.0 <= v <= 1.0:
            raise ScenarioError(f"Bernoulli p must be in [0, 1], got {v!r}")
        return v

    def _ppf(self, u: Any) -> Any:
        return np.where(u < self.p, 1.0, 0.0)

    def _cdf(self, x: Any) -> Any:
        return np.where(x < 0, 0.0, np.where(x < 1, 1.0 - self.p, 1.0))

    def interval(self, value: bool) -> tuple[float, float]:
        """The noise interval consistent with an observed outcome (abduction).

        >>> Bernoulli(p=0.3).interval(True)
        (0.0, 0.3)
        """
        return (0.0, self.p) if value else (self.p, 1.0)


class Categorical(_Dist):
    """A choice among named options with the given ``weights``, by Gumbel-max.

    Each option ``o`` has its own uniform ``u_o``; the choice is
    ``argmax_o log(w_o) + G(u_o)`` with ``G`` the standard Gumbel quantile. Options with
    weight 0 are never chosen. ``ppf(u)`` is the ordinary single-uniform inverse CDF over the
    options in order, returning an option index, for callers that want one draw.

    >>> c = Categorical(weights={"refund": 0.6, "escalate": 0.4})
    >>> c.choose({"refund": 0.9, "escalate": 0.1})
    'refund'
    >>> c.options
    ('refund', 'escalate')
    """

    PARAMS: ClassVar[tuple[str, ...]] = ("weights",)
    HINTS: ClassVar[dict[str, str]] = {"probabilities": "use weights=", "options": "use weights="}
    kind: Literal["categorical"] = "categorical"
    weights: dict[str, float]
    """Option name -> non-negative weight (normalised internally)."""

    @field_validator("weights")
    @classmethod
    def _check(cls, v: dict[str, float]) -> dict[str, float]:
        if not v:
            raise ScenarioError("Categorical needs at least one option")
        bad = {k: w for k, w in v.items() if not (w >= 0 and math.isfinite(w))}
        if bad:
            raise ScenarioError(f"Categorical weights must be finite and >= 0, got {bad}")
        if sum(v.values()) <= 0:
            raise ScenarioError(f"Categorical weights must not all be zero: {v}")
        return dict(v)

    @property
    def options(self) -> tuple[str, ...]:
        """The option names, in the order given."""
        return tuple(self.weights)

    def probabilities(self) -> dict[str, float]:
        """Normalised weights.

        >>> Categorical(weights={"a": 1, "b": 3}).probabilities()
        {'a': 0.25, 'b': 0.75}
        """
        total = sum(self.weights.values())
        return {k: w / total for k, w in self.weights.items()}

    def choose(self, uniforms: Mapping[str, float]) -> str:
        """Gumbel-max choice given one uniform per option."""
        best, best_score = "", -math.inf
        for option, w in self.weights.items():
            if w <= 0:
                continue
            score = math.log(w) + gumbel(uniforms[option])
            if score > best_score:
                best, best_score = option, score
        return best

    def posterior_uniforms(self, chosen: str, uniforms: Mapping[str, float]) -> dict[str, float]:
        """Uniforms drawn from the Gumbel-max posterior given that ``chosen`` was picked.

        Top-down sampling (Maddison et al. 2014; Oberst & Sontag 2019): the maximum of the
        perturbed logits is Gumbel with location ``log(sum w)``, the chosen option attains it,
        and every other option's perturbed logit is a Gumbel truncated below that maximum.
        ``uniforms`` supplies fresh independent uniforms, one per option.

        >>> c = Categorical(weights={"a": 0.5, "b": 0.5})
        >>> post = c.posterior_uniforms("b", {"a": 0.3, "b": 0.8})
        >>> c.choose(post)
        'b'
        """
        if chosen not in self.weights or self.weights[chosen] <= 0:
            raise ScenarioError(
                f"option {chosen!r} cannot have been chosen: weights are {self.weights}"
            )
        logz = math.log(sum(self.weights.values()))
        top = logz + gumbel(uniforms[chosen])
        out: dict[str, float] = {}
        for option, w in self.weights.items():
            if option == chosen:
                g = top - math.log(w)
            elif w <= 0:
                g = gumbel(uniforms[option])
            else:
                loc = math.log(w)
                # Gumbel(loc) truncated to (-inf, top): invert its CDF on [0, F(top)).
                f_top = math.exp(-math.exp(-(top - loc)))
                v = max(uniforms[option] * f_top, 1e-300)
                perturbed = loc - math.log(-math.log(v))
                g = min(perturbed, top - 1e-12) - loc
            out[option] = math.exp(-math.exp(-g))
        return out

    def _ppf(self, u: Any) -> Any:
        cum = np.cumsum(np.asarray(list(self.probabilities().values())))
        return np.minimum(np.searchsorted(cum, u, side="right"), len(cum) - 1).astype(np.float64)

    def _cdf(self, x: Any) -> Any:
        cum = np.concatenate([[0.0], np.cumsum(list(self.probabilities().values()))])
        idx = np.clip(np.floor(x).astype(int) + 1, 0, len(cum) - 1)
        return np.where(x < 0, 0.0, cum[idx])


Distribution = Annotated[
    Fixed | Uniform | Exponential | LogNormal | Normal | Empirical | Bernoulli | Categorical,
    Field(discriminator="kind"),
]
"""Any agentsim distribution (a tagged union on ``kind``, for JSON round trips)."""

_DIST_TYPES = (Fixed, Uniform, Exponential, LogNormal, Normal, Empirical, Bernoulli, Categorical)


def as_distribution(value: Any, *, what: str = "value") -> _Dist:
    """Coerce a number to :class:`Fixed` and check that anything else is a distribution.

    >>> as_distribution(0.5)
    Fixed(kind='fixed', value=0.5)
    """
    if isinstance(value, _DIST_TYPES):
        return value
    if _is_scalar(value):
        if value < 0 or not math.isfinite(value):
            raise ScenarioError(
                f"{what} must be a finite number >= 0 (not negative, NaN or infinite), "
                f"got {value!r}"
            )
        return Fixed(value=float(value))
    raise ScenarioError(
        f"{what} must be a number or an agentsim.dist distribution, got {value!r}; "
        "for example dist.LogNormal(median=0.4, sigma=0.3)"
    )


def check_non_negative(d: _Dist, *, what: str) -> None:
    """Refuse a bounded distribution that can give a negative value (a latency, a cost).

    Unbounded ones (Normal) are clipped at zero where they are used.

    >>> check_non_negative(Uniform(-1.0, 1.0), what="t latency")
    Traceback (most recent call last):
    agentsim.errors.ScenarioError: t latency can be negative (Uniform(low=-1.0, high=1.0)); ...
    """
    if isinstance(d, Fixed | Uniform | Empirical) and d.ppf(0.0) < 0:
        shown = ", ".join(
            f"{k}={v!r}" for k, v in d.model_dump(by_alias=True).items() if k != "kind"
        )
        raise ScenarioError(
            f"{what} can be negative ({type(d).__name__}({shown})); a duration or a cost "
            "must be >= 0: shift or truncate the distribution"
        )


def quantiles(d: _Dist, ps: Sequence[float]) -> list[float]:
    """Quantiles of ``d`` at probabilities ``ps``.

    >>> quantiles(Uniform(low=0.0, high=2.0), [0.25, 0.5])
    [0.5, 1.0]
    """
    return [d.ppf(float(p)) for p in ps]
