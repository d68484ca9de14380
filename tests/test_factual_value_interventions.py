"""Intervening on a call with its factual value changes nothing (DESIGN section 4).

Forcing a failure on a call that already failed must leave the run identical: same error
text, same value, same downstream behaviour, no difference reported. Before, ``do(X,
ok=False)`` and ``break_(X)`` replaced the call's own error ("api failed") with a note about
the intervention, so an agent that retries only on its tool's own error turned a success
into a failure. A forced failure's provenance is kept as a span attribute instead.
"""

from __future__ import annotations

from typing import Any

import pytest

import agentsim as asim


def retry_on_own_error() -> tuple[asim.Scenario, asim.Run]:
    sc = asim.Scenario("picky-retry")
    api = sc.tool("api", p_ok=0.5, latency=1.0)
    backup = sc.tool("backup", p_ok=1.0, latency=1.0)

    @sc.agent
    def main(ctx):  # type: ignore[no-untyped-def]
        first = yield ctx.call(api)
        if first.ok:
            return first
        if first.error == "api failed":  # only the tool's own failure is worth a fallback
            return (yield ctx.call(backup))
        return first

    run = next(r for r in (sc.run(seed=s) for s in range(50)) if not r.trace.spans[1].ok)
    return sc, run


def spans(run: asim.Run) -> list[dict[str, Any]]:
    return [s.model_dump() for s in run.trace.spans]


@pytest.mark.parametrize(
    "intervention",
    [asim.do("main#0/api#0", ok=False), asim.break_("main#0/api#0"), asim.break_("api")],
    ids=["do-ok-false", "break-address", "break-tool"],
)
def test_forcing_a_failed_call_to_fail_changes_nothing(intervention: Any) -> None:
    _, run = retry_on_own_error()
    assert run.trace.span("main#0/api#0").error == "api failed"
    assert run.outcomes["success"] == 1.0  # the backup saved it
    cf = asim.counterfactual(run, intervention)
    assert not cf.diff(run)
    assert cf.outcomes == run.outcomes
    assert spans(cf) == spans(run)


def test_a_forced_failure_of_a_success_reads_like_the_tools_own_and_says_why() -> None:
    sc = asim.Scenario("forced")
    api = sc.tool("api", p_ok=1.0, latency=1.0)

    @sc.agent
    def main(ctx):  # type: ignore[no-untyped-def]
        return (yield ctx.call(api))

    run = sc.run(seed=0)
    cf = asim.counterfactual(run, asim.break_("main#0/api#0"))
    span = cf.trace.span("main#0/api#0")
    assert (span.ok, span.error) == (False, "api failed")
    assert span.attributes["intervened_by"] == "break(main#0/api#0)"
    assert "intervened_by" not in run.trace.span("main#0/api#0").attributes
