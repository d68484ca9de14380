"""Scoring attribution claims: is the step someone blamed the one that caused the failure?

Layer: face (the top). It may import from every layer below it.

An LLM judge, an annotator or another tool says "agent X, at step 7, caused this failure".
:func:`validate` scores such *claims* against a *reference*:

* by default the engine's answer, :func:`~agentsim.locate.locate_failure` (the exact decisive
  error of a simulated run or of a trace's structural model, or the zero-LLM message locator
  for a log without error marks);
* ``world_method="annotation"``: the labels a benchmark log carries (Who&When's
  ``mistake_agent`` and ``mistake_step``);
* ``against=``: another set of claims, to measure agreement between two judges.

Over a corpus it reports agent accuracy, exact step accuracy, *within-k* (the claimed step
is at most ``k`` steps from the reference), *top-k* (for ranked claims: the reference is
among the first ``k``), and Cohen's kappa between the claimed and reference agents. For a
single trace it also asks the model: is the claimed step a *but-for* cause of the failure
(repairing it alone makes the run succeed), an *actual cause* (modified Halpern-Pearl), and
where does it rank under the Shapley values of the repair game over the failed steps?

Claims
------
A claim is ``{"agent": str, "step": int}`` (either key may be absent; Who&When's
``mistake_agent`` and ``mistake_step`` are accepted too), or a ranked list of steps (integer
indices among the trace's steps, or span addresses), best first. ``step`` may be an address,
and a missing agent is read from the claimed step. A claims *file* is a JSON object mapping
a trace's file name (``"7.json"``), its stem (``"7"``) or its ``trace_id`` to a claim::

    {"7.json": {"agent": "WebSurfer", "step": 12}, "8": [3, 5, 1]}

Examples
--------
>>> from agentsim.trace import Span, Trace
>>> t = Trace(trace_id="t1", outcomes={"success": 0.0}, spans=[
...     Span(address="a#0", kind="agent", name="a", end=2, ok=False, error="boom"),
...     Span(address="a#0/s#0", kind="tool", name="s", parent="a#0", agent="a", end=1,
...          ok=False, error="boom"),
...     Span(address="a#0/t#0", kind="tool", name="t", parent="a#0", agent="a", start=1, end=2),
... ])
>>> v = validate(t, {"agent": "a", "step": 0})
>>> v.agent_accuracy, v.step_accuracy, v.traces[0].but_for, v.traces[0].shapley_rank
(1.0, 1.0, True, 1)
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path
from typing import Any

from agentsim.attribution.actual_cause import is_actual_cause
from agentsim.attribution.api import shapley
from agentsim.attribution.baselines import steps_of
from agentsim.calibrate import twin_locus
from agentsim.errors import AttributionError, TraceFormatError
from agentsim.ingest import load_traces
from agentsim.interventions import repair
from agentsim.locate import locate_failure
from agentsim.trace import Trace
from agentsim.worlds import FiniteWorld, World, as_world

__all__ = ["ClaimScore", "Validation", "cohen_kappa", "load_claims", "validate"]

_METHODS = ("decisive", "annotation")


@dataclass(frozen=True)
class ClaimScore:
    """One trace's claim against its reference."""

    key: str
    """The trace's key: file name, or ``trace_id``."""
    agent: str | None
    """Claimed agent."""
    step: int | None
    """Claimed step (the top-ranked one for a ranked claim)."""
    ranked: tuple[int, ...]
    """Every claimed step, best first."""
    reference_agent: str | None
    """Agent of the reference answer."""
    reference_step: int | None
    """Step of the reference answer."""
    but_for: bool | None = None
    """Whether repairing the claimed step alone makes the run succeed (single trace)."""
    actual_cause: bool | None = None
    """Whether the claimed step's value is a modified Halpern-Pearl actual cause."""
    shapley_rank: int | None = None
    """Rank (1 = largest) of the claimed step's Shapley value in the repair game."""
    shapley_value: float | None = None
    """The claimed step's Shapley value in the repair game over failed steps."""
    notes: tuple[str, ...] = ()
    """What could not be computed, and why."""

    @property
    def agent_match(self) -> bool | None:
        """Claimed agent equals the reference agent (None when either is missing)."""
        if self.agent is None or self.reference_agent is None:
            return None
        return self.agent == self.reference_agent

    @property
    def step_match(self) -> bool | None:
        """Claimed step equals the reference step, exactly."""
        if self.step is None or self.reference_step is None:
            return None
        return self.step == self.reference_step


@dataclass(frozen=True)
class Validation:
    """Agreement of claims with a reference over one trace or a corpus."""

    n: int
    """Traces scored."""
    agent_accuracy: float | None
    """Fraction of traces whose claimed agent is the reference agent."""
    step_accuracy: float | None
    """Fraction whose claimed step is exactly the reference step."""
    within_k: float | None
    """Fraction whose claimed step is at most ``k`` steps from the reference step."""
    top_k: float | None
    """Fraction whose reference step is among the first ``k`` claimed steps."""
    kappa: float | None
    """Cohen's kappa between claimed and reference agents (None when undefined)."""
    k: int
    """The ``k`` of within-k and top-k."""
    reference: str
    """What the claims were scored against: ``decisive``, ``annotation`` or ``claims``."""
    traces: tuple[ClaimScore, ...] = field(default=())
    """Per-trace scores."""
    unmatched: tuple[str, ...] = field(default=())
    """Keys of claims that name no trace (neither a file name nor a ``trace_id``)."""

    def to_dict(self) -> dict[str, Any]:
        """A JSON-safe dictionary."""
        out = asdict(self)
        out["unmatched"] = list(self.unmatched)
        out["traces"] = [
            {**asdict(t), "agent_match": t.agent_match, "step_match": t.step_match}
            for t in self.traces
        ]
        for t in out["traces"]:
            t["ranked"] = list(t["ranked"])
            t["notes"] = list(t["notes"])
        return out

    def __str__(self) -> str:
        def pct(x: float | None) -> str:
            return "n/a" if x is None else f"{100 * x:.1f}%"

        kappa = "n/a" if self.kappa is None else f"{self.kappa:.3f}"
        lines = [
            f"{self.n} trace(s) scored against {self.reference}: agent {pct(self.agent_accuracy)}"
            f", step {pct(self.step_accuracy)}, within-{self.k} {pct(self.within_k)}, "
            f"top-{self.k} {pct(self.top_k)}, kappa {kappa}"
        ]
        if len(self.traces) == 1:
            t = self.traces[0]
            lines.append(
                f"  claim {t.agent} at step {t.step}; reference {t.reference_agent} at step "
                f"{t.reference_step}; but-for cause: {_yn(t.but_for)}; actual cause: "
                f"{_yn(t.actual_cause)}; Shapley rank: {t.shapley_rank or 'n/a'}"
            )
            lines.extend(f"  note: {note}" for note in t.notes)
        if self.unmatched:
            shown = ", ".join(repr(k) for k in self.unmatched[:5])
            more = f" and {len(self.unmatched) - 5} more" if len(self.unmatched) > 5 else ""
            lines.append(
                f"  {len(self.unmatched)} claim(s) name no trace and were not scored: {shown}{more}"
            )
        return "\n".join(lines)


def _yn(flag: bool | None) -> str:
    return "n/a" if flag is None else ("yes" if flag else "no")


def cohen_kappa(a: Sequence[Any], b: Sequence[Any]) -> float | None:
    """Cohen's kappa of two raters' labels over the same items (None when undefined).

    >>> cohen_kappa(["x", "x", "y", "y"], ["x", "y", "y", "y"])
    0.5
    """
    if len(a) != len(b) or not a:
        return None
    n = len(a)
    observed = sum(x == y for x, y in zip(a, b, strict=True)) / n
    labels = set(a) | set(b)
    expected = sum((list(a).count(c) / n) * (list(b).count(c) / n) for c in labels)
    if expected >= 1.0:
        return None
    return float((observed - expected) / (1.0 - expected))


def load_claims(path: str | os.PathLike[str]) -> dict[str, Any]:
    """Read a claims file (see the module docstring for the format)."""
    target = Path(path)
    try:
        data = json.loads(target.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise TraceFormatError(f"cannot read claims file {str(target)!r}: {exc}") from exc
    if not isinstance(data, dict):
        raise TraceFormatError(
            f"claims file {str(target)!r} must hold a JSON object mapping trace names to "
            f"claims, not a {type(data).__name__}"
        )
    return data


def _keyed(traces_or_trace: Any) -> list[tuple[list[str], Any]]:
    """(keys, trace or run) pairs from a trace, a run, a path, a folder or an iterable."""
    if isinstance(traces_or_trace, str | os.PathLike):
        root = Path(traces_or_trace)
        files = (
            sorted(p for p in root.rglob("*") if p.suffix in (".json", ".jsonl", ".ndjson"))
            if root.is_dir()
            else [root]
        )
        out: list[tuple[list[str], Any]] = []
        for f in files:
            loaded = load_traces(f)
            for i, t in enumerate(loaded):
                names = [f.name, f.stem] if len(loaded) == 1 else [f"{f.name}#{i}"]
                out.append(([*names, t.trace_id] if t.trace_id else names, t))
        return out
    if isinstance(traces_or_trace, Trace) or hasattr(traces_or_trace, "outcome"):
        tid = getattr(traces_or_trace, "trace_id", "") or ""
        return [([tid] if tid else [], traces_or_trace)]
    if isinstance(traces_or_trace, Mapping):
        return [([str(k)], v) for k, v in traces_or_trace.items()]
    if isinstance(traces_or_trace, Iterable):
        return [pair for item in traces_or_trace for pair in _keyed(item)]
    raise AttributionError(
        f"cannot validate claims about a {type(traces_or_trace).__name__}; pass a trace, a "
        "run, a path, a folder or a list of them"
    )


def _claim_for(claims: Any, keys: list[str], single: bool) -> Any:
    if single and not (isinstance(claims, Mapping) and any(k in claims for k in keys if k)):
        return claims
    if not isinstance(claims, Mapping):
        raise AttributionError(
            "claims for several traces must map each trace's file name or trace_id to a claim"
        )
    for k in keys:
        if k and k in claims:
            return claims[k]
    return None


def _parse(
    claim: Any, steps: list[tuple[str, str | None, bool]]
) -> tuple[str | None, tuple[int, ...]]:
    """(agent, ranked steps) of a claim."""
    index = {a: i for i, (a, _, _) in enumerate(steps)}

    def step_of(x: Any) -> int:
        if isinstance(x, bool):
            raise AttributionError(f"a claimed step must be an index or an address, not {x!r}")
        if isinstance(x, int):
            return x
        if isinstance(x, str) and x.strip().lstrip("-").isdigit():
            return int(x)
        if isinstance(x, str) and x in index:
            return index[x]
        raise AttributionError(
            f"claimed step {x!r} is neither a step index nor one of the trace's "
            f"{len(steps)} step addresses"
        )

    ranked: tuple[int, ...]
    if isinstance(claim, Mapping):
        agent = claim.get("agent", claim.get("mistake_agent"))
        raw = claim.get("step", claim.get("mistake_step"))
        ranked = () if raw is None else (step_of(raw),)
    elif isinstance(claim, Sequence) and not isinstance(claim, str):
        agent, ranked = None, tuple(step_of(x) for x in claim)
    else:
        raise AttributionError(
            f"a claim is {{'agent': ..., 'step': ...}} or a ranked list of steps, not {claim!r}"
        )
    if agent is None and ranked and 0 <= ranked[0] < len(steps):
        agent = steps[ranked[0]][1]
    return (None if agent is None else str(agent)), ranked


def _reference(obj: Any, world_method: str) -> tuple[str | None, int | None]:
    if world_method == "annotation":
        attrs = getattr(obj, "attributes", {}) or {}
        if "mistake_agent" not in attrs and "mistake_step" not in attrs:
            raise AttributionError(
                "world_method='annotation' needs traces labelled with mistake_agent and "
                "mistake_step (Who&When logs); use world_method='decisive' otherwise"
            )
        step = attrs.get("mistake_step")
        agent = attrs.get("mistake_agent")
        return (None if agent is None else str(agent)), (step if isinstance(step, int) else None)
    loc = locate_failure(obj)
    return loc.agent, loc.step


def _causal(world: World, address: str, notes: list[str]) -> tuple[Any, Any, Any, Any]:
    """But-for, actual cause, Shapley rank and value of the claimed step."""
    if world.outcome([], "success") != 0.0:
        notes.append("the run succeeded: there is no failure to cause")
        return None, None, None, None
    but_for = world.outcome([repair(address)], "success") == 1.0
    actual: bool | None = None
    if isinstance(world, FiniteWorld):
        value = dict(world.actual())[address]
        actual = is_actual_cause(world, {address: value}, {"success": 0.0})
    else:
        notes.append(f"{type(world).__name__} is not a finite world; actual cause skipped")
    failed = [a for a, _, ok in _steps(world) if not ok]
    if not failed:
        notes.append("no step failed: every repair-game Shapley value is zero, so no rank")
        return but_for, actual, None, None
    values = shapley(world, players={a: [a] for a in failed}, game="repair").values
    if address not in values:
        notes.append("the claimed step did not fail, so its repair-game Shapley value is 0")
        return but_for, actual, None, 0.0
    mine = values[address]
    return but_for, actual, 1 + sum(v > mine for v in values.values()), mine


def _steps(world: World) -> list[tuple[str, str | None, bool]]:
    return steps_of(world)


def validate(
    traces_or_trace: Any,
    claims: Any = None,
    *,
    claim: Any = None,
    against: Any = None,
    k: int = 3,
    world_method: str = "decisive",
    twin: Any = None,
) -> Validation:
    """Score attribution claims against the engine's answer, annotations or other claims.

    Parameters
    ----------
    traces_or_trace : Trace, Run, path, folder, mapping or iterable of them
        What the claims are about. A mapping names each trace by its key.
    claims : claim, mapping or path
        One claim for a single trace, or a mapping (or JSON file) from trace keys to claims
        (module docstring). ``claim=`` is an alias for a single trace.
    against : claim, mapping or path, optional
        Score against these claims instead of a reference answer (agreement of two judges).
    k : int
        Tolerance of within-k and depth of top-k.
    world_method : {"decisive", "annotation"}
        The reference when ``against`` is None: :func:`~agentsim.locate.locate_failure`, or
        the log's own labels.
    twin : Calibration, optional
        Score real traces against a calibrated twin instead: the reference is the decisive
        error most twin runs matched to the trace blame
        (:func:`agentsim.calibrate.twin_locus`).

    Returns
    -------
    Validation
        Accuracies, within-k, top-k, kappa, and per-trace scores; for a single trace, the
        causal checks of the claimed step too.

    Examples
    --------
    >>> from agentsim.trace import Span, Trace
    >>> logs = {f"{i}.json": Trace(source="whowhen", attributes={"mistake_agent": "A",
    ...         "mistake_step": i}, spans=[Span(address=f"s#{j}", kind="step", name="s",
    ...         agent="AB"[j % 2]) for j in range(4)]) for i in range(2)}
    >>> v = validate(logs, {"0.json": {"agent": "A", "step": 0}, "1.json": [3, 1]},
    ...              world_method="annotation", k=2)
    >>> v.agent_accuracy, v.step_accuracy, v.within_k, v.top_k
    (0.5, 0.5, 1.0, 1.0)
    """
    if world_method not in _METHODS:
        raise AttributionError(
            f"world_method must be one of {list(_METHODS)}, not {world_method!r}"
        )
    if k < 0:
        raise AttributionError(f"k must be >= 0, not {k}")
    if claims is None:
        claims = claim
    if claims is None:
        raise AttributionError("validate needs claims: a claim, a mapping of claims or a file")
    if isinstance(claims, str | os.PathLike) and not isinstance(traces_or_trace, Trace):
        claims = load_claims(claims)
    if isinstance(against, str | os.PathLike):
        against = load_claims(against)
    pairs = _keyed(traces_or_trace)
    single = len(pairs) == 1
    scores: list[ClaimScore] = []
    for keys, obj in pairs:
        c = _claim_for(claims, keys, single)
        if c is None:
            continue
        world = as_world(obj)
        steps = _steps(world)
        agent, ranked = _parse(c, steps)
        if against is not None:
            other = _claim_for(against, keys, single)
            if other is None:
                continue
            ref_agent, ref_ranked = _parse(other, steps)
            ref_step = ref_ranked[0] if ref_ranked else None
        elif twin is not None:
            loc = twin_locus(twin, getattr(obj, "trace", obj))
            ref_agent, ref_step = loc.agent, loc.step
        else:
            ref_agent, ref_step = _reference(obj, world_method)
        notes: list[str] = []
        causal: tuple[Any, Any, Any, Any] = (None, None, None, None)
        if single and ranked and 0 <= ranked[0] < len(steps):
            causal = _causal(world, steps[ranked[0]][0], notes)
        scores.append(
            ClaimScore(
                key=next((x for x in keys if x), ""),
                agent=agent,
                step=ranked[0] if ranked else None,
                ranked=ranked,
                reference_agent=ref_agent,
                reference_step=ref_step,
                but_for=causal[0],
                actual_cause=causal[1],
                shapley_rank=causal[2],
                shapley_value=causal[3],
                notes=tuple(notes),
            )
        )
    result = _summarise(scores, k, "claims" if against is not None else world_method)
    return replace(result, unmatched=_unmatched(claims, pairs))


def _mean(flags: list[bool]) -> float | None:
    return sum(flags) / len(flags) if flags else None


def _summarise(scores: list[ClaimScore], k: int, reference: str) -> Validation:
    agents = [s.agent_match for s in scores if s.agent_match is not None]
    steps = [s.step_match for s in scores if s.step_match is not None]
    near = [
        abs(s.step - s.reference_step) <= k
        for s in scores
        if s.step is not None and s.reference_step is not None
    ]
    top = [
        s.reference_step in s.ranked[:k]
        for s in scores
        if s.ranked and s.reference_step is not None
    ]
    pairs = [(s.agent, s.reference_agent) for s in scores if s.agent and s.reference_agent]
    kappa = cohen_kappa([a for a, _ in pairs], [b for _, b in pairs]) if pairs else None
    return Validation(
        n=len(scores),
        agent_accuracy=_mean([bool(x) for x in agents]),
        step_accuracy=_mean([bool(x) for x in steps]),
        within_k=_mean(near),
        top_k=_mean(top),
        kappa=kappa,
        k=k,
        reference=reference,
        traces=tuple(scores),
    )


def _unmatched(claims: Any, pairs: list[tuple[list[str], Any]]) -> tuple[str, ...]:
    """Claim keys that name none of the traces (only for a mapping over several traces)."""
    if not isinstance(claims, Mapping) or len(pairs) == 1:
        return ()
    known = {k for keys, _ in pairs for k in keys if k}
    return tuple(str(k) for k in claims if k not in known)
