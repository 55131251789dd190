"""After a crawl: resolve declared bases against the store, then find the family the crawl must follow up.

The crawler needs the family (roots and their declared descendants) to decide which cards to fetch and to
report counts; the full lineage graph and its queries live in ``analysis.graph``.
"""

from __future__ import annotations

from collections import defaultdict, deque
from collections.abc import Iterable
from dataclasses import dataclass, field

from sqlalchemy import select, update

from crawler.families import Family
from crawler.lineage import normalise_base
from crawler.store.db import Store
from crawler.store.schema import Edge, Model

MISSING = "missing or deleted repo"


def resolve_edges(store: Store, hub: str) -> dict[str, int]:
    """Re-resolve every declared base of ``hub`` against the models in the store.

    A base that names a stored model (exactly, or differing only in case) is resolved; a syntactically valid base
    naming no stored model is kept as unresolved with the reason :data:`MISSING` (a later crawl may resolve it).
    Returns counts of what changed: ``{"case_normalised", "missing", "re_resolved"}``.
    """
    m, e = Model.__table__, Edge.__table__  # type: ignore[attr-defined]
    counts = {"case_normalised": 0, "missing": 0, "re_resolved": 0}
    with store.transaction() as conn:
        ids = {r.id for r in conn.execute(select(m.c.id).where(m.c.hub == hub))}
        by_lower: dict[str, str | None] = {}
        for model_id in ids:
            key = model_id.lower()
            by_lower[key] = None if key in by_lower else model_id  # None: ambiguous, never guess
        rows = conn.execute(select(e.c.child, e.c.parent_raw, e.c.parent, e.c.status, e.c.reason).where(e.c.hub == hub))
        changes = []
        for child, parent_raw, parent, status, reason in rows:
            target, why = normalise_base(parent_raw, child)
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
            from sqlalchemy import bindparam

            stmt = (update(e).where(e.c.hub == hub, e.c.child == bindparam("c"), e.c.parent_raw == bindparam("r"))
                    .values(parent=bindparam("p"), status=bindparam("s"), reason=bindparam("why")))
            conn.execute(stmt, changes)
    return counts


@dataclass
class FamilySummary:
    """The families as the crawler sees them: roots, declared descendants, and family-architecture orphans."""

    roots: set[str] = field(default_factory=set)
    members: set[str] = field(default_factory=set)  # declared descendants of the roots (roots excluded)
    undeclared: set[str] = field(default_factory=set)


def family_of(store: Store, hub: str, families: Iterable[Family]) -> FamilySummary:
    """The roots of ``families`` (:meth:`Family.is_root`), their declared descendants (also below a declared base of
    a root organisation missing from the store), and models of the families' architectures that declare no
    resolvable parent and are in no family: what the crawl fetches cards for. Definitions: docs/families.md."""
    m, e = Model.__table__, Edge.__table__  # type: ignore[attr-defined]
    families = list(families)
    archs = {a for f in families for a in f.architecture_set}
    out = FamilySummary()
    children: dict[str, list[str]] = defaultdict(list)
    has_parent: set[str] = set()
    with store.engine.connect() as conn:
        candidates = []
        for r in conn.execute(select(m.c.id, m.c.author, m.c.architecture, m.c.tags).where(
                m.c.hub == hub, m.c.deleted_at.is_(None))):
            if any(f.is_root(r.author, r.id) for f in families):
                out.roots.add(r.id)
            elif r.architecture in archs or any(t in archs for t in (r.tags or ())):
                candidates.append(r.id)
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
