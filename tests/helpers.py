"""Small scenarios used across the tests."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import agentsim as asim
from agentsim import dist
from agentsim.cli import main

if TYPE_CHECKING:
    import pytest


def run_cli(args: list[str], capsys: pytest.CaptureFixture[str]) -> tuple[int, str, str]:
    """Run the command line in-process: (exit status, standard output, standard error)."""
    try:
        main(args)
        code = 0
    except SystemExit as exc:
        code = int(exc.code or 0)
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def chain(p_oks: list[float], *, latency: Any = 1.0, p_recover: float = 0.0) -> asim.Scenario:
    """A sequential agent calling tools t0..tn-1, each fed the previous result."""
    sc = asim.Scenario("chain")
    tools = [
        sc.tool(f"t{i}", p_ok=p, latency=latency, p_recover=min(p_recover, p))
        for i, p in enumerate(p_oks)
    ]

    @sc.agent
    def main(ctx):  # type: ignore[no-untyped-def]
        prev = None
        for t in tools:
            prev = yield (ctx.call(t, prev) if prev is not None else ctx.call(t))
        return prev

    return sc


def support_desk() -> asim.Scenario:
    """The API.md example."""
    sc = asim.Scenario("support-desk", deadline=30.0, max_steps=10_000)
    lookup = sc.tool("lookup_order", p_ok=0.97, latency=dist.LogNormal(median=0.4, sigma=0.3))
    refund = sc.tool(
        "issue_refund",
        p_ok=0.99,
        latency=dist.Exponential(mean=0.2),
        capacity=2,
        timeout=5.0,
        cost=0.0,
    )
    llm = sc.model("planner", p_ok=0.92, latency=dist.LogNormal(median=1.5, sigma=0.4), cost=0.002)

    @sc.agent
    def support(ctx, ticket="T-1"):  # type: ignore[no-untyped-def]
        order = yield ctx.call(lookup, ticket)
        plan = yield ctx.call(llm, order)
        choice = yield ctx.choose(llm, {"refund": 0.6, "escalate": 0.4}, inputs=[plan])
        if choice.value == "refund":
            done = yield ctx.call(refund, plan)
            return done
        helper = yield ctx.spawn(escalation, plan)
        return helper

    @sc.agent
    def escalation(ctx, plan):  # type: ignore[no-untyped-def]
        a, b = yield ctx.parallel(ctx.call(lookup, plan), ctx.call(llm, plan))
        first = yield ctx.first(ctx.call(llm, a), ctx.call(llm, b))
        yield ctx.wait(0.5)
        return first

    sc.outcome(
        "resolved_fast", lambda run: run.outcomes["success"] and run.outcomes["latency"] < 10
    )
    return sc
