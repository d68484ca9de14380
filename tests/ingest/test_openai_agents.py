"""OpenAI Agents SDK exports (no real file is available: synthetic exports)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from agentsim.errors import TraceFormatError
from agentsim.ingest import detect_format, load_trace, parse_traces


def _span(
    sid: str,
    parent: str | None,
    start: str,
    end: str,
    data: dict[str, object],
    error: object = None,
) -> dict[str, object]:
    return {
        "object": "trace.span",
        "id": sid,
        "trace_id": "trace_1",
        "parent_id": parent,
        "started_at": f"2025-03-01T12:00:{start}Z",
        "ended_at": f"2025-03-01T12:00:{end}Z",
        "span_data": data,
        "error": error,
    }


EXPORT = {
    "data": [
        {"object": "trace", "id": "trace_1", "workflow_name": "Customer service"},
        _span(
            "span_1",
            None,
            "00.000",
            "03.000",
            {"type": "agent", "name": "Triage", "handoffs": ["Refunds"], "tools": ["lookup"]},
        ),
        _span(
            "span_2",
            "span_1",
            "00.100",
            "01.000",
            {
                "type": "generation",
                "model": "gpt-4o",
                "usage": {"input_tokens": 50, "output_tokens": 7},
            },
        ),
        _span(
            "span_3",
            "span_1",
            "01.000",
            "01.500",
            {"type": "function", "name": "lookup", "input": "{}", "output": "not found"},
            error={"message": "Error running tool", "data": {}},
        ),
        _span(
            "span_4",
            "span_1",
            "01.600",
            "01.600",
            {"type": "handoff", "from_agent": "Triage", "to_agent": "Refunds"},
        ),
        _span("span_5", None, "03.000", "05.000", {"type": "agent", "name": "Refunds"}),
        _span(
            "span_6", "span_5", "03.100", "04.000", {"type": "response", "response_id": "resp_1"}
        ),
        _span("span_7", "span_5", "04.000", "04.500", {"type": "function", "name": "Triage"}),
    ]
}


def test_export_kinds_errors_handoff(tmp_path: Path) -> None:
    path = tmp_path / "export.json"
    path.write_text(json.dumps(EXPORT))
    assert detect_format(path) == "openai_agents"
    trace = load_trace(path)
    assert trace.attributes["workflow_name"] == "Customer service"
    got = [(s.address, s.kind, s.agent) for s in trace]
    assert got == [
        ("Triage#0", "agent", "Triage"),
        ("Triage#0/generation#0", "llm", "Triage"),
        ("Triage#0/lookup#0", "tool", "Triage"),
        ("Triage#0/handoff#0", "other", "Triage"),
        ("Refunds#0", "agent", "Refunds"),
        ("Refunds#0/response#0", "llm", "Refunds"),
        ("Refunds#0/Triage#0", "agent", "Triage"),
    ]
    assert trace.span("Triage#0/lookup#0").error == "Error running tool"
    assert trace.span("Triage#0/handoff#0").attributes["handoff_to"] == "Refunds"
    refunds = trace.span("Refunds#0")
    assert refunds.attributes["subagent"] is True and refunds.attributes["handoff_from"] == "Triage"
    as_tool = trace.span("Refunds#0/Triage#0")
    assert as_tool.attributes["invoked_as"] == "tool" and as_tool.attributes["subagent"] is True
    assert trace.span("Triage#0/generation#0").attributes["tokens"] == {
        "input": 50,
        "output": 7,
        "total": 57,
    }
    assert trace.outcomes == {"success": 1.0, "latency": 5.0, "cost": 0.0}


def test_jsonl_items_and_bad_time(tmp_path: Path) -> None:
    path = tmp_path / "spans.jsonl"
    path.write_text("\n".join(json.dumps(item) for item in EXPORT["data"]))  # type: ignore[union-attr]
    assert len(load_trace(path)) == 7
    bad = {"data": [_span("s", None, "00", "01", {"type": "agent", "name": "A"})]}
    bad["data"][0]["started_at"] = "not a time"
    with pytest.raises(TraceFormatError, match=r"data\[0\]: field 'started_at'"):
        parse_traces(bad)
