"""The offline HTML report: one self-contained file with plotly's JavaScript inlined.

Layer: face (the top). It may import from every layer below it.

:func:`report` writes it for a run, an imported trace or a batch; nothing is fetched when the
file is opened (no script, style or font comes from the network).
"""

from __future__ import annotations

import html
import os
from pathlib import Path
from typing import Any

from agentsim._io import atomic_write_text
from agentsim.stats import Estimate
from agentsim.views import charts
from agentsim.views.findings import BatchFindings, RunFindings, find
from agentsim.views.terminal import clean, human_time, local_name, plural

__all__ = ["render", "report"]

_CSS = """
body{font-family:system-ui,-apple-system,'Segoe UI',Helvetica,Arial,sans-serif;margin:0;
color:#222;background:#fafafa}
main{max-width:1200px;margin:0 auto;padding:16px 24px 48px}
h1{font-size:22px;margin:8px 0 4px}h2{font-size:17px;margin:28px 0 8px;border-bottom:1px
solid #ddd;padding-bottom:4px}
.lead{font-size:15px;margin:8px 0 16px;padding:10px 14px;border-left:4px solid #c0392b;
background:#fff}
.lead.ok{border-left-color:#27ae60}
table{border-collapse:collapse;background:#fff;font-size:13px}
td,th{border:1px solid #ddd;padding:4px 10px;text-align:left}
td.num{text-align:right;font-variant-numeric:tabular-nums}
code{background:#eee;padding:1px 4px;border-radius:3px;word-break:break-all}
.chart{background:#fff;border:1px solid #e5e5e5;margin:8px 0}
.note{color:#666;font-size:12px}
.swatch{display:inline-block;width:10px;height:10px;margin-right:4px}
#agentsim-errors{display:none;background:#fdecea;color:#611a15;padding:8px 12px;
border:1px solid #f5c6cb}
"""

# Any script error is shown on the page (and recorded on <html data-errors>) instead of
# leaving a silently empty chart; after the charts ran, <body data-charts> counts them.
_GUARD = """
window.addEventListener('error', function (e) {
  var box = document.getElementById('agentsim-errors');
  var msg = (e && e.message) ? e.message : String(e);
  document.documentElement.setAttribute('data-errors', msg);
  if (box) { box.style.display = 'block'; box.textContent = 'A chart failed: ' + msg; }
});
"""
_COUNT = """
document.body.setAttribute('data-charts',
  String(document.querySelectorAll('.js-plotly-plot .main-svg').length));
"""


def _e(text: object) -> str:
    return html.escape(clean(text))


def _num(est: Estimate, unit: str = "") -> str:
    if unit == "s":
        return human_time(est.value)
    return f"{est.value:.4g}"


def _interval(est: Estimate, unit: str = "") -> str:
    if est.exact:
        return "exact"
    if unit == "s":
        return f"[{human_time(est.low)}, {human_time(est.high)}]"
    return f"[{est.low:.4g}, {est.high:.4g}]"


def _unit(name: str) -> str:
    return "s" if "latency" in name else ""


def _figure(fig: Any, div_id: str) -> str:
    body = fig.to_html(
        full_html=False,
        include_plotlyjs=False,
        div_id=div_id,
        config={"displaylogo": False, "responsive": True},
    )
    return f'<div class="chart">{body}</div>'


def _outcome_table(rows: list[tuple[str, str, str]], head: tuple[str, str, str]) -> str:
    cells = "".join(
        f"<tr><td>{_e(a)}</td><td class=num>{_e(b)}</td><td class=num>{_e(c)}</td></tr>"
        for a, b, c in rows
    )
    th = "".join(f"<th>{_e(h)}</th>" for h in head)
    return f"<table><tr>{th}</tr>{cells}</table>"


def _run_sections(found: RunFindings, prefix: str) -> list[str]:
    parts: list[str] = []
    trace = found.trace
    if found.failed and found.root is not None:
        span = trace.span(found.root)
        lead = (
            f"This run failed. Root cause: <code>{_e(found.root)}</code> ({_e(span.kind)} "
            f"<b>{_e(span.name)}</b>: {_e(span.error or 'failed')}). "
            f"{_e(plural(len(found.casualties), 'other span'))} failed because of it."
        )
        if "success" in found.fixed:
            lead += (
                f" Had it been fixed ({_e(found.fix_label)}), success would be "
                f"{_e(_num(found.fixed['success']))}."
            )
        parts.append(f'<p class="lead">{lead}</p>')
    elif found.failed:
        parts.append(
            '<p class="lead">This run failed; no single call explains it '
            "(see the attribution below).</p>"
        )
    else:
        failed = [s for s in trace.spans if not s.ok]
        named = ", ".join(
            f"<code>{_e(local_name(s))}</code> ({_e((s.error or 'failed')[:60])})"
            for s in failed[:4]
        )
        more = f" and {len(failed) - 4} more" if len(failed) > 4 else ""
        recovered = (
            f" {_e(plural(len(failed), 'span'))} failed and did not stop it: {named}{more}."
            if failed
            else ""
        )
        parts.append(
            f'<p class="lead ok">This run succeeded ({_e(plural(len(trace.spans), "span"))}).'
            f"{recovered}</p>"
        )
    if found.fixed:
        rows = [
            (
                k,
                human_time(v) if k == "latency" else f"{v:.4g}",
                _num(found.fixed[k], _unit(k)) if k in found.fixed else "",
            )
            for k, v in found.outcomes.items()
        ]
        parts.append("<h2>Outcomes, and what if the root cause were fixed</h2>")
        parts.append(_outcome_table(rows, ("outcome", "this run", f"with {found.fix_label}")))
    else:
        parts.append("<h2>Outcomes</h2>")
        cells = "".join(
            f"<tr><td>{_e(k)}</td><td class=num>"
            f"{_e(human_time(v) if k == 'latency' else f'{v:.4g}')}</td></tr>"
            for k, v in found.outcomes.items()
        )
        parts.append(f"<table><tr><th>outcome</th><th>this run</th></tr>{cells}</table>")
    legend = " ".join(
        f'<span class="swatch" style="background:{c}"></span>{_e(k)}'
        for k, c in charts.COLORS.items()
    )
    parts.append(
        f"<h2>Timeline</h2><p class=note>{_e(plural(len(trace.spans), 'span'))}, nested under "
        f"their agents; hover a bar for its attributes. Timeouts are hatched. {legend}</p>"
    )
    parts.append(_figure(charts.waterfall(found), f"{prefix}waterfall"))
    for label, attribution in (("by call", found.by_call), ("by agent", found.by_agent)):
        if attribution is None:
            continue
        nonzero = sum(1 for v in attribution.values.values() if v != 0)
        parts.append(
            f"<h2>Attribution {label}</h2><p class=note>{_e(attribution.method)}, "
            f"{_e(plural(attribution.evaluations, 'evaluation'))}; "
            f"{_e(plural(nonzero, 'player'))} with a non-zero value of "
            f"{len(attribution.values)}.</p>"
        )
        if nonzero:
            parts.append(
                _figure(
                    charts.attribution_chart(attribution, f"Shapley values {label}"),
                    f"{prefix}attribution-{label.split()[-1]}",
                )
            )
    parts.append(
        "<h2>Causal graph</h2><p class=note>Calls as nodes, laid out by causal depth; "
        "edges are data, control, resource and timing dependence (<code>asim.scm_graph</code>)."
        "</p>"
    )
    parts.append(_figure(charts.graph_chart(found), f"{prefix}graph"))
    parts.extend(f"<p class=note>{_e(n)}</p>" for n in found.notes)
    return parts


def _batch_sections(found: BatchFindings) -> list[str]:
    rate = found.estimates["success rate"]
    parts = [
        f'<p class="lead{" ok" if rate.value == 1 else ""}">{_e(found.n)} runs of '
        f"<b>{_e(found.name)}</b> (seed {found.seed}): success {rate.value:.1%} "
        f"[{rate.low:.1%}, {rate.high:.1%}]"
        + (f"; {_e(plural(found.crashes, 'crash', 'crashes'))}" if found.crashes else "")
        + ".</p>",
        "<h2>Success, latency and cost (95% intervals)</h2>",
        _outcome_table(
            [(k, _num(v, _unit(k)), _interval(v, _unit(k))) for k, v in found.estimates.items()],
            ("outcome", "estimate", "95% interval"),
        ),
        _figure(charts.batch_chart(found), "batch"),
    ]
    if found.explain is not None:
        parts.append("<h2>What the failures come from (explain)</h2>")
        parts.append(_figure(charts.explain_chart(found.explain), "explain"))
    if found.example is not None:
        parts.append(f"<h2>{_e(found.example.title)}</h2>")
        parts.extend(_run_sections(found.example, "example-"))
    parts.extend(f"<p class=note>{_e(n)}</p>" for n in found.notes)
    return parts


def render(obj: Any, *, title: str | None = None) -> str:
    """The report of ``obj`` (a Run, a Trace or a Batch) as one HTML document."""
    plotlyjs = charts.plotly_js()
    found = find(obj)
    if isinstance(found, BatchFindings):
        heading = title or f"agentsim report: {found.name}, {found.n} runs"
        body = _batch_sections(found)
    else:
        heading = title or f"agentsim report: {found.title}"
        body = _run_sections(found, "")
    return (
        "<!DOCTYPE html>\n<html lang=en><head><meta charset=utf-8>"
        f"<title>{_e(heading)}</title>"
        '<meta name=viewport content="width=device-width,initial-scale=1">'
        f"<style>{_CSS}</style><script>{_GUARD}</script>"
        f"<script>{plotlyjs}</script></head><body><main>"
        '<div id="agentsim-errors"></div>'
        f"<h1>{_e(heading)}</h1>" + "\n".join(body) + f"<p class=note>made by agentsim</p>"
        f"</main><script>{_COUNT}</script></body></html>\n"
    )


def report(obj: Any, path: str | os.PathLike[str], *, title: str | None = None) -> Path:
    """Write an offline HTML report of a run, an imported trace or a batch.

    The file holds a timeline of the run (root cause and its casualties marked), the
    attribution by call and by agent, the outcome had the root cause been fixed, the causal
    graph, and for a batch the success, latency and cost with intervals. Plotly's JavaScript
    is inlined, so the file opens offline. Needs ``pip install 'agentsim[report]'``.

    Parameters
    ----------
    obj : Run, Trace or Batch
        What to report on.
    path : path
        The HTML file to write (atomically).
    title : str, optional
        The page title.

    Returns
    -------
    pathlib.Path
        The path written.

    Examples
    --------
    >>> import tempfile, pathlib, agentsim as asim
    >>> sc = asim.Scenario("r")
    >>> t = sc.tool("t", p_ok=0.5)
    >>> @sc.agent
    ... def main(ctx):
    ...     return (yield ctx.call(t))
    >>> p = asim.report(sc.run(seed=1), pathlib.Path(tempfile.mkdtemp()) / "r.html")
    >>> "root cause" in p.read_text()
    True
    """
    return atomic_write_text(path, render(obj, title=title))
