"""After a crawl: resolve declared bases against the store, then find the family the crawl must follow up.

The crawler needs the family (roots and their declared descendants) to decide which cards to fetch and to
report counts; the full lineage graph and its queries live in ``analysis.graph``.
"""

from __future__ import annotations

from collections import defaultdict, deque
from collections.abc import Iterable
from dataclasses import dataclass, field

import orjson
from sqlalchemy import (
    ColumnElement,
    Connection,
    Text,
    bindparam,
    case,
    cast,
    exists,
    false,
    func,
    or_,
    select,
    update,
)

from crawler.families import Family
from crawler.lineage import normalise_base
from crawler.store.db import Store
from crawler.store.schema import Edge, Model

MISSING = "missing or deleted repo"


def resolve_edges(store: Store, hub: str) -> dict[str, int]:
    """Re-resolve every declared base of ``hub`` against the models in the store.

    A base that names a stored model (exactly, or differing only in case) is resolved; a syntactically valid base
    naming no stored model is kept as unresolved with the reason :data:`MISSING` (a later crawl may resolve it).
    An edge resolved to the very id it declares, which the store holds, cannot change (models are never removed) and
    is not read; for the others only the models their bases name are read (:func:`_ids_named`). Returns counts of
    what changed: ``{"case_normalised", "missing", "re_resolved"}``.
    """
    m, e = Model.__table__, Edge.__table__  # type: ignore[attr-defined]
    counts = {"case_normalised": 0, "missing": 0, "re_resolved": 0}
    unsettled = or_(e.c.status.is_(None), e.c.status != "resolved", e.c.reason.is_not(None), e.c.parent.is_(None),
                    e.c.parent != e.c.parent_raw, ~exists().where(m.c.hub == e.c.hub, m.c.id == e.c.parent))
    with store.transaction() as conn:
        rows = conn.execute(select(e.c.child, e.c.parent_raw, e.c.parent, e.c.status, e.c.reason)
                            .where(e.c.hub == hub, unsettled)).all()
        targets = [normalise_base(parent_raw, child) for child, parent_raw, *_ in rows]
        ids = _ids_named(store, conn, hub, {t for t, _ in targets if t is not None})
        by_lower: dict[str, str | None] = {}
        for model_id in ids:
            key = model_id.lower()
            by_lower[key] = None if key in by_lower else model_id  # None: ambiguous, never guess
        changes = []
        for (child, parent_raw, parent, status, reason), (target, why) in zip(rows, targets, strict=True):
            if target is None:
                continue  # unusable as written (local path, self-reference…): stays unresolved with its reason
            if target in ids:
                new = (target, "resolved", why)
            elif by_lower.get(target.lower()):
                new = (by_lower[target.lower()], "resolved", f"case normalised from {target}")
            else:
                new = (None, "unresolved", MISSING)
            if new != (parent, status, reason):
                if new[2] == MISSING:
                    counts["missing"] += 1
                elif new[2] and new[2].startswith("case normalised"):
                    counts["case_normalised"] += 1
                else:
                    counts["re_resolved"] += 1
                changes.append({"c": child, "r": parent_raw, "p": new[0], "s": new[1], "why": new[2]})
        if changes:
            stmt = (update(e).where(e.c.hub == hub, e.c.child == bindparam("c"), e.c.parent_raw == bindparam("r"))
                    .values(parent=bindparam("p"), status=bindparam("s"), reason=bindparam("why")))
            conn.execute(stmt, changes)
    return counts


def _ids_named(store: Store, conn: Connection, hub: str, names: set[str]) -> set[str]:
    """The stored ids of ``hub`` that are one of ``names`` in any case, found by the database (a scan of the id
    index, not every id read). Every id with a character beyond ASCII comes too: the database may fold its case
    unlike Python, which decides."""
    if not names:
        return set()
    m = Model.__table__  # type: ignore[attr-defined]
    named = store.among(func.lower(m.c.id), sorted({n.lower() for n in names}))
    return set(conn.scalars(select(m.c.id).where(m.c.hub == hub, named | store.not_ascii(m.c.id))))


@dataclass
class FamilySummary:
    """The families as the crawler sees them: roots, declared descendants, and family-architecture orphans."""

    roots: set[str] = field(default_factory=set)
    members: set[str] = field(default_factory=set)  # declared descendants of the roots (roots excluded)
    undeclared: set[str] = field(default_factory=set)


def family_of(store: Store, hub: str, families: Iterable[Family]) -> FamilySummary:
    """The roots of ``families`` (:meth:`Family.is_root`), their declared descendants (also below a declared base of
    a root organisation missing from the store), and models of the families' architectures that declare no
    resolvable parent and are in no family: what the crawl fetches cards for. Definitions: docs/families.md.

    The database chooses the models (:func:`_roots`, :func:`_may_have_tag`); Python decides on the few it returns
    and walks the edges."""
    m, e = Model.__table__, Edge.__table__  # type: ignore[attr-defined]
    families = list(families)
    archs = {a for f in families for a in f.architecture_set}
    by_arch = m.c.architecture.in_(sorted(archs))
    out = FamilySummary()
    children: dict[str, list[str]] = defaultdict(list)
    has_parent: set[str] = set()
    with store.engine.connect() as conn:
        out.roots = _roots(store, conn, hub, families)
        candidates = [mid for mid, arch, tags in conn.execute(
            select(m.c.id, by_arch, case((by_arch, None), else_=cast(m.c.tags, Text))).where(
                m.c.hub == hub, m.c.deleted_at.is_(None), or_(by_arch, _may_have_tag(store, archs))))
            if arch or any(t in archs for t in orjson.loads(tags or "[]") or ())]
        seeds = set()
        for child, parent, raw, status in conn.execute(select(e.c.child, e.c.parent, e.c.parent_raw, e.c.status)
                                                       .where(e.c.hub == hub)):
            if status == "resolved":
                children[parent].append(child)
                has_parent.add(child)
            elif (base := normalise_base(raw, child)[0]) and any(f.is_root(None, base) for f in families):
                seeds.add(child)
    seeds -= out.roots
    out.members |= seeds
    queue = deque(out.roots | seeds)
    seen = set(out.roots | seeds)
    while queue:
        node = queue.popleft()
        for child in children.get(node, ()):
            if child not in seen:
                seen.add(child)
                out.members.add(child)
                queue.append(child)
    out.undeclared = {c for c in candidates if c not in has_parent and c not in seen}
    return out


def _roots(store: Store, conn: Connection, hub: str, families: list[Family]) -> set[str]:
    """The live roots of ``families`` in ``hub`` (:meth:`Family.is_root`), tested on the models of their
    organisations and those without an author (:meth:`Store.models_by_owner`)."""
    owners = {org for f in families for org in f.org_set}
    return {mid for mid, author in store.models_by_owner(conn, hub, owners)
            if any(f.is_root(author, mid) for f in families)}


def _may_have_tag(store: Store, archs: set[str]) -> ColumnElement[bool]:
    """Whether the model may be of one of ``archs`` by a tag: the tags' JSON text, as the store writes it, holds
    ``"`` and the start of one (one test for ``qwen`` and every ``qwen…``; Python decides on the tags)."""
    m = Model.__table__  # type: ignore[attr-defined]
    stems = [orjson.dumps(a).decode()[:-1] for a in sorted(archs) if not any(a.startswith(b) for b in archs - {a})]
    tags = cast(m.c.tags, Text)
    find = func.strpos if store.dialect == "postgresql" else func.instr
    return or_(false(), *(find(tags, stem) > 0 for stem in stems))
