"""Store → polars frames: the one place analyses read tables from.

Every analysis starts from these frames so that every figure is reproducible from the store alone.
Datetimes are naive UTC. Deleted models are included with ``deleted_at`` set; filter them where needed.
An analysis of one family reads :func:`family_frames`: the rows of its models only, filtered while the table is
scanned, so its memory grows with the family and not with the hub.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import orjson
import polars as pl
from sqlalchemy import (
    JSON,
    LargeBinary,
    String,
    Text,
    and_,
    cast,
    distinct,
    func,
    inspect,
    literal_column,
    or_,
    select,
    type_coerce,
)

from analysis.months import month_of, month_start, next_month_start
from crawler.gc_policy import rare_collections
from crawler.licenses import link_repo
from crawler.store.db import Store
from crawler.store.schema import Card, CrawlRun, Edge, MetricSnapshot, Mirror, Model, Quarantine

_MODEL_COLUMNS = ("hub", "id", "author", "created_at", "last_modified", "sha", "license", "license_name",
                  "license_link", "library_name", "pipeline_tag", "architecture", "tags", "card_data", "files",
                  "inference", "inference_providers", "deploy_flags", "downloads", "downloads_all_time", "likes",
                  "first_seen_run", "last_seen_run", "deleted_at", "key")
_LIST_COLUMNS = {"tags", "files", "inference_providers"}
_JSON_COLUMNS = {"card_data", "deploy_flags", "front_matter", "checkpoint"}
#: JSON columns handed over as their JSON text (decode with orjson where needed): large and rarely read.
_JSON_TEXT_COLUMNS = {"front_matter"}


def table(store: Store, model: Any, columns: tuple[str, ...], *, where: Any = None,
          keys: pl.DataFrame | None = None, scan_order: bool = False, scan_where: Any = None) -> pl.DataFrame:
    """Columns of a store table as a frame, typed from the schema.

    Datetime and JSON columns skip SQLAlchemy's per-value processing (``type_coerce``) and are parsed by polars /
    orjson in bulk: at a million rows this is the difference between minutes and seconds. ``keys`` (a frame of
    ``hub`` and one id column named as in ``columns``, e.g. ``id`` or ``child``) keeps only the rows with those
    keys, chosen by the database: a few thousand are asked for by id, more as arrays per hub
    (:meth:`Store.among`, :func:`_read_columns`), so the rows left out are never read nor held. With
    ``scan_order`` they are always asked for as arrays and come in the table's order (SQLite), however few they are.
    Without ``where`` nor ``keys`` the whole table is read, in the table's order; ``scan_where``: a condition those
    rows are filtered by as they are scanned, one no index serves (e.g. ``deleted_at IS NULL``).
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
    if keys is None and where is None:  # the whole table
        if _has_rowids(store, tbl):
            with _one_state(store) as conn:
                return _concat(tbl, columns, [_read_columns(conn, window, tbl, columns)
                                              for window in _rowid_windows(conn, tbl, q, scan_where,
                                                                           _rows_per_query(tbl, columns))])
        q = q.where(scan_where) if scan_where is not None else q
    elif scan_where is not None:
        raise ValueError("scan_where filters a read of the whole table (neither where nor keys)")
    if keys is None:
        return _concat(tbl, columns, _read(store, q, tbl, columns, None, ()))
    hub_col, id_col = keys.columns[:2]
    if keys.height <= _BY_ID_MAX and not scan_order:
        wanted = set(keys.select(hub_col, id_col).iter_rows())
        ids = sorted({i for _, i in wanted})
        positions = (columns.index(hub_col), columns.index(id_col))
        return _concat(tbl, columns, [part for n in range(0, len(ids), _IN_BATCH) for part in _read(
            store, q.where(tbl.c[id_col].in_(ids[n:n + _IN_BATCH])), tbl, columns, wanted, positions)])
    out = _concat(tbl, columns, _read_keys(store, q, tbl, columns, keys, in_table_order=scan_order))
    if "_rowid" in out.columns:  # rows of several batches of keys: in the table's order
        out = out.sort("_rowid").drop("_rowid")
    return out.rechunk()  # one chunk: the report at 1M peaked 0.2 GB higher on frames of 100K-row chunks


def _read_keys(store: Store, q: Any, tbl: Any, columns: tuple[str, ...], keys: pl.DataFrame, *,
               in_table_order: bool = False) -> list[pl.DataFrame]:
    """The rows of ``q`` with the ``keys`` (a frame of the hub and the id column), as arrays of keys per hub in
    batches (:func:`_read_columns`), all read in one state of the store."""
    hub_col, id_col = keys.columns[:2]
    by_hub = keys.group_by(hub_col).agg(pl.col(id_col).unique().sort()).sort(hub_col)
    with _one_state(store) as conn:
        return [_read_columns(conn, q.where(_of_keys(store, tbl, hub_col, hub, id_col, batch)), tbl, columns,
                              in_table_order=in_table_order)
                for hub, ids in by_hub.iter_rows() for batch in _batches(ids, _rows_per_query(tbl, columns))]


@contextmanager
def _one_state(store: Store) -> Iterator[Any]:
    """A connection whose reads all see the store in one state, however many queries they take (SQLite: one read
    transaction; its driver would run each query on its own, a crawl's writes in between)."""
    with store.engine.begin() as conn:
        if conn.dialect.name == "sqlite":
            conn.exec_driver_sql("BEGIN")
        yield conn


#: Up to this many keys are read with ``id IN (…)`` (in batches of ``_IN_BATCH``); more as arrays per hub.
_BY_ID_MAX, _IN_BATCH = 5_000, 500
#: The rows (or keys) one query of :func:`_read_columns` moves at most: fewer when a row can be long (text or JSON:
#: a card's text, a model's card data), as a query's arrays are held at once with their frame. At 3M, 100K cards a
#: query took ``analyze licenses`` from 877 to 1,033 MB; 30K: 853 MB, and the report 1,945 MB (10K: 1,954–1,959).
_ROWS_PER_QUERY, _WIDE_ROWS_PER_QUERY = 100_000, 30_000


def _rows_per_query(tbl: Any, columns: Sequence[str]) -> int:
    """How many rows (or keys) one query reading ``columns`` of ``tbl`` may move."""
    wide = any(isinstance(tbl.c[c].type, Text | JSON) for c in columns)
    return _WIDE_ROWS_PER_QUERY if wide else _ROWS_PER_QUERY


def _batches(keys: Sequence[Any], size: int) -> Iterator[Sequence[Any]]:
    """``keys`` (sorted) in batches of at most ``size``, in order."""
    for start in range(0, len(keys), size):
        yield keys[start:start + size]


def _of_keys(store: Store, tbl: Any, hub_col: str, hub: str, id_col: str, ids: Sequence[Any]) -> Any:
    """The condition of the rows of ``hub`` whose ``id_col`` is one of ``ids``. A SQLite table with rowids: the
    rowids found in the key's index, then their rows read in rowid order — the table's pages in order, half the time
    of one search of the table per key at 1M models."""
    if not _has_rowids(store, tbl):
        return and_(tbl.c[hub_col] == hub, store.among(tbl.c[id_col], ids))
    found, rowid = tbl.alias("found"), literal_column("rowid")
    return rowid.in_(select(rowid).select_from(found).where(found.c[hub_col] == hub,
                                                            store.among(found.c[id_col], ids)))


def _has_rowids(store: Store, tbl: Any) -> bool:
    """Whether ``tbl`` is a SQLite table with rowids (``metric_history`` has none: its rows live in its key)."""
    return store.engine.dialect.name == "sqlite" and tbl.dialect_options["sqlite"]["with_rowid"]


def _rowid_windows(conn: Any, tbl: Any, q: Any, scan_where: Any, size: int) -> Iterator[Any]:
    """``q`` over the whole of a SQLite table (its rows filtered by ``scan_where`` when given), as queries of
    consecutive ranges of ``size`` rowids, in order (each starting at a row: gaps are skipped): each a range of the
    table, together the table's scan."""
    rowid = literal_column("rowid")
    start = conn.scalar(select(func.min(rowid)).select_from(tbl))
    while start is not None:
        yield q.where(rowid >= start, rowid < start + size, *([scan_where] if scan_where is not None else []))
        start = conn.scalar(select(func.min(rowid)).select_from(tbl).where(rowid >= start + size))


def _read_columns(conn: Any, q: Any, tbl: Any, columns: tuple[str, ...], *,
                  in_table_order: bool = False) -> pl.DataFrame:
    """The rows of ``q`` (a query whose size its caller bounds, e.g. a batch of keys) as one frame.

    SQLite: each column comes as one JSON array built by the database (``json_group_array`` over ``q`` as a
    subquery, whose ``ORDER BY`` SQLite keeps under an aggregate) and decoded by polars, so no Python object is made
    per value: half the time of reading the rows through the driver. ``in_table_order`` adds ``_rowid``, the rows'
    place in the table (for the caller to sort by across queries). Other databases: the driver's rows
    (:func:`_fetch`)."""
    if conn.dialect.name != "sqlite" or any(_is_float(tbl.c[c]) for c in columns):  # SQLite's JSON rounds floats
        return _concat(tbl, columns, [_chunk(tbl, columns, rows) for rows in _fetch(conn, q)])
    names = (*columns, "_rowid") if in_table_order else columns
    sub = (q.add_columns(literal_column("rowid").label("_rowid")) if in_table_order else q).subquery()
    arrays = conn.execute(select(*(cast(func.json_group_array(sub.c[c]), LargeBinary) for c in names))).cursor.fetchone()
    out = {c: pl.Series([a], dtype=pl.Binary).cast(pl.String).str.json_decode(pl.List(_json_dtype(tbl, c)))[0].alias(c)
           for c, a in zip(names, arrays, strict=True)}  # UTF-8 bytes: a str would take up to 4 bytes a character
    frame = _typed(tbl, columns, out)
    return frame.with_columns(out["_rowid"]) if in_table_order else frame


def _json_dtype(tbl: Any, c: str) -> pl.DataType:
    """How a column of :func:`_read_columns` is decoded: text (JSON and datetimes are read as text), else its
    type's (booleans as SQLite's 0 / 1)."""
    if c == "_rowid":
        return pl.Int64()
    if c in _LIST_COLUMNS or c in _JSON_COLUMNS or _is_datetime(tbl.c[c]):
        return pl.String()
    dtype = _DTYPES.get(_python_type(tbl.c[c]), pl.String)
    return pl.Int64() if dtype == pl.Boolean else dtype()


def _read(store: Store, q: Any, tbl: Any, columns: tuple[str, ...], wanted: set[tuple[str, str]] | None,
          positions: tuple[int, ...]) -> list[pl.DataFrame]:
    """The query's rows as frames of at most ``_CHUNK_ROWS`` rows, keeping only ``wanted`` keys when given."""
    parts = []
    with store.engine.connect() as conn:
        for rows in _fetch(conn, q):  # bounded Python objects: peak memory is the frame's
            if wanted is not None:
                h, i = positions
                rows = [r for r in rows if (r[h], r[i]) in wanted]
            if rows:
                parts.append(_chunk(tbl, columns, rows))
    return parts


def _fetch(conn: Any, q: Any) -> Iterator[Sequence[Any]]:
    """The query's rows, ``_CHUNK_ROWS`` at a time. SQLite: the driver cursor's tuples — SQLAlchemy builds no row
    objects (a quarter of a scan's CPU); no column needs its processing, as JSON and datetimes are read as text
    and booleans are typed by :func:`_chunk`. Elsewhere a server-side cursor (PostgreSQL): the client never holds
    the whole result."""
    if conn.dialect.name == "sqlite":
        cursor = conn.execute(q).cursor  # not streamed: SQLAlchemy reads nothing ahead of the driver's cursor
        while rows := cursor.fetchmany(_CHUNK_ROWS):
            yield rows
        return
    result = conn.execution_options(stream_results=True, max_row_buffer=_CHUNK_ROWS).execute(q)
    while rows := result.fetchmany(_CHUNK_ROWS):
        yield rows


def _concat(tbl: Any, columns: tuple[str, ...], parts: list[pl.DataFrame]) -> pl.DataFrame:
    if not parts:
        return _chunk(tbl, columns, [])
    return pl.concat(parts, how="vertical") if len(parts) > 1 else parts[0]


#: Rows turned into polars columns at a time (Python row tuples of a whole table would dwarf the frame).
_CHUNK_ROWS = 100_000


def _chunk(tbl: Any, columns: tuple[str, ...], rows: Any) -> pl.DataFrame:
    return _typed(tbl, columns, {c: [r[i] for r in rows] for i, c in enumerate(columns)})


def _typed(tbl: Any, columns: tuple[str, ...], values_of: dict[str, Any]) -> pl.DataFrame:
    """The frame of ``columns`` from their values as read (lists or series), typed from the schema: list and JSON
    columns decoded, datetimes parsed."""
    out: dict[str, pl.Series] = {}
    for c in columns:
        col, values = tbl.c[c], values_of[c]
        if c in _LIST_COLUMNS:
            decoded = _series(c, values, pl.String).str.json_decode(pl.List(pl.String))
            out[c] = decoded.fill_null(pl.lit([], dtype=pl.List(pl.String)))
        elif c in _JSON_TEXT_COLUMNS:
            out[c] = _series(c, values, pl.String)
        elif c in _JSON_COLUMNS:
            out[c] = pl.Series(c, [orjson.loads(v) if isinstance(v, str) else v for v in values], dtype=pl.Object)
        elif _is_datetime(col):
            out[c] = _datetimes(c, values)
        else:
            dtype = _DTYPES.get(col.type.python_type, pl.String)  # SQLite's booleans are 0 / 1
            out[c] = _series(c, values, dtype, strict=dtype != pl.Boolean)
    return pl.DataFrame(out) if out else pl.DataFrame()


def _series(name: str, values: list[Any] | pl.Series, dtype: Any, strict: bool = True) -> pl.Series:
    """``values`` (read as Python values, or decoded already) as a series of ``dtype``."""
    if isinstance(values, pl.Series):
        return values.alias(name).cast(dtype, strict=strict)
    return pl.Series(name, values, dtype=dtype, strict=strict)


_DTYPES = {bool: pl.Boolean, int: pl.Int64, float: pl.Float64, str: pl.String}


def _is_datetime(column: Any) -> bool:
    return _python_type(column) is datetime


def _is_float(column: Any) -> bool:
    return _python_type(column) is float


def _python_type(column: Any) -> type | None:
    try:
        return column.type.python_type
    except NotImplementedError:
        return None


def _datetimes(name: str, values: list[Any] | pl.Series) -> pl.Series:
    """SQLite keeps datetimes as ISO text, PostgreSQL's driver returns datetime objects: one typed series."""
    if isinstance(values, pl.Series) and values.dtype == pl.String:
        return values.alias(name).str.to_datetime(time_unit="us", strict=False)
    if any(isinstance(v, str) for v in values):
        return pl.Series(name, values, dtype=pl.String).str.to_datetime(time_unit="us", strict=False)
    return pl.Series(name, values, dtype=pl.Datetime("us"))


def models(store: Store, *, hub: str | None = None, include_card_data: bool = False,
           as_of: datetime | None = None, keys: pl.DataFrame | None = None,
           columns: Sequence[str] | None = None) -> pl.DataFrame:
    """All models (one row per hub and id), or those of ``keys`` (hub, id). ``as_of`` keeps models created up to
    that time and not deleted then. ``columns``: only these besides ``hub``, ``id`` and ``key`` (default: every
    column but ``card_data``)."""
    wanted = set(columns) | {"hub", "id", "key"} if columns is not None else None
    cols = tuple(c for c in _MODEL_COLUMNS if (c in wanted if wanted is not None
                                               else include_card_data or c != "card_data"))
    tbl = Model.__table__  # type: ignore[attr-defined]
    where = tbl.c.hub == hub if hub else None
    df = table(store, Model, cols, where=where, keys=keys)
    return existing(df, as_of) if as_of is not None else df


def existing(models: pl.DataFrame, as_of: datetime) -> pl.DataFrame:
    """The ``models`` created up to ``as_of`` (or of unknown creation) and not deleted by then."""
    return models.filter((pl.col("created_at").is_null() | (pl.col("created_at") <= as_of))
                         & (pl.col("deleted_at").is_null() | (pl.col("deleted_at") > as_of)))


@dataclass(slots=True)
class StoreCounts:
    """Whole-store figures of a report's data quality, counted by the database: models and declared edges of the
    models that existed at a time, and the unresolved bases (hub, parent_raw, reason, children, edges)."""

    models: int
    edges: int
    unresolved: pl.DataFrame


def store_counts(store: Store, as_of: datetime) -> StoreCounts:
    """:class:`StoreCounts` as of a time (the models :func:`existing` keeps, and the edges of their children)."""
    return store_counts_at(store, [as_of])[0]


def store_counts_at(store: Store, times: Sequence[datetime]) -> list[StoreCounts]:
    """:func:`store_counts` as of each of ``times``, counted by the database in one pass over each table."""
    m, e = Model.__table__, Edge.__table__  # type: ignore[attr-defined]
    created = [or_(m.c.created_at.is_(None), m.c.created_at <= as_of) for as_of in times]
    alive = [and_(created[i], or_(m.c.deleted_at.is_(None), m.c.deleted_at > as_of)) for i, as_of in enumerate(times)]
    gone = [and_(created[i], m.c.deleted_at <= as_of) for i, as_of in enumerate(times)]  # of the deleted models
    joined = e.join(m, and_(e.c.hub == m.c.hub, e.c.child == m.c.id))
    per_time = [agg for a in alive for agg in (func.count(distinct(e.c.child)).filter(a), func.count().filter(a))]
    unresolved = (select(e.c.hub, e.c.parent_raw, e.c.reason, *per_time).select_from(joined)
                  .where(e.c.parent.is_(None)).group_by(e.c.hub, e.c.parent_raw, e.c.reason))
    with store.engine.connect() as conn:
        # the models created by then, less those deleted by then: each count reads an index that holds its columns
        # (the creation dates', the deleted models' partial one), not the table's wide rows
        made = conn.execute(select(*(func.count().filter(c) for c in created)).select_from(m)).one()
        lost = conn.execute(select(*(func.count().filter(g) for g in gone)).where(m.c.deleted_at.is_not(None))).one()
        models_n = [a - b for a, b in zip(made, lost, strict=True)]
        edges_n = conn.execute(select(*(func.count().filter(a) for a in alive)).select_from(joined)).one()
        rows = [tuple(r) for r in conn.execute(unresolved)]
    schema = {"hub": pl.String, "parent_raw": pl.String, "reason": pl.String, "children": pl.UInt32,
              "edges": pl.Int64}
    return [StoreCounts(int(models_n[i]), int(edges_n[i]), pl.DataFrame(
        [(*r[:3], r[3 + 2 * i], r[4 + 2 * i]) for r in rows if r[4 + 2 * i]], schema=schema, orient="row"))
        for i in range(len(times))]


def new_per_month(store: Store, as_of: datetime | None = None) -> pl.DataFrame:
    """Models created per month over the whole store (month ``YYYY-MM``, all_new), as of a time (the models
    :func:`existing` keeps; None: every model stored), counted by the database: only the counts are held."""
    return new_per_month_at(store, [as_of])[0]


def new_per_month_at(store: Store, times: Sequence[datetime | None]) -> list[pl.DataFrame]:
    """:func:`new_per_month` as of each of ``times``.

    Each month that has models is counted as a range of the ``(hub, created_at)`` index, the next such month found
    by a search of it (a ``GROUP BY`` of the month's text sorted the whole table: 2.7 s at 3M); the models deleted by
    a time are then taken off their months, read from the index of deleted models."""
    m = Model.__table__  # type: ignore[attr-defined]
    counts: list[dict[str, int]] = [{} for _ in times]
    with store.engine.connect() as conn:
        for hub in conn.scalars(select(m.c.hub).distinct()).all():
            dated = [m.c.hub == hub, m.c.created_at.is_not(None)]
            start = conn.scalar(select(func.min(m.c.created_at)).where(*dated))
            while start is not None:
                month = month_of(start)
                low, high = month_start(month), next_month_start(month)  # high: None after December 9999
                counted: dict[datetime | None, int] = {}  # by the time within the month (None: the whole month)
                for i, as_of in enumerate(times):
                    if as_of is not None and as_of < low:
                        continue
                    within = as_of if as_of is not None and (high is None or as_of < high) else None
                    if within not in counted:
                        end = ([m.c.created_at <= within] if within is not None
                               else [m.c.created_at < high] if high is not None else [])
                        counted[within] = conn.scalar(select(func.count()).where(*dated, m.c.created_at >= low, *end))
                    counts[i][month] = counts[i].get(month, 0) + counted[within]
                start = (conn.scalar(select(func.min(m.c.created_at)).where(*dated, m.c.created_at >= high))
                         if high is not None else None)
        if any(t is not None for t in times):
            gone = conn.execute(select(m.c.created_at, m.c.deleted_at).where(m.c.created_at.is_not(None),
                                                                            m.c.deleted_at.is_not(None))).all()
            for i, as_of in enumerate(times):
                for created, deleted in gone if as_of is not None else ():
                    if created <= as_of and deleted <= as_of:
                        counts[i][month_of(created)] -= 1
    schema = {"month": pl.String, "all_new": pl.Int64}
    return [pl.DataFrame(sorted((k, v) for k, v in c.items() if v), schema=schema, orient="row") for c in counts]


def edges(store: Store, *, hub: str | None = None, children: pl.DataFrame | None = None) -> pl.DataFrame:
    """Declared lineage edges: hub, child, parent (None when unresolved), parent_raw, relation, rule, status, reason.
    ``children`` (hub, id) keeps the edges of those children only."""
    cols = ("hub", "child", "parent_raw", "parent", "relation", "declared", "rule", "status", "reason")
    tbl = Edge.__table__  # type: ignore[attr-defined]
    keys = None if children is None else children.select("hub", pl.col("id").alias("child"))
    return table(store, Edge, cols, where=tbl.c.hub == hub if hub else None, keys=keys)


def cards(store: Store, *, hub: str | None = None, with_text: bool = True,
          keys: pl.DataFrame | None = None) -> pl.DataFrame:
    """Fetched model cards (text bounded by the crawler), their fetch sha, parsed front matter (as JSON text) and
    any error; of the models ``keys`` (hub, id) only when given."""
    cols = ("hub", "id", "sha", "fetched_at", "truncated", "error", "front_matter") + (("text",) if with_text else ())
    tbl = Card.__table__  # type: ignore[attr-defined]
    return table(store, Card, cols, where=tbl.c.hub == hub if hub else None, keys=keys)


def runs(store: Store) -> pl.DataFrame:
    """Crawl runs, oldest first."""
    cols = ("run_id", "hub", "mode", "started_at", "ended_at", "status", "records", "changed", "family_models",
            "roots", "undeclared", "deleted", "cards_fetched", "requests_api", "requests_resolvers", "retries",
            "rate_limit_waits", "quarantined", "errors", "resumes")
    return table(store, CrawlRun, cols).sort("run_id")


def snapshots(store: Store, *, hub: str | None = None, keys: pl.DataFrame | None = None,
              names: pl.DataFrame | None = None) -> pl.DataFrame:
    """Per-run metric snapshots (run_id, hub, id, taken_at, downloads, downloads_all_time, likes); of ``keys``
    (hub, id) only when given (``names``: their models' ``hub, id, key`` when already read, a superset is fine).

    The store keeps changes only, by model key (:class:`crawler.store.schema.MetricSnapshot`); here every full
    sweep gets a row for each model that existed then, with its latest values up to that run, as if the sweep had
    written them all. Other runs' rows are as stored; so are the runs of earlier versions, which wrote every row.
    ``taken_at`` is the run's start (null for a run the store has no record of).
    """
    run_tbl, model_tbl = CrawlRun.__table__, Model.__table__  # type: ignore[attr-defined]
    if names is None:
        names = table(store, Model, ("hub", "id", "key"), where=model_tbl.c.hub == hub if hub else None, keys=keys)
    elif keys is not None:
        names = names.join(keys.select("hub", "id"), on=["hub", "id"], how="semi")
    started = table(store, CrawlRun, ("run_id", "started_at"), where=run_tbl.c.hub == hub if hub else None)
    stored = (_history(store, hub, names.select("hub", "key") if keys is not None else None)
              .join(names, on=["hub", "key"], maintain_order="left"))  # the ids of the stored rows, fewer than carried
    return (_carry_forward(stored, _carried_sweeps(store, hub))
            .join(started.rename({"started_at": "taken_at"}), on="run_id", how="left", maintain_order="left")
            .select("run_id", "hub", "id", "taken_at", "downloads", "downloads_all_time", "likes"))


def _history(store: Store, hub: str | None, keys: pl.DataFrame | None) -> pl.DataFrame:
    """The stored metric history (run_id, hub, key, downloads, downloads_all_time, likes, deleted) in run order,
    of ``hub`` and of the models ``keys`` (hub, key) only when given: the table is laid out by model, so each
    model's rows are one range of it."""
    tbl = MetricSnapshot.__table__  # type: ignore[attr-defined]
    cols = ("run_id", "hub", "key", "downloads", "downloads_all_time", "likes", "deleted")
    q = select(*(tbl.c[c] for c in cols)).order_by(*tbl.primary_key.columns)  # the table's own order
    if keys is None:
        parts = _read(store, q if hub is None else q.where(tbl.c.hub == hub), tbl, cols, None, ())
    else:
        keys = keys.select("hub", "key").drop_nulls()
        parts = _read_keys(store, q, tbl, cols, keys if hub is None else keys.filter(pl.col("hub") == hub))
    return _concat(tbl, cols, parts).sort("run_id", maintain_order=True)  # by run, hub, key


def column_names(store: Store, name: str) -> set[str]:
    """The columns a table of the store has (one written by an earlier version may lack newer ones)."""
    return {c["name"] for c in inspect(store.engine).get_columns(name)}


def _carried_sweeps(store: Store, hub: str | None) -> pl.DataFrame:
    """The full sweeps that wrote changed values only (run_id, hub), each with ``since``: the latest earlier
    complete sweep of an earlier version on its hub (-1 if none) — at that run, a model without a row was gone, so
    a value older than it is not carried (earlier versions wrote no ``deleted`` rows)."""
    tbl = CrawlRun.__table__  # type: ignore[attr-defined]
    runs = table(store, CrawlRun, ("run_id", "hub", "mode", "status", "snapshot_rows"),
                 where=tbl.c.hub == hub if hub else None).sort("run_id")
    full = runs.filter(pl.col("mode") == "full")
    every = (full.filter((pl.col("snapshot_rows") == "every") & (pl.col("status") == "success"))
             .select("hub", pl.col("run_id").alias("since"), pl.col("run_id").alias("_at")))
    sweeps = full.filter(pl.col("snapshot_rows").is_null()).select("run_id", "hub")
    return (sweeps.join_asof(every, left_on="run_id", right_on="_at", by="hub", strategy="backward",
                             check_sortedness=False)  # both sorted by run id above
            .select("run_id", "hub", pl.col("since").fill_null(-1)))


def _carry_forward(stored: pl.DataFrame, sweeps: pl.DataFrame) -> pl.DataFrame:
    """The rows of :func:`snapshots` (run_id and the stored rows' other columns: hub, key, the counters, …, sorted
    by run) from the stored changes (sorted by run, with their ``deleted`` flag) and ``sweeps``. A stored row holds
    at its hub's sweeps from its run up to its model's next row, and not at a sweep that an earlier version's
    complete sweep came in between."""
    values = [c for c in stored.columns if c not in ("run_id", "hub", "key", "deleted")]
    kept = stored.filter(pl.col("deleted").is_null() | ~pl.col("deleted"))
    out = kept.join(sweeps.select("run_id", "hub"), on=["run_id", "hub"], how="anti",
                    maintain_order="left").select("run_id", "hub", "key", *values)
    for (hub,), at in sweeps.sort("run_id").partition_by("hub", as_dict=True).items():
        runs, since = at["run_id"], at["since"]  # both ascending (``since``: the latest complete sweep before)
        rows = (stored.filter(pl.col("hub") == hub).sort("key", "run_id")
                .with_columns(pl.when(pl.col("key").shift(-1) == pl.col("key")).then(pl.col("run_id").shift(-1))
                              .fill_null(runs.max() + 1).alias("_next"))
                .filter(pl.col("deleted").is_null() | ~pl.col("deleted")))
        held = rows.select("hub", "key", *values, pl.int_ranges(
            runs.search_sorted(rows["run_id"], side="left"),
            pl.min_horizontal(runs.search_sorted(rows["_next"], side="left"),
                              since.search_sorted(rows["run_id"], side="right"))).alias("_at")).explode("_at")
        held = held.drop_nulls("_at").sort("_at", maintain_order=True)
        out = out.merge_sorted(held.select(runs.gather(held["_at"]).alias("run_id"), "hub", "key", *values),
                               key="run_id")
    return out


def quarantine(store: Store) -> pl.DataFrame:
    """Quarantined records and cards with the reason (the raw payload is left out)."""
    cols = ("hub", "key", "kind", "run_id", "url", "reason", "seen_at")
    return table(store, Quarantine, cols)


def mirrors(store: Store) -> pl.DataFrame:
    """ModelScope → Hugging Face mirror links with rule and confidence."""
    return table(store, Mirror, ("modelscope_id", "hf_id", "rule", "confidence"))


@dataclass(slots=True)
class FamilyFrames:
    """What the analyses of one family read: its members' edges, the models they name (members, declared bases,
    repos whose licence file a member's ``license_link`` points at), those models' cards, and optionally the
    members' metric snapshots."""

    models: pl.DataFrame
    edges: pl.DataFrame
    cards: pl.DataFrame
    snapshots: pl.DataFrame | None = None


@rare_collections()
def family_frames(store: Store, members: pl.DataFrame, *, with_cards: bool = True,
                  with_snapshots: bool = False, model_columns: Sequence[str] | None = None,
                  store_edges: pl.DataFrame | None = None, store_models: pl.DataFrame | None = None) -> FamilyFrames:
    """The frames of the family ``members`` (hub, id, …), each filtered while its table is scanned.
    ``model_columns``: the model columns to read (:func:`models`); without ``license_link`` the repos a member's
    licence link points at are not read. ``store_edges``: every declared edge (:func:`edges`) when the caller has
    read them: the members' are taken from them, not read again. ``store_models``: models the caller has read, with
    ``key`` and ``model_columns``: those the family names are taken from them, only the others are read."""
    keys = members.select("hub", "id").unique()
    fam_edges = (edges(store, children=keys) if store_edges is None
                 else store_edges.join(keys.rename({"id": "child"}), on=["hub", "child"], how="semi",
                                       maintain_order="left"))
    bases = fam_edges.filter(pl.col("parent").is_not_null()).select("hub", pl.col("parent").alias("id"))
    named = pl.concat([keys, bases]).unique()
    if store_models is None:
        fam_models = models(store, keys=named, columns=model_columns)
    else:
        held = store_models.join(named, on=["hub", "id"], how="semi", maintain_order="left")
        unread = named.join(held, on=["hub", "id"], how="anti")
        fam_models = models(store, keys=unread, columns=model_columns)
        fam_models = pl.concat([held.select(fam_models.columns), fam_models], how="vertical")
    if "license_link" in fam_models.columns:
        linked = (fam_models.select("hub", pl.col("license_link").map_elements(link_repo, return_dtype=pl.String)
                                    .alias("id")).drop_nulls().unique().join(named, on=["hub", "id"], how="anti"))
        if linked.height:
            fam_models = pl.concat([fam_models, models(store, keys=linked, columns=model_columns)], how="vertical")
            named = pl.concat([named, linked])
    return FamilyFrames(models=fam_models, edges=fam_edges,
                        cards=cards(store, keys=named) if with_cards else cards(store, keys=named.head(0)),
                        snapshots=snapshots(store, keys=keys, names=fam_models.select("hub", "id", "key"))
                        if with_snapshots else None)
