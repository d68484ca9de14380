"""agentsim's own trace format: one JSON trace, or JSON Lines of traces.

Layer: formats. It imports only from its own layer and the ones below it.

Reading is delegated to :func:`agentsim.trace.read_agentsim`, the single reader of the schema
(with its version upgrades); an object already parsed is validated the same way.

Examples
--------
>>> trace = {"schema_version": 1, "source": "agentsim", "spans": [
...     {"address": "main#0", "kind": "agent", "name": "main", "start": 0.0, "end": 1.0}]}
>>> read(Source(obj=trace))[0].span("main#0").duration
1.0
"""

from __future__ import annotations

from typing import Any

from pydantic import ValidationError

from agentsim.errors import TraceFormatError
from agentsim.ingest._common import Adapter, Source
from agentsim.trace import Trace, format_error_of, read_agentsim

__all__ = ["ADAPTER", "read", "sniff"]


def sniff(obj: Any) -> bool:
    """Whether ``obj`` is an agentsim trace (``schema_version`` and spans with addresses)."""
    if not isinstance(obj, dict) or "schema_version" not in obj:
        return False
    spans = obj.get("spans")
    return isinstance(spans, list) and (
        not spans or (isinstance(spans[0], dict) and "address" in spans[0])
    )


def read(source: Source) -> list[Trace]:
    """Read agentsim traces from a file (via :func:`read_agentsim`) or a parsed object."""
    if source.path is not None:
        return read_agentsim(source.path)
    records = source.document()
    items = records if isinstance(records, list) else [records]
    out = []
    for k, item in enumerate(items, 1):
        try:
            out.append(Trace.model_validate(item))
        except ValidationError as exc:
            inner = format_error_of(exc)
            if inner is not None:
                raise TraceFormatError(f"{source.label}: record {k}: {inner}") from None
            err = exc.errors()[0]
            where = ".".join(str(p) for p in err.get("loc", ()))
            raise TraceFormatError(
                f"{source.label}: record {k}: field {where or '(root)'}: {err.get('msg')}"
            ) from None
    return out


ADAPTER = Adapter(name="agentsim", sniff=sniff, read=read, summary="agentsim's own traces")
