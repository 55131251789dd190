"""Queries on a :class:`~analysis.lineage_graph.LineageGraph`: lookup, ancestors, descendants, family, path, tree.

Traversals are breadth-first over the CSR arrays, one vectorised step per level, so the cost is the size of the
answer, not of the graph. ``depth`` is the shortest distance from the queried model. Each listed model carries the
relation of the edge that first reached it (for ancestors: the relation by which the model below derives from it).
Inferred edges are only followed when ``include_inferred`` is set.
"""

from __future__ import annotations

import difflib
from dataclasses import dataclass
from typing import Any

import numpy as np

from analysis.lineage_graph import HUB_BITS, LineageGraph
from crawler.families import Family, default_family
from crawler.lineage import RELATIONS


class UnknownModelError(LookupError):
    """A model id that is not in the graph; ``suggestions`` holds close matches."""

    def __init__(self, model_id: str, suggestions: list[str], hub: str | None = None):
        where = f" on {hub}" if hub else ""
        hint = f"; did you mean: {', '.join(suggestions)}?" if suggestions else ""
        super().__init__(f"unknown model {model_id!r}{where}{hint}")
        self.model_id = model_id
        self.suggestions = suggestions


def suggestions(graph: LineageGraph, model_id: str, limit: int = 5, pool: list[str] | None = None) -> list[str]:
    """Close matches for a mistyped id: same id in another case first, then difflib over ``pool`` (by default the
    ids of similar authors or names; a caller with a faster index of candidates passes them)."""
    low = model_id.lower()
    exact_case = [m for m in (graph.ids if pool is None else pool) if m.lower() == low]
    if exact_case:
        return exact_case[:limit]
    if pool is None:
        author = low.split("/", 1)[0] if "/" in low else ""
        name = low.rsplit("/", 1)[-1]
        pool = [m for m in graph.ids if (author and m.lower().startswith(author[:3]))
                or name[:4] in m.lower()]
        if len(pool) < limit:
            pool = graph.ids
    return difflib.get_close_matches(model_id, pool[:200_000], n=limit, cutoff=0.6)


def find(graph: LineageGraph, model_id: str, hub: str | None = None) -> int:
    """The node of ``model_id`` (a ModelScope id of a mirrored model finds its twin); raises UnknownModelError."""
    nodes = graph.nodes_of(model_id)
    if hub is not None:
        nodes = [n for n in nodes if graph.present[n] & HUB_BITS[hub]]
    if not nodes:
        raise UnknownModelError(model_id, suggestions(graph, model_id), hub)
    return min(nodes, key=lambda n: (not graph.present[n] & 1, n))  # HF first when an id exists on both hubs


def _ranges(ptr: np.ndarray, nodes: np.ndarray) -> np.ndarray:
    """Concatenated ``range(ptr[n], ptr[n+1])`` for every node, vectorised."""
    starts, lens = ptr[nodes], ptr[nodes + 1] - ptr[nodes]
    total = int(lens.sum())
    if total == 0:
        return np.zeros(0, np.int64)
    excl = np.cumsum(lens) - lens
    return np.repeat(starts - excl, lens) + np.arange(total)


@dataclass
class Traversal:
    """A breadth-first traversal: visited nodes in BFS order with depth and the edge that reached each."""

    nodes: np.ndarray  # visited nodes (without the start), ordered by depth then node
    depth: np.ndarray  # per visited node
    via: np.ndarray  # edge index that first reached each visited node


def traverse(graph: LineageGraph, start: int | np.ndarray, direction: str, *, include_inferred: bool = False,
             max_depth: int | None = None, stop: int | None = None, seen: np.ndarray | None = None) -> Traversal:
    """BFS from ``start`` (one node or several): ``direction`` is ``down`` (descendants), ``up`` (ancestors) or
    ``both`` (relatives). The start nodes themselves are not in the result. ``seen``: a bool per node, the nodes
    the walk neither enters nor returns, marked as it goes (default: none; a caller's array spares one per call)."""
    seen = np.zeros(graph.n_nodes, bool) if seen is None else seen
    frontier = np.atleast_1d(np.asarray(start, np.int64))
    seen[frontier] = True
    out_n, out_d, out_e = [], [], []
    level = 0
    while frontier.size and (max_depth is None or level < max_depth):
        level += 1
        parts_e, parts_n = [], []
        if direction in ("down", "both"):
            es = graph.down_edges[_ranges(graph.down_ptr, frontier)]
            parts_e.append(es)
            parts_n.append(graph.child[es])
        if direction in ("up", "both"):
            es = graph.up_edges[_ranges(graph.up_ptr, frontier)]
            parts_e.append(es)
            parts_n.append(graph.parent[es])
        es, nxt = np.concatenate(parts_e), np.concatenate(parts_n).astype(np.int64)
        if not include_inferred:
            keep = ~graph.inferred[es]
            es, nxt = es[keep], nxt[keep]
        new = ~seen[nxt]
        es, nxt = es[new], nxt[new]
        nxt, first = np.unique(nxt, return_index=True)
        seen[nxt] = True
        out_n.append(nxt)
        out_d.append(np.full(len(nxt), level, np.int32))
        out_e.append(es[first])
        if stop is not None and seen[stop]:
            break
        frontier = nxt
    if not out_n:
        return Traversal(np.zeros(0, np.int64), np.zeros(0, np.int32), np.zeros(0, np.int64))
    return Traversal(np.concatenate(out_n), np.concatenate(out_d), np.concatenate(out_e))


def parents_of(graph: LineageGraph, node: int, *, include_inferred: bool = False) -> list[int]:
    """A model's parents in id order (node numbers follow the store's row order, which differs between stores)."""
    es = graph.up_edges[graph.up_ptr[node]: graph.up_ptr[node + 1]]
    return sorted((int(graph.parent[e]) for e in es if include_inferred or not graph.inferred[e]),
                  key=graph.ids.__getitem__)


def children_of(graph: LineageGraph, node: int, *, include_inferred: bool = False) -> list[int]:
    es = graph.down_edges[graph.down_ptr[node]: graph.down_ptr[node + 1]]
    return [int(graph.child[e]) for e in es if include_inferred or not graph.inferred[e]]


def primary_hub(graph: LineageGraph, node: int) -> str:
    return "hf" if graph.present[node] & 1 else "modelscope"


def listing(graph: LineageGraph, t: Traversal, *, relations: set[str] | None = None,
            hub: str | None = None) -> Traversal:
    """The visited models that are listed (edge relation in ``relations``, present on ``hub``), ordered by depth
    then id: the order of every listing of :func:`descendants` and :func:`ancestors`."""
    mask = np.ones(len(t.nodes), bool)
    if relations:
        codes = [i for i, r in enumerate(RELATIONS) if r in relations]
        mask &= np.isin(graph.relation[t.via], codes)
    if hub:
        mask &= (graph.present[t.nodes] & HUB_BITS[hub]) > 0
    nodes, depth, via = t.nodes[mask], t.depth[mask], t.via[mask]
    ids, dl, nl = graph.ids, depth.tolist(), nodes.tolist()
    order = np.array(sorted(range(len(nl)), key=lambda i: (dl[i], ids[nl[i]])), np.int64)
    return Traversal(nodes[order], depth[order], via[order]) if len(order) else Traversal(nodes, depth, via)


def model_row(graph: LineageGraph, node: int, depth: int, edge: int, *, include_inferred: bool) -> dict[str, Any]:
    """One listed model: ``{"id", "relation", "depth", "parents", "hub", "hubs", "inferred"}`` (+ ``rule`` and
    ``confidence`` when reached by an inferred edge)."""
    row = {"id": graph.ids[node], "relation": RELATIONS[graph.relation[edge]], "depth": depth,
           "parents": [graph.ids[p] for p in parents_of(graph, node, include_inferred=include_inferred)],
           "hub": primary_hub(graph, node), "hubs": graph.hubs_of(node), "inferred": bool(graph.inferred[edge])}
    if graph.inferred[edge]:
        row["rule"] = graph.rule[edge]
        row["confidence"] = round(float(graph.confidence[edge]), 3)
    return row


def _rows(graph: LineageGraph, t: Traversal, *, relations: set[str] | None, hub: str | None,
          include_inferred: bool) -> list[dict[str, Any]]:
    listed = listing(graph, t, relations=relations, hub=hub)
    return [model_row(graph, n, d, e, include_inferred=include_inferred)
            for n, d, e in zip(listed.nodes.tolist(), listed.depth.tolist(), listed.via.tolist(), strict=True)]


def descendants(graph: LineageGraph, model_id: str, *, relations: set[str] | None = None, depth: int | None = None,
                hub: str | None = None, include_inferred: bool = False) -> dict[str, Any]:
    """``{"id", "count", "models": [{"id", "relation", "depth", "parents", "hub", "hubs", "inferred"}]}``.

    The traversal follows every relation; ``relations`` and ``hub`` only select which models are listed.
    """
    node = find(graph, model_id)
    t = traverse(graph, node, "down", include_inferred=include_inferred, max_depth=depth)
    models = _rows(graph, t, relations=relations, hub=hub, include_inferred=include_inferred)
    return {"id": graph.ids[node], "count": len(models), "models": models}


def ancestors(graph: LineageGraph, model_id: str, *, depth: int | None = None, hub: str | None = None,
              include_inferred: bool = False) -> dict[str, Any]:
    """Same shape as :func:`descendants`, going up towards the roots."""
    node = find(graph, model_id)
    t = traverse(graph, node, "up", include_inferred=include_inferred, max_depth=depth)
    models = _rows(graph, t, relations=None, hub=hub, include_inferred=include_inferred)
    return {"id": graph.ids[node], "count": len(models), "models": models}


def family(graph: LineageGraph, model_id: str, *, include_inferred: bool = False,
           of: Family | None = None) -> dict[str, Any]:
    """``{"id", "roots": [ids], "generation", "depth", "root_details": [{"id", "generation", "depth", "official"}]}``.

    Roots are the ancestors (or the model itself) with no parent; ``depth`` is the distance to the nearest root.
    ``official`` says whether a root is a root of the family ``of`` (default: the default family), whose table
    names the generations; the generation is that of the first root (official roots first, then nearest) naming one.
    """
    fam = of or default_family()
    node = find(graph, model_id)
    t = traverse(graph, node, "up", include_inferred=include_inferred)
    cands = [(node, 0)] + list(zip(t.nodes.tolist(), t.depth.tolist(), strict=True))
    roots = [(n, d) for n, d in cands if not parents_of(graph, n, include_inferred=include_inferred)]
    details = [{"id": graph.ids[n], "generation": fam.generation(graph.ids[n], graph.architecture[n]), "depth": d,
                "official": fam.is_root(graph.authors[n], graph.ids[n])} for n, d in roots]
    details.sort(key=lambda r: (not r["official"], r["depth"], r["id"]))
    generation = next((r["generation"] for r in details if r["generation"]), None)
    return {"id": graph.ids[node], "roots": [r["id"] for r in details], "generation": generation,
            "depth": min(r["depth"] for r in details), "root_details": details,
            "declared_parents": len(parents_of(graph, node)), "hubs": graph.hubs_of(node)}


def path(graph: LineageGraph, a: str, b: str, *, include_inferred: bool = False) -> dict[str, Any]:
    """The lineage path from ``a`` to ``b``: down (b descends from a), up (a descends from b), else through relatives.

    ``{"from", "to", "kind": "descendant|ancestor|related|none", "length", "steps": [{"id", "relation", "direction"}]}``
    where each step's ``direction`` is ``child`` (going down to a derivative) or ``parent``.
    """
    na, nb = find(graph, a), find(graph, b)
    result: dict[str, Any] = {"from": graph.ids[na], "to": graph.ids[nb]}
    if na == nb:
        return {**result, "kind": "same", "length": 0, "steps": []}
    for kind, direction in (("descendant", "down"), ("ancestor", "up"), ("related", "both")):
        t = traverse(graph, na, direction, include_inferred=include_inferred, stop=nb)
        hit = np.flatnonzero(t.nodes == nb)
        if hit.size:
            via = dict(zip(t.nodes.tolist(), t.via.tolist(), strict=True))
            steps, cur = [], nb
            while cur != na:
                e = via[cur]
                down = int(graph.child[e]) == cur
                steps.append({"id": graph.ids[cur], "relation": RELATIONS[graph.relation[e]],
                              "direction": "child" if down else "parent", "inferred": bool(graph.inferred[e])})
                cur = int(graph.parent[e]) if down else int(graph.child[e])
            return {**result, "kind": kind, "length": len(steps), "steps": steps[::-1]}
    return {**result, "kind": "none", "length": None, "steps": []}


def relation_counts(graph: LineageGraph, node: int, *, include_inferred: bool = False) -> dict[str, int]:
    """Direct children of ``node`` per relation (what the Hub's model tree shows)."""
    es = graph.down_edges[graph.down_ptr[node]: graph.down_ptr[node + 1]]
    if not include_inferred:
        es = es[~graph.inferred[es]]
    counts = np.bincount(graph.relation[es], minlength=len(RELATIONS))
    return {r: int(c) for r, c in zip(RELATIONS, counts, strict=True) if c}


def tree(graph: LineageGraph, model_id: str, *, depth: int | None = 2, max_children: int = 20,
         include_inferred: bool = False) -> dict[str, Any]:
    """A nested tree ``{"id", "relation", "counts", "below", "children": [...], "more"}`` under ``model_id``.

    Each model sits under the parent that first reached it (a merge appears once); ``counts`` are its direct
    children per relation, ``below`` the size of its subtree, ``more`` the children not shown (largest first).
    """
    root = find(graph, model_id)
    t = traverse(graph, root, "down", include_inferred=include_inferred)
    tree_parent = graph.parent[t.via] if len(t.via) else np.zeros(0, np.int64)
    kids: dict[int, list[int]] = {}
    for n, p in zip(t.nodes.tolist(), tree_parent.tolist(), strict=True):
        kids.setdefault(p, []).append(n)
    below: dict[int, int] = {}
    for n, p in zip(t.nodes[::-1].tolist(), tree_parent[::-1].tolist(), strict=True):
        below[p] = below.get(p, 0) + below.get(n, 0) + 1
    rel = dict(zip(t.nodes.tolist(), graph.relation[t.via].tolist(), strict=True)) if len(t.via) else {}

    def node_dict(node: int) -> dict[str, Any]:
        return {"id": graph.ids[node], "relation": RELATIONS[rel[node]] if node in rel else None,
                "counts": relation_counts(graph, node, include_inferred=include_inferred),
                "below": below.get(node, 0), "children": [], "more": 0}

    top = node_dict(root)
    todo = [(root, top, 0)]  # iterative: a chain thousands of levels deep is no deeper for Python's stack
    while todo:
        node, out, level = todo.pop()
        children = sorted(kids.get(node, []), key=lambda c: (-below.get(c, 0), graph.ids[c]))
        if depth is not None and level >= depth:
            out["more"] = len(children)
            continue
        out["children"] = [node_dict(c) for c in children[:max_children]]
        out["more"] = max(0, len(children) - max_children)
        todo.extend((c, d, level + 1) for c, d in zip(children[:max_children], out["children"], strict=True))
    return top
