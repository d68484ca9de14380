"""Compact HTML for notebooks (``_repr_html_``): a trace as a small waterfall table, outcome
and estimate tables, attribution bars. Plain HTML and inline CSS: no script, no plotly.

Layer: face (the top). It may import from every layer below it.
"""

from __future__ import annotations

import html
from typing import Any

from agentsim._display import register_html
from agentsim.stats import Estimate
from agentsim.views.charts import COLORS
from agentsim.views.terminal import clean, human_time, local_name, plural, span_status, tree_rows

__all__ = [
    "attribution_html",
    "batch_html",
    "counterfactual_html",
    "effect_html",
    "run_html",
    "trace_html",
]

MAX_ROWS = 200
_TABLE = "border-collapse:collapse;font-size:12px;font-family:system-ui,sans-serif"
_CELL = "padding:1px 8px;border-bottom:1px solid #eee;text-align:left;white-space:nowrap"
_STATUS = {"ok": "#2e7d32", "FAILED": "#c0392b", "TIMEOUT": "#c0392b"}


def _e(text: object) -> str:
    return html.escape(clean(text))


def _table(head: list[str], rows: list[list[str]], caption: str = "") -> str:
    th = "".join(f'<th style="{_CELL}">{_e(h)}</th>' for h in head)
    body = "".join(
        "<tr>" + "".join(f'<td style="{_CELL}">{c}</td>' for c in row) + "</tr>" for row in rows
    )
    cap = f'<caption style="text-align:left;font-weight:600">{caption}</caption>' if caption else ""
    return f'<table style="{_TABLE}">{cap}<tr>{th}</tr>{body}</table>'


def _estimate(est: Estimate, unit: str = "") -> str:
    fmt = human_time if unit == "s" else (lambda x: f"{x:.4g}")
    if est.exact:
        return _e(fmt(est.value))
    return _e(f"{fmt(est.value)} [{fmt(est.low)}, {fmt(est.high)}]")


def trace_html(trace: Any) -> str:
    """A trace as a table: indented local name, kind, status, time and a bar on the run's clock.

    >>> from agentsim.trace import Span, Trace
    >>> t = Trace(spans=[Span(address="a#0", kind="agent", name="a", end=2.0)])
    >>> "a#0" in trace_html(t) and "2 s" in trace_html(t)
    True
    """
    rows = tree_rows(trace)
    end = max((s.end for s, _ in rows), default=0.0) or 1.0
    body: list[list[str]] = []
    for span, depth in rows[:MAX_ROWS]:
        status = span_status(span)
        left, width = 100 * span.start / end, max(100 * span.duration / end, 0.5)
        color = "#95a5a6" if span.kind == "agent" else COLORS["ok"] if span.ok else "#c0392b"
        bar = (
            '<div style="position:relative;width:220px;height:9px;background:#f4f4f4">'
            f'<div style="position:absolute;left:{left:.2f}%;width:{width:.2f}%;height:9px;'
            f'background:{color}"></div></div>'
        )
        name = f'<span style="padding-left:{12 * min(depth, 15)}px">{_e(local_name(span))}</span>'
        error = f" <small>{_e((span.error or '')[:80])}</small>" if not span.ok else ""
        body.append(
            [
                name,
                _e(span.kind),
                f'<b style="color:{_STATUS.get(status, "#b7950b")}">{_e(status)}</b>{error}',
                _e(human_time(span.duration)),
                bar,
            ]
        )
    more = len(rows) - MAX_ROWS
    caption = _e(f"trace {trace.trace_id} ({trace.source}), {plural(len(trace.spans), 'span')}")
    table = _table(["span", "kind", "status", "time", "timeline"], body, caption)
    return table + (f"<p><small>{more} more spans not shown</small></p>" if more > 0 else "")


def _outcomes(outcomes: dict[str, Any]) -> str:
    rows = [
        [_e(k), _e(human_time(v) if k == "latency" else f"{v:.4g}")]
        for k, v in outcomes.items()
        if isinstance(v, int | float)
    ]
    return _table(["outcome", "value"], rows)


def run_html(run: Any) -> str:
    """A run: its outcomes, then its trace."""
    head = f"<p><b>Run</b> seed {_e(run.seed)} of {_e(run.scenario.name)}</p>"
    return head + _outcomes(run.outcomes) + (trace_html(run.trace) if run.has_trace else "")


def batch_html(batch: Any) -> str:
    """A batch: success rate, mean latency and cost with 95% intervals."""
    rows = [
        ["success rate", _estimate(batch.rate("success"))],
        ["mean latency", _estimate(batch.mean("latency"), "s")],
        ["mean cost", _estimate(batch.mean("cost"))],
    ]
    caption = _e(f"{batch.scenario.name}: {plural(len(batch), 'run')} (seed {batch.seed})")
    return _table(["outcome", "estimate [95% interval]"], rows, caption)


def attribution_html(attribution: Any, top: int = 20) -> str:
    """Non-zero values, largest first, with a bar each and intervals where estimated."""
    ranked = [(p, v) for p, v in attribution.top(len(attribution.values)) if v != 0]
    scale = max((abs(v) for _, v in ranked), default=1.0) or 1.0
    rows = []
    for player, value in ranked[:top]:
        ci = attribution.ci.get(player)
        color = "#c0392b" if value > 0 else "#2e86de"
        bar = (
            f'<div style="width:{160 * abs(value) / scale:.0f}px;height:9px;'
            f'background:{color}"></div>'
        )
        interval = "" if ci is None else _e(f"[{ci[0]:+.3f}, {ci[1]:+.3f}]")
        rows.append([_e(player), _e(f"{value:+.4f}"), interval, bar])
    hidden = len(attribution.values) - len(ranked[:top])
    caption = _e(
        f"Attribution of {attribution.outcome!r}: {attribution.game} game, {attribution.method}, "
        f"{plural(attribution.evaluations, 'evaluation')}"
    )
    note = f"<p><small>{hidden} players with value 0 or beyond the top {top} not shown</small></p>"
    return _table(["player", "value", "interval", ""], rows, caption) + (note if hidden else "")


def effect_html(effect: Any) -> str:
    """Baseline, treated and paired difference with intervals."""
    rows = [
        ["baseline", _estimate(effect.baseline)],
        ["treated", _estimate(effect.treated)],
        ["difference", _estimate(effect.ate)],
    ]
    how = "paired" if effect.paired else "unpaired"
    caption = _e(f"effect on {effect.outcome} ({how}, n={effect.n})")
    return _table(["arm", "estimate [95% interval]"], rows, caption)


def counterfactual_html(cf: Any) -> str:
    """Counterfactual outcomes over the posterior samples."""
    rows = [[_e(k), _estimate(v, "s" if k == "latency" else "")] for k, v in cf.outcomes.items()]
    caption = _e(f"counterfactual over {plural(len(cf.samples), 'sample')}")
    return _table(["outcome", "estimate [95% interval]"], rows, caption)


def explanation_html(ex: Any) -> str:
    """Share, leverage and decisive fraction per player, with intervals, and the notes."""
    rows = [
        [_e(r.player), _estimate(r.share), _estimate(r.leverage), _estimate(r.decisive)]
        for r in ex.rows
    ]
    caption = _e(
        f"why {ex.outcome} fails over {ex.over} (n={ex.n}, seed={ex.seed}): failure rate "
        f"{ex.failure_rate.value:.3f}"
    )
    notes = list(ex.notes)
    if ex.rankings_differ():
        notes.insert(0, "blame (share) and leverage rank the players differently")
    tail = "".join(f"<p><small>{_e(n)}</small></p>" for n in notes)
    header = ["player", "share of failures", "leverage (fix alone)", "decisive"]
    return _table(header, rows, caption) + tail


for _name, _render in (
    ("Explanation", explanation_html),
    ("Trace", trace_html),
    ("Run", run_html),
    ("Batch", batch_html),
    ("Attribution", attribution_html),
    ("Effect", effect_html),
    ("Counterfactual", counterfactual_html),
):
    register_html(_name, _render)
