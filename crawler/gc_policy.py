"""When CPython's cyclic garbage collector runs during a long bulk job.

A sweep decodes a page of a thousand records (16K dicts and lists, as many again once parsed) that lives until it
is written. CPython's default schedule (``gc.get_threshold()`` is ``(700, 10, 10)``) collects the young generation
every 700 objects allocated and not yet freed, so each page's objects are traversed by a young collection or two
while they live: 10 % of the page writer's CPU (docs/PERFORMANCE.md, "The page writer's young collections; …").
They then age into the old generation and set off a full collection every few pages, each one traversing every
tracked object of the process: on a sweep of 200K records, a quarter of the crawler's CPU. An analysis reading the
whole store (a Python tuple per row before polars takes the columns) is a bulk job of the same kind: 8.9 s of a 1M
report's 116 s went to the collector, 6.5 s of it in 13 full collections.

Inside a bulk job the young generation is collected once :data:`YOUNG_COLLECTION_AFTER` objects are allocated and
not freed, which a page never reaches (its objects are freed by their reference counts when it is written), and a
full collection runs a hundred times more rarely. Cyclic garbage is still collected, a few megabytes later.
"""

from __future__ import annotations

import gc
import threading
from collections.abc import Iterator
from contextlib import contextmanager

#: Objects allocated and not yet freed before a young collection during a bulk job (CPython's default: 700).
YOUNG_COLLECTION_AFTER = 100_000
#: Collections of the middle generation between two full collections during a bulk job (CPython's default: 10).
FULL_COLLECTION_EVERY = 1000

_lock = threading.Lock()
_jobs = 0  # bulk jobs running in this process (threads of a service may run several)
_schedule_before: tuple[int, int, int] | None = None


@contextmanager
def rare_collections() -> Iterator[None]:
    """Run the block with the collector's schedule of a bulk job (also a decorator). The previous schedule comes
    back when the last of the process's bulk jobs ends, whichever thread runs them."""
    global _jobs, _schedule_before
    with _lock:
        if _jobs == 0:
            _schedule_before = young, middle, old = gc.get_threshold()
            gc.set_threshold(max(young, YOUNG_COLLECTION_AFTER), middle, max(old, FULL_COLLECTION_EVERY))
        _jobs += 1
    try:
        yield
    finally:
        with _lock:
            _jobs -= 1
            if _jobs == 0 and _schedule_before is not None:
                gc.set_threshold(*_schedule_before)
