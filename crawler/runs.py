"""The run records, read: the summary of a run (what ``hubtree crawl --json`` prints), past runs as ``hubtree runs``
lists them, and the watermarks an incremental run starts from. Read-only: the runner (:mod:`crawler.runner`) writes
them."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import select

from crawler.store.db import Store
from crawler.store.schema import HUBS, CrawlRun

SUMMARY_KEYS = ("records", "changed", "family_models", "roots", "undeclared", "deleted", "cards_fetched",
                "retries", "rate_limit_waits", "quarantined", "errors")


@dataclass
class CrawlResult:
    """What a crawl did; ``as_json()`` is the machine-readable summary scripts rely on."""

    hub: str
    mode: str
    run_id: int
    status: str
    values: dict[str, Any] = field(default_factory=dict)
    resumed: bool = False
    elapsed_s: float = 0.0
    notes: list[str] = field(default_factory=list)

    def as_json(self) -> dict[str, Any]:
        v = self.values
        return {"hub": self.hub, "mode": self.mode, "run_id": self.run_id, "status": self.status,
                **{k: int(v.get(k, 0) or 0) for k in SUMMARY_KEYS},
                "requests": {"api": int(v.get("requests_api", 0)), "resolvers": int(v.get("requests_resolvers", 0))},
                "resumed": self.resumed, "elapsed_s": round(self.elapsed_s, 3), "notes": self.notes}


def previous_watermarks(store: Store, hub: str) -> dict[str, datetime | None]:
    """Watermarks of the latest successful run of ``hub`` (empty when there is none)."""
    tbl = CrawlRun.__table__  # type: ignore[attr-defined]
    with store.engine.connect() as conn:
        row = conn.execute(select(tbl.c.watermark_modified, tbl.c.watermark_created)
                           .where(tbl.c.hub == hub, tbl.c.status.in_(("success", "partial")),
                                  tbl.c.watermark_modified.is_not(None))
                           .order_by(tbl.c.run_id.desc()).limit(1)).first()
    return {"lastModified": row[0], "createdAt": row[1]} if row else {}


def run_counters(store: Store, run_id: int, names: Sequence[str]) -> dict[str, int]:
    """The committed values of the counters ``names`` of the run record ``run_id``."""
    tbl = CrawlRun.__table__  # type: ignore[attr-defined]
    with store.engine.connect() as conn:
        row = conn.execute(select(*(tbl.c[name] for name in names)).where(tbl.c.run_id == run_id)).one()
    return {name: int(value or 0) for name, value in zip(names, row, strict=True)}


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
