"""Arguments of the ``agentsim`` command: fixed choices, ``--do`` specs, output paths, JSON.

Layer: face (the top). It may import from every layer below it.

Everything here is checked before any simulation runs, so a bad option costs nothing.
"""

from __future__ import annotations

import json
import math
import os
import sys
from enum import StrEnum
from pathlib import Path
from typing import Any

from agentsim.errors import AgentSimError
from agentsim.interventions import do

__all__ = [
    "Game",
    "Method",
    "Over",
    "Reference",
    "UserError",
    "check_out",
    "emit_json",
    "jsonable",
    "parse_do",
    "refuse_scenario_file",
]


class UserError(AgentSimError):
    """A command-line usage error."""


class Method(StrEnum):
    """Attribution methods of ``agentsim attribute``."""

    shapley = "shapley"
    banzhaf = "banzhaf"
    but_for = "but-for"
    actual = "actual"
    decisive = "decisive"


class Over(StrEnum):
    """Players of an attribution (``spans``: every span of an imported trace, plumbing too)."""

    calls = "calls"
    agents = "agents"
    tools = "tools"
    spans = "spans"


class Game(StrEnum):
    """Attribution games (``auto``: the library's default for the outcome)."""

    auto = "auto"
    fault = "fault"
    repair = "repair"
    break_ = "break"
    resample = "resample"
    baseline = "baseline"


class Reference(StrEnum):
    """What ``agentsim validate`` scores claims against."""

    decisive = "decisive"
    annotation = "annotation"


def _parse_value(text: str) -> Any:
    low = text.strip().lower()
    if low in ("true", "yes", "1"):
        return True
    if low in ("false", "no", "0"):
        return False
    try:
        return float(text)
    except ValueError:
        return text


def parse_do(spec: str) -> Any:
    """Parse ``ADDRESS:ok=true,latency=2`` into ``asim.do``.

    >>> parse_do("main#0/a#0:ok=false").describe()
    'do(main#0/a#0, ok=False)'
    """
    target, sep, rest = spec.rpartition(":")
    if not sep or not target or "=" not in rest:
        raise UserError(
            f"--do {spec!r} must look like ADDRESS:ok=true (or latency=, value=, cost=)"
        )
    kwargs: dict[str, Any] = {}
    for part in rest.split(","):
        key, eq, raw = part.partition("=")
        key = key.strip()
        if not eq or key not in ("ok", "latency", "value", "cost"):
            raise UserError(f"--do {spec!r}: unknown field {key!r}; use ok, latency, value, cost")
        value = _parse_value(raw)
        if key == "ok":
            if not isinstance(value, bool):
                raise UserError(f"--do {spec!r}: ok must be true or false, got {raw!r}")
        elif key in ("latency", "cost") and not isinstance(value, float):
            raise UserError(f"--do {spec!r}: {key} must be a number, got {raw!r}")
        kwargs[key] = value
    return do(target, **kwargs)


def check_out(path: str, *, force: bool, suffixes: tuple[str, ...] = (), why: str = "") -> Path:
    """Check an ``--out`` path before any work is done, and return it.

    Refused: a directory; an existing file without ``--force``; a suffix outside
    ``suffixes`` (``why`` says what needs it); a folder that cannot be created or written.

    >>> check_out(".", force=False)
    Traceback (most recent call last):
    ...
    agentsim.cli_args.UserError: --out '.' is a directory; give a file path
    """
    target = Path(path)
    if suffixes and target.suffix not in suffixes:
        raise UserError(
            f"--out {path!r}: {why or 'the file'} needs a path ending " + " or ".join(suffixes)
        )
    if target.is_dir():
        raise UserError(f"--out {path!r} is a directory; give a file path")
    if target.exists() and not force:
        raise UserError(f"--out {path!r} already exists; pass --force to replace it")
    real = Path(os.path.realpath(target))
    folder = real.parent
    while not folder.exists() and folder != folder.parent:
        folder = folder.parent
    if not folder.is_dir() or not os.access(folder, os.W_OK | os.X_OK):
        raise UserError(f"cannot write --out {path!r}: {str(folder)!r} is not a writable folder")
    return target


def refuse_scenario_file(path: str) -> None:
    """A scenario file given where a trace is expected gets a pointer to ``agentsim run``.

    >>> refuse_scenario_file("rag.py")  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    agentsim.cli_args.UserError: 'rag.py' is a scenario file (Python), not a trace; use ...
    """
    if path.endswith(".py"):
        raise UserError(
            f"{path!r} is a scenario file (Python), not a trace; use `agentsim run {path}` "
            f"(or `agentsim report {path}`)"
        )


def jsonable(value: Any) -> Any:
    """``value`` with non-finite floats as ``None`` and tuples as lists, for strict JSON.

    >>> jsonable({"a": (1.0, float("nan")), "b": float("inf")})
    {'a': [1.0, None], 'b': None}
    """
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, dict):
        return {str(k): jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [jsonable(v) for v in value]
    return value


def emit_json(doc: Any) -> None:
    """Write one JSON document on standard output (ASCII, so any terminal shows it)."""
    sys.stdout.write(json.dumps(jsonable(doc), ensure_ascii=True, indent=2) + "\n")
