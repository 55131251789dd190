"""Secondary indexes that a new store's first crawl builds once, after its listing, instead of row by row.

A first sweep inserts every model. An index whose keys come in random order (a model's author, the parent of a
lineage edge) takes each insert on a page of its own; every commit writes the pages it dirtied to SQLite's WAL and
a checkpoint copies them into the store again. Built from the stored rows in one sorted pass, the same indexes cost
a small part of that (docs/PERFORMANCE.md, "Secondary indexes built after a new store's first sweep"). The
indexes that writing needs stay: the primary keys (upserts) and ``Model.key``'s (the next key).

The crawl builds them once its listing is stored, or stopped (:func:`ensure_indexes`). A crawl that dies in
between leaves them out, and the next crawl builds them at the same point of its own. A reader meanwhile gets the
same answers, more slowly.
"""

from __future__ import annotations

from sqlalchemy import Index

from crawler.store.db import Store
from crawler.store.schema import Edge, Model

#: The indexes a first crawl builds after its listing: no write of a crawl reads them.
DEFERRED = ("ix_model_author", "ix_model_created", "ix_edge_parent")


def _deferred() -> list[Index]:
    tables = (Model.__table__, Edge.__table__)  # type: ignore[attr-defined]
    return [index for table in tables for index in table.indexes if index.name in DEFERRED]


def defer_indexes(store: Store) -> bool:
    """Drop the :data:`DEFERRED` indexes if the store holds no model yet; whether it did."""
    with store.transaction() as conn:
        if store.holds_models(conn):
            return False
        for index in _deferred():
            index.drop(conn, checkfirst=True)
    return True


def ensure_indexes(store: Store) -> None:
    """Build the :data:`DEFERRED` indexes that are missing (none, unless a first crawl left them out)."""
    with store.transaction() as conn:
        for index in _deferred():
            index.create(conn, checkfirst=True)
