"""Fixed-window rate limits per bucket (``api``, ``resolvers``, ``pages``), with the Hub's headers."""

from __future__ import annotations

import math
import threading
import time
from dataclasses import dataclass

#: The quota advertised when none is configured (the limiter then never refuses).
UNLIMITED = 1_000_000_000


@dataclass(slots=True)
class Decision:
    """The outcome of one request against its bucket."""

    bucket: str
    allowed: bool
    remaining: int
    reset_in: float
    quota: int
    window: float

    def headers(self) -> dict[str, str]:
        """``RateLimit`` and ``RateLimit-Policy`` as the Hub sends them (IETF draft, integers)."""
        headers = {"RateLimit": f'"{self.bucket}";r={self.remaining};t={max(1, math.ceil(self.reset_in))}',
                   "RateLimit-Policy": f'"fixed window";"{self.bucket}";q={self.quota};w={math.ceil(self.window)}'}
        if not self.allowed:
            headers["Retry-After"] = str(max(1, math.ceil(self.reset_in)))
        return headers


class RateLimiter:
    """Counts requests per bucket in fixed windows aligned on the limiter's start; ``quota=None`` = no limit."""

    def __init__(self, quota: int | None, window: float, clock=time.monotonic):
        self.quota = quota
        self.window = window if window > 0 else 300.0
        self._clock = clock
        self._start = clock()
        self._counts: dict[tuple[str, int], int] = {}
        self._lock = threading.Lock()

    def take(self, bucket: str) -> Decision:
        """Count one request in ``bucket`` and say whether it is allowed."""
        elapsed = self._clock() - self._start
        index = int(elapsed // self.window)
        reset_in = self.window * (index + 1) - elapsed
        with self._lock:
            used = self._counts.get((bucket, index), 0) + 1
            self._counts[(bucket, index)] = used
            for key in [k for k in self._counts if k[1] < index]:
                del self._counts[key]
        quota = UNLIMITED if self.quota is None else self.quota
        return Decision(bucket, used <= quota, max(0, quota - used), reset_in, quota, self.window)
