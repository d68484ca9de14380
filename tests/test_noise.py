"""The addressed noise field: purity, cross-process identity, statistical soundness."""

from __future__ import annotations

import os
import subprocess
import sys

import numpy as np
import pytest
from scipy import stats

from agentsim import noise
from agentsim.errors import ScenarioError


def test_pure_function_of_its_key() -> None:
    assert noise.uniform(3, "a#0/b#1", "ok") == noise.uniform(3, "a#0/b#1", "ok")
    keys = [
        (3, "a#0/b#1", "ok"),
        (4, "a#0/b#1", "ok"),
        (3, "a#0/b#2", "ok"),
        (3, "a#0/b#1", "latency"),
    ]
    values = {noise.uniform(*k) for k in keys}
    assert len(values) == len(keys)
    assert noise.uniform(3, "x#0", "ok", draw=1) != noise.uniform(3, "x#0", "ok", draw=0)


def test_identical_across_processes_and_hash_seeds() -> None:
    code = (
        "from agentsim import noise; "
        "print(repr([noise.uniform(s, 'main#0/search#3', 'ok', d) "
        "for s in (0, 1, 2**63) for d in (0, 5)]))"
    )
    outputs = set()
    for hash_seed in ("0", "12345"):
        env = dict(os.environ, PYTHONHASHSEED=hash_seed)
        outputs.add(
            subprocess.run(
                [sys.executable, "-c", code], env=env, check=True, capture_output=True, text=True
            ).stdout
        )
    here = repr(
        [noise.uniform(s, "main#0/search#3", "ok", d) for s in (0, 1, 2**63) for d in (0, 5)]
    )
    assert outputs == {here + "\n"}


def test_vector_matches_scalar_bit_for_bit() -> None:
    seeds = np.arange(0, 5000, 7, dtype=np.uint64)
    vec = noise.uniform_many(seeds, "main#0/t#0", "latency", draw=3)
    assert [float(v) for v in vec] == [
        noise.uniform(int(s), "main#0/t#0", "latency", 3) for s in seeds
    ]


def test_uniformity_ks_over_100k_draws() -> None:
    u = noise.uniform_many(np.arange(100_000), "main#0/t#0", "ok")
    assert u.min() > 0.0 and u.max() < 1.0
    assert stats.kstest(u, "uniform").pvalue > 0.001
    # the same over addresses rather than seeds
    v = np.array([noise.uniform(1, f"main#0/t#{i}", "ok") for i in range(20_000)])
    assert stats.kstest(v, "uniform").pvalue > 0.001


@pytest.mark.parametrize(
    "pair",
    [
        lambda s: (noise.uniform_many(s, "a#0", "ok"), noise.uniform_many(s + 1, "a#0", "ok")),
        lambda s: (noise.uniform_many(s, "a#0", "ok"), noise.uniform_many(s, "a#0", "latency")),
        lambda s: (noise.uniform_many(s, "a#0/t#1", "ok"), noise.uniform_many(s, "a#0/t#2", "ok")),
        lambda s: (noise.uniform_many(s, "a#0", "ok", 1), noise.uniform_many(s, "a#0", "ok", 2)),
    ],
    ids=["neighbouring seeds", "slots", "addresses", "draws"],
)
def test_neighbours_uncorrelated(pair) -> None:  # type: ignore[no-untyped-def]
    x, y = pair(np.arange(100_000))
    assert abs(np.corrcoef(x, y)[0, 1]) < 0.01


def test_child_seeds_do_not_depend_on_batch_size() -> None:
    assert [noise.child_seed(5, i) for i in range(3)] == [noise.child_seed(5, i) for i in range(3)]
    assert len({noise.child_seed(5, i) for i in range(10_000)}) == 10_000
    assert all(0 <= noise.child_seed(5, i) < 2**63 for i in range(100))


@pytest.mark.parametrize("bad", [-1, 2**64, 1.5, "3", True])
def test_bad_seed_is_a_clear_error(bad) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(ScenarioError, match="seed"):
        noise.uniform(bad, "a#0", "ok")
