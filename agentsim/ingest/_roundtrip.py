"""Restore an agentsim trace that went out as OTLP and came back.

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

from agentsim.ingest._semconv import PROVIDER_KEY, SIMULATED_PROVIDER
from agentsim.trace import Span, Trace

__all__ = ["restore_agentsim"]

_RESERVED = {
    "agentsim.address",
    "agentsim.kind",
    "agentsim.status",
    "agentsim.agent",
    "agentsim.cost",
    "agentsim.queued",
    "agentsim.inputs",
    "agentsim.value",
    "agentsim.choice",
    "agentsim.interventions",
    "agentsim.trace_id",
    "agentsim.source",
    "agentsim.scenario",
    "agentsim.seed",
    "agentsim.schema_version",
    "gen_ai.operation.name",
    "gen_ai.agent.name",
    "gen_ai.tool.name",
    "gen_ai.request.model",
    "error.type",
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
    if not spans or not all(isinstance(s.attributes.get("agentsim.address"), str) for s in spans):
        return trace
    if not all(s.attributes.get("agentsim.kind") in _KINDS for s in spans):
        return trace
    address_of = {s.address: str(s.attributes["agentsim.address"]) for s in spans}
    restored = []
    outcomes: dict[str, float] = {}
    interventions: list[str] = []
    meta: dict[str, Any] = {}
    run_attrs: dict[str, JsonValue] = {}
    for s in spans:
        a = s.attributes
        noise = {
            k.removeprefix("agentsim.noise."): float(v)
            for k, v in a.items()
            if k.startswith("agentsim.noise.") and isinstance(v, int | float)
        }
        for k, v in a.items():
            if k.startswith("agentsim.outcome.") and isinstance(v, int | float):
                outcomes[k.removeprefix("agentsim.outcome.")] = float(v)
            elif k.startswith("agentsim.run."):
                run_attrs[k.removeprefix("agentsim.run.")] = _json(v)
        if isinstance(a.get("agentsim.interventions"), list):
            interventions = [str(x) for x in a["agentsim.interventions"]]  # type: ignore[union-attr]
        for key in ("agentsim.trace_id", "agentsim.scenario", "agentsim.seed"):
            if key in a:
                meta[key] = a[key]
        extra: dict[str, JsonValue] = {}
        for k, v in a.items():
            if k in _RESERVED or k.startswith(
                ("agentsim.noise.", "agentsim.outcome.", "agentsim.run.")
            ):
                continue
            if k == PROVIDER_KEY and v == SIMULATED_PROVIDER:  # added by the export
                continue
            extra[k.removeprefix("agentsim.") if k.startswith("agentsim.") else k] = _json(v)
        status = a.get("agentsim.status")
        inputs = a.get("agentsim.inputs")
        restored.append(
            Span(
                address=address_of[s.address],
                kind=str(a["agentsim.kind"]),
                name=_name(s),
                parent=address_of.get(s.parent) if s.parent else None,
                agent=a.get("agentsim.agent") if isinstance(a.get("agentsim.agent"), str) else None,
                start=s.start,
                end=s.end,
                ok=s.ok,
                error=s.error,
                status=status if status in _STATUSES else s.status,
                value=_json(a["agentsim.value"]) if "agentsim.value" in a else None,
                inputs=[str(x) for x in inputs] if isinstance(inputs, list) else [],
                cost=float(a.get("agentsim.cost", s.cost) or 0.0),  # type: ignore[arg-type]
                queued=float(a.get("agentsim.queued", 0.0) or 0.0),  # type: ignore[arg-type]
                noise=noise,
                attributes=extra,
            )
        )
    seed = meta.get("agentsim.seed")
    attributes: dict[str, JsonValue] = {**run_attrs, "imported_from": "otlp"}
    if trace.attributes.get("warnings"):  # what the importer noticed stays reported
        attributes["warnings"] = list(trace.attributes["warnings"])  # type: ignore[arg-type]
    return Trace(
        trace_id=str(meta.get("agentsim.trace_id", trace.trace_id)),
        source="agentsim",
        scenario=str(meta["agentsim.scenario"]) if meta.get("agentsim.scenario") else None,
        seed=int(seed) if isinstance(seed, int | float | str) and str(seed).isdigit() else None,
        spans=restored,
        outcomes=outcomes or dict(trace.outcomes),
        interventions=interventions,
        attributes=attributes,
    )
