"""The world of a scenario's population: many runs on fixed seeds, queried under
interventions (causal layer; imports kernel, model and the executor).

Population questions (the probabilities of necessity and sufficiency, the attribution of a
change between two versions, batch-level explanations) ask about a distribution of runs, not
one run. :class:`PopulationWorld` fixes that population: ``n`` runs whose seeds are
``noise.child_seed(seed, i)``, so every set of interventions is evaluated on the very same
exogenous noise (common random numbers), and per-run differences between two arms are paired.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from typing import TYPE_CHECKING, Any

import numpy as np

from agentsim.batch import Batch
from agentsim.errors import ScenarioError
from agentsim.executor import population_rows, simulate
from agentsim.interventions import Intervention, as_interventions
from agentsim.worlds.scenario import ScenarioWorld

if TYPE_CHECKING:
    from agentsim.scenario import Scenario

__all__ = ["PopulationWorld"]


class PopulationWorld:
    """``n`` runs of ``scenario`` on fixed seeds, evaluated under interventions.

    ``outcomes(interventions, outcome)`` gives the per-run values (cached by the
    interventions and counted in ``evaluations``, one per simulated arm); ``outcome`` their
    mean; ``units()`` each run as a :class:`~agentsim.worlds.scenario.ScenarioWorld`, for
    exact per-run counterfactuals.

    >>> import agentsim as asim
    >>> sc = asim.Scenario("pop")
    >>> t = sc.tool("t", p_ok=0.5)
    >>> @sc.agent
    ... def main(ctx):
    ...     return (yield ctx.call(t))
    >>> w = PopulationWorld(sc, n=400, seed=0)
    >>> w.outcome([asim.repair("t")])
    1.0
    >>> 0.4 < w.outcome() < 0.6
    True
    """

    def __init__(
        self,
        scenario: Scenario,
        n: int,
        seed: int = 0,
        *,
        workers: int = 1,
        inputs: dict[str, Any] | None = None,
        base: Sequence[Intervention] = (),
        executor: Any = None,
    ) -> None:
        if not isinstance(n, int) or isinstance(n, bool) or n < 1:
            raise ScenarioError(f"n={n!r} must be a positive integer number of runs")
        self.scenario = scenario
        self.n = n
        self.seed = seed
        self.workers = workers
        self.executor = executor
        """A ``dask.distributed`` client the batches run on (``None``: this machine)."""
        self.inputs = dict(inputs or {})
        self.base = as_interventions(list(base))
        """Interventions every query starts from (a planted fault, a batch's own)."""
        self._factual: Batch | None = None
        self.evaluations = 0
        self._cache: dict[tuple[tuple[Intervention, ...], str], np.ndarray] = {}

    @property
    def factual(self) -> Scenario:
        """The scenario whose population this is."""
        return self.scenario

    def outcomes(
        self, interventions: Sequence[Intervention] = (), outcome: str = "success"
    ) -> np.ndarray:
        """Outcome ``outcome`` of every run under ``interventions``, in seed order."""
        ivs = self.base + as_interventions(list(interventions))
        key = (ivs, outcome)
        hit = self._cache.get(key)
        if hit is None:
            batch = simulate(
                self.scenario,
                self.n,
                self.seed,
                workers=self.workers,
                keep_traces=False,
                progress=False,
                interventions=ivs,
                inputs=self.inputs,
                executor=self.executor,
            )
            hit = batch.values(outcome)
            self._cache[key] = hit
            self.evaluations += 1
        return hit

    def outcome(
        self, interventions: Sequence[Intervention] = (), outcome: str = "success"
    ) -> float:
        """Mean of ``outcome`` over the population under ``interventions``."""
        return float(self.outcomes(interventions, outcome).mean())

    def counterfactual(self, interventions: Sequence[Intervention] = ()) -> np.ndarray:
        """Per-run success under ``interventions`` (the population's counterfactual)."""
        return self.outcomes(interventions, "success")

    def players(self, kind: str = "tools") -> list[str]:
        """``tools``: the scenario's tools and models; ``agents``: its agents."""
        if kind == "tools":
            return list(self.scenario.tools)
        if kind == "agents":
            return list(self.scenario.agents)
        raise ScenarioError(
            f"a population's players are 'tools' or 'agents', not {kind!r}; per-call players "
            "belong to one run (pass a Run)"
        )

    def factual_batch(self) -> Batch:
        """The population's runs under its base interventions, with their records (cached)."""
        if self._factual is None:
            self._factual = simulate(
                self.scenario,
                self.n,
                self.seed,
                workers=self.workers,
                progress=False,
                interventions=self.base,
                inputs=self.inputs,
                executor=self.executor,
            )
            self.evaluations += 1
        return self._factual

    def call_oks(self, address: str, outcome: str = "success") -> tuple[np.ndarray, np.ndarray]:
        """Per run under the base interventions: the ok flag of the call at ``address``
        (1 ok, 0 failed, -1 never made) and ``outcome``, in seed order.

        On an ``executor`` the runs are not built (each task returns rows with the flag);
        otherwise they are read off :meth:`factual_batch`.
        """
        if self.executor is not None:
            if self.inputs:
                raise ScenarioError(
                    "population questions with entry inputs cannot run on an executor; "
                    "run them without executor="
                )
            rows = population_rows(
                self.scenario, self.n, self.seed, self.base, self.executor, (address,)
            )
            self.evaluations += 1
            assert rows.probes is not None
            return rows.probes[address], rows.values(outcome)
        batch = self.factual_batch()
        flags = np.full(len(batch.runs), -1, dtype=np.int8)
        for i, run in enumerate(batch.runs):
            rec = next((r for r in run.records if r.address == address), None)
            if rec is not None:
                flags[i] = 1 if rec.ok else 0
        return flags, batch.values(outcome)

    def units(self) -> Iterator[ScenarioWorld]:
        """Each run of the population as its own world (exact per-run counterfactuals), in
        seed order."""
        return (ScenarioWorld(run) for run in self.factual_batch().runs)
