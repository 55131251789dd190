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
        self._stored_before: int | None = None  # once the listing stopped: the first page (seq) not stored
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
    def page_failed(self, failure: Any, seq: int | None = None) -> None:
        """A listing page (``seq``, if it was numbered) that failed after all retries: the run stops here, resumable
        from its checkpoint."""
        self._stop_listing(f"listing page failed after retries: {failure_reason(failure)}", seq)

    def listing_stopped(self, reason: str, seq: int | None = None) -> None:
        """The hub answered in a way the crawl must not follow (a pagination guard) on page ``seq``, which is still
        stored: stop, resumable."""
        self._stop_listing(f"listing stopped: {reason}", None if seq is None else seq + 1)

    def _stop_listing(self, message: str, first_unstored: int | None) -> None:
        """Stop the listing: pages from ``first_unstored`` on (None: every page not numbered yet) are not stored,
        the pages before it still are. A later page can stop the listing before an earlier one is read (a page
        fetched again is read after the pages that follow it); the earliest stop holds."""
        self.state.totals["errors"] += 1
        at = self._seq + 1 if first_unstored is None else first_unstored
        if self._stored_before is None or at < self._stored_before:
            self.listing_failed, self._stored_before = message, at
        self.logger.error("%s", message)

    def stores_page(self, seq: int | None) -> bool:
        """Whether listing page ``seq`` is still stored (None: a page not numbered yet, after every numbered one)."""
        if self.listing_failed is None:
            return True
        return seq is not None and self._stored_before is not None and seq < self._stored_before

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
