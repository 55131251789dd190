"""Rows a crawl writes: one page of raw hub records (idempotently), and the card row.

The page's models, their declared edges, the metric snapshot, quarantined records and the crawl checkpoint
are written in one transaction (the page's own, :func:`write_page`, or the caller's, :func:`write_parsed_page`), so a
crawl killed at any moment resumes from the last committed page without losing or duplicating anything.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import orjson
from sqlalchemy import and_, func, select, update

from crawler.cards import bound_text, parse_front_matter
from crawler.config import MAX_QUARANTINE_BYTES
from crawler.id_filter import WrittenIds
from crawler.records import Glance, Live, ParsedModel, RecordError, RecordReader, now_utc
from crawler.records_hf import HF_RECORDS
from crawler.safe_values import clean_text
from crawler.store.db import Store, StoredModel
from crawler.store.schema import CrawlRun, Edge, MetricSnapshot, Model, Quarantine

logger = logging.getLogger(__name__)


@dataclass(slots=True)
class PageResult:
    """What writing one page did."""

    records: int = 0
    repeats: int = 0  # of ``records``, how many this run had already listed (a run's pages may overlap)
    changed: int = 0
    quarantined: int = 0

    def counts(self) -> dict[str, int]:
        """What the page adds to the run's counters (a model this run had already listed is not counted again)."""
        return {"records": self.records - self.repeats, "changed": self.changed, "quarantined": self.quarantined}


def quarantine_row(hub: str, key: str, reason: str, raw: Any, *, kind: str = "record", run_id: int | None = None,
                   url: str | None = None) -> dict[str, Any]:
    """A quarantine row with the raw payload bounded in size (and storable: no NULs, valid UTF-8)."""
    if isinstance(raw, str):
        text = raw
    else:
        try:
            text = orjson.dumps(raw, default=str).decode("utf-8", "replace")
        except orjson.JSONEncodeError:  # integers beyond 64 bits, lone surrogates: Python's repr keeps them
            text = repr(raw)
    if len(text) > MAX_QUARANTINE_BYTES:
        text = text[:MAX_QUARANTINE_BYTES] + "…[truncated]"
    return {"hub": hub, "key": clean_text(key[:500]), "kind": kind, "run_id": run_id,
            "url": clean_text(url) if url else url, "reason": clean_text(reason[:1000]), "raw": clean_text(text),
            "seen_at": now_utc()}


#: The quarantine key of a record stored with repairs (beside any quarantine of its card, keyed by the bare id).
REPAIRED_SUFFIX = " (stored with repairs)"


class _TrialOnly(Exception):
    """Rolls back a trial write (:func:`_unstorable`)."""


@dataclass(slots=True)
class ParsedPage:
    """One page of raw records read against the store: what it holds of them, the records parsed (by id, with their
    places in the page), those whose stored row is current (by id: only their live values may change), and
    quarantine rows. A repeated id within a page: the last one wins."""

    hub: str
    run_id: int | None
    url: str | None
    known: dict[str, StoredModel]
    models: dict[str, ParsedModel]
    positions: dict[str, int]
    current: dict[str, Glance]
    bad: list[dict[str, Any]]  # records that cannot be read, quarantined instead of stored
    repaired: list[dict[str, Any]]  # records stored with repairs, noted in the quarantine
    served: Callable[[], Sequence[Any]]  # the page's records as the hub sent them (RecordPage.served)

    def served_record(self, model_id: str) -> Any:
        """A parsed model's record as the hub sent it (what its quarantine row keeps)."""
        return self.served()[self.positions[model_id]]

    def listed(self) -> dict[str, Live]:
        """The live values of every model of the page, by id."""
        return {**{i: m.live for i, m in self.models.items()}, **{i: g.live for i, g in self.current.items()}}


def read_page(store: Store, conn: Any, hub: str, raw_records: bytes | bytearray | Sequence[Any], *,
              run_id: int | None, url: str | None = None, reader: RecordReader = HF_RECORDS,
              written: WrittenIds | None = None) -> ParsedPage:
    """Read one page of raw records (the hub's JSON text, or its records as JSON values) with ``conn``: a record
    whose stored row is current (the same digest, not deleted) at a glance, the others parsed in full; a record that
    cannot be read becomes a quarantine row with its reason. Only a parsed record's repairs are noted (a current one
    was noted when it was stored). ``written``: every id stored into ``hub`` so far, when the caller knows them (a
    new store's first sweep); the others are not looked up. ``ValueError`` when the text is not JSON."""
    records, served = reader.read(raw_records)
    ids = [reader.id_of(raw) for raw in records]
    storable = [i for i in ids if i is not None and clean_text(i) == i]  # no store holds an id with a NUL
    known = store.stored_models(conn, hub, written.maybe_written(storable) if written is not None else storable)
    page = ParsedPage(hub, run_id, url, known, {}, {}, {}, [], [], served)
    for pos, (raw, model_id) in enumerate(zip(records, ids, strict=True)):
        stored = known.get(model_id) if model_id is not None else None
        if (stored is not None and stored.deleted_at is None and (glance := reader.glance(raw)) is not None
                and glance.record_hash == stored.record_hash):
            page.models.pop(model_id, None)
            page.positions.pop(model_id, None)
            page.current[model_id] = glance
            continue
        try:
            model = reader.parse(raw)
        except RecordError as exc:
            key = exc.model_id or f"{url or 'page'}#{pos}"
            page.bad.append(quarantine_row(hub, key, exc.reason, served()[pos], run_id=run_id, url=url))
            continue
        page.current.pop(model.id, None)
        page.models[model.id] = model
        page.positions[model.id] = pos
    page.repaired = [quarantine_row(hub, m.id + REPAIRED_SUFFIX, "; ".join(m.notes), page.served_record(m.id),
                                    kind="repaired", run_id=run_id, url=url)
                     for m in page.models.values() if m.notes]
    return page


def write_page(store: Store, hub: str, raw_records: bytes | bytearray | Sequence[Any], *, run_id: int | None,
               url: str | None = None, checkpoint: dict[str, Any] | None = None, reader: RecordReader = HF_RECORDS,
               run_updates: Callable[[PageResult], dict[str, Any]] | None = None) -> PageResult:
    """Read and store one page of raw records (as :func:`read_page` reads them) and the run's checkpoint in a single
    transaction.

    ``run_updates`` is called with the page's result inside the transaction and returns run-record values to
    commit with it (the crawl's counters), so counters and data never disagree after a kill. Records the store
    refuses are quarantined with its reason and the rest stored.
    """
    write = dict(checkpoint=checkpoint, run_updates=run_updates)
    page: ParsedPage | None = None
    try:
        with store.transaction() as conn:
            page = read_page(store, conn, hub, raw_records, run_id=run_id, url=url, reader=reader)
            return write_parsed_page(store, conn, page, **write)
    except Exception as failure:  # noqa: BLE001 - a value the store refuses: find the records, store the rest
        if page is None:
            raise  # the store cannot be read
        unstorable = _unstorable(store, hub, page.models, run_id)
        if not unstorable or (len(unstorable) == len(page.models) > 1):
            raise  # not a record's fault (the store is down, read-only…): the run stops, resumable
        logger.warning("page %s: %d record(s) the store refuses, quarantined: %s", url, len(unstorable), failure)
        for model_id, reason in unstorable.items():
            page.bad.append(quarantine_row(hub, model_id, f"cannot be stored: {reason}",
                                           page.served_record(model_id), run_id=run_id, url=url))
            del page.models[model_id]
        page.repaired = [r for r in page.repaired if r["key"].removesuffix(REPAIRED_SUFFIX) in page.models]
        with store.transaction() as conn:
            return write_parsed_page(store, conn, page, **write)


def _unstorable(store: Store, hub: str, parsed: dict[str, ParsedModel], run_id: int | None) -> dict[str, str]:
    """``{id: reason}`` of the records the store refuses, each tried alone in a transaction rolled back."""
    out: dict[str, str] = {}
    for model in parsed.values():
        try:
            with store.transaction() as conn:
                keys = _model_keys(store, conn, hub, [model.id], {})
                _write_models(store, conn, hub, [model], {}, keys, run_id)
                _write_snapshots(store, conn, hub, {model.id: model.live}, keys, run_id)
                raise _TrialOnly
        except _TrialOnly:
            continue
        except Exception as exc:  # noqa: BLE001 - the reason is kept with the quarantined record
            out[model.id] = str(getattr(exc, "orig", None) or exc).splitlines()[0][:300]
    return out


def _model_keys(store: Store, conn: Any, hub: str, ids: Sequence[str], known: dict[str, StoredModel]) -> dict[str, int]:
    """``Model.key`` of each of ``ids``: the stored one, else the next free ones (``known``: the stored models)."""
    keys = {i: stored.key for i in ids if (stored := known.get(i)) is not None and stored.key is not None}
    new = [i for i in ids if i not in keys]
    if new:
        first = store.next_model_key(conn, hub)
        keys.update(zip(new, range(first, first + len(new)), strict=True))
    return keys


def _write_models(store: Store, conn: Any, hub: str, models: list[ParsedModel], known: dict[str, StoredModel],
                  keys: dict[str, int], run_id: int | None) -> None:
    """The model rows and edges of changed ``models`` (``known``: the stored ones, ``keys``: every model's
    ``Model.key``, by id)."""
    rows = []
    for m in models:
        row = dict(m.row)
        row["deleted_at"] = None
        row["last_seen_run"] = run_id
        if m.id not in known:
            row["first_seen_run"] = run_id
            row["key"] = keys[m.id]
        rows.append(row)
    store.upsert(conn, Model, [r for r in rows if "first_seen_run" in r])
    store.upsert(conn, Model, [r for r in rows if "first_seen_run" not in r])
    store.delete_where_in(conn, Edge, hub, "child", [m.id for m in models if m.id in known])  # the others have none
    store.upsert(conn, Edge, [e.row(hub) for m in models for e in m.edges])


def _stored_live(stored: StoredModel) -> Live:
    return Live(stored.downloads, stored.downloads_all_time, stored.likes, stored.inference,
                stored.inference_providers or [])


def _needs_snapshot(live: Live, stored: StoredModel | None) -> bool:
    """Whether the run's metric snapshot of a model listed with ``live`` values is a new row (see
    :class:`MetricSnapshot`): the model is new, comes back after a deletion, was never seen by a run, or its counters
    differ from the stored ones. A page written again in the same run (a resumed crawl, a model listed twice) finds
    the values it stored: its row is there."""
    return (stored is None or stored.deleted_at is not None or stored.last_seen_run is None
            or _stored_live(stored).counters != live.counters)


def _write_snapshots(store: Store, conn: Any, hub: str, listed: dict[str, Live], keys: dict[str, int],
                     run_id: int | None) -> None:
    """The metric snapshot rows of the models ``listed`` (their live values by id; ``keys``: their ``Model.key``) as
    seen by the run ``run_id``."""
    if run_id is not None:
        store.upsert(conn, MetricSnapshot, [
            {"run_id": run_id, "hub": hub, "key": keys[i], "downloads": live.downloads,
             "downloads_all_time": live.downloads_all_time, "likes": live.likes} for i, live in listed.items()])


def write_parsed_page(store: Store, conn: Any, page: ParsedPage, *, checkpoint: dict[str, Any] | None = None,
                      run_updates: Callable[[PageResult], dict[str, Any]] | None = None) -> PageResult:
    """Store a page read with ``conn`` (:func:`read_page`), in the caller's transaction (see :func:`write_page`);
    raises what the store refuses, leaving the transaction to be rolled back."""
    hub, run_id, known = page.hub, page.run_id, page.known
    listed = page.listed()
    result = PageResult()
    result.records = len(listed)
    result.quarantined = len(page.bad)
    if run_id is not None:
        result.repeats = sum(1 for i in listed if (stored := known.get(i)) and stored.last_seen_run == run_id)
    keys = _model_keys(store, conn, hub, list(listed), known)
    changed = [m for m in page.models.values() if (stored := known.get(m.id)) is None
               or stored.record_hash != m.row["record_hash"] or stored.deleted_at is not None]
    rewritten = {m.id for m in changed}
    refreshed, seen = [], []  # live values (and last seen) only; last seen only
    for i, live in listed.items():
        if i not in rewritten:
            (refreshed if _stored_live(known[i]) != live else seen).append(i)
    result.changed = len(changed)
    if changed:
        _write_models(store, conn, hub, changed, known, keys, run_id)
    store.update_by_key(conn, Model, [{"hub": hub, "id": i, **listed[i]._asdict(), "last_seen_run": run_id}
                                      for i in refreshed])
    if seen and run_id is not None:
        tbl = Model.__table__  # type: ignore[attr-defined]
        for start in range(0, len(seen), 5_000):
            chunk = seen[start : start + 5_000]
            conn.execute(update(tbl).where(tbl.c.hub == hub, tbl.c.id.in_(chunk)).values(last_seen_run=run_id))
    _write_snapshots(store, conn, hub, {i: v for i, v in listed.items() if _needs_snapshot(v, known.get(i))}, keys,
                     run_id)
    store.upsert(conn, Quarantine, page.bad)
    store.upsert(conn, Quarantine, page.repaired)
    if run_id is not None and (checkpoint is not None or run_updates):
        values: dict[str, Any] = dict(run_updates(result)) if run_updates else {}
        if checkpoint is not None:
            values["checkpoint"] = checkpoint
        tbl = CrawlRun.__table__  # type: ignore[attr-defined]
        conn.execute(update(tbl).where(tbl.c.run_id == run_id).values(**values))
    return result


def card_row(hub: str, model_id: str, sha: str | None, text: str | None, *, error: str | None = None,
             fetched_at: datetime | None = None, run_id: int | None = None) -> tuple[dict[str, Any], dict[str, Any] | None]:
    """The ``card`` row of a fetched card, and a quarantine row when its front matter is broken.

    ``text`` is bounded and its front matter parsed; without text, ``error`` says why there is none. ``sha`` is
    the model version the card was fetched at.
    """
    row = {"hub": hub, "id": model_id, "sha": sha, "fetched_at": fetched_at, "text": None, "truncated": False,
           "front_matter": None, "error": error}
    if text is None:
        return row, None
    text, truncated = bound_text(text)
    fm = parse_front_matter(text)
    row.update(text=text, truncated=truncated, front_matter=fm.data or None, error=fm.error)
    bad = quarantine_row(hub, model_id, fm.error, text[:4096], kind="card", run_id=run_id) if fm.error else None
    return row, bad


def mark_unseen_deleted(store: Store, hub: str, run_id: int) -> int:
    """After a complete full sweep: models the sweep did not see are marked deleted (kept, with the date), and the
    run's metric snapshot says they were gone (a ``deleted`` row: :class:`MetricSnapshot`). They are found in one
    scan of the models (a few in a thousand a week), then marked by id; the scan is skipped when the run listed as
    many models as the store holds live (:func:`_none_unseen`), as on a first sweep."""
    tbl = Model.__table__  # type: ignore[attr-defined]
    unseen = and_(tbl.c.hub == hub, tbl.c.deleted_at.is_(None),
                  (tbl.c.last_seen_run.is_(None)) | (tbl.c.last_seen_run != run_id))
    with store.transaction() as conn:
        if _none_unseen(conn, hub, run_id):
            return 0
        gone = conn.execute(select(tbl.c.id, tbl.c.key).where(unseen)).all()
        now = now_utc()
        store.upsert(conn, MetricSnapshot, [{"run_id": run_id, "hub": hub, "key": key, "deleted": True} for _, key in gone])
        store.update_by_key(conn, Model, [{"hub": hub, "id": i, "deleted_at": now} for i, _ in gone])
    return len(gone)


def _none_unseen(conn: Any, hub: str, run_id: int) -> bool:
    """Whether the run ``run_id`` saw every live model of ``hub``: its ``records`` (each model it listed, once:
    :meth:`PageResult.counts`, committed with the pages) equal the hub's live models, counted in two of the models'
    indexes (the hub's, and the deleted ones'), not in the table."""
    run = CrawlRun.__table__  # type: ignore[attr-defined]
    listed = conn.execute(select(run.c.records).where(run.c.run_id == run_id, run.c.hub == hub)).scalar()
    if listed is None:
        return False
    tbl = Model.__table__  # type: ignore[attr-defined]
    stored = conn.execute(select(func.count()).select_from(tbl).where(tbl.c.hub == hub)).scalar_one()
    deleted = conn.execute(select(func.count()).select_from(tbl).where(
        tbl.c.hub == hub, tbl.c.deleted_at.is_not(None))).scalar_one()
    return int(listed) == stored - deleted
