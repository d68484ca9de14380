"""Calibration runs on the real corpora in ``../shared/data/traces`` (skipped when absent)."""

from __future__ import annotations

from pathlib import Path

import pytest

import agentsim as asim
from agentsim import workflow as wf
from agentsim.calibrate import calibrate


@pytest.mark.parametrize("folder", ["langfuse_export", "any_agent_otel_genai"])
def test_calibrates_a_real_corpus(shared_data: Path, folder: str, tmp_path: Path) -> None:
    traces = asim.load_traces(shared_data / "traces" / folder)
    cal = calibrate(traces, name=folder)
    assert cal.traces == len(traces) == 7
    # Several systems in one folder: the twin picks a root agent per run by frequency.
    assert isinstance(cal.flow, wf.Choose)
    assert sum(o.weight for o in cal.flow.options) == len(traces)
    llms = [p for p in cal.params.values() if p.kind == "llm"]
    assert llms and all(0.0 <= p.p_ok.low <= p.p_ok.value <= p.p_ok.high <= 1.0 for p in llms)
    assert cal.scenario.simulate(n=50, seed=0).rate("success").n == 50
    namespace: dict[str, object] = {}
    path = cal.to_python(tmp_path / "twin.py")
    exec(compile(path.read_text(), str(path), "exec"), namespace)  # our own generated file
    assert isinstance(namespace["scenario"], asim.Scenario)


def test_any_agent_corpus_structure(shared_data: Path) -> None:
    cal = calibrate(asim.load_traces(shared_data / "traces" / "any_agent_otel_genai"))
    assert isinstance(cal.flow, wf.Choose)
    assert cal.flow.weights()["any_agent"] == 6.0  # six of the seven runs start there
    main = cal.structure["any_agent"]
    assert main["instances"] == 7  # and one run calls it as a sub-agent
    assert main["order"][0] == "mistral_mistral-small-latest"
    assert cal.params["mistral_mistral-small-latest"].calls == 25
