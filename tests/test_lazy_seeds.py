"""``simulate(n)`` generates its seeds as it goes, so a huge ``n`` starts at once.

Before, ``simulate(10**9)`` built the list of a billion seeds (64 MB/s) before the first run.
"""

from __future__ import annotations

import pytest

import agentsim as asim
from agentsim import executor as parallel


class Stop(BaseException):
    """Not an Exception: an agent raising it escapes the run, and so the batch."""


def test_a_huge_batch_derives_seeds_only_for_the_runs_it_reaches(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    calls = []
    original = parallel._noise.child_seed

    def counting(seed: int, i: int) -> int:
        calls.append(i)
        return original(seed, i)

    monkeypatch.setattr(parallel._noise, "child_seed", counting)
    sc = asim.Scenario("huge")
    t = sc.tool("t", p_ok=1.0)
    started = []

    @sc.agent
    def main(ctx):  # type: ignore[no-untyped-def]
        started.append(1)
        if len(started) == 3:
            raise Stop
        return (yield ctx.call(t))

    with pytest.raises(Stop):
        sc.simulate(10**7, seed=0, progress=False)
    assert calls == [0, 1, 2]


def test_seeds_are_the_same_as_before() -> None:
    sc = asim.Scenario("same")
    t = sc.tool("t", p_ok=0.5)

    @sc.agent
    def main(ctx):  # type: ignore[no-untyped-def]
        return (yield ctx.call(t))

    batch = sc.simulate(5, seed=7)
    assert batch.seeds() == [asim.noise.child_seed(7, i) for i in range(5)]
    assert sc.simulate(6, seed=7, workers=2).seeds()[:5] == batch.seeds()
