"""fix(): an intervention on a call's own noise, checked against the noise field directly."""

from __future__ import annotations

import pytest

import agentsim as asim
from agentsim import dist, noise
from agentsim.errors import InterventionError
from agentsim.interventions import Fix


def _chain(p_a: float = 0.5, p_b: float = 0.9, p_recover: float = 0.0) -> asim.Scenario:
    sc = asim.Scenario("chain")
    a = sc.tool("a", p_ok=p_a)
    b = sc.tool("b", p_ok=p_b, p_recover=p_recover)
    c = sc.tool("c", p_ok=0.9)

    @sc.agent
    def main(ctx):  # type: ignore[no-untyped-def]
        x = yield ctx.call(a)
        y = yield ctx.call(b, x)
        return (yield ctx.call(c, y))

    return sc


def _u(seed: int, address: str, slot: str = "ok") -> float:
    return noise.uniform(seed, address, slot)


def _seed(pred) -> int:  # type: ignore[no-untyped-def]
    return next(s for s in range(10_000) if pred(s))


def _spans_json(run: asim.Run) -> str:
    return run.trace.model_dump_json(include={"spans", "outcomes"})


def test_fix_on_root_saves_chain_and_on_casualty_is_noop() -> None:
    sc = _chain()
    # a fails on its own; b and c would succeed given good inputs (casualties)
    seed = _seed(
        lambda s: (
            _u(s, "main#0/a#0") >= 0.5 and _u(s, "main#0/b#0") < 0.9 and _u(s, "main#0/c#0") < 0.9
        )
    )
    run = sc.run(seed=seed)
    assert run.outcomes["success"] == 0.0
    assert run.trace.span("main#0/b#0").error == "b failed (bad input)"
    for casualty in ("main#0/b#0", "main#0/c#0"):
        cf = asim.counterfactual(run, asim.fix(casualty))
        assert _spans_json(cf) == _spans_json(run)
    saved = asim.counterfactual(run, asim.fix("main#0/a#0"))
    assert saved.outcomes["success"] == 1.0
    # the noise map, computed by hand: u' = p (u - p) / (1 - p)
    u = _u(seed, "main#0/a#0")
    assert saved.trace.span("main#0/a#0").noise["ok"] == pytest.approx(0.5 * (u - 0.5) / 0.5)
    # repair, by contrast, saves the run at either casualty too
    for casualty in ("main#0/b#0", "main#0/c#0"):
        assert asim.counterfactual(run, asim.repair(casualty)).outcomes["success"] == 1.0


def test_fix_on_a_call_that_did_not_fail_is_byte_identical() -> None:
    sc = _chain()
    seed = _seed(lambda s: _u(s, "main#0/a#0") < 0.5 and _u(s, "main#0/b#0") >= 0.9)
    run = sc.run(seed=seed)
    cf = asim.counterfactual(run, asim.fix("main#0/a#0"))
    assert _spans_json(cf) == _spans_json(run)
    # and by tool name, over every call of a tool that succeeded
    assert _spans_json(asim.counterfactual(run, asim.fix("a"))) == _spans_json(run)


def test_fixed_call_with_bad_inputs_follows_its_mechanism() -> None:
    # both a and b failed on their own; b also had a bad input
    sc = _chain()
    seed = _seed(
        lambda s: (
            _u(s, "main#0/a#0") >= 0.5 and _u(s, "main#0/b#0") >= 0.9 and _u(s, "main#0/c#0") < 0.9
        )
    )
    run = sc.run(seed=seed)
    # p_recover = 0: fixing b alone leaves it failing on its bad input
    only_b = asim.counterfactual(run, asim.fix("main#0/b#0"))
    assert only_b.trace.span("main#0/b#0").error == "b failed (bad input)"
    assert only_b.outcomes["success"] == 0.0
    assert asim.counterfactual(run, asim.fix("main#0/a#0")).outcomes["success"] == 0.0
    both = asim.counterfactual(run, [asim.fix("main#0/a#0"), asim.fix("main#0/b#0")])
    assert both.outcomes["success"] == 1.0


@pytest.mark.parametrize("recover", [True, False])
def test_fixed_call_recovers_from_bad_input_exactly_when_mapped_noise_is_below_p_recover(
    recover: bool,
) -> None:
    p_b, p_rec = 0.8, 0.3
    sc = _chain(p_b=p_b, p_recover=p_rec)

    def mapped(s: int) -> float:
        u = _u(s, "main#0/b#0")
        return p_b * (u - p_b) / (1 - p_b)

    seed = _seed(
        lambda s: (
            _u(s, "main#0/a#0") >= 0.5
            and _u(s, "main#0/b#0") >= p_b
            and (mapped(s) < p_rec) == recover
            and _u(s, "main#0/c#0") < 0.9
        )
    )
    run = sc.run(seed=seed)
    cf = asim.counterfactual(run, asim.fix("main#0/b#0"))
    assert cf.trace.span("main#0/b#0").ok is recover
    assert cf.outcomes["success"] == float(recover)


def test_fix_removes_an_own_timeout_but_keeps_the_call_noise_order() -> None:
    sc = asim.Scenario("slow")
    lat = dist.Exponential(mean=1.0)
    t = sc.tool("t", latency=lat, timeout=1.5)

    @sc.agent
    def main(ctx):  # type: ignore[no-untyped-def]
        return (yield ctx.call(t))

    seed = _seed(lambda s: lat.ppf(_u(s, "main#0/t#0", "latency")) > 1.5)
    run = sc.run(seed=seed)
    assert run.trace.span("main#0/t#0").error == "timeout after 1.5s"
    cf = asim.counterfactual(run, asim.fix("main#0/t#0"))
    c = lat.cdf(1.5)
    u = _u(seed, "main#0/t#0", "latency")
    span = cf.trace.span("main#0/t#0")
    assert span.ok and span.noise["latency"] == pytest.approx(c * (u - c) / (1 - c))
    assert span.end - span.start == pytest.approx(lat.ppf(c * (u - c) / (1 - c)))
    assert span.end - span.start < 1.5


def test_fix_on_custom_mechanism_needs_a_declared_success_region() -> None:
    sc = asim.Scenario("custom")

    def mech(inputs, u):  # type: ignore[no-untyped-def]
        return {"ok": u["ok"] < 0.6}

    t = sc.tool("t", mechanism=mech)

    @sc.agent
    def main(ctx):  # type: ignore[no-untyped-def]
        return (yield ctx.call(t))

    seed = _seed(lambda s: _u(s, "main#0/t#0") >= 0.6)
    run = sc.run(seed=seed)
    with pytest.raises(InterventionError, match="success_region"):
        asim.counterfactual(run, asim.fix("main#0/t#0"))
    with pytest.raises(InterventionError, match="success_region"):
        asim.counterfactual(run, asim.fix("t"))
    mech.success_region = {"ok": 0.6}  # type: ignore[attr-defined]
    assert asim.counterfactual(run, asim.fix("main#0/t#0")).outcomes["success"] == 1.0


def test_fix_leaves_choices_alone_and_refuses_agent_results() -> None:
    sc = asim.Scenario("choice")
    m = sc.model("m", p_ok=0.5)

    @sc.agent
    def main(ctx):  # type: ignore[no-untyped-def]
        pick = yield ctx.choose(m, {"x": 0.5, "y": 0.5})
        return pick.value == "x"

    for seed in range(5):
        run = sc.run(seed=seed)
        assert _spans_json(asim.counterfactual(run, asim.fix("m"))) == _spans_json(run)
    with pytest.raises(ValueError, match="no noise of its own"):
        Fix(target="main", agent_result=True)


def test_fix_serialises_and_describes() -> None:
    iv = asim.fix("*/b#*")
    assert iv.describe() == "fix(*/b#*)"
    assert Fix.model_validate_json(iv.model_dump_json()) == iv
