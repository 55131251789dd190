"""Every licence drift rule on small realistic records written through the crawler's page writer."""

from __future__ import annotations

from itertools import product

import polars as pl
import pytest

from analysis import frames
from analysis.graph import family_members
from analysis.licensing import DRIFT_RULES, NOTICE_UNFETCHED, analyse_licences, match_rule, merge_conflict
from crawler.family import resolve_edges
from crawler.ingest import write_page
from crawler.licenses import CLASSES, LICENCES, canonical, has_notice, licence_class
from crawler.store import Card, Store, open_store


def rec(model_id: str, license: str | None = None, name: str | None = None, base: str | list[str] | None = None,
        link: str | None = None, created: str = "2024-10-01T00:00:00.000Z", downloads: int = 10) -> dict:
    """A Hugging Face detail record as the API returns it (licence tag + cardData, untyped base tags)."""
    card: dict = {}
    tags = ["transformers", "safetensors", "region:us"]
    if license:
        card["license"] = license
        tags.append(f"license:{license}")
    if name:
        card["license_name"] = name
    if link:
        card["license_link"] = link
    bases = [base] if isinstance(base, str) else list(base or [])
    if bases:
        card["base_model"] = base
        tags += [f"base_model:{b}" for b in bases]
    return {"_id": model_id, "id": model_id, "modelId": model_id, "author": model_id.split("/")[0], "tags": tags,
            "cardData": card, "createdAt": created, "downloads": downloads, "likes": 1, "private": False}


QWEN72 = "Qwen/Qwen2.5-72B-Instruct"
RECORDS = [
    rec("Qwen/Qwen2.5-3B", "other", "qwen-research", link="https://huggingface.co/Qwen/Qwen2.5-3B/blob/main/LICENSE"),
    rec(QWEN72, "other", "qwen", link=f"https://huggingface.co/{QWEN72}/blob/main/LICENSE"),
    rec("Qwen/Qwen2.5-7B", "apache-2.0"),
    rec("Qwen/Qwen1.5-7B", "other", "tongyi-qianwen"),
    rec("meta-llama/Llama-3.1-8B", "llama3.1"),
    rec("alice/qwen3b-commercial", "apache-2.0", base="Qwen/Qwen2.5-3B", downloads=500),
    rec("bob/qwen72-no-notice", "other", "qwen", base=QWEN72, downloads=300),
    rec("carol/qwen72-notice", "other", "qwen", base=QWEN72),
    rec("dave/qwen72-no-card", "other", "qwen", base=QWEN72),
    rec("erin/qwen-llama-merge", "other", "qwen", base=[QWEN72, "meta-llama/Llama-3.1-8B"]),
    rec("frank/qwen7b-unlicensed", None, base="Qwen/Qwen2.5-7B", downloads=900),
    rec("grace/qwen7b-apache", "apache-2.0", base="Qwen/Qwen2.5-7B"),
    rec("heidi/qwen7b-mit", "mit", base="Qwen/Qwen2.5-7B"),
    rec("ivan/qwen15-apache", "apache-2.0", base="Qwen/Qwen1.5-7B"),
    rec("judy/qwen72-linked", "other", base=QWEN72, link=f"https://huggingface.co/{QWEN72}/blob/main/LICENSE"),
    rec("mallory/local-base", "apache-2.0", base=["Qwen/Qwen2.5-7B", "/root/output/checkpoint-100"]),
    rec("niaj/qwen3b-nc", "cc-by-nc-4.0", base="Qwen/Qwen2.5-3B"),
]
CARDS = {
    "bob/qwen72-no-notice": "---\nlicense: other\nlicense_name: qwen\n---\n# A finetune of Qwen2.5-72B\nTrained on chat data.",
    "carol/qwen72-notice": "---\nlicense: other\nlicense_name: qwen\n---\n# Model\nThis model is **Built with Qwen**.",
    "alice/qwen3b-commercial": "---\nlicense: apache-2.0\n---\n# Commercial model\nBuilt with Qwen.",
}


@pytest.fixture(scope="module")
def report(tmp_path_factory: pytest.TempPathFactory):
    store: Store = open_store(f"sqlite:///{tmp_path_factory.mktemp('rules') / 'store.db'}")
    write_page(store, "hf", RECORDS, run_id=1)
    resolve_edges(store, "hf")
    with store.transaction() as conn:
        store.upsert(conn, Card, [{"hub": "hf", "id": i, "sha": None, "fetched_at": None, "text": t,
                                   "truncated": False, "front_matter": None, "error": None} for i, t in CARDS.items()])
    return analyse_licences(frames.models(store), frames.edges(store), family_members(store, "Qwen"),
                            frames.cards(store))


def edge(report, child: str, parent: str | None = None) -> dict:
    rows = report.edges.filter(pl.col("child") == child)
    if parent is not None:
        rows = rows.filter(pl.col("parent") == parent)
    elif rows.height > 1:  # the edge whose base could not be resolved
        rows = rows.filter(pl.col("parent").is_null())
    assert rows.height == 1, rows
    return rows.row(0, named=True)


@pytest.mark.parametrize(("child", "kind", "rule", "words"), [
    ("alice/qwen3b-commercial", "violation", "research-to-commercial", ["qwen-research", "non-commercial", "apache-2.0"]),
    ("bob/qwen72-no-notice", "violation", "notice-missing", ['"Built with Qwen"', "card does not"]),
    ("carol/qwen72-notice", "inherited", "same-licence", ["keeps its base's licence (qwen)"]),
    ("frank/qwen7b-unlicensed", "missing", "licence-dropped", ["declares no licence", "apache-2.0"]),
    ("grace/qwen7b-apache", "inherited", "same-licence", ["apache-2.0"]),
    ("heidi/qwen7b-mit", "compatible", "permissive-base", ["permissive apache-2.0", "mit"]),
    ("ivan/qwen15-apache", "violation", "conditions-dropped", ["tongyi-qianwen", "apache-2.0"]),
    ("judy/qwen72-linked", "inherited", "same-licence", ["qwen"]),
    ("mallory/local-base", "unknown", "base-unresolved", ["could not be resolved"]),
    ("niaj/qwen3b-nc", "compatible", "narrowed", ["cc-by-nc-4.0", "qwen-research"]),
])
def test_each_rule_with_its_reason(report, child: str, kind: str, rule: str, words: list[str]) -> None:
    e = edge(report, child)
    assert (e["kind"], e["rule"]) == (kind, rule)
    assert all(w in e["reason"] for w in words), e["reason"]
    assert child in e["evidence"]


def test_notice_unknown_without_card_is_not_flagged(report) -> None:
    e = edge(report, "dave/qwen72-no-card")
    assert e["notice"] == NOTICE_UNFETCHED and e["kind"] == "inherited"
    assert "dave/qwen72-no-card" not in report.flagged["id"].to_list()
    assert edge(report, "carol/qwen72-notice")["notice"] == "present"
    assert edge(report, "alice/qwen3b-commercial")["notice"] == "present"  # the violation is the licence itself


def test_linked_licence_is_followed(report) -> None:
    judy = report.models.filter(pl.col("id") == "judy/qwen72-linked").row(0, named=True)
    assert (judy["license"], judy["license_source"]) == ("qwen", "linked-repo")


def test_merge_of_conflicting_parents(report) -> None:
    merge = report.findings.filter((pl.col("child") == "erin/qwen-llama-merge") & (pl.col("rule") == "merge-conflict"))
    assert merge.height == 1
    row = merge.row(0, named=True)
    assert sorted(row["parents"]) == sorted([QWEN72, "meta-llama/Llama-3.1-8B"])
    assert "qwen" in row["reason"] and "llama3.1" in row["reason"]
    # each parent edge is still classified on its own
    assert edge(report, "erin/qwen-llama-merge", QWEN72)["relation"] == "merge"
    assert edge(report, "erin/qwen-llama-merge", "meta-llama/Llama-3.1-8B")["rule"] == "conditions-replaced"


def test_flagged_ranked_by_downloads(report) -> None:
    flagged = report.flagged
    assert flagged["id"].to_list()[:3] == ["frank/qwen7b-unlicensed", "alice/qwen3b-commercial",
                                           "bob/qwen72-no-notice"]
    assert report.summary()["flagged_models"] == flagged.height


def test_rule_table_covers_every_class_pair() -> None:
    parents = [*CLASSES, "unresolved", "not-in-store"]
    for p, c in product(parents, CLASSES):
        assert match_rule(p, c, same=False).id != "no-rule", (p, c)
    assert match_rule("permissive", "permissive", same=True).kind == "inherited"
    assert len({r.id for r in DRIFT_RULES}) == len(DRIFT_RULES)


def test_merge_conflict_table() -> None:
    assert merge_conflict("apache-2.0", "qwen") is None
    assert merge_conflict("qwen", "qwen") is None
    assert merge_conflict("gpl-3.0", "qwen-research") is not None
    assert "gpl-3.0" in merge_conflict("qwen", "gpl-3.0")


def test_licence_table() -> None:
    assert len({lic.id for lic in LICENCES}) == len(LICENCES)
    assert all(lic.klass in CLASSES for lic in LICENCES)
    assert licence_class("qwen-research") == "non-commercial" and licence_class("qwen") == "conditional"
    assert canonical("GPL-3.0") == "gpl-3.0" and canonical("some licence") is None
    assert has_notice("Improved using Qwen", "qwen") and has_notice("nothing", "qwen") is False
    assert has_notice("anything", "apache-2.0") is None
