"""The trace: a serialisable record of one run, simulated or imported.

Layer: kernel. It imports nothing of the package above the kernel.

A :class:`Trace` is a list of :class:`Span` objects in trace order (the order their calls were
issued), each named by its *address*, the stable name of a call inside a run
(``support#0/escalation#0/planner#1``: the path of agent instances, then the callee and its
occurrence index within that agent instance). A span records what the call received (the
addresses of the results passed to it: its data-flow parents), what it returned (``ok``,
``value``, ``error``, ``cost``), when (``start``, ``end``), and, for a simulated run, the exact
exogenous noise it consumed, so that the run is also a structural causal model whose
counterfactuals can be computed exactly.

Traces are pydantic v2 models with a ``schema_version``; files written by older versions are
upgraded when read. ``Trace.model_validate_json(trace.model_dump_json())`` round-trips exactly.

Examples
--------
>>> t = Trace(spans=[Span(address="main#0", kind="agent", name="main", start=0.0, end=1.0)])
>>> t.span("main#0").duration
1.0
>>> Trace.model_validate_json(t.model_dump_json()) == t
True
"""

from __future__ import annotations

import json
import math
import os
from collections.abc import Iterable, Iterator, Sequence
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, JsonValue, ValidationError, model_validator

from agentsim._display import html_of
from agentsim._io import atomic_write_text
from agentsim.errors import TraceFormatError, UnknownAddressError, suggest

__all__ = [
    "SCHEMA_VERSION",
    "Span",
    "SpanKind",
    "Trace",
    "read_agentsim",
    "save_trace",
]

SCHEMA_VERSION = 1

_ROUNDING_S = 1e-9
_ROUNDING_REL = 1e-15
"""A span may end before it starts by 1 ns plus 1e-15 of its start (a few units of float
rounding): enough for times that went through float arithmetic, far too little for real clock
skew, which the importers clamp on their integer nanoseconds (and record as a warning)."""
_SHOWN = 8
"""Most addresses of a parent cycle that an error message lists."""

SpanKind = Literal["agent", "tool", "llm", "choice", "wait", "chain", "step", "other"]
"""What a span is: an agent instance, a tool call, an LLM call, a categorical decision, a wait,
a framework chain (imported traces), a message step (Who&When logs), or anything else."""

SpanStatus = Literal["done", "cancelled", "unfinished"]
"""``done``: the call returned; ``cancelled``: another branch won a ``first``, or the run was
stopped; ``unfinished``: the run ended (deadline, step budget) while the call was in flight."""


class Span(BaseModel):
    """One call (or agent instance, decision, wait) of a run."""

    model_config = ConfigDict(extra="forbid")

    address: str
    """Stable name of the call inside its run, e.g. ``support#0/lookup_order#0``."""
    kind: SpanKind
    """What the span is (see :data:`SpanKind`)."""
    name: str
    """The callee: a tool, model or agent name (for imported traces, the span's name)."""
    parent: str | None = None
    """Address of the enclosing agent instance (or parent span); ``None`` for a root. A parent
    absent from the trace (a subtree saved on its own) makes the span a root; parents never
    form a cycle."""
    agent: str | None = None
    """Name of the agent on whose behalf the call was made."""
    start: float = 0.0
    """Start time in seconds (simulated clock, or seconds since the trace's first span)."""
    end: float = 0.0
    """End time in seconds."""
    ok: bool = True
    """Whether the call succeeded."""
    error: str | None = None
    """Error message when ``ok`` is false."""
    status: SpanStatus = "done"
    """Whether the call returned, was cancelled or was still running when the run ended."""
    value: JsonValue = None
    """The value returned, as JSON (non-JSON values are stored as their ``repr``)."""
    inputs: list[str] = Field(default_factory=list)
    """Addresses of the results passed to this call: its data-flow parents."""
    cost: float = 0.0
    """Money spent by this call alone (not its children)."""
    queued: float = 0.0
    """Seconds spent waiting for a shared resource before the call started its work."""
    noise: dict[str, float] = Field(default_factory=dict)
    """Exogenous noise consumed, by slot (``ok``, ``latency``, ``choice:<option>``...)."""
    attributes: dict[str, JsonValue] = Field(default_factory=dict)
    """Anything else: token counts, model names, imported attributes."""

    @property
    def duration(self) -> float:
        """``end - start`` in seconds."""
        return self.end - self.start


class Trace(BaseModel):
    """The serialisable record of one run: spans in trace order plus outcomes.

    Attributes are documented field by field below. Use :meth:`span` to look a span up by
    address (with a helpful error when it does not exist).

    A trace is checked when it is built or read: span addresses are unique, parents form no
    cycle, ``start``, ``end``, ``cost`` and ``queued`` are finite and no span ends before it
    starts (beyond 1 ns of float rounding). Building one that breaks a rule raises
    :class:`~agentsim.errors.TraceFormatError` naming the span; ``model_validate`` and
    ``model_validate_json`` raise pydantic's ``ValidationError`` carrying that error (its
    ``errors()[0]["ctx"]["error"]``), which :func:`read_agentsim` reports on one line.

    >>> Trace(spans=[Span(address="a#0", kind="agent", name="a", parent="a#0")])
    ... # doctest: +ELLIPSIS
    Traceback (most recent call last):
    agentsim.errors.TraceFormatError: span 'a#0' names itself as its parent; ...
    """

    model_config = ConfigDict(extra="forbid")

    schema_version: int = SCHEMA_VERSION
    """Version of this schema; older files are upgraded on read."""
    trace_id: str = ""
    """Identifier of the run (a simulated run's is derived from scenario name and seed)."""
    source: str = "agentsim"
    """Where the trace came from: ``agentsim`` or the name of the imported format."""
    scenario: str | None = None
    """Name of the scenario that produced the run, when simulated."""
    seed: int | None = None
    """Seed of the run, when simulated."""
    spans: list[Span] = Field(default_factory=list)
    """All spans in trace order (order of issue)."""
    outcomes: dict[str, float] = Field(default_factory=dict)
    """Outcomes of the run (``success``, ``latency``, ``cost`` and user outcomes)."""
    interventions: list[str] = Field(default_factory=list)
    """Descriptions of the interventions under which the run was produced (empty: factual)."""
    attributes: dict[str, JsonValue] = Field(default_factory=dict)
    """Run-level facts: why a run was stopped, import warnings, the Who&When question..."""

    @model_validator(mode="before")
    @classmethod
    def _upgrade(cls, data: Any) -> Any:
        if isinstance(data, dict):
            version = data.get("schema_version", SCHEMA_VERSION)
            if not isinstance(version, int) or version > SCHEMA_VERSION:
                raise ValueError(
                    f"schema_version {version!r} is newer than this agentsim reads "
                    f"({SCHEMA_VERSION}); upgrade agentsim"
                )
        return data

    @model_validator(mode="after")
    def _check(self) -> Trace:
        check_spans(self.spans)
        return self

    def __init__(self, /, **data: Any) -> None:
        # pydantic wraps a ValueError raised by a validator in a ValidationError; give the
        # caller the TraceFormatError itself (field errors stay ValidationErrors).
        try:
            super().__init__(**data)
        except ValidationError as exc:
            error = format_error_of(exc)
            if error is None:
                raise
            raise error from None

    def span(self, address: str) -> Span:
        """The span at ``address``.

        Raises
        ------
        UnknownAddressError
            When no span has that address; the message suggests close matches.
        """
        for s in self.spans:
            if s.address == address:
                return s
        addresses = [s.address for s in self.spans]
        raise UnknownAddressError(
            f"unknown address {address!r}{suggest(address, addresses)} "
            f"({len(addresses)} addresses in this run)"
        )

    def addresses(self) -> list[str]:
        """Addresses of all spans in trace order."""
        return [s.address for s in self.spans]

    def calls(self) -> list[Span]:
        """Spans that are calls (everything but agent instances), in trace order."""
        return [s for s in self.spans if s.kind != "agent"]

    def failed(self) -> list[Span]:
        """Spans that failed (``ok`` false), in trace order."""
        return [s for s in self.spans if not s.ok]

    def children(self, address: str | None) -> list[Span]:
        """Spans whose parent is ``address`` (roots when ``None``)."""
        return [s for s in self.spans if s.parent == address]

    def roots(self) -> list[Span]:
        """Spans without a parent."""
        return self.children(None)

    def _repr_html_(self) -> str | None:
        """Rich display in notebooks (drawn by :mod:`agentsim.views.snippets`)."""
        return html_of(self)

    def __iter__(self) -> Iterator[Span]:  # type: ignore[override]
        return iter(self.spans)

    def __len__(self) -> int:
        return len(self.spans)


def check_spans(spans: Sequence[Span]) -> None:
    """Raise :class:`~agentsim.errors.TraceFormatError` unless ``spans`` make a valid trace.

    The rules: addresses are unique; parents form no cycle (a parent absent from the trace is
    allowed: the span is a root); ``start``, ``end``, ``cost`` and ``queued`` are finite; no
    span ends before it starts, beyond float rounding (1 ns plus 1e-15 of the start). One pass
    over the spans; a cycle search only from the spans whose parent does not come before them.

    >>> check_spans([Span(address="a#0", kind="tool", name="a", start=2.0, end=1.0)])
    ... # doctest: +ELLIPSIS
    Traceback (most recent call last):
    agentsim.errors.TraceFormatError: span 'a#0' ends before it starts (start 2.0, end 1.0); ...
    """
    index: dict[str, int] = {}
    unresolved: list[int] = []  # spans whose parent is not among the spans before them
    for i, s in enumerate(spans):
        start, end = s.start, s.end
        # One test for the common case: a sum is finite when every term is (or overflows).
        if not math.isfinite(start + end + s.cost + s.queued):
            _check_finite(s)
        if end < start and start - end > _ROUNDING_S + _ROUNDING_REL * abs(start):
            raise TraceFormatError(
                f"span {s.address!r} ends before it starts (start {start!r}, end {end!r}); "
                "correct its times so that end >= start"
            )
        parent = s.parent
        if parent is not None and parent not in index:
            unresolved.append(i)
        address = s.address
        if address in index:
            stem = address.rsplit("/", 1)[-1].split("#", 1)[0] or "name"
            raise TraceFormatError(
                f"span address {address!r} is used twice (spans {index[address]} and {i}); "
                f"give each span its own address (repeated calls are numbered {stem}#0, "
                f"{stem}#1, ...)"
            )
        index[address] = i
    # Every cycle has a span whose parent does not come before it: searching from those finds
    # them all.
    if unresolved:
        parents = [-1 if s.parent is None else index.get(s.parent, -1) for s in spans]
        cycle = find_parent_cycle(parents, unresolved)
        if cycle:
            raise parent_cycle_error([spans[k].address for k in cycle])


def _check_finite(span: Span) -> None:
    for field in ("start", "end", "cost", "queued"):
        value = getattr(span, field)
        if not math.isfinite(value):
            raise TraceFormatError(
                f"span {span.address!r}: {field} is {value!r}; start, end, cost and queued "
                "must be finite numbers"
            )


def find_parent_cycle(parents: Sequence[int], starts: Iterable[int] | None = None) -> list[int]:
    """Indices of a cycle of ``parents`` (each the next one's child), or ``[]`` when none.

    ``parents[i]`` is the index of span ``i``'s parent, negative for a root. The walk starts
    from ``starts`` (every index when ``None``) and visits each index once.

    >>> find_parent_cycle([-1, 2, 1]), find_parent_cycle([-1, 0, 1])
    ([1, 2], [])
    """
    state = [0] * len(parents)  # 0 unseen, 1 on the current walk, 2 leads to a root
    for first in range(len(parents)) if starts is None else starts:
        walk: list[int] = []
        k = first
        while k >= 0 and state[k] == 0:
            state[k] = 1
            walk.append(k)
            k = parents[k]
        if k >= 0 and state[k] == 1:
            return walk[walk.index(k) :]
        for j in walk:
            state[j] = 2
    return []


def parent_cycle_error(addresses: Sequence[str]) -> TraceFormatError:
    """The error for spans at ``addresses`` whose parents form a cycle (each names the next)."""
    if len(addresses) == 1:
        (a,) = addresses
        return TraceFormatError(
            f"span {a!r} names itself as its parent; a parent must be an enclosing span: set "
            f"it to null or to the address of the span that encloses {a!r}"
        )
    shown = [repr(a) for a in addresses[:_SHOWN]]
    if len(addresses) > _SHOWN:
        shown.append(f"... ({len(addresses)} spans)")
    return TraceFormatError(
        f"span parents form a cycle: {' -> '.join(shown)} -> {addresses[0]!r} (each arrow "
        "points to a span's parent); a parent must be an enclosing span: set the parent of one "
        "of them to null or to a span outside the cycle"
    )


def format_error_of(exc: ValidationError) -> TraceFormatError | None:
    """The :class:`~agentsim.errors.TraceFormatError` a validator raised inside ``exc``."""
    for err in exc.errors():
        error = (err.get("ctx") or {}).get("error")
        if isinstance(error, TraceFormatError):
            return error
    return None


def save_trace(
    trace: Trace | Iterable[Trace], path: str | os.PathLike[str], *, indent: int | None = None
) -> Path:
    """Write one trace as JSON, or many as JSON Lines, atomically.

    A path ending in ``.jsonl`` gets one trace per line; otherwise a single trace is written
    as one JSON document.

    >>> import tempfile, pathlib
    >>> p = pathlib.Path(tempfile.mkdtemp()) / "run.json"
    >>> _ = save_trace(Trace(trace_id="t"), p)
    >>> read_agentsim(p)[0].trace_id
    't'
    """
    target = Path(path)
    traces = [trace] if isinstance(trace, Trace) else list(trace)
    if target.suffix == ".jsonl":
        text = "".join(t.model_dump_json() + "\n" for t in traces)
    else:
        if len(traces) != 1:
            raise TraceFormatError(
                f"{len(traces)} traces cannot go into one JSON file {str(target)!r}; "
                "use a .jsonl path to write many"
            )
        text = traces[0].model_dump_json(indent=indent)
    return atomic_write_text(target, text)


def read_agentsim(path: str | os.PathLike[str]) -> list[Trace]:
    """Read agentsim's own format: one JSON trace, or JSON Lines of traces."""
    target = Path(path)
    try:
        text = target.read_text(encoding="utf-8")
    except OSError as exc:
        raise TraceFormatError(f"cannot read trace file {str(target)!r}: {exc.strerror}") from exc
    out: list[Trace] = []
    stripped = text.lstrip()
    lines = [stripped] if stripped.startswith("{") and "\n{" not in stripped else None
    if lines is None:
        lines = [ln for ln in text.splitlines() if ln.strip()]
    for i, line in enumerate(lines, 1):
        try:
            out.append(Trace.model_validate_json(line))
        except ValidationError as exc:
            error = format_error_of(exc)
            if error is not None:
                raise TraceFormatError(f"{str(target)!r}: record {i}: {error}") from None
            err = exc.errors()[0]
            where = ".".join(str(p) for p in err.get("loc", ()))
            raise TraceFormatError(
                f"{str(target)!r}: record {i}: field {where or '(root)'}: {err.get('msg')}"
            ) from None
    return out


def to_json_value(value: Any) -> JsonValue:
    """Make ``value`` JSON-safe: JSON values pass, Results become their value, others ``repr``.

    >>> to_json_value({"a": [1, 2.5, None]})
    {'a': [1, 2.5, None]}
    >>> to_json_value(object)
    "<class 'object'>"
    """
    if value is None or isinstance(value, bool | int | str):
        return value
    if isinstance(value, float):
        return value if value == value and abs(value) != float("inf") else repr(value)
    if isinstance(value, list | tuple):
        return [to_json_value(v) for v in value]
    if isinstance(value, dict) and all(isinstance(k, str) for k in value):
        return {k: to_json_value(v) for k, v in value.items()}
    inner = getattr(value, "__agentsim_json__", None)
    if inner is not None:
        return to_json_value(inner())
    try:
        json.dumps(value)
    except (TypeError, ValueError):
        return repr(value)
    return repr(value)  # pragma: no cover - exotic JSON-able objects
