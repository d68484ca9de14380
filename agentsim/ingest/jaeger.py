"""Jaeger JSON: the trace download of the Jaeger UI and the ``/api/traces`` query API.

Layer: formats. It imports only from its own layer and the ones below it.

The shape is ``{"data": [{"traceID", "spans": [...], "processes": {...}}]}``; each span has
``spanID``, ``operationName``, ``references`` (``CHILD_OF`` / ``FOLLOWS_FROM`` a ``spanID``),
``startTime`` and ``duration`` in microseconds, ``tags`` (``{"key", "type", "value"}``) and
``logs`` (timestamped field lists; an ``event=exception`` log is an exception).

Errors: a span failed when it carries the ``error=true`` tag or ``otel.status_code=ERROR``;
with neither tag nor ``otel.status_code``, an exception log that escaped the span fails it. An
exception log marked ``exception.escaped=false`` (a poll cancelled inside the span) is an
event, not a failure; the import warnings count them. Some error-tagged spans are harmless
(a polling ``404``), which the trace cannot tell, so they are kept as errors.

Examples
--------
>>> doc = {"data": [{"traceID": "ab", "spans": [
...     {"traceID": "ab", "spanID": "01", "operationName": "GET", "references": [],
...      "startTime": 1700000000000000, "duration": 2500,
...      "tags": [{"key": "error", "type": "bool", "value": True}], "logs": []}]}]}
>>> [trace] = read(Source(obj=doc))
>>> trace.spans[0].end, trace.spans[0].ok
(0.0025, False)
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
    get_str,
    json_safe,
    norm_id,
    to_ns,
)
from agentsim.trace import Trace

__all__ = ["ADAPTER", "read", "sniff"]


def sniff(obj: Any) -> bool:
    """Whether ``obj`` is a Jaeger JSON document (``data`` of traces with ``spans``)."""
    if not isinstance(obj, dict):
        return False
    data = obj.get("data")
    if isinstance(data, list) and data and isinstance(data[0], dict):
        return "spans" in data[0] and ("traceID" in data[0] or "processes" in data[0])
    return False


def _tags(items: Any, where: str, field: str) -> dict[str, JsonValue]:
    out: dict[str, JsonValue] = {}
    for k, item in enumerate(expect_list(items or [], where, field)):
        entry = expect_dict(item, where, f"{field}[{k}]")
        key = get_str(entry, "key", where, required=True)
        assert key is not None
        out[key] = json_safe(entry.get("value"))
    return out


def _span(span: Any, where: str, index: int, services: dict[str, str]) -> RawSpan:
    span = expect_dict(span, where, None)
    attrs = _tags(span.get("tags"), where, "tags")
    process = span.get("processID")
    if isinstance(process, str) and process in services:
        attrs.setdefault("service.name", services[process])
    name = get_str(span, "operationName", where, default="") or ""
    if span.get("startTime") is None:
        fail(where, "startTime", "is missing")
    start_ns = to_ns(span["startTime"], where, "startTime", unit="us")
    duration = span.get("duration")
    end_ns = None if duration is None else start_ns + to_ns(duration, where, "duration", "us")
    parent = None
    for k, ref in enumerate(expect_list(span.get("references") or [], where, "references")):
        ref = expect_dict(ref, where, f"references[{k}]")
        if parent is None or ref.get("refType") == "CHILD_OF":
            parent = norm_id(ref.get("spanID"))
    events: list[tuple[str, dict[str, JsonValue]]] = []
    for k, log in enumerate(expect_list(span.get("logs") or [], where, "logs")):
        log = expect_dict(log, where, f"logs[{k}]")
        fields = _tags(log.get("fields"), where, f"logs[{k}].fields")
        event = fields.get("event")
        events.append((event if isinstance(event, str) else "", fields))
    if "span.kind" in attrs:
        attrs["otel.kind"] = attrs["span.kind"]
    code: object = attrs.get("otel.status_code")
    if attrs.get("error") in (True, "true", "True"):
        code = "ERROR"
    message = attrs.get("otel.status_description") or attrs.get("error.message")
    if code == "ERROR" and not message and "http.status_code" in attrs:
        message = f"HTTP {attrs['http.status_code']}"
    return raw_from_attributes(
        index=index,
        span_id=norm_id(span.get("spanID")),
        parent_id=parent,
        name=name,
        start_ns=start_ns,
        end_ns=end_ns,
        attrs=attrs,
        status_code=code,
        status_message=message,
        events=events,
    )


def read(source: Source) -> list[Trace]:
    """Read a Jaeger JSON document (or JSON Lines of them): one trace per ``data`` entry."""
    traces: list[Trace] = []
    for position, record in source.records():
        where = source.at(position)
        record = expect_dict(record, where, None)
        for t, entry in enumerate(expect_list(record.get("data"), where, "data")):
            twhere = f"{where} data[{t}]"
            entry = expect_dict(entry, twhere, None)
            services: dict[str, str] = {}
            processes = expect_dict(entry.get("processes") or {}, twhere, "processes")
            for key, proc in processes.items():
                if isinstance(proc, dict) and isinstance(proc.get("serviceName"), str):
                    services[key] = proc["serviceName"]
            spans = expect_list(entry.get("spans"), twhere, "spans")
            raws = [_span(s, f"{twhere} spans[{k}]", k, services) for k, s in enumerate(spans)]
            if raws:
                trace_id = norm_id(entry.get("traceID")) or ""
                traces.append(build_trace(raws, source="jaeger", trace_id=trace_id))
    if not traces:
        raise TraceFormatError(f"{source.label}: the Jaeger document holds no spans")
    return traces


ADAPTER = Adapter(name="jaeger", sniff=sniff, read=read, summary="Jaeger JSON (UI download, API)")
