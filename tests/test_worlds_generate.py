"""Generated worlds: determinism, requested counts, relation mix and dirt proportions, truth consistency.

Figures are computed from the written files (records and ``_truth/``), not from the generator's objects.
"""

from __future__ import annotations

import gzip
import json
import statistics
from collections import Counter
from pathlib import Path

import pytest
import yaml

from crawler.cards import parse_front_matter
from hubsim.gen_dirt import DirtConfig
from hubsim.generate import GeneratorConfig, evolve_world, generate_world

QWEN, OTHERS, MS, SEED = 6000, 4000, 1200, 5
WRONG = {"local_path", "typo", "wrong_case", "self", "ancestor", "cycle", "hub_url"}


def _jsonl(path: Path) -> list[dict]:
    opener = gzip.open if path.suffix == ".gz" else open
    with opener(path, "rt", encoding="utf-8") as fh:
        return [json.loads(line) for line in fh if line.strip()]


@pytest.fixture(scope="module")
def world(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("world")
    generate_world(out, GeneratorConfig(qwen=QWEN, others=OTHERS, modelscope=MS, seed=SEED))
    return out


@pytest.fixture(scope="module")
def hf(world) -> dict[str, dict]:
    return {r["id"]: r for r in _jsonl(world / "hf.jsonl.gz")}


@pytest.fixture(scope="module")
def truth(world) -> dict[str, dict]:
    return {t["id"]: t for t in _jsonl(world / "_truth" / "hf_lineage.jsonl")}


def _derivatives(truth: dict[str, dict]) -> list[dict]:
    return [t for t in truth.values() if t["parents"] and not t["catalog"]]


def test_same_seed_same_bytes_other_seed_other_world(world, tmp_path):
    cfg = GeneratorConfig(qwen=QWEN, others=OTHERS, modelscope=MS, seed=SEED)
    generate_world(tmp_path / "again", cfg)
    for rel in ("hf.jsonl.gz", "modelscope.jsonl.gz", "world.json", "_truth/hf_lineage.jsonl",
                "_truth/mirrors.jsonl", "_truth/absent.jsonl"):
        assert (tmp_path / "again" / rel).read_bytes() == (world / rel).read_bytes(), rel
    generate_world(tmp_path / "other", GeneratorConfig(qwen=QWEN, others=OTHERS, modelscope=MS, seed=SEED + 1))
    assert (tmp_path / "other" / "hf.jsonl.gz").read_bytes() != (world / "hf.jsonl.gz").read_bytes()


def test_requested_counts_and_unique_ids(world, hf, truth):
    assert len(hf) == QWEN + OTHERS
    assert len({i.lower() for i in hf}) == len(hf)
    assert set(truth) == set(hf)
    assert sum(t["family"] for t in truth.values()) == QWEN
    ms = _jsonl(world / "modelscope.jsonl.gz")
    assert len(ms) == MS and len({m["id"].lower() for m in ms}) == MS


def test_relation_mix_follows_the_configuration(truth, hf):
    want = GeneratorConfig().relation_mix
    rels = Counter(t["parents"][0]["relation"] for t in _derivatives(truth))
    total = sum(rels.values())
    for rel, share in want.items():
        assert abs(rels[rel] / total - share) < 0.03, (rel, rels[rel] / total)
    # Typed tags carry the true relation (except the recorded Hub misfire).
    for t in _derivatives(truth):
        if t["declared"] == "typed" and "relation_mislabel" not in t["dirt"]:
            typed = {tag.split(":")[1] for tag in hf[t["id"]]["tags"] if tag.count(":") >= 2
                     and tag.startswith("base_model:")}
            assert typed == {t["parents"][0]["relation"]}, t["id"]


def test_dirt_proportions_are_what_the_truth_says(truth, hf):
    cfg = DirtConfig()
    live = _derivatives(truth)
    kinds = Counter(t["declared"] for t in live)
    n = len(live)
    assert abs(kinds["none"] / n - cfg.none) < 0.01
    assert abs(kinds["card"] / n - cfg.card) < 0.01
    assert abs(kinds["wrong"] / n - cfg.wrong) < 0.01
    assert kinds["untyped"] > 0 and kinds["typed"] > n / 3
    # Each declaration kind looks, in the record, the way the truth says.
    for t in live:
        rec = hf[t["id"]]
        base_tags = [x for x in rec["tags"] if x.startswith("base_model:")]
        card_base = (rec.get("cardData") or {}).get("base_model")
        true_ids = {p["id"] for p in t["parents"]}
        if t["declared"] == "none":
            assert not base_tags and card_base is None
        elif t["declared"] == "untyped":
            assert base_tags and all(x.count(":") == 1 for x in base_tags)
            assert rec["lastModified"] < "2024-09-01"
        elif t["declared"] == "card":
            assert not base_tags and card_base is None
            fm = parse_front_matter(rec["readme"])
            if "invalid_yaml" in t["dirt"]:
                assert fm.error is not None and "cardData" not in rec
            else:
                assert fm.blocks == 2 and set(_as_list(fm.data["base_model"])) == true_ids
        elif t["declared"] == "wrong":
            assert card_base is not None and not set(_as_list(card_base)) & true_ids
        elif t["declared"] == "typed":
            assert {x.split(":", 1)[1] for x in base_tags if x.count(":") == 1} == true_ids
    wrong = Counter(_wrong_kind(t) for t in live if t["declared"] == "wrong")
    assert set(wrong) == {"local_path", "typo", "wrong_case", "self", "ancestor", "cycle", "hub_url"}


def _wrong_kind(t: dict) -> str:
    (kind,) = set(t["dirt"]) & WRONG
    return kind


def _as_list(v) -> list[str]:
    return v if isinstance(v, list) else [v]


def test_cycles_self_and_local_paths_are_real(truth, hf):
    for t in _derivatives(truth):
        if t["declared"] != "wrong":
            continue
        declared = _as_list(hf[t["id"]]["cardData"]["base_model"])
        sub = _wrong_kind(t)
        if sub == "cycle":  # the declared base is a child of this model: a pair declaring each other
            assert any(p["id"] == t["id"] for p in truth[declared[0]]["parents"])
        elif sub == "self":
            assert declared == [t["id"]]
        elif sub == "local_path":
            assert declared[0].startswith(("/", "./"))
        elif sub == "wrong_case":
            assert declared[0].lower() == t["parents"][0]["id"].lower()


def test_every_truth_parent_exists_or_is_recorded_absent(world, truth):
    absent = {a["id"]: a for a in _jsonl(world / "_truth" / "absent.jsonl")}
    assert absent and {a["reason"] for a in absent.values()} == {"deleted", "missing"}
    assert not set(absent) & set(truth)
    for t in list(truth.values()) + list(absent.values()):
        for p in t["parents"]:
            assert p["id"] in truth or p["id"] in absent, (t["id"], p["id"])


def test_structure_is_heavy_tailed_deep_and_merges_have_several_parents(truth, hf):
    children = Counter(p["id"] for t in truth.values() for p in t["parents"])
    assert max(children.values()) >= 40
    assert statistics.median(children.values()) <= 2
    assert max(t["depth"] for t in truth.values()) >= 6
    merges = [t for t in _derivatives(truth) if t["parents"][0]["relation"] == "merge"]
    assert merges and all(2 <= len(t["parents"]) <= 4 for t in merges)
    assert {len(t["parents"]) for t in merges} == {2, 3, 4}
    quants = [t for t in _derivatives(truth) if t["parents"][0]["relation"] == "quantized"]
    leaves = sum(1 for t in quants if children[t["id"]] == 0)
    assert leaves / len(quants) > 0.97


def test_records_are_hub_shaped_and_cards_match_card_data(truth, hf):
    for rec in hf.values():
        assert rec["lastModified"] >= rec["createdAt"]
        assert len(rec["sha"]) == 40 and len(rec["_id"]) == 24
        if rec["id"].startswith("Qwen/") or truth[rec["id"]]["catalog"]:
            continue
        t = truth[rec["id"]]
        if t["parents"]:
            assert "2023-08-01" <= rec["createdAt"] <= "2026-12"
        if "readme" in rec and t["declared"] != "card":
            block = rec["readme"].split("---\n")[1]
            assert yaml.safe_load(block) == rec["cardData"]
        if t["fmt"] == "gguf":
            assert rec["gguf"]["architecture"] == t["arch"] and any(
                s["rfilename"].endswith(".gguf") for s in rec["siblings"])
        if t["fmt"] == "peft":
            assert any(s["rfilename"] == "adapter_config.json" for s in rec["siblings"])
    sizes = [len(r["readme"].encode()) for r in hf.values() if "readme" in r]
    assert max(sizes) > 256 * 1024
    assert any(not i.isascii() for i in hf)
    assert any(r.get("inference") == "warm" and isinstance(r.get("inferenceProviderMapping"), dict) for r in hf.values())
    licences = Counter((r.get("cardData") or {}).get("license_name") for r in hf.values())
    assert {"qwen", "qwen-research", "tongyi-qianwen"} <= set(licences)


def test_mirror_pairs_exist_on_both_hubs(world, hf):
    ms = {m["id"]: m for m in _jsonl(world / "modelscope.jsonl.gz")}
    pairs = _jsonl(world / "_truth" / "mirrors.jsonl")
    assert len(pairs) > MS / 3
    for p in pairs:
        assert p["modelscope_id"] in ms and p["hf_id"] in hf
    owners = Counter(p["modelscope_id"].split("/")[0] for p in pairs)
    assert owners["AI-ModelScope"] > 0 and any(p["modelscope_id"] == p["hf_id"] for p in pairs)
    only = [m for m in ms.values() if m["id"] not in {p["modelscope_id"] for p in pairs}]
    declared = [m for m in only if "base_model:" in m.get("readme", "")]
    assert declared and all("dolphin" in m for m in ms.values())


def test_evolve_changes_exactly_what_changes_json_says(world, hf, truth, tmp_path):
    out = tmp_path / "next"
    summary = evolve_world(world, out, new=300, edited=200, deleted=100, seed=3)
    assert summary.new == 300
    changes = json.loads((out / "_truth" / "changes.json").read_text())
    after = {r["id"]: r for r in _jsonl(out / "hf.jsonl.gz")}
    new, edited, deleted = set(changes["new"]), set(changes["edited"]), set(changes["deleted"])
    assert (len(new), len(edited), len(deleted)) == (300, 200, 100)
    assert set(after) == (set(hf) - deleted) | new
    assert not new & set(hf)
    for i in set(hf) - deleted:
        if i in edited:
            assert after[i]["sha"] != hf[i]["sha"] and after[i]["lastModified"] > hf[i]["lastModified"]
        else:
            assert after[i] == hf[i]
    for i in new:
        assert after[i]["createdAt"] >= changes["window"][0]
    truth_after = {t["id"] for t in _jsonl(out / "_truth" / "hf_lineage.jsonl")}
    absent_after = {a["id"] for a in _jsonl(out / "_truth" / "absent.jsonl")}
    assert truth_after == set(after) and deleted <= absent_after
