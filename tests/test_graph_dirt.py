"""Cycles, self-references, mirrored models and the disk cache, on small realistic stores."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path

import pytest

from analysis.graph import ancestors, build_graph, descendants, family, find, graph_stats, open_graph
from crawler.family import resolve_edges
from crawler.ingest import write_page
from crawler.store import Edge, Mirror, Model, open_store


def hf(mid: str, created: str, bases: tuple[str, ...] = (), *, tags: tuple[str, ...] = ("transformers", "qwen2"),
       library: str = "transformers") -> dict:
    """A listing-shaped HF record as the 2024 API returned it (untyped ``base_model:`` tags)."""
    return {"_id": f"{abs(hash(mid)):024x}"[:24], "id": mid, "modelId": mid, "author": mid.split("/")[0],
            "createdAt": f"{created}T10:00:00.000Z", "likes": 0, "downloads": 3, "private": False,
            "library_name": library, "pipeline_tag": "text-generation",
            "tags": [*tags, *(f"base_model:{b}" for b in bases), "region:us"]}


def store_with(tmp_path: Path, records: list[dict]):
    store = open_store(f"sqlite:///{tmp_path}/t.db")
    write_page(store, "hf", records, run_id=None)
    resolve_edges(store, "hf")
    return store


def test_cycle_is_broken_by_the_younger_parent_rule(tmp_path: Path) -> None:
    store = store_with(tmp_path, [
        hf("Qwen/Qwen2-7B", "2024-06-06"),
        hf("alice/Qwen2-7B-chat", "2024-05-01", ("bob/Qwen2-7B-sft", "Qwen/Qwen2-7B")),
        hf("bob/Qwen2-7B-sft", "2024-06-01", ("carol/Qwen2-7B-dpo",)),
        hf("carol/Qwen2-7B-dpo", "2024-07-01", ("alice/Qwen2-7B-chat",)),
        hf("dave/Qwen2-mini", "2024-07-02", ("Dave/Qwen2-Mini",)),  # a self-reference in another case
    ])
    g = build_graph(store)
    s = graph_stats(g)
    assert s["cycles_broken"] == 1
    dropped = s["cycles"][0]["dropped"]
    # alice (May) → bob (June) is the widest "parent younger than child" gap: 31 days against 30 for bob → carol
    assert (dropped["child"], dropped["parent"]) == ("alice/Qwen2-7B-chat", "bob/Qwen2-7B-sft")
    assert set(s["cycles"][0]["cycle"]) == {"alice/Qwen2-7B-chat", "bob/Qwen2-7B-sft", "carol/Qwen2-7B-dpo"}
    assert [m["id"] for m in ancestors(g, "bob/Qwen2-7B-sft")["models"]] == [
        "carol/Qwen2-7B-dpo", "alice/Qwen2-7B-chat", "Qwen/Qwen2-7B"]
    assert family(g, "bob/Qwen2-7B-sft")["roots"] == ["Qwen/Qwen2-7B"]
    assert s["unresolved"]["reasons"] == {"self-reference": 1}
    again = graph_stats(build_graph(store))
    assert again["cycles"] == s["cycles"]  # deterministic


def test_mirrored_modelscope_model_counts_once(tmp_path: Path) -> None:
    store = store_with(tmp_path, [hf("Qwen/Qwen2-7B", "2024-06-06"),
                                  hf("x/Qwen2-7B-ft", "2024-06-20", ("Qwen/Qwen2-7B",))])
    when = datetime(2024, 7, 1)
    with store.transaction() as conn:
        store.upsert(conn, Model, [
            {"hub": "modelscope", "id": i, "author": i.split("/")[0], "created_at": when, "architecture": "qwen2"}
            for i in ("qwen/Qwen2-7B", "ms-user/Qwen2-7B-ft2", "ms-only/Qwen2-7B-foo")])
        store.upsert(conn, Edge, [{"hub": "modelscope", "child": "ms-user/Qwen2-7B-ft2", "parent_raw": "qwen/Qwen2-7B",
                                   "parent": "qwen/Qwen2-7B", "relation": "finetune", "declared": True,
                                   "rule": "rule:default", "status": "resolved", "reason": None}])
        store.upsert(conn, Mirror, [{"modelscope_id": "qwen/Qwen2-7B", "hf_id": "Qwen/Qwen2-7B", "rule": "same-name",
                                     "confidence": 0.98}])
    g = build_graph(store)
    assert g.n_nodes == 4
    assert find(g, "qwen/Qwen2-7B", hub="modelscope") == find(g, "Qwen/Qwen2-7B")  # ids scanned (one-shot CLI)
    assert g.nodes_by_id["qwen/Qwen2-7B"] == g.nodes_of("qwen/Qwen2-7B")  # the index a service builds agrees
    rows = {m["id"]: m for m in descendants(g, "Qwen/Qwen2-7B")["models"]}
    assert set(rows) == {"x/Qwen2-7B-ft", "ms-user/Qwen2-7B-ft2"}
    assert rows["ms-user/Qwen2-7B-ft2"]["hub"] == "modelscope" and rows["ms-user/Qwen2-7B-ft2"]["parents"] == [
        "Qwen/Qwen2-7B"]
    assert [m["id"] for m in descendants(g, "Qwen/Qwen2-7B", hub="modelscope")["models"]] == ["ms-user/Qwen2-7B-ft2"]
    s = graph_stats(g)
    assert s["hubs"] == {"hf": 2, "modelscope": 3, "both": 1}
    assert s["family"]["roots"] == 1 and s["family"]["members"] == 2
    assert s["families"][0] == {"root": "Qwen/Qwen2-7B", "size": 2, "generation": "Qwen2", "official": True}
    assert family(g, "qwen/Qwen2-7B")["hubs"] == ["hf", "modelscope"]


def test_cache_is_reused_and_invalidated_by_a_write(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HUBTREE_CACHE", str(tmp_path / "cache"))
    store = store_with(tmp_path, [hf("Qwen/Qwen2-7B", "2024-06-06"),
                                  hf("x/Qwen2-7B-ft", "2024-06-20", ("Qwen/Qwen2-7B",))])
    store.engine.dispose()
    url = str(store.url)
    first = open_graph(url)
    files = list((tmp_path / "cache").rglob("graph-*.pkl"))
    assert len(files) == 1
    assert open_graph(url).ids == first.ids
    store = open_store(url)
    write_page(store, "hf", [hf("y/Qwen2-7B-ft-GGUF", "2024-06-25", ("x/Qwen2-7B-ft",), tags=("gguf",))], run_id=None)
    store.engine.dispose()
    after = open_graph(url)
    assert "y/Qwen2-7B-ft-GGUF" in after.ids
    assert [m["id"] for m in descendants(after, "Qwen/Qwen2-7B")["models"]] == ["x/Qwen2-7B-ft", "y/Qwen2-7B-ft-GGUF"]
