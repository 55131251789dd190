"""The lineage graph on the bundled real sample, checked against plain-Python computations over the raw records."""

from __future__ import annotations

import gzip
import json
import mmap
import pickle
import random
from collections import defaultdict
from pathlib import Path

import numpy as np
import polars as pl
import pytest

from analysis import lineage_cache
from analysis.graph import UnknownModelError, build_graph, descendants, family, find, graph_stats, path, tree
from analysis.lineage_build import to_labels
from analysis.lineage_graph import IdList
from crawler.store import open_store
from hubsim.eval.world_store import load_world_store
from tests.support.store import hubtree

SAMPLE = Path(__file__).resolve().parents[1] / "data" / "sample"


@pytest.fixture(scope="session")
def sample_db(tmp_path_factory: pytest.TempPathFactory) -> str:
    """The sample world written page by page with ``write_page``, then bases resolved (as after a crawl)."""
    url = f"sqlite:///{tmp_path_factory.mktemp('sample')}/sample.db"
    store = open_store(url)
    load_world_store(SAMPLE, store)
    store.engine.dispose()
    return url


@pytest.fixture(scope="session")
def graph(sample_db: str):
    return build_graph(open_store(sample_db, create=False))


@pytest.fixture(scope="session")
def raw_parents() -> dict[str, set[str]]:
    """child id → declared bases (from ``base_model:`` tags and cardData), case-folded to stored ids."""
    with gzip.open(SAMPLE / "hf.jsonl.gz") as fh:
        records = [json.loads(line) for line in fh]
    by_lower = {r["id"].lower(): r["id"] for r in records}
    out: dict[str, set[str]] = defaultdict(set)
    for r in records:
        bases = [t.split(":")[-1] if t.count(":") >= 2 else t[len("base_model:"):]
                 for t in r.get("tags") or [] if isinstance(t, str) and t.startswith("base_model:")]
        card = r.get("cardData") or {}
        cb = card.get("base_model")
        bases += [cb] if isinstance(cb, str) else [b for b in cb or [] if isinstance(b, str)]
        for b in bases:
            stored = by_lower.get(b.strip().lower())
            if stored and stored != r["id"]:
                out[r["id"]].add(stored)
    return out


def test_children_of_every_qwen_base_match_the_raw_tags(graph, raw_parents) -> None:
    children: dict[str, set[str]] = defaultdict(set)
    for child, parents in raw_parents.items():
        for p in parents:
            children[p].add(child)
    qwen_bases = [p for p in children if p.startswith("Qwen/")]
    assert len(qwen_bases) > 30
    for base in qwen_bases:
        got = {m["id"] for m in descendants(graph, base, depth=1)["models"]}
        assert got == children[base], base
    assert len(children["Qwen/Qwen1.5-1.8B"]) > 500  # the real sample's biggest base (PROFILE.md: 528 tags)


def test_all_descendants_and_roots_match_a_plain_walk(graph, raw_parents) -> None:
    children: dict[str, set[str]] = defaultdict(set)
    for child, parents in raw_parents.items():
        for p in parents:
            children[p].add(child)

    def below(node: str) -> set[str]:
        seen, todo = set(), [node]
        while todo:
            for c in children[todo.pop()]:
                if c not in seen:
                    seen.add(c)
                    todo.append(c)
        return seen

    def roots(node: str) -> set[str]:
        ps = raw_parents.get(node)
        return {node} if not ps else set().union(*(roots(p) for p in ps))

    for base in ("Qwen/Qwen2-7B", "Qwen/Qwen1.5-7B", "Qwen/Qwen2-7B-Instruct"):
        assert {m["id"] for m in descendants(graph, base)["models"]} == below(base)
    for child in random.Random(5).sample(sorted(raw_parents), 200):
        assert set(family(graph, child)["roots"]) == roots(child), child


def test_merges_keep_every_parent(graph, raw_parents) -> None:
    merges = [c for c, ps in raw_parents.items() if len(ps) >= 2]
    assert merges
    for child in merges:
        for parent in raw_parents[child]:
            rows = {m["id"]: m for m in descendants(graph, parent, depth=1)["models"]}
            assert set(rows[child]["parents"]) == raw_parents[child]


def test_family_generation_and_path(graph) -> None:
    fam = family(graph, "CHE-72/Qwen2-1.5B-Instruct-Q8_0-GGUF")
    assert fam["generation"] == "Qwen2" and fam["depth"] >= 1
    assert all(r.startswith("Qwen/") for r in fam["roots"])
    p = path(graph, fam["roots"][0], "CHE-72/Qwen2-1.5B-Instruct-Q8_0-GGUF")
    assert p["kind"] == "descendant" and p["length"] == fam["depth"] and p["steps"][-1]["relation"] == "quantized"


def test_tree_counts_are_direct_children_per_relation(graph) -> None:
    t = tree(graph, "Qwen/Qwen2-7B", depth=1, max_children=3)
    direct = descendants(graph, "Qwen/Qwen2-7B", depth=1)["models"]
    counts: dict[str, int] = defaultdict(int)
    for m in direct:
        counts[m["relation"]] += 1
    assert t["counts"] == dict(counts)
    assert len(t["children"]) == 3 and t["more"] == len(direct) - 3
    assert t["below"] == descendants(graph, "Qwen/Qwen2-7B")["count"]


def test_stats_count_edges_and_left_out_bases(graph, sample_db) -> None:
    s = graph_stats(graph)
    store = open_store(sample_db, create=False)
    from analysis import frames

    edges = frames.edges(store)
    assert sum(s["edges"].values()) == graph.n_edges
    assert s["unresolved"]["edges"] == edges.filter(edges["status"] != "resolved").height
    assert s["families"][0]["root"] == "Qwen/Qwen1.5-1.8B"
    assert s["family"]["roots"] == sum(1 for m in graph.ids if m.startswith("Qwen/"))


def test_unknown_id_suggests_close_matches(graph) -> None:
    with pytest.raises(UnknownModelError) as err:
        find(graph, "Qwen/Qwen2-7B-Instrct")
    assert "Qwen/Qwen2-7B-Instruct" in err.value.suggestions
    with pytest.raises(UnknownModelError) as err:
        find(graph, "qwen/qwen2-7b")
    assert err.value.suggestions[0] == "Qwen/Qwen2-7B"


def test_cli_json_shapes_and_errors(sample_db, tmp_path) -> None:
    env = {"HUBTREE_CACHE": str(tmp_path)}
    run = hubtree("graph", "descendants", "Qwen/Qwen2-7B", "--relation", "quantized", "--db", sample_db, "--json",
                  env=env)
    assert run.code == 0, run.stderr
    out = json.loads(run.stdout)
    assert out["id"] == "Qwen/Qwen2-7B" and out["models"]
    assert set(out["models"][0]) >= {"id", "relation", "depth", "parents", "hub", "inferred"}
    assert {m["relation"] for m in out["models"]} == {"quantized"}
    fam = json.loads(hubtree("graph", "family", "Qwen/Qwen2-7B-Instruct-AWQ", "--db", sample_db, "--json",
                             env=env).stdout)
    assert set(fam) >= {"id", "roots", "generation", "depth"}
    stats = json.loads(hubtree("graph", "stats", "--db", sample_db, "--json", env=env).stdout)
    assert set(stats) >= {"nodes", "edges", "families", "inferred_edges", "parents", "depth_histogram"}
    assert set(stats["families"][0]) >= {"root", "size"}
    bad = hubtree("graph", "ancestors", "Qwen/Qwen2-7B-Instrct", "--db", sample_db, env=env)
    assert bad.code != 0 and "did you mean" in bad.stderr and "Traceback" not in bad.stderr
    missing = hubtree("graph", "stats", "--db", str(tmp_path / "nope.db"), env=env)
    assert missing.code != 0 and "nope.db" in missing.stderr and not (tmp_path / "nope.db").exists()


def test_the_graph_columns_read_like_the_lists_they_were_made_of(graph) -> None:
    """``LineageGraph.ids`` (one string and cut positions, for a fast cold load) answers as the list of the sample's
    ids would, and as a list with repeats, non-ASCII, empty ids and ids holding the separator; the authors and
    architectures (``Labels``) as their lists."""
    ids = list(graph.ids)
    assert len(ids) == graph.n_nodes > 1000 and graph.ids == ids
    known, rng = set(ids), random.Random(5)
    for n in rng.sample(range(len(ids)), 200):
        assert graph.ids[n] == ids[n] and graph.ids[n - len(ids)] == ids[n]
        assert graph.ids.index(ids[n]) == ids.index(ids[n]) and ids[n] in graph.ids
        assert (ids[n][:-1] in graph.ids) == (ids[n][:-1] in known)  # a part of an id is found only if it is one
    assert graph.ids[10:20] == ids[10:20] and pickle.loads(pickle.dumps(graph.ids)) == graph.ids
    odd = ["a/b", "x/ü-名", "a/b", "", "a/bc", "q/x\nc/d\n", "c/d"]
    made = IdList(odd)
    assert list(made) == odd and [made[i] for i in range(-7, 7)] == odd * 2 and made == odd
    for protocol in (4, 5):  # 5: the text and cuts as buffers (in band here)
        again = pickle.loads(pickle.dumps(made, protocol=protocol))
        assert list(again) == odd and again.index("c/d") == 6 and "q/x" not in again and again == made
    # made from a polars column (as the build makes it): the same text, cuts and answers
    for values in (odd, odd[:5], ["名/😀"], []):
        from_column = IdList.of_series(pl.Series(values, dtype=pl.String))
        assert from_column == IdList(values) and from_column._cuts == IdList(values)._cuts
        assert list(from_column) == values and from_column._plain == IdList(values)._plain
    # as a polars column: split by polars when no id holds a newline, else id by id
    assert graph.ids.series().to_list() == ids and made.series().to_list() == odd
    assert IdList(odd[:5]).series().to_list() == odd[:5] and IdList([]).series().to_list() == []
    for chunk in (1, 2, 7, 1000):  # split a chunk of ids at a time: the chunks' seams lose and add nothing
        assert graph.ids.series(chunk).to_list() == ids and IdList(odd[:5]).series(chunk).to_list() == odd[:5]
        assert IdList(["", ""]).series(chunk).to_list() == ["", ""]
        for start, stop in ((0, 0), (3, 4), (5, len(ids) - 2), (len(ids) - 1, len(ids) + 5)):  # a span of nodes
            assert graph.ids.series(chunk, start=start, stop=stop).to_list() == ids[start:stop]
            assert made.series(chunk, start=min(start, 7), stop=stop).to_list() == odd[min(start, 7):stop]
    dense = list(range(100, 160, 3)) + list(range(158, 100, -5))  # many of a span, in any order
    for some in ([], [3], rng.sample(range(len(ids)), 50), rng.sample(range(len(ids)), len(ids) // 2), dense):
        nodes = np.array(some, np.int64)  # few of their span: decoded one by one; many: gathered from its column
        assert graph.ids.take_series(nodes).to_list() == [ids[n] for n in some]
        assert graph.authors.series("a", nodes).to_list() == [graph.authors[n] for n in some]
    assert made.take_series(np.array([5, 0, 5], np.int64)).to_list() == [odd[5], odd[0], odd[5]]
    assert (made.index("a/b"), made.index("a/b", 1), made.index(""), made.index("c/d")) == (0, 2, 3, 6)
    assert "a/" not in made and "b" not in made and "q/x" not in made and "x/ü-名" in made and "q/x\nc/d\n" in made
    with pytest.raises(ValueError):
        made.index("a/b", 3)
    with pytest.raises(IndexError):
        made[7]  # noqa: B018
    # Authors and architectures (codes and the distinct values) read like their lists too.
    for values in ([None, "b", "a", None, "a", "\n", "😀", ""], ["x"] * 3, [None], [], [str(i % 300) for i in range(999)]):
        labels = to_labels(pl.Series(values, dtype=pl.String))
        assert list(labels) == values and labels.values == list(dict.fromkeys(values))  # in order of appearance
        for wanted in ({"a", None}, {""}, {"zz"}, set()):
            assert labels.isin(wanted).tolist() == [v in wanted for v in values]
        folded = labels.mapped(lambda v: (v or "").upper())  # None and "" become one value
        assert list(folded) == [(v or "").upper() for v in values] and len(set(folded.values)) == len(folded.values)
    for column in (graph.authors, graph.architecture):
        values = list(column)
        assert len(values) == graph.n_nodes and len(set(values)) == len(column.values) < graph.n_nodes
        assert [column[n] for n in range(-3, 3)] == values[-3:] + values[:3] and column[5:9] == values[5:9]
        assert column.objects().tolist() == values and pickle.loads(pickle.dumps(column)) == values
        assert column.series("c").to_list() == values


def test_a_cached_graph_is_mapped_from_its_file_and_answers_as_the_built_one(graph, sample_db, tmp_path, monkeypatch) -> None:
    """The graph cache's file holds the arrays, ids and labels out of band, mapped copy-on-write when loaded: the
    loaded graph equals the built one field by field and query by query; a change to it stays in the process; a
    damaged file is built again, never read."""
    monkeypatch.setenv("HUBTREE_CACHE", str(tmp_path / "cache"))

    def rebuilt():
        raise AssertionError("the cache was not used")

    assert lineage_cache.cached(sample_db, {}, lambda: graph) is graph
    loaded = lineage_cache.cached(sample_db, {}, rebuilt)
    base = loaded.child
    while isinstance(base, np.ndarray | memoryview):
        base = base.obj if isinstance(base, memoryview) else base.base
    assert isinstance(loaded.ids._text, mmap.mmap) and isinstance(base, mmap.mmap)  # mapped, not read
    assert loaded.ids == graph.ids and list(loaded.ids) == list(graph.ids) and loaded.ids._cuts == graph.ids._cuts
    for labels in ("authors", "architecture"):
        assert list(getattr(loaded, labels)) == list(getattr(graph, labels))
        assert getattr(loaded, labels).values == getattr(graph, labels).values
    for column in ("present", "created", "child", "parent", "relation", "inferred", "confidence", "down_ptr",
                   "down_edges", "up_ptr", "up_edges"):
        assert np.array_equal(getattr(loaded, column), getattr(graph, column)), column
        assert getattr(loaded, column).dtype == getattr(graph, column).dtype, column
    assert (loaded.rule, loaded.ms_ids, loaded.report.as_dict()) == (graph.rule, graph.ms_ids, graph.report.as_dict())
    assert graph.n_edges > 1000
    for root in [f["root"] for f in graph_stats(graph)["families"][:5]]:
        assert descendants(loaded, root) == descendants(graph, root) and family(loaded, root) == family(graph, root)
        assert tree(loaded, root) == tree(graph, root)
    loaded.present[:] = 0  # writable, privately
    assert np.array_equal(lineage_cache.cached(sample_db, {}, rebuilt).present, graph.present)
    [target] = (tmp_path / "cache").rglob("graph-*.pkl")
    intact = target.read_bytes()
    huge = intact[: len(lineage_cache.MAGIC)] + (1 << 62).to_bytes(8, "little") + intact[len(lineage_cache.MAGIC) + 8:]
    for damaged in (intact[: len(intact) // 2], intact[:30], b"x" + intact[1:], pickle.dumps(graph), huge):
        (tmp_path / "damaged").write_bytes(damaged)
        (tmp_path / "damaged").replace(target)  # a new file, as the cache writes one: the old one stays mapped
        assert lineage_cache.cached(sample_db, {}, lambda: "built") == "built"
