"""Restore an agentsim trace that went out as OTLP and came back.

Layer: formats. It imports only from its own layer and the ones below it.

:func:`agentsim.otlp.to_otlp` writes every span's address, kind, status, agent, cost,
queueing, inputs, value and noise as ``agentsim.*`` attributes. When every span of an
imported trace carries them, the trace is rebuilt from them, so a simulated run exported to a
collector and read back keeps its addresses and its recorded noise (and so its exact
counterfactuals). Times come back through integer nanoseconds, so they agree to 1e-9 s.
"""

from __future__ import annotations

import json
from typing import Any

from pydantic import JsonValue

from agentsim.ingest import otlp_keys as K
from agentsim.ingest._semconv import PROVIDER_KEY, SIMULATED_PROVIDER
from agentsim.trace import Span, Trace

__all__ = ["restore_agentsim"]

_RESERVED = K.RESERVED | {
    "span_id",
    "parent_id",
    "service.name",
    "otel.scope.name",
    "otel.scope.version",
    "otel.kind",
    "agent_name",
    "subagent",
    "parent_agent",
    "model",
}
_KINDS = {"agent", "tool", "llm", "choice", "wait", "chain", "step", "other"}
_STATUSES = {"done", "cancelled", "unfinished"}


def _json(text: Any) -> JsonValue:
    if isinstance(text, str):
        try:
            parsed: JsonValue = json.loads(text)
        except ValueError:
            return text
        return parsed
    return text  # type: ignore[no-any-return]


def _name(span: Span) -> str:
    a = span.attributes
    for key in ("gen_ai.agent.name", "gen_ai.tool.name", "gen_ai.request.model"):
        if isinstance(a.get(key), str):
            return str(a[key])
    return span.name.split(" ", 1)[-1]


def restore_agentsim(trace: Trace) -> Trace:
    """The original agentsim trace if every span carries ``agentsim.address``; else ``trace``."""
    spans = trace.spans
    if not spans or not all(isinstance(s.attributes.get(K.ADDRESS), str) for s in spans):
        return trace
    if not all(s.attributes.get(K.KIND) in _KINDS for s in spans):
        return trace
    address_of = {s.address: str(s.attributes[K.ADDRESS]) for s in spans}
    restored = []
    outcomes: dict[str, float] = {}
    interventions: list[str] = []
    meta: dict[str, Any] = {}
    run_attrs: dict[str, JsonValue] = {}
    for s in spans:
        a = s.attributes
        noise = {
            k.removeprefix(K.NOISE_PREFIX): float(v)
            for k, v in a.items()
            if k.startswith(K.NOISE_PREFIX) and isinstance(v, int | float)
        }
        for k, v in a.items():
            if k.startswith(K.OUTCOME_PREFIX) and isinstance(v, int | float):
                outcomes[k.removeprefix(K.OUTCOME_PREFIX)] = float(v)
            elif k.startswith(K.RUN_PREFIX):
                run_attrs[k.removeprefix(K.RUN_PREFIX)] = _json(v)
        if isinstance(a.get(K.INTERVENTIONS), list):
            interventions = [str(x) for x in a[K.INTERVENTIONS]]  # type: ignore[union-attr]
        for key in (K.TRACE_ID, K.SCENARIO, K.SEED):
            if key in a:
                meta[key] = a[key]
        extra: dict[str, JsonValue] = {}
        for k, v in a.items():
            if k in _RESERVED or k.startswith((K.NOISE_PREFIX, K.OUTCOME_PREFIX, K.RUN_PREFIX)):
                continue
            if k == PROVIDER_KEY and v == SIMULATED_PROVIDER:  # added by the export
                continue
            extra[k.removeprefix(K.AGENTSIM_PREFIX)] = _json(v)
        status = a.get(K.STATUS)
        inputs = a.get(K.INPUTS)
        restored.append(
            Span(
                address=address_of[s.address],
                kind=str(a[K.KIND]),
                name=_name(s),
                parent=address_of.get(s.parent) if s.parent else None,
                agent=a.get(K.AGENT) if isinstance(a.get(K.AGENT), str) else None,
                start=s.start,
                end=s.end,
                ok=s.ok,
                error=s.error,
                status=status if status in _STATUSES else s.status,
                value=_json(a[K.VALUE]) if K.VALUE in a else None,
                inputs=[str(x) for x in inputs] if isinstance(inputs, list) else [],
                cost=float(a.get(K.COST, s.cost) or 0.0),  # type: ignore[arg-type]
                queued=float(a.get(K.QUEUED, 0.0) or 0.0),  # type: ignore[arg-type]
                noise=noise,
                attributes=extra,
            )
        )
    seed = meta.get(K.SEED)
    attributes: dict[str, JsonValue] = {**run_attrs, "imported_from": "otlp"}
    if trace.attributes.get("warnings"):  # what the importer noticed stays reported
        attributes["warnings"] = list(trace.attributes["warnings"])  # type: ignore[arg-type]
    return Trace(
        trace_id=str(meta.get(K.TRACE_ID, trace.trace_id)),
        source="agentsim",
        scenario=str(meta[K.SCENARIO]) if meta.get(K.SCENARIO) else None,
        seed=int(seed) if isinstance(seed, int | float | str) and str(seed).isdigit() else None,
        spans=restored,
        outcomes=outcomes or dict(trace.outcomes),
        interventions=interventions,
        attributes=attributes,
    )
