"""What every hubtree spider shares: run counters, the checkpointed page flow, and the follow-up queue."""

from __future__ import annotations

from collections import deque
from collections.abc import Iterable
from typing import Any

import scrapy
from scrapy import Request, signals
from scrapy.crawler import Crawler
from scrapy.exceptions import DontCloseSpider
from scrapy.http import Response
from scrapy.spidermiddlewares.httperror import HttpError

from crawler.ingest import PageResult
from crawler.items import ListingPage
from crawler.middlewares import CrawlCounters
from crawler.progress import NullProgress, Progress
from crawler.store.db import Store

#: Follow-up requests (cards, details) are handed to the engine in batches of this size.
FOLLOW_UP_BATCH = 500
#: Run-record counters a spider maintains; they are persisted with every page.
COUNTER_FIELDS = ("records", "changed", "quarantined", "errors", "cards_fetched", "deleted")


class HubSpider(scrapy.Spider):
    """Base spider: pages go to the store with a checkpoint; follow-ups run when the listing is done."""

    hub = ""

    def __init__(self, *, store: Store, run_id: int, mode: str, checkpoint: dict[str, Any] | None,
                 endpoint: str, totals: dict[str, int] | None = None, progress: Progress | None = None,
                 auth_token: str | None = None, **kwargs: Any):
        super().__init__(**kwargs)
        from urllib.parse import urlsplit

        self.store = store
        self.run_id = run_id
        self.mode = mode
        self.checkpoint = dict(checkpoint or {})
        self.endpoint = endpoint
        self.endpoint_host = urlsplit(endpoint).netloc
        self.auth_token = auth_token  # memory only: never logged, never stored
        self.counters = CrawlCounters()
        self.totals = {k: int((totals or {}).get(k, 0)) for k in COUNTER_FIELDS}
        self._base_requests = {"api": int((totals or {}).get("requests_api", 0)),
                               "resolvers": int((totals or {}).get("requests_resolvers", 0))}
        self._base_retries = int((totals or {}).get("retries", 0))
        self._base_waits = int((totals or {}).get("rate_limit_waits", 0))
        self.progress = progress or NullProgress()
        self.pages = 0
        self.listing_complete = False
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
    def parse_record(self, raw: Any) -> Any:  # pragma: no cover - abstract
        raise NotImplementedError

    def bucket_of(self, url: str) -> str:
        return "api"

    def plan_follow_ups(self) -> Iterable[Request]:
        """Requests to make once the listing is complete (cards, details)."""
        return ()

    # -- counters -----------------------------------------------------------------------------------------
    def counter_values(self) -> dict[str, int]:
        """Absolute run counters (persisted values from before a resume plus this process's)."""
        stats = self.crawler.stats
        retries = int(stats.get_value("retry/count", 0) or 0)
        return {
            **self.totals,
            "requests_api": self._base_requests["api"] + self.counters.requests["api"],
            "requests_resolvers": self._base_requests["resolvers"] + self.counters.requests["resolvers"],
            "retries": self._base_retries + retries,
            "rate_limit_waits": self._base_waits + self.counters.rate_limit_waits,
        }

    def run_updates(self, result: PageResult) -> dict[str, int]:
        """Counters to commit in the same transaction as a page."""
        self.totals["records"] += result.records
        self.totals["changed"] += result.changed
        self.totals["quarantined"] += result.quarantined
        return self.counter_values()

    def listing_done(self) -> None:
        """Called once the last listing page is committed."""
        self.listing_complete = True

    def next_seq(self) -> int:
        """Sequence number of the next listing page (the pipeline commits pages in this order)."""
        self._seq += 1
        return self._seq

    def page_stored(self, item: ListingPage, result: PageResult) -> None:
        """After a page is committed (in listing order): close the listing after its last page."""
        if item.last:
            self.listing_done()
        self.pages += 1
        values = self.counter_values()
        self.progress.update(pages=self.pages, records=values["records"], api=values["requests_api"],
                             resolvers=values["requests_resolvers"], rate_limit_waits=values["rate_limit_waits"],
                             retries=values["retries"], done=self.pages)

    def cards_stored(self, n: int, bad: int) -> None:
        self.totals["cards_fetched"] += n
        self.totals["quarantined"] += bad
        values = self.counter_values()
        self.progress.update(cards=self.totals["cards_fetched"], done=self.totals["cards_fetched"],
                             api=values["requests_api"], resolvers=values["requests_resolvers"],
                             rate_limit_waits=values["rate_limit_waits"], retries=values["retries"])

    # -- failures -------------------------------------------------------------------------------------------
    def page_failed(self, failure: Any) -> None:
        """A listing page that failed after all retries: the run stops here, resumable from its checkpoint."""
        reason = _failure_reason(failure)
        self.totals["errors"] += 1
        self.listing_failed = f"listing page failed after retries: {reason}"
        self.logger.error("%s", self.listing_failed)

    def follow_up_failed(self, failure: Any) -> None:
        self.totals["errors"] += 1
        self.logger.warning("follow-up request failed after retries: %s", _failure_reason(failure))

    def decode_json(self, response: Response) -> tuple[Any, Request | None, str | None]:
        """``(data, retry, error)``: parsed JSON, or a retry of a truncated/invalid body, or the final error."""
        import orjson
        from scrapy.downloadermiddlewares.retry import get_retry_request

        try:
            return orjson.loads(response.body), None, None
        except orjson.JSONDecodeError as exc:
            retry = get_retry_request(response.request, spider=self, reason="invalid JSON body")
            return None, retry, None if retry else f"invalid JSON body after retries ({exc})"

    # -- follow-up phase ------------------------------------------------------------------------------------
    def _on_idle(self) -> None:
        if self.listing_failed or not self.listing_complete:
            return
        if not self.follow_ups_started:
            self.follow_ups_started = True
            self.follow_ups.extend(self.plan_follow_ups())
            self.progress.phase("cards", total=len(self.follow_ups))
        if self.follow_ups:
            for _ in range(min(FOLLOW_UP_BATCH, len(self.follow_ups))):
                self.crawler.engine.crawl(self.follow_ups.popleft())
            raise DontCloseSpider


def _failure_reason(failure: Any) -> str:
    exc = getattr(failure, "value", failure)
    if isinstance(exc, HttpError):
        return f"HTTP {exc.response.status} for {exc.response.url}"
    return f"{exc.__class__.__name__}: {exc}"
