"""Trivial baselines for locating the decisive mistake in Who&When logs, scored beside the
locator on the same logs, so that a reader can judge whether the locator adds anything.

Layer: face (the top). It may import from every layer below it.

Three rules a reader could apply without reading the log:

``first reply``
    a constant step: the first step not spoken by the task giver (``human``/``user``), and
    its speaker;
``last speaker``
    the last step's speaker (and that step);
``author before first error``
    find the first step whose text has an error word (``error``, ``failed``, ``exception``,
    ``traceback``, a non-zero exit code); name the nearest earlier step by another speaker
    (the author of what failed), or that step itself when there is none.

:func:`compare_on_whowhen` scores them and :func:`~agentsim.locate_failure` on every log of a
folder (recursively, one subset per subfolder), with exact integer step matching.

Examples
--------
>>> from agentsim.trace import Span, Trace
>>> t = Trace(source="whowhen", spans=[
...     Span(address=f"run#0/step#{i}", kind="step", name="step", agent=a,
...          attributes={"content": c})
...     for i, (a, c) in enumerate([("human", "task"), ("Coder", "code"),
...                                 ("Shell", "exitcode: 1"), ("Coder", "done")])])
>>> first_reply(t), last_speaker(t), author_before_first_error(t)
(('Coder', 1), ('Coder', 3), ('Coder', 1))
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from agentsim.ingest import load_trace
from agentsim.locate import locate_failure
from agentsim.trace import Span, Trace

__all__ = [
    "BASELINES",
    "Comparison",
    "author_before_first_error",
    "compare_on_whowhen",
    "first_reply",
    "last_speaker",
]

Guess = tuple[str | None, int | None]
_TASK_GIVERS = frozenset({"human", "user"})
_ERROR_WORDS = re.compile(
    r"\b(error|errors|failed|failure|exception|traceback)\b|exitcode:\s*[1-9]", re.IGNORECASE
)


def _steps(trace: Trace) -> list[Span]:
    return [s for s in trace.spans if s.kind != "agent"]


def _text(span: Span) -> str:
    content = span.attributes.get("content")
    return content if isinstance(content, str) else ""


def first_reply(trace: Trace) -> Guess:
    """The first step not spoken by the task giver, and its speaker."""
    steps = _steps(trace)
    for i, s in enumerate(steps):
        if str(s.agent).lower() not in _TASK_GIVERS:
            return s.agent, i
    return (steps[0].agent, 0) if steps else (None, None)


def last_speaker(trace: Trace) -> Guess:
    """The last step and its speaker."""
    steps = _steps(trace)
    return (steps[-1].agent, len(steps) - 1) if steps else (None, None)


def author_before_first_error(trace: Trace) -> Guess:
    """The nearest step before the first error word spoken by someone else (module doc)."""
    steps = _steps(trace)
    for j, s in enumerate(steps):
        if _ERROR_WORDS.search(_text(s)):
            for i in range(j - 1, -1, -1):
                speaker = str(steps[i].agent)
                if speaker != str(s.agent) and speaker.lower() not in _TASK_GIVERS:
                    return steps[i].agent, i
            return s.agent, j
    return last_speaker(trace)


def _locator(trace: Trace) -> Guess:
    loc = locate_failure(trace)
    return loc.agent, loc.step


BASELINES: dict[str, Callable[[Trace], Guess]] = {
    "first reply": first_reply,
    "last speaker": last_speaker,
    "author before first error": author_before_first_error,
}
"""The trivial rules, by the name a table shows."""


@dataclass
class Comparison:
    """Agent and step accuracy per subset and method (``locator`` and the baselines)."""

    counts: dict[str, int] = field(default_factory=dict)
    """Logs per subset."""
    agent: dict[tuple[str, str], float] = field(default_factory=dict)
    """``(subset, method) -> agent accuracy``."""
    step: dict[tuple[str, str], float] = field(default_factory=dict)
    """``(subset, method) -> step accuracy`` (exact integer match)."""

    def methods(self) -> list[str]:
        """``locator`` then the baselines."""
        return ["locator", *BASELINES]

    def not_beaten(self) -> list[str]:
        """Plain sentences for every subset and measure where a baseline ties or beats the
        locator."""
        lines = []
        for subset in self.counts:
            for measure, table in (("agent", self.agent), ("step", self.step)):
                mine = table[(subset, "locator")]
                for name in BASELINES:
                    theirs = table[(subset, name)]
                    if theirs >= mine:
                        verb = "ties" if theirs == mine else "beats"
                        lines.append(
                            f"{subset}: {name!r} {verb} the locator on {measure} "
                            f"({theirs:.1%} vs {mine:.1%})"
                        )
        return lines

    def __str__(self) -> str:
        rows = [f"{'subset':<24} {'method':<28} {'agent':>7} {'step':>7}"]
        for subset, n in self.counts.items():
            for m in self.methods():
                rows.append(
                    f"{subset + f' ({n})':<24} {m:<28} {self.agent[(subset, m)]:>7.1%} "
                    f"{self.step[(subset, m)]:>7.1%}"
                )
        rows.extend(self.not_beaten() or ["the locator beats every baseline"])
        return "\n".join(rows)


def compare_on_whowhen(folder: str | Path) -> Comparison:
    """Score the locator and the trivial baselines on every Who&When log under ``folder``.

    Logs directly in ``folder`` form one subset named after it; each subfolder is a subset.
    """
    root = Path(folder)
    groups = {root.name: sorted(root.glob("*.json"))}
    for sub in sorted(p for p in root.iterdir() if p.is_dir()):
        groups[sub.name] = sorted(sub.glob("*.json"))
    out = Comparison()
    methods: dict[str, Callable[[Trace], Guess]] = {"locator": _locator, **BASELINES}
    for subset, files in groups.items():
        if not files:
            continue
        traces = [load_trace(f) for f in files]
        out.counts[subset] = len(traces)
        for name, guess in methods.items():
            agent = step = 0
            for t in traces:
                a, s = guess(t)
                agent += a == t.attributes.get("mistake_agent")
                step += s == t.attributes.get("mistake_step")
            out.agent[(subset, name)] = agent / len(traces)
            out.step[(subset, name)] = step / len(traces)
    return out
