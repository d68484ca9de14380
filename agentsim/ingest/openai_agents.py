"""OpenAI Agents SDK traces, as its exporter sends them (``{"data": [trace, span, ...]}``).

Layer: formats. It imports only from its own layer and the ones below it.

Items are traces ``{"object": "trace", "id", "workflow_name", "group_id", "metadata"}`` and
spans ``{"object": "trace.span", "id", "trace_id", "parent_id", "started_at", "ended_at",
"span_data": {"type", ...}, "error"}``. ``span_data.type`` gives the kind: ``agent`` (with its
``name``, ``handoffs`` and ``tools``), ``function`` (a tool call), ``generation`` and
``response`` (model calls, with ``usage``), ``handoff`` (``from_agent`` to ``to_agent``: the
receiving agent runs next as a *sibling* span, and is marked a sub-agent), ``guardrail``,
``custom``, ``mcp_tools``... A non-null ``error`` (``{"message", "data"}``) fails the span.

Examples
--------
>>> doc = {"data": [
...     {"object": "trace", "id": "trace_1", "workflow_name": "Support"},
...     {"object": "trace.span", "id": "span_a", "trace_id": "trace_1", "parent_id": None,
...      "started_at": "2025-01-01T00:00:00Z", "ended_at": "2025-01-01T00:00:01Z",
...      "span_data": {"type": "agent", "name": "Triage", "handoffs": ["Refunds"]}},
...     {"object": "trace.span", "id": "span_b", "trace_id": "trace_1", "parent_id": "span_a",
...      "started_at": "2025-01-01T00:00:00.5Z", "ended_at": "2025-01-01T00:00:00.5Z",
...      "span_data": {"type": "handoff", "from_agent": "Triage", "to_agent": "Refunds"}},
...     {"object": "trace.span", "id": "span_c", "trace_id": "trace_1", "parent_id": None,
...      "started_at": "2025-01-01T00:00:01Z", "ended_at": "2025-01-01T00:00:03Z",
...      "span_data": {"type": "agent", "name": "Refunds"}}]}
>>> [trace] = read(Source(obj=doc))
>>> [(s.address, s.kind, s.attributes.get("subagent")) for s in trace.spans]
[('Triage#0', 'agent', None), ('Triage#0/handoff#0', 'other', None), ('Refunds#0', 'agent', True)]
"""

from __future__ import annotations

from typing import Any

from pydantic import JsonValue

from agentsim.errors import TraceFormatError
from agentsim.ingest._build import RawSpan, build_trace
from agentsim.ingest._common import (
    Adapter,
    Source,
    expect_dict,
    fail,
    get_str,
    json_safe,
    to_ns,
)
from agentsim.ingest._semconv import payload_error, tokens_of
from agentsim.trace import SpanKind, Trace

__all__ = ["ADAPTER", "read", "sniff"]

_KINDS: dict[str, SpanKind] = {
    "agent": "agent",
    "function": "tool",
    "mcp_tools": "tool",
    "generation": "llm",
    "response": "llm",
    "transcription": "llm",
    "speech": "llm",
    "handoff": "other",
    "guardrail": "other",
    "custom": "chain",
    "speech_group": "chain",
}


def _is_item(obj: Any) -> bool:
    return isinstance(obj, dict) and (
        obj.get("object") in ("trace", "trace.span") or isinstance(obj.get("span_data"), dict)
    )


def sniff(obj: Any) -> bool:
    """Whether ``obj`` holds OpenAI Agents SDK trace or span objects."""
    if isinstance(obj, dict) and isinstance(obj.get("data"), list):
        obj = obj["data"]
    if isinstance(obj, list):
        return bool(obj) and _is_item(obj[0])
    return _is_item(obj)


def _items(source: Source) -> list[tuple[str, Any]]:
    out: list[tuple[str, Any]] = []
    for position, record in source.records():
        where = source.at(position)
        if isinstance(record, dict) and isinstance(record.get("data"), list):
            out.extend((f"{where} data[{k}]", item) for k, item in enumerate(record["data"]))
        elif isinstance(record, list):
            out.extend((f"{where} item {k}", item) for k, item in enumerate(record))
        else:
            out.append((where, record))
    return out


def _error_message(error: Any) -> str | None:
    if error in (None, False, "", {}):
        return None
    if isinstance(error, dict):
        message = error.get("message")
        return str(message) if message else "error"
    return str(error)


def _span(at: str, item: dict[str, Any], index: int) -> RawSpan:
    data = expect_dict(item.get("span_data") or {}, at, "span_data")
    span_type = get_str(data, "type", at, default="custom") or "custom"
    kind = _KINDS.get(span_type, "other")
    name = get_str(data, "name", at) or span_type
    attrs: dict[str, JsonValue] = {"span_type": span_type}
    for key in ("model", "from_agent", "to_agent", "triggered", "server", "response_id"):
        if key in data:
            attrs[key] = json_safe(data[key])
    for key in ("handoffs", "tools"):
        if isinstance(data.get(key), list):
            attrs[key] = json_safe(data[key])
    if span_type == "handoff" and isinstance(data.get("to_agent"), str):
        attrs["handoff_to"] = data["to_agent"]
    message = _error_message(item.get("error"))
    if message is None and kind == "tool":
        message = payload_error(data.get("output"))
    usage = data.get("usage")
    start = item.get("started_at")
    if start is None:
        fail(at, "started_at", "is missing")
    end = item.get("ended_at")
    return RawSpan(
        index=index,
        span_id=get_str(item, "id", at),
        parent_id=get_str(item, "parent_id", at),
        name=name,
        kind=kind,
        start_ns=to_ns(start, at, "started_at"),
        end_ns=None if end is None else to_ns(end, at, "ended_at"),
        ok=message is None,
        error=message,
        tokens=tokens_of(usage) if isinstance(usage, dict) else None,
        agent_name=name if kind == "agent" else None,
        tool_name=name if kind == "tool" else None,
        attributes=attrs,
    )


def read(source: Source) -> list[Trace]:
    """Read OpenAI Agents SDK exports: one trace per ``trace_id``."""
    headers: dict[str, dict[str, Any]] = {}
    groups: dict[str, list[RawSpan]] = {}
    agents: dict[str, set[str]] = {}
    for index, (at, item) in enumerate(_items(source)):
        item = expect_dict(item, at, None)
        if item.get("object") == "trace":
            trace_id = get_str(item, "id", at) or ""
            headers[trace_id] = item
            groups.setdefault(trace_id, [])
            continue
        trace_id = get_str(item, "trace_id", at) or ""
        raw = _span(at, item, index)
        groups.setdefault(trace_id, []).append(raw)
        for key in ("handoffs",):
            names = raw.attributes.get(key)
            if isinstance(names, list):
                agents.setdefault(trace_id, set()).update(n for n in names if isinstance(n, str))
    traces = []
    for trace_id, raws in groups.items():
        if not raws:
            continue
        header = headers.get(trace_id, {})
        attrs: dict[str, JsonValue] = {}
        for key in ("workflow_name", "group_id", "metadata"):
            if header.get(key) is not None:
                attrs[key] = json_safe(header[key])
        traces.append(
            build_trace(
                raws,
                source="openai_agents",
                trace_id=trace_id,
                attributes=attrs,
                known_agents=agents.get(trace_id),
            )
        )
    if not traces:
        raise TraceFormatError(f"{source.label}: the export holds no spans")
    return traces


ADAPTER = Adapter(
    name="openai_agents",
    sniff=sniff,
    read=read,
    summary="OpenAI Agents SDK trace exports (trace and trace.span objects)",
)
