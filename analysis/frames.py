"""Store → polars frames: the one place analyses read tables from.

Every analysis starts from these frames so that every figure is reproducible from the store alone.
Datetimes are naive UTC. Deleted models are included with ``deleted_at`` set; filter them where needed.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

import polars as pl
from sqlalchemy import select

from crawler.store.db import Store
from crawler.store.schema import Card, CrawlRun, Edge, MetricSnapshot, Mirror, Model, Quarantine

_MODEL_COLUMNS = ("hub", "id", "author", "created_at", "last_modified", "sha", "license", "license_name",
                  "license_link", "library_name", "pipeline_tag", "architecture", "tags", "card_data", "files",
                  "inference", "inference_providers", "deploy_flags", "downloads", "downloads_all_time", "likes",
                  "first_seen_run", "last_seen_run", "deleted_at")
_LIST_COLUMNS = {"tags", "files", "inference_providers"}
_JSON_COLUMNS = {"card_data", "deploy_flags", "front_matter", "checkpoint"}


def _frame(store: Store, table: Any, columns: tuple[str, ...], *, where: Any = None,
           as_of: datetime | None = None) -> pl.DataFrame:
    tbl = table.__table__
    q = select(*(tbl.c[c] for c in columns))
    if where is not None:
        q = q.where(where)
    with store.engine.connect() as conn:
        rows = conn.execute(q).all()
    data: dict[str, list[Any]] = {c: [r[i] for r in rows] for i, c in enumerate(columns)}
    schema: dict[str, Any] = {}
    for c in columns:
        col = tbl.c[c]
        if c in _LIST_COLUMNS:
            schema[c] = pl.List(pl.String)
            data[c] = [list(v) if isinstance(v, list) else [] for v in data[c]]
        elif c in _JSON_COLUMNS:
            schema[c] = pl.Object
        elif col.type.python_type is datetime:
            schema[c] = pl.Datetime("us")
        elif col.type.python_type is bool:
            schema[c] = pl.Boolean
        elif col.type.python_type is int:
            schema[c] = pl.Int64
        elif col.type.python_type is float:
            schema[c] = pl.Float64
        else:
            schema[c] = pl.String
    return pl.DataFrame(data, schema=schema)


def models(store: Store, *, hub: str | None = None, include_card_data: bool = False,
           as_of: datetime | None = None) -> pl.DataFrame:
    """All models (one row per hub and id). ``as_of`` keeps models created up to that time and not deleted then."""
    cols = tuple(c for c in _MODEL_COLUMNS if include_card_data or c not in ("card_data", "deploy_flags"))
    tbl = Model.__table__  # type: ignore[attr-defined]
    where = tbl.c.hub == hub if hub else None
    df = _frame(store, Model, cols, where=where)
    if as_of is not None:
        df = df.filter((pl.col("created_at").is_null() | (pl.col("created_at") <= as_of))
                       & (pl.col("deleted_at").is_null() | (pl.col("deleted_at") > as_of)))
    return df


def edges(store: Store, *, hub: str | None = None) -> pl.DataFrame:
    """Declared lineage edges: hub, child, parent (None when unresolved), parent_raw, relation, rule, status, reason."""
    cols = ("hub", "child", "parent_raw", "parent", "relation", "declared", "rule", "status", "reason")
    tbl = Edge.__table__  # type: ignore[attr-defined]
    return _frame(store, Edge, cols, where=tbl.c.hub == hub if hub else None)


def cards(store: Store, *, hub: str | None = None, with_text: bool = True) -> pl.DataFrame:
    """Fetched model cards (text bounded by the crawler) with their fetch sha and any front-matter error."""
    cols = ("hub", "id", "sha", "fetched_at", "truncated", "error") + (("text",) if with_text else ())
    tbl = Card.__table__  # type: ignore[attr-defined]
    return _frame(store, Card, cols, where=tbl.c.hub == hub if hub else None)


def runs(store: Store) -> pl.DataFrame:
    """Crawl runs, oldest first."""
    cols = ("run_id", "hub", "mode", "started_at", "ended_at", "status", "records", "changed", "family_models",
            "roots", "undeclared", "deleted", "cards_fetched", "requests_api", "requests_resolvers", "retries",
            "rate_limit_waits", "quarantined", "errors", "resumes")
    return _frame(store, CrawlRun, cols).sort("run_id")


def snapshots(store: Store, *, hub: str | None = None) -> pl.DataFrame:
    """Per-run metric snapshots (downloads, likes) joined with the run's start time."""
    tbl = MetricSnapshot.__table__  # type: ignore[attr-defined]
    cols = ("run_id", "hub", "id", "taken_at", "downloads", "downloads_all_time", "likes")
    return _frame(store, MetricSnapshot, cols, where=tbl.c.hub == hub if hub else None)


def quarantine(store: Store) -> pl.DataFrame:
    """Quarantined records and cards with the reason (the raw payload is left out)."""
    cols = ("hub", "key", "kind", "run_id", "url", "reason", "seen_at")
    return _frame(store, Quarantine, cols)


def mirrors(store: Store) -> pl.DataFrame:
    """ModelScope → Hugging Face mirror links with rule and confidence."""
    return _frame(store, Mirror, ("modelscope_id", "hf_id", "rule", "confidence"))
