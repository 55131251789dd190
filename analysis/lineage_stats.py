"""Whole-graph figures: nodes, edges per relation, depth histogram, largest families, top derivative authors.

Inferred edges are counted apart (``inferred_edges``) and only folded into the other figures with
``include_inferred``. A mirrored ModelScope repo is one node with its HF twin, so every count counts it once.
"""

from __future__ import annotations

from collections import Counter
from typing import Any

import numpy as np

from analysis.families import root_mask
from analysis.lineage_graph import LineageGraph
from analysis.lineage_queries import _ranges, traverse
from crawler.families import Family, default_family
from crawler.lineage import RELATIONS


def _relation_counts(graph: LineageGraph, mask: np.ndarray) -> dict[str, int]:
    counts = np.bincount(graph.relation[mask], minlength=len(RELATIONS))
    return {r: int(c) for r, c in zip(RELATIONS, counts, strict=True)}


def root_pairs(graph: LineageGraph, edge_mask: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Every ``(node, root, depth)`` with ``root`` a parentless ancestor of ``node`` (shortest depth), vectorised.

    A model below a merge belongs to the family of each of its roots. Roots themselves appear with depth 0.
    """
    n = graph.n_nodes
    ch, pa = graph.child[edge_mask].astype(np.int64), graph.parent[edge_mask].astype(np.int64)
    has_parent = np.bincount(ch, minlength=n) > 0
    has_child = np.bincount(pa, minlength=n) > 0
    roots = np.flatnonzero(~has_parent & has_child)
    order = np.argsort(pa, kind="stable")
    ch_sorted = ch[order]
    ptr = np.concatenate(([0], np.cumsum(np.bincount(pa, minlength=n)))).astype(np.int64)
    nodes, rts, depth = [roots], [roots], [np.zeros(len(roots), np.int32)]
    seen = np.sort(roots * n + roots)
    cur_n, cur_r, level = roots, roots, 0
    while cur_n.size:
        level += 1
        lens = ptr[cur_n + 1] - ptr[cur_n]
        nxt = ch_sorted[_ranges(ptr, cur_n)]
        keys = np.unique(nxt * n + np.repeat(cur_r, lens))
        keys = keys[~np.isin(keys, seen, assume_unique=True)]
        seen = np.union1d(seen, keys)
        cur_n, cur_r = keys // n, keys % n
        nodes.append(cur_n)
        rts.append(cur_r)
        depth.append(np.full(len(keys), level, np.int32))
    return np.concatenate(nodes), np.concatenate(rts), np.concatenate(depth)


def _reach(graph: LineageGraph, start: np.ndarray, *, include_inferred: bool) -> np.ndarray:
    mask = np.zeros(graph.n_nodes, bool)
    if start.size:
        mask[traverse(graph, start, "down", include_inferred=include_inferred).nodes] = True
    return mask


def graph_stats(graph: LineageGraph, *, include_inferred: bool = False, top: int = 10,
                family: Family | None = None) -> dict[str, Any]:
    """The ``graph stats`` figures as one JSON-ready dict (keys documented in docs/inference.md); ``family``
    (default: the default family) is the one whose roots, members and undeclared models are counted. Members are
    reached through the graph's models only (``analysis.families`` also counts children of missing root bases)."""
    fam = family or default_family()
    n = graph.n_nodes
    declared = ~graph.inferred
    used = np.ones(graph.n_edges, bool) if include_inferred else declared
    has_declared = np.bincount(graph.child[declared], minlength=n) > 0
    has_inferred = np.bincount(graph.child[graph.inferred], minlength=n) > 0
    in_lineage = (np.bincount(graph.child[used], minlength=n) + np.bincount(graph.parent[used], minlength=n)) > 0

    nodes, rts, depth = root_pairs(graph, used)
    min_depth = np.full(n, np.iinfo(np.int32).max, np.int64)
    np.minimum.at(min_depth, nodes, depth)
    hist = Counter(min_depth[in_lineage].tolist())
    sizes = np.bincount(rts, minlength=n) - np.isin(np.arange(n), rts)
    root_ids = np.unique(rts)
    ranked = sorted(root_ids.tolist(), key=lambda r: (-int(sizes[r]), graph.ids[r]))[:top]
    official = root_mask(graph, fam)
    families = [{"root": graph.ids[r], "size": int(sizes[r]), "generation": fam.generation(graph.ids[r], graph.architecture[r]),
                 "official": bool(official[r])} for r in ranked]

    has_parent = np.bincount(graph.child[used], minlength=n) > 0
    authors = Counter(graph.authors[i] or graph.ids[i].split("/", 1)[0] for i in np.flatnonzero(has_parent).tolist())
    top_authors = [{"author": a, "models": c} for a, c in sorted(authors.items(), key=lambda x: (-x[1], x[0]))[:top]]

    start = np.flatnonzero(official)
    members_declared = _reach(graph, start, include_inferred=False) & ~official
    members_all = _reach(graph, start, include_inferred=True) & ~official if graph.inferred.any() else members_declared
    members = members_all if include_inferred else members_declared
    fam_arch = np.array([fam.has_architecture(a) for a in graph.architecture], bool)
    undeclared = fam_arch & ~official & ~has_declared

    report = graph.report.as_dict()
    return {
        "nodes": n,
        "hubs": {"hf": int((graph.present & 1 > 0).sum()), "modelscope": int((graph.present & 2 > 0).sum()),
                 "both": int((graph.present == 3).sum())},
        "edges": _relation_counts(graph, used),
        "inferred_edges": _relation_counts(graph, graph.inferred),
        "includes_inferred": include_inferred,
        "parents": {"declared": int(has_declared.sum()), "inferred_only": int((has_inferred & ~has_declared).sum()),
                    "none": int((~has_declared & ~has_inferred).sum())},
        "depth_histogram": {str(d): c for d, c in sorted(hist.items())},
        "in_lineage": int(in_lineage.sum()),
        "families": families,
        "top_authors": top_authors,
        "family": {"name": fam.name, "label": fam.label, "root_authors": list(fam.orgs), "roots": int(official.sum()), "members": int(members.sum()),
                   "undeclared": int(undeclared.sum()),
                   "undeclared_with_inferred_parent": int((undeclared & has_inferred).sum()),
                   "members_via_inferred_only": int((members_all & ~members_declared).sum())},
        "unresolved": report["unresolved"],
        "self_loops": len(report["self_loops"]),
        "cycles_broken": len(report["cycles_broken"]),
        "cycles": report["cycles_broken"][:20],
        "mirrors_merged": report["mirrors_merged"],
        "duplicate_edges": report["duplicate_edges"],
    }
