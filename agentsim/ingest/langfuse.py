"""Langfuse trace exports: a trace with its observations.

Layer: formats. It imports only from its own layer and the ones below it.

The UI download and the public API give ``{"trace": {...}, "observations": [...]}`` or a trace
object holding ``observations``. An observation has ``id``, ``parentObservationId``, ``type``
(``SPAN``, ``GENERATION``, ``EVENT``, ``TOOL``, ``AGENT``, ``CHAIN``, ``RETRIEVER``,
``EMBEDDING``, ``EVALUATOR``, ``GUARDRAIL``), ``name``, ISO ``startTime`` / ``endTime``,
``level`` (``ERROR`` fails it, with ``statusMessage``), usage (``usageDetails`` or ``usage``)
and cost (``totalCost`` or ``costDetails``), and ``metadata`` (an object or a JSON string) whose
``attributes`` hold the original OpenTelemetry attributes, used to classify plain ``SPAN``s.

Examples
--------
>>> doc = {"trace": {"id": "t1", "name": "run"}, "observations": [
...     {"id": "a", "type": "AGENT", "name": "planner", "parentObservationId": None,
...      "startTime": "2025-01-01T00:00:00.000Z", "endTime": "2025-01-01T00:00:02.000Z"},
...     {"id": "b", "type": "GENERATION", "name": "chat", "parentObservationId": "a",
...      "startTime": "2025-01-01T00:00:00.500Z", "endTime": "2025-01-01T00:00:01.500Z",
...      "level": "ERROR", "statusMessage": "rate limited", "totalCost": 0.002,
...      "usageDetails": {"input": 10, "output": 0}}]}
>>> [trace] = read(Source(obj=doc))
>>> [(s.address, s.kind, s.error, s.cost) for s in trace.spans]
[('planner#0', 'agent', None, 0.0), ('planner#0/chat#0', 'llm', 'rate limited', 0.002)]
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
    expect_list,
    fail,
    flatten,
    get_float,
    get_str,
    json_safe,
    maybe_json,
    to_ns,
)
from agentsim.ingest._semconv import (
    agent_name_of,
    classify,
    model_of,
    payload_error,
    tokens_of,
    tool_name_of,
)
from agentsim.trace import SpanKind, Trace

__all__ = ["ADAPTER", "read", "sniff"]

_TYPES: dict[str, SpanKind | None] = {
    "GENERATION": "llm",
    "EMBEDDING": "llm",
    "TOOL": "tool",
    "RETRIEVER": "tool",
    "AGENT": "agent",
    "CHAIN": "chain",
    "EVENT": "other",
    "EVALUATOR": "other",
    "GUARDRAIL": "other",
    "SPAN": None,
}


def _is_export(obj: Any) -> bool:
    if not isinstance(obj, dict):
        return False
    if isinstance(obj.get("observations"), list):
        return True
    inner = obj.get("trace")
    return isinstance(inner, dict) and isinstance(inner.get("observations"), list)


def sniff(obj: Any) -> bool:
    """Whether ``obj`` is a Langfuse trace export (or a list of them)."""
    if isinstance(obj, list):
        return bool(obj) and _is_export(obj[0])
    return _is_export(obj)


def _observation(at: str, obs: Any, index: int) -> RawSpan:
    obs = expect_dict(obs, at, None)
    name = get_str(obs, "name", at, default="") or ""
    obs_type = (get_str(obs, "type", at, default="SPAN") or "SPAN").upper()
    metadata = maybe_json(obs.get("metadata"))
    attrs_in: dict[str, Any] = {}
    if isinstance(metadata, dict):
        inner = metadata.get("attributes")
        attrs_in = flatten(inner) if isinstance(inner, dict) else {}
        for key in ("langgraph_node", "langgraph_step", "agent_name"):
            if key in metadata:
                attrs_in.setdefault(key, metadata[key])
    kind = _TYPES.get(obs_type)
    if kind is None:
        kind = classify(attrs_in, name)
    # LangGraph runs each tool inside the node named "tools"; Langfuse records it as a SPAN.
    if kind is None and attrs_in.get("langgraph_node") == "tools" and name != "tools":
        kind = "tool"
    attrs: dict[str, JsonValue] = {k: json_safe(v) for k, v in attrs_in.items()}
    attrs["observation_type"] = obs_type
    model = get_str(obs, "model", at) or model_of(attrs_in)
    if model:
        attrs["model"] = model
    level = get_str(obs, "level", at, default="DEFAULT") or "DEFAULT"
    attrs["level"] = level
    message = get_str(obs, "statusMessage", at)
    ok, error = True, None
    if level.upper() == "ERROR":
        ok, error = False, message or "level ERROR"
    elif message:
        attrs["statusMessage"] = message
    if ok and kind == "tool":
        reported = payload_error(obs.get("output"))
        if reported is not None:
            ok, error = False, reported
    usage: dict[str, Any] = {}
    for key in ("usage", "usageDetails"):
        if isinstance(obs.get(key), dict):
            usage.update(obs[key])
    for key, slot in (("inputUsage", "input"), ("outputUsage", "output"), ("totalUsage", "total")):
        if obs.get(key) not in (None, 0) and slot not in usage:
            usage[slot] = obs[key]
    cost = get_float(obs, "totalCost", at) or get_float(obs, "calculatedTotalCost", at)
    if cost is None and isinstance(obs.get("costDetails"), dict):
        cost = get_float(obs["costDetails"], "total", at)
    start = obs.get("startTime")
    if start is None:
        fail(at, "startTime", "is missing")
    end = obs.get("endTime")
    start_ns = to_ns(start, at, "startTime")
    end_ns = None if end is None else to_ns(end, at, "endTime")
    if obs_type == "EVENT" and end_ns is None:
        end_ns = start_ns
    return RawSpan(
        index=index,
        span_id=get_str(obs, "id", at),
        parent_id=get_str(obs, "parentObservationId", at),
        name=name,
        kind=kind,
        start_ns=start_ns,
        end_ns=end_ns,
        ok=ok,
        error=error,
        cost=cost or 0.0,
        tokens=tokens_of(usage),
        agent_name=agent_name_of(attrs_in, name) if kind == "agent" else None,
        tool_name=tool_name_of(attrs_in, name) if kind == "tool" else None,
        attributes=attrs,
    )


def _trace(where: str, export: Any) -> Trace:
    export = expect_dict(export, where, None)
    header = export.get("trace") if isinstance(export.get("trace"), dict) else export
    assert isinstance(header, dict)
    observations = export.get("observations")
    if observations is None:
        observations = header.get("observations")
    observations = expect_list(observations, where, "observations")
    raws = [
        _observation(f"{where} observations[{k}]", obs, k) for k, obs in enumerate(observations)
    ]
    if not raws:
        fail(where, "observations", "is empty")
    attrs: dict[str, JsonValue] = {}
    for key in ("name", "userId", "sessionId", "tags", "environment"):
        if header.get(key) not in (None, [], ""):
            attrs[key] = json_safe(header[key])
    scores = header.get("scores")
    if isinstance(scores, list):
        attrs["scores"] = [
            {"name": json_safe(s.get("name")), "value": json_safe(s.get("value"))}
            for s in scores
            if isinstance(s, dict)
        ]
    trace_id = get_str(header, "id", where, default="") or ""
    return build_trace(raws, source="langfuse", trace_id=trace_id, attributes=attrs)


def read(source: Source) -> list[Trace]:
    """Read Langfuse trace exports: one trace per export."""
    traces: list[Trace] = []
    for position, record in source.records():
        where = source.at(position)
        if isinstance(record, list):
            traces.extend(_trace(f"{where} [{k}]", item) for k, item in enumerate(record))
        else:
            traces.append(_trace(where, record))
    if not traces:
        raise TraceFormatError(f"{source.label}: the file holds no Langfuse traces")
    return traces


ADAPTER = Adapter(
    name="langfuse",
    sniff=sniff,
    read=read,
    summary="Langfuse trace exports (trace with observations)",
)
