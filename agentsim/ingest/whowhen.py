"""Who&When failure-attribution logs (Zhang et al., ICML 2025): the one parser of the format
(formats layer), used both to import a log as a trace and to read labels for scoring.

A log is one JSON object: ``question``, ``ground_truth``, ``history`` (the conversation, a list
of steps with ``content`` and a speaker: ``name`` in the Algorithm-Generated subset, ``role`` in
the Hand-Crafted one), and the annotation ``mistake_agent``, ``mistake_step`` (a 0-based index
into ``history``, often a string) and ``mistake_reason``.

Each step becomes a span of kind ``step`` at ``run#0/step#<i>`` under a root agent span
``run#0``; its agent is the speaker, with a trailing parenthesised qualifier removed
(``Orchestrator (thought)`` speaks for ``Orchestrator``; the full role stays in
``attributes["speaker"]``). The logs carry no times, so steps are unit-spaced (step ``i`` runs
from ``i`` to ``i + 1``), and no error marks: every span is ``ok``, and the failure is the
run's (``outcomes["success"] = 0.0``). The annotation and the task go to ``Trace.attributes``,
with ``mistake_address`` naming the annotated step's span.

References
----------
Zhang, S. et al. (2025). Which Agent Causes Task Failures and When? On Automated Failure
Attribution of LLM Multi-Agent Systems. ICML 2025.

Examples
--------
>>> log = {"question": "q", "ground_truth": "42", "mistake_agent": "WebSurfer",
...        "mistake_step": "1", "mistake_reason": "wrong page",
...        "history": [{"role": "Orchestrator (thought)", "content": "plan"},
...                    {"role": "WebSurfer", "content": "clicked"}]}
>>> [trace] = read(Source(obj=log))
>>> for s in trace.spans:
...     print(s.address, s.kind, s.agent, s.start)
run#0 agent None 0.0
run#0/step#0 step Orchestrator 0.0
run#0/step#1 step WebSurfer 1.0
>>> trace.attributes["mistake_step"], trace.attributes["mistake_address"], trace.outcomes["success"]
(1, 'run#0/step#1', 0.0)
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from pydantic import JsonValue

from agentsim.errors import TraceFormatError
from agentsim.ingest._build import RawSpan, build_trace
from agentsim.ingest._common import (
    Adapter,
    Source,
    expect_dict,
    expect_list,
    fail,
    get_str,
    json_safe,
)
from agentsim.trace import Trace

__all__ = ["ADAPTER", "ROOT", "Step", "WhoWhenLog", "parse_log", "read", "sniff", "speaker_agent"]

ROOT = "run"
"""Name of the root span; steps live at ``run#0/step#<i>``."""

_SECOND = 1_000_000_000
_QUALIFIER = re.compile(r"\s*\([^()]*\)\s*$")


def sniff(obj: Any) -> bool:
    """Whether ``obj`` is a Who&When log."""
    return isinstance(obj, dict) and isinstance(obj.get("history"), list) and "question" in obj


def speaker_agent(speaker: str) -> str:
    """The agent a speaker label stands for: a trailing ``(...)`` qualifier is dropped.

    >>> speaker_agent("Orchestrator (-> WebSurfer)"), speaker_agent("Excel_Expert")
    ('Orchestrator', 'Excel_Expert')
    """
    return _QUALIFIER.sub("", speaker).strip() or speaker


@dataclass(frozen=True)
class Step:
    """One step of a Who&When ``history``: what was said, and by whom."""

    content: str
    """The message (for an exported run, the rendered span)."""
    name: str | None = None
    """Speaker, in the Algorithm-Generated subset and in agentsim's exports."""
    role: str | None = None
    """Speaker in the Hand-Crafted subset; ``assistant`` in agentsim's exports."""

    @property
    def speaker(self) -> str:
        """``name`` when present, else ``role``."""
        return self.name if self.name is not None else (self.role or "")


@dataclass(frozen=True)
class WhoWhenLog:
    """One Who&When log: the task, the conversation and, when annotated, the mistake."""

    question: str
    """The task."""
    ground_truth: str
    """The right answer (``success`` for agentsim's exports)."""
    history: tuple[Step, ...]
    """The conversation, step by step."""
    mistake_agent: str | None
    """The agent annotated as responsible (``None`` for a log without annotation)."""
    mistake_step: int | None
    """0-based index into ``history`` of the decisive mistake (parsed from the string)."""
    mistake_reason: str = ""
    """Why, in words."""
    file: str = field(default="", compare=False)
    """Where the log was read from."""
    extra: Mapping[str, Any] = field(default_factory=dict, compare=False)
    """Every other top-level field (``question_ID``, ``is_correct``, ``agentsim``...)."""

    @property
    def label(self) -> tuple[str, int]:
        """``(mistake_agent, mistake_step)``: what :func:`agentsim.bench.score` compares."""
        if self.mistake_agent is None or self.mistake_step is None:
            raise TraceFormatError(f"{self.file or 'this log'!r} carries no mistake annotation")
        return (self.mistake_agent, self.mistake_step)


_KNOWN = ("question", "ground_truth", "history", "mistake_agent", "mistake_step", "mistake_reason")


def _text(value: Any) -> str:
    return value if isinstance(value, str) else json.dumps(value, ensure_ascii=False)


def parse_log(where: str, log: Any, *, annotated: bool = False) -> WhoWhenLog:
    """Read one Who&When log object: the one parser of the format.

    ``annotated=True`` (what scoring needs) requires ``question``, ``mistake_agent`` and a
    ``mistake_step`` inside ``history``; otherwise the annotation is optional.

    Raises
    ------
    TraceFormatError
        Naming ``where`` and the field that is missing or malformed.

    Examples
    --------
    >>> rec = parse_log("log.json", {"question": "q", "mistake_agent": "B", "mistake_step": "1",
    ...                              "history": [{"name": "A", "content": "hi"},
    ...                                          {"role": "B", "content": "no"}]})
    >>> rec.label, rec.history[1].speaker
    (('B', 1), 'B')
    """
    log = expect_dict(log, where, None)
    history = expect_list(log.get("history"), where, "history")
    steps = []
    for i, raw in enumerate(history):
        at = f"{where} history[{i}]"
        raw = expect_dict(raw, at, None)
        name, role = get_str(raw, "name", at), get_str(raw, "role", at)
        if name is None and role is None:
            fail(at, "name", "is missing (a step names its speaker in 'name' or 'role')")
        steps.append(Step(content=_text(raw.get("content", "")), name=name, role=role))
    if annotated:
        for key in ("question", "mistake_agent"):
            if not isinstance(log.get(key), str):
                fail(where, key, "is missing or not a string")
    agent = log.get("mistake_agent")
    step: int | None = None
    raw_step = log.get("mistake_step")
    if raw_step is not None or annotated:
        text = str(raw_step).strip() if isinstance(raw_step, str | int) else ""
        if isinstance(raw_step, bool) or not text.isdigit() or len(text) > 12:
            fail(where, "mistake_step", f"must be a 0-based step index, got {str(raw_step)[:40]!r}")
        step = int(text)
        if annotated and step >= len(steps):
            fail(where, "mistake_step", f"is {step}, past the end of history ({len(steps)} steps)")
    return WhoWhenLog(
        question=_text(log.get("question", "")),
        ground_truth=_text(log.get("ground_truth", "")),
        history=tuple(steps),
        mistake_agent=agent if isinstance(agent, str) else None,
        mistake_step=step,
        mistake_reason=_text(log.get("mistake_reason", "")),
        file=where,
        extra={k: v for k, v in log.items() if k not in _KNOWN},
    )


def _log(where: str, log: Any) -> Trace:
    rec = parse_log(where, log)
    n = len(rec.history)
    raws = [
        RawSpan(
            index=0,
            span_id="root",
            parent_id=None,
            name=ROOT,
            kind="agent",
            start_ns=0,
            end_ns=max(n, 1) * _SECOND,
            agent_name=ROOT,
        )
    ]
    raws[0].attributes["steps"] = n
    for i, step in enumerate(rec.history):
        step_attrs: dict[str, JsonValue] = {
            "step": i,
            "speaker": step.speaker,
            "content": json_safe(log["history"][i].get("content")),
        }
        if step.role is not None and step.role != step.speaker:
            step_attrs["role"] = step.role
        raws.append(
            RawSpan(
                index=i + 1,
                span_id=f"step-{i}",
                parent_id="root",
                name="step",
                kind="step",
                start_ns=i * _SECOND,
                end_ns=(i + 1) * _SECOND,
                agent=speaker_agent(step.speaker),
                attributes=step_attrs,
            )
        )
    attrs: dict[str, JsonValue] = {}
    for key in (
        "question",
        "ground_truth",
        "mistake_agent",
        "mistake_reason",
        "question_ID",
        "level",
    ):
        if key in log:
            attrs[key] = json_safe(log[key])
    if rec.mistake_step is not None:
        attrs["mistake_step"] = rec.mistake_step
        if rec.mistake_step < n:
            attrs["mistake_address"] = f"{ROOT}#0/step#{rec.mistake_step}"
    correct = log.get("is_correct", log.get("is_corrected"))
    success = 1.0 if correct is True else 0.0
    trace_id = str(log.get("question_ID") or "")
    trace = build_trace(
        raws, source="whowhen", trace_id=trace_id, attributes=attrs, success=success
    )
    trace.spans[0].agent = None
    return trace


def read(source: Source) -> list[Trace]:
    """Read Who&When logs (one per document, or one per line)."""
    traces = [_log(source.at(position), record) for position, record in source.records()]
    if not traces:
        raise TraceFormatError(f"{source.label}: the file holds no Who&When log")
    return traces


ADAPTER = Adapter(name="whowhen", sniff=sniff, read=read, summary="Who&When failure logs")
