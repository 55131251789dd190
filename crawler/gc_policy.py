"""When CPython's cyclic garbage collector runs a full collection during a long bulk job.

A sweep decodes a page of a thousand records (16K dicts and lists, as many again once parsed) that lives until it
is written. Those objects age through the young generations and count towards the next full collection, which
CPython's default schedule (``gc.get_threshold()`` is ``(700, 10, 10)``) then runs every few pages, each one
traversing every tracked object of the process: on a sweep of 200K records, a quarter of the crawler's CPU
(docs/PERFORMANCE.md). An analysis reading the whole store (a Python tuple per row before polars takes the
columns) is a bulk job of the same kind: 8.9 s of a 1M report's 116 s went to the collector, 6.5 s of it in 13 full
collections. Young collections keep their schedule, so short-lived cyclic garbage is freed as before.
"""

from __future__ import annotations

import gc
import threading
from collections.abc import Iterator
from contextlib import contextmanager

#: Collections of the middle generation between two full collections during a bulk job (CPython's default: 10).
FULL_COLLECTION_EVERY = 1000

_lock = threading.Lock()
_jobs = 0  # bulk jobs running in this process (threads of a service may run several)
_schedule_before: tuple[int, int, int] | None = None


@contextmanager
def rare_full_collections() -> Iterator[None]:
    """Run the block with full collections about a hundred times rarer than by default (also a decorator). The
    previous schedule comes back when the last of the process's bulk jobs ends, whichever thread runs them."""
    global _jobs, _schedule_before
    with _lock:
        if _jobs == 0:
            _schedule_before = gc.get_threshold()
            gc.set_threshold(*_schedule_before[:2], max(_schedule_before[2], FULL_COLLECTION_EVERY))
        _jobs += 1
    try:
        yield
    finally:
        with _lock:
            _jobs -= 1
            if _jobs == 0 and _schedule_before is not None:
                gc.set_threshold(*_schedule_before)
