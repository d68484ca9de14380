"""Plotly figures of a run and a batch: waterfall, attribution, outcomes, causal graph.

Layer: face (the top). It may import from every layer below it.

Plotly draws interactive SVG charts whose hover boxes show a span's attributes, its
JavaScript can be inlined so a report works offline, and the same figures display in Jupyter.
It is an optional dependency (``pip install 'agentsim[report]'``).
"""

from __future__ import annotations

import html
import json
from typing import Any

import networkx as nx

from agentsim.attribution.result import Attribution
from agentsim.batch import Batch
from agentsim.errors import AgentSimError
from agentsim.run import Run
from agentsim.trace import Trace
from agentsim.views.findings import BatchFindings, RunFindings, find_batch, find_run
from agentsim.views.terminal import clean, human_time, local_name, span_status, tree_rows
from agentsim.worlds.graph import OUTCOME

try:  # optional: only the report and the notebook charts need it
    import plotly.graph_objects as go
    from plotly.offline import get_plotlyjs
    from plotly.subplots import make_subplots
except ImportError:  # pragma: no cover - exercised only without the extra
    go = get_plotlyjs = make_subplots = None

__all__ = [
    "COLORS",
    "attribution_chart",
    "batch_chart",
    "explain_chart",
    "graph_chart",
    "plotly_js",
    "require_plotly",
    "waterfall",
]

COLORS = {
    "root cause": "#c0392b",
    "casualty": "#e67e22",
    "other failure": "#8e44ad",
    "recovered failure": "#9b59b6",
    "agent": "#95a5a6",
    "ok": "#2e86de",
    "cancelled": "#f1c40f",
}
_FONT = {"family": "system-ui, -apple-system, Segoe UI, Helvetica, Arial, sans-serif", "size": 12}
_ATTRS_SHOWN = 12


def require_plotly() -> Any:
    """The ``plotly.graph_objects`` module, or a clear error naming the extra to install."""
    if go is None:
        raise AgentSimError(
            "reports and charts need plotly, which is not installed; "
            "install it with: pip install 'agentsim[report]'"
        )
    return go


def plotly_js() -> str:
    """Plotly's JavaScript bundle, to inline in a page."""
    require_plotly()
    return str(get_plotlyjs())


def _category(found: RunFindings, address: str, span: Any) -> str:
    if address == found.root:
        return "root cause"
    if address in found.casualties:
        return "casualty"
    if span.status != "done":
        return "cancelled"
    if not span.ok:
        return "other failure" if found.failed else "recovered failure"
    return "agent" if span.kind == "agent" else "ok"


def _hover(span: Any, category: str) -> str:
    lines = [
        f"<b>{html.escape(clean(span.address))}</b>",
        f"{span.kind} · {span_status(span)} · {category}",
        f"start {human_time(span.start)} · took {human_time(span.duration)}",
    ]
    if span.queued:
        lines.append(f"queued {human_time(span.queued)}")
    if span.cost:
        lines.append(f"cost {span.cost:.4g}")
    if span.error:
        lines.append("error: " + html.escape(clean(span.error[:200])))
    for k, v in list(span.attributes.items())[:_ATTRS_SHOWN]:
        text = clean(json.dumps(v, ensure_ascii=False) if not isinstance(v, str) else v)
        lines.append(f"{html.escape(clean(k))}: {html.escape(text[:80])}")
    return "<br>".join(lines)


def _run_findings(obj: RunFindings | Run | Trace) -> RunFindings:
    return obj if isinstance(obj, RunFindings) else find_run(obj)


def waterfall(found: RunFindings | Run | Trace) -> Any:
    """One bar per span, nested under its agent, coloured by role in the failure.

    ``found`` is a run, a trace, or their :class:`~agentsim.views.findings.RunFindings`.

    The root cause is red, its casualties orange, other failures purple; timeouts are hatched.
    Hovering a bar shows the span's address, status, times, error and attributes.
    """
    go_ = require_plotly()
    found = _run_findings(found)
    rows = tree_rows(found.trace)
    end = max((s.end for s, _ in rows), default=1.0) or 1.0
    names = []
    for span, depth in rows:
        name = clean(local_name(span))
        name = name if len(name) <= 44 else "…" + name[-43:]
        names.append("  " * min(depth, 10) + name)
    # tick labels are right-aligned: padding to one width in a monospace font indents them
    pad = max((len(n) for n in names), default=0)
    labels: list[str] = []
    per: dict[str, dict[str, list[Any]]] = {}
    for (span, _), name in zip(rows, names, strict=True):
        label = name.ljust(pad).replace(" ", "\u00a0")
        while label in labels:  # categorical axes merge equal labels
            label += "\u200b"
        labels.append(label)
        cat = _category(found, span.address, span)
        d = per.setdefault(cat, {"y": [], "x": [], "base": [], "text": [], "pattern": []})
        d["y"].append(label)
        d["x"].append(max(span.duration, end * 0.004))
        d["base"].append(span.start)
        d["text"].append(_hover(span, cat))
        d["pattern"].append("/" if span_status(span) == "TIMEOUT" else "")
    fig = go_.Figure()
    for cat in COLORS:
        if cat not in per:
            continue
        d = per[cat]
        fig.add_trace(
            go_.Bar(
                name=cat,
                orientation="h",
                y=d["y"],
                x=d["x"],
                base=d["base"],
                hovertext=d["text"],
                hoverinfo="text",
                marker={"color": COLORS[cat], "pattern": {"shape": d["pattern"]}},
            )
        )
    fig.update_layout(
        barmode="overlay",
        height=min(140 + 22 * len(rows), 4000),
        margin={"l": 10, "r": 10, "t": 40, "b": 40},
        xaxis={"title": "time (s)", "rangemode": "tozero"},
        yaxis={
            "categoryorder": "array",
            "categoryarray": labels[::-1],
            "automargin": True,
            "tickfont": {"family": "DejaVu Sans Mono, Menlo, Consolas, monospace", "size": 11},
        },
        legend={"orientation": "h", "y": 1.02, "yanchor": "bottom", "x": 0},
        font=_FONT,
        plot_bgcolor="white",
    )
    fig.update_xaxes(gridcolor="#eee")
    return fig


def attribution_chart(attribution: Attribution, title: str, *, top: int = 15) -> Any:
    """The largest non-zero values as horizontal bars, with intervals where estimated."""
    go_ = require_plotly()
    ranked = [(p, v) for p, v in attribution.top(len(attribution.values)) if v != 0][:top]
    ranked.reverse()
    names = [clean(p) if len(p) <= 60 else "…" + clean(p)[-59:] for p, _ in ranked]
    values = [v for _, v in ranked]
    plus, minus = [], []
    for p, v in ranked:
        ci = attribution.ci.get(p)
        plus.append(0.0 if ci is None else max(ci[1] - v, 0.0))
        minus.append(0.0 if ci is None else max(v - ci[0], 0.0))
    error = (
        None
        if attribution.exact
        else {"type": "data", "array": plus, "arrayminus": minus, "color": "#333"}
    )
    fig = go_.Figure(
        go_.Bar(
            orientation="h",
            y=names,
            x=values,
            error_x=error,
            marker={"color": ["#c0392b" if v > 0 else "#2e86de" for v in values]},
            hovertemplate="%{y}: %{x:.4f}<extra></extra>",
        )
    )
    how = "exact" if attribution.exact else "estimated, 95% intervals"
    fig.update_layout(
        title={"text": html.escape(f"{title} ({attribution.game} game, {how})"), "x": 0},
        height=120 + 26 * max(len(ranked), 1),
        margin={"l": 10, "r": 10, "t": 50, "b": 40},
        xaxis={"title": f"share of {attribution.outcome}", "zeroline": True},
        yaxis={"automargin": True},
        font=_FONT,
        plot_bgcolor="white",
    )
    return fig


def batch_chart(found: BatchFindings | Batch) -> Any:
    """Success rate, mean latency and mean cost with 95% intervals, and the latency spread."""
    go_ = require_plotly()
    if isinstance(found, Batch):
        found = find_batch(found)
    fig = make_subplots(
        rows=1,
        cols=4,
        subplot_titles=[*found.estimates, "latency of each run"],
        horizontal_spacing=0.08,
    )
    for i, (name, est) in enumerate(found.estimates.items(), 1):
        fig.add_trace(
            go_.Bar(
                x=[name],
                y=[est.value],
                error_y={
                    "type": "data",
                    "array": [est.high - est.value],
                    "arrayminus": [est.value - est.low],
                },
                marker={"color": "#2e86de"},
                hovertemplate=f"{name}: {est.value:.4g} [{est.low:.4g}, {est.high:.4g}]"
                "<extra></extra>",
                showlegend=False,
            ),
            row=1,
            col=i,
        )
    fig.add_trace(
        go_.Histogram(x=found.latencies, marker={"color": "#95a5a6"}, showlegend=False),
        row=1,
        col=len(found.estimates) + 1,
    )
    fig.update_layout(
        height=320, margin={"l": 10, "r": 10, "t": 50, "b": 40}, font=_FONT, plot_bgcolor="white"
    )
    return fig


def explain_chart(explain: Any) -> Any:
    """Share, leverage and decisive fraction per player, with intervals (from ``to_pandas``)."""
    go_ = require_plotly()
    df = explain.to_pandas()
    players = [clean(p) for p in (df["player"] if "player" in df.columns else df.index)]
    fig = go_.Figure()
    for col, color in (("share", "#c0392b"), ("leverage", "#2e86de"), ("decisive", "#e67e22")):
        if col not in df.columns:
            continue
        values = [float(v) for v in df[col]]
        error = None
        if f"{col}_low" in df.columns and f"{col}_high" in df.columns:
            error = {
                "type": "data",
                "array": [float(h) - v for h, v in zip(df[f"{col}_high"], values, strict=True)],
                "arrayminus": [
                    v - float(lo) for lo, v in zip(df[f"{col}_low"], values, strict=True)
                ],
            }
        fig.add_trace(
            go_.Bar(
                name=col,
                y=players,
                x=values,
                orientation="h",
                error_x=error,
                marker={"color": color},
            )
        )
    fig.update_layout(
        barmode="group",
        height=140 + 60 * max(len(players), 1),
        margin={"l": 10, "r": 10, "t": 30, "b": 40},
        yaxis={"automargin": True, "autorange": "reversed"},
        font=_FONT,
        plot_bgcolor="white",
    )
    return fig


def graph_chart(found: RunFindings | Run | Trace) -> Any:
    """The causal graph (``scm_graph``): calls as nodes laid out by causal depth, edges for
    data, control, resource and timing dependence."""
    go_ = require_plotly()
    found = _run_findings(found)
    g: nx.DiGraph = found.graph.copy()
    if not nx.is_directed_acyclic_graph(g):  # pragma: no cover - scm graphs are DAGs
        g = nx.DiGraph(nx.bfs_tree(g, next(iter(g))))
    # left to right by causal depth; top to bottom in the timeline's (tree) order
    row = {s.address: i for i, (s, _) in enumerate(tree_rows(found.trace))}
    pos: dict[str, tuple[float, float]] = {}
    for layer, nodes in enumerate(nx.topological_generations(g)):
        for n in nodes:
            pos[n] = (float(layer), -float(row.get(n, len(row))))
    spans = {s.address: s for s in found.trace.spans}
    fig = go_.Figure()
    for kind, color in (
        ("data", "#2e86de"),
        ("control", "#bbb"),
        ("resource", "#e67e22"),
        ("timing", "#8e44ad"),
    ):
        xs: list[float | None] = []
        ys: list[float | None] = []
        for u, v, attrs in g.edges(data=True):
            kinds = attrs.get("kinds") or [attrs.get("kind")]
            if ("data" if "data" in kinds else kinds[0]) == kind:
                xs += [float(pos[u][0]), float(pos[v][0]), None]
                ys += [float(pos[u][1]), float(pos[v][1]), None]
        if xs:
            fig.add_trace(
                go_.Scatter(
                    x=xs,
                    y=ys,
                    mode="lines",
                    name=f"{kind} edge",
                    hoverinfo="skip",
                    line={"color": color, "width": 1},
                )
            )
    by_cat: dict[str, dict[str, list[Any]]] = {}
    for n in g.nodes:
        span = spans.get(n)
        cat = "outcome" if n == OUTCOME or span is None else _category(found, n, span)
        d = by_cat.setdefault(cat, {"x": [], "y": [], "text": [], "label": []})
        d["label"].append(clean(local_name(span)) if span is not None else n)
        d["x"].append(float(pos[n][0]))
        d["y"].append(float(pos[n][1]))
        d["text"].append(_hover(span, cat) if span is not None else html.escape(clean(n)))
    labelled = len(g) <= 40
    for cat, d in by_cat.items():
        fig.add_trace(
            go_.Scatter(
                x=d["x"],
                y=d["y"],
                mode="markers+text" if labelled else "markers",
                text=d["label"],
                textposition="middle right",
                name=cat,
                hovertext=d["text"],
                hoverinfo="text",
                marker={
                    "size": 11,
                    "color": COLORS.get(cat, "#2c3e50"),
                    "line": {"width": 1, "color": "white"},
                },
            )
        )
    fig.update_layout(
        height=min(160 + 24 * len(row), 2400),
        margin={"l": 10, "r": 10, "t": 30, "b": 10},
        xaxis={"visible": False},
        yaxis={"visible": False},
        legend={"orientation": "h"},
        font=_FONT,
        plot_bgcolor="white",
    )
    return fig
