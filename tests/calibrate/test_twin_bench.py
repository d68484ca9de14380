"""A planted-fault benchmark generated on a twin, exported as Who&When files and scored."""

from __future__ import annotations

from pathlib import Path

import agentsim as asim
from agentsim import workflow as wf
from agentsim.bench import export_whowhen, generate, load_whowhen, locate, score
from agentsim.calibrate import calibrate
from tests.calibrate.conftest import FLOW, TOOLS


def test_plant_a_fault_in_the_twin_and_score_judges(tmp_path: Path) -> None:
    truth = wf.scenario(FLOW, TOOLS)
    twin = calibrate([r.trace for r in truth.simulate(n=800, seed=5)]).scenario
    bench = generate(twin, fault=asim.set_params("cache", p_ok=0.1), n=20, seed=0)
    assert len(bench.items) == 20
    # Every label names a call of the twin's tools, in the twin's agent.
    assert {it.mistake_agent for it in bench.items} == {"main"}
    assert all(it.address.split("/")[-1].split("#")[0] in TOOLS for it in bench.items)
    paths = export_whowhen(bench, tmp_path)
    logs = load_whowhen(tmp_path)
    assert len(paths) == len(logs) == 20
    assert [log.label for log in logs] == [it.label for it in bench.items]
    exact = score([locate(it, "decisive_error") for it in bench.items], logs)
    assert exact.step_accuracy == 1.0
    last = score([locate(it, "last_error") for it in bench.items], logs)
    assert last.step_accuracy < 1.0  # the last error is often a casualty, not the fault
