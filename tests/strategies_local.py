"""A small generator of random agent programs for the counterfactual property tests."""

from __future__ import annotations

from typing import Any

from hypothesis import strategies as st

import agentsim as asim
from agentsim import dist


@st.composite
def programs(draw: Any, *, max_steps: int = 5) -> asim.Scenario:
    """A random sequential agent over 2-4 tools: plain calls, retries, fallbacks, parallel
    pairs and a sub-agent, each step fed the previous result."""
    n_tools = draw(st.integers(2, 4))
    sc = asim.Scenario("prog")
    tools = []
    for i in range(n_tools):
        p_ok = draw(st.sampled_from([0.3, 0.5, 0.7, 0.9]))
        p_rec = draw(st.sampled_from([0.0, 0.0, 0.2]))
        lat = draw(st.sampled_from([1.0, dist.Exponential(mean=1.0)]))
        tools.append(sc.tool(f"t{i}", p_ok=p_ok, p_recover=min(p_rec, p_ok), latency=lat))
    steps = draw(
        st.lists(
            st.tuples(
                st.sampled_from(["call", "retry", "fallback", "par", "sub", "first"]),
                st.integers(0, n_tools - 1),
                st.integers(0, n_tools - 1),
            ),
            min_size=1,
            max_size=max_steps,
        )
    )

    @sc.agent
    def main(ctx):  # type: ignore[no-untyped-def]
        prev = None
        for kind, i, j in steps:
            args = (prev,) if prev is not None else ()
            if kind == "call":
                prev = yield ctx.call(tools[i], *args)
            elif kind == "retry":
                for _ in range(3):
                    prev = yield ctx.call(tools[i], *args)
                    if prev.ok:
                        break
            elif kind == "fallback":
                prev = yield ctx.call(tools[i], *args)
                if not prev.ok:
                    prev = yield ctx.call(tools[j], *args)
            elif kind == "par":
                a, b = yield ctx.parallel(ctx.call(tools[i], *args), ctx.call(tools[j], *args))
                prev = a if a.ok and b.ok else (a if not a.ok else b)
            elif kind == "first":
                prev = yield ctx.first(ctx.call(tools[i], *args), ctx.call(tools[j], *args))
            else:
                prev = yield ctx.spawn(helper, i, j, *args)
        return prev

    @sc.agent
    def helper(ctx, i, j, *args):  # type: ignore[no-untyped-def]
        x = yield ctx.call(tools[i], *args)
        return (yield ctx.call(tools[j], x))

    return sc
