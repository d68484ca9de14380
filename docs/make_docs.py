"""Build docs/example-report.html (a failed support-desk run) and its screenshot.

Run with ``make docs``; the screenshot needs Chromium (``apt-get install chromium``).
"""

from __future__ import annotations

import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

import agentsim as asim
from agentsim.scenarios.support_desk import scenario

DOCS = Path(__file__).resolve().parent
SEED = 21  # fails at its order lookup, taking eight spans down with it


def main() -> int:
    page = asim.report(scenario.run(seed=SEED), DOCS / "example-report.html")
    print(f"wrote {page}")
    chromium = shutil.which("chromium") or shutil.which("chromium-browser")
    if chromium is None:
        print("no chromium: screenshot not taken", file=sys.stderr)
        return 1
    with tempfile.TemporaryDirectory() as profile:
        subprocess.run(
            [
                chromium,
                "--headless",
                "--no-sandbox",
                "--disable-gpu",
                "--disable-quic",
                "--no-first-run",
                "--disable-background-networking",
                "--disable-component-update",
                "--disable-sync",
                f"--user-data-dir={profile}",
                "--hide-scrollbars",
                "--window-size=1200,1750",
                "--virtual-time-budget=15000",
                f"--screenshot={DOCS / 'report-screenshot.png'}",
                page.as_uri(),
            ],
            check=True,
            capture_output=True,
        )
    print(f"wrote {DOCS / 'report-screenshot.png'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
