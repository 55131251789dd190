"""Build the lineage graph (:class:`analysis.lineage_graph.LineageGraph`) from the store.

Edges are the declared edges the crawler resolved (``crawler.family.resolve_edges``: exact id, else the unique
case-insensitive match in the same hub) whose parent is a live model in the store; everything else is left out and
counted by reason in :attr:`LineageGraph.report`. Self-loops are dropped; cycles are broken by :func:`break_cycles`
(rule in its docstring); networkx finds the cycles in the (small) part of the graph that is not a DAG. Queries live
in :mod:`analysis.lineage_queries`.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from functools import partial

import numpy as np
import polars as pl
from sqlalchemy import and_

from analysis import frames
from analysis.lineage_graph import _NO_DATE, HUB_BITS, BuildReport, IdList, Labels, LineageGraph
from crawler.gc_policy import rare_collections
from crawler.store.db import Store
from crawler.store.schema import RELATIONS, Edge, Model


def node_frame(graph: LineageGraph) -> pl.DataFrame:
    """Every stored ``(hub, id)`` with its node (a mirrored model has a row per hub), to join store frames on."""
    hf = np.flatnonzero(graph.present & HUB_BITS["hf"])
    ms = np.flatnonzero(graph.present & HUB_BITS["modelscope"])
    ids = pl.concat([graph.ids.series().gather(hf),
                     pl.Series("id", [graph.ms_ids.get(n, graph.ids[n]) for n in ms.tolist()], dtype=pl.String)])
    return pl.DataFrame({"hub": ["hf"] * len(hf) + ["modelscope"] * len(ms), "id": ids,
                         "node": np.concatenate([hf, ms]).astype(np.int64)},
                        schema={"hub": pl.String, "id": pl.String, "node": pl.Int64})


def primary_frame(graph: LineageGraph, nodes: np.ndarray | Sequence[int]) -> pl.DataFrame:
    """``hub, id, node`` of ``nodes``: one row per node, under Hugging Face when the model is there (a mirrored
    model's primary id), else under ModelScope."""
    nodes = np.asarray(nodes, np.int64)
    on_hf = pl.Series((graph.present[nodes] & HUB_BITS["hf"]) > 0, dtype=pl.Boolean)
    return pl.DataFrame({"hub": pl.select(pl.when(on_hf).then(pl.lit("hf")).otherwise(pl.lit("modelscope"))).to_series(),
                         "id": graph.ids.take_series(nodes), "node": nodes},
                        schema={"hub": pl.String, "id": pl.String, "node": pl.Int64})


def _epoch(values: pl.Series) -> np.ndarray:
    return values.cast(pl.Datetime("us")).dt.epoch("s").fill_null(_NO_DATE).to_numpy().astype(np.int64)


def to_labels(values: pl.Series) -> Labels:
    """``values`` as :class:`Labels`: a column with few distinct values (authors, architectures) costs a code per
    row instead of a string per row (≈ 400 MB less for 3M models), and pickles each distinct value once."""
    pool = values.unique(maintain_order=True)
    named = pool.drop_nulls()
    # place[i]: where named[i] is in the pool; place[len(named)]: where the null is, if there is one
    place = np.concatenate((np.flatnonzero(pool.is_not_null().to_numpy()), np.flatnonzero(pool.is_null().to_numpy())))
    codes = values.cast(pl.Enum(named)).to_physical().cast(pl.Int64).fill_null(len(named)).to_numpy()
    return Labels(place[codes], pool.to_list())


_NODE_COLUMNS = ("id", "author", "created_at", "architecture")  # the per-node columns the build keeps


def _nodes(models: pl.DataFrame, mirrors: pl.DataFrame, report: BuildReport) -> tuple[pl.DataFrame, LineageGraph]:
    """Node numbering: HF models first, then ModelScope models not mirrored onto a stored HF model. Returns the
    node of every stored ``(hub, id)`` (columns hub, id, node, and row: its row in ``models``) with the graph of
    those nodes."""
    models = models.with_row_index("row")
    hf = models.filter(pl.col("hub") == "hf").with_row_index("node").with_columns(pl.col("node").cast(pl.Int64))
    ms = models.filter(pl.col("hub") == "modelscope")
    twin = pl.DataFrame(schema={"id": pl.String, "hf_id": pl.String, "node": pl.Int64})
    if mirrors.height:
        best = (mirrors.sort(["modelscope_id", "confidence", "hf_id"], descending=[False, True, False])
                .unique("modelscope_id", keep="first", maintain_order=True))
        twin = best.select(pl.col("modelscope_id").alias("id"), "hf_id").join(
            hf.select(pl.col("id").alias("hf_id"), "node"), on="hf_id", how="inner")
    ms = ms.join(twin, on="id", how="left", maintain_order="left")
    mirrored = ms.filter(pl.col("node").is_not_null())
    own = ms.filter(pl.col("node").is_null()).drop("node").with_row_index("node").with_columns(
        pl.col("node").cast(pl.Int64) + hf.height)
    report.mirrors_merged += mirrored.height
    present = np.concatenate([np.ones(hf.height, np.uint8), np.full(own.height, 2, np.uint8)])
    present[mirrored["node"].to_numpy()] |= 2
    renamed = (mirrored.filter(pl.col("id") != pl.col("hf_id")).unique("node", keep="last", maintain_order=True)
               .select("node", "id"))
    nodes = pl.concat([hf.select(_NODE_COLUMNS), own.select(_NODE_COLUMNS)])
    empty_i = np.zeros(0, np.int32)
    graph = LineageGraph(ids=IdList.of_series(nodes["id"]), present=present, ms_ids=dict(renamed.iter_rows()),
                         authors=to_labels(nodes["author"]), created=_epoch(nodes["created_at"]),
                         architecture=to_labels(nodes["architecture"]), child=empty_i, parent=empty_i,
                         relation=np.zeros(0, np.int8), inferred=np.zeros(0, bool), rule=[],
                         confidence=np.zeros(0, np.float32), report=report)
    key = pl.concat([f.select("hub", "id", "node", "row") for f in (hf, mirrored, own)])
    return key, graph


def _declared_edges(edges: pl.DataFrame, key: pl.DataFrame, report: BuildReport) -> pl.DataFrame:
    """Map declared edges onto nodes (``key``: hub, id, node); count the ones left out by reason.

    Bases were resolved against the store by the crawler (``crawler.family.resolve_edges``: exact id or a unique
    case-insensitive match); a resolved parent that is not a node here is a deleted or filtered-out model.
    """
    unresolved = edges.filter((pl.col("status") != "resolved") | pl.col("parent").is_null())
    for reason, n in Counter(r or "unresolved" for r in unresolved["reason"].to_list()).items():
        report.unresolved[reason] = report.unresolved.get(reason, 0) + n
    ok = (edges.filter((pl.col("status") == "resolved") & pl.col("parent").is_not_null())
          .select("hub", "child", "parent", "relation", "rule")
          .join(key.rename({"id": "child", "node": "cn"}), on=["hub", "child"], how="left", maintain_order="left")
          .join(key.rename({"id": "parent", "node": "pn"}), on=["hub", "parent"], how="left", maintain_order="left")
          .with_row_index("row"))
    lost = {"child not in store": ok.filter(pl.col("cn").is_null())["row"],
            "parent not in store": ok.filter(pl.col("cn").is_not_null() & pl.col("pn").is_null())["row"]}
    for reason, rows in sorted(((r, x) for r, x in lost.items() if x.len()), key=lambda item: item[1][0]):
        report.unresolved[reason] = report.unresolved.get(reason, 0) + rows.len()  # reasons in the order first met
    rel_code = {r: i for i, r in enumerate(RELATIONS)}
    return (ok.filter(pl.col("cn").is_not_null() & pl.col("pn").is_not_null())
            .select(pl.col("cn").cast(pl.Int32).alias("child"), pl.col("pn").cast(pl.Int32).alias("parent"),
                    pl.col("relation").replace_strict(rel_code, default=0, return_dtype=pl.Int8).fill_null(0),
                    pl.col("rule").fill_null("")))


def set_edges(graph: LineageGraph, edges: pl.DataFrame) -> None:
    """Install edges (columns child, parent, relation, rule, and optionally inferred, confidence) on ``graph``.

    Drops self-loops and duplicate (child, parent) pairs (declared edges win over inferred ones), breaks
    cycles, and rebuilds the adjacency.
    """
    if "inferred" not in edges.columns:
        edges = edges.with_columns(pl.lit(False).alias("inferred"))
    if "confidence" not in edges.columns:
        edges = edges.with_columns(pl.lit(1.0, pl.Float32).alias("confidence"))
    loops = edges.filter(pl.col("child") == pl.col("parent"))
    graph.report.self_loops.extend({"id": graph.ids[c], "rule": r} for c, r in loops.select("child", "rule").iter_rows())
    edges = edges.filter(pl.col("child") != pl.col("parent"))
    before = edges.height
    edges = edges.sort(["inferred", "child", "parent"]).unique(["child", "parent"], keep="first", maintain_order=True)
    graph.report.duplicate_edges += before - edges.height
    graph.child = edges["child"].to_numpy().astype(np.int32)
    graph.parent = edges["parent"].to_numpy().astype(np.int32)
    graph.relation = edges["relation"].to_numpy().astype(np.int8)
    graph.inferred = edges["inferred"].to_numpy().astype(bool)
    graph.confidence = edges["confidence"].to_numpy().astype(np.float32)
    graph.rule = to_labels(edges["rule"]).tolist()
    break_cycles(graph)
    graph.reindex()


def _cyclic_core(child: np.ndarray, parent: np.ndarray, n: int) -> np.ndarray:
    """Indices of edges that lie on or between cycles: peel sources and sinks until nothing changes."""
    alive = np.ones(len(child), bool)
    while True:
        c, p = child[alive], parent[alive]
        has_in = np.bincount(c, minlength=n) > 0  # node has a parent
        has_out = np.bincount(p, minlength=n) > 0  # node has a child
        keep = alive & has_in[parent] & has_out[child]  # parent must itself have a parent, child a child
        if keep.sum() == alive.sum():
            return np.flatnonzero(alive)
        alive = keep


def _lone_pairs(child: np.ndarray, parent: np.ndarray, core: np.ndarray) -> dict[int, tuple[int, int]]:
    """The cycles of two models that touch no other edge of the ``core``, each a component of its own (a pair
    declaring each other, the commonest cycle): lower node ``u`` → (edge u→v, edge v→u)."""
    c, p = child[core], parent[core]
    n = int(max(c.max(), p.max())) + 1
    single = (np.bincount(c, minlength=n) == 1) & (np.bincount(p, minlength=n) == 1)
    out_edge = np.full(n, -1, np.int64)
    out_edge[c] = core  # a node of one outgoing core edge: that edge
    target = np.full(n, -1, np.int64)
    target[c] = p
    u = c[single[c] & single[p] & (c < p)]
    u = u[target[target[u]] == u]
    return dict(zip(u.tolist(), zip(out_edge[u].tolist(), out_edge[target[u]].tolist(), strict=True), strict=True))


def cycle_badness(graph: LineageGraph, e: int) -> tuple:
    """The order in which :func:`break_cycles` drops the edges of a cycle, the lowest first (the rule in its
    docstring)."""
    c, p = int(graph.child[e]), int(graph.parent[e])
    cd, pd = int(graph.created[c]), int(graph.created[p])
    known = cd != _NO_DATE and pd != _NO_DATE
    return (not graph.inferred[e], -(pd - cd) if known and pd > cd else 0, cd, graph.ids[c], graph.ids[p])


def break_cycles(graph: LineageGraph) -> None:
    """Remove edges until the graph is acyclic, recording each removal in the report.

    Rule, applied to one cycle at a time: drop an inferred edge if the cycle has one; else the edge whose parent
    was created *after* its child by the widest margin (a model cannot derive from a younger one); else (dates
    equal or unknown) the edge whose child was created earliest; ties by child id, then parent id. The cycles are
    found in the cyclic core only: a pair of models declaring each other and nothing else of the core is its own
    cycle, the rest is searched by networkx. The same store always gives the same graph.
    """
    core = _cyclic_core(graph.child, graph.parent, graph.n_nodes)
    if not len(core):
        return
    pairs = _lone_pairs(graph.child, graph.parent, core)
    rest = np.setdiff1d(core, np.fromiter((e for es in pairs.values() for e in es), np.int64, 2 * len(pairs)))
    dropped: list[int] = []
    badness = partial(cycle_badness, graph)

    def drop(cycle: list[int], worst: int) -> None:
        c, p = int(graph.child[worst]), int(graph.parent[worst])
        dropped.append(worst)
        graph.report.cycles_broken.append({"cycle": [graph.ids[u] for u in cycle], "dropped": {
            "child": graph.ids[c], "parent": graph.ids[p], "relation": RELATIONS[graph.relation[worst]],
            "inferred": bool(graph.inferred[worst])}})

    components = [[u, int(graph.parent[uv])] for u, (uv, _) in pairs.items()]
    if len(rest):
        import networkx as nx  # only when there is more than a lone pair to search

        core_graph = nx.DiGraph()
        for e in rest.tolist():
            core_graph.add_edge(int(graph.child[e]), int(graph.parent[e]), e=e)
        components += [sorted(c) for c in nx.strongly_connected_components(core_graph) if len(c) > 1]
    for comp in sorted(components, key=lambda c: graph.ids[c[0]]):
        if comp[0] in pairs:  # the cycle is the pair's two edges, from the lower node
            drop(comp, min(pairs[comp[0]], key=badness))
            continue
        sub = nx.DiGraph(core_graph.subgraph(comp))  # each cycle lies inside one component: search small graphs
        while True:
            try:
                cycle = nx.find_cycle(sub, source=comp)  # searched from the lowest node, then the next
            except nx.NetworkXNoCycle:
                break
            worst = min((sub.edges[u, v]["e"] for u, v in cycle), key=badness)
            sub.remove_edge(int(graph.child[worst]), int(graph.parent[worst]))
            drop([u for u, _ in cycle], worst)
    keep = np.ones(graph.n_edges, bool)
    keep[dropped] = False
    graph.child, graph.parent = graph.child[keep], graph.parent[keep]
    graph.relation, graph.inferred, graph.confidence = graph.relation[keep], graph.inferred[keep], graph.confidence[keep]
    graph.rule = [r for r, k in zip(graph.rule, keep, strict=True) if k]


def load_models(store: Store, *, hub: str | None = None, include_deleted: bool = False,
                keys: pl.DataFrame | None = None, columns: Sequence[str] = ()) -> pl.DataFrame:
    """The model columns the graph needs (narrow, so a million rows load in seconds) and ``columns``; of the models
    ``keys`` (hub, id) only when given, in the store's order all the same (the graph's node numbers keep their
    order)."""
    m = Model.__table__  # type: ignore[attr-defined]
    conditions = ([] if include_deleted else [m.c.deleted_at.is_(None)]) + ([m.c.hub == hub] if hub else [])
    condition = and_(*conditions) if conditions else None
    graph_columns = tuple(dict.fromkeys(("hub", "id", "author", "created_at", "architecture", *columns)))
    if keys is None:  # the whole table (or hub), filtered as it is scanned: no index serves these conditions
        return frames.table(store, Model, graph_columns, scan_where=condition)
    return frames.table(store, Model, graph_columns, where=condition, keys=keys, scan_order=True)


def load_edges(store: Store, *, hub: str | None = None) -> pl.DataFrame:
    """Declared edges (hub, child, parent, relation, rule, status, reason)."""
    e = Edge.__table__  # type: ignore[attr-defined]
    return frames.table(store, Edge, ("hub", "child", "parent", "relation", "rule", "status", "reason"),
                        where=e.c.hub == hub if hub else None)


@rare_collections()
def build_graph(store: Store, *, hub: str | None = None, include_deleted: bool = False,
                models: pl.DataFrame | None = None, edges: pl.DataFrame | None = None) -> LineageGraph:
    """The declared lineage graph of the store (one hub, or both with mirrors merged). ``models`` and ``edges``:
    the rows :func:`load_models` and :func:`load_edges` would read (at least their columns), when the caller has
    read them already."""
    models = models if models is not None else load_models(store, hub=hub, include_deleted=include_deleted)
    return build_graph_rows(store, models, hub=hub, edges=edges)[0]


def build_graph_rows(store: Store, models: pl.DataFrame, *, hub: str | None = None,
                     edges: pl.DataFrame | None = None) -> tuple[LineageGraph, np.ndarray]:
    """:func:`build_graph` of ``models``, with the node of each of its rows (row ``i`` is node ``nodes[i]``; a
    mirrored pair's rows share a node), so per-model columns add up per node without a join on ids."""
    report = BuildReport()
    mirrors = frames.mirrors(store) if hub in (None, "modelscope") else pl.DataFrame()
    key, graph = _nodes(models, mirrors, report)
    edges = edges if edges is not None else load_edges(store, hub=hub)
    set_edges(graph, _declared_edges(edges, key.drop("row"), report))
    nodes = np.empty(models.height, np.int64)
    nodes[key["row"].to_numpy()] = key["node"].to_numpy()
    return graph, nodes
