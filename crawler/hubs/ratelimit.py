"""Rate-limit state per bucket, fed by the IETF ``RateLimit`` headers the hubs send (and by 429s)."""

from __future__ import annotations

import math
import time
from collections.abc import Mapping
from dataclasses import dataclass, field

from huggingface_hub.utils import parse_ratelimit_headers

#: Answers slower than this carry rate-limit figures too old to open a new window with.
STALE_AFTER_S = 1.0
#: Extra wait after an announced reset, so that a request never lands just before the window turns.
RESET_MARGIN_S = 0.05


@dataclass
class BucketState:
    """What we know of one bucket: the quota, what is left, and when the window resets (monotonic clock)."""

    quota: int | None = None
    remaining: int | None = None
    reset_at: float = 0.0
    in_flight: int = 0

    def wait_needed(self, now: float) -> float:
        """Seconds to wait before sending one more request into this bucket (0 when it may go now)."""
        if now >= self.reset_at:
            if self.reset_at:
                self.remaining = self.quota  # a new window began: the full quota (None if never announced)
                self.reset_at = 0.0
            return 0.0
        if self.remaining is not None and self.remaining - self.in_flight <= 0:
            return self.reset_at - now + RESET_MARGIN_S
        return 0.0


@dataclass
class RateLimiter:
    """Per-bucket budget shared by all concurrent requests of one crawl."""

    buckets: dict[str, BucketState] = field(default_factory=dict)

    def state(self, bucket: str) -> BucketState:
        return self.buckets.setdefault(bucket, BucketState())

    def observe(self, bucket: str, headers: Mapping[str, str], *, throttled: bool = False,
                latency: float = 0.0) -> None:
        """Update a bucket from an answer's headers; a 429 empties the bucket until the reset.

        The server wrote the headers somewhere during ``latency`` seconds: a slow answer's figures may belong to
        a window that has already turned, so they may only lower the budget of the current window.
        """
        st = self.state(bucket)
        now = time.monotonic()
        info = parse_ratelimit_headers(headers)
        if info is not None:
            reset_at = now + info.reset_in_seconds
            same_window = st.reset_at and abs(reset_at - st.reset_at) < 1.0 and st.remaining is not None
            if latency > STALE_AFTER_S and not same_window:
                info = None  # too old to tell which window it speaks of
        if info is not None:
            # Answers arrive out of order: within one window the smallest remaining is the freshest.
            st.remaining = min(st.remaining, info.remaining) if same_window else info.remaining  # type: ignore[type-var]
            st.reset_at = reset_at if not same_window else st.reset_at
            if info.limit:
                st.quota = info.limit
        if throttled:
            st.remaining = 0
            retry_after = _retry_after(headers)
            if retry_after is not None:
                st.reset_at = max(st.reset_at, now + retry_after)
            elif info is None:
                st.reset_at = max(st.reset_at, now + 1.0)


def _retry_after(headers: Mapping[str, str]) -> float | None:
    for key, value in headers.items():
        if key.lower() == "retry-after":
            try:
                return float(math.ceil(float(value)))
            except ValueError:
                return None
    return None
