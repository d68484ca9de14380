"""The one garbage-collection policy of agentsim (kernel layer; imports nothing of the package).

A simulation allocates thousands of short-lived objects per run (events, records, results).
With CPython's default young-generation threshold (700 allocations) the collector runs every
few calls and rescans everything alive, which grows with the runs a batch keeps: measured, a
third of a batch's time. Simulated runs create no long-lived cycles, so collecting every
50,000 allocations frees the same memory, later. A batch also moves finished runs out of the
collector's sight (``gc.freeze``) as it goes; they are handed back when it ends.

>>> import gc
>>> before = gc.get_threshold()
>>> with collect_rarely():
...     gc.get_threshold()[0] >= YOUNG_THRESHOLD
True
>>> gc.get_threshold() == before
True
"""

from __future__ import annotations

import gc
from collections.abc import Iterator
from contextlib import contextmanager

__all__ = ["YOUNG_THRESHOLD", "collect_rarely"]

YOUNG_THRESHOLD = 50_000
"""Allocations between young-generation collections while simulating."""


@contextmanager
def collect_rarely(*, unfreeze: bool = False) -> Iterator[None]:
    """Raise the young-generation threshold to :data:`YOUNG_THRESHOLD` (never lower it) while
    the block runs, then restore it; with ``unfreeze=True`` also hand back to the collector
    the objects a batch froze with ``gc.freeze()``."""
    old = gc.get_threshold()
    if old[0] < YOUNG_THRESHOLD:
        gc.set_threshold(YOUNG_THRESHOLD, old[1], old[2])
    try:
        yield
    finally:
        gc.set_threshold(*old)
        if unfreeze:
            gc.unfreeze()
