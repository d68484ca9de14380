"""Telling a trace format from the content of a file, never from its name.

Layer: formats. It imports only from its own layer and the ones below it.

Each registered format has a *sniffer*, a cheap test on the first record of the input (the
whole document, or the first line of a JSON Lines file). :func:`detect_format` asks them in
registry order, which runs from the most specific shapes (agentsim, Who&When, Langfuse) to the
most generic (SDK span lists), and returns the first that recognises the input.

Examples
--------
>>> detect_format({"resourceSpans": []})
'otlp'
>>> detect_format({"question": "q", "history": []})
'whowhen'
"""

from __future__ import annotations

import os
from typing import Any

from agentsim.errors import TraceFormatError
from agentsim.ingest._common import Adapter, Source
from agentsim.ingest._registry import adapters

__all__ = ["detect_format", "detect_source"]


def _describe(obj: Any) -> str:
    if isinstance(obj, dict):
        keys = ", ".join(repr(k) for k in list(obj)[:8])
        return f"an object with keys {keys}" if keys else "an empty object"
    if isinstance(obj, list):
        return f"an array of {len(obj)} items"
    return type(obj).__name__


def detect_source(source: Source, adapters: list[Adapter]) -> Adapter:
    """The adapter whose sniffer recognises ``source``'s first record."""
    head = source.head()
    for adapter in adapters:
        try:
            if adapter.sniff(head):
                return adapter
        except Exception:  # a sniffer must not fail detection; treat as "not mine"
            continue
    names = ", ".join(a.name for a in adapters)
    raise TraceFormatError(
        f"{source.label}: cannot tell the trace format of {_describe(head)}; "
        f"known formats: {names}; pass format=... to choose one"
    )


def detect_format(obj_or_path: Any) -> str:
    """The name of the trace format of a file (path) or of an already parsed JSON object.

    Parameters
    ----------
    obj_or_path
        A path (``str`` or ``os.PathLike``) to a JSON or JSON Lines file, or a parsed object.

    Returns
    -------
    str
        One of :data:`agentsim.ingest.FORMATS`.

    Raises
    ------
    TraceFormatError
        When the file cannot be read or no format recognises it.

    Examples
    --------
    >>> detect_format({"data": [{"object": "trace.span", "span_data": {"type": "agent"}}]})
    'openai_agents'
    """
    if isinstance(obj_or_path, str | os.PathLike):
        source = Source(path=obj_or_path)
    else:
        source = Source(obj=obj_or_path)
    return detect_source(source, adapters()).name
