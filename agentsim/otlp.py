"""Export traces as OTLP JSON with OpenTelemetry GenAI span names and attributes.

Layer: formats. It imports only from its own layer and the ones below it.

OpenTelemetry's protocol (OTLP) nests spans as ``resourceSpans`` (who produced them) ->
``scopeSpans`` (which instrumentation) -> ``spans``. The GenAI semantic conventions name agent
telemetry: an agent invocation is a span called ``invoke_agent {agent}``, a tool call
``execute_tool {tool}``, a model call ``chat {model}``, and ``gen_ai.*`` attributes say which
agent, tool or model. An agentsim :class:`~agentsim.trace.Trace` maps onto that as follows.

=============  ======================  ==============================================  ========
agentsim kind  OTLP span name          attributes                                      OTLP kind
=============  ======================  ==============================================  ========
``agent``      ``invoke_agent {name}`` ``gen_ai.operation.name=invoke_agent``,         1
                                       ``gen_ai.agent.name``
``tool``       ``execute_tool {name}`` ``gen_ai.operation.name=execute_tool``,         3
                                       ``gen_ai.tool.name``
``llm``        ``chat {name}``         ``gen_ai.operation.name=chat``,                 3
                                       ``gen_ai.request.model``,
                                       ``gen_ai.provider.name`` (``agentsim``, or
                                       the imported span's provider), token usage
                                       ``gen_ai.usage.input_tokens`` and
                                       ``output_tokens`` when the span records it
``choice``     ``chat {name}``         as ``llm``, plus ``agentsim.choice`` (option)   3
``wait``       ``wait``                                                                1
other kinds    the span's name                                                         1
=============  ======================  ==============================================  ========

OTLP kind 1 is ``INTERNAL`` (work inside the process: agents, waits) and 3 is ``CLIENT`` (a
request to a tool or model service).

Every span also carries what makes it a node of the structural causal model, under the
``agentsim.`` prefix: ``agentsim.address``, ``agentsim.kind``, ``agentsim.status`` (``done``,
``cancelled`` or ``unfinished``), ``agentsim.agent``, ``agentsim.cost``, ``agentsim.queued``
(seconds waiting for shared capacity), ``agentsim.inputs`` (addresses of its data-flow
parents, also written as span ``links``), ``agentsim.value`` (as JSON text) and one
``agentsim.noise.{slot}`` per uniform it consumed. A span's own ``attributes`` are written
unchanged when their key is already namespaced (contains a dot, e.g. an imported
``gen_ai.usage.input_tokens``) and as ``agentsim.{key}`` otherwise (a choice's ``weights``
become ``agentsim.weights``). Root spans carry the run's outcomes as
``agentsim.outcome.{name}``, its interventions as ``agentsim.interventions`` and its
run-level attributes (entry inputs, why it stopped...) as ``agentsim.run.{key}`` (JSON text).

Status: a failed span (``ok`` false, including calls cancelled by ``ctx.first`` and calls cut
off by a deadline) has ``status {"code": 2, "message": error}`` and an ``error.type``
(``timeout``, ``cancelled``, ``unfinished``, ``bad_input``, an exception class name, or
``call_failed``). A successful span has status code 1 (``OK``), not 0 (``UNSET``): the
simulator's verdict is final, and an explicit ``OK`` keeps "succeeded" apart from "not
known" when the file is read back.

Identifiers and times are deterministic, so exporting the same trace twice gives the same
bytes: ``traceId`` is the first 16 bytes of a BLAKE2b hash of the trace id (32 lowercase hex
digits), ``spanId`` the first 8 bytes of a hash of the trace id and the span's address (16
hex digits), and ``parentSpanId`` the ``spanId`` of the span's parent address. Times are
integer nanoseconds since the Unix epoch written as decimal strings (OTLP JSON encodes 64-bit
integers as strings): :data:`EPOCH_UNIX_NANO` (2025-01-01T00:00:00Z) plus the simulated
seconds.

Examples
--------
>>> import agentsim as asim
>>> sc = asim.Scenario("hello")
>>> search = sc.tool("search", p_ok=1.0, latency=0.5)
>>> @sc.agent
... def main(ctx):
...     return (yield ctx.call(search, "query"))
>>> export = to_otlp(sc.run(seed=0).trace)
>>> root, call = export["resourceSpans"][0]["scopeSpans"][0]["spans"]
>>> root["name"], call["name"], call["parentSpanId"] == root["spanId"]
('invoke_agent main', 'execute_tool search', True)
>>> call["startTimeUnixNano"], call["endTimeUnixNano"]
('1735689600000000000', '1735689600500000000')
"""

from __future__ import annotations

import hashlib
import json
import os
import re
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

from agentsim._io import atomic_write_text
from agentsim._version import __version__
from agentsim.errors import TraceFormatError
from agentsim.ingest import otlp_keys as K
from agentsim.ingest._semconv import (
    PROVIDER_KEY,
    SIMULATED_PROVIDER,
    USAGE_KEYS,
    provider_of,
    tokens_of,
)
from agentsim.trace import Span, Trace

__all__ = [
    "EPOCH_UNIX_NANO",
    "SPAN_KIND_CLIENT",
    "SPAN_KIND_INTERNAL",
    "STATUS_ERROR",
    "STATUS_OK",
    "save_otlp",
    "span_id",
    "to_otlp",
    "trace_id",
]

EPOCH_UNIX_NANO = 1_735_689_600 * 1_000_000_000
"""2025-01-01T00:00:00Z in nanoseconds since the Unix epoch: simulated time 0."""

SPAN_KIND_INTERNAL = 1
"""OTLP span kind of agents, waits and other in-process work."""
SPAN_KIND_CLIENT = 3
"""OTLP span kind of tool and model calls (requests to a service)."""
STATUS_OK = 1
"""OTLP status code of a span that succeeded."""
STATUS_ERROR = 2
"""OTLP status code of a span that failed."""

_OPERATIONS = {"agent": "invoke_agent", "tool": "execute_tool", "llm": "chat", "choice": "chat"}
_EXCEPTION = re.compile(r"^([A-Za-z_][A-Za-z0-9_]*(?:Error|Exception|Interrupt|Exit)):")


def _digest(text: str, size: int) -> str:
    hexdigest = hashlib.blake2b(text.encode("utf-8"), digest_size=size).hexdigest()
    # An all-zero id means "invalid" in OpenTelemetry; remap the (2**-64-rare) zero hash.
    return hexdigest if hexdigest.strip("0") else "0" * (2 * size - 1) + "1"


def trace_id(trace: Trace) -> str:
    """The OTLP ``traceId`` of ``trace``: 32 lowercase hex digits derived from its id.

    >>> trace_id(Trace(trace_id="support-desk-7"))
    '73caab160b9e42e883835ad9f18534cb'
    """
    return _digest(f"agentsim-trace:{_run_key(trace)}", 16)


def span_id(trace: Trace, address: str) -> str:
    """The OTLP ``spanId`` of the span at ``address`` in ``trace``: 16 lowercase hex digits.

    >>> span_id(Trace(trace_id="support-desk-7"), "support#0")
    '7e2da49ee0770be9'
    """
    return _digest(f"agentsim-span:{_run_key(trace)}\x00{address}", 8)


def _run_key(trace: Trace) -> str:
    if trace.trace_id:
        return trace.trace_id
    return f"{trace.scenario or trace.source}-{trace.seed if trace.seed is not None else ''}"


def _nanos(seconds: float) -> str:
    return str(EPOCH_UNIX_NANO + round(seconds * 1e9))


def _any_value(value: Any) -> dict[str, Any]:
    """An OTLP ``AnyValue``: primitives, arrays of primitives, anything else as JSON text."""
    if isinstance(value, bool):
        return {"boolValue": value}
    if isinstance(value, int):
        return {"intValue": str(value)}
    if isinstance(value, float):
        return (
            {"doubleValue": value}
            if value == value and abs(value) != float("inf")
            else {"stringValue": repr(value)}
        )
    if isinstance(value, str):
        return {"stringValue": value}
    if isinstance(value, list | tuple) and all(
        v is not None and not isinstance(v, list | tuple | dict) for v in value
    ):
        return {"arrayValue": {"values": [_any_value(v) for v in value]}}
    return {"stringValue": json.dumps(value, sort_keys=True, default=repr)}


def _attributes(items: Mapping[str, Any]) -> list[dict[str, Any]]:
    return [{"key": k, "value": _any_value(v)} for k, v in items.items() if v is not None]


def _error_type(span: Span) -> str:
    if span.status != "done":
        return span.status
    error = span.error or ""
    if error.startswith("timeout"):
        return "timeout"
    if error.endswith("(bad input)"):
        return "bad_input"
    match = _EXCEPTION.match(error)
    if match is not None:
        return match.group(1)
    return "agent_failed" if span.kind == "agent" else "call_failed"


def _span_attributes(trace: Trace, span: Span, is_root: bool) -> dict[str, Any]:
    attrs: dict[str, Any] = {}
    operation = _OPERATIONS.get(span.kind)
    if operation is not None:
        attrs[K.GEN_AI_OPERATION] = operation
    if span.kind == "agent":
        attrs[K.GEN_AI_AGENT] = span.name
    elif span.kind == "tool":
        attrs[K.GEN_AI_TOOL] = span.name
    elif span.kind in ("llm", "choice"):
        attrs[K.GEN_AI_MODEL] = span.name
    if span.kind == "choice" and span.value is not None:
        attrs[K.CHOICE] = span.value
    attrs.update(
        {
            K.ADDRESS: span.address,
            K.KIND: span.kind,
            K.STATUS: span.status,
            K.AGENT: span.agent,
            K.COST: float(span.cost),
            K.QUEUED: float(span.queued),
        }
    )
    if span.inputs:
        attrs[K.INPUTS] = list(span.inputs)
    if span.value is not None:
        attrs[K.VALUE] = json.dumps(span.value, sort_keys=True)
    for slot, u in span.noise.items():
        attrs[K.NOISE_PREFIX + slot] = float(u)
    for key, value in span.attributes.items():
        attrs.setdefault(key if "." in key else K.AGENTSIM_PREFIX + key, value)
    if span.kind in ("llm", "choice"):
        # required on inference spans; a simulated model's provider is the simulator
        attrs.setdefault(PROVIDER_KEY, provider_of(span.attributes) or SIMULATED_PROVIDER)
        tokens = tokens_of(span.attributes) or {}
        for which, key in USAGE_KEYS.items():
            if which in tokens:
                attrs.setdefault(key, tokens[which])
    if not span.ok:
        attrs[K.ERROR_TYPE] = _error_type(span)
    if is_root:
        for name, value in trace.outcomes.items():
            attrs[K.OUTCOME_PREFIX + name] = float(value)
        if trace.interventions:
            attrs[K.INTERVENTIONS] = list(trace.interventions)
        for key, value in trace.attributes.items():
            attrs[K.RUN_PREFIX + key] = json.dumps(value, sort_keys=True)
    return attrs


def _otlp_span(trace: Trace, tid: str, span: Span) -> dict[str, Any]:
    name = span.name
    operation = _OPERATIONS.get(span.kind)
    if operation is not None:
        name = f"{operation} {span.name}"
    elif span.kind == "wait":
        name = "wait"
    out: dict[str, Any] = {
        "traceId": tid,
        "spanId": span_id(trace, span.address),
    }
    if span.parent is not None:
        out["parentSpanId"] = span_id(trace, span.parent)
    out.update(
        {
            "name": name,
            "kind": SPAN_KIND_CLIENT
            if span.kind in ("tool", "llm", "choice")
            else SPAN_KIND_INTERNAL,
            "startTimeUnixNano": _nanos(span.start),
            "endTimeUnixNano": _nanos(span.end),
            "attributes": _attributes(_span_attributes(trace, span, span.parent is None)),
        }
    )
    if span.inputs:
        out["links"] = [
            {
                "traceId": tid,
                "spanId": span_id(trace, address),
                "attributes": _attributes({K.LINK: "input"}),
            }
            for address in span.inputs
        ]
    if span.ok:
        out["status"] = {"code": STATUS_OK}
    else:
        out["status"] = {"code": STATUS_ERROR, "message": span.error or "failed"}
    return out


def _resource_spans(trace: Trace) -> dict[str, Any]:
    resource = {
        "service.name": trace.scenario or trace.source or "agentsim",
        K.TRACE_ID: trace.trace_id,
        K.SOURCE: trace.source,
        K.SCENARIO: trace.scenario,
        K.SEED: trace.seed,
        K.SCHEMA_VERSION: trace.schema_version,
    }
    tid = trace_id(trace)
    return {
        "resource": {"attributes": _attributes(resource)},
        "scopeSpans": [
            {
                "scope": {"name": "agentsim", "version": __version__},
                "spans": [_otlp_span(trace, tid, span) for span in trace.spans],
            }
        ],
    }


def to_otlp(trace: Trace) -> dict[str, Any]:
    """The OTLP JSON export of one trace, with GenAI semantic-convention names.

    Parameters
    ----------
    trace : Trace
        A simulated or imported trace.

    Returns
    -------
    dict
        ``{"resourceSpans": [{"resource": ..., "scopeSpans": [{"scope": ..., "spans": [...]}]}]}``
        with one span per span of ``trace``, in trace order; serialise it with ``json.dumps``.
        The mapping is described in the module docstring.

    Examples
    --------
    >>> import agentsim as asim
    >>> sc = asim.Scenario("flaky")
    >>> tool = sc.tool("fetch", p_ok=0.0, latency=1.0)
    >>> @sc.agent
    ... def main(ctx):
    ...     return (yield ctx.call(tool))
    >>> spans = to_otlp(sc.run(seed=0).trace)["resourceSpans"][0]["scopeSpans"][0]["spans"]
    >>> [(s["name"], s["kind"], s["status"]["code"]) for s in spans]
    [('invoke_agent main', 1, 2), ('execute_tool fetch', 3, 2)]
    >>> {a["key"]: a["value"] for a in spans[1]["attributes"]}["error.type"]
    {'stringValue': 'call_failed'}
    """
    if not isinstance(trace, Trace):
        raise TraceFormatError(
            f"to_otlp needs an agentsim Trace, got {type(trace).__name__}; pass run.trace "
            "or a trace from asim.load_trace"
        )
    return {"resourceSpans": [_resource_spans(trace)]}


def save_otlp(
    trace: Trace | Iterable[Trace], path: str | os.PathLike[str], *, indent: int | None = None
) -> Path:
    """Write traces as OTLP JSON, atomically, and return the path.

    One document with one ``resourceSpans`` entry per trace; a path ending in ``.jsonl`` gets
    one export per line instead (the OpenTelemetry collector's file-exporter layout).

    Parameters
    ----------
    trace : Trace or iterable of Trace
        What to write.
    path : str or path-like
        Destination file; written via a temporary file and a rename, so an interrupted
        write leaves the old file or the new one.
    indent : int, optional
        Indentation of a single JSON document (ignored for ``.jsonl``).

    Examples
    --------
    >>> import json, pathlib, tempfile
    >>> p = pathlib.Path(tempfile.mkdtemp()) / "run.otlp.json"
    >>> _ = save_otlp([Trace(trace_id="a"), Trace(trace_id="b")], p)
    >>> len(json.loads(p.read_text())["resourceSpans"])
    2
    """
    target = Path(path)
    traces = [trace] if isinstance(trace, Trace) else list(trace)
    for t in traces:
        if not isinstance(t, Trace):
            raise TraceFormatError(
                f"save_otlp needs agentsim Traces, got {type(t).__name__}; pass run.trace "
                "or a list of them"
            )
    if target.suffix == ".jsonl":
        text = "".join(json.dumps(to_otlp(t)) + "\n" for t in traces)
    else:
        export = {"resourceSpans": [_resource_spans(t) for t in traces]}
        text = json.dumps(export, indent=indent)
    return atomic_write_text(target, text)
