"""A malformed OTLP status code is read as unset and reported, not dropped silently."""

from __future__ import annotations

import json
from pathlib import Path

import agentsim as asim


def otlp_with_status(tmp_path: Path, code: object) -> Path:
    span = {
        "traceId": "0" * 31 + "1",
        "spanId": "0" * 15 + "1",
        "name": "execute_tool search",
        "startTimeUnixNano": "1000000000",
        "endTimeUnixNano": "2000000000",
        "attributes": [{"key": "gen_ai.operation.name", "value": {"stringValue": "execute_tool"}}],
        "status": {"code": code, "message": "it failed"},
    }
    doc = {"resourceSpans": [{"scopeSpans": [{"spans": [span]}]}]}
    path = tmp_path / "trace.json"
    path.write_text(json.dumps(doc))
    return path


def test_a_banana_status_code_warns(tmp_path: Path) -> None:
    trace = asim.load_trace(otlp_with_status(tmp_path, "banana"))
    warnings = trace.attributes.get("warnings") or []
    assert any("'banana' is not an OpenTelemetry status" in str(w) for w in warnings)


def test_a_valid_status_code_does_not_warn(tmp_path: Path) -> None:
    trace = asim.load_trace(otlp_with_status(tmp_path, 2))
    assert not any("status" in str(w) for w in trace.attributes.get("warnings") or [])
    assert not trace.spans[0].ok
