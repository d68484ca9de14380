"""Runs: what the executor hands back for one seed (engine layer; imports kernel and model).

A :class:`Run` is one execution of a scenario with one seed: its entry agent's result (a
:class:`~agentsim.context.Result`), its outcomes and its trace, built on demand from the
engine's span records (:func:`build_trace`). :func:`diff_runs` compares two runs span by
span. Many runs make a :class:`~agentsim.batch.Batch`.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from agentsim._display import html_of
from agentsim.context import Result
from agentsim.errors import AgentSimError, suggest
from agentsim.stats import Estimate, mean_ci
from agentsim.trace import Span, Trace, to_json_value

if TYPE_CHECKING:
    from agentsim.interventions import Intervention
    from agentsim.scenario import Scenario

__all__ = [
    "Crash",
    "Result",
    "Run",
    "RunContext",
    "RunDiff",
    "SpanChange",
    "build_trace",
    "diff_runs",
]


CONTINUOUS_OUTCOMES = frozenset({"latency", "cost"})
"""Built-in outcomes that are quantities, never proportions, whatever values they take."""


def outcome_mean(name: str, values: Any, confidence: float = 0.95) -> Estimate:
    """Mean of outcome ``name`` over runs, with the interval its kind calls for."""
    return mean_ci(values, confidence, proportion=False if name in CONTINUOUS_OUTCOMES else None)


@dataclass(frozen=True)
class Crash:
    """An exception raised by scenario code that is not a modelled failure: a bug.

    The run that met it records it (and counts as failed); :meth:`Batch.crashes` lists such
    runs and :meth:`Batch.crash_summary` says what crashed and where.

    >>> str(Crash("NameError", "name 'x' is not defined", "rag.py", 17, "main#0"))
    "NameError: name 'x' is not defined (rag.py:17)"
    """

    type: str
    """The exception's class name."""
    message: str
    """The exception's message."""
    file: str
    """The file (base name) of the innermost scenario frame, or ``""`` when unknown."""
    line: int
    """Its line number (0 when unknown)."""
    agent: str
    """Address of the agent instance whose code raised."""

    def __str__(self) -> str:
        where = f" ({self.file}:{self.line})" if self.file else ""
        return f"{self.type}: {self.message}{where}"

    def as_dict(self) -> dict[str, Any]:
        """JSON-ready fields (what the run's trace records under ``attributes["crash"]``)."""
        return {
            "type": self.type,
            "message": self.message,
            "file": self.file,
            "line": self.line,
            "agent": self.agent,
        }


@dataclass(frozen=True)
class RunContext:
    """How to re-create a run's world: its batch, when runs were coupled by shared resources.

    ``seeds`` and ``arrival_times`` are those of every session that shared the environment;
    ``index`` is this run's position among them. A run simulated alone has one seed.
    ``worlds`` gives each session's interventions when they differ (a counterfactual of one
    session of a coupled batch); empty when every session ran under the run's own.
    """

    seeds: tuple[int, ...]
    arrival_times: tuple[float, ...] = ()
    index: int = 0
    inputs: tuple[tuple[str, Any], ...] = ()
    worlds: tuple[tuple[Intervention, ...], ...] = ()

    @property
    def coupled(self) -> bool:
        """Whether the run shared its environment with other sessions."""
        return len(self.seeds) > 1


class Run:
    """One execution of a scenario with one seed (possibly under interventions)."""

    def __init__(
        self,
        *,
        scenario: Scenario,
        seed: int,
        result: Result,
        outcomes: dict[str, float],
        records: list[Any] | None,
        context: RunContext,
        interventions: tuple[Intervention, ...] = (),
        attributes: dict[str, Any] | None = None,
    ) -> None:
        self.scenario = scenario
        self.seed = seed
        self.result = result
        self.outcomes = outcomes
        self.context = context
        self.interventions = interventions
        self.attributes = attributes or {}
        self.unaligned: tuple[str, ...] = ()
        """Addresses that exist only in this counterfactual world (interventional noise)."""
        self.factual: Run | None = None
        """For a counterfactual run, the factual run it was computed from."""
        self.peers: list[Run] = []
        """For a counterfactual of a run from a load batch: every session of the batch as
        re-simulated (in batch order), showing how the change propagated through contention."""
        self._records = records
        self._load: Callable[[], list[Any]] | None = None
        """Makes the records on first use (a run read back from a columnar batch rebuilds
        them from its columns, or re-simulates them when it arrived as a row)."""
        self._trace: Trace | None = None

    @property
    def inputs(self) -> dict[str, Any]:
        """Inputs given to the entry agent."""
        return dict(self.context.inputs)

    @property
    def trace(self) -> Trace:
        """The run's trace (built on first access from the engine's span records)."""
        if self._trace is None:
            if not self.has_trace:
                raise AgentSimError(
                    "this run was simulated with keep_traces=False; re-run it with "
                    f"scenario.run(seed={self.seed}) to get its trace"
                )
            self._trace = build_trace(self)
        return self._trace

    @property
    def has_trace(self) -> bool:
        """Whether span records were kept (or can be rebuilt)."""
        return self._records is not None or self._load is not None

    @property
    def records(self) -> list[Any]:
        """The engine's raw span records (internal; prefer :attr:`trace`)."""
        if self._records is None:
            if self._load is None:
                raise AgentSimError("this run was simulated with keep_traces=False")
            self._records, self._load = self._load(), None
        return self._records

    def outcome(self, name: str) -> float:
        """Value of the outcome ``name``; ``failure`` is ``1 - success``."""
        try:
            return self.outcomes[name]
        except KeyError:
            if name == "failure":
                return 1.0 - self.outcomes["success"]
            raise AgentSimError(
                f"unknown outcome {name!r}{suggest(name, self.outcomes)}; "
                f"outcomes are {sorted(self.outcomes)}"
            ) from None

    @property
    def crash(self) -> Crash | None:
        """The scenario bug this run met (the first exception raised by scenario code that
        was not a modelled :class:`~agentsim.context.Failure`), or ``None``."""
        c = self.attributes.get("crash")
        return Crash(**c) if c else None

    @property
    def warnings(self) -> list[str]:
        """What the engine noticed about the scenario code on this run (for example, a call
        request created but never yielded, so never made)."""
        return list(self.attributes.get("warnings", []))

    def diff(self, other: Run) -> RunDiff:
        """What changed between ``other`` (usually the factual run) and this run."""
        return diff_runs(other, self)

    def drop_records(self) -> None:
        """Forget span records to save memory (the trace can no longer be built)."""
        self._records = None
        self._load = None
        self._trace = None

    def _repr_html_(self) -> str | None:
        """Rich display in notebooks (drawn by :mod:`agentsim.views.snippets`)."""
        return html_of(self)

    def __repr__(self) -> str:
        iv = f", interventions={len(self.interventions)}" if self.interventions else ""
        outs = ", ".join(f"{k}={v:.4g}" for k, v in self.outcomes.items())
        return f"Run(seed={self.seed}, {outs}{iv})"


def _is_json(value: Any) -> bool:
    """Whether ``value`` survives a JSON round trip unchanged, type included (a tuple, an enum
    or a non-finite float would come back as something else)."""
    t = type(value)
    if value is None or t is bool or t is int:
        return True
    if t is float:
        return math.isfinite(value)
    if t is str:
        return not any("\ud800" <= c <= "\udfff" for c in value)  # surrogates are not UTF-8
    if t is list:
        return all(_is_json(v) for v in value)
    if t is dict:
        return all(type(k) is str and _is_json(k) and _is_json(v) for k, v in value.items())
    return False


def build_trace(run: Run) -> Trace:
    """Materialise a run's pydantic :class:`~agentsim.trace.Trace` from its records.

    Entry inputs, when the run had any, go to ``attributes["inputs"]`` so that abduction can
    re-run the program as it ran; the names of inputs that are not JSON values go to
    ``attributes["unrecorded_inputs"]`` instead (abduction then refuses rather than guess).
    """
    t0 = float(run.attributes.get("arrival", 0.0))
    attributes: dict[str, Any] = dict(run.attributes)
    if run.context.inputs:
        inputs = dict(run.context.inputs)
        unrecorded = sorted(k for k, v in inputs.items() if not _is_json(v))
        attributes["inputs"] = {k: v for k, v in inputs.items() if k not in unrecorded}
        if unrecorded:
            attributes["unrecorded_inputs"] = unrecorded
    spans = [
        Span(
            address=r.address,
            kind=r.kind,
            name=r.name,
            parent=r.parent,
            agent=r.agent,
            start=r.start - t0,
            end=r.end - t0,
            ok=r.ok,
            error=r.error,
            status=r.status,
            value=to_json_value(r.value),
            inputs=r.inputs,
            cost=r.cost,
            queued=r.queued,
            noise=dict(r.noise),
            attributes=dict(r.attrs) if r.attrs else {},
        )
        for r in run.records
    ]
    return Trace(
        trace_id=f"{run.scenario.name}-{run.seed:x}",
        source="agentsim",
        scenario=run.scenario.name,
        seed=run.seed,
        spans=spans,
        outcomes=dict(run.outcomes),
        interventions=[iv.describe() for iv in run.interventions],
        attributes=attributes,
    )


@dataclass(frozen=True)
class SpanChange:
    """One field of one span that differs between two runs."""

    address: str
    field: str
    before: Any
    after: Any


@dataclass
class RunDiff:
    """What changed from a factual run to a counterfactual one."""

    changes: list[SpanChange] = field(default_factory=list)
    added: list[str] = field(default_factory=list)
    removed: list[str] = field(default_factory=list)
    outcomes: dict[str, tuple[float, float]] = field(default_factory=dict)

    @property
    def changed_addresses(self) -> list[str]:
        """Addresses whose span changed, in trace order, without repeats."""
        return list(dict.fromkeys(c.address for c in self.changes))

    def __bool__(self) -> bool:
        return bool(self.changes or self.added or self.removed) or any(
            a != b for a, b in self.outcomes.values()
        )

    def __str__(self) -> str:
        lines = []
        for name, (a, b) in self.outcomes.items():
            mark = "" if a == b else "   <- changed"
            lines.append(f"{name:>12}: {a:.4g} -> {b:.4g}{mark}")
        for c in self.changes:
            lines.append(f"  ~ {c.address} {c.field}: {c.before!r} -> {c.after!r}")
        lines.extend(
            f"  + {a} (only in the counterfactual: interventional noise)" for a in self.added
        )
        lines.extend(f"  - {a} (no longer happens)" for a in self.removed)
        return "\n".join(lines)


_COMPARED = ("ok", "error", "status")


def diff_runs(before: Run, after: Run, *, time_tolerance: float = 1e-9) -> RunDiff:
    """Compare two runs span by span (ok, error, status, start and end times) and outcomes.

    >>> import agentsim as asim
    >>> sc = asim.Scenario("d")
    >>> t = sc.tool("t", p_ok=0.5, latency=1.0)
    >>> @sc.agent
    ... def main(ctx):
    ...     return (yield ctx.call(t))
    >>> run = sc.run(seed=1)
    >>> str(diff_runs(run, asim.counterfactual(run, asim.do("main#0/t#0", latency=3.0))))
    ... # doctest: +ELLIPSIS
    '...latency: 1 -> 3   <- changed...'
    """
    a = {r.address: r for r in before.records}
    b = {r.address: r for r in after.records}
    d = RunDiff()
    for addr, ra in a.items():
        rb = b.get(addr)
        if rb is None:
            d.removed.append(addr)
            continue
        for f in _COMPARED:
            if getattr(ra, f) != getattr(rb, f):
                d.changes.append(SpanChange(addr, f, getattr(ra, f), getattr(rb, f)))
        for f in ("start", "end"):
            if abs(getattr(ra, f) - getattr(rb, f)) > time_tolerance:
                d.changes.append(
                    SpanChange(addr, f, round(getattr(ra, f), 6), round(getattr(rb, f), 6))
                )
    d.added = [addr for addr in b if addr not in a]
    d.outcomes = {
        k: (before.outcomes[k], after.outcomes.get(k, float("nan"))) for k in before.outcomes
    }
    return d
