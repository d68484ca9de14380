"""Calibrating from files: read a corpus, hold some traces out, calibrate, check, write.

The body of ``agentsim calibrate``, kept here so the command line only parses and prints.
The hold-out split is a seeded permutation of the traces (the same traces are held out for
the same seed, whatever the machine), so a fit check can be reproduced.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from agentsim.calibrate._calibrate import calibrate
from agentsim.calibrate._check import FitCheck
from agentsim.calibrate._result import Calibration
from agentsim.errors import ScenarioError, TraceFormatError
from agentsim.ingest import load_traces
from agentsim.trace import Trace

__all__ = ["CalibrationRun", "calibrate_files", "split_holdout"]


def split_holdout(
    traces: Sequence[Trace], fraction: float, seed: int = 0
) -> tuple[list[Trace], list[Trace]]:
    """``(training, held_out)``: ``round(fraction * n)`` traces held out at random.

    >>> train, held = split_holdout([Trace(trace_id=str(i)) for i in range(10)], 0.2, seed=0)
    >>> len(train), len(held)
    (8, 2)
    """
    if not 0.0 <= fraction < 1.0:
        raise ScenarioError(
            f"holdout={fraction!r} must be in [0, 1): the fraction of traces kept for the fit "
            "check; use 0 to calibrate on every trace"
        )
    n = len(traces)
    k = round(fraction * n)
    if n - k < 1:
        k = n - 1
    order = np.random.default_rng(seed).permutation(n)
    held = sorted(int(i) for i in order[:k])
    held_set = set(held)
    return [t for i, t in enumerate(traces) if i not in held_set], [traces[i] for i in held]


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

    >>> import tempfile, pathlib, agentsim as asim
    >>> from agentsim import workflow as wf
    >>> d = pathlib.Path(tempfile.mkdtemp())
    >>> sc = wf.scenario(wf.call("a"), {"a": dict(p_ok=0.9, latency=1.0)})
    >>> _ = asim.save_otlp([r.trace for r in sc.simulate(n=50, seed=0)], d / "c.jsonl")
    >>> done = calibrate_files([d / "c.jsonl"], holdout=0.2, out=d / "twin.py", runs=200)
    >>> done.calibration.traces, done.check.held_out, done.path.name
    (40, 10, 'twin.py')
    """
    traces: list[Trace] = []
    for p in paths:
        if not Path(p).exists():
            raise TraceFormatError(f"corpus path {str(p)!r} does not exist")
        traces.extend(load_traces(p))
    if not traces:
        raise TraceFormatError(
            f"no traces found in {[str(p) for p in paths]}; give trace files or folders of "
            ".json/.jsonl files"
        )
    train, held = split_holdout(traces, holdout, seed)
    cal = calibrate(train, name=name)
    check = cal.check(held, n=runs, seed=seed) if held else None
    path = cal.to_python(out) if out is not None else None
    return CalibrationRun(cal, check, path)
