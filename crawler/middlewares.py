"""Downloader middlewares: auth header, rate-limit-aware throttling, and request counters per bucket."""

from __future__ import annotations

import asyncio
import time
from collections import Counter
from collections.abc import Callable
from urllib.parse import urlsplit

from scrapy import Request
from scrapy.crawler import Crawler
from scrapy.exceptions import IgnoreRequest
from scrapy.http import Response

from crawler.hubs.hf import same_origin
from crawler.hubs.modelscope import quota_spent
from crawler.hubs.ratelimit import RateLimiter

#: A request gives up after this many 429s (each one waits for the announced reset first).
MAX_THROTTLED_RETRIES = 50
#: The close reason of a crawl stopped by a spent quota (resumable once the quota is back).
QUOTA_SPENT_REASON = "quota spent (ModelScope 403 QuotaLimitExceed): not retried; resume when the quota is back"


class CrawlCounters:
    """Counters a crawl reports (requests per bucket, retries, rate-limit waits); shared by middlewares."""

    def __init__(self) -> None:
        self.requests: Counter[str] = Counter()
        self.rate_limit_waits = 0
        self.throttled = 0
        self.retries = 0


class AuthMiddleware:
    """Adds ``Authorization: Bearer <token>`` to requests for the crawled endpoint only (never to other hosts).

    The token lives in memory on the spider (``spider.auth_token``); it is never logged or stored.
    """

    def __init__(self, crawler: Crawler):
        self.crawler = crawler

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> AuthMiddleware:
        return cls(crawler)

    def process_request(self, request: Request) -> None:
        spider = self.crawler.spider
        token = getattr(spider, "auth_token", None)
        host = getattr(spider, "endpoint_host", None)
        if token and host and urlsplit(request.url).netloc == host:
            request.headers["Authorization"] = f"Bearer {token}"
        return None


class SameHostRedirectMiddleware:
    """Refuses a redirect to another host: a request that Scrapy's redirect middleware made from a redirect fails
    with the reason (before it is sent) instead of storing a foreign answer as the hub's."""

    def process_request(self, request: Request) -> None:
        chain = request.meta.get("redirect_urls")
        if chain and not same_origin(request.url, chain[0]):
            raise IgnoreRequest(f"redirect to another host refused: {chain[0]} → {urlsplit(request.url).netloc}")
        return None


class RateLimitMiddleware:
    """Obeys the hub's ``RateLimit`` headers: never sends past the announced quota, waits out 429s.

    Each request is charged to a bucket (``spider.bucket_of(url)``). Before sending, a request whose bucket is
    spent waits for the window's reset. A 429 empties the bucket and reschedules the request after the reset.
    A spent quota (ModelScope's 403 ``QuotaLimitExceed``) is never retried: the crawl stops, resumable.
    """

    def __init__(self, crawler: Crawler):
        self.crawler = crawler
        self.limiter = RateLimiter()
        self._stopping = False

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> RateLimitMiddleware:
        return cls(crawler)

    def _spider_parts(self) -> tuple[Callable[[str], str], CrawlCounters]:
        spider = self.crawler.spider
        return spider.bucket_of, spider.counters  # type: ignore[union-attr]

    async def process_request(self, request: Request) -> None:
        bucket_of, counters = self._spider_parts()
        bucket = bucket_of(request.url)
        state = self.limiter.state(bucket)
        waited = False
        while (delay := state.wait_needed(time.monotonic())) > 0:
            waited = True
            await asyncio.sleep(delay)
        if waited:
            counters.rate_limit_waits += 1
        state.spend()
        request.meta["_rl_bucket"] = bucket
        counters.requests[bucket] += 1
        return None

    def _done(self, request: Request) -> str | None:
        bucket = request.meta.pop("_rl_bucket", None)
        if bucket is not None:
            self.limiter.state(bucket).done()
        return bucket

    def process_response(self, request: Request, response: Response) -> Request | Response:
        bucket = self._done(request)
        if bucket is None:
            return response
        if quota_spent(response.status, response.body):
            self._stop(QUOTA_SPENT_REASON)
            return response
        headers = {k.decode("latin-1"): v[0].decode("latin-1") for k, v in response.headers.items() if v}
        throttled = response.status == 429 or (response.status == 400 and b"RateLimitExceed" in response.body[:500])
        self.limiter.observe(bucket, headers, throttled=throttled, latency=request.meta.get("download_latency", 0.0))
        if not throttled:
            return response
        _, counters = self._spider_parts()
        counters.throttled += 1
        counters.rate_limit_waits += 1
        tries = request.meta.get("throttled_retries", 0) + 1
        if tries > MAX_THROTTLED_RETRIES:
            return response
        retry = request.replace(dont_filter=True)
        retry.meta["throttled_retries"] = tries
        return retry

    def _stop(self, reason: str) -> None:
        """Close the crawl once with ``reason`` (requests in flight are dropped; the checkpoint stays)."""
        if not self._stopping and self.crawler.engine is not None:
            self._stopping = True
            asyncio.ensure_future(self.crawler.engine.close_spider_async(reason=reason))

    def process_exception(self, request: Request, exception: Exception) -> None:
        self._done(request)
        return None
