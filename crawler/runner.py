"""Run a crawl: take the lock, start or resume the run record, drive Scrapy, and close the run.

A run whose process died (SIGKILL, power loss) or that stopped on a failed page is resumed by the next
invocation of the same hub and mode, from the checkpoint committed with its last stored page.
"""

from __future__ import annotations

import time
from datetime import datetime
from typing import Any

from sqlalchemy import func, select, update

from crawler import after_listing
from crawler.families import default_family
from crawler.gc_policy import rare_collections
from crawler.ingest import now_utc
from crawler.items import ListingPage
from crawler.lock import RunLock
from crawler.page_writer import PageWriteError, PageWriter
from crawler.pipelines import LISTING_STORED
from crawler.progress import Progress, make_progress
from crawler.records import FUTURE_TOLERANCE
from crawler.run_state import RunState
from crawler.runs import CrawlResult
from crawler.store.crawl import quarantined_in_run
from crawler.store.db import Store
from crawler.store.indexes import defer_indexes, ensure_indexes
from crawler.store.schema import CrawlRun, Model

RESUMABLE = ("running", "partial")
#: Run-record counters a resumed run continues from.
RUN_COUNTERS = ("records", "changed", "quarantined", "errors", "cards_fetched", "deleted", "requests_api",
                "requests_resolvers", "retries", "rate_limit_waits")
def _open_run(store: Store, hub: str, mode: str) -> tuple[CrawlRun, bool]:
    """The unfinished run of this hub and mode to resume, or a new run. Other unfinished runs are closed."""
    tbl = CrawlRun.__table__  # type: ignore[attr-defined]
    with store.transaction() as conn:
        rows = conn.execute(select(tbl).where(tbl.c.hub == hub, tbl.c.status.in_(RESUMABLE))
                            .order_by(tbl.c.run_id.desc())).all()
        resume = None
        for row in rows:
            ckpt = row.checkpoint or {}
            if resume is None and row.mode == mode and ckpt.get("phase") != "done":
                resume = row
            else:
                notes = [*(row.notes or []), f"superseded by a new {mode} run"]
                conn.execute(update(tbl).where(tbl.c.run_id == row.run_id)
                             .values(status="failed" if row.status == "running" else row.status,
                                     ended_at=row.ended_at or now_utc(), notes=notes,
                                     checkpoint={**(row.checkpoint or {}), "phase": "done"}))
        if resume is not None:
            conn.execute(update(tbl).where(tbl.c.run_id == resume.run_id)
                         .values(status="running", resumes=resume.resumes + 1, ended_at=None))
            run = CrawlRun(**{c: getattr(resume, c) for c in resume._fields})
            run.resumes += 1
            return run, True
        started = now_utc()
        run_id = conn.execute(tbl.insert().values(hub=hub, mode=mode, started_at=started, status="running",
                                                  checkpoint={}, notes=[])).inserted_primary_key[0]
        return CrawlRun(run_id=run_id, hub=hub, mode=mode, started_at=started, checkpoint={}, notes=[]), False


def _scrapy_settings(concurrency: int, extra: dict[str, Any] | None) -> dict[str, Any]:
    settings = {
        "TWISTED_REACTOR": "twisted.internet.asyncioreactor.AsyncioSelectorReactor",
        "LOG_LEVEL": "ERROR",
        "LOG_INSTALL_ROOT_HANDLER": False,
        "USER_AGENT": "hubtree/0.1",
        "ROBOTSTXT_OBEY": False,
        "COOKIES_ENABLED": False,
        "TELNETCONSOLE_ENABLED": False,
        # Scrapy's RemoteControl (on by default in Scrapy 2.19) serves, on localhost, an HTTP endpoint that runs any
        # Python code sent with the token it writes to the user's state directory: a crawl opens no such server.
        "REMOTE_CONTROL_ENABLED": False,
        "EXTENSIONS": {"scrapy.extensions.telnet.TelnetConsole": None,
                       "scrapy.extensions.remote_control.RemoteControl": None},
        "CONCURRENT_REQUESTS": concurrency,
        "CONCURRENT_REQUESTS_PER_DOMAIN": concurrency,
        "DOWNLOAD_DELAY": 0,
        "DOWNLOAD_TIMEOUT": 60,
        "RETRY_TIMES": 8,
        "RETRY_HTTP_CODES": [500, 502, 503, 504, 522, 524, 408],  # 429 is the rate limiter's job
        "DOWNLOADER_MIDDLEWARES": {
            "scrapy.downloadermiddlewares.cookies.CookiesMiddleware": None,  # off: not even imported
            "crawler.middlewares.SameHostRedirectMiddleware": 340,
            "crawler.middlewares.AuthMiddleware": 350,
            "crawler.middlewares.RateLimitMiddleware": 560,
        },
        "ITEM_PIPELINES": {"crawler.pipelines.StorePipeline": 300},
        "LOGSTATS_INTERVAL": 0,
        # One item at a time: the store pipeline is sequential anyway, and Scrapy otherwise starts 100 worker
        # tasks per response (a third of the CPU of the cards phase, measured in docs/PERFORMANCE.md).
        "CONCURRENT_ITEMS": 1,
    }
    settings.update(extra or {})
    return settings


def run_crawl(store: Store, spider_cls: type, *, hub: str, mode: str, endpoint: str,
              spider_kwargs: dict[str, Any] | None = None, progress: Progress | str = "auto",
              concurrency: int = 16, token: str | None = None,
              scrapy_settings: dict[str, Any] | None = None) -> CrawlResult:
    """Crawl ``hub`` into ``store`` with ``spider_cls``; raises :class:`crawler.lock.LockBusy` if a crawl runs.

    The spider lists and fetches; the pipeline writes; this function runs the after-listing steps
    (:mod:`crawler.after_listing`) when the listing is stored and when the spider is done. ``spider_kwargs``
    ``families`` (:class:`crawler.families.Family`, default: the default family) define the family for those steps
    too.
    """
    from scrapy.crawler import CrawlerProcess

    started = time.monotonic()
    kwargs = dict(spider_kwargs or {})
    family_def = {"families": tuple(kwargs.get("families") or (default_family(),))}
    with RunLock(store, "crawl"), PageWriter(store.url) as page_writer:  # the writer starts while Scrapy does
        run, resumed = _open_run(store, hub, mode)
        if not resumed:
            defer_indexes(store)  # a new store's: built once its listing is stored
        notes: list[str] = list(run.notes or [])
        if resumed:
            notes.append(f"resumed at phase {(run.checkpoint or {}).get('phase', '?')}")
        prog = make_progress(progress) if isinstance(progress, str) else progress
        state = RunState(store, run.run_id, hub, page_writer, totals={c: getattr(run, c) for c in RUN_COUNTERS},
                         progress=prog)

        def listing_stored(page: ListingPage | None = None) -> None:
            checkpoint = page.checkpoint if page is not None else run.checkpoint or {}
            ensure_indexes(store)
            out = after_listing.listing_stored(store, hub, run.run_id, sweep_complete=bool(
                checkpoint.get("sweep_complete")), **family_def)
            state.totals["deleted"] += out.deleted
            state.family = out.family
            state.listing_complete = True

        if (run.checkpoint or {}).get("phase") == "follow-ups":  # resumed after the listing
            listing_stored()
        process = CrawlerProcess(_scrapy_settings(concurrency, scrapy_settings))
        crawler = process.create_crawler(spider_cls)
        crawler.signals.connect(listing_stored, signal=LISTING_STORED)
        process.crawl(crawler, state=state, mode=mode, checkpoint=run.checkpoint, endpoint=endpoint,
                      auth_token=token, **kwargs)
        try:
            with rare_collections():  # each page's objects would set off young collections, and full ones every few pages
                process.start()
        finally:
            prog.close()
        spider = crawler.spider
        notes.extend(spider.notes)
        if spider.listing_failed:
            notes.append(spider.listing_failed)
        pages_lost = ""
        try:  # a listing that stopped early leaves its last pages written, not committed yet
            page_writer.flush()
        except PageWriteError as exc:
            pages_lost = f"pages not stored: {exc}"
            if not any(str(exc) in note for note in notes):  # the pipeline stopped on the same reason
                notes.append(pages_lost)
            state.page_not_stored()
        if not state.listing_complete:
            ensure_indexes(store)  # a listing that stopped early (a stored one has them: ``listing_stored``)
        close_reason = getattr(crawler.stats, "get_value", lambda *_: None)("finish_reason")
        finished = (state.listing_complete and not spider.listing_failed and not pages_lost
                    and close_reason == "finished")
        family = state.family
        if finished:
            done = after_listing.finish(store, hub, family=state.family, **family_def)
            family = done.family
            notes.extend(done.notes)
        values = {**state.counter_values(crawler.stats), **after_listing.family_counts(family)}
        lost = _quarantine_notes(store, hub, run.run_id, notes)
        if not finished:
            status = "partial" if values.get("records") else "failed"
            checkpoint = dict(_current_checkpoint(store, run.run_id))
            if close_reason and close_reason != "finished":
                notes.append(f"stopped: {close_reason}")
        else:
            status = "partial" if values.get("errors") or lost else "success"
            checkpoint = {"phase": "done"}
        marks = _watermarks(store, hub) if finished else {}
        tbl = CrawlRun.__table__  # type: ignore[attr-defined]
        with store.transaction() as conn:
            conn.execute(update(tbl).where(tbl.c.run_id == run.run_id).values(
                status=status, ended_at=now_utc(), checkpoint=checkpoint, notes=notes,
                **{k: v for k, v in values.items() if k in tbl.c}, **marks))
    return CrawlResult(hub, mode, run.run_id, status, values, resumed, time.monotonic() - started, notes)


def _current_checkpoint(store: Store, run_id: int) -> dict[str, Any]:
    tbl = CrawlRun.__table__  # type: ignore[attr-defined]
    with store.engine.connect() as conn:
        return conn.execute(select(tbl.c.checkpoint).where(tbl.c.run_id == run_id)).scalar_one() or {}


def _quarantine_notes(store: Store, hub: str, run_id: int, notes: list[str]) -> int:
    """Notes on what this run quarantined (records lost, records stored with repairs, cards refused); returns
    how many records were quarantined, not stored (the run is then partial: its exit code says so)."""
    found = quarantined_in_run(store, hub, run_id)
    labels = {"record": "records quarantined, not stored", "repaired": "records stored with repairs",
              "card": "cards quarantined (stored without front matter)"}
    for kind, label in labels.items():
        if kind in found:
            n, examples = found[kind]
            notes.append(f"{n} {label} (quarantine table, kind {kind!r}), e.g. " + "; ".join(examples))
    return found.get("record", (0, []))[0]


def _watermarks(store: Store, hub: str) -> dict[str, datetime | None]:
    """The newest ``last_modified`` / ``created_at`` of ``hub``, never in the future (a hub's error must not stop
    every later incremental crawl at once)."""
    tbl = Model.__table__  # type: ignore[attr-defined]
    limit = now_utc() + FUTURE_TOLERANCE
    with store.engine.connect() as conn:
        modified = conn.execute(select(func.max(tbl.c.last_modified)).where(
            tbl.c.hub == hub, tbl.c.last_modified <= limit)).scalar_one()
        created = conn.execute(select(func.max(tbl.c.created_at)).where(
            tbl.c.hub == hub, tbl.c.created_at <= limit)).scalar_one()
    return {"watermark_modified": modified, "watermark_created": created}
