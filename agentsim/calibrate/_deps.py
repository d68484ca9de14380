"""Data dependencies: which earlier step's failure makes a call fail.

Layer: calibrate. It imports only from its own layer and the ones below it.

Traces do not record which result fed which call. Under agentsim's noisy-AND, a call whose
inputs were all ok succeeds with probability ``p_ok`` and one with a bad input with the leak
``p_recover <= p_ok``. So for each call site (a step position of an agent, and the part of the
step: the primary or a backup) every candidate parent set ``P`` (empty; the agent's input; one
earlier step of the same agent) splits the site's calls into those whose parents were all ok
and the rest, and has a binomial likelihood with one rate per side (constrained to
``leak <= p_ok``, pooled when the data say otherwise). The parent set with the smallest BIC
wins; ties go to the workflow's natural input (the previous step), then to the latest step.
A candidate under which no call had good inputs carries no evidence about ``p_ok`` and is not
eligible: that is what keeps a fallback, which only ever runs after its primary failed, from
being read as a casualty of the primary when it reads an earlier call's result instead.

Calls cut off by a timeout are left out: the timeout, not the success noise, failed them.

Examples
--------
>>> parents_ok = {"none": [True] * 6, "s0": [True, True, True, False, False, False]}
>>> oks = [True, True, False, False, False, False]
>>> choose_parent(oks, parents_ok, natural="s0").parent
's0'
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

__all__ = ["ParentChoice", "bernoulli_loglik", "choose_parent"]

NO_PARENT = "none"
"""Candidate name of the empty parent set."""
INPUT = "input"
"""Candidate name of the agent's own input."""


def bernoulli_loglik(ok: int, n: int) -> float:
    """Maximised binomial log-likelihood of ``ok`` successes in ``n`` trials.

    >>> round(bernoulli_loglik(1, 2), 6)
    -1.386294
    """
    if n == 0 or ok in (0, n):
        return 0.0
    p = ok / n
    return ok * math.log(p) + (n - ok) * math.log(1 - p)


@dataclass(frozen=True)
class ParentChoice:
    """The parent set chosen for one call site, with its likelihood evidence."""

    parent: str
    """``none``, ``input`` or the name of an earlier step (``s<i>``)."""
    ok_good: int
    n_good: int
    ok_bad: int
    n_bad: int
    bic: dict[str, float]
    """BIC of every eligible candidate."""


def _score(oks: Sequence[bool], good: Sequence[bool]) -> tuple[float, int, tuple[int, ...]]:
    ok_g = sum(1 for o, g in zip(oks, good, strict=True) if g and o)
    n_g = sum(1 for g in good if g)
    ok_b = sum(1 for o, g in zip(oks, good, strict=True) if not g and o)
    n_b = len(oks) - n_g
    if n_b == 0:
        return bernoulli_loglik(ok_g, n_g), 1, (ok_g, n_g, 0, 0)
    if ok_b / n_b > ok_g / max(n_g, 1):
        # The leak cannot exceed p_ok (monotone mechanism): the constrained MLE pools them.
        pooled = bernoulli_loglik(ok_g + ok_b, n_g + n_b)
        return pooled, 2, (ok_g, n_g, ok_b, n_b)
    ll = bernoulli_loglik(ok_g, n_g) + bernoulli_loglik(ok_b, n_b)
    return ll, 2, (ok_g, n_g, ok_b, n_b)


def choose_parent(
    oks: Sequence[bool],
    parents_ok: Mapping[str, Sequence[bool]],
    *,
    natural: str,
) -> ParentChoice:
    """The parent set of a call site among ``parents_ok`` (candidate -> status per call).

    Candidates are tried in the order given; ``natural`` names the workflow's natural input.
    """
    n = len(oks)
    penalty = math.log(max(n, 2))
    best: tuple[float, int, int, str, tuple[int, ...]] | None = None
    bic: dict[str, float] = {}
    names = list(parents_ok)
    for pos, name in enumerate(names):
        good = parents_ok[name]
        if not any(good) and n:
            continue
        ll, k, counts = _score(oks, good)
        value = -2 * ll + k * penalty
        bic[name] = value
        # Ties (within float noise) prefer the natural input, then the latest candidate.
        key = (round(value, 9), 0 if name == natural else 1, -pos, name, counts)
        if best is None or key < best:
            best = key
    if best is None:
        return ParentChoice(NO_PARENT, sum(oks), n, 0, 0, bic)
    ok_g, n_g, ok_b, n_b = best[4]
    return ParentChoice(best[3], ok_g, n_g, ok_b, n_b, bic)
