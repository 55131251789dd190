"""Crawl runs as their callers see them: start one of a hub (an incremental run starts from the previous run's
watermarks) and list past ones from their run records. The crawl itself is :func:`crawler.runner.run_crawl`."""

from __future__ import annotations

import importlib
from collections.abc import Callable, Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import select

from crawler import config
from crawler.runner import SUMMARY_KEYS, CrawlResult, run_crawl
from crawler.store.db import Store
from crawler.store.schema import CrawlRun

#: hub → (its endpoint, its token, ``module:class`` of its spider).
HUBS: dict[str, tuple[Callable[[str | None], str], Callable[[], str | None], str]] = {
    "hf": (config.hf_endpoint, config.hf_token, "crawler.spiders.hf:HFSpider"),
    "modelscope": (config.modelscope_endpoint, config.modelscope_token, "crawler.spiders.modelscope:ModelScopeSpider"),
}
MODES = ("full", "incremental")


def crawl_hub(store: Store, hub: str, mode: str, *, endpoint: str | None = None, roots: Sequence[str] = ("Qwen",),
              spider_kwargs: dict[str, Any] | None = None, progress: str = "auto",
              concurrency: int = 16) -> CrawlResult:
    """One crawl of ``hub`` (``hf`` or ``modelscope``) in ``mode`` (``full`` or ``incremental``) into ``store``.

    ``endpoint`` and the token default as in :mod:`crawler.config`; ``roots`` are the orgs whose models are the
    family roots. Raises :class:`crawler.lock.LockBusy` when another crawl runs on the store.
    """
    if mode not in MODES:
        raise ValueError(f"mode must be full or incremental, not {mode!r}")
    endpoint_of, token_of, spider = HUBS[hub]
    module, name = spider.split(":")
    marks = previous_watermarks(store, hub) if mode == "incremental" else {}
    kwargs = {"watermarks": marks, "root_authors": list(roots), "architectures": config.DEFAULT_FAMILY_ARCHITECTURES,
              **(spider_kwargs or {})}
    result = run_crawl(store, getattr(importlib.import_module(module), name), hub=hub, mode=mode,
                       endpoint=endpoint_of(endpoint), spider_kwargs=kwargs, progress=progress,
                       concurrency=concurrency, token=token_of())
    if mode == "incremental" and not marks:
        result.notes.append("no previous successful run: the incremental crawl listed everything")
    return result


def previous_watermarks(store: Store, hub: str) -> dict[str, datetime | None]:
    """Watermarks of the latest successful run of ``hub`` (empty when there is none)."""
    tbl = CrawlRun.__table__  # type: ignore[attr-defined]
    with store.engine.connect() as conn:
        row = conn.execute(select(tbl.c.watermark_modified, tbl.c.watermark_created)
                           .where(tbl.c.hub == hub, tbl.c.status.in_(("success", "partial")),
                                  tbl.c.watermark_modified.is_not(None))
                           .order_by(tbl.c.run_id.desc()).limit(1)).first()
    return {"lastModified": row[0], "createdAt": row[1]} if row else {}


def list_runs(store: Store, hub: str | None = None, limit: int | None = 20) -> list[dict[str, Any]]:
    """The latest ``limit`` runs (None: all) of ``hub`` (None: every hub), newest first, as :func:`run_row_json`."""
    tbl = CrawlRun.__table__  # type: ignore[attr-defined]
    q = select(tbl).order_by(tbl.c.run_id.desc()).limit(limit)
    if hub:
        q = q.where(tbl.c.hub == hub)
    with store.engine.connect() as conn:
        return [run_row_json(r) for r in conn.execute(q)]


def run_row_json(row: Any) -> dict[str, Any]:
    """A crawl_run row in the same shape as :meth:`CrawlResult.as_json`, with its start, end and resumes."""
    values = {k: getattr(row, k) for k in (*SUMMARY_KEYS, "requests_api", "requests_resolvers")}
    res = CrawlResult(row.hub, row.mode, row.run_id, row.status, values, row.resumes > 0, notes=list(row.notes or []))
    out = res.as_json()
    out.pop("elapsed_s")
    out.update(started_at=row.started_at.isoformat() if row.started_at else None,
               ended_at=row.ended_at.isoformat() if row.ended_at else None,
               elapsed_s=(row.ended_at - row.started_at).total_seconds() if row.ended_at and row.started_at else None,
               resumes=row.resumes)
    return out
