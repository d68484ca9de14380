"""Twins: calibrate a scenario from a corpus of real traces, and check how well it fits.

Layer: calibrate. It imports only from its own layer and the ones below it.

:func:`calibrate` reads a corpus (any format :func:`~agentsim.ingest.load_traces` reads) down
to what exporters record, infers each agent's workflow structure and each call's data-flow
parent, fits every tool's mechanism, and returns a :class:`Calibration` whose ``.scenario`` is
an :mod:`agentsim.workflow` scenario (so the analytic oracle applies to it) and whose
``.check(held_out)`` says where the twin fits the system and where it does not.
"""

from __future__ import annotations

from agentsim.calibrate._calibrate import calibrate
from agentsim.calibrate._check import CheckLine, FitCheck, check_fit
from agentsim.calibrate._corpus import strip_otlp
from agentsim.calibrate._files import CalibrationRun, calibrate_files, iter_traces
from agentsim.calibrate._fit import LatencyFit
from agentsim.calibrate._match import TwinLocus, twin_locus
from agentsim.calibrate._result import Calibration, ToolParams

__all__ = [
    "Calibration",
    "CalibrationRun",
    "CheckLine",
    "FitCheck",
    "LatencyFit",
    "ToolParams",
    "TwinLocus",
    "calibrate",
    "calibrate_files",
    "check_fit",
    "iter_traces",
    "strip_otlp",
    "twin_locus",
]
