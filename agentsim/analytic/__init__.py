"""Exact answers for declarative workflows, computed without the engine.

Layer: face (the top). It may import from every layer below it.

This module is an *oracle*: a second, independent implementation of the semantics of
:mod:`agentsim.workflow`, written from the workflow tree and the tools' parameters alone
(it never imports SimPy, the engine or the scenario machinery), against which the engine
and the attribution code are checked.

Success. Under the noisy-AND with a leak, a call succeeds with probability ``p_ok`` when
its input is ok and ``p_recover`` when it is not, with noise of its own (every address is
reached at most once per run, and addresses carry independent noise). So each step acts on
one bit, "is my input ok", as a 2-state channel ``(a, b) = (P(ok | input ok), P(ok | input
bad))``, and the combinators compose channels::

    call       (p_ok, p_recover)
    seq        a = a1 a2 + (1 - a1) b2,  b = b1 a2 + (1 - b1) b2      (folded left)
    par all    (prod a_i, prod b_i)           par any   1 - prod(1 - .)
    retry n    1 - (1 - .)^(n + 1)            fallback  1 - (1 - .1)(1 - .2)
    choose     sum_o w_o (a_o, b_o)           subagent  its body

:func:`success_probability` is ``a`` of the whole workflow (a workflow's first input is
empty, hence ok). :func:`expected_cost` composes expected costs the same way.

Worlds. The exogenous noise of a call at address ``A`` is ``u = U(seed, A, "ok")``, and all
that matters of it is which of three intervals holds it, its *band*::

    band 0: u < p_recover      ok whatever its input
    band 1: p_recover <= u < p_ok      ok iff its input is ok
    band 2: u >= p_ok          never ok

(a decision's noise is the option its Gumbel-max picks). :func:`enumerate_worlds` lists every
outcome pattern of the reachable calls with its probability, refining a call's band only as
far as its ok needs. :func:`counterfactual_success` follows Pearl's three steps on bands:
*abduction* keeps the band assignments consistent with the factual ok pattern (weighted by
their prior), *action* forces the intervened addresses, *prediction* replays the workflow on
the same bands; an address that only the counterfactual world reaches keeps its prior, as
in the engine, where it draws from the same noise field. :func:`shapley_repair` and
:func:`banzhaf_repair` solve the repair game exactly by subset enumeration;
:func:`shapley_fault` and :func:`banzhaf_fault` the fault game (``fix``: an own fault's noise,
band 2, moves below ``p_ok`` by :func:`fixed_band`), given the exact uniforms.

Latency. :func:`latency_distribution` handles workflows whose control flow does not depend
on chance (every retry, fallback and par "any" has a certain outcome) and whose latencies are
fixed or exponential: a sequence is a shifted hypoexponential (phase-type, closed form via a
matrix exponential; Erlang when rates repeat), a par is the maximum (all) or minimum (any) of
its branches, whose CDF is the product of CDFs, and a decision mixes its branches.

The oracle ignores deadlines, timeouts, capacity and custom mechanisms (it raises
:class:`~agentsim.errors.UnanswerableError` where they would matter). In a par "any" the
engine cancels the losing branches; here every branch runs to completion, which changes no
ok that can reach the outcome, only which calls a world lists.

Examples
--------
>>> from agentsim import workflow as wf
>>> tools = {"a": dict(p_ok=0.9), "b": dict(p_ok=0.5)}
>>> round(success_probability(wf.seq(wf.call("a"), wf.retry(wf.call("b"), n=1)), tools), 6)
0.675
"""

from __future__ import annotations

from agentsim.analytic import _enumerate
from agentsim.analytic._enumerate import (
    World,
    band,
    counterfactual_success,
    enumerate_worlds,
    fixed_band,
    noise_bands,
)
from agentsim.analytic._games import banzhaf_fault, banzhaf_repair, shapley_fault, shapley_repair
from agentsim.analytic._latency import LatencyDistribution, latency_distribution
from agentsim.analytic._probability import expected_cost, success_probability

__all__ = [
    "LatencyDistribution",
    "World",
    "band",
    "banzhaf_fault",
    "banzhaf_repair",
    "counterfactual_success",
    "enumerate_worlds",
    "expected_cost",
    "fixed_band",
    "latency_distribution",
    "noise_bands",
    "shapley_fault",
    "shapley_repair",
    "success_probability",
]

MAX_STOCHASTIC_CALLS = _enumerate.MAX_STOCHASTIC_CALLS
"""Largest number of stochastic calls :func:`enumerate_worlds` enumerates over."""
