"""One engine for SQLite or PostgreSQL, and batched idempotent upserts (no per-record ORM round trips)."""

from __future__ import annotations

import functools
import itertools
import operator
import sqlite3
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import contextmanager
from datetime import datetime
from typing import Any, NamedTuple

import orjson
from sqlalchemy import (
    JSON,
    BigInteger,
    Connection,
    DateTime,
    Engine,
    LargeBinary,
    MetaData,
    String,
    any_,
    bindparam,
    cast,
    delete,
    event,
    func,
    inspect,
    or_,
    select,
    text,
    tuple_,
    union_all,
)
from sqlalchemy.dialects.postgresql import ARRAY
from sqlmodel import SQLModel, create_engine

from crawler import config
from crawler.store.schema import MetricSnapshot, Model
from crawler.store.urls import check_store_exists, redact_url


class StoreError(Exception):
    """The store cannot be opened or written."""


class StoredModel(NamedTuple):
    """The columns of a stored model that decide what a page write does with a listed record."""

    record_hash: str
    deleted_at: datetime | None
    downloads: int | None
    downloads_all_time: int | None
    likes: int | None
    last_seen_run: int | None
    key: int | None
    inference: str | None
    inference_providers: list[str] | None


class Store:
    """A handle on the store: the engine plus the few bulk verbs the crawler and analyses need."""

    def __init__(self, url: str, engine: Engine):
        self.url = url
        self.engine = engine

    @property
    def dialect(self) -> str:
        return self.engine.dialect.name

    @contextmanager
    def transaction(self) -> Iterator[Connection]:
        """One transaction (the crawler uses one per page)."""
        with self.engine.begin() as conn:
            yield conn

    def upsert(self, conn: Connection, table: type[SQLModel], rows: Sequence[dict[str, Any]]) -> None:
        """Insert rows, replacing those with the same primary key (all rows share their keys).

        The hot path of every crawl: one driver-level ``executemany`` of a statement built once per table and
        column set from the schema (values are always bound parameters), with JSON and datetimes converted here
        exactly as SQLAlchemy would store them, instead of SQLAlchemy's per-value processing.
        """
        if not rows:
            return
        sql, values, converted, defaults = self._upsert_plan(table, tuple(rows[0].keys()))
        columns: list[Iterable[Any]] = list(zip(*map(values, rows), strict=True))  # converted a column at a time
        for pos, convert in converted:
            columns[pos] = map(convert, columns[pos])
        columns.extend(itertools.repeat(default, len(rows)) for default in defaults)
        conn.exec_driver_sql(sql, list(zip(*columns, strict=True)))

    @functools.cache  # noqa: B019 - one plan per (table, columns); Store objects live as long as the process
    def _upsert_plan(self, table: type[SQLModel], cols: tuple[str, ...]) -> tuple[
            str, Callable[[dict[str, Any]], tuple[Any, ...]], tuple[tuple[int, Any], ...], tuple[Any, ...]]:
        """The statement, the given columns' values of a row, the converters of those that need one (by position),
        and the schema defaults of columns not given.

        A new row gets the defaults of the columns it does not name (as SQLAlchemy would); an existing row keeps
        them: only the given columns are updated on conflict.
        """
        tbl = table.__table__  # type: ignore[attr-defined]
        pk = [c.name for c in tbl.primary_key.columns]
        missing = [c for c in tbl.c if c.name not in cols and c.default is not None and c.default.is_scalar]
        names = [*cols, *(c.name for c in missing)]
        mark = "%s" if self.dialect == "postgresql" else "?"
        updates = ", ".join(f"{c} = excluded.{c}" for c in cols if c not in pk)
        conflict = f"DO UPDATE SET {updates}" if updates else "DO NOTHING"
        sql = (f"INSERT INTO {tbl.name} ({', '.join(names)}) VALUES ({', '.join([mark] * len(names))}) "  # noqa: S608
               f"ON CONFLICT ({', '.join(pk)}) {conflict}")
        defaults = tuple((self._converter(c.type) or (lambda v: v))(c.default.arg) for c in missing)
        converted = tuple((pos, f) for pos, c in enumerate(cols) if (f := self._converter(tbl.c[c].type)))
        values = operator.itemgetter(*cols) if len(cols) > 1 else lambda row: (row[cols[0]],)
        return sql, values, converted, defaults

    def _converter(self, column_type: Any) -> Any:
        """How a Python value of this column type is handed to the driver (None: as it is)."""
        if isinstance(column_type, JSON):
            return _json_param
        if isinstance(column_type, DateTime) and self.dialect == "sqlite":
            return _sqlite_datetime
        return None

    def refresh_statistics(self) -> None:
        """Have the database measure its tables again (``ANALYZE``), so its planner knows their sizes: without it
        SQLite reads a whole table through an index on ``hub`` (every row a random seek, 5–7× slower at 1M models)
        instead of in order. After a crawl's listing, when the tables have grown; cheap (0.6 s at 1M models)."""
        names = ", ".join(t.name for t in SQLModel.metadata.sorted_tables)  # schema names, never input
        with self.transaction() as conn:
            conn.exec_driver_sql("ANALYZE" if self.dialect == "sqlite" else f"ANALYZE {names}")

    def among(self, column: Any, values: Sequence[Any]) -> Any:
        """``column IN values`` evaluated by the database with the values (integers or strings) as one parameter,
        however many there are: SQLite reads them from a JSON array, PostgreSQL from an array."""
        if self.dialect == "postgresql":
            kind = BigInteger if values and isinstance(values[0], int) else String
            return column == any_(bindparam("among", list(values), type_=ARRAY(kind), unique=True))
        return column.in_(select(func.json_each(orjson.dumps(list(values)).decode()).table_valued("value").c.value))

    def not_ascii(self, column: Any) -> Any:
        """Whether the text ``column`` holds a character beyond ASCII: where the database's ``lower()`` may fold case
        unlike Python's ``str.lower`` (SQLite folds ASCII letters only)."""
        if self.dialect == "postgresql":
            return func.octet_length(column) != func.length(column)
        return func.length(cast(column, LargeBinary)) != func.length(column)

    def models_by_owner(self, conn: Connection, hub: str, owners: Iterable[str]) -> list[tuple[str, str | None]]:
        """``(id, author)`` of the live models of ``hub`` whose author is one of ``owners`` (lower case) in any case,
        and of those without an author (whose id's owner counts: the caller decides). The authors come from a scan
        of the author index, chosen by the database among the hub's distinct authors (every author beyond ASCII too,
        whose case it may fold unlike Python, which decides): the test runs once per author, not once per model (1M
        models: 1.1 → 0.55 s); their models are two searches of the index, not an ``OR`` over a scan."""
        m = Model.__table__  # type: ignore[attr-defined]
        owners = set(owners)
        author = select(m.c.author).where(m.c.hub == hub).distinct().subquery().c.author
        maybe = or_(self.among(func.lower(author), sorted(owners)), self.not_ascii(author))
        authors = [a for a in conn.scalars(select(author).where(maybe)) if a.lower() in owners]
        live = select(m.c.id, m.c.author).where(m.c.hub == hub, m.c.deleted_at.is_(None))
        rows = union_all(live.where(self.among(m.c.author, [*authors, ""])), live.where(m.c.author.is_(None)))
        return [(mid, author) for mid, author in conn.execute(rows)]

    def delete_where_in(self, conn: Connection, table: type[SQLModel], hub: str, column: str, values: Iterable[str]) -> None:
        """Delete the rows of ``hub`` whose ``column`` is one of ``values`` (bounded batches)."""
        tbl = table.__table__  # type: ignore[attr-defined]
        values = list(values)
        for start in range(0, len(values), 5_000):
            chunk = values[start : start + 5_000]
            conn.execute(delete(tbl).where(tbl.c.hub == hub, tbl.c[column].in_(chunk)))

    def stored_models(self, conn: Connection, hub: str, ids: Sequence[str]) -> dict[str, StoredModel]:
        """What the store holds of the given ids of one hub (:class:`StoredModel`), by id."""
        if not ids:
            return {}
        tbl = Model.__table__  # type: ignore[attr-defined]
        q = select(*(tbl.c[c] for c in ("id", *StoredModel._fields))).where(tbl.c.hub == hub, self.among(tbl.c.id, ids))
        return {r[0]: StoredModel(*r[1:]) for r in conn.execute(q)}

    def holds_models(self, conn: Connection, hub: str | None = None) -> bool:
        """Whether the store holds any model (of ``hub``, when given; deleted ones too)."""
        tbl = Model.__table__  # type: ignore[attr-defined]
        q = select(tbl.c.id) if hub is None else select(tbl.c.id).where(tbl.c.hub == hub)
        return conn.execute(q.limit(1)).first() is not None

    def next_model_key(self, conn: Connection, hub: str) -> int:
        """The first ``Model.key`` of ``hub`` not given yet (keys are never reused: deleted models keep theirs)."""
        tbl = Model.__table__  # type: ignore[attr-defined]
        return int(conn.execute(select(func.coalesce(func.max(tbl.c.key), 0)).where(tbl.c.hub == hub)).scalar_one()) + 1

    def update_by_key(self, conn: Connection, table: type[SQLModel], rows: Sequence[dict[str, Any]]) -> None:
        """Set the other given columns of existing rows, found by their primary key (all rows share their keys;
        one ``executemany``; JSON and dates converted as :meth:`upsert` does)."""
        if not rows:
            return
        tbl = table.__table__  # type: ignore[attr-defined]
        pk = [c.name for c in tbl.primary_key.columns]
        cols = [c for c in rows[0] if c not in pk]
        convert = [self._converter(tbl.c[c].type) or (lambda v: v) for c in cols]
        mark = "%s" if self.dialect == "postgresql" else "?"
        sql = (f"UPDATE {tbl.name} SET {', '.join(f'{c} = {mark}' for c in cols)} "  # noqa: S608 - schema names
               f"WHERE {' AND '.join(f'{c} = {mark}' for c in pk)}")
        conn.exec_driver_sql(sql, [(*(f(r[c]) for f, c in zip(convert, cols, strict=True)), *(r[c] for c in pk))
                                   for r in rows])

    def count(self, table: type[SQLModel], **where: Any) -> int:
        tbl = table.__table__  # type: ignore[attr-defined]
        q = select(func.count()).select_from(tbl)
        for k, v in where.items():
            q = q.where(tbl.c[k] == v)
        with self.engine.connect() as conn:
            return int(conn.execute(q).scalar_one())

    def keys_in(self, conn: Connection, table: type[SQLModel], keys: Sequence[tuple[str, str]]) -> set[tuple[str, str]]:
        """Which ``(hub, id)`` keys exist in ``table``."""
        tbl = table.__table__  # type: ignore[attr-defined]
        found: set[tuple[str, str]] = set()
        for start in range(0, len(keys), 2_000):
            chunk = list(keys[start : start + 2_000])
            q = select(tbl.c.hub, tbl.c.id).where(tuple_(tbl.c.hub, tbl.c.id).in_(chunk))
            found.update((r.hub, r.id) for r in conn.execute(q))
        return found


def _json_dumps(value: Any) -> str:
    return orjson.dumps(value).decode()


def _json_param(value: Any) -> str | None:
    return None if value is None else orjson.dumps(value).decode()


def _sqlite_datetime(value: datetime | None) -> str | None:
    """SQLAlchemy's SQLite storage format (always with microseconds), so string comparisons stay consistent."""
    if value is None:
        return None
    return value.isoformat(" ", "microseconds")


def _null(value: None) -> None:
    """None as the driver binds it (NULL)."""
    return value


# Python's sqlite3 (before 3.12) binds an int, float or str as it is and looks up an adapter for any other
# parameter. For None (several in a model row) and a bool (an edge's ``declared``) the lookup ends in a formatted
# AttributeError: 280 ns a value against 65 ns for an int. An adapter registered for each answers with what the driver
# bound before (NULL; 0 or 1) in half that time.
sqlite3.register_adapter(type(None), _null)
sqlite3.register_adapter(bool, int)


def _sqlite_pragmas(dbapi_conn: Any, _record: Any, *, page_cache_mb: int | None = None) -> None:
    cur = dbapi_conn.cursor()
    cur.execute("PRAGMA journal_mode=WAL")
    cur.execute("PRAGMA synchronous=NORMAL")
    cur.execute("PRAGMA wal_autocheckpoint=10000")  # ~40 MB of WAL between checkpoints (fewer copies per sweep)
    cur.execute("PRAGMA busy_timeout=30000")
    if page_cache_mb is not None:
        cur.execute(f"PRAGMA cache_size=-{int(page_cache_mb) * 1024}")  # in KiB when negative; an int, not input
    cur.close()


def open_store(url: str | None = None, *, create: bool = True, page_cache_mb: int | None = None) -> Store:
    """Open (and by default create) the store at ``url`` (see :func:`crawler.config.db_url`). ``page_cache_mb``: on
    SQLite, the most memory each connection keeps of the store's pages (SQLite's default is 2 MB), for a writer whose
    indexes outgrow that."""
    url = config.db_url(url)
    if url.startswith("postgresql://"):
        url = "postgresql+psycopg://" + url[len("postgresql://") :]
    # PostgreSQL: text is read as UTF-8 whatever the database says, so a database of another encoding is refused
    # below with its name instead of failing in the driver
    connect_args = {"client_encoding": "utf8"} if url.startswith("postgresql") else {}
    try:
        engine = create_engine(url, pool_pre_ping=True, json_serializer=_json_dumps, json_deserializer=orjson.loads,
                               connect_args=connect_args)
        if engine.dialect.name == "sqlite":
            event.listen(engine, "connect", functools.partial(_sqlite_pragmas, page_cache_mb=page_cache_mb))
        elif engine.dialect.name == "postgresql":
            _check_encoding(engine, url)
        if create:
            SQLModel.metadata.create_all(engine)
            _add_missing_columns(engine)
            _move_legacy_history(engine)
            _lay_history_by_model(engine)
            if engine.dialect.name == "postgresql":
                _widen_counters(engine)
    except StoreError:
        raise
    except Exception as exc:  # noqa: BLE001 - turned into one clear line by the CLI
        raise StoreError(f"cannot open store {redact_url(url)}: {driver_error(exc)}") from exc
    return Store(url, engine)


def driver_error(exc: BaseException) -> str:
    """The database driver's error behind ``exc`` in one line: its class and first line (without SQLAlchemy's
    wrapper and second line)."""
    cause = getattr(exc, "orig", None) or exc
    return f"{cause.__class__.__name__}: {(str(cause).splitlines() or [''])[0]}"


def _check_encoding(engine: Engine, url: str) -> None:
    """Refuse a PostgreSQL database that is not UTF8: hubtree's text is Unicode, and its case-insensitive id matching
    needs a database that counts and folds characters, not bytes (``length``, ``lower``; SQL_ASCII counts bytes)."""
    with engine.connect() as conn:
        encoding = conn.exec_driver_sql("SHOW server_encoding").scalar_one()
    if encoding.upper() != "UTF8":
        raise StoreError(f"cannot open store {redact_url(url)}: its encoding is {encoding}, hubtree needs UTF8 "
                         "(createdb --encoding=UTF8 --template=template0 NAME)")


#: Counter columns created 32-bit by earlier versions on PostgreSQL, widened to 64-bit when a store is opened.
_COUNTERS = {"model": ("downloads", "downloads_all_time", "likes")}


def _widen_counters(engine: Engine) -> None:
    """``ALTER … TYPE BIGINT`` for the counter columns an older PostgreSQL store still has as ``integer``."""
    q = text("SELECT table_name, column_name FROM information_schema.columns WHERE table_schema = current_schema() "
             "AND data_type = 'integer' AND table_name = 'model'")
    with engine.begin() as conn:
        narrow = [(t, c) for t, c in conn.execute(q) if c in _COUNTERS.get(t, ())]
        for table, column in narrow:  # names from the fixed table above, never from input
            conn.execute(text(f"ALTER TABLE {table} ALTER COLUMN {column} TYPE BIGINT"))


def _add_missing_columns(engine: Engine) -> None:
    """``ALTER TABLE … ADD COLUMN`` for each nullable schema column an existing store lacks (added by a later
    version), and each index it lacks. When ``model`` gains a column read from records, its record hashes are
    cleared: the next crawl rewrites every row and fills the new columns (an unchanged record is otherwise skipped);
    a store gaining ``key`` has its models numbered."""
    found = inspect(engine)
    with engine.begin() as conn:
        for table in SQLModel.metadata.sorted_tables:
            if not found.has_table(table.name):
                continue
            have = {c["name"] for c in found.get_columns(table.name)}
            added = [c for c in table.columns if c.name not in have and c.nullable and not c.primary_key]
            for column in added:  # names and types from the schema, never from input
                conn.execute(text(f"ALTER TABLE {table.name} ADD COLUMN {column.name} "
                                  f"{column.type.compile(engine.dialect)}"))
            if any(c.name != "key" for c in added) and table.name == "model":  # the key is not read from records
                conn.execute(text("UPDATE model SET record_hash = ''"))
            if any(c.name == "key" for c in added) and table.name == "model":
                _number_models(conn)
            for index in table.indexes:
                index.create(conn, checkfirst=True)
            if any(c.name == "snapshot_rows" for c in added):
                _upgrade_snapshot_history(conn)


def _upgrade_snapshot_history(conn: Connection) -> None:
    """A store of an earlier version, whose runs wrote a metric snapshot for every listed model: its runs are marked
    so (``snapshot_rows = 'every'``; not a run that will be resumed, whose next pages write changes only), and each
    model's counters are set to its latest snapshot's — earlier versions left them as of the record's last edit —
    so that a changed value is told from the stored one (``crawler.ingest``)."""
    runs = conn.execute(text("SELECT run_id, status, checkpoint FROM crawl_run")).all()
    finished = [r.run_id for r in runs if r.status not in ("running", "partial")
                or (_json_value(r.checkpoint) or {}).get("phase") == "done"]
    for start in range(0, len(finished), 5_000):
        conn.execute(text("UPDATE crawl_run SET snapshot_rows = 'every' WHERE run_id IN :ids")
                     .bindparams(bindparam("ids", expanding=True)), {"ids": finished[start : start + 5_000]})
    conn.execute(text(
        "UPDATE model SET downloads = s.downloads, downloads_all_time = s.downloads_all_time, likes = s.likes "
        "FROM (SELECT hub, id, downloads, downloads_all_time, likes, "
        "      row_number() OVER (PARTITION BY hub, id ORDER BY run_id DESC) AS n FROM metric_snapshot) AS s "
        "WHERE s.n = 1 AND s.hub = model.hub AND s.id = model.id"))


def _number_models(conn: Connection) -> None:
    """Give every model of a store of an earlier version its ``Model.key`` (1, 2, … in each hub, by id)."""
    conn.execute(text(
        "UPDATE model SET key = n.k "
        "FROM (SELECT hub, id, row_number() OVER (PARTITION BY hub ORDER BY id) AS k FROM model) AS n "
        "WHERE n.hub = model.hub AND n.id = model.id"))


def _move_legacy_history(engine: Engine) -> None:
    """Earlier versions kept the metric history in ``metric_snapshot``, a row naming its model by hub and id with
    the time of its page: the rows move to ``metric_history`` (by ``Model.key``, as of their run's start) and the
    old table is dropped, in one transaction. A row of a model the store does not hold (no version wrote one)
    stops the move, and the store is left as it was."""
    found = inspect(engine)
    if not found.has_table("metric_snapshot"):
        return
    deleted = "s.deleted" if "deleted" in {c["name"] for c in found.get_columns("metric_snapshot")} else "NULL"
    with engine.begin() as conn:
        moved = conn.execute(text(
            "INSERT INTO metric_history (run_id, hub, key, downloads, downloads_all_time, likes, deleted) "  # noqa: S608
            f"SELECT s.run_id, s.hub, m.key, s.downloads, s.downloads_all_time, s.likes, {deleted} "
            "FROM metric_snapshot AS s JOIN model AS m ON m.hub = s.hub AND m.id = s.id")).rowcount
        held = conn.execute(text("SELECT count(*) FROM metric_snapshot")).scalar_one()
        if moved != held:
            raise StoreError(f"metric_snapshot has {held - moved} row(s) of models the store does not hold: "
                             "the history was not moved to metric_history")
        conn.execute(text("DROP TABLE metric_snapshot"))


def _lay_history_by_model(engine: Engine) -> None:
    """Earlier versions laid ``metric_history`` out in run order (primary key run, hub, key): its rows are laid out
    by model (:class:`MetricSnapshot`), in one transaction — SQLite writes a copy in the new order that replaces
    the table, PostgreSQL rebuilds the primary key's index. A process opening the store meanwhile waits for it."""
    history = MetricSnapshot.__table__  # type: ignore[attr-defined]
    wanted = [c.name for c in history.primary_key.columns]
    if inspect(engine).get_pk_constraint(history.name)["constrained_columns"] == wanted:
        return
    quote = engine.dialect.identifier_preparer.quote  # names from the schema and the catalogue, never from input
    key = ", ".join(quote(c) for c in wanted)
    with engine.begin() as conn:
        if engine.dialect.name == "sqlite":
            conn.exec_driver_sql("BEGIN IMMEDIATE")  # DDL included; the driver begins before DML only
        found = inspect(conn).get_pk_constraint(history.name)
        if found["constrained_columns"] == wanted:  # laid out by another process while this one waited
            return
        if engine.dialect.name == "postgresql":
            conn.execute(text(f"ALTER TABLE {history.name} DROP CONSTRAINT {quote(found['name'])}, "
                              f"ADD PRIMARY KEY ({key})"))
            return
        copy = history.to_metadata(MetaData(), name=f"{history.name}_by_model")
        copy.create(conn)
        columns = ", ".join(quote(c.name) for c in history.columns)
        conn.execute(text(f"INSERT INTO {copy.name} ({columns}) "  # noqa: S608
                          f"SELECT {columns} FROM {history.name} ORDER BY {key}"))
        conn.execute(text(f"DROP TABLE {history.name}"))
        conn.execute(text(f"ALTER TABLE {copy.name} RENAME TO {history.name}"))


def _json_value(value: Any) -> Any:
    """A JSON column read with raw SQL: text on SQLite, decoded already on PostgreSQL."""
    return orjson.loads(value) if isinstance(value, str | bytes) else value


def open_existing_store(url: str | None = None) -> Store:
    """Open the store at ``url``, which must exist (:func:`check_store_exists`); a store of an earlier version is
    upgraded as :func:`open_store` does (nothing is written to a store of this version)."""
    return open_store(check_store_exists(url))
