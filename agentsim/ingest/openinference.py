"""OpenInference spans, as Arize Phoenix exports and serves them.

Layer: formats. It imports only from its own layer and the ones below it.

A span is ``{"name", "context": {"trace_id", "span_id"}, "parent_id", "span_kind",
"start_time", "end_time", "status_code", "status_message", "attributes", "events"}``; the kind
(``LLM``, ``TOOL``, ``AGENT``, ``CHAIN``, ``RETRIEVER``, ``EMBEDDING``, ``RERANKER``,
``GUARDRAIL``, ``EVALUATOR``...) sits in ``span_kind`` or in the attribute
``openinference.span.kind``. Attributes may be flat dotted keys or nested objects; a dataframe
export flattens everything into columns (``context.span_id``, ``attributes.llm.model_name``).
Files hold a list of spans, ``{"data": [...]}`` (the REST API), a mapping from names to span
lists (Phoenix test fixtures) or one span per line. Spans are grouped by trace id.

Errors: ``status_code`` ``ERROR`` fails a span; with it ``UNSET``, an ``exception`` event that
escaped the span does (``exception.escaped=false`` is an event, counted in the import
warnings), as does a tool result reporting an error in its payload.

Examples
--------
>>> spans = [{"name": "turn", "context": {"trace_id": "t", "span_id": "a"}, "span_kind": "AGENT",
...           "parent_id": None, "start_time": "2026-01-01T00:00:00Z",
...           "end_time": "2026-01-01T00:00:02Z", "status_code": "ERROR",
...           "status_message": "rejected", "attributes": {}}]
>>> [trace] = read(Source(obj=spans))
>>> trace.spans[0].kind, trace.spans[0].error, trace.outcomes["success"]
('agent', 'rejected', 0.0)
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
from agentsim.ingest._semconv import OPENINFERENCE_KINDS
from agentsim.trace import Trace

__all__ = ["ADAPTER", "read", "sniff"]


def _is_span(obj: Any) -> bool:
    if not isinstance(obj, dict):
        return False
    if "span_kind" in obj and ("context" in obj or "context.span_id" in obj):
        return True
    attrs = obj.get("attributes")
    return (
        isinstance(attrs, dict)
        and "openinference.span.kind" in flatten(attrs)
        and "parent_id" in obj
        and "status" not in obj
    )


def _span_lists(obj: Any) -> list[tuple[str, list[Any]]] | None:
    """The span lists in ``obj`` with their path, or ``None`` when it holds none."""
    if isinstance(obj, list):
        return [("", obj)] if obj and _is_span(obj[0]) else None
    if not isinstance(obj, dict):
        return None
    if _is_span(obj):
        return [("", [obj])]
    if isinstance(obj.get("data"), list):
        return _span_lists(obj["data"])
    lists = [
        (str(key), value)
        for key, value in obj.items()
        if isinstance(value, list) and value and _is_span(value[0])
    ]
    return lists or None


def sniff(obj: Any) -> bool:
    """Whether ``obj`` holds OpenInference spans (Phoenix export shapes)."""
    return _span_lists(obj) is not None


def _field(span: dict[str, Any], *path: str) -> Any:
    value: Any = span
    for part in path:
        if not isinstance(value, dict):
            value = None
            break
        value = value.get(part)
    return value if value is not None else span.get(".".join(path))


def _span(span: Any, where: str, index: int) -> tuple[str, RawSpan]:
    span = expect_dict(span, where, None)
    attrs_in = span.get("attributes")
    flat = flatten(expect_dict(attrs_in, where, "attributes")) if attrs_in is not None else {}
    for key, value in span.items():
        if key.startswith("attributes."):
            flat[key.removeprefix("attributes.")] = value
    attrs: dict[str, JsonValue] = {k: json_safe(v) for k, v in flat.items()}
    declared = span.get("span_kind") or attrs.get("openinference.span.kind")
    kind = None
    if isinstance(declared, str):
        attrs["openinference.span.kind"] = declared
        kind = OPENINFERENCE_KINDS.get(declared.upper())
    start = span.get("start_time")
    if start is None:
        fail(where, "start_time", "is missing")
    end = span.get("end_time")
    events: list[tuple[str, dict[str, JsonValue]]] = []
    for k, event in enumerate(expect_list(span.get("events") or [], where, "events")):
        event = expect_dict(event, where, f"events[{k}]")
        ev_attrs = flatten(expect_dict(event.get("attributes") or {}, where, "attributes"))
        events.append(
            (
                get_str(event, "name", where, default="") or "",
                {k2: json_safe(v) for k2, v in ev_attrs.items()},
            )
        )
    raw = raw_from_attributes(
        index=index,
        span_id=norm_id(_field(span, "context", "span_id")),
        parent_id=norm_id(span.get("parent_id")),
        name=get_str(span, "name", where, default="") or "",
        start_ns=to_ns(start, where, "start_time"),
        end_ns=None if end is None else to_ns(end, where, "end_time"),
        attrs=attrs,
        status_code=span.get("status_code"),
        status_message=span.get("status_message"),
        events=events,
        kind=kind,
    )
    return norm_id(_field(span, "context", "trace_id")) or "", raw


def read(source: Source) -> list[Trace]:
    """Read OpenInference spans, one trace per trace id (a named list labels its traces)."""
    groups: dict[str, list[RawSpan]] = {}
    labels: dict[str, str] = {}
    index = 0
    for position, record in source.records():
        where = source.at(position)
        lists = _span_lists(record)
        if lists is None:
            if isinstance(record, dict | list):
                lists = [("", record if isinstance(record, list) else [record])]
            else:
                fail(where, None, "expected OpenInference spans")
        for label, spans in lists:
            for k, item in enumerate(spans):
                at = f"{where} {label}[{k}]" if label else f"{where} span {k}"
                trace_id, raw = _span(item, at, index)
                index += 1
                groups.setdefault(trace_id, []).append(raw)
                if label:
                    labels.setdefault(trace_id, label)
    if not groups:
        raise TraceFormatError(f"{source.label}: the file holds no OpenInference spans")
    traces = []
    for trace_id, raws in groups.items():
        attrs: dict[str, JsonValue] = {}
        if trace_id in labels:
            attrs["label"] = labels[trace_id]
        traces.append(
            build_trace(raws, source="openinference", trace_id=trace_id, attributes=attrs)
        )
    return traces


ADAPTER = Adapter(
    name="openinference",
    sniff=sniff,
    read=read,
    summary="OpenInference spans (Phoenix exports, REST API, dataframe records)",
)
