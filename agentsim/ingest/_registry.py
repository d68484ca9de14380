"""The registry of trace formats: one adapter per format, asked in detection order
(formats layer; imports the kernel and the format modules).

A new format is one module with an ``ADAPTER`` plus one line in ``_BUILTIN`` (or a call to
:func:`register` from user code).
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from typing import overload

from agentsim.errors import TraceFormatError
from agentsim.ingest import (
    jaeger,
    langfuse,
    langsmith,
    native,
    openai_agents,
    openinference,
    otel_sdk,
    otlp,
    whowhen,
)
from agentsim.ingest._common import Adapter

__all__ = ["FORMATS", "adapters", "register"]

_REGISTRY: dict[str, Adapter] = {}

# Detection asks in this order: specific shapes first, generic span lists last.
_BUILTIN = (
    native.ADAPTER,
    whowhen.ADAPTER,
    langfuse.ADAPTER,
    openai_agents.ADAPTER,
    jaeger.ADAPTER,
    otlp.ADAPTER,
    langsmith.ADAPTER,
    openinference.ADAPTER,
    otel_sdk.ADAPTER,
)

_SUFFIXES = (".json", ".jsonl", ".ndjson")


def register(adapter: Adapter, *, replace: bool = False) -> Adapter:
    """Add a trace format to the registry (detection asks it after those already there).

    Raises
    ------
    TraceFormatError
        When a format of that name exists and ``replace`` is false.

    Examples
    --------
    >>> try:
    ...     register(otlp.ADAPTER)
    ... except TraceFormatError as exc:
    ...     print(exc)
    a trace format named 'otlp' is already registered; pass replace=True to replace it
    """
    if adapter.name in _REGISTRY and not replace:
        raise TraceFormatError(
            f"a trace format named {adapter.name!r} is already registered; "
            "pass replace=True to replace it"
        )
    _REGISTRY[adapter.name] = adapter
    return adapter


for _adapter in _BUILTIN:
    register(_adapter)


def adapters() -> list[Adapter]:
    """The registered adapters, in detection order."""
    return list(_REGISTRY.values())


class _FormatNames(Sequence[str]):
    """A live, read-only view of the registered format names."""

    @overload
    def __getitem__(self, index: int) -> str: ...
    @overload
    def __getitem__(self, index: slice) -> Sequence[str]: ...
    def __getitem__(self, index: int | slice) -> str | Sequence[str]:
        return list(_REGISTRY)[index]

    def __len__(self) -> int:
        return len(_REGISTRY)

    def __iter__(self) -> Iterator[str]:
        return iter(list(_REGISTRY))

    def __repr__(self) -> str:
        return repr(tuple(_REGISTRY))


FORMATS: Sequence[str] = _FormatNames()
"""Names of the registered trace formats, in detection order."""
