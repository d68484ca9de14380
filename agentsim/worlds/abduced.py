"""Abduction: the exogenous noise consistent with a trace, given the program that made it
(causal layer; imports kernel, model and the executor).

A trace written by agentsim records the noise each call consumed, so abduction is a look-up.
A trace that records only results (an older file, a run exported without noise, a run of the
same program observed elsewhere) constrains the noise without fixing it; this module samples
from that posterior, slot by slot, under the scenario's mechanisms:

* ``ok`` of a default (noisy-AND) call: the uniform lies in ``[0, p)`` if the call succeeded
  and in ``[p, 1)`` if it failed, where ``p`` is ``p_ok`` when all its recorded inputs were ok
  and ``p_recover`` otherwise (exact: the Bernoulli mechanism is a threshold);
* ``latency``: the observed service time ``x`` fixes the uniform at ``cdf(x)``; a call that
  timed out, or was cancelled after ``x`` seconds, only says the uniform is above ``cdf(x)``;
* ``cost`` of a tool whose cost is a distribution: the recorded cost ``c`` of a call that
  returned fixes the uniform at ``cdf(c)`` (a timed-out call is charged its full cost, so it
  counts); a call cancelled or cut off before it returned records no cost, observed nothing,
  and keeps its prior. For the discrete :class:`~agentsim.dist.Bernoulli` and
  :class:`~agentsim.dist.Categorical` the value fixes an interval of the uniform instead of a
  point, and a fixed value consumes no noise at all;
* ``choice:<option>`` of a Gumbel-max decision: the top-down posterior given the option
  chosen (Oberst & Sontag 2019), using the weights recorded on the span (a decision that was
  cancelled before it decided observed nothing, and keeps its prior);
* a custom mechanism: rejection sampling of its other slots, with latency and cost held at
  their observed values, until it reproduces the recorded success flag.

Addresses the trace does not contain get fresh noise, so their values are interventional.

The prediction step re-runs the program with the entry inputs recorded in
``trace.attributes["inputs"]`` (a trace without that key records a run without inputs). The
posterior is the one under the mechanisms that produced the trace, so a trace produced under
interventions, or by a run whose inputs were not JSON values and so were not recorded, is
refused with :class:`~agentsim.errors.UnanswerableError`: abduce from the :class:`Run` instead.

References
----------
Oberst, M. and Sontag, D. (2019). Counterfactual off-policy evaluation with Gumbel-max
structural causal models. ICML.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from agentsim import noise as _noise
from agentsim._compiled import compile_interventions
from agentsim._display import html_of
from agentsim._engine import execute
from agentsim.context import Result
from agentsim.dist import Bernoulli, Categorical, Fixed
from agentsim.errors import ScenarioError, TraceFormatError, UnanswerableError, suggest
from agentsim.executor import make_run
from agentsim.interventions import Intervention, as_interventions
from agentsim.mechanisms import evaluate_call
from agentsim.run import Run, RunContext, outcome_mean
from agentsim.stats import Estimate
from agentsim.trace import Span, Trace

if TYPE_CHECKING:
    from agentsim.dist import _Dist
    from agentsim.scenario import Scenario, Tool

__all__ = ["AbducedWorld", "Counterfactual", "abduce_counterfactual", "posterior_noise"]

_MAX_REJECTIONS = 10_000


class _Fresh:
    """Fresh uniforms for posterior sampling, reproducible: field slots ``abduce:*``."""

    def __init__(self, seed: int, draw: int) -> None:
        self.seed, self.draw = seed, draw

    def __call__(self, address: str, slot: str) -> float:
        return _noise.uniform(self.seed, address, f"abduce:{slot}", self.draw)


def _tool_for(span: Span, scenario: Scenario) -> Tool:
    tool = scenario.tools.get(span.name)
    if tool is None:
        raise ScenarioError(
            f"span {span.address!r} calls {span.name!r}, which scenario {scenario.name!r} does "
            f"not define{suggest(span.name, scenario.tools)}; is this the scenario that "
            "produced the trace?"
        )
    return tool


def _service_time(span: Span) -> float:
    return max(0.0, span.end - span.start - span.queued)


def _timed_out(span: Span) -> bool:
    return bool(span.error and span.error.startswith("timeout after"))


def _observed_u(d: _Dist, x: float, fresh: float) -> float | None:
    """A posterior sample of the uniform that made ``d`` produce ``x``; ``None`` when ``d`` is
    fixed (it consumes no noise)."""
    if isinstance(d, Fixed):
        return None
    if isinstance(d, Bernoulli):  # ppf(u) = 1 on [0, p), 0 on [p, 1)
        lo, hi = d.interval(x >= 0.5)
        return lo + fresh * (hi - lo)
    if isinstance(d, Categorical):  # ppf(u) = i on [cdf(i - 1), cdf(i))
        lo, hi = d.cdf(x - 1.0), d.cdf(x)
        return lo + fresh * (hi - lo)
    u = min(max(d.cdf(x), 0.0), 1.0)
    return min(max(u, 1e-300), 1.0 - 2**-53)


def _latency_u(tool: Tool, span: Span, fresh: float) -> float | None:
    d = tool.latency_dist
    if isinstance(d, Fixed):
        return None
    x = _service_time(span)
    if span.status == "done" and not _timed_out(span):
        return _observed_u(d, x, fresh)
    # cut off (timeout, cancellation, deadline): the latency only exceeded x
    if isinstance(d, Bernoulli):  # ppf is decreasing: only the value 1 (u < p) exceeds x
        if x >= 1.0:
            raise UnanswerableError(
                f"span {span.address!r} was cut off after {x:g}s, but {tool.name!r} has a "
                "Bernoulli latency of at most 1s; is this the scenario that produced the trace?"
            )
        lo, hi = d.interval(True)
        return lo + fresh * (hi - lo)
    lo = min(max(d.cdf(x), 0.0), 1.0)  # ppf is increasing: u > cdf(x)
    return lo + fresh * (1.0 - lo)


def _cost_u(tool: Tool, span: Span, fresh: float) -> float | None:
    if tool.cost_dist is None or span.status != "done":
        return None  # a constant cost draws no noise; a call cut off was charged nothing
    return _observed_u(tool.cost_dist, span.cost, fresh)


def _observed_slots(tool: Tool, span: Span, fresh: _Fresh) -> dict[str, float]:
    """Latency and cost uniforms as the span's times and cost determine them."""
    slots: dict[str, float] = {}
    u = _latency_u(tool, span, fresh(span.address, "latency"))
    if u is not None:
        slots["latency"] = u
    u = _cost_u(tool, span, fresh(span.address, "cost"))
    if u is not None:
        slots["cost"] = u
    return slots


def posterior_noise(
    trace: Trace, scenario: Scenario, *, seed: int = 0, draw: int = 1
) -> dict[str, dict[str, float]]:
    """One sample of the per-address noise posterior given ``trace`` (see module docstring).

    Spans that recorded their noise contribute it unchanged.
    """
    fresh = _Fresh(seed, draw)
    ok_by_address = {s.address: s.ok for s in trace.spans}
    out: dict[str, dict[str, float]] = {}
    for span in trace.spans:
        if span.kind not in ("tool", "llm", "choice"):
            continue
        if span.noise:
            out[span.address] = dict(span.noise)
            continue
        tool = _tool_for(span, scenario)
        slots = _observed_slots(tool, span, fresh)
        if span.kind == "choice" and span.status != "done":
            pass  # cancelled before it decided: the trace says nothing about its noise
        elif span.kind == "choice":
            weights = span.attributes.get("weights")
            if not isinstance(weights, dict) or span.value not in weights:
                raise UnanswerableError(
                    f"choice span {span.address!r} does not record the weights it was made "
                    "with, so the Gumbel-max posterior is unknown"
                )
            cat = Categorical(weights={str(k): float(v) for k, v in weights.items()})  # type: ignore[arg-type]
            post = cat.posterior_uniforms(
                str(span.value), {o: fresh(span.address, f"choice:{o}") for o in cat.options}
            )
            slots.update({f"choice:{o}": u for o, u in post.items()})
        elif tool.mechanism is None:
            if span.status == "done" and not _timed_out(span):
                inputs_ok = all(ok_by_address.get(a, True) for a in span.inputs)
                p = tool.p_ok if inputs_ok else tool.p_recover
                lo, hi = (0.0, p) if span.ok else (p, 1.0)
                slots["ok"] = lo + fresh(span.address, "ok") * (hi - lo)
        else:
            slots = _reject(tool, span, trace, fresh, slots)
        out[span.address] = slots
    return out


class _Recording(dict[str, float]):
    def __init__(self, draw: Any, fixed: dict[str, float]) -> None:
        super().__init__(fixed)
        self._draw = draw

    def __missing__(self, slot: str) -> float:
        u: float = self._draw(slot)
        self[slot] = u
        return u


def _reject(
    tool: Tool, span: Span, trace: Trace, fresh: _Fresh, observed: dict[str, float]
) -> dict[str, float]:
    ok_of = {s.address: s.ok for s in trace.spans}
    inputs = [Result(ok_of.get(a, True), None, 0.0, 0.0, None, a) for a in span.inputs]
    for attempt in range(_MAX_REJECTIONS):
        # the observed slots stay fixed: the mechanism may read them to decide success
        rec = _Recording(lambda slot, k=attempt: fresh(span.address, f"{slot}#{k}"), observed)
        fields = evaluate_call(tool, inputs, rec)
        if bool(fields[0]) == span.ok:
            return dict(rec)
    raise UnanswerableError(
        f"no noise found in {_MAX_REJECTIONS} draws that makes the custom mechanism of "
        f"{tool.name!r} reproduce the recorded result of {span.address!r}"
    )


def _entry_inputs(trace: Trace) -> dict[str, Any]:
    """The keyword inputs the traced run's entry agent received, as
    :func:`agentsim.executor.build_trace` records them."""
    unrecorded = trace.attributes.get("unrecorded_inputs")
    if unrecorded:
        raise UnanswerableError(
            f"trace {trace.trace_id!r} was produced with entry inputs {unrecorded} that are not "
            "JSON values, so the trace does not record them and abduction cannot re-run the "
            "program as it ran; pass the Run object, or give the run JSON inputs"
        )
    inputs = trace.attributes.get("inputs", {})
    if not isinstance(inputs, dict):
        raise TraceFormatError(
            f"trace {trace.trace_id!r}: attribute 'inputs' must map the entry agent's keyword "
            f"inputs to their values, got {inputs!r}"
        )
    return dict(inputs)


def abduce_counterfactual(
    trace: Trace,
    ivs: tuple[Intervention, ...],
    scenario: Scenario,
    *,
    samples: int = 200,
    seed: int = 0,
) -> Counterfactual:
    """Counterfactual outcomes of ``trace`` under ``ivs``, by posterior sampling of the noise.

    Each sample draws the noise posterior (abduction), applies ``ivs`` (action) and re-runs
    the scenario feeding the sampled noise to the trace's addresses and fresh noise elsewhere
    (prediction). Outcomes are estimates over the samples; an outcome on which every sample
    agrees is reported with a zero-width interval.

    Raises
    ------
    UnanswerableError
        When the trace was produced under interventions (its noise posterior is that of other
        mechanisms, and their descriptions cannot be re-executed), with entry inputs that it
        could not record, or as one session of a coupled batch.
    """
    if samples < 1:
        raise ScenarioError(f"samples={samples} must be at least 1")
    if trace.interventions:
        raise UnanswerableError(
            f"trace {trace.trace_id!r} was produced under interventions {trace.interventions}; "
            "the noise posterior is only valid under the mechanisms that produced the trace, "
            "and descriptions cannot be re-executed: abduce from the factual run's trace, or "
            "pass the Run object"
        )
    coupled = trace.attributes.get("coupled_sessions")
    if coupled:
        raise UnanswerableError(
            f"trace {trace.trace_id!r} is one of {coupled} sessions that shared an environment "
            "(arrivals=...), whose contention for tool capacity shaped its timing; re-running "
            "it alone would drop the other sessions: pass the Run object, whose counterfactual "
            "re-simulates the whole batch"
        )
    inputs = _entry_inputs(trace)
    compiled = compile_interventions(scenario, ivs) if ivs else None
    base_seed = trace.seed if trace.seed is not None else seed
    context = RunContext(seeds=(base_seed,), inputs=tuple(sorted(inputs.items())))
    exact_noise = all(s.noise for s in trace.spans if s.kind in ("tool", "llm", "choice"))
    n = 1 if exact_noise else samples
    runs = []
    for k in range(1, n + 1):
        ovr = posterior_noise(trace, scenario, seed=seed, draw=k)
        draw = 0 if exact_noise else k
        (s,) = execute(scenario, [base_seed], inputs, compiled, override={0: ovr}, draw=draw)
        runs.append(make_run(scenario, s, context, ivs, keep=True))
    outcomes: dict[str, Estimate] = {}
    for name in runs[0].outcomes:
        values = [r.outcomes[name] for r in runs]
        if all(v == values[0] for v in values):
            outcomes[name] = Estimate(values[0], values[0], values[0], len(values))
        else:
            outcomes[name] = outcome_mean(name, values)
    observed = set(trace.addresses())
    unaligned = tuple(sorted({r.address for run in runs for r in run.records} - observed))
    return Counterfactual(outcomes=outcomes, samples=runs, interventions=ivs, unaligned=unaligned)


@dataclass(frozen=True)
class Counterfactual:
    """A counterfactual answered by sampling (abduction from a trace).

    ``outcomes`` maps each outcome to an :class:`~agentsim.stats.Estimate` over the posterior
    samples; ``exact`` is true for an outcome when every sample agreed.
    """

    outcomes: dict[str, Estimate]
    samples: list[Run]
    interventions: tuple[Intervention, ...]
    unaligned: tuple[str, ...] = ()

    def _repr_html_(self) -> str | None:
        """Rich display in notebooks (drawn by :mod:`agentsim.views.snippets`)."""
        return html_of(self)

    def __repr__(self) -> str:
        outs = ", ".join(f"{k}={v}" for k, v in self.outcomes.items())
        return f"Counterfactual({outs}, samples={len(self.samples)})"


class AbducedWorld:
    """A trace together with the program that produced it: counterfactuals by abduction.

    ``outcome`` is the posterior mean of the outcome over ``samples`` draws (exact when the
    trace recorded its noise); ``counterfactual`` returns the whole :class:`Counterfactual`.
    Evaluations are cached by the interventions and counted in ``evaluations``.
    """

    def __init__(
        self, trace: Trace, scenario: Scenario, *, samples: int = 200, seed: int = 0
    ) -> None:
        self.trace = trace
        self.scenario = scenario
        self.samples = samples
        self.seed = seed
        self.evaluations = 0
        self._cache: dict[tuple[Intervention, ...], Counterfactual] = {}

    @property
    def factual(self) -> Trace:
        """The observed trace."""
        return self.trace

    def counterfactual(self, interventions: Sequence[Intervention] = ()) -> Counterfactual:
        """Posterior counterfactual outcomes under ``interventions``."""
        ivs = as_interventions(list(interventions))
        hit = self._cache.get(ivs)
        if hit is None:
            hit = abduce_counterfactual(
                self.trace, ivs, self.scenario, samples=self.samples, seed=self.seed
            )
            self._cache[ivs] = hit
            self.evaluations += 1
        return hit

    def outcome(
        self, interventions: Sequence[Intervention] = (), outcome: str = "success"
    ) -> float:
        """Posterior mean of ``outcome`` under ``interventions``."""
        try:
            return float(self.counterfactual(interventions).outcomes[outcome].value)
        except KeyError:
            raise UnanswerableError(
                f"unknown outcome {outcome!r}{suggest(outcome, self.trace.outcomes)}"
            ) from None

    def players(self, kind: str = "calls") -> list[str]:
        """``calls``: the trace's tool and model calls; ``agents``: sub-agent instances;
        ``tools``: names of the tools and models called."""
        calls = [s for s in self.trace.spans if s.kind in ("tool", "llm")]
        if kind == "calls":
            return [s.address for s in calls]
        if kind == "agents":
            return [s.address for s in self.trace.spans if s.kind == "agent" and s.parent]
        if kind == "tools":
            return list(dict.fromkeys(s.name for s in calls))
        raise UnanswerableError(f"unknown player kind {kind!r}; use calls, agents or tools")
