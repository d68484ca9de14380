"""Loading what the ``agentsim`` command is given: scenario files and modules, trace files.

Layer: face (the top). It may import from every layer below it.

Failures become one-line :class:`~agentsim.errors.AgentSimError` messages naming the input.
"""

from __future__ import annotations

import importlib
import importlib.util
import sys
import traceback
from pathlib import Path
from typing import Any

from agentsim.cli_args import UserError, refuse_scenario_file
from agentsim.errors import AgentSimError, ScenarioError
from agentsim.ingest import load_traces as read_traces
from agentsim.scenario import Scenario

__all__ = ["guard_read", "is_scenario_spec", "load_scenario", "load_trace", "load_traces"]


def load_scenario(spec: str, *, module: bool = False) -> Any:
    """Load ``scenario`` from a Python file path or a module name.

    A name that is not a file is imported as a module only when ``module`` is true (``-m``)
    or the name is dotted (``scenarios.support_desk``); a bare name such as ``antigravity``
    is never imported by accident.

    Whatever the file raises while it is imported (a syntax error, a missing module, any
    exception at module level) becomes a :class:`~agentsim.errors.ScenarioError` naming the
    file; ``KeyboardInterrupt`` and ``SystemExit`` pass through.

    >>> load_scenario("no/such/file.py")
    Traceback (most recent call last):
    ...
    agentsim.cli_args.UserError: scenario file 'no/such/file.py' does not exist
    """
    path = Path(spec)
    if path.is_dir():
        raise UserError(
            f"scenario path {spec!r} is a directory; give a Python file that defines "
            "`scenario` (such as scenarios/support_desk.py) or a module name"
        )
    if spec.endswith(".py") or path.exists() or "/" in spec:
        if not path.is_file():
            raise UserError(f"scenario file {spec!r} does not exist")
        loaded = _import_file(spec, path)
    elif not module and "." not in spec:
        raise UserError(
            f"no scenario file {spec!r}; give a path to a .py file, or pass --module to import "
            f"the Python module {spec!r}"
        )
    else:
        try:
            loaded = importlib.import_module(spec)
        except ModuleNotFoundError as exc:
            if exc.name is None or not (spec + ".").startswith(exc.name + "."):
                raise ScenarioError(_import_failure("scenario module", spec, exc)) from exc
            raise UserError(
                f"no scenario file or module {spec!r}; give a path to a .py file or an "
                "importable module name"
            ) from None
        except Exception as exc:
            raise ScenarioError(_import_failure("scenario module", spec, exc)) from exc
    sc = getattr(loaded, "scenario", None)
    if not isinstance(sc, Scenario):
        raise UserError(
            f"{spec!r} defines no `scenario` (an agentsim.Scenario); add `scenario = ...` at "
            "module level"
        )
    return sc


def _import_file(spec: str, path: Path) -> Any:
    """Execute a scenario file as a fresh module, turning its failures into ScenarioError."""
    name = f"_agentsim_scenario_{abs(hash(str(path.resolve())))}"
    module_spec = importlib.util.spec_from_file_location(name, path)
    if module_spec is None or module_spec.loader is None:
        raise UserError(
            f"cannot import {spec!r} as a Python file; give a .py file that defines `scenario`"
        )
    module = importlib.util.module_from_spec(module_spec)
    sys.modules[name] = module
    try:
        module_spec.loader.exec_module(module)
    except Exception as exc:  # user code: anything may fail; BaseException still escapes
        sys.modules.pop(name, None)
        raise ScenarioError(
            _import_failure("scenario file", spec, exc, _line_in(exc, path))
        ) from exc
    return module


def _line_in(exc: BaseException, path: Path) -> int | None:
    """The line of ``path`` that was executing, deepest first, when ``exc`` was raised."""
    target = str(path.resolve())
    for frame in reversed(traceback.extract_tb(exc.__traceback__)):
        if frame.filename and str(Path(frame.filename).resolve()) == target:
            return frame.lineno
    return None


def _import_failure(kind: str, spec: str, exc: Exception, line: int | None = None) -> str:
    """One line naming what failed to import (and where), the exception, and the fix.

    >>> _import_failure("scenario file", "x.py", KeyError("k"), line=7)
    "scenario file 'x.py' failed to import at line 7: KeyError: 'k'; fix the scenario file"
    """
    at = f" at line {line}" if line is not None else ""
    if isinstance(exc, SyntaxError):
        detail = f"{exc.msg} ({exc.filename}, line {exc.lineno})"
    else:
        detail = str(exc) or "(no message)"
    # main() prints only the first line of an error, so the message must be one line
    if isinstance(exc, AgentSimError):  # its message already names the value and the fix
        return " ".join(f"{kind} {spec!r} failed to import{at}: {detail}".split())
    detail = " ".join(detail.split())
    return f"{kind} {spec!r} failed to import{at}: {type(exc).__name__}: {detail}; fix the {kind}"


def is_scenario_spec(spec: str) -> bool:
    """A ``.py`` file or an importable module name (not an existing data file)."""
    p = Path(spec)
    if spec.endswith(".py"):
        return True
    return not p.exists() and "/" not in spec and not spec.endswith((".json", ".jsonl"))


def load_traces(path: str, fmt: str | None = None) -> list[Any]:
    """Every trace of one file, in any supported format; a directory is refused."""
    refuse_scenario_file(path)
    if not Path(path).exists():
        raise UserError(f"trace file {path!r} does not exist")
    if Path(path).is_dir():  # the loader would read the whole tree below it
        raise UserError(
            f"{path!r} is a directory; give a trace file, such as one of the .json or .jsonl "
            "files in it"
        )
    traces = read_traces(path, format=fmt)
    if not traces:
        raise UserError(f"{path!r} holds no trace")
    return traces


def load_trace(path: str, fmt: str | None = None, index: int = 0) -> Any:
    traces = load_traces(path, fmt)
    if not 0 <= index < len(traces):
        raise UserError(
            f"{path!r} holds {len(traces)} traces; --trace must be in "
            f"[0, {len(traces) - 1}], got {index}"
        )
    return traces[index]


def guard_read(subject: str, fn: Any, *args: Any, **kwargs: Any) -> Any:
    """``fn(*args, **kwargs)``; JSON nested too deeply or bytes that are not UTF-8 become
    one-line errors naming ``subject`` (such as ``"claims file 'c.json'"``)."""
    try:
        return fn(*args, **kwargs)
    except RecursionError:
        raise UserError(
            f"{subject} is nested too deeply to read; give a flatter JSON file"
        ) from None
    except UnicodeDecodeError as exc:
        raise UserError(
            f"{subject} is not UTF-8 text (byte {exc.start}); save it as UTF-8 JSON"
        ) from None
