"""The done-when case of the twin: a retried search and a fetch-else-cache fallback.

3,000 runs are exported as OTLP, stripped of every ``agentsim.*`` attribute, read back with
``load_traces`` and calibrated; the twin must recover the generating scenario's parameters,
structure, data dependencies, success rate and interventional effects.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

import agentsim as asim
from agentsim import workflow as wf
from agentsim.calibrate import Calibration, calibrate
from tests.calibrate.conftest import FLOW, TOOLS

# The 3,000-run corpus takes about 15 s to simulate, export and read back.
pytestmark = pytest.mark.slow

TRUTH = wf.scenario(FLOW, TOOLS)


@pytest.fixture(scope="module")
def corpus(corpus_path: Path) -> list[asim.Trace]:
    assert "agentsim." not in corpus_path.read_text()
    return asim.load_traces(corpus_path)


@pytest.fixture(scope="module")
def twin(corpus: list[asim.Trace]) -> Calibration:
    return calibrate(corpus)


def test_stripped_corpus_carries_no_agentsim_knowledge(corpus: list[asim.Trace]) -> None:
    span = corpus[0].spans[1]
    assert span.noise == {} and span.inputs == [] and span.value is None
    assert not any(key.startswith("agentsim.") for key in span.attributes)
    assert "bad input" not in json.dumps([s.error for t in corpus[:200] for s in t.spans])


def test_structure_is_the_generating_flow(twin: Calibration) -> None:
    assert wf.to_json(twin.flow) == wf.to_json(FLOW)
    assert twin.structure["main"]["retries"] == {"search": 2}
    assert twin.structure["main"]["backups"] == {"fetch": ["cache"]}


def test_fallback_reads_the_earlier_call(twin: Calibration) -> None:
    # cache runs only after fetch failed; it reads search's result, so its failures after a
    # failed search are casualties, not faults of its own.
    assert twin.params["cache"].parents == {"main:1:cache": "s0"}
    assert twin.params["fetch"].parents == {"main:1:fetch": "s0"}
    assert twin.params["search"].casualties == 0
    assert twin.params["cache"].casualties > 0
    assert twin.params["cache"].p_recover is not None
    assert twin.params["cache"].p_recover.value == 0.0


def test_mechanisms_are_recovered(twin: Calibration) -> None:
    for name, params in TOOLS.items():
        fit = twin.params[name]
        assert abs(fit.p_ok.value - params["p_ok"]) <= 0.03, name
        true_median = params["latency"].median()
        assert abs(fit.latency.median() - true_median) <= 0.10 * true_median, name
    assert twin.params["fetch"].timeout == pytest.approx(4.0)
    assert twin.params["fetch"].latency.family == "exponential"
    assert twin.params["search"].latency.family == "lognormal"
    assert twin.params["fetch"].cost == pytest.approx(0.01)


def test_success_and_effects_match_the_generating_scenario(twin: Calibration) -> None:
    for iv in (asim.set_params("search", p_ok=0.95), asim.set_params("fetch", p_ok=0.2)):
        truth = asim.effect(TRUTH, [iv], n=4000, seed=7)
        got = asim.effect(twin.scenario, [iv], n=4000, seed=7)
        assert abs(got.baseline.value - truth.baseline.value) <= 0.02
        assert abs(got.ate.value - truth.ate.value) <= 0.02, (got.ate, truth.ate)


def test_to_python_writes_a_module_that_runs(twin: Calibration, tmp_path: Path) -> None:
    path = twin.to_python(tmp_path / "twin.py")
    namespace: dict[str, object] = {}
    exec(compile(path.read_text(), str(path), "exec"), namespace)  # our own generated file
    sc = namespace["scenario"]
    assert isinstance(sc, asim.Scenario)
    assert sc.simulate(n=200, seed=3).rate("success").value == pytest.approx(
        twin.scenario.simulate(n=200, seed=3).rate("success").value, abs=0.011
    )
