"""The live state of one crawl run, owned by the runner: counters, listing progress, the family, notes.

The pipeline adds what it wrote (pages through the run's page writer); the middlewares count requests; the
runner records what the after-listing steps found; the spider reads it to know where the run stands (it never
learns it from pipeline callbacks).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from crawler.family import FamilySummary
from crawler.ingest import PageResult
from crawler.middlewares import CrawlCounters
from crawler.page_writer import PageWriter
from crawler.progress import NullProgress, Progress
from crawler.runs import run_counters
from crawler.store.db import Store

#: Run-record counters of a crawl; they are persisted with every page.
COUNTER_FIELDS = ("records", "changed", "quarantined", "errors", "cards_fetched", "deleted")
#: The counters a listing page adds to (:meth:`crawler.ingest.PageResult.counts`).
PAGE_COUNTERS = tuple(PageResult().counts())


@dataclass
class RunState:
    """One run of one hub: where it writes, what it counted so far (persisted values plus this process's)."""

    store: Store
    run_id: int
    hub: str
    page_writer: PageWriter  # writes the listing's pages
    totals: dict[str, int] = field(default_factory=dict)  # persisted run-record values to start from
    progress: Progress = field(default_factory=NullProgress)
    counters: CrawlCounters = field(default_factory=CrawlCounters)
    pages: int = 0
    listing_complete: bool = False  # the listing's last page is committed and the after-listing steps ran
    family: FamilySummary | None = None  # found after the listing, for hubs whose records declare lineage
    deploy_flagged: set[str] = field(default_factory=set)  # models whose deployment flags this run stored

    def __post_init__(self) -> None:
        base = dict(self.totals)
        self.totals = {k: int(base.get(k, 0) or 0) for k in COUNTER_FIELDS}
        self._base = {k: int(base.get(k, 0) or 0) for k in ("requests_api", "requests_resolvers", "retries",
                                                               "rate_limit_waits")}

    def counter_values(self, stats: Any) -> dict[str, int]:
        """Absolute run counters; ``stats`` is the Scrapy stats collector (retries)."""
        retries = int(stats.get_value("retry/count", 0) or 0) if stats is not None else 0
        return {
            **self.totals,
            "requests_api": self._base["requests_api"] + self.counters.requests["api"],
            "requests_resolvers": self._base["requests_resolvers"] + self.counters.requests["resolvers"],
            "retries": self._base["retries"] + retries,
            "rate_limit_waits": self._base["rate_limit_waits"] + self.counters.rate_limit_waits,
        }

    def add_page(self, result: PageResult) -> None:
        """Count a written page (stored with :meth:`counter_values` plus its own counts, committed with them)."""
        for name, n in result.counts().items():
            self.totals[name] += n

    def page_not_stored(self) -> None:
        """Take the page counters as the store committed them: pages answered as written are lost with a transaction
        that was not committed (the writer died, the commit failed), and a writer that died between a page's
        commit and its answer leaves that page stored, and counted there, though it was never counted here."""
        self.totals.update(run_counters(self.store, self.run_id, PAGE_COUNTERS))

    def page_written(self, stats: Any) -> None:
        self.pages += 1
        values = self.counter_values(stats)
        self.progress.update(pages=self.pages, records=values["records"], api=values["requests_api"],
                             resolvers=values["requests_resolvers"], rate_limit_waits=values["rate_limit_waits"],
                             retries=values["retries"], done=self.pages)

    def add_cards(self, n: int, bad: int, stats: Any) -> dict[str, int]:
        """Count a batch of cards being committed; returns the counters to commit with it."""
        self.totals["cards_fetched"] += n
        self.totals["quarantined"] += bad
        values = self.counter_values(stats)
        self.progress.update(cards=self.totals["cards_fetched"], done=self.totals["cards_fetched"],
                             api=values["requests_api"], resolvers=values["requests_resolvers"],
                             rate_limit_waits=values["rate_limit_waits"], retries=values["retries"])
        return values
