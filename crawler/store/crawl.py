"""The store verbs of a crawl besides page writes (:mod:`crawler.ingest`): run records, cards, deployment flags,
and the query that plans card fetches."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import bindparam, func, select, update

from crawler.store.db import Store
from crawler.store.schema import Card, CrawlRun, Model, Quarantine


def update_run(store: Store, run_id: int, **values: Any) -> None:
    """Set columns of the run record ``run_id`` (counters, checkpoint) in one transaction."""
    tbl = CrawlRun.__table__  # type: ignore[attr-defined]
    with store.transaction() as conn:
        conn.execute(update(tbl).where(tbl.c.run_id == run_id).values(**values))


def write_cards(store: Store, run_id: int, rows: Sequence[dict[str, Any]], bad: Sequence[dict[str, Any]],
                run_values: dict[str, Any]) -> None:
    """Store card rows and quarantined front matter with the run's counters, in one transaction."""
    tbl = CrawlRun.__table__  # type: ignore[attr-defined]
    with store.transaction() as conn:
        store.upsert(conn, Card, rows)
        store.upsert(conn, Quarantine, bad)
        conn.execute(update(tbl).where(tbl.c.run_id == run_id).values(**run_values))


def quarantined_in_run(store: Store, hub: str, run_id: int) -> dict[str, tuple[int, list[str]]]:
    """``{kind: (count, up to three reasons)}`` of what the run ``run_id`` quarantined on ``hub``."""
    tbl = Quarantine.__table__  # type: ignore[attr-defined]
    out: dict[str, tuple[int, list[str]]] = {}
    with store.engine.connect() as conn:
        counts = conn.execute(select(tbl.c.kind, func.count()).where(tbl.c.hub == hub, tbl.c.run_id == run_id)
                              .group_by(tbl.c.kind)).all()
        for kind, n in counts:
            reasons = conn.execute(select(tbl.c.key, tbl.c.reason).where(
                tbl.c.hub == hub, tbl.c.run_id == run_id, tbl.c.kind == kind).order_by(tbl.c.key).limit(3)).all()
            out[kind] = (int(n), [f"{key}: {reason}" for key, reason in reasons])
    return out


def set_deploy_flags(store: Store, hub: str, flags: dict[str, Any]) -> set[str]:
    """Store the deployment flags of the models of ``hub`` that the store holds; returns their ids."""
    tbl = Model.__table__  # type: ignore[attr-defined]
    if not flags:
        return set()
    with store.transaction() as conn:
        known = set(conn.execute(select(tbl.c.id).where(tbl.c.hub == hub, tbl.c.id.in_(list(flags)))).scalars())
        if known:
            conn.execute(update(tbl).where(tbl.c.hub == hub, tbl.c.id == bindparam("i"))
                         .values(deploy_flags=bindparam("f")), [{"i": i, "f": flags[i]} for i in known])
    return known


def card_version(versions: str, sha: str | None, last_modified: datetime | None, record_hash: str) -> str | None:
    """The model version a card is fetched at: its ``sha`` (``versions="sha"``); else (``"last_modified"``, for
    hubs whose records carry no revision) its ``last_modified``, else its record hash."""
    if versions == "sha":
        return sha
    return last_modified.isoformat() if last_modified is not None else f"hash:{record_hash}"


def cards_due(store: Store, hub: str, *, versions: str, among: Iterable[str] | None = None) -> list[tuple[str, str | None]]:
    """``(id, version)`` of the live models of ``hub`` whose card is missing or was fetched at another version.

    ``versions`` is ``"sha"`` or ``"last_modified"`` (:func:`card_version`); ``among`` limits the models (the
    family). Sorted by id.
    """
    m, c = Model.__table__, Card.__table__  # type: ignore[attr-defined]
    wanted = None if among is None else set(among)
    q = (select(m.c.id, m.c.sha, m.c.last_modified, m.c.record_hash, c.c.sha.label("card_sha"),
                c.c.id.label("card_id"))
         .select_from(m.outerjoin(c, (c.c.hub == m.c.hub) & (c.c.id == m.c.id)))
         .where(m.c.hub == hub, m.c.deleted_at.is_(None)))
    due = []
    with store.engine.connect() as conn:
        for r in conn.execute(q):
            if wanted is not None and r.id not in wanted:
                continue
            version = card_version(versions, r.sha, r.last_modified, r.record_hash)
            if r.card_id is None or r.card_sha != version:
                due.append((r.id, version))
    return sorted(due)


def live_owners(store: Store, hub: str) -> list[str]:
    """The owners of the live models of ``hub``, sorted."""
    tbl = Model.__table__  # type: ignore[attr-defined]
    with store.engine.connect() as conn:
        ids = conn.execute(select(tbl.c.id).where(tbl.c.hub == hub, tbl.c.deleted_at.is_(None))).scalars()
        return sorted({i.split("/", 1)[0] for i in ids})
