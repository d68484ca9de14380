"""The fit check: does the twin behave like held-out traces?

Layer: calibrate. It imports only from its own layer and the ones below it.

:func:`check_fit` simulates the twin and reads its traces with the same exporter-level reader
as the corpus, then compares, line by line: the run success rate, each tool's error rate (all
its calls), the p50 and p95 latency of runs and of each tool, and the mean cost of a run. Each
side has an interval (Wilson for rates, order-statistic intervals from
``scipy.stats.quantile_test`` for quantiles, a t interval for means), and a line passes when
the two intervals overlap: the held-out data cannot tell the twin from the system at that
confidence. A line that fails says where the twin is wrong (a missing retry shows up as a
tool error rate; a wrong latency family as a p95).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np
from scipy import stats

from agentsim.calibrate._corpus import Instance, read_instance
from agentsim.stats import Estimate, mean_ci, wilson
from agentsim.trace import Trace

if TYPE_CHECKING:
    import pandas as pd
    from rich.table import Table

    from agentsim.calibrate._result import Calibration

__all__ = ["CheckLine", "FitCheck", "HeldOut", "check_fit", "quantile_ci"]


def quantile_ci(values: Sequence[float], p: float, confidence: float = 0.95) -> Estimate:
    """The ``p`` quantile of ``values`` with a distribution-free (order statistic) interval.

    >>> e = quantile_ci(list(range(1, 101)), 0.5)
    >>> e.value, e.low <= 50.5 <= e.high
    (50.5, True)
    """
    x = np.asarray(values, dtype=np.float64)
    if len(x) == 0:
        return Estimate(float("nan"), float("nan"), float("nan"), 0, confidence)
    value = float(np.quantile(x, p))
    if len(x) < 2:
        return Estimate(value, value, value, len(x), confidence)
    ci = stats.quantile_test(x, q=value, p=p).confidence_interval(confidence)
    low = float(ci.low) if np.isfinite(ci.low) else float(np.min(x))
    high = float(ci.high) if np.isfinite(ci.high) else float(np.max(x))
    return Estimate(value, low, high, len(x), confidence)


@dataclass(frozen=True)
class CheckLine:
    """One comparison of the fit check."""

    what: str
    """e.g. ``success rate``, ``search error rate``, ``run latency p95``."""
    observed: Estimate
    """The held-out traces' value with its interval."""
    twin: Estimate
    """The twin's value with its interval."""

    @property
    def passed(self) -> bool:
        """Whether the two intervals overlap."""
        if self.observed.n == 0:
            return True
        # A relative 1e-9 slack: equal constants summed in different orders differ in the
        # last bits, and two point intervals of one constant must overlap.
        slack = 1e-9 * max(abs(self.observed.value), abs(self.twin.value), 1e-300)
        return (
            self.observed.low <= self.twin.high + slack
            and self.twin.low <= self.observed.high + slack
        )


@dataclass(frozen=True)
class FitCheck:
    """The lines of a fit check, with a verdict per line."""

    lines: list[CheckLine]
    held_out: int
    """Held-out traces compared."""
    simulated: int
    """Twin runs simulated."""

    @property
    def passed(self) -> bool:
        """Whether every line passed."""
        return all(line.passed for line in self.lines)

    def failures(self) -> list[CheckLine]:
        """The lines that did not pass."""
        return [line for line in self.lines if not line.passed]

    def to_pandas(self) -> pd.DataFrame:
        """One row per line: observed and twin values with intervals, and the verdict."""
        import pandas as pd

        return pd.DataFrame(
            [
                {
                    "what": ln.what,
                    "observed": ln.observed.value,
                    "observed_low": ln.observed.low,
                    "observed_high": ln.observed.high,
                    "twin": ln.twin.value,
                    "twin_low": ln.twin.low,
                    "twin_high": ln.twin.high,
                    "passed": ln.passed,
                }
                for ln in self.lines
            ]
        )

    def table(self) -> Table:
        """A rich table of the lines."""
        from rich.table import Table

        t = Table(title=f"fit check: {self.held_out} held-out traces vs {self.simulated} twin runs")
        for col in ("what", "held-out", "twin", ""):
            t.add_column(col)
        for ln in self.lines:
            t.add_row(
                ln.what,
                _fmt(ln.observed),
                _fmt(ln.twin),
                "[green]pass[/green]" if ln.passed else "[red]FAIL[/red]",
            )
        return t

    def __str__(self) -> str:
        rows = [
            f"{ln.what:<32} {_fmt(ln.observed):<30} {_fmt(ln.twin):<30} "
            f"{'pass' if ln.passed else 'FAIL'}"
            for ln in self.lines
        ]
        head = f"fit check: {self.held_out} held-out traces vs {self.simulated} twin runs"
        return "\n".join([head, *rows])


def _fmt(e: Estimate) -> str:
    if e.n == 0:
        return "-"
    return f"{e.value:.4g} [{e.low:.4g}, {e.high:.4g}]"


class _Summary:
    def __init__(self) -> None:
        self.success: list[float] = []
        self.latency: list[float] = []
        self.cost: list[float] = []
        self.tool_ok: dict[str, list[bool]] = defaultdict(list)
        self.tool_latency: dict[str, list[float]] = defaultdict(list)

    def add(self, inst: Instance, trace: Trace) -> None:
        self.success.append(float(trace.outcomes.get("success", float(inst.ok))))
        self.latency.append(float(trace.outcomes.get("latency", inst.end - inst.start)))
        self.cost.append(inst.cost())
        stack = [inst]
        while stack:
            cur = stack.pop()
            for c in cur.calls:
                if c.child is not None:
                    stack.append(c.child)
                else:
                    self.tool_ok[c.label].append(c.ok)
                    self.tool_latency[c.label].append(c.duration)


def _summarise(traces: Iterable[Trace]) -> _Summary:
    out = _Summary()
    for trace in traces:
        out.add(read_instance(trace), trace)
    return out


class HeldOut:
    """Held-out traces summarised as they stream past (what :func:`check_fit` compares),
    so a large hold-out is never kept in memory as traces."""

    def __init__(self) -> None:
        self.summary = _Summary()
        self.count = 0

    def add(self, trace: Trace) -> None:
        """Summarise one held-out trace."""
        self.summary.add(read_instance(trace), trace)
        self.count += 1


def _error_rate(oks: Sequence[bool]) -> Estimate:
    if not oks:
        return Estimate(float("nan"), float("nan"), float("nan"), 0)
    return wilson(sum(1 for o in oks if not o), len(oks))


def check_fit(
    cal: Calibration, held_out: Sequence[Trace] | HeldOut, *, n: int = 4000, seed: int = 0
) -> FitCheck:
    """Compare ``cal``'s twin (``n`` simulated runs from ``seed``) with ``held_out`` traces.

    Examples
    --------
    >>> from agentsim import workflow as wf
    >>> from agentsim.calibrate import calibrate
    >>> truth = wf.scenario(wf.call("a"), {"a": dict(p_ok=0.8, latency=1.0)})
    >>> traces = [r.trace for r in truth.simulate(n=600, seed=0)]
    >>> check = calibrate(traces[:400]).check(traces[400:], n=1000)
    >>> check.passed, [ln.what for ln in check.lines][:2]
    (True, ['run success rate', 'mean run cost'])
    """
    if isinstance(held_out, HeldOut):
        obs, count = held_out.summary, held_out.count
    else:
        obs, count = _summarise(held_out), len(held_out)
    batch = cal.scenario.simulate(n=n, seed=seed)
    sim = _summarise([run.trace for run in batch])
    lines = [
        CheckLine(
            "run success rate",
            wilson(sum(obs.success), len(obs.success)),
            wilson(sum(sim.success), len(sim.success)),
        ),
        CheckLine("mean run cost", _mean(obs.cost), _mean(sim.cost)),
    ]
    for p in (0.5, 0.95):
        lines.append(
            CheckLine(
                f"run latency p{round(p * 100)}",
                quantile_ci(obs.latency, p),
                quantile_ci(sim.latency, p),
            )
        )
    # The twin's own routing decisions and skips have no counterpart in the traces.
    for tool in sorted(set(obs.tool_ok) | set(cal.params)):
        lines.append(
            CheckLine(
                f"{tool} error rate",
                _error_rate(obs.tool_ok.get(tool, [])),
                _error_rate(sim.tool_ok.get(tool, [])),
            )
        )
        for p in (0.5, 0.95):
            lines.append(
                CheckLine(
                    f"{tool} latency p{round(p * 100)}",
                    quantile_ci(obs.tool_latency.get(tool, []), p),
                    quantile_ci(sim.tool_latency.get(tool, []), p),
                )
            )
    return FitCheck(lines, count, n)


def _mean(values: Sequence[float]) -> Estimate:
    if not values:
        return Estimate(float("nan"), float("nan"), float("nan"), 0)
    if len(set(values)) == 1:
        return Estimate(values[0], values[0], values[0], len(values))
    return mean_ci(values, proportion=False)
