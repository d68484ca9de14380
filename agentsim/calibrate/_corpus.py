"""A corpus of traces read down to what real exporters record: names, kinds, parent links,
times, status, cost and tokens, as compact per-agent-instance call lists.

Layer: calibrate. It imports only from its own layer and the ones below it.

Calibration must work on traces from any exporter, so it reads nothing agentsim alone writes:
:func:`strip_otlp` removes every ``agentsim.*`` attribute (and the input links) from an OTLP
export, and :func:`read_instance` ignores a span's recorded noise, inputs, value, address and
``agentsim.*`` attributes even when a trace carries them. A trace becomes one
:class:`Instance` (the root agent) holding :class:`Call` records of its direct calls in start
order, sub-agents nesting their own instance; framework ``chain`` spans are see-through (their
calls belong to the enclosing agent) and waits are dropped. The records are small slotted
objects, so a corpus is held at a fraction of the size of its JSON (see
``benchmarks/bench_calibrate.py``).

Examples
--------
>>> import agentsim as asim
>>> from agentsim import workflow as wf
>>> sc = wf.scenario(wf.retry(wf.call("search"), n=1), {"search": {"p_ok": 0.0, "latency": 1.0}})
>>> inst = read_instance(sc.run(seed=0).trace)
>>> inst.agent, [(c.label, c.ok, c.end - c.start) for c in inst.calls]
('main', [('search', False, 1.0), ('search', False, 1.0)])
"""

from __future__ import annotations

import copy
import re
from collections import defaultdict
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any

from agentsim.ingest._semconv import agent_name_of, tool_name_of
from agentsim.trace import Span, Trace

__all__ = ["Call", "Instance", "clean_name", "read_instance", "read_instances", "strip_otlp"]

_PREFIX = "agentsim."
_CALL_KINDS = {"tool", "llm", "choice"}
_BAD = re.compile(r"[^A-Za-z0-9_.\-]+")


def clean_name(name: str) -> str:
    """A span's callee name made into a valid tool or agent name of a scenario.

    >>> clean_name("gpt-4o mini"), clean_name("3d/render"), clean_name("")
    ('gpt-4o_mini', '_3d_render', 'unnamed')
    """
    cleaned = _BAD.sub("_", name.strip()).strip("_") or "unnamed"
    return cleaned if re.match(r"[A-Za-z_]", cleaned) else f"_{cleaned}"


@dataclass(slots=True)
class Call:
    """One direct call of an agent instance: a tool or model call, or a sub-agent."""

    label: str
    """The callee: tool, model or sub-agent name (cleaned by :func:`clean_name`)."""
    kind: str
    """``tool``, ``llm`` or ``agent``."""
    start: float
    end: float
    ok: bool
    cost: float = 0.0
    """Money spent by the call itself (for a sub-agent: by its whole subtree)."""
    tokens: int = 0
    """Total tokens the call reports (0 when none)."""
    child: Instance | None = None
    """The sub-agent's own instance, for ``kind == "agent"``."""
    address: str = ""
    """The span's address in its trace."""

    @property
    def duration(self) -> float:
        """``end - start``."""
        return self.end - self.start


@dataclass(slots=True)
class Instance:
    """One agent instance: its name, its direct calls in start order and its result."""

    agent: str
    ok: bool
    start: float
    end: float
    calls: list[Call] = field(default_factory=list)

    def cost(self) -> float:
        """Money spent inside the instance (its calls and their subtrees)."""
        return sum(c.cost for c in self.calls)


def _label(span: Span) -> str:
    attrs = span.attributes
    if span.kind == "agent":
        own = attrs.get("agent_name")
        return clean_name(own if isinstance(own, str) else agent_name_of(attrs, span.name))
    if span.kind == "tool":
        return clean_name(tool_name_of(attrs, span.name))
    if span.kind in ("llm", "choice"):
        for key in ("gen_ai.request.model", "model", "gen_ai.response.model", "llm.model_name"):
            found = attrs.get(key)
            if isinstance(found, str) and found.strip():
                return clean_name(found)
        name = span.name
        for prefix in ("chat ", "call_llm ", "text_completion "):
            if name.lower().startswith(prefix):
                name = name[len(prefix) :]
        return clean_name(name)
    return clean_name(span.name)


def _tokens(span: Span) -> int:
    found = span.attributes.get("tokens")
    if isinstance(found, Mapping):
        total = found.get("total")
        if isinstance(total, int | float):
            return int(total)
        return int(sum(v for v in found.values() if isinstance(v, int | float)))
    return 0


def read_instance(trace: Trace) -> Instance:
    """The root agent instance of ``trace``, read from exporter-visible fields only.

    A trace with several roots (or a synthetic ``missing-parent`` root) is read as one
    instance named after its first root whose calls are every root's calls.
    """
    children: dict[str | None, list[Span]] = defaultdict(list)
    for span in trace.spans:
        children[span.parent].append(span)
    roots = children.get(None, [])
    if not roots:
        return Instance(agent="run", ok=bool(trace.outcomes.get("success", 1.0)), start=0, end=0)
    if len(roots) == 1 and roots[0].kind in ("agent", "chain", "other"):
        root = roots[0]
        return _instance(root, _label(root), children)
    name = clean_name(roots[0].name) if roots[0].kind != "chain" else "run"
    inst = Instance(
        agent=name,
        ok=all(s.ok for s in roots),
        start=min(s.start for s in roots),
        end=max(s.end for s in roots),
    )
    for span in sorted(roots, key=lambda s: s.start):
        inst.calls.extend(_calls_of(span, children))
    return inst


def _calls_of(span: Span, children: Mapping[str | None, list[Span]]) -> Iterator[Call]:
    if span.kind == "agent":
        child = _instance(span, _label(span), children)
        yield Call(
            child.agent,
            "agent",
            span.start,
            span.end,
            span.ok,
            child.cost(),
            0,
            child,
            span.address,
        )
        return
    if span.kind == "wait":
        return
    kids = children.get(span.address, [])
    if span.kind in _CALL_KINDS or not kids:
        # a call, or a leaf of another kind (a step, a framework span): work the agent did,
        # counted as a tool
        yield Call(
            _label(span),
            "llm" if span.kind in ("llm", "choice") else "tool",
            span.start,
            span.end,
            span.ok,
            span.cost,
            _tokens(span),
            address=span.address,
        )
        return
    for kid in sorted(kids, key=lambda s: s.start):
        yield from _calls_of(kid, children)


def _instance(span: Span, name: str, children: Mapping[str | None, list[Span]]) -> Instance:
    inst = Instance(agent=name, ok=span.ok, start=span.start, end=span.end)
    for kid in sorted(children.get(span.address, []), key=lambda s: s.start):
        inst.calls.extend(_calls_of(kid, children))
    inst.calls.sort(key=lambda c: c.start)
    return inst


def read_instances(traces: Iterable[Trace]) -> Iterator[Instance]:
    """:func:`read_instance` of each trace, one at a time (a generator: a corpus streams)."""
    for trace in traces:
        yield read_instance(trace)


def strip_otlp(export: Mapping[str, Any], *, cost_key: str | None = "gen_ai.usage.cost") -> Any:
    """A copy of an OTLP JSON export without anything only agentsim writes.

    Removes every ``agentsim.*`` attribute of resources and spans, the span ``links`` (which
    carry agentsim's data-flow inputs) and the ``agentsim`` scope name, so the result is what a
    GenAI-instrumented application would export. With ``cost_key`` set, a span's cost is kept
    under that attribute (the one cost-reporting exporters use), since real exporters do record
    money spent; ``None`` drops it too.

    >>> import agentsim as asim
    >>> from agentsim import workflow as wf
    >>> sc = wf.scenario(wf.call("a"), {"a": {"p_ok": 1.0, "cost": 0.5}})
    >>> out = strip_otlp(asim.to_otlp(sc.run(seed=0).trace))
    >>> span = out["resourceSpans"][0]["scopeSpans"][0]["spans"][1]
    >>> sorted(a["key"] for a in span["attributes"])
    ['gen_ai.operation.name', 'gen_ai.tool.name', 'gen_ai.usage.cost']
    """
    out = copy.deepcopy(dict(export))
    for resource_spans in out.get("resourceSpans", []):
        resource = resource_spans.get("resource") or {}
        if "attributes" in resource:
            resource["attributes"] = _strip_attrs(resource["attributes"], None)
        for scope_spans in resource_spans.get("scopeSpans", []):
            scope = scope_spans.get("scope") or {}
            if scope.get("name") == "agentsim":
                scope_spans["scope"] = {"name": "app"}
            for span in scope_spans.get("spans", []):
                span.pop("links", None)
                _strip_status(span)
                span["attributes"] = _strip_attrs(span.get("attributes", []), cost_key)
    return out


def _strip_status(span: dict[str, Any]) -> None:
    # Whether an input was bad is agentsim's knowledge, not something an exporter sees.
    status = span.get("status")
    if isinstance(status, dict) and isinstance(status.get("message"), str):
        status["message"] = status["message"].removesuffix(" (bad input)")
    for attr in span.get("attributes", []):
        if attr.get("key") == "error.type" and attr.get("value") == {"stringValue": "bad_input"}:
            attr["value"] = {"stringValue": "call_failed"}


def _strip_attrs(items: list[dict[str, Any]], cost_key: str | None) -> list[dict[str, Any]]:
    kept = [a for a in items if not str(a.get("key", "")).startswith(_PREFIX)]
    if cost_key is not None:
        cost = next((a["value"] for a in items if a.get("key") == "agentsim.cost"), None)
        if cost is not None and cost.get("doubleValue"):
            kept.append({"key": cost_key, "value": cost})
    return kept
