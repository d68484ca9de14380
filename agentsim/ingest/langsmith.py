"""LangSmith runs: run lists, run trees with ``child_runs``, and batch-ingest payloads.

Layer: formats. It imports only from its own layer and the ones below it.

A run is ``{"id", "name", "run_type", "start_time", "end_time", "parent_run_id", "trace_id",
"dotted_order", "error", "inputs", "outputs", "extra", "events", "child_runs"}``. Files hold a
list of runs, one run (a tree through ``child_runs``), ``{"runs": [...]}``, one run per line, or
a batch-ingest payload ``{"post": [...], "patch": [...]}`` whose patches complete the posted
runs (end time, outputs, error). Runs are ordered by ``dotted_order`` (which also names the
parent chain when ``parent_run_id`` is absent). ``run_type`` ``llm``, ``tool``, ``chain``,
``retriever``... gives the kind; a non-empty ``error`` fails the run; token counts come from
``usage_metadata`` or ``token_usage`` in the outputs, or the run's own token fields.

Examples
--------
>>> run = {"id": "r1", "name": "agent", "run_type": "chain",
...        "start_time": "2024-10-11T20:58:20Z", "end_time": "2024-10-11T20:58:22Z",
...        "child_runs": [{"id": "r2", "name": "search", "run_type": "tool",
...                        "start_time": "2024-10-11T20:58:21Z",
...                        "end_time": "2024-10-11T20:58:21.5Z", "error": "HTTP 500"}]}
>>> [trace] = read(Source(obj=run))
>>> [(s.address, s.kind, s.error) for s in trace.spans]
[('agent#0', 'chain', None), ('agent#0/search#0', 'tool', 'HTTP 500')]
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
    get_float,
    get_str,
    json_safe,
    norm_id,
    to_ns,
)
from agentsim.ingest._semconv import RUN_TYPES, payload_error, tokens_of
from agentsim.trace import Trace

__all__ = ["ADAPTER", "read", "sniff"]


def _is_run(obj: Any) -> bool:
    return isinstance(obj, dict) and "run_type" in obj and ("id" in obj or "name" in obj)


def sniff(obj: Any) -> bool:
    """Whether ``obj`` holds LangSmith runs or a batch-ingest payload."""
    if isinstance(obj, list):
        return bool(obj) and _is_run(obj[0])
    if not isinstance(obj, dict):
        return False
    if isinstance(obj.get("post"), list) or isinstance(obj.get("patch"), list):
        first = (obj.get("post") or obj.get("patch") or [None])[0]
        return isinstance(first, dict) and ("dotted_order" in first or "run_type" in first)
    if isinstance(obj.get("runs"), list):
        return bool(obj["runs"]) and _is_run(obj["runs"][0])
    return _is_run(obj)


def _flatten_runs(items: list[Any], where: str, out: list[tuple[str, dict[str, Any]]]) -> None:
    stack: list[tuple[str, Any, tuple[Any, Any] | None]] = []
    for k, item in reversed(list(enumerate(items))):
        stack.append((f"{where} run {k}", item, None))
    while stack:
        at, run, parent = stack.pop()
        run = dict(expect_dict(run, at, None))
        if parent is not None:
            if run.get("parent_run_id") is None:
                run["parent_run_id"] = parent[0]
            if run.get("trace_id") is None and parent[1] is not None:
                run["trace_id"] = parent[1]
        children = expect_list(run.pop("child_runs", None) or [], at, "child_runs")
        out.append((at, run))
        for k, child in reversed(list(enumerate(children))):
            trace_id = run.get("trace_id") if run.get("trace_id") is not None else run.get("id")
            stack.append((f"{at} child_runs[{k}]", child, (run.get("id"), trace_id)))


def _collect(source: Source) -> list[tuple[str, dict[str, Any]]]:
    runs: list[tuple[str, dict[str, Any]]] = []
    patches: list[tuple[str, dict[str, Any]]] = []
    for position, record in source.records():
        where = source.at(position)
        if isinstance(record, dict) and ("post" in record or "patch" in record):
            _flatten_runs(expect_list(record.get("post") or [], where, "post"), where, runs)
            _flatten_runs(expect_list(record.get("patch") or [], where, "patch"), where, patches)
        elif isinstance(record, dict) and "runs" in record:
            _flatten_runs(expect_list(record["runs"], where, "runs"), where, runs)
        elif isinstance(record, list):
            _flatten_runs(record, where, runs)
        else:
            _flatten_runs([record], where, runs)
    by_id = {get_str(run, "id", at): run for at, run in runs}
    by_id.pop(None, None)
    for at, patch in patches:
        target = by_id.get(get_str(patch, "id", at))
        if target is None:
            runs.append((at, patch))
            continue
        for key, value in patch.items():
            if value is not None and (key not in target or value not in ({}, [])):
                target[key] = value
    return runs


def _dotted_parts(dotted: str) -> list[tuple[str, str]]:
    """``(timestamp, run id)`` segments of a dotted order."""
    parts = []
    for segment in dotted.split("."):
        stamp, _, run_id = segment.partition("Z")
        parts.append((stamp, run_id))
    return parts


def _run(at: str, run: dict[str, Any], index: int) -> tuple[str, RawSpan]:
    run_id = get_str(run, "id", at)
    name = get_str(run, "name", at, default="") or ""
    run_type = get_str(run, "run_type", at, default="") or ""
    dotted = get_str(run, "dotted_order", at)
    parent = get_str(run, "parent_run_id", at)
    start = run.get("start_time")
    if start is None and dotted:
        stamp = _dotted_parts(dotted)[-1][0]
        if len(stamp) >= 15:
            start = (
                f"{stamp[:4]}-{stamp[4:6]}-{stamp[6:8]}T{stamp[9:11]}:{stamp[11:13]}:"
                f"{stamp[13:15]}.{stamp[15:] or '0'}Z"
            )
    if start is None:
        fail(at, "start_time", "is missing")
    if parent is None and dotted and "." in dotted:
        parent = _dotted_parts(dotted)[-2][1] or None
    end = run.get("end_time")
    attrs: dict[str, JsonValue] = {"run_type": run_type}
    if dotted:
        attrs["dotted_order"] = dotted
    extra = run.get("extra")
    metadata = extra.get("metadata") if isinstance(extra, dict) else None
    outputs = run.get("outputs")
    usage: dict[str, Any] = {}
    if isinstance(metadata, dict):
        for key in ("ls_model_name", "ls_provider"):
            if isinstance(metadata.get(key), str):
                attrs[key] = metadata[key]
        if isinstance(metadata.get("ls_model_name"), str):
            attrs["model"] = metadata["ls_model_name"]
    if isinstance(outputs, dict):
        for key in ("usage_metadata", "usage"):
            if isinstance(outputs.get(key), dict):
                usage.update(outputs[key])
        llm_output = outputs.get("llm_output")
        if isinstance(llm_output, dict) and isinstance(llm_output.get("token_usage"), dict):
            usage.update(llm_output["token_usage"])
    for key in ("prompt_tokens", "completion_tokens", "total_tokens"):
        if run.get(key) is not None:
            usage[key] = run[key]
    error = run.get("error")
    ok = error in (None, "", False)
    message = None if ok else str(error)
    if ok and run.get("status") == "error":
        ok, message = False, "error status"
    if ok and run_type == "tool":
        reported = payload_error(outputs.get("output") if isinstance(outputs, dict) else outputs)
        if reported is not None:
            ok, message = False, reported
    cost = get_float(run, "total_cost", at) or 0.0
    kind = RUN_TYPES.get(run_type.lower())
    raw = RawSpan(
        index=index,
        span_id=run_id,
        parent_id=parent,
        name=name,
        kind=kind,
        start_ns=to_ns(start, at, "start_time"),
        end_ns=None if end is None else to_ns(end, at, "end_time"),
        ok=ok,
        error=message,
        cost=cost,
        tokens=tokens_of(usage),
        attributes={k: json_safe(v) for k, v in attrs.items()},
    )
    trace_id = norm_id(run.get("trace_id")) or (
        _dotted_parts(dotted)[0][1] if dotted else run_id or ""
    )
    return trace_id, raw


def read(source: Source) -> list[Trace]:
    """Read LangSmith runs; one trace per ``trace_id``, runs in ``dotted_order``."""
    runs = _collect(source)
    runs.sort(key=lambda item: str(item[1].get("dotted_order") or ""))
    groups: dict[str, list[RawSpan]] = {}
    for index, (at, run) in enumerate(runs):
        trace_id, raw = _run(at, run, index)
        groups.setdefault(trace_id, []).append(raw)
    if not groups:
        raise TraceFormatError(f"{source.label}: the file holds no LangSmith runs")
    return [build_trace(raws, source="langsmith", trace_id=tid) for tid, raws in groups.items()]


ADAPTER = Adapter(
    name="langsmith",
    sniff=sniff,
    read=read,
    summary="LangSmith runs (lists, child_runs trees, batch-ingest post/patch)",
)
