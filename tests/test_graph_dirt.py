"""Cycles, self-references, mirrored models and the disk cache, on small realistic stores."""

from __future__ import annotations

from datetime import datetime
from functools import partial
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


def _graph_of(edges: list[tuple[int, int, bool]], created: list[int]):
    """A graph of ``len(created)`` models and ``edges`` (child, parent, inferred), before its cycles are broken."""
    import numpy as np

    from analysis.lineage_graph import IdList, Labels, LineageGraph

    n = len(created)
    return LineageGraph(
        ids=IdList(f"org{i % 7}/m-{(i * 7919) % 1000:03d}-{i}" for i in range(n)), present=np.ones(n, np.uint8),
        ms_ids={}, authors=Labels(np.zeros(n), [None]), created=np.array(created, np.int64),
        architecture=Labels(np.zeros(n), [None]), child=np.array([c for c, _, _ in edges], np.int32),
        parent=np.array([p for _, p, _ in edges], np.int32), relation=np.zeros(len(edges), np.int8),
        inferred=np.array([i for _, _, i in edges], bool), rule=[""] * len(edges),
        confidence=np.ones(len(edges), np.float32))


def _broken_by_networkx(graph) -> tuple[list[dict], set[tuple[int, int]]]:
    """The rule's order of edges (``cycle_badness``; the rule itself is tested above) applied by networkx to every
    strongly connected component, one cycle at a time from the component's lowest node, components in the order of
    that node's id: the oracle of ``break_cycles``'s search."""
    import networkx as nx

    from analysis.lineage_build import cycle_badness

    g = nx.DiGraph()
    for e, (c, p) in enumerate(zip(graph.child.tolist(), graph.parent.tolist(), strict=True)):
        g.add_edge(c, p, e=e)

    report = []
    for comp in sorted((sorted(c) for c in nx.strongly_connected_components(g) if len(c) > 1),
                       key=lambda c: graph.ids[c[0]]):
        sub = nx.DiGraph(g.subgraph(comp))
        while True:
            try:
                cycle = nx.find_cycle(sub, source=comp)  # searched from the lowest node, then the next
            except nx.NetworkXNoCycle:
                break
            worst = min((sub.edges[u, v]["e"] for u, v in cycle), key=partial(cycle_badness, graph))
            c, p = int(graph.child[worst]), int(graph.parent[worst])
            sub.remove_edge(c, p)
            g.remove_edge(c, p)
            report.append({"cycle": [graph.ids[u] for u, _ in cycle], "dropped": {
                "child": graph.ids[c], "parent": graph.ids[p], "relation": "finetune",
                "inferred": bool(graph.inferred[worst])}})
    return report, set(g.edges())


@pytest.mark.parametrize("seed", range(6))
def test_cycles_are_broken_as_networkx_breaks_them_one_component_at_a_time(seed: int) -> None:
    """Pairs declaring each other (found without networkx) among longer cycles, pairs inside larger components,
    inferred edges, equal and unknown dates: the same edges dropped, reported in the same order, as the rule
    applied by networkx to every component."""
    import random

    import networkx as nx

    from analysis.lineage_build import break_cycles
    from analysis.lineage_graph import _NO_DATE

    rng = random.Random(seed)
    n = 400
    created = [rng.choice([_NO_DATE, 1_700_000_000, rng.randrange(1_600_000_000, 1_800_000_000)]) for _ in range(n)]
    edges = {(c, rng.randrange(c)): False for c in range(1, n) if rng.random() < 0.8}  # a DAG: parents are older
    nodes = list(range(n))
    rng.shuffle(nodes)
    for k in range(0, 120, 2):  # pairs declaring each other, some joined to a third model or to another pair
        u, v = nodes[k], nodes[k + 1]
        edges[(u, v)] = edges[(v, u)] = rng.random() < 0.1
        if rng.random() < 0.2:
            w = nodes[rng.randrange(120, n)]
            edges[(v, w)], edges[(w, u)] = False, rng.random() < 0.3
        if rng.random() < 0.1:
            edges[(v, nodes[k + 2])], edges[(nodes[k + 3], u)] = False, False
    for _ in range(10):  # longer cycles
        ring = rng.sample(range(n), rng.randrange(3, 6))
        for a, b in zip(ring, ring[1:] + ring[:1], strict=True):
            edges[(a, b)] = rng.random() < 0.1
    graph = _graph_of([(c, p, i) for (c, p), i in edges.items() if c != p], created)
    expected_report, expected_edges = _broken_by_networkx(_graph_of([(c, p, i) for (c, p), i in edges.items()
                                                                     if c != p], created))
    break_cycles(graph)
    kept = set(zip(graph.child.tolist(), graph.parent.tolist(), strict=True))
    assert nx.is_directed_acyclic_graph(nx.DiGraph(list(kept)))
    assert graph.report.cycles_broken == expected_report
    assert kept == expected_edges
    assert sum(len(c["cycle"]) == 2 for c in expected_report) >= 30  # most of the cycles are pairs
