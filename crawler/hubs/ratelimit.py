"""Rate-limit budget per bucket, fed by the IETF ``RateLimit`` headers the hubs send (and by 429s).

Each request spends one unit of its bucket's budget when it is sent; the hub's figures can only lower what is
left within a window (answers arrive out of order, may be slow, or never come), and a new window starts with
the quota less the requests still in flight (the hub will count those in the new window).
"""

from __future__ import annotations

import math
import time
from collections.abc import Mapping
from dataclasses import dataclass, field

from huggingface_hub.utils import parse_ratelimit_headers

#: Extra wait after an announced reset, so that a request never lands just before the window turns.
RESET_MARGIN_S = 0.05
#: Answers slower than this carry figures too old to tell which window they speak of.
STALE_AFTER_S = 1.0
#: How long to wait for news when the budget is spent but the reset time is unknown.
POLL_S = 0.05


@dataclass
class BucketState:
    """What we know of one bucket: quota, budget left in this window, when it resets (monotonic clock)."""

    quota: int | None = None
    window: float | None = None
    remaining: int | None = None  # None: never announced, no limit known
    reset_at: float = 0.0  # 0: unknown
    in_flight: int = 0

    def wait_needed(self, now: float) -> float:
        """Seconds to wait before sending one more request into this bucket (0 when it may go now)."""
        if self.reset_at and now >= self.reset_at:
            self.reset_at = 0.0  # a new window began; the next answer tells when it ends
            if self.quota is not None:
                self.remaining = self.quota - self.in_flight
        if self.remaining is None or self.remaining > 0:
            return 0.0
        return (self.reset_at - now + RESET_MARGIN_S) if self.reset_at else POLL_S

    def spend(self) -> None:
        """One request is being sent."""
        self.in_flight += 1
        if self.remaining is not None:
            self.remaining -= 1

    def done(self) -> None:
        """One request has an answer (or failed)."""
        self.in_flight = max(0, self.in_flight - 1)


@dataclass
class RateLimiter:
    """Per-bucket budget shared by all concurrent requests of one crawl."""

    buckets: dict[str, BucketState] = field(default_factory=dict)

    def state(self, bucket: str) -> BucketState:
        return self.buckets.setdefault(bucket, BucketState())

    def observe(self, bucket: str, headers: Mapping[str, str], *, throttled: bool = False,
                latency: float = 0.0) -> None:
        """Update a bucket from an answer's headers (call after :meth:`BucketState.done`)."""
        st = self.state(bucket)
        now = time.monotonic()
        info = parse_ratelimit_headers(headers)
        if info is not None and latency <= STALE_AFTER_S:
            if info.limit:
                st.quota = info.limit
            if info.window_seconds:
                st.window = float(info.window_seconds)
            reset_at = now + info.reset_in_seconds
            tolerance = min(1.0, (st.window or 2.0) / 2)
            if st.reset_at and abs(reset_at - st.reset_at) < tolerance and st.remaining is not None:
                st.remaining = min(st.remaining, info.remaining)  # the same window: only ever lower
            elif not st.reset_at or reset_at > st.reset_at:
                st.reset_at = reset_at  # a window we had not heard of yet
                st.remaining = info.remaining - st.in_flight
        if throttled:
            st.remaining = min(st.remaining or 0, 0)
            retry_after = _retry_after(headers)
            if retry_after is not None:
                st.reset_at = max(st.reset_at, now + retry_after)
            elif not st.reset_at:
                st.reset_at = now + 1.0


def _retry_after(headers: Mapping[str, str]) -> float | None:
    for key, value in headers.items():
        if key.lower() == "retry-after":
            try:
                return float(math.ceil(float(value)))
            except ValueError:
                return None
    return None
