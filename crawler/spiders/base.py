"""What every hubtree spider shares: the run state, page sequence numbers, failures, and the follow-up queue."""

from __future__ import annotations

from collections import deque
from collections.abc import Callable, Iterable
from typing import Any

import scrapy
from scrapy import Request, signals
from scrapy.crawler import Crawler
from scrapy.exceptions import DontCloseSpider
from scrapy.http import Response
from scrapy.spidermiddlewares.httperror import HttpError

from crawler.records import read_json
from crawler.run_state import RunState

#: Follow-up requests (cards, details) are handed to the engine in batches of this size.
FOLLOW_UP_BATCH = 500


class HubSpider(scrapy.Spider):
    """Base spider: yields listing pages with their checkpoint; runs the follow-ups once the listing is stored.

    Spiders only talk to the network and yield items (:mod:`crawler.items`); the pipeline writes them. Where the run
    stands (counters, listing stored, the family) is in ``state``, which the runner owns.
    """

    hub = ""

    def __init__(self, *, state: RunState, mode: str, checkpoint: dict[str, Any] | None, endpoint: str,
                 auth_token: str | None = None, **kwargs: Any):
        super().__init__(**kwargs)
        from urllib.parse import urlsplit

        self.state = state
        self.counters = state.counters  # the middlewares count requests and waits here
        self.progress = state.progress
        self.mode = mode
        self.checkpoint = dict(checkpoint or {})
        self.endpoint = endpoint
        self.endpoint_host = urlsplit(endpoint).netloc
        self.auth_token = auth_token  # memory only: never logged, never stored
        self.listing_failed: str | None = None
        self.follow_ups: deque[Request] = deque()
        self.follow_ups_started = False
        self.notes: list[str] = []
        self._seq = 0

    @classmethod
    def from_crawler(cls, crawler: Crawler, *args: Any, **kwargs: Any) -> HubSpider:
        spider = super().from_crawler(crawler, *args, **kwargs)
        crawler.signals.connect(spider._on_idle, signal=signals.spider_idle)
        return spider

    # -- hooks for subclasses -------------------------------------------------------------------------------
    def bucket_of(self, url: str) -> str:
        return "api"

    def plan_follow_ups(self) -> Iterable[Request]:
        """Requests to make once the listing is stored (cards, details)."""
        return ()

    def next_seq(self) -> int:
        """Sequence number of the next listing page (the pipeline commits pages in this order)."""
        self._seq += 1
        return self._seq

    # -- failures -------------------------------------------------------------------------------------------
    def page_failed(self, failure: Any) -> None:
        """A listing page that failed after all retries: the run stops here, resumable from its checkpoint."""
        reason = failure_reason(failure)
        self.state.totals["errors"] += 1
        self.listing_failed = f"listing page failed after retries: {reason}"
        self.logger.error("%s", self.listing_failed)

    def listing_stopped(self, reason: str) -> None:
        """The hub answered in a way the crawl must not follow (a pagination guard): stop, resumable."""
        self.state.totals["errors"] += 1
        self.listing_failed = f"listing stopped: {reason}"
        self.logger.error("%s", self.listing_failed)

    def follow_up_failed(self, failure: Any) -> None:
        self.state.totals["errors"] += 1
        self.logger.warning("follow-up request failed after retries: %s", failure_reason(failure))

    def decode_json(self, response: Response, reader: Callable[[bytes], Any] = read_json) -> tuple[
            Any, Request | None, str | None]:
        """``(data, retry, error)``: the JSON body as ``reader`` reads it (:func:`crawler.records.read_json`), or a
        retry of a truncated/invalid body, or the final error."""
        from scrapy.downloadermiddlewares.retry import get_retry_request

        try:
            return reader(response.body), None, None
        except ValueError as exc:
            retry = get_retry_request(response.request, spider=self, reason="invalid JSON body")
            return None, retry, None if retry else f"invalid JSON body after retries ({exc})"

    # -- follow-up phase ------------------------------------------------------------------------------------
    def _on_idle(self) -> None:
        if self.listing_failed or not self.state.listing_complete:
            return
        if not self.follow_ups_started:
            self.follow_ups_started = True
            self.follow_ups.extend(self.plan_follow_ups())
            self.progress.phase("cards", total=len(self.follow_ups))
        if self.follow_ups:
            for _ in range(min(FOLLOW_UP_BATCH, len(self.follow_ups))):
                self.crawler.engine.crawl(self.follow_ups.popleft())
            raise DontCloseSpider


def failure_reason(failure: Any) -> str:
    exc = getattr(failure, "value", failure)
    if isinstance(exc, HttpError):
        return f"HTTP {exc.response.status} for {exc.response.url}"
    return f"{exc.__class__.__name__}: {exc}"
