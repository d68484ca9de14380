"""A simulated run exported as OTLP and imported back keeps addresses, noise and outcomes."""

from __future__ import annotations

import json
from pathlib import Path

import agentsim as asim
from tests.helpers import support_desk


def test_otlp_round_trip_restores_the_agentsim_trace(tmp_path: Path) -> None:
    sc = support_desk()
    for seed in range(25):
        run = sc.run(seed=seed)
        path = asim.save_otlp(run.trace, tmp_path / f"{seed}.json")
        back = asim.load_trace(path)
        assert back.addresses() == run.trace.addresses()
        assert back.seed == run.seed and back.scenario == "support-desk"
        assert back.outcomes == run.trace.outcomes
        for a, b in zip(run.trace.spans, back.spans, strict=True):
            fields = (
                "kind",
                "name",
                "parent",
                "agent",
                "ok",
                "error",
                "status",
                "value",
                "inputs",
                "noise",
                "attributes",
                "cost",
            )
            assert [getattr(a, f) for f in fields] == [getattr(b, f) for f in fields]
            assert abs(a.start - b.start) < 1e-8 and abs(a.end - b.end) < 1e-8
        # the recorded noise makes the imported trace replayable exactly
        cf = asim.counterfactual(back, scenario=sc)
        assert {k: v.value for k, v in cf.outcomes.items()} == run.outcomes


def test_otlp_round_trip_keeps_run_attributes_and_entry_inputs(tmp_path: Path) -> None:
    sc = support_desk()
    run = sc.run(seed=4, ticket="T-77")
    assert run.trace.attributes["inputs"] == {"ticket": "T-77"}
    back = asim.load_trace(asim.save_otlp(run.trace, tmp_path / "run.json"))
    assert back.attributes == {**run.trace.attributes, "imported_from": "otlp"}
    # abduction from the imported trace re-runs the program with the recorded inputs
    cf = asim.counterfactual(back, scenario=sc)
    assert {k: v.value for k, v in cf.outcomes.items()} == run.outcomes
    assert dict(cf.samples[0].context.inputs) == {"ticket": "T-77"}


def test_otlp_round_trip_keeps_what_the_importer_noticed(tmp_path: Path) -> None:
    run = support_desk().run(seed=4)
    path = asim.save_otlp(run.trace, tmp_path / "run.json")
    export = json.loads(path.read_text())
    spans = export["resourceSpans"][0]["scopeSpans"][0]["spans"]
    leaf = spans[-1]
    leaf["endTimeUnixNano"] = str(int(leaf["startTimeUnixNano"]) - 5_000_000)
    path.write_text(json.dumps(export))
    back = asim.load_trace(path)
    assert back.source == "agentsim"  # still restored as the agentsim trace...
    (warning,) = back.attributes["warnings"]  # ...and the repair is still reported
    assert "ends before it starts" in warning
