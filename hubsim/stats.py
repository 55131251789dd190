"""Request counters of the simulator, readable over ``GET /_sim/stats``."""

from __future__ import annotations

import threading
import time
from collections import Counter
from typing import Any


class Stats:
    """Thread-safe counts of answers by bucket, route, status and injected fault."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.reset()

    def reset(self) -> None:
        with self._lock:
            self.started = time.monotonic()
            self.buckets: Counter[str] = Counter()
            self.routes: Counter[str] = Counter()
            self.statuses: Counter[str] = Counter()
            self.bucket_statuses: dict[str, Counter[str]] = {}
            self.faults: Counter[str] = Counter()
            self.rate_limited = 0
            self.spans: dict[str, list[float]] = {}  # bucket → [first request received, last answer]

    def record(self, bucket: str, route: str, status: int | None, fault: str | None, received: float) -> None:
        """Count one answer to a request ``received`` at that ``time.monotonic()``; ``status`` is None for a dropped
        connection."""
        code = "dropped" if status is None else str(status)
        with self._lock:
            span = self.spans.setdefault(bucket, [received, received])
            span[1] = time.monotonic()
            self.buckets[bucket] += 1
            self.routes[route] += 1
            self.statuses[code] += 1
            self.bucket_statuses.setdefault(bucket, Counter())[code] += 1
            if fault:
                self.faults[fault] += 1
            if status == 429:
                self.rate_limited += 1

    def snapshot(self) -> dict[str, Any]:
        with self._lock:
            return {
                "requests": sum(self.buckets.values()),
                "seconds": round(time.monotonic() - self.started, 3),
                "by_bucket": dict(self.buckets),
                "by_route": dict(self.routes),
                "by_status": dict(self.statuses),
                "by_bucket_status": {b: dict(c) for b, c in self.bucket_statuses.items()},
                "faults": dict(self.faults),
                "rate_limited": self.rate_limited,
                # from the first request of a bucket to its last answer: a listing's chain of pages, as a client's
                # wall time without its start-up and what it does after the last page
                "span_s_by_bucket": {b: round(last - first, 3) for b, (first, last) in self.spans.items()},
            }
