"""The service's lineage answers over a :class:`~analysis.service.snapshot.Snapshot`.

Listings page the exact listing of :func:`analysis.lineage_queries.descendants` / ``ancestors`` (same rows, same
order): a page is ``{"id", "count", "models": [...], "next": cursor or None}`` and the cursor names the last row
given (its depth and id), so a page never repeats or skips a model. The ordered listing of a query is kept in the
snapshot's cache, so following pages cost only their own rows.
"""

from __future__ import annotations

import base64
import bisect
from typing import Any

import orjson

from analysis.lineage_queries import (
    UnknownModelError,
    family,
    find,
    listing,
    model_row,
    path,
    relation_counts,
    suggestions,
    traverse,
    tree,
)
from analysis.service.snapshot import Snapshot

MAX_PAGE = 1000  # rows per page, at most
MAX_TREE_DEPTH = 6
MAX_TREE_CHILDREN = 200


class BadParameter(ValueError):
    """A parameter the API refuses (answered 422)."""


def encode_cursor(depth: int, model_id: str) -> str:
    return base64.urlsafe_b64encode(orjson.dumps([depth, model_id])).decode().rstrip("=")


def decode_cursor(cursor: str) -> tuple[int, str]:
    try:
        depth, model_id = orjson.loads(base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)))
        if not isinstance(depth, int) or not isinstance(model_id, str):
            raise TypeError
    except (ValueError, TypeError, orjson.JSONDecodeError):
        raise BadParameter("cursor is not one this server gave (pass the 'next' value of the previous page)") from None
    return depth, model_id


def known(snap: Snapshot, model_id: str) -> str:
    """``model_id`` when the graph has it, else :class:`UnknownModelError` with close matches found among the ids
    sharing a word with it (bounded: the query functions' own suggestions scan every id)."""
    if model_id not in snap.graph.nodes_by_id:
        g = snap.graph
        raise UnknownModelError(model_id, suggestions(g, model_id, pool=[g.ids[n] for n in
                                                                         snap.search.candidates(model_id)]))
    return model_id


def _inferred(snap: Snapshot, include_inferred: bool) -> bool:
    if include_inferred and not snap.include_inferred:
        raise BadParameter("this server was started without --include-inferred: inferred edges are not loaded")
    return include_inferred


def listing_page(snap: Snapshot, model_id: str, direction: str, *, relations: set[str] | None = None,
                 depth: int | None = None, hub: str | None = None, include_inferred: bool = False,
                 limit: int = 100, cursor: str | None = None) -> dict[str, Any]:
    """One page of the descendants (``direction="down"``) or ancestors (``"up"``) of ``model_id``."""
    g = snap.graph
    inferred = _inferred(snap, include_inferred)
    node = find(g, known(snap, model_id))
    key = ("listing", direction, node, frozenset(relations or ()), depth, hub, inferred)
    listed = snap.cache.get(key, lambda: listing(
        g, traverse(g, node, direction, include_inferred=inferred, max_depth=depth), relations=relations, hub=hub))
    total = len(listed.nodes)
    start = 0
    if cursor:
        after = decode_cursor(cursor)
        start = bisect.bisect_right(range(total), after,
                                    key=lambda i: (int(listed.depth[i]), g.ids[int(listed.nodes[i])]))
    end = min(total, start + min(limit, MAX_PAGE))
    nodes = listed.nodes[start:end].tolist()
    rows = [model_row(g, n, int(d), int(e), include_inferred=inferred)
            for n, d, e in zip(nodes, listed.depth[start:end], listed.via[start:end], strict=True)]
    nxt = encode_cursor(rows[-1]["depth"], rows[-1]["id"]) if rows and end < total else None
    return {"id": g.ids[node], "count": total, "models": rows, "next": nxt}


def children_nodes(snap: Snapshot, model_id: str, *, limit: int = 50,
                   cursor: str | None = None) -> tuple[dict[str, Any], list[int]]:
    """A page of the direct children of ``model_id`` (declared edges), most downloaded first, and their nodes.

    Rows are those of :func:`listing_page` at depth 1; the cursor names the last row's downloads and id.
    """
    g = snap.graph
    node = find(g, known(snap, model_id))

    def ordered() -> tuple[list[int], dict[int, int]]:
        edges = g.down_edges[g.down_ptr[node]: g.down_ptr[node + 1]]
        via = {int(g.child[e]): int(e) for e in edges[::-1] if not g.inferred[e]}
        return sorted(via, key=lambda c: (-int(snap.downloads[c]), g.ids[c])), via

    kids, via = snap.cache.get(("children", node), ordered)
    start = 0
    if cursor:
        minus_downloads, after = decode_cursor(cursor)
        start = bisect.bisect_right(kids, (minus_downloads, after), key=lambda c: (-int(snap.downloads[c]), g.ids[c]))
    nodes = kids[start: start + min(limit, MAX_PAGE)]
    rows = [model_row(g, c, 1, via[c], include_inferred=False) for c in nodes]
    nxt = (encode_cursor(-int(snap.downloads[nodes[-1]]), g.ids[nodes[-1]])
           if nodes and start + len(nodes) < len(kids) else None)
    return {"id": g.ids[node], "count": len(kids), "models": rows, "next": nxt}, nodes


def tree_of(snap: Snapshot, model_id: str, *, depth: int = 2, max_children: int = 15,
            include_inferred: bool = False) -> dict[str, Any]:
    """:func:`analysis.lineage_queries.tree` (kept in the snapshot's cache)."""
    inferred = _inferred(snap, include_inferred)
    node = find(snap.graph, known(snap, model_id))
    return snap.cache.get(("tree", node, depth, max_children, inferred), lambda: tree(
        snap.graph, model_id, depth=depth, max_children=max_children, include_inferred=inferred))


def family_of(snap: Snapshot, model_id: str, *, include_inferred: bool = False) -> dict[str, Any]:
    return family(snap.graph, known(snap, model_id), include_inferred=_inferred(snap, include_inferred))


def path_between(snap: Snapshot, a: str, b: str, *, include_inferred: bool = False) -> dict[str, Any]:
    return path(snap.graph, known(snap, a), known(snap, b), include_inferred=_inferred(snap, include_inferred))


def node_summary(snap: Snapshot, node: int) -> dict[str, Any]:
    """What the explorer shows beside each listed model: downloads and direct children per relation."""
    counts = relation_counts(snap.graph, node)
    return {"downloads": int(snap.downloads[node]) if snap.downloads[node] >= 0 else None,
            "counts": counts, "children": sum(counts.values())}


def search(snap: Snapshot, query: str, limit: int = 10) -> dict[str, Any]:
    """Ids containing ``query`` (any case), exact matches first then by downloads; close matches when none."""
    g = snap.graph
    nodes = snap.search.search(query, limit)
    models = [{"id": g.ids[n], "hub": "hf" if g.present[n] & 1 else "modelscope", "hubs": g.hubs_of(n),
               "downloads": int(snap.downloads[n]) if snap.downloads[n] >= 0 else None} for n in nodes]
    close = [] if models else suggestions(g, query, pool=[g.ids[n] for n in snap.search.candidates(query)])
    return {"query": query, "models": models, "suggestions": close}


__all__ = ["MAX_PAGE", "BadParameter", "UnknownModelError", "children_nodes", "family_of", "known", "listing_page", "node_summary",
           "path_between", "search", "tree_of"]
