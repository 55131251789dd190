"""Card fields and declared edges from the stored cards, for a hub whose listing declares none (ModelScope)."""

from __future__ import annotations

from sqlalchemy import bindparam, select, update

from crawler.records_modelscope import HUB, card_fields
from crawler.store.db import Store
from crawler.store.schema import Card, Edge, Model


def apply_cards(store: Store) -> int:
    """Card data, licence fields and declared edges of every ModelScope model from its stored README front matter.

    Runs after each crawl (a listing rewrite of a changed record clears them); idempotent. Returns the number of
    models whose row or edges changed.
    """
    m, c, e = Model.__table__, Card.__table__, Edge.__table__  # type: ignore[attr-defined]
    q = (select(m.c.id, m.c.tags, m.c.license, m.c.library_name, m.c.card_data, m.c.license_name, m.c.license_link,
                c.c.front_matter)
         .select_from(m.join(c, (c.c.hub == m.c.hub) & (c.c.id == m.c.id))).where(m.c.hub == HUB))
    changed = 0
    with store.transaction() as conn:
        stored_edges: dict[str, set[tuple]] = {}
        for r in conn.execute(select(e).where(e.c.hub == HUB)):
            stored_edges.setdefault(r.child, set()).add((r.parent_raw, r.relation, r.rule))
        updates, new_edges, replace = [], [], []
        for r in conn.execute(q).all():
            values, edges = card_fields(r.id, {"tags": r.tags, "license": r.license, "library_name": r.library_name},
                                        r.front_matter)
            current = {"card_data": r.card_data, "license_name": r.license_name, "license_link": r.license_link,
                       "license": r.license}
            edges_differ = {(x.parent_raw, x.relation, x.rule) for x in edges} != stored_edges.get(r.id, set())
            if values != current:
                updates.append({"i": r.id, **values})
            if edges_differ:
                replace.append(r.id)
                new_edges += [x.row(HUB) for x in edges]
            changed += values != current or edges_differ
        if updates:
            conn.execute(update(m).where(m.c.hub == HUB, m.c.id == bindparam("i")).values(
                card_data=bindparam("card_data"), license=bindparam("license"),
                license_name=bindparam("license_name"), license_link=bindparam("license_link")), updates)
        store.delete_where_in(conn, Edge, HUB, "child", replace)
        store.upsert(conn, Edge, new_edges)
    return changed
