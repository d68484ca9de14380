"""What the report and the notebook displays say, checked against runs whose answer is known."""

from __future__ import annotations

from pathlib import Path

import pytest

import agentsim as asim
from agentsim.views.findings import find_run
from tests.helpers import chain


def first_failing_chain_run() -> asim.Run:
    """A 3-call chain where t0 failed on its own and t1, t2 failed on its bad output."""
    sc = chain([0.5, 0.99, 0.99])
    return next(
        r
        for r in (sc.run(seed=s) for s in range(200))
        if not r.trace.span("main#0/t0#0").ok
        and all(r.trace.span(f"main#0/t{i}#0").noise["ok"] < 0.99 for i in (1, 2))
    )


def test_root_cause_and_casualties_of_a_chain() -> None:
    run = first_failing_chain_run()
    found = find_run(run)
    # oracle: t0's own fault; t1, t2 and the agent failed only downstream of it
    assert found.root == "main#0/t0#0"
    assert sorted(found.casualties) == ["main#0", "main#0/t1#0", "main#0/t2#0"]
    assert found.other_failures == []
    assert found.fixed["success"].value == 1.0


def test_independent_failures_are_not_casualties() -> None:
    sc = asim.Scenario("two")
    a, b = sc.tool("a", p_ok=0.5), sc.tool("b", p_ok=0.5)

    @sc.agent
    def main(ctx):  # type: ignore[no-untyped-def]
        x, y = yield ctx.parallel(ctx.call(a), ctx.call(b))
        return x.ok and y.ok

    run = next(r for r in (sc.run(seed=s) for s in range(99)) if len(r.trace.failed()) == 3)
    found = find_run(run)
    # no single repair saves the run; the largest Shapley value (a tie, broken by name) is a
    assert found.root == "main#0/a#0"
    assert "main#0/b#0" in found.other_failures and "main#0/b#0" not in found.casualties
    assert found.fixed["success"].value == 0.0  # fixing a alone does not save it


def test_repr_html_of_each_object() -> None:
    run = first_failing_chain_run()
    trace_html = run.trace._repr_html_()
    assert trace_html is not None and trace_html.count("FAILED") == 4
    assert "t1#0" in trace_html and "main#0/t1#0" not in trace_html  # local names
    run_html = run._repr_html_()
    assert run_html is not None and "success" in run_html
    batch = chain([0.9]).simulate(100, 0)
    rate = batch.rate("success")
    batch_html = batch._repr_html_()
    assert batch_html is not None and f"{rate.value:.4g} [{rate.low:.4g}" in batch_html
    attribution = asim.shapley(run)
    attribution_html = attribution._repr_html_()
    assert attribution_html is not None
    assert all(p in attribution_html for p, v in attribution.values.items() if v != 0)
    eff = asim.effect(chain([0.5]), [asim.set_params("t0", p_ok=1.0)], outcome="success", n=200)
    eff_html = eff._repr_html_()
    assert eff_html is not None and "difference" in eff_html and f"{eff.ate.value:.4g}" in eff_html


def test_repr_html_escapes_names() -> None:
    span = asim.Span(address="<script>x</script>\x1b", kind="tool", name="n")
    html = asim.Trace(spans=[span])._repr_html_()
    assert html is not None and "<script>" not in html and "&lt;script&gt;" in html
    assert "\x1b" not in html


def test_batch_report_has_an_explain_section_when_runs_failed(tmp_path: Path) -> None:
    pytest.importorskip("plotly")
    pytest.importorskip("pandas")
    failing = chain([0.5]).simulate(50, 0)
    page = asim.report(failing, tmp_path / "b.html").read_text()
    assert "What the failures come from (explain)" in page and "t0" in page
    perfect = chain([1.0]).simulate(20, 0)
    page = asim.report(perfect, tmp_path / "p.html").read_text()
    assert "(explain)" not in page


def test_repr_html_of_a_sampled_counterfactual() -> None:
    cf = asim.Counterfactual(
        outcomes={"success": asim.Estimate(0.75, 0.6, 0.86), "latency": asim.Estimate(2, 2, 2)},
        samples=[],
        interventions=(),
    )
    html = cf._repr_html_()
    assert html is not None and "0.75 [0.6, 0.86]" in html and "2 s" in html
    assert "0 samples" in html
