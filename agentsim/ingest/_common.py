"""Shared plumbing of the ingest adapters: reading JSON, checking fields, parsing times and ids.

Layer: formats. It imports only from its own layer and the ones below it.

Every adapter reads its input through :class:`Source`, checks fields with the ``expect_*`` and
``get_*`` helpers, converts times with :func:`to_ns` and ids with :func:`norm_id`. Each of these
raises :class:`~agentsim.errors.TraceFormatError` naming the file, the position and the field,
so no adapter lets a ``KeyError`` or ``TypeError`` escape from deep inside.

Examples
--------
>>> to_ns("2025-01-01T00:00:01.5Z") - to_ns("2025-01-01T00:00:00Z")
1500000000
>>> norm_id("AAAAAAAAAAE=")
'0000000000000001'
"""

from __future__ import annotations

import base64
import binascii
import json
import math
import os
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any, NoReturn

from pydantic import JsonValue

from agentsim.errors import TraceFormatError
from agentsim.trace import Trace

__all__ = [
    "Adapter",
    "Source",
    "expect_dict",
    "expect_list",
    "fail",
    "flatten",
    "get_float",
    "get_str",
    "json_safe",
    "maybe_json",
    "norm_id",
    "parse_json_text",
    "to_ns",
]

_MAX_DEPTH = 200


def fail(where: str, field: str | None, message: str) -> NoReturn:
    """Raise a :class:`TraceFormatError` naming position ``where`` and ``field``.

    >>> try:
    ...     fail("'x.json' span 3", "startTime", "expected a number")
    ... except TraceFormatError as exc:
    ...     print(exc)
    'x.json' span 3: field 'startTime': expected a number
    """
    if field is None:
        raise TraceFormatError(f"{where}: {message}")
    raise TraceFormatError(f"{where}: field {field!r}: {message}")


def _depth_ok(value: Any, limit: int = _MAX_DEPTH) -> bool:
    stack: list[tuple[Any, int]] = [(value, 0)]
    while stack:
        item, depth = stack.pop()
        if depth > limit:
            return False
        if isinstance(item, dict):
            stack.extend((v, depth + 1) for v in item.values())
        elif isinstance(item, list):
            stack.extend((v, depth + 1) for v in item)
    return True


def parse_json_text(text: str, where: str, *, line_offset: int = 0) -> Any:
    """Parse JSON text, reporting a syntax error by line and column.

    >>> parse_json_text('{"a": [1, 2]}', "'t.json'")
    {'a': [1, 2]}
    >>> try:
    ...     parse_json_text('{"a": 1,\\n "b"}', "'t.json'")
    ... except TraceFormatError as exc:
    ...     print(exc)
    't.json': invalid JSON at line 2, column 5: Expecting ':' delimiter
    """
    try:
        value = json.loads(text)
    except json.JSONDecodeError as exc:
        raise TraceFormatError(
            f"{where}: invalid JSON at line {exc.lineno + line_offset}, column {exc.colno}: "
            f"{exc.msg}"
        ) from None
    except RecursionError:
        raise TraceFormatError(f"{where}: JSON nested too deeply to read") from None
    if not _depth_ok(value):
        raise TraceFormatError(f"{where}: JSON nested more than {_MAX_DEPTH} levels deep")
    return value


class Source:
    """A trace input: a file on disk (JSON or JSON Lines) or an object already parsed.

    A file whose first non-blank line is a complete JSON value and which has more non-blank
    lines is read as JSON Lines, one record per line, streamed by :meth:`records`; any other
    file is read as one JSON document.
    """

    def __init__(self, path: str | os.PathLike[str] | None = None, obj: Any = None) -> None:
        self.path = Path(path) if path is not None else None
        self._obj = obj
        self.label = repr(str(self.path)) if self.path is not None else "<object>"
        self._jsonl: bool | None = None if self.path is not None else False
        self._first: Any = None

    def _open_lines(self) -> Iterator[tuple[int, str]]:
        assert self.path is not None
        try:
            with self.path.open(encoding="utf-8-sig") as fh:
                yield from enumerate(fh, 1)
        except UnicodeDecodeError as exc:
            raise TraceFormatError(f"{self.label}: not UTF-8 text ({exc.reason})") from None
        except OSError as exc:
            raise TraceFormatError(f"{self.label}: cannot read file: {exc.strerror}") from None

    def _probe(self) -> None:
        if self._jsonl is not None:
            return
        first: tuple[int, str] | None = None
        for lineno, line in self._open_lines():
            if not line.strip():
                continue
            if first is None:
                first = (lineno, line)
                try:
                    value = json.loads(line)
                except (json.JSONDecodeError, RecursionError):
                    break
                if not isinstance(value, dict | list):
                    break
                self._first = value
                continue
            self._jsonl = True
            return
        self._jsonl = False
        self._first = None
        if first is None:
            raise TraceFormatError(f"{self.label}: file is empty")

    @property
    def is_jsonl(self) -> bool:
        """Whether the input is JSON Lines (one record per line)."""
        self._probe()
        return bool(self._jsonl)

    def document(self) -> Any:
        """The whole input: the parsed document, or the list of records of a JSON Lines file."""
        if self.path is None:
            return self._obj
        if self.is_jsonl:
            return [obj for _, obj in self.records()]
        if self._obj is None:
            try:
                text = self.path.read_text(encoding="utf-8-sig")
            except UnicodeDecodeError as exc:
                raise TraceFormatError(f"{self.label}: not UTF-8 text ({exc.reason})") from None
            except OSError as exc:
                raise TraceFormatError(f"{self.label}: cannot read file: {exc.strerror}") from None
            self._obj = parse_json_text(text, self.label)
        return self._obj

    def head(self) -> Any:
        """The first record of a JSON Lines file, or the whole document otherwise."""
        if self.path is not None and self.is_jsonl:
            return self._first
        return self.document()

    def records(self) -> Iterator[tuple[str, Any]]:
        """Yield ``(position, record)``: one per line of JSON Lines, else the whole document.

        The position (``"line 3"``) is empty for a single document.
        """
        if self.path is None or not self.is_jsonl:
            yield "", self.document()
            return
        for lineno, line in self._open_lines():
            if line.strip():
                text = line.rstrip("\r\n")
                yield f"line {lineno}", parse_json_text(text, self.label, line_offset=lineno - 1)

    def at(self, position: str) -> str:
        """``label`` followed by ``position`` when there is one, for messages."""
        return f"{self.label} {position}" if position else self.label


def expect_dict(value: Any, where: str, field: str | None) -> dict[str, Any]:
    """``value`` if it is a JSON object, else a :class:`TraceFormatError`."""
    if not isinstance(value, dict):
        fail(where, field, f"expected an object, got {_type_name(value)}")
    return value


def expect_list(value: Any, where: str, field: str | None) -> list[Any]:
    """``value`` if it is a JSON array, else a :class:`TraceFormatError`."""
    if not isinstance(value, list):
        fail(where, field, f"expected an array, got {_type_name(value)}")
    return value


def _type_name(value: Any) -> str:
    names = {dict: "an object", list: "an array", str: "a string", bool: "a boolean"}
    if value is None:
        return "null"
    if isinstance(value, int | float) and not isinstance(value, bool):
        return f"the number {value!r}"
    return names.get(type(value), type(value).__name__)


def get_str(
    obj: dict[str, Any], key: str, where: str, *, required: bool = False, default: str | None = None
) -> str | None:
    """``obj[key]`` as a string; numbers become strings, absent or null give ``default``."""
    value = obj.get(key)
    if value is None:
        if required:
            fail(where, key, "is missing")
        return default
    if isinstance(value, str):
        return value
    if isinstance(value, int | float) and not isinstance(value, bool):
        return str(value)
    fail(where, key, f"expected a string, got {_type_name(value)}")


def get_float(obj: dict[str, Any], key: str, where: str) -> float | None:
    """``obj[key]`` as a finite float (numeric strings accepted); absent or null give ``None``."""
    value = obj.get(key)
    if value is None:
        return None
    if isinstance(value, str):
        text = value
        try:
            value = float(text)
        except ValueError:
            fail(where, key, f"expected a number, got {text[:40]!r}")
    if isinstance(value, bool) or not isinstance(value, int | float):
        fail(where, key, f"expected a number, got {_type_name(value)}")
    number = float(value)
    if not math.isfinite(number):
        fail(where, key, f"expected a finite number, got {value!r}")
    return number


_NUMERIC = re.compile(r"[+-]?(\d+(\.\d*)?|\.\d+)([eE][+-]?\d+)?")
_FRACTION = re.compile(r"(\d{2}:\d{2}:\d{2})\.(\d+)")
_UNIT_NS = {"s": 1_000_000_000, "ms": 1_000_000, "us": 1_000, "ns": 1}


def to_ns(
    value: Any, where: str = "<value>", field: str | None = None, unit: str | None = None
) -> int:
    """A time as integer nanoseconds since the Unix epoch (or since any origin).

    Strings are ISO 8601 (any number of fractional digits, ``Z`` or an offset; a time without
    one is UTC) or numbers. Numbers are in ``unit`` when the format fixes it (``s``, ``ms``,
    ``us``, ``ns``); otherwise the unit is read from the magnitude, since epoch times in
    seconds, milliseconds, microseconds and nanoseconds differ by factors of 1000: from 1e17
    nanoseconds, from 1e14 microseconds, from 1e11 milliseconds, else seconds.

    >>> to_ns(1758026593210770000) == to_ns(1758026593210770) == to_ns(1758026593210.77)
    True
    >>> to_ns("1758026593.5")
    1758026593500000000
    >>> to_ns("1777555053780274700", unit="ns")
    1777555053780274700
    >>> to_ns("2026-07-24T12:00:02+00:00") - to_ns("2026-07-24T12:00:00Z")
    2000000000
    >>> to_ns(1.5)
    1500000000
    """
    if isinstance(value, str):
        text = value.strip()
        if _NUMERIC.fullmatch(text):
            number: int | float = int(text) if text.lstrip("+-").isdigit() else float(text)
            return _number_to_ns(number, where, field, unit)
        return _iso_to_ns(text, where, field)
    if isinstance(value, bool) or not isinstance(value, int | float):
        fail(where, field, f"expected a time, got {_type_name(value)}")
    return _number_to_ns(value, where, field, unit)


def _number_to_ns(number: int | float, where: str, field: str | None, unit: str | None) -> int:
    if isinstance(number, float) and not math.isfinite(number):
        fail(where, field, f"expected a finite time, got {number!r}")
    if unit is None:
        magnitude = abs(number)
        unit = (
            "ns"
            if magnitude >= 1e17
            else "us"
            if magnitude >= 1e14
            else "ms"
            if magnitude >= 1e11
            else "s"
        )
    if abs(number) > 1e30:
        fail(where, field, f"time {number!r} is out of range")
    factor = _UNIT_NS[unit]
    if isinstance(number, int):
        return number * factor
    # Scale the shortest decimal text of the float, not its binary value, so that
    # 1758026593210.77 ms is exactly 1758026593210770000 ns.
    return int((Decimal(repr(number)) * factor).to_integral_value())


def _iso_to_ns(text: str, where: str, field: str | None) -> int:
    extra_ns = 0
    match = _FRACTION.search(text)
    if match is not None:
        digits = match.group(2)
        extra_ns = int(digits[6:9].ljust(3, "0")) if len(digits) > 6 else 0
        text = text[: match.start(2)] + digits[:6] + text[match.end(2) :]
    if text.endswith(("Z", "z")):
        text = text[:-1] + "+00:00"
    try:
        moment = datetime.fromisoformat(text)
    except ValueError:
        fail(where, field, f"expected an ISO 8601 time or a number, got {text[:40]!r}")
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    try:
        delta = moment - datetime(1970, 1, 1, tzinfo=UTC)
    except OverflowError:
        fail(where, field, f"time {text[:40]!r} is out of range")
    seconds = delta.days * 86_400 + delta.seconds
    return seconds * 1_000_000_000 + delta.microseconds * 1_000 + extra_ns


_HEX = re.compile(r"(0x)?([0-9a-fA-F]+)")
_B64 = re.compile(r"[A-Za-z0-9+/_-]+={0,2}")


def norm_id(value: Any) -> str | None:
    """A span or trace id as lowercase hex when it is hex, base64 of 8 or 16 bytes, or an int.

    Other strings are kept as they are; empty strings and null give ``None``.

    >>> norm_id("00F067AA0BA902B7"), norm_id("0x00f067aa0ba902b7"), norm_id(67890)
    ('00f067aa0ba902b7', '00f067aa0ba902b7', '0000000000010932')
    >>> norm_id("AAAAAAAAAAAAAAAAAAAAAA=="), norm_id("") is None
    ('00000000000000000000000000000000', True)
    """
    if value is None or isinstance(value, bool):
        return None
    if isinstance(value, int):
        if value < 0:
            return str(value)
        width = 16 if value < 2**64 else 32
        return format(value, f"0{width}x")
    if not isinstance(value, str):
        return None
    text = value.strip()
    if not text:
        return None
    match = _HEX.fullmatch(text)
    if match is not None and (match.group(1) or len(text) in (16, 32)):
        return match.group(2).lower()
    if len(text) in (12, 24) and _B64.fullmatch(text):
        try:
            raw = base64.b64decode(text.replace("-", "+").replace("_", "/"), validate=True)
        except (binascii.Error, ValueError):
            return text
        if len(raw) in (8, 16):
            return raw.hex()
    return text


def json_safe(value: Any) -> JsonValue:
    """``value`` as a JSON value: non-finite floats become strings, other types their repr.

    >>> json_safe({"a": [1, float("nan")]})
    {'a': [1, 'nan']}
    """
    if value is None or isinstance(value, bool | int | str):
        return value
    if isinstance(value, float):
        return value if math.isfinite(value) else repr(value)
    if isinstance(value, list | tuple):
        return [json_safe(v) for v in value]
    if isinstance(value, dict):
        return {str(k): json_safe(v) for k, v in value.items()}
    return repr(value)


def maybe_json(value: Any) -> Any:
    """Parse a string holding a JSON object or array; anything else is returned unchanged.

    >>> maybe_json('{"isError": true}')
    {'isError': True}
    >>> maybe_json("plain text")
    'plain text'
    """
    if isinstance(value, str) and value[:1] in ("{", "[") and len(value) < 5_000_000:
        try:
            parsed = json.loads(value)
        except (json.JSONDecodeError, RecursionError):
            return value
        return parsed if _depth_ok(parsed) else value
    return value


def flatten(obj: Any, prefix: str = "", out: dict[str, Any] | None = None) -> dict[str, Any]:
    """Flatten nested objects into dotted keys (``{"llm": {"model_name": m}}`` to
    ``{"llm.model_name": m}``); arrays and scalars are leaves.

    >>> flatten({"llm": {"token_count": {"prompt": 3}}, "tool.name": "t"})
    {'llm.token_count.prompt': 3, 'tool.name': 't'}
    """
    out = {} if out is None else out
    if isinstance(obj, dict):
        for key, value in obj.items():
            name = f"{prefix}.{key}" if prefix else str(key)
            if isinstance(value, dict) and value:
                flatten(value, name, out)
            else:
                out[name] = value
    return out


@dataclass(frozen=True)
class Adapter:
    """A trace format: its name, a content sniffer and a reader.

    ``sniff`` receives the first record of the input (the whole document, or the first line
    of a JSON Lines file) and says whether it looks like this format; it must not raise.
    ``read`` turns a :class:`Source` into traces and raises only
    :class:`~agentsim.errors.TraceFormatError`.
    """

    name: str
    sniff: Callable[[Any], bool]
    read: Callable[[Source], list[Trace]]
    summary: str = ""
