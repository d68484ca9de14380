"""Terminal views: trace trees that fit the width, attribution tables, human times.

Layer: face (the top). It may import from every layer below it.

Everything printed from trace data goes through :func:`clean`, so a trace file cannot send
escape sequences (ESC, OSC, bidi overrides such as RLO) or unencodable surrogates to a terminal.
"""

from __future__ import annotations

import math
import unicodedata
from collections.abc import Sequence
from typing import Any

import numpy as np
from rich.table import Table
from rich.text import Text

from agentsim.stats import Estimate
from agentsim.trace import Span, Trace

__all__ = [
    "attribution_lines",
    "clean",
    "human_time",
    "local_name",
    "outcomes_line",
    "plural",
    "span_status",
    "summary_rows",
    "summary_table",
    "tree_lines",
    "tree_rows",
]

_MIN_NAME = 12
"""Fewest columns a name gets before the tree stops indenting deeper levels."""


def clean(text: object) -> str:
    """``text`` with control, format and surrogate characters written as visible escapes.

    Terminal escape sequences (ESC, OSC, CSI), bidirectional overrides (RLO) and lone
    surrogates (which no terminal encoding can write) come from untrusted trace files; they are
    shown as ``\\x1b``, ``\\u202e``, ``\\ud800`` instead of being interpreted.

    >>> clean("ok\\x1b]0;pwned\\x07 \\u202eevil \\ud800")
    'ok\\\\x1b]0;pwned\\\\x07 \\\\u202eevil \\\\ud800'
    >>> clean("café")
    'café'
    """
    s = str(text)
    if s.isprintable():
        return s
    out = []
    for ch in s:
        if ch.isprintable() or ch == " ":
            out.append(ch)
        elif unicodedata.category(ch) in ("Zs",):
            out.append(" ")
        else:
            code = ord(ch)
            out.append(f"\\x{code:02x}" if code < 0x100 else f"\\u{code:04x}")
    return "".join(out)


def plural(n: int, word: str, words: str | None = None) -> str:
    """``"1 evaluation"``, ``"3 evaluations"``.

    >>> plural(1, "evaluation"), plural(2, "evaluation"), plural(0, "query", "queries")
    ('1 evaluation', '2 evaluations', '0 queries')
    """
    return f"{n} {word if n == 1 else (words or word + 's')}"


def human_time(seconds: float) -> str:
    """A duration as a person reads it: ``340 ms``, ``1.2 s``, ``2 min 5 s``.

    >>> [human_time(x) for x in (0, 0.0000042, 0.0042, 0.34, 1.234, 12.34, 125.0)]
    ['0 s', '4.2 µs', '4.2 ms', '340 ms', '1.23 s', '12.3 s', '2 min 5 s']
    """
    if not math.isfinite(seconds):
        return str(seconds)
    sign = "-" if seconds < 0 else ""
    s = abs(seconds)
    if s == 0:
        return "0 s"
    if s < 0.001:
        return f"{sign}{s * 1e6:.3g} µs"
    if s < 1:
        ms = s * 1000
        return f"{sign}{ms:.3g} ms" if ms < 100 else f"{sign}{ms:.0f} ms"
    if s < 60:
        return f"{sign}{s:.3g} s"
    minutes, rest = divmod(round(s), 60)
    if minutes < 60:
        return f"{sign}{minutes} min {rest} s"
    hours, minutes = divmod(minutes, 60)
    return f"{sign}{hours} h {minutes} min"


def local_name(span: Span) -> str:
    """The span's address relative to its parent (the whole address for a root).

    >>> local_name(Span(address="a#0/b#1", kind="tool", name="b", parent="a#0"))
    'b#1'
    """
    parent = span.parent
    if parent and span.address.startswith(parent + "/"):
        return span.address[len(parent) + 1 :]
    return span.address


def span_status(span: Span) -> str:
    """``ok``, ``FAILED``, ``TIMEOUT``, ``cancelled`` or ``unfinished``.

    >>> span_status(Span(address="a", kind="tool", name="a", ok=False, error="timed out"))
    'TIMEOUT'
    """
    if span.status != "done":
        return span.status
    if span.ok:
        return "ok"
    error = (span.error or "").lower()
    return "TIMEOUT" if "timeout" in error or "timed out" in error else "FAILED"


_STYLE = {
    "ok": "green",
    "FAILED": "bold red",
    "TIMEOUT": "bold red",
    "cancelled": "yellow",
    "unfinished": "yellow",
}


def tree_rows(
    trace: Trace,
    *,
    depth: int | None = None,
    failed: bool = False,
    kinds: Sequence[str] | None = None,
) -> list[tuple[Span, int]]:
    """Spans of ``trace`` in tree order with their depth, after the filters.

    ``depth`` keeps spans at most that deep (roots are depth 0); ``failed`` keeps failed spans
    and their ancestors; ``kinds`` keeps spans of those kinds and their ancestors. Iterative,
    so a chain thousands of spans deep is listed whole.

    >>> t = Trace(spans=[Span(address="a#0", kind="agent", name="a"),
    ...                  Span(address="a#0/t#0", kind="tool", name="t", parent="a#0", ok=False)])
    >>> [(s.address, d) for s, d in tree_rows(t)]
    [('a#0', 0), ('a#0/t#0', 1)]
    >>> [s.address for s, _ in tree_rows(t, depth=0)]
    ['a#0']
    """
    known = {s.address for s in trace.spans}
    children: dict[str | None, list[Span]] = {}
    for s in trace.spans:
        children.setdefault(s.parent if s.parent in known else None, []).append(s)
    rows: list[tuple[Span, int]] = []
    stack: list[tuple[Span, int]] = [(s, 0) for s in reversed(children.get(None, []))]
    while stack:
        span, d = stack.pop()
        rows.append((span, d))
        stack.extend((c, d + 1) for c in reversed(children.get(span.address, [])))
    if failed or kinds:
        wanted = set(kinds or ())
        keep: set[str] = set()
        by_address = {s.address: s for s in trace.spans}
        for s in trace.spans:
            if (not failed or not s.ok) and (not wanted or s.kind in wanted):
                a: str | None = s.address
                while a is not None and a in by_address and a not in keep:
                    keep.add(a)
                    a = by_address[a].parent
        rows = [(s, d) for s, d in rows if s.address in keep]
    if depth is not None:
        rows = [(s, d) for s, d in rows if d <= depth]
    return rows


def _last_flags(rows: Sequence[tuple[Span, int]]) -> list[bool]:
    """For each row, whether it is the last of its siblings (one backward pass)."""
    flags = [True] * len(rows)
    seen_at_depth: dict[int, bool] = {}
    for i in range(len(rows) - 1, -1, -1):
        d = rows[i][1]
        flags[i] = not seen_at_depth.get(d, False)
        seen_at_depth[d] = True
        for deeper in [k for k in seen_at_depth if k > d]:
            del seen_at_depth[deeper]
    return flags


def tree_lines(
    trace: Trace,
    width: int,
    *,
    depth: int | None = None,
    failed: bool = False,
    kinds: Sequence[str] | None = None,
) -> list[Text]:
    """The trace as tree lines no wider than ``width``: local name, kind, status, time.

    Long names wrap onto continuation lines; the status and the time are never cut. A failed
    span's error follows on its own line, shortened to the width.

    >>> t = Trace(spans=[Span(address="a#0", kind="agent", name="a", end=1.5),
    ...                  Span(address="a#0/t#0", kind="tool", name="t", parent="a#0",
    ...                       end=0.34, ok=False, error="boom")])
    >>> for line in tree_lines(t, 60): print(line.plain)
    a#0  agent  ok  1.5 s
    └─ t#0  tool  FAILED  340 ms
          error: boom
    """
    rows = tree_rows(trace, depth=depth, failed=failed, kinds=kinds)
    width = max(width, 40)
    flags = _last_flags(rows)
    max_levels = max(1, (width - _MIN_NAME - 24) // 3)
    open_levels: list[bool] = []
    out: list[Text] = []
    for (span, d), is_last in zip(rows, flags, strict=True):
        del open_levels[d:]
        if d == 0:
            guide, cont = "", ""
        elif d <= max_levels:
            bars = "".join("│  " if o else "   " for o in open_levels[1:d])
            guide = bars + ("└─ " if is_last else "├─ ")
            cont = bars + ("   " if is_last else "│  ")
        else:
            marker = f"[depth {d}] "
            guide = "   " * (max_levels - 1) + "┆  " + marker
            cont = "   " * (max_levels - 1) + "┆  " + " " * len(marker)
        open_levels.extend([False] * (d + 1 - len(open_levels)))
        open_levels[d] = not is_last
        out.extend(_span_lines(span, guide, cont + "   ", width))
    return out


def _span_lines(span: Span, guide: str, cont: str, width: int) -> list[Text]:
    status = span_status(span)
    extra = f" (queued {human_time(span.queued)})" if span.queued > 0 else ""
    value = f" -> {clean(repr(span.value))}" if span.kind == "choice" else ""
    tail = f"  {span.kind}  {status}  {human_time(span.duration)}{extra}"
    name = clean(local_name(span))
    room = max(width - len(guide) - len(tail), 8)
    first_chunk, rest = _split_name(name, room)
    lines: list[Text] = []
    first = Text(guide, style="dim")
    first.append(first_chunk, style="bold" if span.kind == "agent" else "")
    first.append(f"  {span.kind}", style="dim")
    first.append(f"  {status}", style=_STYLE.get(status, ""))
    first.append(f"  {human_time(span.duration)}{extra}")
    lines.append(first)
    cont_room = max(width - len(cont), 8)
    while rest:
        chunk, rest = _split_name(rest, cont_room)
        lines.append(Text(cont, style="dim") + Text(chunk))
    if value:
        lines.append(Text(cont, style="dim") + Text(_shorten(value.strip(), cont_room)))
    if not span.ok and span.error:
        lines.append(
            Text(cont, style="dim")
            + Text(_shorten("error: " + clean(" ".join(span.error.split())), cont_room), "red")
        )
    return lines


def _split_name(name: str, room: int) -> tuple[str, str]:
    """``name`` cut to ``room`` columns, after a ``.``, ``/`` or ``_`` when one is near the end.

    >>> _split_name("a2a.server.events.EventQueue", 20)
    ('a2a.server.events.', 'EventQueue')
    """
    if len(name) <= room:
        return name, ""
    cut = max(name.rfind(sep, 0, room) for sep in "./_")
    at = cut + 1 if cut >= room // 2 else room
    return name[:at], name[at:]


def _shorten(text: str, room: int) -> str:
    return text if len(text) <= room else text[: max(room - 1, 0)] + "…"


def attribution_lines(
    attribution: Any, width: int, *, top: int | None = None, show_zero: bool = False
) -> list[str]:
    """An attribution as plain lines: largest values first, zero rows hidden (and counted).

    Intervals are shown only for estimated values; player names are cleaned and shortened
    from the left (their distinguishing end is kept).
    """
    ranked = attribution.top(len(attribution.values))
    zero = [p for p, v in ranked if v == 0]
    shown = ranked if show_zero else [(p, v) for p, v in ranked if v != 0]
    cut = 0
    if top is not None and len(shown) > top:
        cut = len(shown) - top
        shown = shown[:top]
    evals = plural(attribution.evaluations, "evaluation")
    how = "exact" if attribution.exact else f"estimated, {attribution.confidence or 0.95:.0%} CI"
    lines = [
        clean(
            f"Attribution of {attribution.outcome!r}: game {attribution.game}, "
            f"{attribution.method} ({how}), {evals}"
        )
    ]
    value_w = 8
    ci_w = 0 if attribution.exact else 20
    name_w = max(
        min(max((len(clean(p)) for p, _ in shown), default=6), width - 6 - value_w - ci_w), 6
    )
    for player, value in shown:
        name = clean(player)
        if len(name) > name_w:
            name = "…" + name[-(name_w - 1) :]
        interval = attribution.ci.get(player)
        ci = "" if interval is None else f"  [{interval[0]:+.3f}, {interval[1]:+.3f}]"
        lines.append(f"  {name:<{name_w}}  {value:+.4f}{ci}")
    if cut:
        lines.append(f"  ... {plural(cut, 'more player')} (--top {top} shown)")
    if zero and not show_zero:
        lines.append(f"  {plural(len(zero), 'player')} with value 0 hidden (--all shows them)")
    lines.extend(clean(f"  note: {n}") for n in attribution.notes)
    return lines


def summary_rows(batch: Any) -> list[tuple[str, Estimate, str, tuple[float, float] | None]]:
    """``(label, estimate, unit, (p50, p95) or None)`` for a batch's summary."""
    rows: list[tuple[str, Estimate, str, tuple[float, float] | None]] = [
        ("success rate", batch.rate("success"), "", None)
    ]
    for name, unit in (("latency", "s"), ("cost", "")):
        p50, p95 = np.percentile(batch.values(name), [50, 95]) if len(batch) else (0.0, 0.0)
        rows.append((f"{name} (mean)", batch.mean(name), unit, (float(p50), float(p95))))
    rows.extend((f"{name} (mean)", batch.mean(name), "", None) for name in batch.scenario.outcomes)
    return rows


def summary_table(batch: Any) -> Table:
    """Success rate, latency and cost of a batch, with 95% intervals."""
    t = Table(title=clean(f"{batch.scenario.name}: {len(batch)} runs (seed {batch.seed})"))
    t.add_column("outcome")
    t.add_column("estimate", justify="right")
    t.add_column("95% interval", justify="right")
    t.add_column("p50 / p95", justify="right")
    for label, est, unit, spread in summary_rows(batch):
        fmt = human_time if unit == "s" else (lambda x: f"{x:.3f}")
        t.add_row(
            Text(clean(label)),
            fmt(est.value),
            Text(f"[{fmt(est.low)}, {fmt(est.high)}]"),
            "" if spread is None else f"{fmt(spread[0])} / {fmt(spread[1])}",
        )
    return t


def outcomes_line(title: str, outcomes: dict[str, Any]) -> Text:
    """``title: success=0, latency=1.2 s, ...`` as one line of text."""
    parts = []
    for k, v in outcomes.items():
        if k == "latency" and isinstance(v, int | float):
            parts.append(f"{k}={human_time(float(v))}")
        elif isinstance(v, float):
            parts.append(f"{k}={v:.4g}")
        else:
            parts.append(f"{k}={v}")
    line = Text(clean(title), style="bold")
    line.append(": " + clean(", ".join(parts)))
    return line
