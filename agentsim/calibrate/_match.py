"""Where the twin says a real trace failed: its decisive error over twin runs matched to it.

Layer: calibrate. It imports only from its own layer and the ones below it.

A real trace records what each call returned, not the noise behind it, so "which step's own
failure made this run fail?" has no exact answer from the trace alone. The twin gives a
posterior one: simulate the twin, keep the runs that *match* the trace (the same calls, in
the same order, with the same successes and failures: rejection sampling from the twin's
posterior given the observed pattern), and ask each matched run for its decisive error
(exact, since a twin run is a simulation). The step most matched runs blame is the
reference, and the fraction that blame it says how sure the twin is.

Matching is exact on the pattern of calls, so it works for traces whose pattern the twin
produces with reasonable probability (short traces, or frequent patterns); a trace no twin
run matches gets no reference, and says so.

Examples
--------
>>> from agentsim import workflow as wf
>>> from agentsim.calibrate import calibrate
>>> truth = wf.scenario(wf.seq(wf.call("a"), wf.call("b")),
...     {"a": dict(p_ok=0.7, latency=1.0), "b": dict(p_ok=0.9, latency=1.0)})
>>> runs = list(truth.simulate(n=300, seed=0))
>>> cal = calibrate(r.trace for r in runs)
>>> failed = next(r.trace for r in runs if not r.trace.span("main#0/a#0").ok)
>>> loc = twin_locus(cal, failed, n=500)
>>> loc.address, round(loc.share, 1)  # b's own failure (p_ok 0.9) is blamed otherwise
('main#0/a#0', 0.9)
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass

from agentsim.attribution.baselines import decisive_error, steps_of
from agentsim.calibrate._corpus import Instance, read_instance
from agentsim.calibrate._result import Calibration
from agentsim.trace import Trace
from agentsim.worlds import as_world

__all__ = ["TwinLocus", "twin_locus"]


@dataclass(frozen=True)
class TwinLocus:
    """The twin's answer to "where did this trace fail?"."""

    agent: str | None
    """Agent of the blamed step in the real trace."""
    step: int | None
    """Index of the blamed step among the real trace's steps (as :func:`validate` counts)."""
    address: str | None
    """Address of the blamed step in the real trace."""
    share: float
    """Fraction of the matched twin runs whose decisive error is that step."""
    matched: int
    """Twin runs whose call pattern equals the trace's."""
    simulated: int
    """Twin runs simulated."""


def _leaves(inst: Instance, skip: set[str]) -> list[tuple[str, bool, str]]:
    out: list[tuple[str, bool, str]] = []
    for c in inst.calls:
        if c.child is not None:
            out.extend(_leaves(c.child, skip))
        elif c.label not in skip:
            out.append((c.label, c.ok, c.address))
    return out


Pattern = tuple[tuple[str, bool], ...]


class _Matcher:
    """The twin runs of one batch grouped by call pattern, with each group's votes: the
    position (among the pattern's calls) of every matched run's decisive error. Built once
    per calibration, batch size and seed, so scoring a corpus simulates the twin once."""

    def __init__(self, cal: Calibration, n: int, seed: int) -> None:
        skip = set(cal.extra_tools)
        self.skip = skip
        self.groups: dict[Pattern, list[int | None]] = {}
        for run in cal.scenario.simulate(n=n, seed=seed):
            leaves = _leaves(read_instance(run.trace), skip)
            key = tuple((label, ok) for label, ok, _ in leaves)
            if all(ok for _, ok in key) and run.outcomes.get("success", 0.0) == 1.0:
                self.groups.setdefault(key, []).append(None)
                continue  # a success has no decisive error; no need to ask
            loc = decisive_error(run)
            where = None
            if loc is not None:
                where = next((i for i, (_, _, a) in enumerate(leaves) if a == loc.address), None)
            self.groups.setdefault(key, []).append(where)


def _matcher(cal: Calibration, n: int, seed: int) -> _Matcher:
    key = ("twin_locus", n, seed)
    found = cal.memo.get(key)
    if not isinstance(found, _Matcher):
        found = cal.memo[key] = _Matcher(cal, n, seed)
    return found


def twin_locus(cal: Calibration, trace: Trace, *, n: int = 2000, seed: int = 0) -> TwinLocus:
    """The step the twin blames for ``trace``'s failure, over ``n`` twin runs from ``seed``.

    The twin's runs are simulated once per calibration, ``n`` and ``seed``, and reused for
    every trace asked about.
    """
    m = _matcher(cal, n, seed)
    real = _leaves(read_instance(trace), m.skip)
    group = m.groups.get(tuple((label, ok) for label, ok, _ in real), [])
    matched = len(group)
    votes: Counter[str] = Counter(real[i][2] for i in group if i is not None)
    if not votes:
        return TwinLocus(None, None, None, 0.0, matched, n)
    address, count = votes.most_common(1)[0]
    steps = steps_of(as_world(trace))
    index = next((i for i, (a, _, _) in enumerate(steps) if a == address), None)
    agent = steps[index][1] if index is not None else None
    return TwinLocus(agent, index, address, count / matched, matched, n)
