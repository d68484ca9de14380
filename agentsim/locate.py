"""Locating a failure: which agent, at which step, made the run fail.

Layer: face (the top). It may import from every layer below it.

:func:`locate_failure` answers with the best evidence each kind of record carries:

* a simulated :class:`~agentsim.run.Run` knows its exogenous noise, so the answer is exact:
  the *decisive error*, the earliest call whose repair alone turns the failure into a success
  (:func:`~agentsim.attribution.baselines.decisive_error`);
* an imported trace with error marks has a structural model (:class:`~agentsim.worlds.trace.
  TraceWorld`) whose decisive error is exact *under that model*; when no single repair flips
  the outcome (several errors each suffice, or the run failed by its outcome), the first
  error that was neither recovered nor tolerated is named instead, and the evidence says so;
* a message log without error marks (a Who&When log, ``trace.source == "whowhen"``) has no
  model to intervene on, so a *zero-LLM locator* reads the signals the log carries.

The message locator
-------------------
Speakers that mostly report execution results (``exitcode: ...``, ``Code output:``) are
*executors*: they run what others wrote and are never blamed; neither is the task's ``human``
or ``user``. Every other step is a candidate and scores points, each for a signal a careful
reader of a log would look for:

====  ======================================================================================
 +3   its code failed when run (the next executor report has a non-zero exit code, a
      ``Traceback`` or an ``Error:`` line) and its author never got code to run afterwards:
      an *abandoned* attempt
 +1   its code failed but the author later ran code successfully (a recovered error; it is
      not a but-for cause, so it weighs little)
 +2   it fabricates: it says it will assume, simulate or use placeholder, hypothetical or
      example data instead of real data
 +1   it reports an error, a failure or missing data in its own words (``unable``, ``not
      found``, ``cannot``...), so it acted on a bad output
 +2   it is the last candidate step to state a result (a number or an answer) before the
      run ended: the last agent to change the answer
====  ======================================================================================

The highest score wins, the earliest step among ties (the decisive error is the *earliest*
step that matters). With no signal at all, the last step to state a result is named, else the
first candidate. ``Locus.details`` holds every step's score and the signals behind it.

Examples
--------
>>> from agentsim.trace import Span, Trace
>>> t = Trace(source="whowhen", outcomes={"success": 0.0}, spans=[
...     Span(address="run#0", kind="agent", name="run"),
...     Span(address="run#0/step#0", kind="step", name="step", parent="run#0", agent="Coder",
...          attributes={"content": "```python\\nprint(1/0)\\n```"}),
...     Span(address="run#0/step#1", kind="step", name="step", parent="run#0", agent="Shell",
...          attributes={"content": "exitcode: 1 (execution failed)\\nTraceback ..."}),
... ])
>>> loc = locate_failure(t)
>>> loc.agent, loc.step
('Coder', 0)
"""

from __future__ import annotations

import re
from typing import Any

from agentsim.attribution.baselines import Locus, decisive_error, first_error, steps_of
from agentsim.run import Run
from agentsim.trace import Span, Trace
from agentsim.worlds import TraceWorld, as_world

__all__ = ["locate_failure", "locate_in_messages"]

_EXIT = re.compile(r"exitcode:\s*(-?\d+)", re.IGNORECASE)
_EXEC_REPORT = re.compile(r"^\s*(exitcode:|code output:|there is no code)", re.IGNORECASE)
_EXEC_FAIL = re.compile(r"traceback \(most recent call last\)|^\w*error:", re.IGNORECASE | re.M)
_FABRICATE = re.compile(
    r"\b(assume|assuming|assumed|hypothetical(ly)?|placeholder|simulat(e|ed|ing)|mock|"
    r"dummy|for example purposes|example data|sample data|let's say|fictional)\b",
    re.IGNORECASE,
)
_REPORTS_ERROR = re.compile(
    r"\b(error|failed|unable to|cannot|can't|couldn't|could not|not found|no results|"
    r"not available|unavailable|did not return|unfortunately)\b",
    re.IGNORECASE,
)
_RESULT = re.compile(r"\d|\b(answer|result|final)\b", re.IGNORECASE)
_TASK_GIVERS = frozenset({"human", "user"})
_END = re.compile(r"^\s*terminate\s*$", re.IGNORECASE)


def locate_failure(trace_or_run: Any, *, outcome: str = "success") -> Locus:
    """Where a failed run went wrong: agent, step (index among the steps) and address.

    Parameters
    ----------
    trace_or_run : Run or Trace
        A simulated run, an imported trace with error marks, or a message log.
    outcome : str
        The binary outcome whose failure is located (``success``).

    Returns
    -------
    Locus
        ``method`` says which rule answered (``decisive_error``, ``first_unrecovered_error``,
        ``message_signals``...); ``evidence`` says why. A run that succeeded gets a locus
        with every field ``None``.

    Examples
    --------
    >>> import agentsim as asim
    >>> from agentsim.trace import Span, Trace
    >>> t = Trace(outcomes={"success": 0.0}, spans=[
    ...     Span(address="a#0", kind="agent", name="a", end=2, ok=False, error="boom"),
    ...     Span(address="a#0/s#0", kind="tool", name="s", parent="a#0", end=1, ok=False,
    ...          error="boom"),
    ... ])
    >>> loc = locate_failure(t)
    >>> loc.address, loc.step, loc.method
    ('a#0/s#0', 0, 'decisive_error')
    """
    if isinstance(trace_or_run, Trace) and _is_message_log(trace_or_run):
        return locate_in_messages(trace_or_run)
    world = as_world(trace_or_run)
    if world.outcome([], outcome) != 0.0:
        return Locus(None, None, None, f"{outcome} is not 0: nothing failed", "none")
    found = decisive_error(world, outcome)
    if found is not None:
        return found
    if isinstance(trace_or_run, Run):
        first = first_error(world)
        if first is None:
            return Locus(None, None, None, "the run failed with no failed call", "none")
        return Locus(
            first.agent,
            first.step,
            first.address,
            "no single repair makes the run succeed (the failure is overdetermined); "
            "named the first failed call",
            "first_error",
        )
    if not isinstance(world, TraceWorld):
        return Locus(None, None, None, "no single repair makes it succeed", "decisive_error")
    return _first_unrecovered(world)


def _is_message_log(trace: Trace) -> bool:
    if trace.source == "whowhen":
        return True
    marked = any(not s.ok for s in trace.spans)
    return not marked and any("content" in s.attributes for s in trace.spans)


def _first_unrecovered(world: TraceWorld) -> Locus:
    steps = steps_of(world)
    spans = {s.address: s for s in world.factual.spans}
    for i, (address, agent, _) in enumerate(steps):
        s = spans[address]
        if s.ok or world.tolerated(address):
            continue
        retried = world.retries(address)
        if retried and any(spans[r].ok for r in retried):
            continue
        return Locus(
            agent,
            i,
            address,
            f"no single repair makes the run succeed; first error that was neither recovered "
            f"nor tolerated: {s.error!r}",
            "first_unrecovered_error",
        )
    own = [s for s in world.factual.spans if not s.ok and world.failed_itself(s.address)]
    if own:
        s = own[0]
        return Locus(
            s.agent,
            None,
            s.address,
            f"the span failed on its own ({s.error!r}) with no failed step inside it",
            "own_failure",
        )
    return Locus(
        None,
        None,
        None,
        "the run is recorded as failed but no span is marked failed; its structure cannot say why",
        "none",
    )


def _text(span: Span) -> str:
    content = span.attributes.get("content")
    if isinstance(content, str):
        return content
    return "" if content is None else str(content)


def _executors(steps: list[Span]) -> set[str]:
    seen: dict[str, list[bool]] = {}
    for s in steps:
        seen.setdefault(str(s.agent), []).append(bool(_EXEC_REPORT.match(_text(s))))
    return {a for a, flags in seen.items() if sum(flags) * 2 >= len(flags) and any(flags)}


def _exec_failed(text: str) -> bool:
    code = _EXIT.search(text)
    if code is not None:
        return int(code.group(1)) != 0
    return bool(_EXEC_FAIL.search(text))


def locate_in_messages(trace: Trace) -> Locus:
    """The zero-LLM locator for a message log without error marks (module docstring).

    >>> from agentsim.trace import Span, Trace
    >>> t = Trace(source="whowhen", spans=[
    ...     Span(address="run#0/step#0", kind="step", name="step", agent="A",
    ...          attributes={"content": "the population is 42"}),
    ...     Span(address="run#0/step#1", kind="step", name="step", agent="B",
    ...          attributes={"content": "TERMINATE"}),
    ... ])
    >>> locate_in_messages(t).agent
    'A'
    """
    steps = [s for s in trace.spans if s.kind != "agent"]
    if not steps:
        return Locus(None, None, None, "the log has no steps", "message_signals")
    executors = _executors(steps)
    blamable = [
        i
        for i, s in enumerate(steps)
        if str(s.agent) not in executors and str(s.agent).lower() not in _TASK_GIVERS
    ] or list(range(len(steps)))
    scores = {i: 0.0 for i in blamable}
    why: dict[int, list[str]] = {i: [] for i in blamable}

    def author_before(j: int) -> int | None:
        return next((i for i in reversed(blamable) if i < j), None)

    ran_ok: dict[str, list[int]] = {}
    failures: list[tuple[int, int]] = []
    for j, s in enumerate(steps):
        if str(s.agent) not in executors:
            continue
        author = author_before(j)
        if author is None:
            continue
        if _exec_failed(_text(s)):
            failures.append((author, j))
        elif _EXIT.search(_text(s)):
            ran_ok.setdefault(str(steps[author].agent), []).append(j)
    for author, j in failures:
        later = [k for k in ran_ok.get(str(steps[author].agent), []) if k > j]
        if later:
            scores[author] += 1
            why[author].append(f"its code failed at step {j}, recovered at step {later[0]}")
        else:
            scores[author] += 3
            why[author].append(f"its code failed at step {j} and was never made to run")
    for i in blamable:
        text = _text(steps[i])
        if _FABRICATE.search(text):
            scores[i] += 2
            why[i].append("it assumes or fabricates data")
        if _REPORTS_ERROR.search(text):
            scores[i] += 1
            why[i].append("it reports an error or missing data")
    stated = [
        i for i in blamable if _RESULT.search(_text(steps[i])) and not _END.match(_text(steps[i]))
    ]
    if stated:
        last = stated[-1]
        scores[last] += 2
        why[last].append("last step to state a result before the run ended")
    best = max(scores.values())
    if best > 0:
        chosen = min(i for i in blamable if scores[i] == best)
    else:
        chosen = stated[-1] if stated else blamable[0]
    span = steps[chosen]
    reasons = "; ".join(why[chosen]) or "no signal in the log; first candidate step"
    return Locus(
        agent=span.agent,
        step=chosen,
        address=span.address,
        evidence=f"score {scores[chosen]:g}: {reasons}",
        method="message_signals",
        details={
            "scores": {steps[i].address: scores[i] for i in blamable if scores[i]},
            "executors": sorted(executors),
        },
    )
