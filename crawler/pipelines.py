"""The item pipeline: the only writer of a crawl. Each listing page is stored with its checkpoint and the run's
counters (committed with them); cards in batches; deployment flags as they come.

Listing pages are handed, strictly in listing order, to the run's page writer (a process of its own:
:mod:`crawler.page_writer`) from one thread, while the reactor goes on fetching the next page (the spider asks for it
before handing over the page): on a slow hub the sweep's CPU hides under the network's time. A page's Deferred fires
once it is written, so Scrapy holds only a few pages in memory; the writer commits it with the pages after it, the
listing's last page before it answers. A page that cannot be stored stops the listing (resumable from the last
committed page): no later page is written past it.

When the listing's last page is committed the pipeline sends :data:`LISTING_STORED`; the runner answers it with
the after-listing steps (:mod:`crawler.after_listing`).
"""

from __future__ import annotations

import logging
from typing import Any

from scrapy import signals
from scrapy.crawler import Crawler
from twisted.internet.defer import Deferred
from twisted.internet.threads import deferToThreadPool
from twisted.python.failure import Failure
from twisted.python.threadpool import ThreadPool

from crawler.ingest import card_row, now_utc, quarantine_row
from crawler.items import DeployFlags, FetchedCard, ListingPage
from crawler.run_state import RunState
from crawler.store.crawl import set_deploy_flags, write_cards

CARD_BATCH = 200
#: Signal sent (with ``page``) once the last page of the listing is committed.
LISTING_STORED = object()
logger = logging.getLogger(__name__)


class StorePipeline:
    """Writes the items of one run (:class:`crawler.run_state.RunState`, handed to the spider by the runner)."""

    def __init__(self, crawler: Crawler):
        self.crawler = crawler
        self._cards: list[FetchedCard] = []
        self._pending: dict[int, ListingPage] = {}
        self._next_seq = 1
        self._writer = ThreadPool(minthreads=1, maxthreads=1, name="listing-writer")  # one thread: FIFO order
        self._write_failed: str | None = None  # why a page was not stored: later pages are not written either

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> StorePipeline:
        o = cls(crawler)
        crawler.signals.connect(o._writer.start, signal=signals.spider_opened)
        crawler.signals.connect(o.flush_cards, signal=signals.spider_idle)
        crawler.signals.connect(o.flush_cards, signal=signals.spider_closed)
        crawler.signals.connect(o._writer.stop, signal=signals.spider_closed)
        return o

    @property
    def state(self) -> RunState:
        return self.crawler.spider.state  # type: ignore[union-attr]

    def process_item(self, item: Any) -> Any:
        if isinstance(item, ListingPage):
            if self._write_failed:
                return item
            self._pending[item.seq] = item
            written = None
            while self._next_seq in self._pending:  # commit strictly in listing order
                page = self._pending.pop(self._next_seq)
                self._next_seq += 1
                if self.crawler.spider.stores_page(page.seq):  # type: ignore[union-attr]  # else after the stop
                    written = self._store_page(page)
            if written is not None:
                return written.addCallback(lambda _: item)
        elif isinstance(item, FetchedCard):
            self._cards.append(item)
            if len(self._cards) >= CARD_BATCH:
                self.flush_cards()
        elif isinstance(item, DeployFlags):
            self.state.deploy_flagged |= set_deploy_flags(self.state.store, item.hub, item.flags)
        return item

    def _store_page(self, page: ListingPage) -> Deferred:
        """Write ``page`` from the writer thread; once written, count it and (last page, committed) send
        LISTING_STORED."""
        from twisted.internet import reactor

        state, stats = self.state, self.crawler.stats

        def write() -> None:
            if self._write_failed:
                return
            result = state.page_writer.write(page.hub, page.records, body=page.body, run_id=state.run_id, url=page.url,
                                             checkpoint=page.checkpoint, counters=state.counter_values(stats),
                                             commit=page.last)
            state.add_page(result)  # here, before the next page's counters are read

        def written(_: Any) -> None:
            if self._write_failed:
                return
            state.page_written(stats)
            if page.last:
                self.crawler.signals.send_catch_log(LISTING_STORED, page=page)

        def failed(failure: Failure) -> None:
            if not self._write_failed:
                self._write_failed = f"page {page.url} not stored: {failure.getErrorMessage()}"
                self.crawler.spider.listing_stopped(self._write_failed)  # type: ignore[union-attr]
                self.state.page_not_stored()

        return deferToThreadPool(reactor, self._writer, write).addCallbacks(written, failed)

    def flush_cards(self, *args: Any, **kwargs: Any) -> None:
        if not self._cards:
            return
        state = self.state
        batch, self._cards = self._cards, []
        cards = [card_row(card.hub, card.model_id, card.sha, card.text, error=card.error, fetched_at=now_utc(),
                          run_id=state.run_id) for card in batch]
        if not self._write_cards(cards):
            for one in cards:  # one card the store refuses must not lose the batch: each alone, the refused quarantined
                if not self._write_cards([one]):
                    self._write_refused(*one)

    def _write_cards(self, cards: list[tuple[dict[str, Any], dict[str, Any] | None]]) -> bool:
        """Store ``(card row, quarantine row or None)`` pairs with the run's counters; False if the store refused."""
        state = self.state
        rows, bad = [row for row, _ in cards], [b for _, b in cards if b is not None]
        before = dict(state.totals)
        try:
            write_cards(state.store, state.run_id, rows, bad, state.add_cards(len(rows), len(bad), self.crawler.stats))
        except Exception as exc:  # noqa: BLE001 - retried card by card; a refused card is quarantined with the reason
            state.totals.update(before)
            logger.warning("%d card(s) not stored together: %s", len(rows), exc)
            return False
        return True

    def _write_refused(self, row: dict[str, Any], _bad: dict[str, Any] | None) -> None:
        """A card the store refuses even alone: its row without text (so the count holds) and the reason."""
        reason = "card cannot be stored (text and front matter dropped)"
        empty = {**row, "text": None, "truncated": False, "front_matter": None, "error": reason}
        refused = quarantine_row(row["hub"], row["id"], reason, (row.get("text") or "")[:4096], kind="card",
                                 run_id=self.state.run_id)
        if not self._write_cards([(empty, refused)]):
            self.state.totals["errors"] += 1
