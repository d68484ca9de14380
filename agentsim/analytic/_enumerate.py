"""Worlds: exact enumeration of the noise, and counterfactuals by Pearl's three steps.

Layer: face (the top). It may import from every layer below it.

The ok-noise of a call matters only through its *band* (below ``p_recover``, below ``p_ok``,
or above), and a decision's noise only through the option it picks. :func:`enumerate_worlds`
replays the workflow over partial knowledge of that noise, splitting a band set only when a
call's ok depends on the split, so it lists every outcome pattern with its probability.
:func:`counterfactual_success` replays the factual and the intervened world on the same
refinements: abduction keeps those consistent with the factual ok pattern, action forces the
intervened addresses, prediction reads the intervened world's success.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any, TypeVar

from agentsim.analytic._params import _no_timeouts, _Params, _params
from agentsim.errors import ScenarioError, UnanswerableError, suggest
from agentsim.workflow import ENTRY, Call, Fallback, Flow, Par, Retry, Seq, Subagent

__all__ = [
    "MAX_STOCHASTIC_CALLS",
    "World",
    "band",
    "counterfactual_success",
    "enumerate_worlds",
    "fixed_band",
    "noise_bands",
]

MAX_STOCHASTIC_CALLS = 16
"""Largest number of stochastic calls :func:`enumerate_worlds` enumerates over."""

T = TypeVar("T")


def band(u: float, p_ok: float, p_recover: float = 0.0) -> int:
    """The band of a call's ok-noise ``u``: 0 below ``p_recover``, 1 below ``p_ok``, else 2.

    >>> band(0.05, 0.9, 0.1), band(0.5, 0.9, 0.1), band(0.95, 0.9, 0.1)
    (0, 1, 2)
    """
    return 0 if u < p_recover else 1 if u < p_ok else 2


def fixed_band(u: float, p_ok: float, p_recover: float = 0.0) -> int:
    """The band of a call's ok-noise after ``fix``: noise ``u >= p_ok`` (an own fault) moves
    to ``p_ok (u - p_ok) / (1 - p_ok)``, below ``p_ok``; other noise stays where it is.

    >>> fixed_band(0.95, 0.9, 0.1), fixed_band(0.99, 0.9, 0.1), fixed_band(0.5, 0.9, 0.1)
    (1, 1, 1)
    >>> fixed_band(0.905, 0.9, 0.1)
    0
    """
    if u < p_ok:
        return band(u, p_ok, p_recover)
    return band(p_ok * (u - p_ok) / (1.0 - p_ok), p_ok, p_recover)


def noise_bands(
    uniforms: Mapping[str, float], tools: Mapping[str, Mapping[str, Any]]
) -> dict[str, int]:
    """Bands of the ok-noise of calls, by address (the tool is the address's last name).

    >>> noise_bands({"main#0/a#0": 0.95}, {"a": dict(p_ok=0.9)})
    {'main#0/a#0': 2}
    """
    out = {}
    for address, u in uniforms.items():
        name = address.rsplit("/", 1)[-1].split("#", 1)[0]
        p = tools[name]
        out[address] = band(u, float(p.get("p_ok", 1.0)), float(p.get("p_recover", 0.0)))
    return out


@dataclass(frozen=True)
class World:
    """One outcome pattern of the reachable calls and decisions, with its probability."""

    probability: float
    """Probability of this pattern (the patterns of :func:`enumerate_worlds` sum to 1)."""
    success: bool
    """Whether the workflow succeeds in this world."""
    oks: dict[str, bool] = field(default_factory=dict)
    """Call address -> ok, in program order (with every par branch run to completion)."""
    choices: dict[str, str] = field(default_factory=dict)
    """Decision address -> option chosen."""


class _Split(Exception):
    def __init__(self, key: tuple[str, str], parts: list[tuple[frozenset[Any], float]]):
        super().__init__(key)
        self.key, self.parts = key, parts


class _Impossible(Exception):
    pass


class _Replay:
    """One pass of a workflow over partial knowledge of the noise (band or option sets)."""

    def __init__(
        self,
        params: Mapping[str, _Params],
        know: Mapping[tuple[str, str], frozenset[Any]],
        forced: Mapping[str, bool],
        evidence: Mapping[str, bool],
        weights_seen: dict[str, dict[str, float]],
        fixed: Mapping[str, int] | None = None,
    ) -> None:
        self.params, self.know, self.forced = params, know, forced
        self.fixed = fixed or {}
        self.evidence, self.weights_seen = evidence, weights_seen
        self.oks: dict[str, bool] = {}
        self.choices: dict[str, str] = {}
        self.success = False

    def _prior(self, tool: str) -> tuple[float, float, float]:
        t = self.params[tool]
        return t.p_recover, t.p_ok - t.p_recover, 1.0 - t.p_ok

    def call(self, address: str, tool: str, inputs_ok: bool) -> bool:
        if address in self.forced:
            ok = self.forced[address]
        else:
            prior = self._prior(tool)
            key = (address, "ok")
            bands = (
                frozenset([self.fixed[address]])
                if address in self.fixed
                else self.know.get(key) or frozenset(b for b in range(3) if prior[b] > 0)
            )
            lo = frozenset(b for b in bands if b < (2 if inputs_ok else 1))
            if lo and lo != bands:
                total = sum(prior[b] for b in bands)
                hi = bands - lo
                parts = [(s, sum(prior[b] for b in s) / total) for s in (lo, hi)]
                raise _Split(key, parts)
            ok = bool(lo)
            if self.evidence.get(address, ok) != ok:
                raise _Impossible
        self.oks[address] = ok
        return ok

    def choose(self, address: str, weights: dict[str, float]) -> str:
        seen = self.weights_seen.setdefault(address, weights)
        if seen != weights:
            raise UnanswerableError(
                f"the decision at {address!r} has weights {weights} in one world and {seen} "
                "in the other; the oracle replays only decisions made with the same weights"
            )
        key = (address, "choice")
        options = self.know.get(key) or frozenset(o for o, w in weights.items() if w > 0)
        if len(options) > 1:
            total = sum(weights[o] for o in options)
            raise _Split(key, [(frozenset([o]), weights[o] / total) for o in sorted(options)])
        (option,) = options
        if weights.get(option, 0.0) <= 0:
            raise _Impossible
        self.choices[address] = option
        return str(option)

    def agent(self, address: str, ok: bool) -> bool:
        return self.forced.get(address, ok)


class _Ctx:
    __slots__ = ("address", "counts")

    def __init__(self, address: str) -> None:
        self.address, self.counts = address, {}

    def next(self, name: str) -> str:
        k = self.counts.get(name, 0)
        self.counts[name] = k + 1
        return f"{self.address}/{name}#{k}"

    counts: dict[str, int]


def _exec(node: Flow, ctx: _Ctx, inputs_ok: bool, r: _Replay) -> bool:
    """Whether ``node`` is ok, mirroring the compiled agent step by step."""
    if isinstance(node, Call):
        return r.call(ctx.next(node.tool), node.tool, inputs_ok)
    if isinstance(node, Seq):
        ok = inputs_ok
        for step in node.steps:
            ok = _exec(step, ctx, ok, r)
        return ok
    if isinstance(node, Par):  # every branch runs; no short circuit
        oks = [_exec(s, ctx, inputs_ok, r) for s in node.steps]
        return all(oks) if node.mode == "all" else any(oks)
    if isinstance(node, Retry):
        return any(_exec(node.step, ctx, inputs_ok, r) for _ in range(node.n + 1))
    if isinstance(node, Fallback):
        return _exec(node.primary, ctx, inputs_ok, r) or _exec(node.backup, ctx, inputs_ok, r)
    if isinstance(node, Subagent):
        address = ctx.next(node.name)
        return r.agent(address, _exec(node.body, _Ctx(address), inputs_ok, r))
    option = r.choose(ctx.next(node.model), node.weights())
    return _exec(node.branch(option), ctx, inputs_ok, r)


def _explore(
    replay: Callable[[Mapping[tuple[str, str], frozenset[Any]]], T],
    know: Mapping[tuple[str, str], frozenset[Any]],
) -> Iterator[tuple[float, T]]:
    """Depth-first over refinements of the noise knowledge: ``(prior weight, result)`` of
    every leaf whose replay is possible; the leaves partition the noise."""
    stack: list[tuple[float, Mapping[tuple[str, str], frozenset[Any]]]] = [(1.0, know)]
    while stack:
        w, k = stack.pop()
        try:
            out = replay(k)
        except _Split as split:
            for part, p in reversed(split.parts):
                stack.append((w * p, {**k, split.key: part}))
            continue
        except _Impossible:
            continue
        yield w, out


def _stochastic_bound(node: Flow, params: Mapping[str, _Params]) -> int:
    if isinstance(node, Call):
        t = params[node.tool]
        return int(t.p_ok not in (0.0, 1.0) or t.p_recover not in (0.0, 1.0))
    if isinstance(node, Seq | Par):
        return sum(_stochastic_bound(s, params) for s in node.steps)
    if isinstance(node, Retry):
        return (node.n + 1) * _stochastic_bound(node.step, params)
    if isinstance(node, Fallback):
        return _stochastic_bound(node.primary, params) + _stochastic_bound(node.backup, params)
    if isinstance(node, Subagent):
        return _stochastic_bound(node.body, params)
    return max(_stochastic_bound(o.flow, params) for o in node.options)


def _run(
    flow: Flow,
    params: Mapping[str, _Params],
    know: Mapping[tuple[str, str], frozenset[Any]],
    forced: Mapping[str, bool],
    evidence: Mapping[str, bool],
    weights_seen: dict[str, dict[str, float]],
    fixed: Mapping[str, int] | None = None,
) -> _Replay:
    r = _Replay(params, know, forced, evidence, weights_seen, fixed)
    ok = r.agent(f"{ENTRY}#0", _exec(flow, _Ctx(f"{ENTRY}#0"), True, r))
    r.success = ok
    return r


def enumerate_worlds(
    flow: Flow,
    tools: Mapping[str, Mapping[str, Any]],
    interventions: Mapping[str, bool] | None = None,
) -> Iterator[World]:
    """Every outcome pattern of the reachable calls and decisions, with its probability.

    Parameters
    ----------
    flow, tools
        The workflow and its tools' parameters.
    interventions : dict, optional
        Address -> forced ok (``True`` repairs, ``False`` breaks a call or a sub-agent's
        result); the worlds are then those of the intervened workflow.

    Examples
    --------
    >>> from agentsim import workflow as wf
    >>> worlds = list(enumerate_worlds(wf.retry(wf.call("a"), n=1), {"a": dict(p_ok=0.5)}))
    >>> [(w.oks, w.probability) for w in worlds]
    [({'main#0/a#0': True}, 0.5), ({'main#0/a#0': False, 'main#0/a#1': True}, 0.25), \
({'main#0/a#0': False, 'main#0/a#1': False}, 0.25)]
    """
    params = _params(tools, flow)
    _no_timeouts(params, flow)
    bound = _stochastic_bound(flow, params)
    if bound > MAX_STOCHASTIC_CALLS:
        raise UnanswerableError(
            f"the workflow may make {bound} stochastic calls; exact enumeration is limited to "
            f"{MAX_STOCHASTIC_CALLS} (2**{MAX_STOCHASTIC_CALLS} worlds)"
        )
    forced = dict(interventions or {})
    for w, r in _explore(lambda k: _run(flow, params, k, forced, {}, {}), {}):
        yield World(w, r.success, r.oks, r.choices)


def counterfactual_success(
    flow: Flow,
    tools: Mapping[str, Mapping[str, Any]],
    factual_oks: Mapping[str, bool],
    interventions: Mapping[str, bool],
    *,
    bands: Mapping[str, int] | None = None,
    choices: Mapping[str, str] | None = None,
    fixed: Mapping[str, int] | None = None,
) -> float:
    """Probability that the workflow would have succeeded under ``interventions``, given the
    factual ok pattern.

    Parameters
    ----------
    flow, tools
        The workflow and its tools' parameters.
    factual_oks : dict
        Address -> ok of calls observed in the factual run (the evidence). Calls left out
        are latent and averaged over.
    interventions : dict
        Address -> forced ok (``True`` is ``repair``, ``False`` is ``break_``) of calls or
        sub-agent instances (``main#0/helper#0``).
    bands : dict, optional
        Address -> band of the ok-noise where it is known exactly (see :func:`band` and
        :func:`noise_bands`); with every reachable address known the answer is 0 or 1.
    choices : dict, optional
        Decision address -> the option chosen in the factual run.
    fixed : dict, optional
        Address -> band of the ok-noise *in the intervened world* (the ``fix`` intervention:
        the noise of a call with an own fault, band 2, is moved into band 0 or 1; see
        :func:`fixed_band`).

    Returns
    -------
    float
        ``P(success in the intervened world | evidence)``; addresses reached only by the
        intervened world keep their prior, as in the engine.

    Examples
    --------
    >>> from agentsim import workflow as wf
    >>> flow, tools = wf.seq(wf.call("a"), wf.call("b")), {"a": dict(p_ok=0.5), "b": dict(p_ok=0.8)}
    >>> counterfactual_success(flow, tools, {"main#0/a#0": False}, {"main#0/a#0": True})
    0.8
    """
    params = _params(tools, flow)
    _no_timeouts(params, flow)
    know: dict[tuple[str, str], frozenset[Any]] = {}
    for address, b in (bands or {}).items():
        if b not in (0, 1, 2):
            raise ScenarioError(f"band {b!r} at {address!r} must be 0, 1 or 2")
        know[(address, "ok")] = frozenset([b])
    for address, option in (choices or {}).items():
        know[(address, "choice")] = frozenset([option])
    reached: set[str] = set()

    def replay(k: Mapping[tuple[str, str], frozenset[Any]]) -> bool:
        seen: dict[str, dict[str, float]] = {}
        factual = _run(flow, params, k, {}, factual_oks, seen)
        reached.update(factual.oks)
        return _run(flow, params, k, interventions, {}, seen, fixed).success

    num = den = 0.0
    for w, ok in _explore(replay, know):
        den += w
        num += w if ok else 0.0
    if den == 0.0:
        raise UnanswerableError(
            "the factual ok pattern is impossible under this workflow and these tools"
        )
    stray = sorted(set(factual_oks) - reached)
    if stray:
        raise UnanswerableError(
            f"factual_oks names {stray[0]!r}, which the workflow never reaches"
            f"{suggest(stray[0], reached)}"
        )
    return num / den
