"""From a list of format-neutral span records to a :class:`~agentsim.trace.Trace`.

Layer: formats. It imports only from its own layer and the ones below it.

Every adapter turns its format into :class:`RawSpan` records (ids, parent id, name, kind,
integer-nanosecond times, error, cost, tokens, attributes) and hands them to
:func:`build_trace`, the one place where the span tree becomes a trace:

1. *the tree*: parents are found by id; a span whose parent is absent (or that sits on a
   parent cycle) is kept under a synthetic root ``missing-parent#0`` and reported in
   ``Trace.attributes["warnings"]``;
2. *addresses*: ``parent_address/<sanitised name>#<occurrence among siblings of that name>``,
   siblings ordered by start time, the convention of simulated traces (``support#0/search#1``);
   past :data:`MAX_ADDRESS_DEPTH` levels an address restarts from an anchor ``~<index>`` that
   names its ancestor by position in the file, so a pathologically deep chain costs linear,
   not quadratic, memory (its deep spans lose the shared prefix with their ancestors);
3. *times*: seconds since the earliest start; a span without an end is ``unfinished``;
4. *agents*: each span's ``agent`` is its nearest enclosing agent; an agent nested in an agent,
   a tool call named after a known agent, and the agent a hand-off transfers to are marked
   ``attributes["subagent"] = True``;
5. *outcomes*: ``success`` (every top-level span succeeded), ``latency`` (makespan), ``cost``;
6. *caught exceptions*: exception events a span caught (``exception.escaped=false``, no error
   status) are kept in its ``attributes["exceptions_caught"]`` and counted in the warnings.

Examples
--------
>>> raws = [
...     RawSpan(index=0, span_id="a", parent_id=None, name="support", kind="agent", start_ns=0,
...             end_ns=3_000_000_000),
...     RawSpan(index=1, span_id="b", parent_id="a", name="lookup order", kind="tool",
...             start_ns=1_000_000_000, end_ns=2_000_000_000, ok=False, error="timeout"),
... ]
>>> trace = build_trace(raws, source="otlp", trace_id="t")
>>> [(s.address, s.agent, s.start) for s in trace.spans]
[('support#0', 'support', 0.0), ('support#0/lookup_order#0', 'support', 1.0)]
>>> trace.outcomes
{'success': 1.0, 'latency': 3.0, 'cost': 0.0}
"""

from __future__ import annotations

import math
import re
from collections import defaultdict
from dataclasses import dataclass, field

from pydantic import JsonValue

from agentsim.ingest._semconv import (
    agent_name_of,
    classify,
    cost_of,
    handled_exceptions,
    model_of,
    span_outcome,
    status_error,
    status_unknown,
    tokens_of,
    tool_name_of,
)
from agentsim.trace import Span, SpanKind, Trace

__all__ = [
    "CAUGHT",
    "MAX_ADDRESS_DEPTH",
    "MISSING_PARENT",
    "RawSpan",
    "build_trace",
    "raw_from_attributes",
    "sanitise",
]

MISSING_PARENT = "missing-parent#0"
CAUGHT = "exceptions_caught"
"""Span attribute listing the exception events a span caught (``exception.escaped=false``
with no error status): events, not failures."""
_MISSING_NAME = "(missing parent)"
_UNSAFE = re.compile(r"[\s/#]+")
_MAX_NAME = 100


def sanitise(name: str) -> str:
    """A span name made safe for an address: separators and blanks become ``_``.

    >>> sanitise("call_llm mistral/mistral-small-latest")
    'call_llm_mistral_mistral-small-latest'
    >>> sanitise("  ")
    'span'
    """
    cleaned = _UNSAFE.sub("_", name).strip("_")[:_MAX_NAME]
    return cleaned or "span"


@dataclass(slots=True)
class RawSpan:
    """One span as an adapter read it, before the tree is built.

    ``kind`` ``None`` means the format did not say: the span becomes ``chain`` when it has
    children and ``other`` otherwise. ``agent`` forces the span's agent (Who&When speakers);
    ``agent_name`` names the agent an agent span runs (default: read from the name).
    """

    index: int
    span_id: str | None
    parent_id: str | None
    name: str
    kind: SpanKind | None
    start_ns: int
    end_ns: int | None
    ok: bool = True
    error: str | None = None
    cost: float = 0.0
    tokens: dict[str, int] | None = None
    agent: str | None = None
    agent_name: str | None = None
    tool_name: str | None = None
    attributes: dict[str, JsonValue] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)
    """What the reader noticed about this span (a malformed field), reported as warnings."""


def _no_cost(address: str, warnings: list[str]) -> float:
    warnings.append(f"span {address!r} has a non-finite cost; cost set to 0")
    return 0.0


def _link(raws: list[RawSpan], warnings: list[str]) -> list[int | None]:
    """Parent index of each span; ``-1`` marks a span kept under the synthetic root."""
    by_id: dict[str, int] = {}
    for i, raw in enumerate(raws):
        if raw.span_id is None:
            continue
        if raw.span_id in by_id:
            warnings.append(
                f"span id {raw.span_id!r} appears more than once (spans {by_id[raw.span_id]} "
                f"and {i}); children attach to the first"
            )
            continue
        by_id[raw.span_id] = i
    parents: list[int | None] = []
    for i, raw in enumerate(raws):
        pid = raw.parent_id
        if pid is None:
            parents.append(None)
        elif pid in by_id and by_id[pid] != i:
            parents.append(by_id[pid])
        else:
            why = "is its own parent" if by_id.get(pid) == i else "is not in the trace"
            warnings.append(
                f"span {raw.name!r} ({raw.span_id or i}) names parent {pid!r}, which {why}; "
                f"kept under {MISSING_PARENT}"
            )
            parents.append(-1)
    _cut_cycles(raws, parents, warnings)
    return parents


def _cut_cycles(raws: list[RawSpan], parents: list[int | None], warnings: list[str]) -> None:
    children: dict[int | None, list[int]] = defaultdict(list)
    for i, p in enumerate(parents):
        children[p].append(i)
    reached = [False] * len(raws)
    stack = [i for i, p in enumerate(parents) if p is None or p == -1]
    while True:
        while stack:
            node = stack.pop()
            if not reached[node]:
                reached[node] = True
                stack.extend(children[node])
        pending = next((i for i, done in enumerate(reached) if not done), None)
        if pending is None:
            return
        warnings.append(
            f"span {raws[pending].name!r} ({raws[pending].span_id or pending}) is on a parent "
            f"cycle; kept under {MISSING_PARENT}"
        )
        parent = parents[pending]
        if parent is not None and parent >= 0:
            children[parent].remove(pending)
        parents[pending] = -1
        stack.append(pending)


MAX_ADDRESS_DEPTH = 64
"""Address segments before an address restarts from an anchor (see the module docstring)."""


def build_trace(
    raws: list[RawSpan],
    *,
    source: str,
    trace_id: str = "",
    attributes: dict[str, JsonValue] | None = None,
    known_agents: set[str] | None = None,
    success: float | None = None,
) -> Trace:
    """Build the trace from ``raws`` (see the module docstring for the rules).

    ``known_agents`` adds agent names the format declares elsewhere (hand-off targets);
    ``success`` overrides the success outcome (Who&When runs are failures by construction).
    """
    warnings: list[str] = [f"span {r.name!r}: {note}" for r in raws for note in r.notes]
    parents = _link(raws, warnings)
    n = len(raws)
    kids: list[list[int]] = [[] for _ in range(n)]
    tops: list[int] = []
    orphans: list[int] = []
    for i, p in enumerate(parents):
        if p is None:
            tops.append(i)
        elif p == -1:
            orphans.append(i)
        else:
            kids[p].append(i)

    def when(i: int) -> tuple[int, int]:
        return raws[i].start_ns, i

    for group in kids:
        group.sort(key=when)
    orphans.sort(key=when)

    kinds: list[SpanKind] = [
        r.kind or ("chain" if kids[i] else "other") for i, r in enumerate(raws)
    ]
    names_of_agents = {
        raws[i].agent_name or agent_name_of(raws[i].attributes, raws[i].name)
        for i in range(n)
        if kinds[i] == "agent"
    }
    names_of_agents |= known_agents or set()
    extra: list[dict[str, JsonValue]] = [{} for _ in range(n)]
    _tools_as_agents(raws, kinds, names_of_agents, extra)

    # Addresses and agents by an explicit depth-first walk (deep traces must not recurse).
    # Depth is counted from the last anchor: every MAX_ADDRESS_DEPTH levels the children of a
    # span are addressed under "~<its index>" instead of its whole path.
    addresses: list[str] = [""] * n
    depth: list[int] = [0] * n
    agents: list[str | None] = [None] * n
    preorder: list[int] = []
    root_counts: dict[str, int] = defaultdict(int)
    roots: list[tuple[int, int, int]] = [(raws[i].start_ns, i, i) for i in tops]
    if orphans:
        root_counts[MISSING_PARENT.split("#")[0]] = 1
        roots.append((min(raws[i].start_ns for i in orphans), -1, -1))
    roots.sort()
    stack: list[tuple[int, str | None, str | None]] = [(i, None, None) for _, _, i in roots[::-1]]
    synthetic_order = -1
    counts_under: dict[int, dict[str, int]] = {}
    while stack:
        i, parent_addr, parent_agent = stack.pop()
        if i == -1:
            synthetic_order = len(preorder)
            preorder.append(-1)
            counts_under[-1] = defaultdict(int)
            for child in reversed(orphans):
                stack.append((child, MISSING_PARENT, None))
            continue
        raw = raws[i]
        key = sanitise(raw.name)
        parent_key = parents[i]
        if parent_key is None:
            counts = root_counts
        else:
            counts = counts_under.setdefault(parent_key, defaultdict(int))
        addresses[i] = f"{parent_addr + '/' if parent_addr else ''}{key}#{counts[key]}"
        counts[key] += 1
        depth[i] = 1 if parent_key is None or parent_key == -1 else depth[parent_key] + 1
        own_agent = parent_agent
        if kinds[i] == "agent":
            own_agent = raw.agent_name or agent_name_of(raw.attributes, raw.name)
            extra[i].setdefault("agent_name", own_agent)
            if parent_agent is not None:
                extra[i]["subagent"] = True
                extra[i]["parent_agent"] = parent_agent
        agents[i] = raw.agent if raw.agent is not None else own_agent
        preorder.append(i)
        under = addresses[i]
        if depth[i] >= MAX_ADDRESS_DEPTH:
            under, depth[i] = f"~{i}", 0
        for child in reversed(kids[i]):
            stack.append((child, under, own_agent))

    _handoffs(raws, kinds, agents, extra, preorder)

    t0 = min((r.start_ns for r in raws), default=0)
    spans: list[tuple[float, int, Span]] = []
    for position, i in enumerate(preorder):
        if i == -1:
            continue
        raw = raws[i]
        start = (raw.start_ns - t0) / 1e9
        status = "done"
        if raw.end_ns is None:
            end, status = start, "unfinished"
        elif raw.end_ns < raw.start_ns:
            warnings.append(f"span {addresses[i]!r} ends before it starts; end set to start")
            end = start
        else:
            end = (raw.end_ns - t0) / 1e9
        attrs = dict(raw.attributes)
        if raw.span_id is not None:
            attrs["span_id"] = raw.span_id
        if raw.parent_id is not None:
            attrs["parent_id"] = raw.parent_id
        if raw.tokens:
            attrs["tokens"] = dict(raw.tokens)
        attrs.update(extra[i])
        parent = parents[i]
        parent_address = (
            None if parent is None else MISSING_PARENT if parent == -1 else addresses[parent]
        )
        span = Span(
            address=addresses[i],
            kind=kinds[i],
            name=raw.name,
            parent=parent_address,
            agent=agents[i],
            start=start,
            end=end,
            ok=raw.ok,
            error=None if raw.ok else (raw.error or "error"),
            status=status,
            cost=raw.cost if math.isfinite(raw.cost) else _no_cost(addresses[i], warnings),
            attributes=attrs,
        )
        spans.append((start, position, span))
        raws[i].attributes = {}
    if orphans:
        first = min(s.start for _, _, s in spans if s.parent == MISSING_PARENT)
        last = max(s.end for _, _, s in spans if s.parent == MISSING_PARENT)
        synthetic = Span(
            address=MISSING_PARENT,
            kind="chain",
            name=_MISSING_NAME,
            start=first,
            end=last,
            attributes={"synthetic": True},
        )
        spans.append((first, synthetic_order, synthetic))
    spans.sort(key=lambda item: (item[0], item[1]))
    ordered = [s for _, _, s in spans]
    top_level = [s for s in ordered if s.parent is None or s.parent == MISSING_PARENT]
    top_level = [s for s in top_level if s.address != MISSING_PARENT]
    outcomes = {
        "success": success if success is not None else float(all(s.ok for s in top_level)),
        "latency": max((s.end for s in ordered), default=0.0),
        "cost": sum(s.cost for s in ordered),
    }
    caught = [(s.address, s.attributes[CAUGHT]) for s in ordered if s.attributes.get(CAUGHT)]
    if caught:
        texts = [str(t) for _, found in caught if isinstance(found, list) for t in found]
        n, m = len(texts), len(caught)
        warnings.append(
            f"{n} exception event{'s' if n != 1 else ''} on {m} span{'s' if m != 1 else ''} "
            f"marked exception.escaped=false with no error status (e.g. {texts[0]!r} on "
            f"{caught[0][0]!r}): recorded as events, not failures (attribute {CAUGHT!r})"
        )
    trace_attrs: dict[str, JsonValue] = dict(attributes or {})
    if warnings:
        trace_attrs["warnings"] = list(warnings)
    return Trace(
        trace_id=trace_id,
        source=source,
        spans=ordered,
        outcomes=outcomes,
        attributes=trace_attrs,
    )


def _tools_as_agents(
    raws: list[RawSpan],
    kinds: list[SpanKind],
    agent_names: set[str],
    extra: list[dict[str, JsonValue]],
) -> None:
    """Mark tool calls that invoke an agent (by name) or hand off (``transfer_to_<agent>``)."""
    folded = {name.lower(): name for name in agent_names}
    for i, raw in enumerate(raws):
        if kinds[i] != "tool":
            continue
        tool = raw.tool_name or tool_name_of(raw.attributes, raw.name)
        if tool.lower() in folded:
            kinds[i] = "agent"
            raw.agent_name = folded[tool.lower()]
            extra[i]["subagent"] = True
            extra[i]["invoked_as"] = "tool"
        elif tool.lower().startswith("transfer_to_") and len(tool) > len("transfer_to_"):
            target = tool[len("transfer_to_") :]
            extra[i].setdefault("handoff_to", folded.get(target.lower(), target))


def _handoffs(
    raws: list[RawSpan],
    kinds: list[SpanKind],
    agents: list[str | None],
    extra: list[dict[str, JsonValue]],
    preorder: list[int],
) -> None:
    """Mark the agent span each hand-off transfers to (the next one of that name)."""
    for i in range(len(raws)):
        target = raws[i].attributes.get("handoff_to", extra[i].get("handoff_to"))
        if not isinstance(target, str):
            continue
        extra[i]["handoff_to"] = target
        wanted = target.lower()
        candidates = [
            j
            for j in preorder
            if j >= 0
            and j != i
            and kinds[j] == "agent"
            and raws[j].start_ns >= raws[i].start_ns
            and str(extra[j].get("agent_name", "")).lower() == wanted
        ]
        if not candidates:
            continue
        j = min(candidates, key=lambda k: (raws[k].start_ns, k))
        extra[j]["subagent"] = True
        extra[j]["handoff_from"] = agents[i] or raws[i].name


def raw_from_attributes(
    *,
    index: int,
    span_id: str | None,
    parent_id: str | None,
    name: str,
    start_ns: int,
    end_ns: int | None,
    attrs: dict[str, JsonValue],
    status_code: object = None,
    status_message: object = None,
    events: list[tuple[str, dict[str, JsonValue]]] | None = None,
    kind: SpanKind | None = None,
) -> RawSpan:
    """A :class:`RawSpan` from an OpenTelemetry-style span: kind, error, tokens and cost are
    read from the attribute conventions (:mod:`agentsim.ingest._semconv`) unless given."""
    kind = kind or classify(attrs, name)
    ok, error = span_outcome(attrs, kind, status_code, status_message, events)
    caught = handled_exceptions(events or [])
    if caught and status_error(status_code, status_message)[0] is not True:
        attrs[CAUGHT] = list(caught)
    notes: list[str] = []
    if status_unknown(status_code):
        notes.append(
            f"status code {status_code!r} is not an OpenTelemetry status (0/UNSET, 1/OK, "
            "2/ERROR); read as unset"
        )
    model = model_of(attrs)
    if model is not None:
        attrs.setdefault("model", model)
    return RawSpan(
        index=index,
        span_id=span_id,
        parent_id=parent_id,
        name=name,
        kind=kind,
        start_ns=start_ns,
        end_ns=end_ns,
        ok=ok,
        error=error,
        cost=cost_of(attrs),
        tokens=tokens_of(attrs),
        agent_name=agent_name_of(attrs, name) if kind == "agent" else None,
        tool_name=tool_name_of(attrs, name) if kind == "tool" else None,
        attributes=attrs,
        notes=notes,
    )
