"""OTLP export and the GenAI semantic conventions' required and usage attributes.

The GenAI conventions require ``gen_ai.provider.name`` on inference spans (``chat ...``),
and record token usage as ``gen_ai.usage.input_tokens`` / ``gen_ai.usage.output_tokens``.
"""

from __future__ import annotations

from typing import Any

import agentsim as asim
from agentsim.otlp import to_otlp
from agentsim.trace import Trace


def spans_by_name(export: dict[str, Any]) -> dict[str, dict[str, Any]]:
    spans = export["resourceSpans"][0]["scopeSpans"][0]["spans"]
    return {
        s["name"]: {a["key"]: next(iter(a["value"].values())) for a in s["attributes"]}
        for s in spans
    }


def simulated() -> Trace:
    sc = asim.Scenario("genai")
    llm = sc.model("planner", p_ok=1.0, latency=1.0)
    tool = sc.tool("search", p_ok=1.0, latency=0.5)

    @sc.agent
    def main(ctx):  # type: ignore[no-untyped-def]
        yield ctx.call(tool)
        yield ctx.choose(llm, {"a": 1.0, "b": 1.0})
        return (yield ctx.call(llm))

    return sc.run(seed=0).trace


def test_inference_spans_name_their_provider_and_only_they_do() -> None:
    attrs = spans_by_name(to_otlp(simulated()))
    assert attrs["chat planner"]["gen_ai.provider.name"] == "agentsim"
    assert "gen_ai.provider.name" not in attrs["execute_tool search"]
    assert "gen_ai.provider.name" not in attrs["invoke_agent main"]


def test_an_imported_provider_and_token_usage_are_exported_by_the_genai_names() -> None:
    trace = simulated()
    spans = []
    for span in trace.spans:
        if span.kind == "llm":
            extra = {
                "llm.provider": "openai",
                "llm.token_count.prompt": 120,
                "llm.token_count.completion": 30,
            }
            span = span.model_copy(update={"attributes": {**span.attributes, **extra}})
        spans.append(span)
    attrs = spans_by_name(to_otlp(trace.model_copy(update={"spans": spans})))
    chat = attrs["chat planner"]
    assert chat["gen_ai.provider.name"] == "openai"
    assert (chat["gen_ai.usage.input_tokens"], chat["gen_ai.usage.output_tokens"]) in (
        (120, 30),
        ("120", "30"),
    )
