"""Results of calls, runs and batches of runs.

A :class:`Result` is what a call returns to its agent. A :class:`Run` is one execution of a
scenario with one seed: its entry agent's result, its outcomes and its trace. A :class:`Batch`
holds many runs and estimates rates and means with confidence intervals.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np

from agentsim.errors import AgentSimError, suggest
from agentsim.stats import Estimate, mean_ci, wilson

if TYPE_CHECKING:
    import pandas as pd

    from agentsim.interventions import Intervention
    from agentsim.scenario import Scenario
    from agentsim.trace import Trace

__all__ = ["Batch", "Result", "Run", "RunContext"]


CONTINUOUS_OUTCOMES = frozenset({"latency", "cost"})
"""Built-in outcomes that are quantities, never proportions, whatever values they take."""


def outcome_mean(name: str, values: Any, confidence: float = 0.95) -> Estimate:
    """Mean of outcome ``name`` over runs, with the interval its kind calls for."""
    return mean_ci(values, confidence, proportion=False if name in CONTINUOUS_OUTCOMES else None)


class Result:
    """What a call returns to the agent that made it (treat it as immutable).

    Attributes: ``ok`` (whether the call succeeded), ``value`` (what it returned; ``None`` on
    failure unless a mechanism says otherwise), ``latency`` (seconds from issue to return,
    queueing included), ``cost`` (money spent; for a sub-agent, every call inside it),
    ``error`` (message when not ok) and ``address`` (the call that produced it).

    >>> r = Result(ok=True, value=3, latency=0.5, cost=0.01, error=None, address="m#0/a#0")
    >>> r.ok, r.value
    (True, 3)
    """

    # A plain slotted class: a frozen dataclass costs a microsecond per call in __init__,
    # which is a tenth of the engine's whole budget per simulated call.
    __slots__ = ("address", "cost", "error", "latency", "ok", "value")

    def __init__(
        self,
        ok: bool,
        value: Any = None,
        latency: float = 0.0,
        cost: float = 0.0,
        error: str | None = None,
        address: str = "",
    ) -> None:
        self.ok = ok
        self.value = value
        self.latency = latency
        self.cost = cost
        self.error = error
        self.address = address

    def _key(self) -> tuple[Any, ...]:
        return (self.ok, self.value, self.latency, self.cost, self.error, self.address)

    def __eq__(self, other: object) -> bool:
        return type(other) is Result and self._key() == other._key()

    def __hash__(self) -> int:
        return hash((self.ok, self.latency, self.cost, self.error, self.address))

    def __repr__(self) -> str:
        return (
            f"Result(ok={self.ok}, value={self.value!r}, latency={self.latency:.4g}, "
            f"cost={self.cost:.4g}, error={self.error!r}, address={self.address!r})"
        )

    def __agentsim_json__(self) -> Any:
        return self.value


@dataclass(frozen=True)
class RunContext:
    """How to re-create a run's world: its batch, when runs were coupled by shared resources.

    ``seeds`` and ``arrival_times`` are those of every session that shared the environment;
    ``index`` is this run's position among them. A run simulated alone has one seed.
    ``worlds`` gives each session's interventions when they differ (a counterfactual of one
    session of a coupled batch); empty when every session ran under the run's own.
    """

    seeds: tuple[int, ...]
    arrival_times: tuple[float, ...] = ()
    index: int = 0
    inputs: tuple[tuple[str, Any], ...] = ()
    worlds: tuple[tuple[Intervention, ...], ...] = ()

    @property
    def coupled(self) -> bool:
        """Whether the run shared its environment with other sessions."""
        return len(self.seeds) > 1


class Run:
    """One execution of a scenario with one seed (possibly under interventions)."""

    def __init__(
        self,
        *,
        scenario: Scenario,
        seed: int,
        result: Result,
        outcomes: dict[str, float],
        records: list[Any] | None,
        context: RunContext,
        interventions: tuple[Intervention, ...] = (),
        attributes: dict[str, Any] | None = None,
    ) -> None:
        self.scenario = scenario
        self.seed = seed
        self.result = result
        self.outcomes = outcomes
        self.context = context
        self.interventions = interventions
        self.attributes = attributes or {}
        self.unaligned: tuple[str, ...] = ()
        """Addresses that exist only in this counterfactual world (interventional noise)."""
        self.factual: Run | None = None
        """For a counterfactual run, the factual run it was computed from."""
        self.peers: list[Run] = []
        """For a counterfactual of a run from a load batch: every session of the batch as
        re-simulated (in batch order), showing how the change propagated through contention."""
        self._records = records
        self._trace: Trace | None = None

    @property
    def inputs(self) -> dict[str, Any]:
        """Inputs given to the entry agent."""
        return dict(self.context.inputs)

    @property
    def trace(self) -> Trace:
        """The run's trace (built on first access from the engine's span records)."""
        if self._trace is None:
            if self._records is None:
                raise AgentSimError(
                    "this run was simulated with keep_traces=False; re-run it with "
                    f"scenario.run(seed={self.seed}) to get its trace"
                )
            from agentsim.parallel import build_trace

            self._trace = build_trace(self)
        return self._trace

    @property
    def has_trace(self) -> bool:
        """Whether span records were kept."""
        return self._records is not None

    @property
    def records(self) -> list[Any]:
        """The engine's raw span records (internal; prefer :attr:`trace`)."""
        if self._records is None:
            raise AgentSimError("this run was simulated with keep_traces=False")
        return self._records

    def outcome(self, name: str) -> float:
        """Value of the outcome ``name``; ``failure`` is ``1 - success``."""
        try:
            return self.outcomes[name]
        except KeyError:
            if name == "failure":
                return 1.0 - self.outcomes["success"]
            raise AgentSimError(
                f"unknown outcome {name!r}{suggest(name, self.outcomes)}; "
                f"outcomes are {sorted(self.outcomes)}"
            ) from None

    def diff(self, other: Run) -> Any:
        """What changed between ``other`` (usually the factual run) and this run."""
        from agentsim.counterfactuals import diff_runs

        return diff_runs(other, self)

    def drop_records(self) -> None:
        """Forget span records to save memory (the trace can no longer be built)."""
        self._records = None
        self._trace = None

    def __repr__(self) -> str:
        iv = f", interventions={len(self.interventions)}" if self.interventions else ""
        outs = ", ".join(f"{k}={v:.4g}" for k, v in self.outcomes.items())
        return f"Run(seed={self.seed}, {outs}{iv})"


@dataclass
class Batch:
    """Many runs of one scenario, in seed order.

    ``rate`` and ``mean`` return :class:`~agentsim.stats.Estimate` values with 95% intervals
    (Wilson for proportions, Student-t for means).
    """

    scenario: Scenario
    seed: int
    runs: list[Run] = field(default_factory=list)
    arrivals: bool = False
    engine: str = "des"
    """Which executor simulated the batch: ``"des"`` (the SimPy engine) or ``"vector"``."""

    def __len__(self) -> int:
        return len(self.runs)

    def __iter__(self) -> Iterator[Run]:
        return iter(self.runs)

    def __getitem__(self, i: int) -> Run:
        return self.runs[i]

    def values(self, name: str) -> np.ndarray:
        """Outcome ``name`` of every run as a numpy array."""
        if self.runs and name not in self.runs[0].outcomes:
            self.runs[0].outcome(name)
        return np.asarray([r.outcomes[name] for r in self.runs], dtype=np.float64)

    def rate(self, name: str = "success", confidence: float = 0.95) -> Estimate:
        """Proportion of runs where outcome ``name`` is truthy, with a Wilson interval."""
        v = self.values(name)
        return wilson(float(np.count_nonzero(v)), int(v.size), confidence)

    def mean(self, name: str, confidence: float = 0.95) -> Estimate:
        """Mean of outcome ``name``: a Student-t interval, or a Wilson interval for an
        outcome whose values are all 0 or 1 (never for ``latency`` and ``cost``)."""
        return outcome_mean(name, self.values(name), confidence)

    def failures(self, outcome: str = "success") -> Iterator[Run]:
        """Runs whose ``outcome`` is falsy (failed runs, by default)."""
        return (r for r in self.runs if not r.outcomes[outcome])

    def where(self, predicate: Callable[[Run], bool]) -> list[Run]:
        """Runs for which ``predicate(run)`` holds."""
        return [r for r in self.runs if predicate(r)]

    def seeds(self) -> Sequence[int]:
        """Seeds of the runs, in order."""
        return [r.seed for r in self.runs]

    def to_pandas(self) -> pd.DataFrame:
        """One row per run: seed, outcomes, error of the entry agent."""
        import pandas as pd

        rows = [{"seed": r.seed, **r.outcomes, "error": r.result.error} for r in self.runs]
        return pd.DataFrame(rows)

    def __repr__(self) -> str:
        return f"Batch(scenario={self.scenario.name!r}, n={len(self.runs)}, seed={self.seed})"
