"""The attribute keys agentsim writes to OTLP and reads back: one table for both directions
(formats layer; imports nothing of the package).

:func:`agentsim.otlp.to_otlp` writes a trace's own fields as ``agentsim.*`` attributes beside
the OpenTelemetry GenAI ones; :mod:`agentsim.ingest._roundtrip` reads them back to restore the
trace exactly, and every other importer leaves them alone. Whatever one side writes, the other
reads from this table.

>>> ADDRESS, NOISE_PREFIX + "ok"
('agentsim.address', 'agentsim.noise.ok')
>>> ADDRESS in RESERVED and "gen_ai.tool.name" in RESERVED
True
"""

from __future__ import annotations

__all__ = [
    "ADDRESS",
    "AGENT",
    "AGENTSIM_PREFIX",
    "CHOICE",
    "COST",
    "INPUTS",
    "INTERVENTIONS",
    "KIND",
    "LINK",
    "NOISE_PREFIX",
    "OUTCOME_PREFIX",
    "QUEUED",
    "RESERVED",
    "RUN_PREFIX",
    "SCENARIO",
    "SCHEMA_VERSION",
    "SEED",
    "SOURCE",
    "STATUS",
    "TRACE_ID",
    "VALUE",
]

AGENTSIM_PREFIX = "agentsim."
"""Every key agentsim adds of its own starts with this (a twin's calibration strips them)."""

# Span fields, on every span.
ADDRESS = "agentsim.address"
KIND = "agentsim.kind"
STATUS = "agentsim.status"
AGENT = "agentsim.agent"
COST = "agentsim.cost"
QUEUED = "agentsim.queued"
INPUTS = "agentsim.inputs"
VALUE = "agentsim.value"
CHOICE = "agentsim.choice"
LINK = "agentsim.link"
"""On a span link: ``input`` when the linked span's result was passed to this one."""

# Per-slot and per-name families.
NOISE_PREFIX = "agentsim.noise."
OUTCOME_PREFIX = "agentsim.outcome."
RUN_PREFIX = "agentsim.run."

# Run-level fields, on the root span or the resource.
INTERVENTIONS = "agentsim.interventions"
TRACE_ID = "agentsim.trace_id"
SOURCE = "agentsim.source"
SCENARIO = "agentsim.scenario"
SEED = "agentsim.seed"
SCHEMA_VERSION = "agentsim.schema_version"

# OpenTelemetry GenAI semantic-convention keys the export writes.
GEN_AI_OPERATION = "gen_ai.operation.name"
GEN_AI_AGENT = "gen_ai.agent.name"
GEN_AI_TOOL = "gen_ai.tool.name"
GEN_AI_MODEL = "gen_ai.request.model"
ERROR_TYPE = "error.type"

RESERVED = frozenset(
    {
        ADDRESS,
        KIND,
        STATUS,
        AGENT,
        COST,
        QUEUED,
        INPUTS,
        VALUE,
        CHOICE,
        INTERVENTIONS,
        TRACE_ID,
        SOURCE,
        SCENARIO,
        SEED,
        SCHEMA_VERSION,
        GEN_AI_OPERATION,
        GEN_AI_AGENT,
        GEN_AI_TOOL,
        GEN_AI_MODEL,
        ERROR_TYPE,
    }
)
"""Keys that map to trace fields: a restored span does not repeat them in its attributes."""
