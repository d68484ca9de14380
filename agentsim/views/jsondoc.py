"""The JSON documents printed by ``agentsim ... --json`` (their schema is in the README).

Layer: face (the top). It may import from every layer below it.

Each function turns one result into plain dicts and lists; ``agentsim.cli_args.emit_json``
writes it as strict JSON (non-finite numbers become ``null``).
"""

from __future__ import annotations

from typing import Any

from agentsim.stats import Estimate
from agentsim.trace import Span, Trace
from agentsim.views.terminal import local_name, span_status, tree_rows

__all__ = ["estimate_doc", "span_doc", "trace_doc"]


def estimate_doc(est: Estimate) -> dict[str, Any]:
    """``{"value", "low", "high"}``.

    >>> estimate_doc(Estimate(0.5, 0.4, 0.6))
    {'value': 0.5, 'low': 0.4, 'high': 0.6}
    """
    return {"value": est.value, "low": est.low, "high": est.high}


def span_doc(span: Span, depth: int) -> dict[str, Any]:
    """One span: address, local name, parent, depth, kind, name, status, times, error."""
    return {
        "address": span.address,
        "local": local_name(span),
        "parent": span.parent,
        "depth": depth,
        "kind": span.kind,
        "name": span.name,
        "status": span_status(span),
        "ok": span.ok,
        "start": span.start,
        "end": span.end,
        "duration": span.duration,
        "error": span.error,
    }


def trace_doc(trace: Trace, **filters: Any) -> dict[str, Any]:
    """A trace: id, source, outcomes, warnings and its spans in tree order after ``filters``
    (those of :func:`agentsim.views.terminal.tree_rows`)."""
    return {
        "trace_id": trace.trace_id,
        "source": trace.source,
        "outcomes": dict(trace.outcomes),
        "warnings": [str(w) for w in _as_list(trace.attributes.get("warnings"))],
        "spans": [span_doc(s, d) for s, d in tree_rows(trace, **filters)],
    }


def _as_list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else [] if value is None else [value]
