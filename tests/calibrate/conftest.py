"""The done-when corpus: 3,000 runs of a retried search and a fetch-else-cache fallback,
exported as OTLP JSON Lines stripped of every ``agentsim.*`` attribute (written once)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

import agentsim as asim
from agentsim import dist
from agentsim import workflow as wf
from agentsim.calibrate import strip_otlp

FLOW = wf.seq(wf.retry(wf.call("search"), n=2), wf.fallback(wf.call("fetch"), wf.call("cache")))
TOOLS = {
    "search": dict(p_ok=0.7, latency=dist.LogNormal(median=0.8, sigma=0.4)),
    "fetch": dict(p_ok=0.8, latency=dist.Exponential(mean=1.5), timeout=4.0, cost=0.01),
    "cache": dict(p_ok=0.9, latency=dist.Normal(mean=0.3, sd=0.05)),
}


def write_stripped_corpus(sc: asim.Scenario, n: int, seed: int, path: Path) -> Path:
    """Simulate ``n`` runs and write them as stripped OTLP JSON Lines."""
    with path.open("w") as f:
        for run in sc.simulate(n=n, seed=seed):
            f.write(json.dumps(strip_otlp(asim.to_otlp(run.trace))) + "\n")
    return path


@pytest.fixture(scope="session")
def corpus_path(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("twin") / "corpus.jsonl"
    return write_stripped_corpus(wf.scenario(FLOW, TOOLS), 3000, 0, path)
