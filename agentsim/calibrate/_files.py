"""Calibrating from files, streamed: read a corpus, hold some traces out, calibrate, check.

Layer: calibrate. It imports only from its own layer and the ones below it.

The body of ``agentsim calibrate``, kept here so the command line only parses and prints.
:func:`iter_traces` yields a corpus's traces one at a time: an OTLP JSON Lines file (the
collector's file exporter) is read line by line, other files one file at a time, so a large
corpus is never held in memory as traces; calibration keeps compact call records and the
held-out part is summarised as it passes (``benchmarks/bench_calibrate.py`` measures it).

The hold-out is a seeded draw per trace (trace ``i`` is held out when the ``i``-th uniform of
``numpy.random.default_rng(seed)`` is below the fraction), so the same traces are held out
for the same seed and file order on any machine, without knowing the corpus size in advance.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from agentsim.calibrate._calibrate import calibrate
from agentsim.calibrate._check import FitCheck, HeldOut
from agentsim.calibrate._result import Calibration
from agentsim.errors import ScenarioError, TraceFormatError
from agentsim.ingest import load_traces, parse_traces
from agentsim.trace import Trace

__all__ = ["CalibrationRun", "calibrate_files", "iter_traces"]

_SUFFIXES = (".json", ".jsonl", ".ndjson")


def _files(path: Path) -> list[Path]:
    if not path.exists():
        raise TraceFormatError(f"corpus path {str(path)!r} does not exist")
    if path.is_dir():
        return sorted(
            p
            for p in path.rglob("*")
            if p.is_file() and p.suffix.lower() in _SUFFIXES and not p.name.startswith(".")
        )
    return [path]


def _otlp_lines(path: Path) -> bool:
    """Whether ``path`` is JSON Lines whose first record is an OTLP export."""
    if path.suffix.lower() not in (".jsonl", ".ndjson"):
        return False
    with path.open("rb") as f:
        for line in f:
            if line.strip():
                return line.lstrip().startswith(b'{"resourceSpans"')
    return False


def iter_traces(paths: Iterable[str | os.PathLike[str]]) -> Iterator[Trace]:
    """The traces of files or folders, one at a time.

    >>> import tempfile, pathlib, agentsim as asim
    >>> from agentsim import workflow as wf
    >>> d = pathlib.Path(tempfile.mkdtemp())
    >>> sc = wf.scenario(wf.call("a"), {"a": dict(p_ok=0.9, latency=1.0)})
    >>> _ = asim.save_otlp([r.trace for r in sc.simulate(n=3, seed=0)], d / "c.jsonl")
    >>> [len(t.spans) for t in iter_traces([d])]
    [2, 2, 2]
    """
    for p in paths:
        for file in _files(Path(p)):
            if not _otlp_lines(file):
                yield from load_traces(file)
                continue
            with file.open("rb") as f:
                for lineno, line in enumerate(f, 1):
                    if not line.strip():
                        continue
                    try:
                        obj = json.loads(line)
                    except ValueError as exc:
                        raise TraceFormatError(f"{file}:{lineno}: not JSON ({exc})") from None
                    yield from parse_traces(obj, format="otlp")


@dataclass(frozen=True)
class CalibrationRun:
    """What ``agentsim calibrate`` did: the calibration, its fit check, the file written."""

    calibration: Calibration
    check: FitCheck | None
    """``None`` when nothing was held out."""
    path: Path | None


def calibrate_files(
    paths: Sequence[str | os.PathLike[str]],
    *,
    holdout: float = 0.2,
    seed: int = 0,
    out: str | os.PathLike[str] | None = None,
    runs: int = 4000,
    name: str = "twin",
) -> CalibrationRun:
    """Calibrate a twin from trace files or folders, check it on a held-out part, write it.

    Parameters
    ----------
    paths
        Trace files or folders (any format :func:`~agentsim.ingest.load_traces` reads).
    holdout
        Fraction of traces kept out of the calibration for the fit check (0: none).
    seed
        Seed of the hold-out draw and of the twin's simulated runs.
    out
        Where to write the twin module (atomically); ``None`` writes nothing.
    runs
        Twin runs simulated for the fit check.
    name
        Name of the twin scenario.

    Examples
    --------
    >>> import tempfile, pathlib, agentsim as asim
    >>> from agentsim import workflow as wf
    >>> d = pathlib.Path(tempfile.mkdtemp())
    >>> sc = wf.scenario(wf.call("a"), {"a": dict(p_ok=0.9, latency=1.0)})
    >>> _ = asim.save_otlp([r.trace for r in sc.simulate(n=50, seed=0)], d / "c.jsonl")
    >>> done = calibrate_files([d / "c.jsonl"], holdout=0.2, out=d / "twin.py", runs=200)
    >>> done.calibration.traces + done.check.held_out, done.path.name
    (50, 'twin.py')
    """
    if not 0.0 <= holdout < 1.0:
        raise ScenarioError(
            f"holdout={holdout!r} must be in [0, 1): the fraction of traces kept for the fit "
            "check; use 0 to calibrate on every trace"
        )
    for p in paths:
        _files(Path(p))  # a missing path fails before any work
    held = HeldOut()
    rng = np.random.default_rng(seed)

    def training() -> Iterator[Trace]:
        for trace in iter_traces(paths):
            if holdout and rng.random() < holdout:
                held.add(trace)
            else:
                yield trace

    cal = calibrate(training(), name=name)
    check = cal.check(held, n=runs, seed=seed) if held.count else None
    path = cal.to_python(out) if out is not None else None
    return CalibrationRun(cal, check, path)
