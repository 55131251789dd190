"""Item pipelines: each listing page is stored in one transaction with its checkpoint; cards in batches."""

from __future__ import annotations

from typing import Any

from scrapy.crawler import Crawler
from sqlalchemy import update

from crawler.cards import bound_text, parse_front_matter
from crawler.ingest import PageResult, now_utc, quarantine_row, write_page
from crawler.items import FetchedCard, ListingPage
from crawler.store.schema import Card, CrawlRun, Quarantine

CARD_BATCH = 200


class StorePipeline:
    """Writes pages (one transaction each, checkpoint included) and cards (batched) into the spider's store."""

    def __init__(self, crawler: Crawler):
        self.crawler = crawler
        self._cards: list[FetchedCard] = []
        self._pending: dict[int, ListingPage] = {}
        self._next_seq = 1

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> StorePipeline:
        o = cls(crawler)
        from scrapy import signals

        crawler.signals.connect(o.flush_cards, signal=signals.spider_idle)
        crawler.signals.connect(o.flush_cards, signal=signals.spider_closed)
        return o

    def process_item(self, item: Any) -> Any:
        spider = self.crawler.spider
        if isinstance(item, ListingPage):
            self._pending[item.seq] = item
            while self._next_seq in self._pending:  # commit strictly in listing order
                page = self._pending.pop(self._next_seq)
                result: PageResult = write_page(
                    spider.store, page.hub, page.records, run_id=spider.run_id, url=page.url,
                    checkpoint=page.checkpoint, parser=spider.parse_record, run_updates=spider.run_updates)
                self._next_seq += 1
                spider.page_stored(page, result)
        elif isinstance(item, FetchedCard):
            self._cards.append(item)
            if len(self._cards) >= CARD_BATCH:
                self.flush_cards()
        return item

    def flush_cards(self, *args: Any, **kwargs: Any) -> None:
        if not self._cards:
            return
        spider = self.crawler.spider
        batch, self._cards = self._cards, []
        rows, bad = [], []
        for card in batch:
            row = {"hub": card.hub, "id": card.model_id, "sha": card.sha, "fetched_at": now_utc(), "text": None,
                   "truncated": False, "front_matter": None, "error": None}
            if card.text is None:
                row["error"] = f"no card (HTTP {card.status})"
            else:
                text, truncated = bound_text(card.text)
                fm = parse_front_matter(text)
                row.update(text=text, truncated=truncated, front_matter=fm.data or None, error=fm.error)
                if fm.error:
                    bad.append(quarantine_row(card.hub, card.model_id, fm.error, text[:4096], kind="card",
                                              run_id=spider.run_id))
            rows.append(row)
        spider.cards_stored(len(rows), len(bad))
        run = CrawlRun.__table__  # type: ignore[attr-defined]
        with spider.store.transaction() as conn:
            spider.store.upsert(conn, Card, rows)
            spider.store.upsert(conn, Quarantine, bad)
            conn.execute(update(run).where(run.c.run_id == spider.run_id).values(**spider.counter_values()))
