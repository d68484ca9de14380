"""Hypothesis strategies for property-testing agent scenarios and causal models.

Layer: face (the top). It may import from every layer below it.

A property test states something that must hold for *every* input, and lets `hypothesis
<https://hypothesis.readthedocs.io>`_ search for an input where it does not. The strategies
here generate the inputs agentsim is about, from the smallest upwards, and hypothesis shrinks
any failing one to a minimal example:

* :func:`workflows` and :func:`tool_params`: random declarative workflows
  (:mod:`agentsim.workflow`) and parameters for their tools; :func:`scenarios` compiles
  the two into a :class:`WorkflowScenario`, whose exact answers :mod:`agentsim.analytic`
  gives;
* :func:`runs` and :func:`failed_runs`: simulated runs of a generated scenario or of one of
  your own;
* :func:`interventions`: lists of interventions that make sense for a given run;
* :func:`structural_models`: small acyclic finite SCMs, as
  :class:`~agentsim.worlds.structural.StructuralModel`, with equations given as truth tables.

Every strategy takes keyword-only arguments with small defaults, and all randomness comes from
hypothesis, so a failure replays exactly. This module needs ``hypothesis`` (an optional
dependency of agentsim); nothing else in agentsim imports it.

Examples
--------
A property of your own scenario: repairing every call of a tool never hurts a run whose
tools all have a ``p_recover`` of zero.

>>> import agentsim as asim
>>> from hypothesis import given, settings
>>> sc = asim.Scenario("two-step")
>>> search, answer = sc.tool("search", p_ok=0.7), sc.tool("answer", p_ok=0.8)
>>> @sc.agent
... def main(ctx):
...     found = yield ctx.call(search)
...     return (yield ctx.call(answer, found))
>>> @settings(max_examples=20, derandomize=True, database=None, deadline=None)
... @given(runs(scenario=sc))
... def test_repair_never_hurts(run):
...     cf = asim.counterfactual(run, asim.repair("search"))
...     assert cf.outcomes["success"] >= run.outcomes["success"]
>>> test_repair_never_hurts()
"""

from __future__ import annotations

import itertools
from collections.abc import Callable, Hashable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Literal

from hypothesis import assume
from hypothesis import strategies as st
from hypothesis.errors import InvalidArgument

from agentsim import workflow as wf
from agentsim.dist import Exponential
from agentsim.interventions import Intervention, break_, delay, do, repair
from agentsim.run import Run
from agentsim.scenario import Scenario
from agentsim.worlds.structural import StructuralModel

__all__ = [
    "WorkflowScenario",
    "failed_runs",
    "interventions",
    "runs",
    "scenarios",
    "structural_models",
    "tool_params",
    "workflows",
]

_SEEDS = st.integers(0, 2**32 - 1)
_Mode = Literal["all", "any"]
_MODES: list[_Mode] = ["all", "any"]


def _at_least(name: str, value: int, low: int) -> None:
    if value < low:
        raise InvalidArgument(f"{name}={value!r} must be at least {low}")


# -- workflows --------------------------------------------------------------------------
@st.composite
def workflows(
    draw: st.DrawFn,
    *,
    max_calls: int = 6,
    tools: Sequence[str] = ("a", "b", "c"),
    max_depth: int = 3,
    max_retries: int = 2,
    subagents: bool = True,
    choices: bool = True,
) -> wf.Flow:
    """Random workflows making at most ``max_calls`` calls (every retry attempt counted).

    Parameters
    ----------
    max_calls : int
        Most calls a run of the workflow can make (at least 1); a retry of ``n`` counts its
        step ``n + 1`` times. Decisions are not counted.
    tools : sequence of str
        Names of the tools the calls draw from.
    max_depth : int
        Deepest nesting of combinators.
    max_retries : int
        Largest ``n`` of a :func:`~agentsim.workflow.retry`.
    subagents, choices : bool
        Whether to use :func:`~agentsim.workflow.subagent` and
        :func:`~agentsim.workflow.choose`.

    Returns
    -------
    SearchStrategy of Flow
        Sub-agents are named ``s0, s1, ...``; each decision has a model of its own named
        ``pick0, pick1, ...``, with options ``x0, x1, ...`` of weight 1, 2 or 3. The tools a
        drawn flow needs are ``workflow.tool_names(flow)``.

    Examples
    --------
    >>> from hypothesis import given, settings
    >>> from agentsim import workflow as wf
    >>> @settings(max_examples=20, derandomize=True, database=None)
    ... @given(workflows(max_calls=3, tools=("x", "y")))
    ... def test_round_trip(flow):
    ...     assert wf.from_json(wf.to_json(flow)) == flow
    ...     assert {t for t in wf.tool_names(flow) if not t.startswith("pick")} <= {"x", "y"}
    >>> test_round_trip()
    """
    _at_least("max_calls", max_calls, 1)
    if not tools:
        raise InvalidArgument("tools must name at least one tool")
    budget = [draw(st.integers(1, max_calls))]
    names = itertools.count()
    kinds = ["call", "seq", "par", "retry", "fallback"]
    kinds += ["subagent"] * subagents + ["choose"] * choices
    tool_list = list(tools)

    # ``mult`` is how many times the subtree may run (the product of the enclosing retries'
    # attempts), so a call spends ``mult`` of the budget. While a child is drawn, ``mult`` is
    # held back for each later sibling (every sibling makes at least one call): the budget
    # never goes negative, so a run makes at most ``max_calls`` calls.
    def call(mult: int) -> wf.Flow:
        budget[0] -= mult
        return wf.call(draw(st.sampled_from(tool_list)))

    def siblings(mult: int, make: Callable[[], wf.Flow], k: int = 0) -> list[wf.Flow]:
        """``k`` children (1 to 3 when 0), made in order, each within the budget."""
        k = k or draw(st.integers(1, max(1, min(3, budget[0] // mult))))
        budget[0] -= (k - 1) * mult
        out = []
        for i in range(k):
            budget[0] += mult if i else 0
            out.append(make())
        return out

    def branch(depth: int, mult: int, parent: str) -> wf.Flow:
        options = ["call"]
        if budget[0] >= 2 * mult and depth < max_depth:
            options += ["subagent"] * subagents + ["par"]
        kind = draw(st.sampled_from(options))
        if kind == "call":
            return call(mult)
        if kind == "subagent":
            return wf.subagent(f"s{next(names)}", node(depth + 1, mult))
        # A par "all" may only be a branch of another par "all" (see workflow.par).
        modes: list[_Mode] = ["any", "all"] if parent == "all" else ["any"]
        mode = draw(st.sampled_from(modes))
        return wf.par(*siblings(mult, lambda: branch(depth + 1, mult, mode)), mode=mode)

    def node(depth: int, mult: int) -> wf.Flow:
        if budget[0] < 2 * mult or depth >= max_depth:
            return call(mult)
        kind = draw(st.sampled_from(kinds))
        if kind == "call":
            return call(mult)
        if kind == "seq":
            return wf.seq(*siblings(mult, lambda: node(depth + 1, mult)))
        if kind == "par":
            mode = draw(st.sampled_from(_MODES))
            return wf.par(*siblings(mult, lambda: branch(depth + 1, mult, mode)), mode=mode)
        if kind == "retry":
            top = min(max_retries, budget[0] // mult - 1)
            n = draw(st.integers(1, max(1, top)))
            return wf.retry(node(depth + 1, mult * (n + 1)), n=n)
        if kind == "fallback":
            primary, backup = siblings(mult, lambda: node(depth + 1, mult), k=2)
            return wf.fallback(primary, backup)
        if kind == "subagent":
            return wf.subagent(f"s{next(names)}", node(depth + 1, mult))
        # Only one option runs, but each spends from the budget: a simple, safe bound.
        options = siblings(mult, lambda: node(depth + 1, mult))
        weights = [draw(st.sampled_from([1.0, 2.0, 3.0])) for _ in options]
        return wf.choose(
            f"pick{next(names)}",
            {f"x{i}": (w, f) for i, (w, f) in enumerate(zip(weights, options, strict=True))},
        )

    return node(0, 1)


@st.composite
def tool_params(
    draw: st.DrawFn,
    names: Sequence[str],
    *,
    p_ok: Sequence[float] = (0.3, 0.6, 0.9, 1.0),
    p_recover: Sequence[float] = (0.0, 0.0, 0.2),
    latencies: Sequence[Any] = (1.0, 0.5, Exponential(mean=1.0)),
    costs: Sequence[float] = (0.0, 1.0),
) -> dict[str, dict[str, Any]]:
    """Noisy-AND parameters for the tools ``names``, as :func:`agentsim.workflow.scenario`
    takes them.

    Parameters
    ----------
    names : sequence of str
        The tools (for a workflow, ``workflow.tool_names(flow)``).
    p_ok, p_recover, latencies, costs : sequence
        The values each parameter is drawn from. ``p_recover`` is capped at the tool's
        ``p_ok``; the defaults give latencies the analytic oracle has closed forms for
        (fixed or exponential) and constant costs.

    Returns
    -------
    SearchStrategy of dict
        ``{name: {"p_ok": ..., "p_recover": ..., "latency": ..., "cost": ...}}``, in
        sorted name order.

    Examples
    --------
    >>> from hypothesis import given, settings
    >>> @settings(max_examples=20, derandomize=True, database=None)
    ... @given(tool_params(["a", "b"], p_ok=[0.5, 0.9]))
    ... def test_valid(tools):
    ...     assert sorted(tools) == ["a", "b"]
    ...     assert all(0 <= t["p_recover"] <= t["p_ok"] in (0.5, 0.9) for t in tools.values())
    >>> test_valid()
    """
    for what, values in (("p_ok", p_ok), ("p_recover", p_recover), ("latencies", latencies)):
        if not values:
            raise InvalidArgument(f"{what} must offer at least one value")
    out = {}
    for name in sorted(names):
        ok = draw(st.sampled_from(list(p_ok)))
        recover = min(ok, draw(st.sampled_from(list(p_recover))))
        latency = draw(st.sampled_from(list(latencies)))
        cost = draw(st.sampled_from(list(costs))) if costs else 0.0
        out[name] = dict(p_ok=ok, p_recover=recover, latency=latency, cost=cost)
    return out


@dataclass(frozen=True)
class WorkflowScenario:
    """A generated workflow, its tools' parameters and the scenario compiled from them.

    Drawn by :func:`scenarios`. ``scenario`` runs on the engine; ``flow`` and ``tools`` are
    what :mod:`agentsim.analytic` takes, so every question has an exact answer to compare
    with::

        analytic.success_probability(case.flow, case.tools)
    """

    flow: wf.Flow
    """The workflow (see :mod:`agentsim.workflow`)."""
    tools: dict[str, dict[str, Any]]
    """Tool name -> keyword parameters of :class:`~agentsim.scenario.Tool`."""
    scenario: Scenario
    """``workflow.scenario(flow, tools)``: entry agent ``main``, one agent per sub-agent."""


@st.composite
def scenarios(
    draw: st.DrawFn,
    *,
    max_calls: int = 6,
    tools: Sequence[str] = ("a", "b", "c"),
    max_depth: int = 3,
    max_retries: int = 2,
    subagents: bool = True,
    choices: bool = True,
    params: Callable[[Sequence[str]], st.SearchStrategy[dict[str, dict[str, Any]]]] | None = None,
) -> WorkflowScenario:
    """Compiled workflow scenarios, with the workflow and the tool parameters they came from.

    Parameters
    ----------
    max_calls, tools, max_depth, max_retries, subagents, choices
        As for :func:`workflows`.
    params : callable, optional
        ``names -> strategy of tool parameters``; :func:`tool_params` by default. Pass, for
        example, ``lambda names: tool_params(names, p_ok=[0.5])``.

    Returns
    -------
    SearchStrategy of WorkflowScenario
        A frozen record ``(flow, tools, scenario)``.

    Examples
    --------
    >>> from hypothesis import given, settings
    >>> from agentsim import analytic
    >>> @settings(max_examples=10, derandomize=True, database=None, deadline=None)
    ... @given(scenarios(max_calls=4))
    ... def test_certain_workflows_always_succeed(case):
    ...     if analytic.success_probability(case.flow, case.tools) == 1.0:
    ...         assert case.scenario.run(seed=0).outcomes["success"] == 1.0
    >>> test_certain_workflows_always_succeed()
    """
    flow = draw(
        workflows(
            max_calls=max_calls,
            tools=tools,
            max_depth=max_depth,
            max_retries=max_retries,
            subagents=subagents,
            choices=choices,
        )
    )
    make = tool_params if params is None else params
    tool_map = draw(make(sorted(wf.tool_names(flow))))
    return WorkflowScenario(flow, tool_map, wf.scenario(flow, tool_map))


# -- runs -------------------------------------------------------------------------------
@st.composite
def runs(
    draw: st.DrawFn,
    *,
    scenario: Scenario | None = None,
    max_calls: int = 6,
    seeds: st.SearchStrategy[int] = _SEEDS,
) -> Run:
    """Simulated runs, with their traces, of ``scenario`` or of a generated one.

    Parameters
    ----------
    scenario : Scenario, optional
        The scenario to run (your own, or ``case.scenario`` of a :func:`scenarios` draw);
        by default a fresh one from ``scenarios(max_calls=max_calls)``.
    max_calls : int
        As for :func:`workflows`, when the scenario is generated.
    seeds : SearchStrategy of int
        Where the run's seed comes from.

    Returns
    -------
    SearchStrategy of Run
        ``scenario.run(seed=s)`` for a drawn seed ``s``.

    Examples
    --------
    >>> from hypothesis import given, settings
    >>> import agentsim as asim
    >>> @settings(max_examples=10, derandomize=True, database=None, deadline=None)
    ... @given(runs(max_calls=3))
    ... def test_no_intervention_changes_nothing(run):
    ...     assert asim.counterfactual(run).outcomes == run.outcomes
    >>> test_no_intervention_changes_nothing()
    """
    sc = scenario if scenario is not None else draw(scenarios(max_calls=max_calls)).scenario
    return sc.run(seed=draw(seeds))


@st.composite
def failed_runs(
    draw: st.DrawFn,
    *,
    scenario: Scenario | None = None,
    max_calls: int = 6,
    seeds: st.SearchStrategy[int] = _SEEDS,
    attempts: int = 64,
) -> Run:
    """Simulated runs whose ``success`` outcome is 0.

    From a drawn seed ``s``, the seeds ``s, s + 1, ...`` are tried in turn, at most
    ``attempts`` of them, and the first failed run is returned; when none fails the draw is
    rejected (``hypothesis.assume``), so a scenario that almost never fails makes hypothesis
    report a health-check failure rather than loop.

    Parameters
    ----------
    scenario : Scenario, optional
        The scenario to run; by default a generated one (see :func:`runs`).
    max_calls : int
        As for :func:`workflows`, when the scenario is generated.
    seeds : SearchStrategy of int
        Where the first seed tried comes from.
    attempts : int
        How many consecutive seeds to try.

    Returns
    -------
    SearchStrategy of Run

    Examples
    --------
    >>> from hypothesis import given, settings
    >>> import agentsim as asim
    >>> @settings(max_examples=10, derandomize=True, database=None, deadline=None)
    ... @given(failed_runs(max_calls=3))
    ... def test_repairing_every_call_fixes_the_run(run):
    ...     assert run.outcomes["success"] == 0.0
    ...     tools = {s.name for s in run.trace.spans if s.kind in ("tool", "llm")}
    ...     fixed = asim.counterfactual(run, *(asim.repair(t) for t in tools))
    ...     assert fixed.outcomes["success"] == 1.0
    >>> test_repairing_every_call_fixes_the_run()
    """
    _at_least("attempts", attempts, 1)
    sc = scenario if scenario is not None else draw(scenarios(max_calls=max_calls)).scenario
    start = draw(seeds)
    for k in range(attempts):
        run = sc.run(seed=(start + k) % 2**64)
        if run.outcomes["success"] == 0.0:
            return run
    assume(False)
    raise AssertionError("unreachable: assume(False) rejects the draw")


def _call_spans(run: Run) -> list[str]:
    return [s.address for s in run.trace.spans if s.kind in ("tool", "llm")]


@st.composite
def interventions(
    draw: st.DrawFn,
    run: Run,
    *,
    min_size: int = 1,
    max_size: int = 3,
) -> list[Intervention]:
    """Lists of interventions that apply to ``run``.

    Each is a ``repair``, a ``break_``, a ``do(ok=...)`` or a ``delay`` (of -1, 0.5 or 2
    seconds) whose target is the address of one of the run's calls or the name of a tool it
    called, so :func:`agentsim.counterfactual` accepts every list drawn. The list has no
    repeats; it is empty when the run made no call.

    Parameters
    ----------
    run : Run
        The run the interventions are for (it must keep its trace).
    min_size, max_size : int
        Bounds on the length of the list.

    Returns
    -------
    SearchStrategy of list of Intervention

    Examples
    --------
    >>> from hypothesis import given, settings
    >>> import agentsim as asim
    >>> run = asim.workflow.scenario(
    ...     asim.workflow.seq(asim.workflow.call("a"), asim.workflow.call("b")),
    ...     {"a": {"p_ok": 0.5}, "b": {"p_ok": 0.5}},
    ... ).run(seed=3)
    >>> @settings(max_examples=20, derandomize=True, database=None, deadline=None)
    ... @given(interventions(run, max_size=2))
    ... def test_counterfactuals_apply(ivs):
    ...     assert 1 <= len(ivs) <= 2
    ...     asim.counterfactual(run, *ivs)
    >>> test_counterfactuals_apply()
    """
    _at_least("max_size", max_size, 0)
    addresses = _call_spans(run)
    if not addresses:
        return []
    tools = sorted({a.rsplit("/", 1)[-1].split("#", 1)[0] for a in addresses})
    target = st.sampled_from([*addresses, *tools])

    def one(t: str, kind: str, ok: bool, seconds: float) -> Intervention:
        if kind == "repair":
            return repair(t)
        if kind == "break":
            return break_(t)
        if kind == "do":
            return do(t, ok=ok)
        return delay(t, seconds)

    item = st.builds(
        one,
        target,
        st.sampled_from(["repair", "break", "do", "delay"]),
        st.booleans(),
        st.sampled_from([-1.0, 0.5, 2.0]),
    )
    return draw(st.lists(item, min_size=min(min_size, max_size), max_size=max_size, unique=True))


# -- structural models ------------------------------------------------------------------
@dataclass(frozen=True)
class _TruthTable:
    """An equation given as a table: the row is the parents' values in mixed radix."""

    parents: tuple[str, ...]
    sizes: tuple[int, ...]
    table: tuple[int, ...]

    def __call__(self, values: Mapping[str, Any]) -> int:
        row = 0
        for p, size in zip(self.parents, self.sizes, strict=True):
            row = row * size + int(values[p])
        return self.table[row]

    def __repr__(self) -> str:
        return f"table({', '.join(self.parents)}) = {list(self.table)}"


class _GeneratedModel(StructuralModel):
    """A StructuralModel whose repr shows its context and truth tables (for failing
    examples)."""

    def __init__(
        self,
        equations: Mapping[str, _TruthTable | None],
        context: Mapping[str, int],
        domains: Mapping[str, Sequence[Hashable]],
    ) -> None:
        super().__init__(equations, context, domains)
        self._shown = [
            f"{v}={context[v]}" if eq is None else f"{v}: {eq!r}" for v, eq in equations.items()
        ]

    def __repr__(self) -> str:
        return f"StructuralModel({'; '.join(self._shown)})"


@st.composite
def structural_models(
    draw: st.DrawFn,
    *,
    max_vars: int = 5,
    domain_size: int = 2,
    max_parents: int = 3,
) -> StructuralModel:
    """Random acyclic finite structural causal models.

    Variables are ``V0, V1, ...``, declared in a topological order. The first few (at least
    one, at most half) are set by the context; every later one has an equation reading one
    to ``max_parents`` earlier variables, given as a truth table. A third of the tables are
    arbitrary; the rest are an AND or an OR of literals (a parent is non-zero, possibly
    negated), the shapes that make overdetermination and preemption, and so causes that
    need contingencies (Halpern 2016).

    Parameters
    ----------
    max_vars : int
        Most variables (at least 1); a model has ``min(2, max_vars)`` or more.
    domain_size : int
        Largest domain: each variable takes the values ``0 .. k - 1`` for a ``k`` drawn
        from ``2 .. domain_size`` (all binary by default).
    max_parents : int
        Most parents of an equation.

    Returns
    -------
    SearchStrategy of StructuralModel
        Whose repr lists the context values and the truth tables.

    References
    ----------
    Halpern, J. Y. (2016). *Actual Causality*. MIT Press.

    Examples
    --------
    >>> from hypothesis import given, settings
    >>> @settings(max_examples=20, derandomize=True, database=None, deadline=None)
    ... @given(structural_models(max_vars=4))
    ... def test_do_the_actual_values_changes_nothing(m):
    ...     assert m.evaluate(m.values()) == m.values()
    >>> test_do_the_actual_values_changes_nothing()
    """
    _at_least("max_vars", max_vars, 1)
    _at_least("domain_size", domain_size, 2)
    _at_least("max_parents", max_parents, 1)
    n = draw(st.integers(min(2, max_vars), max_vars))
    names = [f"V{i}" for i in range(n)]
    sizes = {v: draw(st.integers(2, domain_size)) for v in names}
    n_context = draw(st.integers(1, max(1, n // 2)))
    equations: dict[str, _TruthTable | None] = {}
    context: dict[str, int] = {}
    for v in names[:n_context]:
        equations[v] = None
        context[v] = draw(st.integers(0, sizes[v] - 1))
    for i in range(n_context, n):
        var = names[i]
        picked = draw(st.sets(st.sampled_from(names[:i]), min_size=1, max_size=min(i, max_parents)))
        parents = tuple(p for p in names[:i] if p in picked)
        rows = list(itertools.product(*(range(sizes[p]) for p in parents)))
        kind = draw(st.sampled_from(["table", "and", "or"]))
        if kind == "table":
            cell = st.integers(0, sizes[var] - 1)
            table = tuple(draw(st.lists(cell, min_size=len(rows), max_size=len(rows))))
        else:
            negated = [draw(st.booleans()) for _ in parents]
            combine = all if kind == "and" else any
            table = tuple(
                int(combine((x != 0) != neg for x, neg in zip(row, negated, strict=True)))
                for row in rows
            )
        equations[var] = _TruthTable(parents, tuple(sizes[p] for p in parents), table)
    domains = {v: list(range(sizes[v])) for v in names}
    return _GeneratedModel(equations, context, domains)
