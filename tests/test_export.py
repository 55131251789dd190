"""``hubtree graph export``: every format reads back in networkx or polars with the nodes, attributes and typed
edges the store and the CLI's queries give."""

from __future__ import annotations

import json

import networkx as nx
import polars as pl
import pytest

from analysis.export import export_frames, write_export
from analysis.families import family_members
from crawler.family import resolve_edges
from crawler.ingest import write_page
from crawler.store import open_store
from tests.support.store import hubtree
from tests.test_report_escaping import EVIL_ID, _record

ROOT = "Qwen/Qwen2-7B"


@pytest.fixture(scope="module")
def exported(sample_store):
    return export_frames(sample_store, include_inferred=True)


def cli_children(store, model_id: str) -> dict[str, str]:
    run = hubtree("graph", "descendants", model_id, "--depth", "1", "--db", store.url, "--json")
    assert run.code == 0, run.stderr
    return {m["id"]: m["relation"] for m in json.loads(run.stdout)["models"]}


@pytest.mark.parametrize("fmt", ["graphml", "gexf"])
def test_graph_files_read_back_in_networkx(exported, sample_store, tmp_path, fmt):
    nodes, edges = exported
    [path] = write_export(nodes, edges, fmt, tmp_path / f"lineage.{fmt}")
    g = nx.read_graphml(path) if fmt == "graphml" else nx.read_gexf(path)
    assert g.number_of_nodes() == nodes.height == sample_store_models(sample_store)
    assert g.number_of_edges() == edges.height > edges["inferred"].sum() > 0
    root = g.nodes[ROOT]
    assert (root["family"], root["generation"], root["license"], root["hub"]) == ("qwen", "Qwen2", "apache-2.0", "hf")
    assert int(root["downloads"]) == 79813 and root["created"].startswith("2024-06-04")
    declared = {c: d["relation"] for _, c, d in g.out_edges(ROOT, data=True) if str(d["inferred"]) in ("False", "false")}
    assert declared == cli_children(sample_store, ROOT)
    inferred = next(d for _, _, d in g.edges(data=True) if str(d["inferred"]) in ("True", "true"))
    assert inferred["rule"] and 0 < float(inferred["confidence"]) <= 1


def sample_store_models(store) -> int:
    from analysis import frames

    return frames.models(store).filter(pl.col("deleted_at").is_null()).height


@pytest.mark.parametrize("fmt", ["parquet", "csv"])
def test_tables_read_back_in_polars(exported, tmp_path, fmt):
    nodes, edges = exported
    paths = write_export(nodes, edges, fmt, tmp_path / "lineage")
    read = pl.read_parquet if fmt == "parquet" else (lambda p: pl.read_csv(p, schema=schemas[p.stem]))
    schemas = {"nodes": nodes.schema, "edges": edges.schema}
    back = {p.stem: read(p) for p in paths}
    assert back["nodes"].equals(nodes) and back["edges"].equals(edges)


def test_a_family_export_holds_its_members_and_their_edges(sample_store):
    nodes, edges = export_frames(sample_store, family="qwen")
    members = family_members(sample_store, "qwen")
    assert set(nodes["id"]) == set(members["id"]) and nodes["family"].str.contains("qwen").all()
    ids = set(nodes["key"])
    assert set(edges["source"]) <= ids and set(edges["target"]) <= ids and not edges["inferred"].any()
    with_inferred, inferred_edges = export_frames(sample_store, family="qwen", include_inferred=True)
    assert with_inferred.height > nodes.height and inferred_edges["inferred"].any()
    assert with_inferred.filter(pl.col("family").is_null())["id"].is_in(list(ids)).sum() == 0


def test_untrusted_ids_survive_every_format(tmp_path):
    store = open_store(f"sqlite:///{tmp_path / 'evil.db'}")
    write_page(store, "hf", [_record(ROOT, "2024-06-04T00:00:00.000Z", ["license:apache-2.0", "qwen2"], 9),
                             _record(EVIL_ID, "2024-07-03T00:00:00.000Z", ["base_model:Qwen/Qwen2-7B", "qwen2"]),
                             _record('q/"a",b\n=c', "2024-07-04T00:00:00.000Z", ["base_model:Qwen/Qwen2-7B"])],
               run_id=None)
    resolve_edges(store, "hf")
    nodes, edges = export_frames(store)
    for fmt in ("graphml", "gexf"):
        [path] = write_export(nodes, edges, fmt, tmp_path / f"evil.{fmt}")
        g = nx.read_graphml(path) if fmt == "graphml" else nx.read_gexf(path)
        assert set(g.successors(ROOT)) == {EVIL_ID, 'q/"a",b\n=c'}
    write_export(nodes, edges, "csv", tmp_path / "csv")
    assert set(pl.read_csv(tmp_path / "csv" / "nodes.csv")["id"]) == {ROOT, EVIL_ID, 'q/"a",b\n=c'}


def test_the_cli_writes_what_networkx_reads(sample_store, tmp_path):
    out = tmp_path / "qwen.gexf"
    run = hubtree("graph", "export", "--format", "gexf", "--family", "qwen", "--out", str(out), "--db",
                  sample_store.url, "--json")
    assert run.code == 0, run.stderr
    summary = json.loads(run.stdout)
    g = nx.read_gexf(out)
    assert g.number_of_nodes() == summary["nodes"] == family_members(sample_store, "qwen").height
    assert g.number_of_edges() == summary["edges"] and summary["inferred_edges"] == 0
    bad = hubtree("graph", "export", "--format", "dot", "--out", str(out), "--db", sample_store.url)
    assert bad.code == 2 and "--format" in bad.stderr
    bad = hubtree("graph", "descendants", ROOT, "--relation", "fork", "--db", sample_store.url)
    assert bad.code == 2 and "--relation" in bad.stderr and "fork" in bad.stderr
