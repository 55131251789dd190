"""Seeded fault injection: which answers become a 5xx, a slow answer, a dropped connection or a cut body."""

from __future__ import annotations

import random
import threading

#: Every fault kind; ``truncate`` only applies to JSON bodies.
FAULT_KINDS = ("500", "502", "503", "slow", "drop", "truncate")


class FaultInjector:
    """Replaces a share ``rate`` of the eligible answers with a fault chosen uniformly from the kinds that fit."""

    def __init__(self, rate: float, seed: int):
        self.rate = max(0.0, min(1.0, rate))
        self._rng = random.Random(seed)
        self._lock = threading.Lock()

    def pick(self, json_body: bool) -> str | None:
        """The fault for the next answer, or None to answer normally."""
        if self.rate <= 0:
            return None
        kinds = FAULT_KINDS if json_body else FAULT_KINDS[:-1]
        with self._lock:
            if self._rng.random() >= self.rate:
                return None
            return self._rng.choice(kinds)

    def cut(self, body: bytes) -> bytes:
        """A strict prefix of ``body`` (at least one byte short, so it never parses as the whole)."""
        if len(body) < 2:
            return b""
        with self._lock:
            return body[: self._rng.randrange(1, len(body))]
