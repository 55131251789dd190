"""The run records, read: past crawl runs as ``hubtree runs`` lists them, and the watermarks an incremental run
starts from. Read-only: the runner (:mod:`crawler.runner`) writes them."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import select

from crawler.runner import SUMMARY_KEYS, CrawlResult
from crawler.store.db import Store
from crawler.store.schema import HUBS, CrawlRun


def previous_watermarks(store: Store, hub: str) -> dict[str, datetime | None]:
    """Watermarks of the latest successful run of ``hub`` (empty when there is none)."""
    tbl = CrawlRun.__table__  # type: ignore[attr-defined]
    with store.engine.connect() as conn:
        row = conn.execute(select(tbl.c.watermark_modified, tbl.c.watermark_created)
                           .where(tbl.c.hub == hub, tbl.c.status.in_(("success", "partial")),
                                  tbl.c.watermark_modified.is_not(None))
                           .order_by(tbl.c.run_id.desc()).limit(1)).first()
    return {"lastModified": row[0], "createdAt": row[1]} if row else {}


def check_hub(hub: str | None) -> str | None:
    """``hub`` if it is None or one of :data:`crawler.store.schema.HUBS`; ValueError otherwise."""
    if hub is not None and hub not in HUBS:
        raise ValueError(f"must be one of {', '.join(HUBS)}, not {hub!r}")
    return hub


def list_runs(store: Store, hub: str | None = None, limit: int | None = 20) -> list[dict[str, Any]]:
    """The latest ``limit`` runs (None: all) of ``hub`` (None: every hub), newest first, as :func:`run_row_json`."""
    check_hub(hub)
    if limit is not None and limit < 1:
        raise ValueError(f"limit must be at least 1, not {limit}")
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
