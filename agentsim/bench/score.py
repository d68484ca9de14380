"""Scoring failure attribution: agent accuracy, step accuracy and within-k.

Layer: face (the top). It may import from every layer below it.

A prediction and a label are each an ``(agent, step)`` pair; ``step`` is a 0-based index into
the run's steps, or ``None`` when a method names no step. Agent accuracy counts exact agent
names, step accuracy exact step indices, and ``within_k(k)`` steps at most ``k`` away.

Steps are compared as integers. Who&When's own evaluation script compares the predicted step
with the annotated one as *strings* by substring containment, so a prediction of step "1"
counts as correct against a label of "12" (and "2" against "12", "21"...); those accuracies
are inflated on long logs. Here step 1 against step 12 is wrong.

:func:`compare_methods` runs the locators of :data:`METHODS` on a planted-fault benchmark and
scores each against the exact labels, every counterfactual computed in the faulty world.

Examples
--------
>>> s = score([("planner", 1), ("search", 3), ("search", None)],
...           [("planner", 12), ("search", 3), ("fetch", 4)])
>>> s.agent_accuracy, s.step_accuracy, s.within_k(1)
(0.6666666666666666, 0.3333333333333333, 0.3333333333333333)
>>> print(s)
n=3: agent 66.7%, step 33.3%, within 1 step 33.3%
"""

from __future__ import annotations

import json
import math
import os
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from agentsim.attribution.baselines import decisive_error, first_error, last_error
from agentsim.bench.whowhen import load_whowhen
from agentsim.errors import AttributionError, TraceFormatError
from agentsim.worlds import ScenarioWorld

if TYPE_CHECKING:
    from agentsim.bench.generate import Benchmark, Item

__all__ = ["METHODS", "Score", "compare_methods", "locate", "score", "score_files"]

Pair = tuple[str | None, int | None]

METHODS: tuple[str, ...] = ("first_error", "last_error", "but_for", "decisive_error", "shapley")
"""Locators :func:`compare_methods` scores: the first and the last failed step (heuristics),
the earliest but-for cause under the fault game, the decisive error (the label's own
definition: 100% by construction) and the call with the largest Shapley share."""


@dataclass(frozen=True)
class Score:
    """Accuracy of predicted ``(agent, step)`` pairs against labels.

    ``distances[i]`` is ``|predicted step - labelled step|`` for pair ``i``, or ``None`` when
    either step is ``None``.
    """

    n: int
    """Number of pairs scored."""
    agent_hits: int
    """Pairs whose agent is right."""
    step_hits: int
    """Pairs whose step is exactly right."""
    distances: tuple[int | None, ...] = ()
    """Step distance of each pair."""
    method: str = ""
    """Name of the method scored, when known."""

    @property
    def agent_accuracy(self) -> float:
        """Share of pairs with the right agent (``nan`` when ``n`` is 0)."""
        return self.agent_hits / self.n if self.n else math.nan

    @property
    def step_accuracy(self) -> float:
        """Share of pairs with exactly the right step (``nan`` when ``n`` is 0)."""
        return self.step_hits / self.n if self.n else math.nan

    def within_k(self, k: int) -> float:
        """Share of pairs whose step is at most ``k`` away from the label.

        >>> score([("a", 2), ("a", 5)], [("a", 3), ("a", 3)]).within_k(1)
        0.5
        """
        if k < 0:
            raise AttributionError(f"k={k!r} must be >= 0 steps")
        if not self.n:
            return math.nan
        return sum(1 for d in self.distances if d is not None and d <= k) / self.n

    def __str__(self) -> str:
        head = f"{self.method}: " if self.method else ""
        return (
            f"{head}n={self.n}: agent {self.agent_accuracy:.1%}, step {self.step_accuracy:.1%}, "
            f"within 1 step {self.within_k(1):.1%}"
        )


def _step(value: Any, what: str) -> int | None:
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int):
        hint = (
            f"; convert with int({value!r}) (steps are matched as integers, not substrings)"
            if isinstance(value, str)
            else ""
        )
        raise AttributionError(f"{what}: step {value!r} must be an int or None{hint}")
    return value


def _pair(obj: Any, what: str) -> Pair:
    """An ``(agent, step)`` pair from a tuple, a label holder, a Locus, a dict or None."""
    if obj is None:
        return (None, None)
    label = getattr(obj, "label", None)
    if isinstance(label, tuple):
        obj = label
    elif hasattr(obj, "agent") and hasattr(obj, "step"):
        obj = (obj.agent, obj.step)
    elif isinstance(obj, Mapping):
        obj = (
            obj.get("mistake_agent", obj.get("agent")),
            obj.get("mistake_step", obj.get("step")),
        )
    if not isinstance(obj, tuple | list) or len(obj) != 2:
        raise AttributionError(f"{what}: {obj!r} is not an (agent, step) pair")
    agent, step = obj
    if agent is not None and not isinstance(agent, str):
        raise AttributionError(f"{what}: agent {agent!r} must be a string or None")
    return (agent, _step(step, what))


def score(predictions: Sequence[Any], labels: Sequence[Any], *, method: str = "") -> Score:
    """Score predicted ``(agent, step)`` pairs against labels, position by position.

    Parameters
    ----------
    predictions, labels : sequence
        Equal-length sequences of ``(agent, step)`` pairs (``step`` an ``int`` or ``None``;
        ``None`` as a whole pair is an abstention). Also accepted: objects with a ``label``
        (benchmark items, :class:`~agentsim.bench.WhoWhenLog`), a
        :class:`~agentsim.Locus`, or dicts with ``mistake_agent``/``mistake_step``.
    method : str
        Name shown by ``str(score)``.

    Returns
    -------
    Score

    Notes
    -----
    Steps match as integers. Who&When's own scorer tests whether the predicted step string
    occurs *inside* the label string, so it counts "1" as correct against "12"; this one does
    not, and a step given as a string is an error rather than a silent mismatch.

    Examples
    --------
    >>> score([("a", 1)], [("a", 12)]).step_accuracy
    0.0
    >>> score([("a", "1")], [("a", 1)])
    Traceback (most recent call last):
    ...
    agentsim.errors.AttributionError: prediction 0: step '1' must be an int or None; ...
    >>> score([("a", 1)], [])
    Traceback (most recent call last):
    ...
    agentsim.errors.AttributionError: 1 predictions but 0 labels; they are matched by position
    """
    if len(predictions) != len(labels):
        raise AttributionError(
            f"{len(predictions)} predictions but {len(labels)} labels; they are matched by position"
        )
    agent_hits = step_hits = 0
    distances: list[int | None] = []
    for i, (p, y) in enumerate(zip(predictions, labels, strict=True)):
        pa, ps = _pair(p, f"prediction {i}")
        ya, ys = _pair(y, f"label {i}")
        agent_hits += pa is not None and pa == ya
        step_hits += ps is not None and ps == ys
        distances.append(abs(ps - ys) if ps is not None and ys is not None else None)
    return Score(len(labels), agent_hits, step_hits, tuple(distances), method)


def _trace_pair(item: Item, address: str | None) -> Pair:
    if address is None:
        return (None, None)
    for i, s in enumerate(item.trace.calls()):
        if s.address == address:
            return (s.agent, i)
    raise AttributionError(f"address {address!r} is not a step of the run with seed {item.seed}")


def _failed_steps(item: Item) -> list[int]:
    return [i for i, s in enumerate(item.trace.calls()) if not s.ok]


def locate(item: Item, method: str) -> Pair:
    """Where ``method`` locates the failure of a benchmark item: ``(agent, step)``.

    ``first_error`` and ``last_error`` read the failed run; ``decisive_error`` and
    ``but_for`` ask counterfactuals in the faulty world (the run's own interventions plus
    the fix); ``shapley`` takes the call with the largest share (earliest on ties).
    ``(None, None)`` when the method names nothing.
    """
    if method not in METHODS:
        raise AttributionError(f"unknown method {method!r}; methods are {list(METHODS)}")
    run = item.run
    if method in ("first_error", "last_error"):
        if run is not None:
            locus = (first_error if method == "first_error" else last_error)(run)
            return (None, None) if locus is None else (locus.agent, locus.step)
        failed = _failed_steps(item)
        if not failed:
            return (None, None)
        i = failed[0] if method == "first_error" else failed[-1]
        return (item.trace.calls()[i].agent, i)
    if method == "decisive_error":
        if run is None:
            return item.label
        locus = decisive_error(ScenarioWorld(run), game="fault")
        return (None, None) if locus is None else (locus.agent, locus.step)
    if method == "but_for":
        return _trace_pair(item, item.but_for[0] if item.but_for else None)
    shares = item.shapley
    if not shares:
        return (None, None)
    order = {a: i for i, a in enumerate(shares)}
    top = max(shares, key=lambda a: (shares[a], -order[a]))
    return _trace_pair(item, top)


def compare_methods(
    benchmark: Benchmark | Iterable[Item], methods: Sequence[str] | None = None
) -> dict[str, Score]:
    """Score each locator of :data:`METHODS` against the benchmark's exact labels.

    ``shapley`` is left out when the benchmark was generated with ``shapley=False``.

    Examples
    --------
    >>> import agentsim as asim
    >>> from agentsim.bench import generate
    >>> sc = asim.Scenario("cmp")
    >>> search, fetch = sc.tool("search", p_ok=0.6), sc.tool("fetch", p_ok=0.9)
    >>> @sc.agent
    ... def main(ctx):
    ...     hits = yield ctx.call(search)
    ...     if not hits.ok:                      # one retry: a recovered failure is harmless
    ...         hits = yield ctx.call(search)
    ...     return (yield ctx.call(fetch, hits))
    >>> bench = generate(sc, fault=asim.set_params("fetch", p_ok=0.5), n=30, actual=False)
    >>> table = compare_methods(bench)
    >>> table["decisive_error"].step_accuracy, table["first_error"].step_accuracy < 1
    (1.0, True)
    """
    items = list(getattr(benchmark, "items", benchmark))
    names = list(METHODS if methods is None else methods)
    if methods is None and any(it.shapley is None for it in items):
        names.remove("shapley")
    labels = [it.label for it in items]
    return {m: score([locate(it, m) for it in items], labels, method=m) for m in names}


def _read_json(path: Path) -> Any:
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise TraceFormatError(f"cannot read {str(path)!r}: {exc.strerror}") from exc
    except json.JSONDecodeError as exc:
        raise TraceFormatError(f"{str(path)!r}: not valid JSON ({exc.msg})") from None


def _file_pair(obj: Any, where: str) -> Pair:
    """A prediction read from a file: steps may be digit strings (Who&When writes them so)."""
    if isinstance(obj, Mapping):
        obj = (
            obj.get("mistake_agent", obj.get("agent")),
            obj.get("mistake_step", obj.get("step")),
        )
    if not isinstance(obj, list | tuple) or len(obj) != 2:
        raise TraceFormatError(f"{where}: expected {{'agent': ..., 'step': ...}} or a pair")
    agent, step = obj
    if isinstance(step, str):
        if not step.strip().isdigit():
            raise TraceFormatError(f"{where}: field 'step' {step!r} is not a step index")
        step = int(step)
    return _pair((agent, step), where)


def _predictions(path: Path, keys: list[str]) -> list[Pair]:
    if path.is_dir():
        found = {p.stem: _file_pair(_read_json(p), str(p)) for p in sorted(path.glob("*.json"))}
    else:
        data = _read_json(path)
        if isinstance(data, list):
            if len(data) != len(keys):
                raise AttributionError(
                    f"{str(path)!r} lists {len(data)} predictions for {len(keys)} labels"
                )
            return [_file_pair(x, f"{str(path)!r} [{i}]") for i, x in enumerate(data)]
        if not isinstance(data, Mapping):
            raise TraceFormatError(
                f"{str(path)!r}: predictions are an object keyed by label file, or a list"
            )
        found = {
            Path(str(k)).stem: _file_pair(v, f"{str(path)!r} [{k!r}]") for k, v in data.items()
        }
    missing = [k for k in keys if k not in found]
    if missing:
        raise AttributionError(
            f"no prediction for {len(missing)} of {len(keys)} labels in {str(path)!r} "
            f"(e.g. {missing[0]!r}); predict (null, null) to abstain"
        )
    return [found[k] for k in keys]


def score_files(predictions: str | os.PathLike[str], labels: str | os.PathLike[str]) -> Score:
    """Score prediction files against a folder (or file) of Who&When labels.

    ``predictions`` is a folder of JSON files named like the label files (each an object
    with ``mistake_agent``/``mistake_step`` or ``agent``/``step``), a JSON object keyed by
    label file name (``"3"`` or ``"3.json"``) with such objects or ``[agent, step]`` pairs
    as values, or a JSON list in label order. Steps may be integers or digit strings.

    Examples
    --------
    >>> import tempfile, json
    >>> from agentsim._io import atomic_write_text
    >>> d = Path(tempfile.mkdtemp())
    >>> log = {"question": "q", "mistake_agent": "B", "mistake_step": "12",
    ...        "history": [{"name": "A" if i % 2 else "B", "content": ""} for i in range(13)]}
    >>> _ = atomic_write_text(d / "labels" / "1.json", json.dumps(log))
    >>> _ = atomic_write_text(d / "pred.json", json.dumps({"1": {"agent": "B", "step": "1"}}))
    >>> print(score_files(d / "pred.json", d / "labels"))
    n=1: agent 100.0%, step 0.0%, within 1 step 0.0%
    """
    logs = load_whowhen(labels)
    keys = [Path(log.file).stem for log in logs]
    preds = _predictions(Path(predictions), keys)
    return score(preds, [log.label for log in logs])
