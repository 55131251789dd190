"""When CPython's cyclic garbage collector runs a full collection during a long bulk job.

A sweep decodes a page of a thousand records (16K dicts and lists, as many again once parsed) that lives until it
is written. Those objects age through the young generations and count towards the next full collection, which
CPython's default schedule (``gc.get_threshold()`` is ``(700, 10, 10)``) then runs every few pages, each one
traversing every tracked object of the process: on a sweep of 200K records, a quarter of the crawler's CPU
(docs/PERFORMANCE.md). Young collections keep their schedule, so short-lived cyclic garbage is freed as before.
"""

from __future__ import annotations

import gc
from collections.abc import Iterator
from contextlib import contextmanager

#: Collections of the middle generation between two full collections during a bulk job (CPython's default: 10).
FULL_COLLECTION_EVERY = 1000


@contextmanager
def rare_full_collections() -> Iterator[None]:
    """Run the block with full collections about a hundred times rarer than by default; the previous schedule
    comes back afterwards."""
    before = gc.get_threshold()
    gc.set_threshold(before[0], before[1], max(before[2], FULL_COLLECTION_EVERY))
    try:
        yield
    finally:
        gc.set_threshold(*before)
