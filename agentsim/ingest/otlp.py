"""OTLP JSON: OpenTelemetry's export format, as files, collector output and Tempo downloads.

Layer: formats. It imports only from its own layer and the ones below it.

Three shapes are read:

- a single export ``{"resourceSpans": [{"resource", "scopeSpans": [{"scope", "spans"}]}]}``;
- JSON Lines, one export per line, as the OpenTelemetry collector's file exporter writes
  (read line by line, so a large file is never held in memory as JSON);
- the legacy Tempo variant ``{"batches": [{"resource", "instrumentationLibrarySpans": ...}]}``
  with string enums (``SPAN_KIND_CLIENT``, ``STATUS_CODE_ERROR``).

Ids may be hex or base64; times are integer nanoseconds (often as strings); attributes are
OTLP typed values (``{"key", "value": {"stringValue": ...}}``). Spans are grouped by trace id,
one :class:`~agentsim.trace.Trace` per trace. Kinds, errors, tokens and cost follow the GenAI
and OpenInference conventions (:mod:`agentsim.ingest._semconv`).

Errors: a span failed when ``status.code`` is ``2`` / ``STATUS_CODE_ERROR``; an OK status
never fails it; with the status unset, an ``exception`` event that escaped the span does
(one marked ``exception.escaped=false`` is an event, counted in the import warnings), and so
does a tool result reporting an error in its payload (MCP ``isError``).

Examples
--------
>>> export = {"resourceSpans": [{"scopeSpans": [{"spans": [
...     {"traceId": "5b8efff798038103d269b633813fc60c", "spanId": "eee19b7ec3c1b174",
...      "name": "invoke_agent support", "startTimeUnixNano": "1000000000",
...      "endTimeUnixNano": "3000000000",
...      "attributes": [{"key": "gen_ai.operation.name",
...                      "value": {"stringValue": "invoke_agent"}}]}]}]}]}
>>> [trace] = read(Source(obj=export))
>>> trace.spans[0].address, trace.spans[0].kind, trace.outcomes["latency"]
('invoke_agent_support#0', 'agent', 2.0)
"""

from __future__ import annotations

from typing import Any

from pydantic import JsonValue

from agentsim.errors import TraceFormatError
from agentsim.ingest import otlp_keys as K
from agentsim.ingest._build import RawSpan, build_trace, raw_from_attributes
from agentsim.ingest._common import (
    Adapter,
    Source,
    expect_dict,
    expect_list,
    fail,
    get_str,
    json_safe,
    norm_id,
    to_ns,
)
from agentsim.ingest._roundtrip import restore_agentsim
from agentsim.trace import Trace

__all__ = ["ADAPTER", "read", "sniff", "typed_attributes"]

_KINDS = {
    "0": "unspecified",
    "1": "internal",
    "2": "server",
    "3": "client",
    "4": "producer",
    "5": "consumer",
}


def sniff(obj: Any) -> bool:
    """Whether ``obj`` is an OTLP JSON export (current or legacy Tempo shape)."""
    if not isinstance(obj, dict):
        return False
    if "resourceSpans" in obj or "batches" in obj:
        return True
    inner = obj.get("trace")
    return isinstance(inner, dict) and ("resourceSpans" in inner or "batches" in inner)


def any_value(value: Any, where: str, field: str) -> JsonValue:
    """An OTLP ``AnyValue`` (``{"stringValue": ...}``, ``{"intValue": "3"}``...) as JSON.

    >>> any_value({"arrayValue": {"values": [{"intValue": "3"}, {"boolValue": True}]}}, "x", "v")
    [3, True]
    """
    if not isinstance(value, dict):
        return json_safe(value)
    if not value:
        return None
    if "stringValue" in value:
        return json_safe(value["stringValue"])
    if "intValue" in value:
        raw = value["intValue"]
        try:
            return int(raw) if not isinstance(raw, bool) else fail(where, field, "bad intValue")
        except (TypeError, ValueError):
            fail(where, field, f"intValue {str(raw)[:40]!r} is not an integer")
    if "doubleValue" in value:
        raw = value["doubleValue"]
        try:
            return json_safe(float(raw))
        except (TypeError, ValueError):
            fail(where, field, f"doubleValue {str(raw)[:40]!r} is not a number")
    if "boolValue" in value:
        return bool(value["boolValue"])
    if "arrayValue" in value:
        inner = value["arrayValue"]
        items = inner.get("values", []) if isinstance(inner, dict) else []
        items = expect_list(items, where, f"{field}.arrayValue.values")
        return [any_value(v, where, field) for v in items]
    if "kvlistValue" in value:
        inner = value["kvlistValue"]
        items = inner.get("values", []) if isinstance(inner, dict) else []
        return dict(typed_attributes(items, where, f"{field}.kvlistValue.values"))
    if "bytesValue" in value:
        return json_safe(value["bytesValue"])
    return json_safe(value)


def typed_attributes(items: Any, where: str, field: str) -> dict[str, JsonValue]:
    """OTLP ``[{"key", "value"}]`` attributes as a flat mapping."""
    if items is None:
        return {}
    out: dict[str, JsonValue] = {}
    for k, item in enumerate(expect_list(items, where, field)):
        entry = expect_dict(item, where, f"{field}[{k}]")
        key = get_str(entry, "key", where, required=True)
        assert key is not None
        out[key] = any_value(entry.get("value"), where, f"{field}[{k}].value")
    return out


def _span(span: Any, where: str, index: int, base: dict[str, JsonValue]) -> tuple[str, RawSpan]:
    span = expect_dict(span, where, None)
    attrs = dict(base)
    attrs.update(typed_attributes(span.get("attributes"), where, "attributes"))
    name = get_str(span, "name", where, default="") or ""
    start = span.get("startTimeUnixNano")
    if start is None:
        fail(where, "startTimeUnixNano", "is missing")
    start_ns = to_ns(start, where, "startTimeUnixNano", unit="ns")
    end = span.get("endTimeUnixNano")
    end_ns = None if end is None or end in (0, "0") else to_ns(end, where, "endTimeUnixNano", "ns")
    kind = span.get("kind")
    if kind is not None:
        text = str(kind).upper().removeprefix("SPAN_KIND_").lower()
        attrs["otel.kind"] = _KINDS.get(text, text)
    status = span.get("status")
    code = message = None
    if status is not None:
        status = expect_dict(status, where, "status")
        code, message = status.get("code"), status.get("message")
    events: list[tuple[str, dict[str, JsonValue]]] = []
    for k, event in enumerate(expect_list(span.get("events") or [], where, "events")):
        event = expect_dict(event, where, f"events[{k}]")
        ev_name = get_str(event, "name", where, default="") or ""
        events.append((ev_name, typed_attributes(event.get("attributes"), where, "attributes")))
    trace_id = norm_id(span.get("traceId")) or ""
    raw = raw_from_attributes(
        index=index,
        span_id=norm_id(span.get("spanId")),
        parent_id=norm_id(span.get("parentSpanId")),
        name=name,
        start_ns=start_ns,
        end_ns=end_ns,
        attrs=attrs,
        status_code=code,
        status_message=message,
        events=events,
    )
    return trace_id, raw


def _export(record: Any, where: str, groups: dict[str, list[RawSpan]], counter: list[int]) -> None:
    record = expect_dict(record, where, None)
    if "trace" in record and "resourceSpans" not in record and "batches" not in record:
        record = expect_dict(record["trace"], where, "trace")
    key = "resourceSpans" if "resourceSpans" in record else "batches"
    if key not in record:
        fail(where, "resourceSpans", "is missing (not an OTLP export)")
    for r, resource_spans in enumerate(expect_list(record[key] or [], where, key)):
        rwhere = f"{where} {key}[{r}]"
        resource_spans = expect_dict(resource_spans, rwhere, None)
        resource = expect_dict(resource_spans.get("resource") or {}, rwhere, "resource")
        res_attrs = typed_attributes(resource.get("attributes"), rwhere, "resource.attributes")
        base: dict[str, JsonValue] = {}
        if "service.name" in res_attrs:
            base["service.name"] = res_attrs["service.name"]
        # agentsim's own export puts the run's identity on the resource (see _roundtrip)
        base.update({k: v for k, v in res_attrs.items() if k.startswith(K.AGENTSIM_PREFIX)})
        scope_key = (
            "scopeSpans" if "scopeSpans" in resource_spans else "instrumentationLibrarySpans"
        )
        scopes = expect_list(resource_spans.get(scope_key) or [], rwhere, scope_key)
        for s, scope_spans in enumerate(scopes):
            swhere = f"{rwhere}.{scope_key}[{s}]"
            scope_spans = expect_dict(scope_spans, swhere, None)
            scope = scope_spans.get("scope") or scope_spans.get("instrumentationLibrary") or {}
            scope = expect_dict(scope, swhere, "scope")
            scope_base = dict(base)
            if isinstance(scope.get("name"), str):
                scope_base["otel.scope.name"] = scope["name"]
            for k, span in enumerate(expect_list(scope_spans.get("spans") or [], swhere, "spans")):
                trace_id, raw = _span(span, f"{swhere}.spans[{k}]", counter[0], scope_base)
                counter[0] += 1
                groups.setdefault(trace_id, []).append(raw)


def read(source: Source) -> list[Trace]:
    """Read an OTLP JSON export, a JSON Lines file of exports, or a legacy Tempo export."""
    groups: dict[str, list[RawSpan]] = {}
    counter = [0]
    variant = "otlp"
    for position, record in source.records():
        if isinstance(record, dict) and "batches" in record:
            variant = "tempo-batches"
        _export(record, source.at(position), groups, counter)
    if not groups:
        raise TraceFormatError(f"{source.label}: the OTLP export holds no spans")
    attrs: dict[str, JsonValue] = {"variant": variant, "jsonl": source.is_jsonl}
    out = []
    for trace_id, raws in groups.items():
        trace = build_trace(raws, source="otlp", trace_id=trace_id, attributes=dict(attrs))
        try:
            out.append(restore_agentsim(trace))
        except TraceFormatError as exc:  # agentsim attributes that do not make a trace
            raise TraceFormatError(f"{source.label}: trace {trace_id!r}: {exc}") from None
    return out


ADAPTER = Adapter(
    name="otlp",
    sniff=sniff,
    read=read,
    summary="OTLP JSON exports, collector JSON Lines, legacy Tempo batches",
)
