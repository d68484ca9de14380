"""The HTML report renders in a real browser: headless Chromium, offline.

Each report is opened twice: ``--dump-dom`` after a virtual-time budget (the DOM once the
scripts ran: plotly's SVG charts, the page's chart counter, no script error) and
``--screenshot`` (the page is not blank). Chromium's console goes to stderr with
``--enable-logging``; the report must log nothing there. Skipped when no Chromium is installed
(CI installs Debian's ``chromium``, see ``.ci/run``).
"""

from __future__ import annotations

import os
import re
import shutil
import struct
import subprocess
import zlib
from pathlib import Path

import pytest

import agentsim as asim
from agentsim.scenarios.support_desk import scenario as support_desk

CHROMIUM = next(
    (p for p in map(shutil.which, ("chromium", "chromium-browser", "google-chrome")) if p), None
)
JAEGER = Path(__file__).resolve().parents[1] / "../shared/data/traces/otel_genai_jaeger/helm.json"
FAILED_SEED = 21
"""A support-desk run that fails at its order lookup and takes eight spans down with it."""

pytestmark = [
    pytest.mark.slow,
    # CI installs chromium (.ci/run): there, a missing browser fails instead of skipping
    pytest.mark.skipif(
        CHROMIUM is None and not os.environ.get("CI"), reason="no chromium installed"
    ),
]


def _chromium(page: Path, tmp: Path, *mode: str) -> subprocess.CompletedProcess[str]:
    profile = tmp / f"profile-{len(list(tmp.iterdir()))}"
    profile.mkdir()
    flags = [
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-quic",
        "--no-first-run",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        f"--user-data-dir={profile}",
        "--enable-logging=stderr",
        "--v=0",
        "--hide-scrollbars",
        "--window-size=1280,1600",
        "--virtual-time-budget=15000",
    ]
    assert CHROMIUM is not None
    return subprocess.run(
        [CHROMIUM, *flags, *mode, page.resolve().as_uri()],
        capture_output=True,
        text=True,
        timeout=180,
        check=False,
    )


def _png_pixels(path: Path) -> tuple[int, int, list[bytes]]:
    """Width, height and unfiltered RGBA/RGB rows of a PNG (enough of the format for
    Chromium's screenshots: 8-bit truecolour, no interlace)."""
    data = path.read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    pos, idat = 8, b""
    width = height = channels = 0
    while pos < len(data):
        (length,) = struct.unpack(">I", data[pos : pos + 4])
        kind, body = data[pos + 4 : pos + 8], data[pos + 8 : pos + 8 + length]
        if kind == b"IHDR":
            width, height, depth, color = struct.unpack(">IIBB", body[:10])
            assert depth == 8 and color in (2, 6)
            channels = 4 if color == 6 else 3
        elif kind == b"IDAT":
            idat += body
        pos += 12 + length
    raw = zlib.decompress(idat)
    stride = width * channels
    rows: list[bytes] = []
    prev = bytearray(stride)
    for y in range(height):
        f = raw[y * (stride + 1)]
        line = bytearray(raw[y * (stride + 1) + 1 : (y + 1) * (stride + 1)])
        for i in range(stride):
            a = line[i - channels] if i >= channels else 0
            b = prev[i]
            c = prev[i - channels] if i >= channels else 0
            if f == 1:
                line[i] = (line[i] + a) & 0xFF
            elif f == 2:
                line[i] = (line[i] + b) & 0xFF
            elif f == 3:
                line[i] = (line[i] + (a + b) // 2) & 0xFF
            elif f == 4:
                p = a + b - c
                pa, pb, pc = abs(p - a), abs(p - b), abs(p - c)
                line[i] = (line[i] + (a if pa <= pb and pa <= pc else b if pb <= pc else c)) & 0xFF
        rows.append(bytes(line))
        prev = line
    return width, height, rows


def _check_rendered(page: Path, tmp: Path, must_show: list[str]) -> None:
    html = page.read_text(encoding="utf-8")
    # offline: nothing is loaded from anywhere
    assert not re.search(r"<(script|link|img)[^>]+(src|href)=", html)
    dom = _chromium(page, tmp, "--dump-dom")
    assert dom.returncode == 0, dom.stderr[-2000:]
    charts = re.search(r'<body[^>]*data-charts="(\d+)"', dom.stdout)
    assert charts is not None and int(charts.group(1)) >= 3, "charts did not render"
    assert dom.stdout.count('class="main-svg"') >= 3
    assert re.search(r"<html[^>]*data-errors", dom.stdout) is None, "a script failed"
    console = [ln for ln in dom.stderr.splitlines() if ":CONSOLE" in ln]
    assert console == [], console
    for text in must_show:
        assert text in dom.stdout, text
    shot = tmp / (page.stem + ".png")
    res = _chromium(page, tmp, f"--screenshot={shot}")
    assert res.returncode == 0 and shot.is_file(), res.stderr[-2000:]
    width, height, rows = _png_pixels(shot)
    assert (width, height) == (1280, 1600)
    background = rows[0][:3]
    step = 4 * 8
    inked = sum(
        1 for row in rows[::8] for x in range(0, len(row) - 3, step) if row[x : x + 3] != background
    )
    assert inked > 0.05 * (height // 8) * (width // 8), "the page looks blank"


def test_failed_support_desk_run_renders(tmp_path: Path) -> None:
    run = support_desk.run(seed=FAILED_SEED)
    assert run.outcomes["success"] == 0.0
    root = asim.decisive_error(run)
    assert root is not None and root.address is not None
    page = asim.report(run, tmp_path / "run.html")
    _check_rendered(page, tmp_path, ["This run failed. Root cause", root.address])


@pytest.mark.skipif(not JAEGER.is_file(), reason="shared Jaeger trace not present")
def test_jaeger_trace_renders(tmp_path: Path) -> None:
    trace = asim.load_trace(JAEGER)
    page = asim.report(trace, tmp_path / "jaeger.html")
    failed = [s for s in trace.spans if not s.ok]
    assert failed  # recovered failures are named on the page
    _check_rendered(page, tmp_path, ["This run succeeded (96 spans)", "GET#0"])


def test_batch_report_renders(tmp_path: Path) -> None:
    batch = support_desk.simulate(200, 0)
    page = asim.report(batch, tmp_path / "batch.html")
    _check_rendered(page, tmp_path, ["200 runs of", "success rate", "a failed run"])
