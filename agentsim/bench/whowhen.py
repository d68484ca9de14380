"""Who&When files: export labelled failures, and read logs back for scoring (face layer;
the format itself is parsed by :mod:`agentsim.ingest.whowhen`).

Who&When (Zhang et al., ICML 2025) stores one failed multi-agent run per JSON file:
``question`` (the task), ``ground_truth`` (the right answer), ``history`` (the conversation:
a list of steps, each with ``content`` and a speaker, ``name`` in the Algorithm-Generated
subset and ``role`` in the Hand-Crafted one) and the annotation ``mistake_agent``,
``mistake_step`` (a *string* holding a 0-based index into ``history``) and
``mistake_reason``.

:func:`export_whowhen` writes a benchmark's items in that format, one step per non-agent
span of the run (so ``mistake_step`` indexes ``history`` exactly as it indexes
``trace.calls()``), and :func:`load_whowhen` reads such files, and the real ones, into
:class:`WhoWhenLog` records with ``mistake_step`` parsed to an ``int``.

This module reads annotations for scoring; :func:`agentsim.load_trace` imports a Who&When
log as a trace for attribution.

References
----------
Zhang, S. et al. (2025). Which Agent Causes Task Failures and When? On Automated Failure
Attribution of LLM Multi-Agent Systems. ICML 2025.

Examples
--------
>>> import tempfile
>>> folder = tempfile.mkdtemp()
>>> log = {"question": "q", "ground_truth": "42", "mistake_agent": "WebSurfer",
...        "mistake_step": "1", "mistake_reason": "wrong page",
...        "history": [{"role": "Orchestrator", "content": "plan"},
...                    {"role": "WebSurfer", "content": "clicked"}]}
>>> _ = atomic_write_text(Path(folder) / "1.json", json.dumps(log))
>>> [rec] = load_whowhen(folder)
>>> rec.mistake_agent, rec.mistake_step, rec.history[1].speaker
('WebSurfer', 1, 'WebSurfer')
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterable
from pathlib import Path
from typing import TYPE_CHECKING, Any

from agentsim._io import atomic_write_text
from agentsim.errors import AgentSimError, TraceFormatError
from agentsim.ingest.whowhen import Step, WhoWhenLog, parse_log

if TYPE_CHECKING:
    from agentsim.bench.generate import Benchmark, Item
    from agentsim.trace import Span

__all__ = ["Step", "WhoWhenLog", "export_whowhen", "load_whowhen", "render_step"]


_KIND_WORD = {"tool": "tool", "llm": "model", "choice": "decision by", "wait": "wait"}


def _short(value: Any, limit: int = 200) -> str:
    text = json.dumps(value, ensure_ascii=False, default=repr)
    return text if len(text) <= limit else text[: limit - 3] + "..."


def render_step(span: Span) -> str:
    """A readable line for one span: what was called, when, and how it went.

    >>> from agentsim.trace import Span
    >>> s = Span(address="main#0/search#0", kind="tool", name="search", agent="main",
    ...          start=0.5, end=1.25, ok=False, error="timeout after 0.75 s")
    >>> render_step(s)
    'called tool search (main#0/search#0) at t=0.500 s; failed after 0.750 s: timeout after 0.75 s'
    """
    when = f"at t={span.start:.3f} s"
    if span.kind == "wait":
        return f"waited {span.duration:.3f} s ({span.address}) {when}"
    if span.kind == "choice":
        head = f"asked model {span.name} for a decision ({span.address}) {when}"
    else:
        word = _KIND_WORD.get(span.kind, span.kind)
        head = f"called {word} {span.name} ({span.address}) {when}"
    if span.inputs:
        head += f" with the results of {', '.join(span.inputs)}"
    if span.status == "cancelled":
        why = "another branch won, or the run stopped"
        return f"{head}; cancelled after {span.duration:.3f} s ({why})"
    if span.status == "unfinished":
        return f"{head}; still running when the run ended at t={span.end:.3f} s"
    if not span.ok:
        return f"{head}; failed after {span.duration:.3f} s: {span.error or 'no error message'}"
    tail = f"; ok after {span.duration:.3f} s"
    if span.kind == "choice":
        return f"{head}{tail}, chose {_short(span.value)}"
    return f"{head}{tail}, value {_short(span.value)}"


def _items(source: Benchmark | Iterable[Item]) -> list[Item]:
    items = getattr(source, "items", None)
    return list(items) if items is not None else list(source)


def _record(item: Item) -> dict[str, Any]:
    trace = item.trace
    fault = list(trace.interventions)
    history = [
        {"name": s.agent or "", "role": "assistant", "content": render_step(s)}
        for s in trace.calls()
    ]
    return {
        "question": (
            f"A simulated run of the {item.scenario!r} scenario (seed {item.seed}) failed. "
            "Which agent made the decisive mistake, and at which step?"
        ),
        "ground_truth": "success",
        "history": history,
        "mistake_agent": item.mistake_agent,
        "mistake_step": str(item.mistake_step),
        "mistake_reason": (
            f"fixing {item.address}'s own fault alone turns the failure into a success "
            "(every earlier failed step, fixed alone, does not)"
        ),
        "is_correct": False,
        "question_ID": f"{item.scenario}-{item.seed}",
        "agentsim": {
            "scenario": item.scenario,
            "seed": item.seed,
            "address": item.address,
            "fault": fault,
        },
    }


def _numbered(path: Path) -> bool:
    return path.suffix == ".json" and path.stem.isdigit()


def export_whowhen(
    items: Benchmark | Iterable[Item],
    folder: str | os.PathLike[str],
    *,
    overwrite: bool = False,
) -> list[Path]:
    """Write one Who&When JSON file per item (``1.json``, ``2.json``, ...), atomically.

    Parameters
    ----------
    items : Benchmark or iterable of Item
        The labelled failures.
    folder : path
        Where to write; created when missing.
    overwrite : bool
        Replace the numbered ``.json`` files of an earlier export (stale ones beyond the new
        count are removed). Without it, a folder that holds numbered ``.json`` files is an
        error, so that two exports never mix.

    Returns
    -------
    list of Path
        The files written, in item order.

    Examples
    --------
    >>> import tempfile
    >>> import agentsim as asim
    >>> from agentsim.bench import generate
    >>> sc = asim.Scenario("wwx")
    >>> t = sc.tool("t", p_ok=0.5)
    >>> @sc.agent
    ... def main(ctx):
    ...     return (yield ctx.call(t))
    >>> bench = generate(sc, n=2, shapley=False, actual=False)
    >>> [p.name for p in export_whowhen(bench, tempfile.mkdtemp())]
    ['1.json', '2.json']
    """
    target = Path(folder)
    old = sorted(p for p in target.glob("*.json") if _numbered(p)) if target.is_dir() else []
    if old and not overwrite:
        raise AgentSimError(
            f"{str(target)!r} already holds {len(old)} numbered .json files (e.g. "
            f"{old[0].name!r}); choose an empty folder or pass overwrite=True"
        )
    written = []
    for i, item in enumerate(_items(items), 1):
        text = json.dumps(_record(item), ensure_ascii=False, indent=1)
        written.append(atomic_write_text(target / f"{i}.json", text + "\n"))
    keep = {p.name for p in written}
    for p in old:
        if p.name not in keep:
            p.unlink()
    return written


def _order(path: Path) -> tuple[int, int, str]:
    return (0, int(path.stem), path.name) if path.stem.isdigit() else (1, 0, path.name)


def _parse_log(path: Path) -> WhoWhenLog:
    try:
        obj = json.loads(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise TraceFormatError(f"cannot read {str(path)!r}: {exc.strerror}") from exc
    except json.JSONDecodeError as exc:
        raise TraceFormatError(
            f"{str(path)!r}: not valid JSON (line {exc.lineno}, column {exc.colno}: {exc.msg})"
        ) from None
    if not isinstance(obj, dict):
        raise TraceFormatError(f"{str(path)!r}: a Who&When log is a JSON object")
    return parse_log(str(path), obj, annotated=True)


def load_whowhen(folder: str | os.PathLike[str]) -> list[WhoWhenLog]:
    """Read Who&When logs: every ``*.json`` in ``folder`` (numbered ones in numeric order,
    then the rest by name), or one file.

    Raises
    ------
    TraceFormatError
        When a file is not JSON or a field is missing or malformed; the message names the
        file and the field.

    Examples
    --------
    >>> load_whowhen("/no/such/folder")
    Traceback (most recent call last):
    ...
    agentsim.errors.TraceFormatError: '/no/such/folder' is neither a folder of ... nor one
    """
    target = Path(folder)
    if target.is_file():
        return [_parse_log(target)]
    if not target.is_dir():
        raise TraceFormatError(
            f"{str(target)!r} is neither a folder of Who&When .json files nor one"
        )
    return [_parse_log(p) for p in sorted(target.glob("*.json"), key=_order)]
