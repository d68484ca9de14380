"""The structural model an imported trace determines: time, errors, cost.

Layer: causal. It imports only from its own layer and the ones below it.

A trace imported from a real agent records *what happened*, not the agent's program, so most
what-if questions about it have no answer: what the LLM would have said had a tool returned
something else is not in the file. Some questions do have an answer, because the trace's
*structure* fixes them. :class:`TraceWorld` is the structural causal model built from that
structure alone. Its exogenous context is the trace itself (every recorded duration, gap,
error and cost); its endogenous variables are each span's start, end, success flag and
whether it runs at all; its equations are:

Time
    A span's *own time* is its duration minus the time its children cover. Siblings under a
    parent are ordered by the recorded times: a span that started after some earlier sibling
    had ended is *sequential*; it starts when the last of those earlier siblings ends, plus
    the recorded gap, held fixed as a delay. A span that overlaps every earlier sibling (or
    has none) is *parallel*; it starts at its parent's start plus its recorded offset. A
    parent ends when the children it waited for (those that ended before it did, or together
    with it, within 1 ms) have ended, plus its recorded tail; children that outlived their
    parent are detached and do not hold it up. A leaf that ends together with spans elsewhere
    in the tree that ran inside it *waits for* them (a stream span that ends with the last
    send, a queue read that returns when the agent enqueues, a tool whose HTTP request was
    recorded under the agent): it ends when they end, plus its recorded offset, whether they
    end sooner or later; the earlier polls of its loop are cut short, or never begin, when
    the awaited event comes first. So a sequence adds up, a fan-out takes its critical path,
    a server waits for the agent it serves, and a counterfactual latency re-propagates
    through these equations, both ways. Outcome ``latency`` is the makespan.

    A ``delay`` (or ``do(latency=...)``) on a span that waits is put where its time is
    spent: longer, on its own tail; shorter, off its tail first, then off its critical path,
    latest time first, down to the leaves (``attributes["time_moved_to"]`` of the
    counterfactual says where). What the path cannot give is refused with an
    :class:`~agentsim.errors.InterventionError` naming the leaves that hold the time. A
    latency that interventions did not move although they moved other spans is *pinned*:
    :meth:`TraceWorld.pinned_by` (and ``attributes["pinned_by"]``) names the span whose
    recorded time sets it.
Errors
    A failed span *recovers* when the next attempt its parent made succeeded: its *retry*
    (the first later sibling of the same name and kind that starts after it ended) or, for
    tool, LLM and agent spans without a retry, its *fallback* (the first later sibling of
    the same kind that starts after it ended, recognised only under a parent recorded as
    ok: a parent that failed shows that nothing made up for the error). A span fails when
    it failed itself, or when a child failed and did not recover. A recorded span whose
    error merely repeats a failed child's is taken to have *propagated* it: it failed
    itself only when its error text is distinct (neither text contains the other, and it
    is not a bare ``error``). A span recorded ok although a child failed without recovering
    *tolerated* that child's error (a polling 404, an error message handed back to the
    LLM), and keeps tolerating it in every counterfactual. The run is a virtual root over
    the top-level spans; outcome ``success`` is its ok, and a run recorded as failed with no
    failed span to blame (a Who&When log, a wrong final answer) failed by its outcome,
    which no repair changes.
Retries
    A retry or fallback runs *because* the attempt before it failed: had that attempt
    succeeded, it would not have run, and its time and cost vanish from the counterfactual.
    The cost a repair saves is the retry cost charged to the error (:meth:`retry_cost`).
Cost and tokens
    Additive over the spans that run: :attr:`~agentsim.trace.Span.cost` and the total of
    ``attributes["tokens"]``. Run-level amounts the spans do not account for stay constant.

Two assumptions carry every answer: behaviour downstream does not change when a duration
changes (a faster tool returns the same result, the agent makes the same next calls), and an
LLM reply is never re-generated. Interventions that need a *different* reply or mechanism
(``resample``, ``replace``, ``set_params``, ``do(value=...)``) raise
:class:`~agentsim.errors.UnanswerableError`: calibrate a scenario from a corpus of traces and
simulate, or replay the step for real.

Examples
--------
>>> import agentsim as asim
>>> from agentsim.trace import Span, Trace
>>> t = Trace(spans=[
...     Span(address="a#0", kind="agent", name="a", start=0, end=6),
...     Span(address="a#0/s#0", kind="tool", name="s", parent="a#0", start=0, end=2),
...     Span(address="a#0/f#0", kind="tool", name="f", parent="a#0", start=2, end=5),
...     Span(address="a#0/g#0", kind="tool", name="g", parent="a#0", start=5, end=6),
... ])
>>> w = TraceWorld(t)
>>> w.outcome([], "latency"), w.outcome([asim.delay("a#0/f#0", -2.0)], "latency")
(6.0, 4.0)
>>> w.outcome([asim.break_("f")], "success")
0.0
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from pydantic import JsonValue

from agentsim.errors import (
    AttributionError,
    UnanswerableError,
    UnknownAddressError,
    suggest,
)
from agentsim.interventions import (
    Break,
    Delay,
    Do,
    Intervention,
    Repair,
    as_interventions,
    is_pattern,
    target_matches,
)
from agentsim.trace import Span, Trace, find_parent_cycle, parent_cycle_error
from agentsim.worlds._trace_equations import (
    ROOT,
    Effects,
    State,
    Timing,
    event_order,
    recovered,
    tokens_of,
    wire_errors,
    wire_joins,
    wire_time,
)
from agentsim.worlds._trace_finite import OUTCOMES, FiniteTrace
from agentsim.worlds._trace_reference import Population, TracePlayers, call_players
from agentsim.worlds._trace_time import holder, route_time, setter

__all__ = ["OUTCOMES", "TraceWorld", "trace_counterfactual"]


_ROUTES = (
    "two honest routes: calibrate a scenario from a corpus of traces and simulate it, or "
    "replay the step for real with a replay function"
)


class TraceWorld(TracePlayers, FiniteTrace):
    """An imported trace as a world: the time, error and cost equations of its structure.

    See the module docstring for the equations and their assumptions. Evaluations are cached
    by the tuple of interventions and counted in ``evaluations``. It is also a
    :class:`~agentsim.worlds.FiniteWorld` whose variables are the success flags of the
    calls and of the spans with an error of their own (domain ``[False, True]``; ``None``
    for a span that does not run in a counterfactual) followed by the outcomes, so
    Halpern-Pearl actual causation applies to traces (:mod:`agentsim._trace_finite`).

    Parameters
    ----------
    trace : Trace
        The factual trace.
    reference : sequence of Trace, optional
        A corpus whose spans give each operation's typical behaviour to the baseline game
        (:meth:`reference`); without one, the stated default is "own time removed".

    Examples
    --------
    >>> import agentsim as asim
    >>> from agentsim.trace import Span, Trace
    >>> t = Trace(spans=[
    ...     Span(address="a#0", kind="agent", name="a", start=0, end=3),
    ...     Span(address="a#0/s#0", kind="tool", name="s", parent="a#0", start=0, end=1,
    ...          ok=False, error="timeout", cost=1.0),
    ...     Span(address="a#0/s#1", kind="tool", name="s", parent="a#0", start=1, end=3,
    ...          cost=1.0),
    ... ])
    >>> w = TraceWorld(t)
    >>> w.outcome([], "success"), w.outcome([asim.break_("a#0/s#1")], "success")
    (1.0, 0.0)
    >>> w.retry_cost("a#0/s#0"), w.outcome([asim.repair("a#0/s#0")], "latency")
    (1.0, 1.0)
    """

    def __init__(self, trace: Trace, reference: Sequence[Trace] | None = None) -> None:
        self.trace = trace
        self.population = Population(reference)
        self.evaluations = 0
        self._cache: dict[tuple[Intervention, ...], State] = {}
        spans = trace.spans
        self._spans = spans
        self._index = {s.address: i for i, s in enumerate(spans)}
        n = len(spans)
        self._parent = [self._index.get(s.parent, ROOT) if s.parent else ROOT for s in spans]
        # A validated trace has no parent cycle, but one made with model_construct (or
        # edited after validation) may, and every walk up the parents below would then loop.
        cycle = find_parent_cycle(self._parent)
        if cycle:
            raise parent_cycle_error([spans[k].address for k in cycle])
        kids: dict[int, list[int]] = {i: [] for i in range(-1, n)}
        for i, p in enumerate(self._parent):
            kids[p].append(i)
        for group in kids.values():
            group.sort(key=lambda i: (spans[i].start, i))
        self._kids = kids
        self._agents = [self._agent_names(i) for i in range(n)]
        self._origin = min((s.start for s in spans), default=0.0)
        # Depth-first events (span, leaving?): children in start order, no recursion.
        self._walk: list[tuple[int, bool]] = []
        stack: list[tuple[int, bool]] = [(c, False) for c in reversed(kids[ROOT])]
        while stack:
            i, done = stack.pop()
            self._walk.append((i, done))
            if not done:
                stack.append((i, True))
                stack.extend((c, False) for c in reversed(kids[i]))
        self._after, self._gap, self._waits, self._tail, self._own = wire_time(
            spans, kids, self._origin
        )
        self._next, self._prevs, self._tolerated, self._own_fail = wire_errors(
            spans, kids, self._walk, trace.outcomes.get("success")
        )
        self._joins = wire_joins(spans, self._parent, kids)
        self._timing = Timing(self._after, self._gap, self._waits, self._tail, self._own)
        self._order = event_order(
            spans, self._parent, kids, self._timing, self._prevs, self._joins, self._walk
        )
        self._waiting = {i for i, w in self._waits.items() if w and i != ROOT}
        self._waiting |= set(self._joins.waits_for)
        self._calls = call_players(spans, self._parent, [not kids[i] for i in range(n)])
        self._first_poll: dict[int, int] = {}
        for c in sorted(self._joins.polls):
            self._first_poll.setdefault(self._joins.polls[c], c)
        self._factual: State | None = None
        self._factual = self._evaluate(Effects({}, {}, {}))
        self._offsets: dict[str, float] = {
            k: float(trace.outcomes[k]) - self._factual.outcomes[k]
            for k in ("latency", "cost")
            if k in trace.outcomes
            and abs(float(trace.outcomes[k]) - self._factual.outcomes[k]) > 1e-9
        }

    # -- construction ----------------------------------------------------------------------
    def _agent_names(self, i: int) -> frozenset[str]:
        names = set()
        if self._spans[i].agent:
            names.add(str(self._spans[i].agent))
        p = self._parent[i]
        while p != ROOT:
            s = self._spans[p]
            if s.kind == "agent":
                names.add(str(s.attributes.get("agent_name") or s.name))
            p = self._parent[p]
        return frozenset(names)

    # -- interventions ---------------------------------------------------------------------
    def _matches(self, iv: Intervention) -> list[int]:
        target = iv.target
        out = []
        for i, s in enumerate(self._spans):
            if target == s.address:
                hit = True  # before globbing: imported addresses may hold '[' or '*'
            elif is_pattern(target) and target != s.name:
                hit = target_matches(target, s.address, s.name, self._agents[i])
            elif iv.agent_result:
                hit = s.kind == "agent" and target in (s.name, s.attributes.get("agent_name"))
            else:
                hit = s.kind != "agent" and (target == s.name or target in self._agents[i])
            if hit:
                out.append(i)
        if not out:
            known = [s.address for s in self._spans] + sorted({s.name for s in self._spans})
            raise UnknownAddressError(
                f"{iv.describe()} matches no span{suggest(target, known)} "
                f"({len(self._spans)} spans in this trace)"
            )
        return out

    def _effects(self, ivs: tuple[Intervention, ...]) -> Effects:
        eff = Effects({}, {}, {})
        for iv in ivs:
            if isinstance(iv, Do) and iv.set_value:
                raise UnanswerableError(
                    f"{iv.describe()}: the trace does not determine what a different value "
                    f"would have led to (the agent's reaction to it was never recorded); "
                    f"{_ROUTES}"
                )
            if iv.kind == "fix":
                # fix removes the span's own fault only: an error it inherited from a failed
                # child stays, and follows the equations (DESIGN section 4).
                eff.fixed.update(self._matches(iv))
                continue
            if not isinstance(iv, Do | Repair | Break | Delay):
                raise UnanswerableError(
                    f"{iv.describe()}: an imported trace records one reply per call, not the "
                    f"mechanism behind it, so it does not determine what a {iv.kind} would "
                    f"have led to; {_ROUTES}"
                )
            for i in self._matches(iv):
                if isinstance(iv, Repair):
                    eff.forced[i] = True
                elif isinstance(iv, Break):
                    eff.forced[i] = False
                elif isinstance(iv, Delay):
                    self._route(eff, iv, i, iv.seconds, None)
                else:
                    if iv.ok is not None:
                        eff.forced[i] = iv.ok
                    if iv.latency is not None:
                        change = iv.latency - self._spans[i].duration
                        self._route(eff, iv, i, change, iv.latency)
                    if iv.cost is not None:
                        eff.cost[i] = iv.cost
        return eff

    def _route(
        self, eff: Effects, iv: Intervention, i: int, change: float, value: float | None
    ) -> None:
        route_time(
            eff,
            iv.describe(),
            i,
            change,
            value,
            self._spans,
            self._timing,
            self._joins,
            self._waiting,
        )

    # -- the equations ---------------------------------------------------------------------
    def _evaluate(self, eff: Effects) -> State:
        spans = self._spans
        n = len(spans)
        runs = [True] * n
        ok = [True] * n
        start = [0.0] * n
        end = [0.0] * n
        joins = self._joins

        def latency_of(i: int, base: float) -> float:
            # A leaf's duration (``set`` replaces it); a waiting span's own time after what
            # it waited for (only ``add`` reaches it: see _route_time).
            value = base
            for how, x in eff.latency.get(i, ()):
                value = x if how == "set" else value + x
            return value

        def arrival(w: int) -> float:
            return max(end[e] for e in joins.waits_for[w]) + latency_of(w, joins.offset[w])

        def enter(c: int) -> None:
            p = self._parent[c]
            # A retry or fallback runs only when every attempt before it ran and failed.
            alive = p == ROOT or runs[p]
            runs[c] = alive and all(runs[q] and not ok[q] for q in self._prevs.get(c, ()))
            frontier = self._after[c]
            if frontier:
                # A skipped attempt takes no time, and neither does its back-off gap.
                start[c] = max(end[s] for s in frontier) + (self._gap[c] if runs[c] else 0.0)
            else:
                start[c] = (self._origin if p == ROOT else start[p]) + self._gap[c]
            w = joins.polls.get(c)
            if w is not None and self._first_poll[w] != c and start[c] >= arrival(w):
                runs[c] = False  # the awaited event came before this poll began
                if frontier:
                    start[c] -= self._gap[c]

        def leave(i: int) -> None:
            if not runs[i]:
                end[i] = start[i]
                return
            waited = self._waits[i]
            if i in joins.waits_for:
                # It ends when what it waits for arrives; arriving before it began (the
                # polls before it cut short), it takes over the poll that received it.
                end[i] = arrival(i)
                start[i] = min(start[i], end[i])
            elif waited:
                tail = latency_of(i, self._tail[i])
                end[i] = max(start[i], max(end[c] for c in waited) + tail)
            else:
                end[i] = start[i] + max(0.0, latency_of(i, spans[i].duration))
                w = joins.polls.get(i)
                if w is not None:
                    end[i] = max(start[i], min(end[i], arrival(w)))
            if i in eff.forced:
                ok[i] = eff.forced[i]
            else:
                ok[i] = self._ok_from_children(i, runs, ok, i in eff.fixed)

        for i, done in self._order:
            if done:
                leave(i)
            else:
                enter(i)
        success = self._ok_from_children(ROOT, runs, ok)
        live = [i for i in range(n) if runs[i]]
        last = max(live, key=lambda i: (end[i], -i), default=None)
        outcomes = {
            "success": float(success),
            "failure": float(not success),
            "latency": (end[last] if last is not None else self._origin) - self._origin,
            "cost": sum(eff.cost.get(i, spans[i].cost) for i in live),
            "tokens": sum(tokens_of(spans[i]) for i in live),
        }
        pinned = None
        before = self._factual
        if (
            before is not None
            and last is not None
            and abs(end[last] - before.end[last]) < 1e-12
            and any(abs(end[i] - before.end[i]) > 1e-12 for i in live)
        ):
            held = holder(self._timing, self._joins, before.end, end, runs)
            pinned = (
                held if held is not None else setter(self._timing, self._joins, last, end, runs)
            )
        return State(tuple(runs), tuple(ok), tuple(start), tuple(end), outcomes, pinned)

    def _ok_from_children(
        self, i: int, runs: list[bool], ok: list[bool], fixed: bool = False
    ) -> bool:
        if i in self._own_fail and not fixed:
            return False
        for c in self._kids[i]:
            if (
                runs[c]
                and not ok[c]
                and c not in self._tolerated
                and not recovered(c, self._next, runs, ok)
            ):
                return False
        return True

    def _state(self, interventions: Sequence[Any]) -> State:
        ivs = as_interventions(list(interventions))
        if not ivs and self._factual is not None:
            return self._factual
        hit = self._cache.get(ivs)
        if hit is None:
            hit = self._evaluate(self._effects(ivs))
            self._cache[ivs] = hit
            self.evaluations += 1
        return hit

    # -- the World protocol ----------------------------------------------------------------
    @property
    def factual(self) -> Trace:
        """The factual trace."""
        return self.trace

    def outcome(self, interventions: Sequence[Any] = (), outcome: str = "success") -> float:
        """Outcome ``outcome`` (one of :data:`OUTCOMES`) under ``interventions``."""
        if outcome not in OUTCOMES:
            raise AttributionError(
                f"unknown outcome {outcome!r}{suggest(outcome, OUTCOMES)}; a trace world "
                f"computes {list(OUTCOMES)}"
            )
        value = self._state(interventions).outcomes[outcome]
        return value + self._offsets.get(outcome, 0.0)

    def pinned_by(self, interventions: Sequence[Any] = ()) -> str | None:
        """The span that pins the latency under ``interventions``, else ``None``.

        The latency is *pinned* when the interventions moved some span's end but not the
        run's: somewhere a span whose input moved kept its end, held by another input the
        change did not reach (a tool waiting for an HTTP request recorded elsewhere, a
        parallel branch with no slack left). The first such holder is returned (else the
        span that sets the latency), so a faster call that shows no gain, or less than it
        saved, says why.

        >>> t = Trace(spans=[
        ...     Span(address="a#0", kind="agent", name="a", start=0, end=5),
        ...     Span(address="a#0/x#0", kind="tool", name="x", parent="a#0", start=0, end=5),
        ...     Span(address="a#0/y#0", kind="tool", name="y", parent="a#0", start=0, end=3),
        ... ])
        >>> import agentsim as asim
        >>> w = TraceWorld(t)
        >>> faster_y = [asim.delay("a#0/y#0", -1.0)]
        >>> w.outcome(faster_y, "latency"), w.pinned_by(faster_y)
        (5.0, 'a#0/x#0')
        """
        pinned = self._state(interventions).pinned_by
        return None if pinned is None else self._spans[pinned].address

    def counterfactual(self, interventions: Sequence[Any] = ()) -> Trace:
        """The counterfactual trace: recomputed times and flags, spans that no longer run
        dropped (listed in ``attributes["skipped"]``), the span that pins its latency, if
        any (``attributes["pinned_by"]``, with a line in ``attributes["warnings"]``), the
        duration changes a delay on a parent was spread over (``attributes["time_moved_to"]``)
        and its ``outcomes``."""
        ivs = as_interventions(list(interventions))
        state = self._state(ivs)
        eff = self._effects(ivs)
        spans: list[Span] = []
        for i, s in enumerate(self._spans):
            if not state.runs[i]:
                continue
            ok = state.ok[i]
            error = s.error if not s.ok else None
            if not ok and (error is None or i in eff.forced):
                error = "broken by intervention" if i in eff.forced else "a child failed"
            update: dict[str, Any] = {
                "start": state.start[i],
                "end": state.end[i],
                "ok": ok,
                "error": None if ok else error,
                "cost": eff.cost.get(i, s.cost),
            }
            spans.append(s.model_copy(update=update))
        skipped = [s.address for i, s in enumerate(self._spans) if not state.runs[i]]
        attrs = dict(self.trace.attributes)
        if skipped:
            attrs["skipped"] = list(skipped)
        if state.pinned_by is not None:
            pin = self._spans[state.pinned_by].address
            attrs["pinned_by"] = pin
            warnings = attrs.get("warnings")
            attrs["warnings"] = [
                *(warnings if isinstance(warnings, list) else []),
                (
                    f"latency pinned by {pin!r}: its end, which the model keeps at its recorded "
                    f"time, sets the run's latency, and these interventions do not move it"
                ),
            ]
        moved = self._spread(ivs, eff)
        if moved:
            attrs["time_moved_to"] = dict(moved)
        return self.trace.model_copy(
            update={
                "spans": spans,
                "outcomes": {k: self.outcome(ivs, k) for k in OUTCOMES},
                "interventions": [iv.describe() for iv in ivs],
                "attributes": attrs,
            }
        )

    def _spread(self, ivs: tuple[Intervention, ...], eff: Effects) -> dict[str, JsonValue]:
        """Where a time intervention on a waiting span (one whose end follows others') was
        put, by address: its own tail and the spans along its critical path."""
        named = [
            i
            for iv in ivs
            if isinstance(iv, Delay) or (isinstance(iv, Do) and iv.latency is not None)
            for i in self._matches(iv)
        ]
        if not any(i in self._waiting for i in named):
            return {}
        out: dict[str, JsonValue] = {}
        for i, changes in sorted(eff.latency.items()):
            total = sum(x for how, x in changes if how == "add")
            if total:
                out[self._spans[i].address] = total
        return out

    def steps(self) -> list[tuple[str, str | None, bool]]:
        """``(address, agent, ok)`` of every non-agent span in trace order; ``ok`` is false
        only for a span that failed itself (an error merely propagated from a child is not a
        step's own error). For a Who&When log the steps are its history entries."""
        return [
            (s.address, s.agent, i not in self._own_fail)
            for i, s in enumerate(self._spans)
            if s.kind != "agent"
        ]

    def own_errors(self) -> list[str]:
        """Spans whose recorded error is their own, in trace order: not explained by a
        failed child (a leaf's error, or a distinct error text above a failed child). These
        are the faults ``fix`` removes and the players of the fault game."""
        return [s.address for i, s in enumerate(self._spans) if i in self._own_fail]

    def faults(self) -> list[str]:
        """The spans that failed on their own (:meth:`own_errors`): the fault game's faults."""
        return self.own_errors()

    def unfixable(self) -> list[str]:
        """None: every own error of a trace can be removed by ``fix``."""
        return []

    def missed_deadline(self) -> bool:
        """False: an imported trace records no deadline of its own."""
        return False

    def null_players(
        self, game: str, outcome: str, players: Mapping[str, Sequence[str]]
    ) -> list[str]:
        """None proven here (the fault game's own rule prunes spans without a fault)."""
        return []

    def inherited_errors(self) -> list[str]:
        """Failed spans whose error only repeats a failed child's: casualties, which
        ``fix`` leaves failed as long as the child fails."""
        return [
            s.address for i, s in enumerate(self._spans) if not s.ok and i not in self._own_fail
        ]

    def failed_itself(self, address: str) -> bool:
        """Whether the span at ``address`` failed on its own (not by propagation)."""
        return self._index_of(address) in self._own_fail

    def tolerated(self, address: str) -> bool:
        """Whether the span's recorded error was tolerated by its parent (never propagates)."""
        return self._index_of(address) in self._tolerated

    def retries(self, address: str) -> list[str]:
        """The later attempts (retries, fallbacks) made because ``address`` failed."""
        out = []
        d = self._next.get(self._index_of(address))
        while d is not None:
            out.append(self._spans[d].address)
            d = self._next.get(d)
        return out

    def retry_cost(self, address: str, outcome: str = "cost") -> float:
        """The cost (or ``tokens``, ``latency``) of the attempts ``address``'s failure caused:
        what repairing it would save."""
        return self.outcome([], outcome) - self.outcome([Repair(target=address)], outcome)

    def own_time(self, address: str) -> float:
        """The span's duration minus the time its children cover."""
        i = self._index_of(address)
        return self._own.get(i, self._spans[i].duration)

    def _index_of(self, address: str) -> int:
        i = self._index.get(address)
        if i is None:
            self.trace.span(address)  # raises with a suggestion
            raise AssertionError(address)  # pragma: no cover
        return i


def trace_counterfactual(trace: Trace, interventions: Sequence[Any]) -> Trace:
    """The counterfactual of an imported trace under ``interventions`` (see
    :class:`TraceWorld`), as a trace with recomputed times, flags and ``outcomes``.

    >>> import agentsim as asim
    >>> t = Trace(spans=[Span(address="a#0", kind="tool", name="a", start=0, end=2)])
    >>> trace_counterfactual(t, [asim.delay("a#0", 1.5)]).outcomes["latency"]
    3.5
    """
    return TraceWorld(trace).counterfactual(interventions)
