"""``calibrate``: a corpus of traces in, a twin (fitted mechanisms + inferred workflow) out.

Layer: calibrate. It imports only from its own layer and the ones below it.

The steps, each in its own module: read every trace down to exporter-visible call lists
(:mod:`~agentsim.calibrate._corpus`), infer each agent's structure
(:mod:`~agentsim.calibrate._structure`), find each tool's timeout and fit its latency
(:mod:`~agentsim.calibrate._fit`), choose each call site's data-flow parent by likelihood
(:mod:`~agentsim.calibrate._deps`) so that casualties of a bad input are not counted against a
tool's reliability, then fit ``p_ok`` and ``p_recover`` on the calls so classified and compile
the flow into a scenario.

Only the root agent becomes the entry agent ``main``; sub-agents keep their names. Arrivals
and capacity are not inferred (a twin runs sessions independently): traces rarely show
queueing, and when they do it is mixed into the recorded durations, which the latency fits
absorb.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Iterable
from typing import Any

from agentsim import workflow as wf
from agentsim.calibrate._corpus import Call, Instance, read_instances
from agentsim.calibrate._deps import INPUT, NO_PARENT, choose_parent
from agentsim.calibrate._fit import detect_timeout, fit_latency, fit_success
from agentsim.calibrate._result import Calibration, ToolParams
from agentsim.calibrate._structure import AgentStructure, infer_structure
from agentsim.errors import ScenarioError, TraceFormatError
from agentsim.stats import mean_ci, wilson
from agentsim.trace import Trace

__all__ = ["calibrate"]

_CUT = 1e-3
ROUTER = "root.choice"
"""Name of the decision that picks a root agent when a corpus has several."""


def _walk(inst: Instance, by_agent: dict[str, list[Instance]], order: list[str]) -> None:
    stack = [inst]
    while stack:
        cur = stack.pop()
        if cur.agent not in by_agent:
            order.append(cur.agent)
        by_agent.setdefault(cur.agent, []).append(cur)
        stack.extend(c.child for c in reversed(cur.calls) if c.child is not None)


class _Evidence:
    """Per tool: the ok outcomes of calls with good and with bad parents."""

    def __init__(self) -> None:
        self.ok_good: Counter[str] = Counter()
        self.n_good: Counter[str] = Counter()
        self.ok_bad: Counter[str] = Counter()
        self.n_bad: Counter[str] = Counter()
        self.parents: dict[str, dict[str, str]] = defaultdict(dict)
        self.seen: set[int] = set()
        """ids of the calls counted at some call site."""


def _site_calls(st: AgentStructure, pos: int, label: str) -> list[tuple[int, list[Call]]]:
    out = []
    for r, row in enumerate(st.aligned):
        step = row[pos]
        if step is None:
            continue
        for lab, part in zip(step.labels, step.parts, strict=True):
            if lab == label:
                out.append((r, part))
    return out


def _dependencies(
    st: AgentStructure,
    input_ok: dict[int, bool],
    timeouts: dict[str, float | None],
    ev: _Evidence,
    notes: list[str],
) -> None:
    """Choose each call site's parent and add its calls' evidence to ``ev``."""
    inputs = [input_ok.get(id(inst), True) for inst in st.instances]
    # A step an instance skipped passes its input through (as the twin's skip does).
    status: list[list[bool]] = []
    for r, row in enumerate(st.aligned):
        carried = inputs[r]
        status.append([])
        for step in row:
            carried = carried if step is None else step.ok
            status[-1].append(carried)
    # The natural input of each position (what the workflow feeds it), per instance; it is
    # also what a sub-agent spawned there receives as its own input.
    for r, row in enumerate(st.aligned):
        prev = inputs[r]
        for step in row:
            if step is not None:
                for part in step.parts:
                    for c in part:
                        if c.child is not None:
                            input_ok[id(c.child)] = prev
                prev = step.ok
    for pos, key in enumerate(st.order):
        labels = st.parallel.get(key) or [key, *st.backups.get(key, [])]
        for label in dict.fromkeys(labels):
            if st.kinds.get(label) == "agent":
                continue
            oks: list[bool] = []
            cands: dict[str, list[bool]] = {INPUT: [], NO_PARENT: []}
            for j in range(pos):
                cands[f"s{j}"] = []
            cut = timeouts.get(label)
            for r, part in _site_calls(st, pos, label):
                for c in part:
                    if cut is not None and c.duration >= cut * (1 - _CUT):
                        continue
                    oks.append(c.ok)
                    ev.seen.add(id(c))
                    cands[INPUT].append(inputs[r])
                    cands[NO_PARENT].append(True)
                    for j in range(pos):
                        cands[f"s{j}"].append(status[r][j])
            natural = f"s{pos - 1}" if pos else INPUT
            choice = choose_parent(oks, cands, natural=natural)
            site = f"{st.agent}:{pos}:{label}"
            ev.parents[label][site] = choice.parent
            ev.ok_good[label] += choice.ok_good
            ev.n_good[label] += choice.n_good
            ev.ok_bad[label] += choice.ok_bad
            ev.n_bad[label] += choice.n_bad
            if choice.parent not in (natural, NO_PARENT) and choice.n_bad:
                notes.append(
                    f"{label} at step {pos} of {st.agent} fails after step {choice.parent}, "
                    f"but a workflow feeds it {natural}; the twin uses {natural}"
                )


def _leaf(
    label: str,
    structures: dict[str, AgentStructure],
    stack: tuple[str, ...],
    st: AgentStructure,
    names: dict[str, str],
    extra: dict[str, dict[str, Any]],
) -> wf.Flow:
    if st.kinds.get(label) == "agent" and label in structures and label not in stack:
        flow = wf.subagent(names[label], _body(label, structures, (*stack, label), names, extra))
    else:
        flow = wf.call(label)
    n = st.retries.get(label, 0)
    return wf.retry(flow, n=n) if n else flow


def _body(
    agent: str,
    structures: dict[str, AgentStructure],
    stack: tuple[str, ...],
    names: dict[str, str],
    extra: dict[str, dict[str, Any]],
) -> wf.Flow:
    st = structures[agent]
    steps: list[wf.Flow] = []
    for pos, key in enumerate(st.order):
        if key in st.parallel:
            branches = []
            for label in st.parallel[key]:
                leaf = _leaf(label, structures, stack, st, names, extra)
                if isinstance(leaf, wf.Retry):
                    leaf = leaf.step  # a par branch cannot retry; its retries are reported
                branches.append(leaf)
            flow: wf.Flow = wf.par(*branches)
        else:
            labels = [key, *st.backups.get(key, [])]
            chain = [_leaf(label, structures, stack, st, names, extra) for label in labels]
            flow = chain[-1]
            for primary in reversed(chain[:-1]):
                flow = wf.fallback(primary, flow)
        if key in st.optional:
            flow = _optional(agent, st, pos, key, flow, extra)
        steps.append(flow)
    if not steps:
        return wf.call(f"{agent}.work")
    return steps[0] if len(steps) == 1 else wf.seq(*steps)


def _optional(
    agent: str,
    st: AgentStructure,
    pos: int,
    key: str,
    flow: wf.Flow,
    extra: dict[str, dict[str, Any]],
) -> wf.Flow:
    """A step some instances skip: a routing decision between running it and a skip.

    The decision belongs to the model called just before, when there is one (an LLM choosing
    whether to call a tool), else to the agent. The skip is an instantaneous pass-through
    call (``p_ok = 1``, ``p_recover = 0``: its output is ok exactly when its input is), so
    what follows sees the same input as if the step had not been there.
    """
    prev = st.order[pos - 1] if pos else None
    owner = prev if prev is not None and st.kinds.get(prev) == "llm" else agent
    router, skip = f"{owner}.route", f"{key}.skip"
    if key in st.parallel:  # a parallel group's key is not a name
        skip = f"{agent}.step{pos}.skip"
    extra[router] = {"p_ok": 1.0, "latency": 0.0, "kind": "llm"}
    extra[skip] = {"p_ok": 1.0, "p_recover": 0.0, "latency": 0.0}
    frac = st.optional[key]
    return wf.choose(router, {"run": (frac, flow), "skip": (1.0 - frac, wf.call(skip))})


def calibrate(
    traces: Iterable[Trace],
    *,
    structure: str = "infer",
    name: str = "twin",
    confidence: float = 0.95,
) -> Calibration:
    """Calibrate a scenario (a twin) from a corpus of traces.

    Parameters
    ----------
    traces : iterable of Trace
        The corpus, from :func:`~agentsim.ingest.load_traces` (any format) or a generator
        (read one at a time: only compact call records are kept). Only what exporters record
        is read (names, kinds, parent links, times, status, cost, tokens), never agentsim's
        own ``agentsim.*`` attributes, recorded noise, inputs or values.
    structure : {"infer"}
        How the workflow is found: inferred from the call sequences.
    name : str
        Name of the twin scenario.
    confidence : float
        Level of the posterior intervals.

    Returns
    -------
    Calibration
        ``.scenario`` (the twin), ``.params`` (per tool, with intervals), ``.flow``,
        ``.check(held_out)``, ``.to_python(path)``.

    Examples
    --------
    >>> import agentsim as asim
    >>> from agentsim import dist, workflow as wf
    >>> truth = wf.scenario(wf.seq(wf.retry(wf.call("search"), n=1), wf.call("write")),
    ...     {"search": dict(p_ok=0.6, latency=1.0), "write": dict(p_ok=0.9, latency=2.0)})
    >>> cal = calibrate(r.trace for r in truth.simulate(n=400, seed=1))
    >>> asim.workflow.to_json(cal.flow)
    '{"kind":"seq","steps":[{"kind":"retry","step":{"kind":"call","tool":"search"},"n":1},{"kind":"call","tool":"write"}]}'
    >>> round(cal.params["write"].p_ok.value, 1), cal.params["write"].casualties > 0
    (0.9, True)
    """
    if structure != "infer":
        raise ScenarioError(
            f"structure={structure!r} is not supported; use structure='infer' (the workflow "
            "is read from the call sequences)"
        )
    roots: list[Instance] = []
    success: list[float] = []
    latency: list[float] = []
    cost: list[float] = []
    for inst, trace in _with_traces(traces):
        roots.append(inst)
        success.append(float(trace.outcomes.get("success", float(inst.ok))))
        latency.append(float(trace.outcomes.get("latency", inst.end - inst.start)))
        cost.append(inst.cost())
    if not roots:
        raise TraceFormatError(
            "calibrate needs at least one trace; pass asim.load_traces(folder) or a list of traces"
        )
    by_agent: dict[str, list[Instance]] = {}
    order: list[str] = []
    root_names = Counter(r.agent for r in roots)
    for inst in roots:
        _walk(inst, by_agent, order)
    structures = {a: infer_structure(a, insts) for a, insts in by_agent.items()}
    notes: list[str] = []

    calls_of: dict[str, list[Call]] = defaultdict(list)
    kind_of: dict[str, str] = {}
    for insts in by_agent.values():
        for inst in insts:
            for c in inst.calls:
                if c.kind != "agent":
                    calls_of[c.label].append(c)
                    kind_of.setdefault(c.label, c.kind)
    clash = sorted(set(calls_of) & set(by_agent))
    if clash:
        notes.append(f"names used both by tools and agents: {clash}; the twin keeps the agent")
    timeouts = {
        label: detect_timeout([c.duration for c in cs], [c.ok for c in cs])
        for label, cs in calls_of.items()
    }
    ev = _Evidence()
    input_ok: dict[int, bool] = {}
    for agent in order:
        _dependencies(structures[agent], input_ok, timeouts, ev, notes)

    params: dict[str, ToolParams] = {}
    for label, cs in sorted(calls_of.items()):
        if label in by_agent:
            continue
        t = timeouts[label]
        loose = [
            c
            for c in cs
            if id(c) not in ev.seen and not (t is not None and c.duration >= t * (1 - _CUT))
        ]
        if loose:
            # Calls outside every agent's inferred order have no site to choose parents at:
            # they count as made with good inputs.
            ev.ok_good[label] += sum(1 for c in loose if c.ok)
            ev.n_good[label] += len(loose)
            notes.append(
                f"{len(loose)} calls of {label!r} lie outside the inferred order; counted as "
                "made with good inputs"
            )
        p_ok = fit_success(ev.ok_good[label], ev.n_good[label] - ev.ok_good[label], confidence)
        p_rec = None
        if ev.n_bad[label]:
            p_rec = fit_success(ev.ok_bad[label], ev.n_bad[label] - ev.ok_bad[label], confidence)
        parents = dict(ev.parents[label])
        if p_rec is None and any(p == NO_PARENT for p in parents.values()):
            # Independent of its inputs (no site showed a bad-input failure): the leak is p_ok.
            p_rec = p_ok
        params[label] = ToolParams(
            name=label,
            kind="llm" if kind_of[label] == "llm" else "tool",
            calls=len(cs),
            p_ok=p_ok,
            p_recover=p_rec,
            latency=fit_latency([c.duration for c in cs], t),
            timeout=t,
            cost=sum(c.cost for c in cs) / len(cs),
            tokens=sum(c.tokens for c in cs) / len(cs),
            casualties=ev.n_bad[label],
            timed_out=sum(1 for c in cs if t is not None and c.duration >= t * (1 - _CUT)),
            parents=parents,
        )

    names = {a: (a if a != wf.ENTRY else f"{a}_agent") for a in by_agent}
    extra: dict[str, dict[str, Any]] = {}
    if len(root_names) == 1:
        root_agent = next(iter(root_names))
        flow = _body(root_agent, structures, (root_agent,), names, extra)
    else:
        # Runs of several root agents: the twin picks one per run with the corpus's
        # frequencies (a Categorical routing choice), then runs it as a sub-agent.
        root_agent = " | ".join(sorted(root_names))
        flow = wf.choose(
            ROUTER,
            {
                name: (
                    float(k),
                    wf.subagent(names[name], _body(name, structures, (name,), names, extra)),
                )
                for name, k in sorted(root_names.items())
            },
        )
        extra[ROUTER] = {"p_ok": 1.0, "latency": 0.0, "kind": "llm"}
        notes.append(
            f"the corpus has {len(root_names)} root agents; the twin chooses one per run "
            f"({ROUTER!r}) with weights {dict(sorted(root_names.items()))}"
        )
    for node in wf.nodes(flow):
        if isinstance(node, wf.Call) and node.tool not in params and node.tool not in extra:
            agent = node.tool.removesuffix(".work")
            insts = by_agent.get(agent, [])
            ok = sum(1 for i in insts if i.ok)
            est = fit_success(ok, len(insts) - ok, confidence)
            extra[node.tool] = {
                "p_ok": est.value,
                "latency": fit_latency([i.end - i.start for i in insts]).dist,
            }
            notes.append(f"agent {agent!r} makes no calls; the twin models its work as one call")
    for agent, st in structures.items():
        for key, frac in st.optional.items():
            notes.append(
                f"step {key!r} of {agent!r} ran in {frac:.0%} of instances; the twin runs it "
                "with that probability (a routing choice)"
            )
        if st.unexplained:
            notes.append(
                f"{st.unexplained} steps of {agent!r} fit none of its order "
                f"({st.sequences} distinct sequences); the twin follows the most common one"
            )
    structure_info = {
        agent: {
            "order": list(st.order),
            "retries": dict(st.retries),
            "backups": {k: list(v) for k, v in st.backups.items()},
            "parallel": {k: list(v) for k, v in st.parallel.items()},
            "optional": dict(st.optional),
            "instances": len(st.instances),
            "sequences": st.sequences,
        }
        for agent, st in structures.items()
    }
    return Calibration(
        name=name,
        flow=flow,
        params=params,
        extra_tools=extra,
        root_agent=root_agent,
        traces=len(roots),
        corpus={
            "success": wilson(sum(success), len(success)),
            "latency": mean_ci(latency, proportion=False),
            "cost": mean_ci(cost, proportion=False),
        },
        structure=structure_info,
        notes=list(dict.fromkeys(notes)),
    )


def _with_traces(traces: Iterable[Trace]) -> Iterable[tuple[Instance, Trace]]:
    for trace in traces:
        if not isinstance(trace, Trace):
            raise TraceFormatError(
                f"calibrate needs agentsim Traces, got {type(trace).__name__}; load files with "
                "asim.load_traces(path)"
            )
        (inst,) = read_instances([trace])
        yield inst, trace
