"""Store → polars frames: the one place analyses read tables from.

Every analysis starts from these frames so that every figure is reproducible from the store alone.
Datetimes are naive UTC. Deleted models are included with ``deleted_at`` set; filter them where needed.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

import orjson
import polars as pl
from sqlalchemy import String, Text, cast, select, type_coerce

from crawler.store.db import Store
from crawler.store.schema import Card, CrawlRun, Edge, MetricSnapshot, Mirror, Model, Quarantine

_MODEL_COLUMNS = ("hub", "id", "author", "created_at", "last_modified", "sha", "license", "license_name",
                  "license_link", "library_name", "pipeline_tag", "architecture", "tags", "card_data", "files",
                  "inference", "inference_providers", "deploy_flags", "downloads", "downloads_all_time", "likes",
                  "first_seen_run", "last_seen_run", "deleted_at")
_LIST_COLUMNS = {"tags", "files", "inference_providers"}
_JSON_COLUMNS = {"card_data", "deploy_flags", "front_matter", "checkpoint"}
#: JSON columns handed over as their JSON text (decode with orjson where needed): large and rarely read.
_JSON_TEXT_COLUMNS = {"front_matter"}


def table(store: Store, model: Any, columns: tuple[str, ...], *, where: Any = None) -> pl.DataFrame:
    """Columns of a store table as a frame, typed from the schema.

    Datetime and JSON columns skip SQLAlchemy's per-value processing (``type_coerce``) and are parsed by polars /
    orjson in bulk: at a million rows this is the difference between minutes and seconds.
    """
    tbl = model.__table__
    def column(c: str) -> Any:
        if c in _LIST_COLUMNS or c in _JSON_COLUMNS:
            return cast(tbl.c[c], Text).label(c)  # JSON as text on every backend, decoded in bulk below
        if _is_datetime(tbl.c[c]):
            return type_coerce(tbl.c[c], String).label(c)  # SQLite: ISO text; PostgreSQL: the driver's datetime
        return tbl.c[c]

    q = select(*(column(c) for c in columns))
    if where is not None:
        q = q.where(where)
    parts = []
    with store.engine.connect() as conn:
        result = conn.execute(q)
        while rows := result.fetchmany(_CHUNK_ROWS):  # bounded Python objects: peak memory is the frame's
            parts.append(_chunk(tbl, columns, rows))
    if not parts:
        return _chunk(tbl, columns, [])
    return pl.concat(parts, how="vertical") if len(parts) > 1 else parts[0]


#: Rows turned into polars columns at a time (Python row tuples of a whole table would dwarf the frame).
_CHUNK_ROWS = 100_000


def _chunk(tbl: Any, columns: tuple[str, ...], rows: Any) -> pl.DataFrame:
    out: dict[str, pl.Series] = {}
    for i, c in enumerate(columns):
        col, values = tbl.c[c], [r[i] for r in rows]
        if c in _LIST_COLUMNS:
            decoded = pl.Series(c, values, dtype=pl.String).str.json_decode(pl.List(pl.String))
            out[c] = decoded.fill_null(pl.lit([], dtype=pl.List(pl.String)))
        elif c in _JSON_TEXT_COLUMNS:
            out[c] = pl.Series(c, values, dtype=pl.String)
        elif c in _JSON_COLUMNS:
            out[c] = pl.Series(c, [orjson.loads(v) if isinstance(v, str) else v for v in values], dtype=pl.Object)
        elif _is_datetime(col):
            out[c] = _datetimes(c, values)
        else:
            out[c] = pl.Series(c, values, dtype=_DTYPES.get(col.type.python_type, pl.String))
    return pl.DataFrame(out) if out else pl.DataFrame()


_DTYPES = {bool: pl.Boolean, int: pl.Int64, float: pl.Float64, str: pl.String}


def _is_datetime(column: Any) -> bool:
    try:
        return column.type.python_type is datetime
    except NotImplementedError:
        return False


def _datetimes(name: str, values: list[Any]) -> pl.Series:
    """SQLite keeps datetimes as ISO text, PostgreSQL's driver returns datetime objects: one typed series."""
    if any(isinstance(v, str) for v in values):
        return pl.Series(name, values, dtype=pl.String).str.to_datetime(time_unit="us", strict=False)
    return pl.Series(name, values, dtype=pl.Datetime("us"))


def models(store: Store, *, hub: str | None = None, include_card_data: bool = False,
           as_of: datetime | None = None) -> pl.DataFrame:
    """All models (one row per hub and id). ``as_of`` keeps models created up to that time and not deleted then."""
    cols = tuple(c for c in _MODEL_COLUMNS if include_card_data or c != "card_data")
    tbl = Model.__table__  # type: ignore[attr-defined]
    where = tbl.c.hub == hub if hub else None
    df = table(store, Model, cols, where=where)
    if as_of is not None:
        df = df.filter((pl.col("created_at").is_null() | (pl.col("created_at") <= as_of))
                       & (pl.col("deleted_at").is_null() | (pl.col("deleted_at") > as_of)))
    return df


def edges(store: Store, *, hub: str | None = None) -> pl.DataFrame:
    """Declared lineage edges: hub, child, parent (None when unresolved), parent_raw, relation, rule, status, reason."""
    cols = ("hub", "child", "parent_raw", "parent", "relation", "declared", "rule", "status", "reason")
    tbl = Edge.__table__  # type: ignore[attr-defined]
    return table(store, Edge, cols, where=tbl.c.hub == hub if hub else None)


def cards(store: Store, *, hub: str | None = None, with_text: bool = True) -> pl.DataFrame:
    """Fetched model cards (text bounded by the crawler), their fetch sha, parsed front matter (as JSON text) and
    any error."""
    cols = ("hub", "id", "sha", "fetched_at", "truncated", "error", "front_matter") + (("text",) if with_text else ())
    tbl = Card.__table__  # type: ignore[attr-defined]
    return table(store, Card, cols, where=tbl.c.hub == hub if hub else None)


def runs(store: Store) -> pl.DataFrame:
    """Crawl runs, oldest first."""
    cols = ("run_id", "hub", "mode", "started_at", "ended_at", "status", "records", "changed", "family_models",
            "roots", "undeclared", "deleted", "cards_fetched", "requests_api", "requests_resolvers", "retries",
            "rate_limit_waits", "quarantined", "errors", "resumes")
    return table(store, CrawlRun, cols).sort("run_id")


def snapshots(store: Store, *, hub: str | None = None) -> pl.DataFrame:
    """Per-run metric snapshots (downloads, likes) joined with the run's start time."""
    tbl = MetricSnapshot.__table__  # type: ignore[attr-defined]
    cols = ("run_id", "hub", "id", "taken_at", "downloads", "downloads_all_time", "likes")
    return table(store, MetricSnapshot, cols, where=tbl.c.hub == hub if hub else None)


def quarantine(store: Store) -> pl.DataFrame:
    """Quarantined records and cards with the reason (the raw payload is left out)."""
    cols = ("hub", "key", "kind", "run_id", "url", "reason", "seen_at")
    return table(store, Quarantine, cols)


def mirrors(store: Store) -> pl.DataFrame:
    """ModelScope → Hugging Face mirror links with rule and confidence."""
    return table(store, Mirror, ("modelscope_id", "hf_id", "rule", "confidence"))
