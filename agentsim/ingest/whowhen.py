"""Who&When failure-attribution logs (Zhang et al., ICML 2025).

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

import re
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

__all__ = ["ADAPTER", "ROOT", "read", "sniff", "speaker_agent"]

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


def _log(where: str, log: Any) -> Trace:
    log = expect_dict(log, where, None)
    history = expect_list(log.get("history"), where, "history")
    n = len(history)
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
    for i, step in enumerate(history):
        at = f"{where} history[{i}]"
        step = expect_dict(step, at, None)
        speaker = get_str(step, "name", at) or get_str(step, "role", at)
        if speaker is None:
            fail(at, "name", "is missing (a step names its speaker in 'name' or 'role')")
        content = step.get("content")
        step_attrs: dict[str, JsonValue] = {
            "step": i,
            "speaker": speaker,
            "content": json_safe(content),
        }
        if isinstance(step.get("role"), str) and step["role"] != speaker:
            step_attrs["role"] = step["role"]
        raws.append(
            RawSpan(
                index=i + 1,
                span_id=f"step-{i}",
                parent_id="root",
                name="step",
                kind="step",
                start_ns=i * _SECOND,
                end_ns=(i + 1) * _SECOND,
                agent=speaker_agent(speaker),
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
    step = log.get("mistake_step")
    if step is not None:
        text = str(step).strip()
        if not text.lstrip("-").isdigit() or len(text) > 12:
            fail(where, "mistake_step", f"expected a step index, got {str(step)[:40]!r}")
        attrs["mistake_step"] = int(text)
        if 0 <= int(text) < n:
            attrs["mistake_address"] = f"{ROOT}#0/step#{int(text)}"
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
