"""Importing real agent traces: every format enters through this one registry.

Layer: formats. It imports only from its own layer and the ones below it.

:func:`load_trace` and :func:`load_traces` read a file (or a folder), tell its format from its
content (:func:`~agentsim.ingest.detect.detect_format`) unless ``format=`` names it, and hand
it to that format's adapter, which produces :class:`~agentsim.trace.Trace` objects with the
same conventions whatever the source: addresses ``parent/<name>#<k>`` built from the span
tree, times in seconds since the first span, span kinds ``agent``, ``tool``, ``llm``,
``chain``, ``step``, ``other``, errors normalised from every signal the format uses, sub-agents
marked, spans whose parent is missing kept under ``missing-parent#0``, and outcomes
``success``, ``latency`` and ``cost``. Malformed input raises
:class:`~agentsim.errors.TraceFormatError` naming the file, the position and the field.

A new format is one new module defining an :class:`Adapter` (a name, a content sniffer and a
reader) plus one line in ``_BUILTIN`` below, or a call to :func:`register` from user code.

Examples
--------
>>> import json, pathlib, tempfile
>>> path = pathlib.Path(tempfile.mkdtemp()) / "log.json"
>>> _ = path.write_text(json.dumps({"question": "q", "ground_truth": "a", "history": [
...     {"name": "Planner", "role": "assistant", "content": "plan"}]}))
>>> trace = load_trace(path)
>>> trace.source, [s.address for s in trace.spans]
('whowhen', ['run#0', 'run#0/step#0'])
>>> "otlp" in FORMATS
True
"""

from __future__ import annotations

import os
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from agentsim.errors import TraceFormatError, suggest
from agentsim.ingest._common import Adapter, Source
from agentsim.ingest._registry import _REGISTRY, _SUFFIXES, FORMATS, adapters, register
from agentsim.ingest.detect import detect_format, detect_source
from agentsim.trace import Trace

__all__ = [
    "FORMATS",
    "Adapter",
    "adapters",
    "detect_format",
    "load_trace",
    "load_traces",
    "parse_traces",
    "register",
]


def _adapter_for(source: Source, format: str | None) -> Adapter:
    if format is None:
        return detect_source(source, adapters())
    if format not in _REGISTRY:
        raise TraceFormatError(
            f"unknown trace format {format!r}{suggest(format, _REGISTRY)}; "
            f"known formats: {', '.join(_REGISTRY)}"
        )
    return _REGISTRY[format]


def _read(source: Source, format: str | None) -> list[Trace]:
    adapter = _adapter_for(source, format)
    try:
        return adapter.read(source)
    except TraceFormatError:
        raise
    except (
        KeyError,
        TypeError,
        ValueError,
        AttributeError,
        IndexError,
        OverflowError,
        RecursionError,
    ) as exc:
        # Last line of defence: adapters check fields themselves, so this means a shape
        # they did not anticipate. Report it as bad input, not as a crash.
        raise TraceFormatError(
            f"{source.label}: malformed {adapter.name} input ({type(exc).__name__}: {exc})"
        ) from None


def parse_traces(obj: Any, format: str | None = None) -> list[Trace]:
    """Traces from an already parsed JSON object (a dict or list), in any known format.

    >>> parse_traces({"question": "q", "history": []})[0].source
    'whowhen'
    """
    return _read(Source(obj=obj), format)


def load_trace(path: str | os.PathLike[str], format: str | None = None) -> Trace:
    """Load the one trace a file holds.

    Parameters
    ----------
    path
        A JSON or JSON Lines file in any registered format.
    format
        A name from :data:`FORMATS`; detected from the content when ``None``.

    Returns
    -------
    Trace

    Raises
    ------
    TraceFormatError
        When the file is malformed, its format unknown, or it holds several traces (use
        :func:`load_traces` then).

    Examples
    --------
    >>> import json, pathlib, tempfile
    >>> p = pathlib.Path(tempfile.mkdtemp()) / "spans.json"
    >>> _ = p.write_text(json.dumps({"resourceSpans": [{"scopeSpans": [{"spans": [
    ...     {"traceId": "01" * 16, "spanId": "02" * 8, "name": "chat", "startTimeUnixNano": 0,
    ...      "endTimeUnixNano": 2500000000, "status": {"code": 2, "message": "rate limit"},
    ...      "attributes": [{"key": "gen_ai.operation.name", "value": {"stringValue": "chat"}}]}
    ... ]}]}]}))
    >>> t = load_trace(p)
    >>> t.spans[0].kind, t.spans[0].error, t.outcomes["success"], t.outcomes["latency"]
    ('llm', 'rate limit', 0.0, 2.5)
    """
    source = Source(path=path)
    traces = _read(source, format)
    if len(traces) != 1:
        raise TraceFormatError(
            f"{source.label} holds {len(traces)} traces; use load_traces to read them all"
        )
    return traces[0]


def _files(
    folder_or_paths: str | os.PathLike[str] | Iterable[str | os.PathLike[str]],
) -> list[Path]:
    if isinstance(folder_or_paths, str | os.PathLike):
        root = Path(folder_or_paths)
        if root.is_dir():
            return sorted(
                p
                for p in root.rglob("*")
                if p.is_file() and p.suffix.lower() in _SUFFIXES and not p.name.startswith(".")
            )
        return [root]
    return [Path(p) for p in folder_or_paths]


def load_traces(
    folder_or_paths: str | os.PathLike[str] | Iterable[str | os.PathLike[str]],
    format: str | None = None,
) -> list[Trace]:
    """Load every trace of a file, of the files of a folder (recursively), or of many paths.

    A folder contributes its ``.json``, ``.jsonl`` and ``.ndjson`` files in sorted order;
    each file's format is detected separately unless ``format`` is given.

    Examples
    --------
    >>> import json, pathlib, tempfile
    >>> d = pathlib.Path(tempfile.mkdtemp())
    >>> for i in range(2):
    ...     _ = (d / f"{i}.json").write_text(json.dumps({"question": "q", "history": []}))
    >>> [t.source for t in load_traces(d)]
    ['whowhen', 'whowhen']
    """
    out: list[Trace] = []
    for path in _files(folder_or_paths):
        out.extend(_read(Source(path=path), format))
    return out
