"""Benchmark: import a 100k-span OTLP JSON Lines file; report time and peak memory.

The OTLP reader streams JSON Lines one export at a time, so peak memory is set by the trace
being built, not by the JSON text. Target: peak traced memory below 10x the file size.

Run with ``python benchmarks/bench_ingest.py [n_spans]``.
"""

from __future__ import annotations

import json
import sys
import tempfile
import time
import tracemalloc
from pathlib import Path

from agentsim.ingest import load_traces

SPANS_PER_LINE = 100
SPANS_PER_TRACE = 1000


def _attr(key: str, value: object) -> dict[str, object]:
    if isinstance(value, int):
        return {"key": key, "value": {"intValue": str(value)}}
    return {"key": key, "value": {"stringValue": str(value)}}


def _span(i: int) -> dict[str, object]:
    trace, k = divmod(i, SPANS_PER_TRACE)
    start = 1_700_000_000_000_000_000 + i * 1_000_000
    if k == 0:
        parent, name, attrs = (
            "",
            "invoke_agent support",
            [_attr("gen_ai.operation.name", "invoke_agent"), _attr("gen_ai.agent.name", "support")],
        )
    elif k % 2:
        parent, name, attrs = (
            f"{trace * SPANS_PER_TRACE + 1:016x}",
            "chat gpt-4o",
            [
                _attr("gen_ai.operation.name", "chat"),
                _attr("gen_ai.request.model", "gpt-4o"),
                _attr("gen_ai.usage.input_tokens", 120 + k),
                _attr("gen_ai.usage.output_tokens", 30),
            ],
        )
    else:
        parent, name, attrs = (
            f"{trace * SPANS_PER_TRACE + 1:016x}",
            "execute_tool lookup",
            [_attr("gen_ai.operation.name", "execute_tool"), _attr("gen_ai.tool.name", "lookup")],
        )
    return {
        "traceId": f"{trace + 1:032x}",
        "spanId": f"{i + 1:016x}",
        "parentSpanId": parent,
        "name": name,
        "kind": 1,
        "startTimeUnixNano": str(start),
        "endTimeUnixNano": str(start + (SPANS_PER_TRACE * 1_000_000 if k == 0 else 900_000)),
        "attributes": attrs,
        "status": {"code": 2, "message": "timeout"} if k % 97 == 0 and k else {},
    }


def write_file(path: Path, n_spans: int) -> None:
    with path.open("w", encoding="utf-8") as fh:
        for first in range(0, n_spans, SPANS_PER_LINE):
            spans = [_span(i) for i in range(first, min(first + SPANS_PER_LINE, n_spans))]
            export = {
                "resourceSpans": [
                    {
                        "resource": {"attributes": [_attr("service.name", "bench")]},
                        "scopeSpans": [{"scope": {"name": "bench"}, "spans": spans}],
                    }
                ]
            }
            fh.write(json.dumps(export, separators=(",", ":")) + "\n")


def main(n_spans: int = 100_000) -> None:
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "spans.jsonl"
        write_file(path, n_spans)
        size = path.stat().st_size
        tracemalloc.start()
        begin = time.perf_counter()
        traces = load_traces(path)
        elapsed = time.perf_counter() - begin
        _, peak = tracemalloc.get_traced_memory()
        tracemalloc.stop()
    spans = sum(len(t) for t in traces)
    print(f"file: {size / 1e6:.1f} MB, {n_spans} spans in {len(traces)} traces ({spans} imported)")
    print(f"time: {elapsed:.2f} s ({n_spans / elapsed:,.0f} spans/s; tracemalloc slows this)")
    print(f"peak memory: {peak / 1e6:.1f} MB = {peak / size:.1f}x the file size (target < 10x)")


if __name__ == "__main__":
    main(int(sys.argv[1]) if len(sys.argv) > 1 else 100_000)
