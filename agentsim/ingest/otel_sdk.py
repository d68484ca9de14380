"""OpenTelemetry spans as SDKs serialise them one by one (not OTLP).

Layer: formats. It imports only from its own layer and the ones below it.

Python's ``ReadableSpan.to_json()`` and tools built on it (any-agent's ``AgentTrace``) write
each span as ``{"name", "context": {"trace_id", "span_id"}, "parent": {...} | "parent_id",
"kind", "start_time", "end_time", "status": {"status_code", "description"}, "attributes",
"events"}``, with ids as integers or ``0x`` hex and times as nanoseconds or ISO strings. A
file holds ``{"spans": [...]}``, a bare list of spans, or one span per line.

Errors: ``status.status_code`` ``ERROR`` fails a span; with it ``UNSET``, an ``exception``
event that escaped the span does (``exception.escaped=false`` is an event, counted in the
import warnings), as does a tool result reporting an error in its payload.

Examples
--------
>>> spans = [{"name": "execute_tool search", "context": {"trace_id": 1, "span_id": 2},
...           "parent": None, "kind": "SpanKind.INTERNAL", "start_time": 10**18,
...           "end_time": 10**18 + 5 * 10**8, "status": {"status_code": "ERROR",
...           "description": "timeout"}, "attributes": {"gen_ai.tool.name": "search"}}]
>>> [trace] = read(Source(obj=spans))
>>> s = trace.spans[0]
>>> s.kind, s.error, s.end
('tool', 'timeout', 0.5)
"""

from __future__ import annotations

from typing import Any

from pydantic import JsonValue

from agentsim.errors import TraceFormatError
from agentsim.ingest._build import RawSpan, build_trace, raw_from_attributes
from agentsim.ingest._common import (
    Adapter,
    Source,
    expect_dict,
    expect_list,
    fail,
    flatten,
    get_str,
    json_safe,
    norm_id,
    to_ns,
)
from agentsim.trace import Trace

__all__ = ["ADAPTER", "read", "sniff"]


def _is_span(obj: Any) -> bool:
    return (
        isinstance(obj, dict)
        and isinstance(obj.get("context"), dict)
        and "start_time" in obj
        and ("status" in obj or "parent" in obj or "kind" in obj)
        and "span_kind" not in obj
    )


def sniff(obj: Any) -> bool:
    """Whether ``obj`` holds SDK-serialised OpenTelemetry spans."""
    if isinstance(obj, dict) and isinstance(obj.get("spans"), list):
        obj = obj["spans"]
    if isinstance(obj, list):
        return bool(obj) and _is_span(obj[0])
    return _is_span(obj)


def _span(span: Any, where: str, index: int) -> tuple[str, RawSpan]:
    span = expect_dict(span, where, None)
    context = expect_dict(span.get("context"), where, "context")
    parent_ctx = span.get("parent")
    parent = None
    if isinstance(parent_ctx, dict):
        parent = norm_id(parent_ctx.get("span_id"))
    elif span.get("parent_id") is not None:
        parent = norm_id(span.get("parent_id"))
    attrs_in = expect_dict(span.get("attributes") or {}, where, "attributes")
    attrs: dict[str, JsonValue] = {k: json_safe(v) for k, v in flatten(attrs_in).items()}
    resource = span.get("resource")
    if isinstance(resource, dict) and isinstance(resource.get("attributes"), dict):
        service = resource["attributes"].get("service.name")
        if isinstance(service, str):
            attrs.setdefault("service.name", service)
    kind = span.get("kind")
    if isinstance(kind, str):
        attrs["otel.kind"] = kind.lower().removeprefix("spankind.")
    if span.get("start_time") is None:
        fail(where, "start_time", "is missing")
    start_ns = to_ns(span["start_time"], where, "start_time")
    end = span.get("end_time")
    end_ns = None if end is None else to_ns(end, where, "end_time")
    status = span.get("status")
    code = message = None
    if status is not None:
        status = expect_dict(status, where, "status")
        code, message = status.get("status_code"), status.get("description")
        if isinstance(code, str):
            code = code.lower().removeprefix("statuscode.")
    events: list[tuple[str, dict[str, JsonValue]]] = []
    for k, event in enumerate(expect_list(span.get("events") or [], where, "events")):
        event = expect_dict(event, where, f"events[{k}]")
        ev_attrs = expect_dict(event.get("attributes") or {}, where, f"events[{k}].attributes")
        ev_name = get_str(event, "name", where, default="") or ""
        events.append((ev_name, {k2: json_safe(v) for k2, v in ev_attrs.items()}))
    raw = raw_from_attributes(
        index=index,
        span_id=norm_id(context.get("span_id")),
        parent_id=parent,
        name=get_str(span, "name", where, default="") or "",
        start_ns=start_ns,
        end_ns=end_ns,
        attrs=attrs,
        status_code=code,
        status_message=message,
        events=events,
    )
    return norm_id(context.get("trace_id")) or "", raw


def read(source: Source) -> list[Trace]:
    """Read SDK-serialised spans, grouped into one trace per trace id."""
    groups: dict[str, list[RawSpan]] = {}
    final_output: JsonValue = None
    index = 0
    for position, record in source.records():
        where = source.at(position)
        if isinstance(record, dict) and isinstance(record.get("spans"), list):
            final_output = json_safe(record.get("final_output"))
            items: list[Any] = record["spans"]
            label = f"{where} spans"
        elif isinstance(record, list):
            items, label = record, where
        else:
            items, label = [record], where
        for k, item in enumerate(items):
            trace_id, raw = _span(item, f"{label} span {k}", index)
            index += 1
            groups.setdefault(trace_id, []).append(raw)
    if not groups:
        raise TraceFormatError(f"{source.label}: the file holds no spans")
    attrs: dict[str, JsonValue] = {}
    if final_output is not None:
        attrs["final_output"] = final_output
    return [
        build_trace(raws, source="otel_sdk", trace_id=tid, attributes=dict(attrs))
        for tid, raws in groups.items()
    ]


ADAPTER = Adapter(
    name="otel_sdk",
    sniff=sniff,
    read=read,
    summary="OpenTelemetry SDK span JSON (ReadableSpan.to_json, any-agent AgentTrace)",
)
