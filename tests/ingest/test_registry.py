"""The ingest registry: formats, detection by content, registration, agentsim's own format."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

import agentsim.ingest as ingest
from agentsim.errors import TraceFormatError
from agentsim.ingest import FORMATS, Adapter, detect_format, load_trace, load_traces, register
from agentsim.trace import Span, Trace, save_trace


def test_formats_and_public_surface() -> None:
    assert list(FORMATS) == [
        "agentsim",
        "whowhen",
        "langfuse",
        "openai_agents",
        "jaeger",
        "otlp",
        "langsmith",
        "openinference",
        "otel_sdk",
    ]
    assert sorted(ingest.__all__) == [
        "Adapter",
        "FORMATS",
        "adapters",
        "detect_format",
        "load_trace",
        "load_traces",
        "parse_traces",
        "register",
    ]


def test_detection_ignores_file_names(tmp_path: Path) -> None:
    path = tmp_path / "trace.otlp.json"
    path.write_text(json.dumps({"question": "q", "history": []}))
    assert detect_format(path) == "whowhen"
    with pytest.raises(TraceFormatError, match=r"cannot tell the trace format.*'foo'"):
        detect_format({"foo": 1})


def test_agentsim_round_trip(tmp_path: Path) -> None:
    trace = Trace(trace_id="t", spans=[Span(address="main#0", kind="agent", name="main", end=1.0)])
    path = save_trace(trace, tmp_path / "run.json")
    assert detect_format(path) == "agentsim"
    assert load_trace(path) == trace


def test_unknown_format_and_empty_file(tmp_path: Path) -> None:
    path = tmp_path / "e.json"
    path.write_text("  \n")
    with pytest.raises(TraceFormatError, match="empty"):
        load_trace(path)
    with pytest.raises(TraceFormatError, match="did you mean 'otlp'"):
        load_trace(path, format="otpl")
    with pytest.raises(TraceFormatError, match="cannot read"):
        load_trace(tmp_path / "missing.json")


def test_register_new_format(tmp_path: Path) -> None:
    def read(source: object) -> list[Trace]:
        return [Trace(source="toy")]

    adapter = Adapter(
        name="toy", sniff=lambda obj: isinstance(obj, dict) and "toy" in obj, read=read
    )
    try:
        register(adapter)
        assert "toy" in FORMATS
        path = tmp_path / "x.json"
        path.write_text('{"toy": 1}')
        assert load_trace(path).source == "toy"
    finally:
        ingest._REGISTRY.pop("toy", None)
    assert "toy" not in FORMATS


def test_real_folder_loads_every_file() -> None:
    data = Path(__file__).parents[2].parent / "shared" / "data" / "traces"
    if not data.exists():
        pytest.skip("shared data folder absent")
    traces = load_traces(data)
    # 7 any-agent + 7 Langfuse + 2 LangSmith + 3 Phoenix + 1 Jaeger + 1 Tempo
    assert len(traces) == 21
    for trace in traces:
        assert len(set(trace.addresses())) == len(trace)
        assert all(s.start >= 0.0 and s.end >= s.start for s in trace)
