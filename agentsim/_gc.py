"""The one garbage-collection policy of agentsim (kernel layer; imports nothing of the package):
collect rarely while simulating, freeze what already exists before a fork or a long walk.

A simulation allocates thousands of short-lived objects per run (events, records, results).
With CPython's default young-generation threshold (700 allocations) the collector runs every
few calls and rescans everything alive, which grows with the runs a batch keeps: measured, a
third of a batch's time. Simulated runs create no long-lived cycles, so collecting every
50,000 allocations frees the same memory, later. Objects alive before a fork, or before a
long walk that allocates millions of short-lived objects, move out of the collector's sight
(``gc.freeze``) and are handed back when it ends. A batch being simulated is not frozen as
it goes: its finished sessions are garbage in cycles, which a frozen heap would keep.

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

__all__ = ["YOUNG_THRESHOLD", "collect_rarely", "freeze_existing", "unfreeze"]

YOUNG_THRESHOLD = 50_000
"""Allocations between young-generation collections while simulating."""


def freeze_existing() -> None:
    """Move every object alive now out of the collector's sight (``gc.freeze``): before a
    fork, so that children do not touch (and so copy) the parent's pages; before a long walk
    that allocates millions of short-lived objects. :func:`collect_rarely` with
    ``unfreeze=True`` hands them back."""
    gc.freeze()


def unfreeze() -> None:
    """Hand frozen objects back to the collector (after a fork's workers have finished)."""
    gc.unfreeze()


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
