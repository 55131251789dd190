"""A model's page data: its record, licence and drift findings, deployment signals, mirrors and hub links.

Everything is read from the store for the few models asked about and classified by the same functions as the
licence and deployment analyses (:mod:`analysis.licensing`, :mod:`analysis.deployment`), so the page and
``hubtree analyze`` agree.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote

import orjson
import polars as pl
from sqlalchemy import and_, or_, select

from analysis import frames
from analysis.deployment import signals_of
from analysis.licensing import classify_edges, findings, merge_findings, model_licences
from analysis.lineage_graph import LineageGraph
from analysis.lineage_queries import primary_hub
from crawler import config
from crawler.store.db import Store
from crawler.store.schema import Card, Edge, Mirror, Model

Key = tuple[str, str]

#: The record columns a model page shows (card_data is large and already read through the card).
RECORD_COLUMNS = ("hub", "id", "author", "created_at", "last_modified", "sha", "license", "license_name",
                  "license_link", "library_name", "pipeline_tag", "architecture", "tags", "files", "inference",
                  "inference_providers", "deploy_flags", "downloads", "downloads_all_time", "likes", "deleted_at")
_EDGE_COLUMNS = ("hub", "child", "parent_raw", "parent", "relation", "declared", "rule", "status", "reason")
_FILES_SHOWN = 50


def hub_url(hub: str, model_id: str) -> str:
    """The model's page on its hub (the configured endpoint, so a local simulator links to itself)."""
    path = quote(model_id, safe="/")
    if hub == "hf":
        return f"{config.hf_endpoint()}/{path}"
    return f"{config.modelscope_endpoint()}/models/{path}"


def node_keys(graph: LineageGraph, node: int) -> list[Key]:
    """The (hub, id) rows of one node: its Hugging Face repo and/or its ModelScope repo."""
    keys = []
    if graph.present[node] & 1:
        keys.append(("hf", graph.ids[node]))
    if graph.present[node] & 2:
        keys.append(("modelscope", graph.ms_ids.get(node, graph.ids[node])))
    return keys


def primary_key(graph: LineageGraph, node: int) -> Key:
    hub = primary_hub(graph, node)
    return hub, graph.ids[node] if hub == "hf" else graph.ms_ids.get(node, graph.ids[node])


def _in_keys(tbl: Any, keys: Iterable[Key], hub_col: str = "hub", id_col: str = "id") -> Any:
    """``(hub, id) in keys`` as one ``hub = ? AND id IN (…)`` per hub, which uses the primary-key index (SQLite
    scans the whole table for a row-value IN)."""
    by_hub: dict[str, list[str]] = {}
    for hub, model_id in keys:
        by_hub.setdefault(hub, []).append(model_id)
    return or_(*(and_(tbl.c[hub_col] == hub, tbl.c[id_col].in_(ids)) for hub, ids in sorted(by_hub.items())))


def records(store: Store, keys: Iterable[Key], columns: tuple[str, ...] = RECORD_COLUMNS) -> pl.DataFrame:
    tbl = Model.__table__  # type: ignore[attr-defined]
    keys = list(keys)
    return frames.table(store, Model, columns, where=_in_keys(tbl, keys) if keys else tbl.c.id.is_(None))


def cards(store: Store, keys: Iterable[Key]) -> pl.DataFrame:
    tbl = Card.__table__  # type: ignore[attr-defined]
    keys = list(keys)
    return frames.table(store, Card, ("hub", "id", "front_matter", "text"),
                        where=_in_keys(tbl, keys) if keys else tbl.c.id.is_(None))


def edges_of(store: Store, children: Iterable[Key]) -> pl.DataFrame:
    """The declared edges (resolved or not) of these children."""
    tbl = Edge.__table__  # type: ignore[attr-defined]
    children = list(children)
    return frames.table(store, Edge, _EDGE_COLUMNS,
                        where=_in_keys(tbl, children, "hub", "child") if children else tbl.c.child.is_(None))


@dataclass
class Classified:
    """The declared edges of some children classified by the drift rules, with what was read to do it."""

    edges: pl.DataFrame  # classify_edges' columns
    findings: pl.DataFrame  # non-inherited edges and merge conflicts
    licences: pl.DataFrame  # model_licences of the children and their parents
    models: pl.DataFrame  # RECORD_COLUMNS of the children and their parents
    cards: pl.DataFrame  # their cards (front matter, text)


def classified_edges(store: Store, children: list[Key], extra: Iterable[Key] = ()) -> Classified:
    """Classify the edges of ``children``, reading the records and cards of them, their parents and ``extra``."""
    edges = edges_of(store, children)
    parents = {(h, p) for h, p in edges.select("hub", "parent").iter_rows() if p is not None}
    keys = set(children) | parents | set(extra)
    models = records(store, keys)
    card_frame = cards(store, keys)
    licences = model_licences(models, card_frame)
    members = pl.DataFrame(children, schema={"hub": pl.String, "id": pl.String}, orient="row")
    classified = classify_edges(licences, edges, members, models, card_frame)
    return Classified(classified, findings(classified, merge_findings(classified)), licences, models, card_frame)


def _edge_json(row: dict[str, Any]) -> dict[str, Any]:
    keep = ("parent", "parent_raw", "relation", "parent_license", "child_license", "kind", "rule", "reason",
            "evidence", "notice")
    return {k: row[k] for k in keep}


def _jsonable(value: Any) -> Any:
    if hasattr(value, "isoformat"):
        return value.isoformat()
    return value


def mirrors_of(store: Store, keys: list[Key]) -> list[dict[str, Any]]:
    """Mirror links touching the node's repos: ``{"hf_id", "modelscope_id", "rule", "confidence"}``."""
    tbl = Mirror.__table__  # type: ignore[attr-defined]
    hf = [i for h, i in keys if h == "hf"]
    ms = [i for h, i in keys if h == "modelscope"]
    q = select(tbl).where(or_(tbl.c.hf_id.in_(hf), tbl.c.modelscope_id.in_(ms))).order_by(
        tbl.c.confidence.desc(), tbl.c.modelscope_id)
    with store.engine.connect() as conn:
        return [{"hf_id": r.hf_id, "modelscope_id": r.modelscope_id, "rule": r.rule,
                 "confidence": round(float(r.confidence), 3)} for r in conn.execute(q)]


def model_page(store: Store, graph: LineageGraph, node: int) -> dict[str, Any]:
    """Record, licence with drift findings, deployment signals, mirrors and links of one node."""
    keys = node_keys(graph, node)
    main = primary_key(graph, node)
    c = classified_edges(store, [main], keys)
    rows = {(r["hub"], r["id"]): r for r in c.models.iter_rows(named=True) if (r["hub"], r["id"]) in keys}
    card_frame = c.cards
    texts = {(h, i): t for h, i, t in card_frame.select("hub", "id", "text").iter_rows()}
    lic = c.licences.filter((pl.col("hub") == main[0]) & (pl.col("id") == main[1])).to_dicts()
    signals: list[dict[str, str]] = []
    for key, row in rows.items():
        for group, signal, source in signals_of(row, texts.get(key)):
            item = {"group": group, "signal": signal, "source": source, "hub": key[0]}
            if item not in signals:
                signals.append(item)
    record = dict(rows.get(main) or {})
    record["files_total"] = len(record.get("files") or [])
    record["files"] = (record.get("files") or [])[:_FILES_SHOWN]
    return {
        "record": {k: _jsonable(v) for k, v in record.items()},
        "records": {h: {"id": i, "downloads": rows[(h, i)]["downloads"], "likes": rows[(h, i)]["likes"]}
                    for h, i in keys if (h, i) in rows},
        "licence": {k: lic[0][k] for k in ("license", "license_class", "license_source", "license_raw")} if lic
        else None,
        "edges": [_edge_json(r) for r in c.edges.to_dicts()],
        "findings": [{k: r[k] for k in ("parents", "kind", "rule", "reason", "evidence", "notice")}
                     for r in c.findings.to_dicts()],
        "deployment": signals,
        "mirrors": mirrors_of(store, keys),
        "links": {h: hub_url(h, i) for h, i in keys},
        "card": {"fetched": any(texts.get(k) for k in keys),
                 "front_matter_keys": sorted(_front_matter(card_frame, main))},
    }


def _front_matter(card_frame: pl.DataFrame, key: Key) -> dict[str, Any]:
    for h, i, fm in card_frame.select("hub", "id", "front_matter").iter_rows():
        if (h, i) == key and fm:
            value = orjson.loads(fm) if isinstance(fm, str) else fm
            return value if isinstance(value, dict) else {}
    return {}


def edge_licences(store: Store, graph: LineageGraph, parent: int, children: list[int]) -> dict[int, dict[str, Any]]:
    """For each child: its licence and the drift classification of its edge to ``parent`` (for the explorer)."""
    keys = {c: primary_key(graph, c) for c in children}
    c = classified_edges(store, list(keys.values()))
    lic = {(h, i): (v, k) for h, i, v, k in c.licences.select("hub", "id", "license", "license_class").iter_rows()}
    parent_ids = {graph.ids[parent], graph.ms_ids.get(parent, graph.ids[parent])}
    by_child: dict[Key, dict[str, Any]] = {}
    for r in c.edges.iter_rows(named=True):
        if r["parent"] in parent_ids:
            by_child[(r["hub"], r["child"])] = {k: r[k] for k in ("kind", "rule", "reason", "parent_license",
                                                                  "child_license")}
    out = {}
    for child, key in keys.items():
        licence, klass = lic.get(key, ("missing", "missing"))
        out[child] = {"license": licence, "license_class": klass, "edge": by_child.get(key)}
    return out
