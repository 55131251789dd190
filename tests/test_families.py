"""Families side by side: counts against the generator's truth and an independent traversal of the raw records,
the bundled real sample, the families table (built-in and a user's TOML file), partial months."""

from __future__ import annotations

import json
import re
from collections import Counter, defaultdict
from pathlib import Path

import polars as pl
import pytest

from analysis import frames
from analysis.families import analyse_families, family_members, lineage_view, load_view
from analysis.family_analyses import family_data
from analysis.growth import GROWTH_COLUMNS
from crawler.families import FamilyError, get_family, load_families, select_families
from crawler.store import open_store
from hubsim.eval.world_store import iter_hf_records, load_world_store
from hubsim.gen_dirt import DirtConfig
from hubsim.generate import GeneratorConfig, generate_world
from tests.support.sample import sample_records
from tests.support.store import children_by_base, descendants

#: A world whose records declare their true lineage (no dirt), so declared counts must equal the truth.
CLEAN = DirtConfig(none=0, card=0, wrong=0, untyped_when_old=0, relation_mislabel=0, absent=0, non_ascii_ids=0)
SIX = ("qwen", "llama", "mistral", "gemma", "deepseek", "phi")


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, str]:
    out = tmp_path_factory.mktemp("families")
    generate_world(out / "world", GeneratorConfig(qwen=600, others=1200, modelscope=0, seed=4, dirt=CLEAN))
    url = f"sqlite:///{out / 'store.db'}"
    load_world_store(out / "world", open_store(url))
    return out / "world", url


def _declared(records: list[dict]) -> tuple[list[tuple[str, str]], dict[str, list[tuple[str, str]]]]:
    """(child, base) pairs from ``base_model:`` tags, and each child's typed (relation, base) tags."""
    pairs, typed = [], defaultdict(list)
    for r in records:
        for tag in r.get("tags") or []:
            if isinstance(tag, str) and tag.startswith("base_model:"):
                parts = tag.split(":", 2)
                if len(parts) == 3:
                    typed[r["id"]].append((parts[1], parts[2]))
                else:
                    pairs.append((r["id"], parts[1]))
    return pairs, typed


def _independent(records: list[dict], orgs: tuple[str, ...], pattern: str | None) -> tuple[set[str], set[str]]:
    """Roots (owner in ``orgs``, name matching ``pattern``) and everything below them, by plain BFS."""
    ids = {r["id"] for r in records}
    roots = {i for i in ids if i.split("/")[0].lower() in {o.lower() for o in orgs}
             and (pattern is None or re.search(pattern, i.split("/")[1], re.IGNORECASE))}
    pairs, _ = _declared(records)
    kids = children_by_base(pairs, ids)
    edges = [(p, c) for p, cs in kids.items() for c in cs]
    return roots, descendants(edges, roots) - roots


def test_six_families_equal_the_truth_and_an_independent_traversal(world) -> None:
    path, url = world
    truth = json.loads((path / "_truth" / "families.json").read_text())
    records = list(iter_hf_records(path))
    _, typed = _declared(records)
    report = analyse_families(open_store(url, create=False), select_families(SIX), include_inferred=False)
    assert [f["name"] for f in report.families] == list(SIX)
    for row in report.families:
        fam, want = get_family(row["name"]), truth["families"][row["name"]]
        roots, derived = _independent(records, fam.orgs, fam.pattern)
        relations = Counter("merge" if len({b for _, b in typed[d]}) > 1 else typed[d][0][0] for d in derived)
        assert row["roots"] == len(want["roots"]) == len(roots) > 0, row["name"]
        assert row["derivatives"] == want["derivatives"] == len(derived) > 0, row["name"]
        assert row["by_relation"] == want["by_relation"] == {r: relations.get(r, 0) for r in row["by_relation"]}
    # Google and Microsoft publish models outside Gemma and Phi: their organisations count more than the families.
    orgs = {o["org"]: o for o in report.organisations}
    assert orgs["google"]["models"] > report.family("gemma")["roots"]
    assert orgs["microsoft"]["models"] > report.family("phi")["roots"]


def test_a_cross_family_merge_counts_in_both_families(world) -> None:
    path, url = world
    truth = json.loads((path / "_truth" / "families.json").read_text())
    assert truth["cross_family_merges"], "the generator guarantees a merge across families"
    store = open_store(url, create=False)
    view = load_view(store)
    frames = {name: set(family_members(store, name, view=view)["id"]) for name in SIX}
    report = analyse_families(store, select_families(SIX), include_inferred=False, view=view)
    shared = {s["id"]: s["families"] for s in report.shared_models}
    for model in truth["cross_family_merges"]:
        families = set(truth["shared"][model])
        assert len(families) >= 2
        assert {name for name, ids in frames.items() if model in ids} == families
        if model in shared:  # listed when among the most downloaded shared models
            assert set(shared[model]) == families
    qwen_llama = next(o for o in report.overlaps if o["families"] == ["qwen", "llama"])
    assert qwen_llama["models"] == sum(1 for fams in truth["shared"].values() if {"qwen", "llama"} <= set(fams))


def test_sample_qwen_differs_only_by_children_of_missing_root_org_bases(sample_store) -> None:
    records = sample_records()
    qwen = get_family("qwen")
    roots, before = _independent(records, qwen.orgs, qwen.pattern)  # the declared reach of stored roots
    ids = {r["id"] for r in records}
    pairs, _ = _declared(records)
    missing = {(c, b) for c, b in pairs if b not in ids and b.lower() not in {i.lower() for i in ids}
               and b.split("/")[0] == "Qwen"}
    orphans = {c for c, _ in missing}
    kids = children_by_base(pairs, ids)
    below = descendants([(p, c) for p, cs in kids.items() for c in cs], orphans)
    report = analyse_families(sample_store, include_inferred=False)
    row = report.family("qwen")
    print(f"\nsample Qwen: roots {len(roots)}, derivatives before {len(before)}, after {row['derivatives']} "
          f"(+{len(orphans | below)} below {len({b for _, b in missing})} missing Qwen bases)")
    assert row["roots"] == len(roots) == 107
    assert row["derivatives"] == len(before | orphans | below) > len(before)
    assert {u["base"] for u in report.unresolved_bases if u["family"] == "qwen"} == {b for _, b in missing}
    # "Qwen2/Qwen2-7B-Instruct" (9 children) names an organisation that is not Qwen's: not counted, not guessed.
    assert not any(u["base"].startswith("Qwen2/") for u in report.unresolved_bases)
    others = {f["name"]: f for f in report.families if f["name"] != "qwen"}
    assert all(f["roots"] > 0 for f in others.values())
    assert sum(f["derivatives"] for f in others.values()) > 0


def test_partial_month_has_no_month_over_month_change(sample_store) -> None:
    report = analyse_families(sample_store, include_inferred=False)
    assert report.data_end is not None and f"{report.data_end:%Y-%m-%d}" == "2024-07-11"
    assert report.partial_month == "2024-07"
    july = report.months.filter(report.months["month"] == "2024-07")
    assert july["partial"].all() and july["change"].is_null().all()
    june = report.months.filter(report.months["month"] == "2024-06").to_dicts()
    assert any(r["change"] is not None for r in june)
    for _, rows in report.months.group_by("month"):
        total = rows["new"].sum()
        assert total == 0 or rows["share"].sum() == pytest.approx(1.0, abs=1e-3)


def test_min_downloads_counts_only_derivatives_above_the_threshold(sample_store) -> None:
    full = analyse_families(sample_store, select_families("qwen"), include_inferred=False)
    atom = analyse_families(sample_store, select_families("qwen"), include_inferred=False, min_downloads=6)
    members = family_members(sample_store, "qwen")
    downloads = {r["id"]: r.get("downloads") or 0 for r in sample_records()}
    derived = [i for i, d in zip(members["id"], members["depth"], strict=True) if d > 0]
    assert atom.family("qwen")["derivatives"] == sum(1 for i in derived if downloads[i] >= 6)
    assert atom.family("qwen")["derivatives"] < full.family("qwen")["derivatives"] == len(derived)
    assert atom.months["new"].sum() <= full.months["new"].sum()


def test_a_user_file_adds_and_changes_families(tmp_path: Path, sample_store) -> None:
    user = tmp_path / "families.toml"
    user.write_text('[families.qwen]\norgs = ["Qwen", "Qwen2"]\n\n'
                    '[families.yi]\nlabel = "Yi"\norgs = ["01-ai"]\narchitectures = ["llama"]\n', "utf-8")
    table = load_families(user)
    assert table["qwen"].orgs == ("Qwen", "Qwen2") and table["qwen"].generations == get_family("qwen").generations
    assert table["yi"].label == "Yi" and "yi" not in load_families()
    before = analyse_families(sample_store, select_families("qwen"), include_inferred=False)
    after = analyse_families(sample_store, [table["qwen"]], include_inferred=False)
    # The nine children of "Qwen2/Qwen2-7B-Instruct" now count: their base is inside a root organisation.
    assert after.family("qwen")["derivatives"] == before.family("qwen")["derivatives"] + 9
    assert {"base": "Qwen2/Qwen2-7B-Instruct", "children": 9, "family": "qwen"} in after.unresolved_bases


@pytest.mark.parametrize(("text", "message"), [
    ('[families.x]\norgs = ["a"]\ncolour = "red"\n', "unknown key(s) colour"),
    ('[families.x]\norgs = ["a"]\npattern = "("\n', "invalid regex"),
    ('[families.x]\nlabel = "X"\n', "orgs must be a list"),
    ("[families.x\n", "not valid TOML"),
])
def test_a_bad_families_file_is_one_clear_error(tmp_path: Path, text: str, message: str) -> None:
    user = tmp_path / "bad.toml"
    user.write_text(text, "utf-8")
    with pytest.raises(FamilyError, match=re.escape(message)) as err:
        load_families(user)
    assert "\n" not in str(err.value) and str(user.name) in str(err.value)


def test_unknown_family_names_the_known_ones() -> None:
    with pytest.raises(FamilyError, match="known families: qwen, llama, mistral, gemma, deepseek, phi"):
        select_families("qwen,olmo")


def test_inferred_members_are_counted_apart(sample_store) -> None:
    declared = analyse_families(sample_store, select_families("qwen,llama"), include_inferred=False)
    both = analyse_families(sample_store, select_families("qwen,llama"))
    for name in ("qwen", "llama"):
        assert declared.family(name)["inferred"] is None
        assert both.family(name)["derivatives"] == declared.family(name)["derivatives"]  # never mixed in
    assert both.family("qwen")["inferred"] > 0
    assert sum(both.family("qwen")["inferred_by_rule"].values()) == both.family("qwen")["inferred"]


def test_as_of_a_month_end_counts_the_families_as_they_stood(sample_store) -> None:
    from datetime import datetime

    june = analyse_families(sample_store, include_inferred=False, as_of=datetime(2024, 6, 30, 23, 59, 59))
    now = analyse_families(sample_store, include_inferred=False)
    assert june.partial_month is None and not june.months["partial"].any()
    assert june.months["month"].max() == "2024-06"
    last = now.months.filter(now.months["month"] == "2024-06")
    assert june.months.filter(june.months["month"] == "2024-06")["cumulative"].to_list() == last["cumulative"].to_list()
    assert june.months.filter(june.months["month"] == "2024-06")["change"].to_list() == last["change"].to_list()
    qwen = june.family("qwen")
    assert qwen["derivatives"] < now.family("qwen")["derivatives"]


@pytest.fixture(scope="module")
def dirty_world(tmp_path_factory: pytest.TempPathFactory) -> str:
    """A multi-family world with the default dirt: undeclared models, wrong and missing bases."""
    out = tmp_path_factory.mktemp("dirty")
    generate_world(out / "world", GeneratorConfig(qwen=500, others=1000, modelscope=0, seed=9))
    url = f"sqlite:///{out / 'store.db'}"
    load_world_store(out / "world", open_store(url))
    return url


def test_report_for_llama_lists_only_llamas_roots_members_and_undeclared_models(dirty_world, tmp_path) -> None:
    from tests.support.store import hubtree

    out = tmp_path / "llama"
    run = hubtree("report", "--month", "2026-11", "--family", "llama", "--db", dirty_world, "--out", str(out),
                  "--json")
    assert run.code == 0, run.stderr
    assert run.summary["family"] == "llama"
    data = json.loads((out / "report.json").read_text())
    store = open_store(dirty_world, create=False)
    llama = analyse_families(store, include_inferred=False).family("llama")
    members = family_members(store, "llama")
    ids = set(members["id"])
    roots = {i for i, d in zip(members["id"], members["depth"], strict=True) if d == 0}
    assert roots and all(i.startswith("meta-llama/") for i in roots)
    h = {x["key"]: x["value"] for x in data["headline"]}
    assert h["family_models"] == len(ids) == llama["roots"] + llama["derivatives"]
    assert sum(r["roots"] for r in data["tables"]["families"]) == len(roots)
    assert all(r["generation"] == "(unknown)" or r["generation"].startswith(("Llama", "CodeLlama"))
               for r in data["tables"]["families"])
    for table in ("new_derivatives", "flagged_models"):
        assert {r["id"] for r in data["tables"][table]} <= ids, table
    assert data["tables"]["new_derivatives"]
    undeclared = data["tables"]["undeclared_by_architecture"]
    assert {r["architecture"] for r in undeclared} <= set(get_family("llama").architectures)
    assert sum(r["models"] for r in undeclared) == llama["undeclared"] > 0
    assert data["meta"]["family"] == "Llama" and data["meta"]["sentence"].startswith(
        f"Llama: {llama['derivatives']:,} derivatives (declared)")
    compare = {r["family"]: r for r in data["tables"]["families_compare"]}
    assert set(compare) == {"Qwen", "Llama", "Mistral", "Gemma", "DeepSeek", "Phi"}
    assert compare["Llama"]["derivatives"] == llama["derivatives"]


@pytest.fixture(scope="module")
def mirrored_world(tmp_path_factory: pytest.TempPathFactory) -> str:
    """Both hubs crawled from a generated world with ModelScope mirrors of Hugging Face models."""
    from tests.support.sim import running_sim
    from tests.test_mirrors import crawl_both

    out = tmp_path_factory.mktemp("mirrored")
    generate_world(out / "world", GeneratorConfig(qwen=400, others=400, modelscope=200, seed=3))
    url = f"sqlite:///{out / 'store.db'}"
    with running_sim(out / "world") as sim:
        crawl_both(sim.url, url)
    return url


@pytest.fixture(scope="module")
def shuffled_world(tmp_path_factory: pytest.TempPathFactory) -> str:
    """A dirty world's records stored in another order than their ids' (as a listing by downloads gives them),
    with more than the 500 models :func:`analysis.frames.table` asks for in one ``IN``."""
    import random

    from crawler.family import resolve_edges
    from crawler.ingest import write_page

    out = tmp_path_factory.mktemp("shuffled")
    generate_world(out / "world", GeneratorConfig(qwen=2000, others=1000, modelscope=0, seed=5))
    records = list(iter_hf_records(out / "world"))
    random.Random(5).shuffle(records)
    url = f"sqlite:///{out / 'store.db'}"
    store = open_store(url)
    for start in range(0, len(records), 100):
        write_page(store, "hf", records[start:start + 100], run_id=None)
    resolve_edges(store, "hf")
    return url


@pytest.mark.parametrize("store_name", ["sample_store", "dirty_world", "shuffled_world", "mirrored_world"])
def test_members_from_the_lineage_alone_equal_the_whole_graphs(store_name, request) -> None:
    """``family_members`` reads only the models a lineage can hold (:func:`lineage_view`): on the bundled sample,
    dirty worlds (cycles, self-references, wrong case, deleted bases, non-ASCII ids), one stored in another order
    than its ids', and both hubs with mirrors, every family's members, generations and depths, in order, are those
    of the whole-hub graph."""
    fixture = request.getfixturevalue(store_name)
    store = fixture if not isinstance(fixture, str) else open_store(fixture, create=False)
    if store_name == "mirrored_world":
        assert frames.mirrors(store).height > 0
    whole = load_view(store, metrics=False)
    sizes = {}
    for fam in select_families():
        lineage = lineage_view(store, fam)
        assert 0 < lineage.graph.n_nodes < whole.graph.n_nodes
        try:
            want = family_members(store, fam, view=whole)
        except LookupError:  # no root of this family in the store: the same error either way
            with pytest.raises(LookupError):
                family_members(store, fam)
            continue
        got = family_members(store, fam)
        assert got.equals(want), fam.name
        sizes[fam.name] = got.height
    assert sizes["qwen"] > 100 and len(sizes) >= 4, sizes


@pytest.mark.parametrize("store_name", ["dirty_world", "mirrored_world"])
def test_the_views_columns_from_its_own_scan_equal_those_of_a_given_graph(store_name, request) -> None:
    """``load_view`` finds each node's rows from the scan that builds its graph (ids, downloads, parameter counts);
    given a graph, it finds them by id: on a dirty world and on both hubs with mirrors, every column is the same."""
    import numpy as np

    from analysis.graph import build_graph

    fixture = request.getfixturevalue(store_name)
    store = fixture if not isinstance(fixture, str) else open_store(fixture, create=False)
    own = load_view(store)
    given = load_view(store, graph=build_graph(store))
    assert list(own.graph.ids) == list(given.graph.ids)
    for column in ("declares", "relation", "downloads", "params"):
        assert np.array_equal(getattr(own, column), getattr(given, column)), column
    assert own.outside.sort(pl.all()).equals(given.outside.sort(pl.all()))
    assert own.data_end == given.data_end and own.downloads.any() and own.declares.any()


@pytest.mark.parametrize("store_name", ["dirty_world", "mirrored_world"])
@pytest.mark.parametrize("model_columns", [None, GROWTH_COLUMNS])
def test_family_frames_from_the_edges_read_once_equal_those_read_by_key(store_name, model_columns, request) -> None:
    """The family analyses read the store's edges once, for the lineage view and the family's frames, and the
    lineage's models too when a few model columns are asked for (:func:`family_data`): on a dirty world and on
    both hubs with mirrors, every family's frames are those read by key, edges and all."""
    fixture = request.getfixturevalue(store_name)
    store = fixture if not isinstance(fixture, str) else open_store(fixture, create=False)
    seen = 0
    for fam in select_families():
        try:
            members, got = family_data(store, fam, with_snapshots=True, model_columns=model_columns)
        except LookupError:
            continue
        want = frames.family_frames(store, members, with_snapshots=True, model_columns=model_columns)
        assert got.edges.height > 0
        for name in ("edges", "models", "cards", "snapshots"):  # as sets of rows: a keyed read has no set order
            mine, theirs = (getattr(f, name).drop("card_data", "deploy_flags", strict=False) for f in (got, want))
            assert mine.sort(mine.columns).equals(theirs.sort(theirs.columns)), (fam.name, name)
        seen += 1
    assert seen >= 4


@pytest.mark.parametrize("backend", ["sqlite", "postgresql"])
def test_roots_are_found_by_author_in_any_case_or_by_the_id_without_one(backend, tmp_path: Path, request) -> None:
    """The lineage view's roots on both stores: an author in another case, an author that only Python folds to the
    organisation (a Kelvin sign), and no author (the id's owner counts); a write made since is seen."""
    from crawler.family import resolve_edges
    from crawler.ingest import write_page

    url = request.getfixturevalue("pg_url") if backend == "postgresql" else f"sqlite:///{tmp_path / 's.db'}"
    store = open_store(url)

    def record(mid: str, author: str | None, base: str | None = None) -> dict:
        tags = [f"base_model:finetune:{base}"] if base else []
        return {"id": mid, "createdAt": "2024-06-01T00:00:00Z", "tags": tags,
                **({"author": author} if author is not None else {})}

    write_page(store, "hf", [record("Qwen/Qwen2-7B", "QWEN"), record("Qwen/Qwen2.5-0.5B", None),
                             record("a/ft", "a", "Qwen/Qwen2-7B"), record("b/ft2", "b", "a/ft"),
                             record("deepseek-ai/DeepSeek-R1", "deepsee\u212a-ai"), record("Qwen/x", "someone")],
               run_id=None)
    resolve_edges(store, "hf")
    qwen = family_members(store, "qwen")
    assert dict(zip(qwen["id"], qwen["depth"], strict=True)) == {
        "Qwen/Qwen2-7B": 0, "Qwen/Qwen2.5-0.5B": 0, "a/ft": 1, "b/ft2": 2}
    assert qwen.equals(family_members(store, "qwen", view=load_view(store, metrics=False)))
    assert family_members(store, "deepseek")["id"].to_list() == ["deepseek-ai/DeepSeek-R1"]
    write_page(store, "hf", [record("c/ft3", "c", "Qwen/Qwen2.5-0.5B")], run_id=None)
    resolve_edges(store, "hf")
    assert "c/ft3" in family_members(store, "qwen")["id"].to_list()
    store.engine.dispose()


def test_a_lineage_across_a_mirror_and_past_a_root_lookalike_has_the_whole_graphs_members(tmp_path: Path) -> None:
    """What the family's lineage reads (:func:`lineage_models`): a ModelScope child of the mirror of a Hugging Face
    member is a member, reached across the mirror link; the child of a base named like a root but published by
    someone else is not (the base is read, so the child is no seed of a missing root)."""
    from crawler.family import resolve_edges
    from crawler.ingest import write_page
    from crawler.store import Edge, Mirror, Model

    store = open_store(f"sqlite:///{tmp_path / 's.db'}")

    def record(mid: str, author: str, base: str | None = None) -> dict:
        return {"id": mid, "author": author, "createdAt": "2024-06-01T00:00:00Z",
                "tags": [f"base_model:finetune:{base}"] if base else []}

    write_page(store, "hf", [record("Qwen/Qwen2-7B", "Qwen"), record("a/ft", "a", "Qwen/Qwen2-7B"),
                             record("Qwen/Qwen2-7B-lookalike", "impostor"),
                             record("x/ft", "x", "Qwen/Qwen2-7B-lookalike")], run_id=None)
    resolve_edges(store, "hf")
    with store.transaction() as conn:
        store.upsert(conn, Model, [{"hub": "modelscope", "id": i, "author": i.split("/")[0], "record_hash": "",
                                    "key": n} for n, i in enumerate(("m/ft-mirror", "n/ft2"), 1)])
        store.upsert(conn, Edge, [{"hub": "modelscope", "child": "n/ft2", "parent_raw": "m/ft-mirror",
                                   "parent": "m/ft-mirror", "relation": "finetune", "declared": True,
                                   "rule": "rule:default", "status": "resolved", "reason": None}])
        store.upsert(conn, Mirror, [{"modelscope_id": "m/ft-mirror", "hf_id": "a/ft", "rule": "same-name",
                                     "confidence": 0.9}])
    qwen = family_members(store, "qwen")
    assert qwen.equals(family_members(store, "qwen", view=load_view(store, metrics=False)))
    assert set(qwen["id"]) == {"Qwen/Qwen2-7B", "a/ft", "n/ft2"}
    store.engine.dispose()


def test_analyze_families_cli(sample_store) -> None:
    from tests.support.store import hubtree

    db = ["--db", sample_store.url]
    run = hubtree("analyze", "families", *db, "--families", "qwen,llama", "--min-downloads", "6", "--no-inferred",
                  "--json")
    assert run.code == 0, run.stderr
    data = json.loads(run.stdout)
    assert [f["name"] for f in data["families"]] == ["qwen", "llama"]
    assert {"name", "orgs", "roots", "derivatives", "by_relation", "undeclared", "inferred", "downloads"} <= set(
        data["families"][0])
    assert set(data["families"][0]["by_relation"]) == {"finetune", "adapter", "quantized", "merge"}
    assert {"month", "family", "new", "share", "cumulative"} <= set(data["months"][0])
    assert set(data["definitions"]) == {"qwen", "llama"} and data["settings"]["min_downloads"] == 6
    text = hubtree("analyze", "families", *db, "--no-inferred")
    assert text.code == 0 and "Families as of 2024-07-11 (2024-07 is a partial month)" in text.stdout
    bad = hubtree("analyze", "families", *db, "--families", "qwen,olmo")
    assert bad.code == 1 and "unknown family 'olmo'" in bad.stderr and "Traceback" not in bad.stderr


def test_the_crawl_follows_the_families_with_their_patterns(sample_store) -> None:
    from crawler.family import family_of

    chosen = select_families("gemma,phi")
    crawl = family_of(sample_store, "hf", chosen)
    report = analyse_families(sample_store, chosen, include_inferred=False)
    ids = {r["id"] for r in sample_records()}
    assert crawl.roots == {i for i in ids if (i.startswith("google/") and "gemma" in i.lower())
                           or i.startswith(("microsoft/phi", "microsoft/Phi"))}
    assert len(crawl.roots) == sum(f["roots"] for f in report.families) < sum(o["models"] for o in report.organisations)
    derived = set()
    for fam in chosen:
        frame = family_members(sample_store, fam)
        derived |= {i for i, d in zip(frame["id"], frame["depth"], strict=True) if d > 0}
    assert crawl.members == derived - crawl.roots and derived
