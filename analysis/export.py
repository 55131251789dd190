"""The lineage graph for other tools: GraphML and GEXF (networkx, Gephi, Cytoscape), Parquet and CSV (polars…).

Nodes carry ``key`` (the model id; ``hub:id`` for a ModelScope-only model whose id an HF model also has), ``id``,
``hub`` (primary), ``hubs``, ``modelscope_id``, ``author``, ``family`` (names of the families it belongs to,
``;``-separated — a cross-family merge is in several; empty for a model that only inferred edges tie to the
exported family), ``generation`` and ``depth`` (in its first family),
``license`` and ``license_class`` (as the licence analysis reads them), ``downloads`` (both hubs for a mirrored
model), ``created`` (ISO date-time). Edges go parent → child: ``source``, ``target`` (node keys), ``relation``,
``inferred``, ``rule``, ``confidence`` (1.0 for declared edges). Text is written as it is in the store (quoted by
each format's own rules).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import polars as pl

from analysis import frames
from analysis.families import UnknownFamilyError, family_members, load_view
from analysis.licensing import model_licences
from analysis.lineage_build import build_graph, node_frame
from analysis.lineage_graph import _NO_DATE, LineageGraph
from analysis.lineage_queries import traverse
from crawler.families import get_family, select_families
from crawler.store.db import Store
from crawler.store.schema import RELATIONS

FORMATS = ("graphml", "gexf", "parquet", "csv")


def _keys(graph: LineageGraph) -> list[str]:
    """A unique key per node: its id, or ``hub:id`` for a ModelScope-only node sharing an HF model's id."""
    hf_ids = {graph.ids[n] for n in np.flatnonzero(graph.present & 1).tolist()}
    return [i if graph.present[n] & 1 or i not in hf_ids else f"modelscope:{i}" for n, i in enumerate(graph.ids)]


def export_frames(store: Store, *, family: str | None = None, include_inferred: bool = False,
                  graph: LineageGraph | None = None) -> tuple[pl.DataFrame, pl.DataFrame]:
    """``(nodes, edges)`` of the whole graph, or of the members of ``family`` (its roots and derivatives)."""
    graph = graph if graph is not None else build_graph(store)
    if include_inferred and not graph.inferred.any():
        from analysis.graph import graph_with_inferred

        graph = graph_with_inferred(store, graph)
    view = load_view(store, graph=graph)
    keys = node_frame(graph)
    names: dict[int, list[str]] = {}
    gen: dict[int, str | None] = {}
    depth: dict[int, int] = {}
    for fam in select_families(None) if family is None else [get_family(family)]:
        try:
            members = family_members(store, fam, view=view)
        except UnknownFamilyError:
            if family is not None:
                raise
            continue
        for node, g, d in members.join(keys, on=["hub", "id"]).select("node", "generation", "depth").iter_rows():
            names.setdefault(node, []).append(fam.name)
            gen.setdefault(node, g)
            depth.setdefault(node, d)
    if family is None:
        selected = np.arange(graph.n_nodes)
    else:
        selected = np.array(sorted(names), np.int64)
        if include_inferred:  # and what inferred edges add below the family (not members: their family is empty)
            below = traverse(graph, selected, "down", include_inferred=True).nodes
            selected = np.union1d(selected, below)
    primary = keys.sort(["node", "hub"]).unique("node", keep="first")  # "hf" sorts first: the primary repo
    models = frames.models(store).select("hub", "id", "author", "license", "license_name", "license_link")
    licences = model_licences(models, frames.cards(store)).select("hub", "id", "license", "license_class")
    per_node = (primary.join(licences, on=["hub", "id"], how="left").join(models.select("hub", "id", "author"),
                                                                          on=["hub", "id"], how="left")
                .sort("node"))
    lic = dict(zip(per_node["node"].to_list(), per_node.select("license", "license_class", "author").iter_rows(),
                   strict=True))
    node_keys = _keys(graph)
    rows = []
    for n in selected.tolist():
        licence, klass, author = lic.get(n, ("missing", "missing", None))
        created = int(graph.created[n])
        rows.append({"key": node_keys[n], "id": graph.ids[n], "hub": "hf" if graph.present[n] & 1 else "modelscope",
                     "hubs": ",".join(graph.hubs_of(n)), "modelscope_id": graph.ms_ids.get(n), "author": author,
                     "family": ";".join(names[n]) if n in names else None, "generation": gen.get(n),
                     "depth": depth.get(n), "license": licence, "license_class": klass,
                     "downloads": int(view.downloads[n]),
                     "created": None if created == _NO_DATE else created})
    nodes = pl.DataFrame(rows, schema={"key": pl.String, "id": pl.String, "hub": pl.String, "hubs": pl.String,
                                       "modelscope_id": pl.String, "author": pl.String, "family": pl.String,
                                       "generation": pl.String, "depth": pl.Int64, "license": pl.String,
                                       "license_class": pl.String, "downloads": pl.Int64, "created": pl.Int64})
    nodes = nodes.with_columns(pl.from_epoch("created", time_unit="s").dt.strftime("%Y-%m-%dT%H:%M:%S"))
    keep = np.zeros(graph.n_nodes, bool)
    keep[selected] = True
    mask = keep[graph.child] & keep[graph.parent] & (include_inferred | ~graph.inferred)
    e = np.flatnonzero(mask)
    edges = pl.DataFrame({"source": [node_keys[p] for p in graph.parent[e].tolist()],
                          "target": [node_keys[c] for c in graph.child[e].tolist()],
                          "relation": [RELATIONS[r] for r in graph.relation[e].tolist()],
                          "inferred": graph.inferred[e], "rule": [graph.rule[i] for i in e.tolist()],
                          "confidence": np.round(graph.confidence[e].astype(np.float64), 3)},
                         schema={"source": pl.String, "target": pl.String, "relation": pl.String,
                                 "inferred": pl.Boolean, "rule": pl.String, "confidence": pl.Float64})
    return nodes, edges.sort("source", "target")


def to_networkx(nodes: pl.DataFrame, edges: pl.DataFrame) -> Any:
    """A networkx ``DiGraph`` of the frames (missing values left out: GraphML and GEXF have no null)."""
    import networkx as nx

    g = nx.DiGraph()
    for row in nodes.iter_rows(named=True):
        key = row.pop("key")
        g.add_node(key, **{k: v for k, v in row.items() if v is not None}, label=row["id"])
    for row in edges.iter_rows(named=True):
        g.add_edge(row.pop("source"), row.pop("target"), **{k: v for k, v in row.items() if v is not None})
    return g


def write_export(nodes: pl.DataFrame, edges: pl.DataFrame, fmt: str, out: Path | str) -> list[Path]:
    """Write the frames as ``fmt``: one file for graphml / gexf, ``nodes.*`` and ``edges.*`` in the directory
    ``out`` for parquet / csv. Returns the files written."""
    out = Path(out)
    if fmt not in FORMATS:
        raise ValueError(f"format must be one of {', '.join(FORMATS)}, not {fmt!r}")
    if fmt in ("graphml", "gexf"):
        import networkx as nx

        out.parent.mkdir(parents=True, exist_ok=True)
        g = to_networkx(nodes, edges)
        (nx.write_graphml if fmt == "graphml" else nx.write_gexf)(g, out)
        return [out]
    out.mkdir(parents=True, exist_ok=True)
    written = []
    for name, df in (("nodes", nodes), ("edges", edges)):
        path = out / f"{name}.{fmt}"
        df.write_parquet(path) if fmt == "parquet" else df.write_csv(path)
        written.append(path)
    return written
