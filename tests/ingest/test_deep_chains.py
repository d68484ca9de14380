"""A trace whose spans form a very deep parent chain imports in linear memory.

Full-path addresses are quadratic in depth (a 20,000-deep chain spells 2 * 10^8 segments), so
past :data:`agentsim.ingest._build.MAX_ADDRESS_DEPTH` levels an address restarts from an
anchor naming its ancestor (``~<index>``); addresses stay unique and bounded.
"""

from __future__ import annotations

from agentsim.ingest._build import MAX_ADDRESS_DEPTH, RawSpan, build_trace


def chain(depth: int) -> list[RawSpan]:
    return [
        RawSpan(
            index=i,
            span_id=f"s{i}",
            parent_id=None if i == 0 else f"s{i - 1}",
            name="step",
            kind="other",
            start_ns=i,
            end_ns=2 * depth - i,
        )
        for i in range(depth)
    ]


def test_a_20000_deep_chain_has_bounded_unique_addresses() -> None:
    trace = build_trace(chain(20_000), source="otlp", trace_id="deep")
    addresses = [s.address for s in trace.spans]
    assert len(set(addresses)) == 20_000
    assert max(a.count("/") for a in addresses) <= MAX_ADDRESS_DEPTH
    # linear: about 64 segments of 7 characters per span, not 10,000 on average
    assert sum(map(len, addresses)) < 20_000 * MAX_ADDRESS_DEPTH * 8


def test_every_span_still_names_its_parent_and_shallow_traces_are_unchanged() -> None:
    trace = build_trace(chain(3 * MAX_ADDRESS_DEPTH), source="otlp", trace_id="deep")
    by_address = {s.address: s for s in trace.spans}
    for s in trace.spans[1:]:
        assert s.parent in by_address
    shallow = build_trace(chain(MAX_ADDRESS_DEPTH), source="otlp", trace_id="shallow")
    deepest = shallow.spans[-1].address
    assert deepest == "/".join(["step#0"] * MAX_ADDRESS_DEPTH)
