"""Planted-fault benchmarks for failure attribution, with exact labels.

Layer: face (the top). It may import from every layer below it.

Plant a fault in a scenario, keep the failed runs, label each with its decisive error (the
earliest call whose own fault, fixed alone in the faulty world, turns the failure into a
success: a casualty of bad input is never the label), and
measure how often attribution methods find it. Labelled runs export to the Who&When format
(Zhang et al. 2025), and real Who&When logs load back for scoring.

>>> import agentsim as asim
>>> sc = asim.Scenario("bench-doc")
>>> search, fetch = sc.tool("search", p_ok=0.9), sc.tool("fetch", p_ok=0.9)
>>> @sc.agent
... def main(ctx):
...     hits = yield ctx.call(search)
...     return (yield ctx.call(fetch, hits))
>>> bench = generate(sc, fault=asim.set_params("fetch", p_ok=0.5), n=20, actual=False)
>>> print(compare_methods(bench)["decisive_error"])
decisive_error: n=20: agent 100.0%, step 100.0%, within 1 step 100.0%
"""

from __future__ import annotations

from agentsim.bench.generate import Benchmark, Item, generate, parse_fault
from agentsim.bench.score import METHODS, Score, compare_methods, locate, score, score_files
from agentsim.bench.trivial import BASELINES, Comparison, compare_on_whowhen
from agentsim.bench.whowhen import Step, WhoWhenLog, export_whowhen, load_whowhen, render_step

__all__ = [
    "BASELINES",
    "METHODS",
    "Benchmark",
    "Comparison",
    "Item",
    "Score",
    "Step",
    "WhoWhenLog",
    "compare_methods",
    "compare_on_whowhen",
    "export_whowhen",
    "generate",
    "load_whowhen",
    "locate",
    "parse_fault",
    "render_step",
    "score",
    "score_files",
]
