"""Licences on the real data: the bundled sample world (real 2024 HF records and cards) and the real card files.

Expected values are computed here from the raw records, never copied from the code under test.
"""

from __future__ import annotations

import json
from collections import Counter

import polars as pl

from analysis import frames
from analysis.graph import family_members
from analysis.licensing import analyse_licences, model_licences
from crawler.cards import parse_front_matter
from crawler.licenses import normalise_licence
from crawler.store import Store
from tests.support.sample import sample_records
from tests.support.sim import REAL_DATA

#: The Qwen licence names real cards use (PROFILE.md §D, hub-apis.md §4) and the licence each one is.
QWEN_SPELLINGS = {"tongyi-qianwen": "tongyi-qianwen", "tongyi-qianwen-license-agreement": "tongyi-qianwen",
                  "tongyi-qianwen-license": "tongyi-qianwen", "tongyi-qianwen-research": "tongyi-qianwen-research",
                  "qwen": "qwen", "qwen-research": "qwen-research"}


def _declared(record: dict) -> tuple[str | None, str | None]:
    tag = next((t.split(":", 1)[1] for t in record.get("tags", []) if t.startswith("license:")), None)
    card = record.get("cardData") or {}
    return tag or card.get("license"), card.get("license_name")


def test_sample_licence_counts_match_the_raw_records(sample_store: Store) -> None:
    records = sample_records()
    raw = Counter(_declared(r) for r in records)
    lic = model_licences(frames.models(sample_store), frames.cards(sample_store))
    got = dict(lic.group_by("license").len().iter_rows())
    assert got["missing"] == sum(n for (value, _), n in raw.items() if value is None)
    for spdx in ("apache-2.0", "mit", "cc-by-nc-4.0", "gpl-3.0"):
        assert got.get(spdx, 0) == sum(n for (value, _), n in raw.items() if value == spdx)
    for name in ("tongyi-qianwen", "tongyi-qianwen-research"):
        expected = sum(n for (value, lname), n in raw.items()
                       if value == "other" and lname and QWEN_SPELLINGS.get(lname) == name)
        assert expected > 0
        assert got[name] >= expected  # plus any ``other`` resolved through a license_link or a fetched card
    named = lic.filter(pl.col("license_source") == "license_name")
    assert named.height > 0 and set(named["license"]) <= set(QWEN_SPELLINGS.values()) | {"deepseek"}


def test_real_card_spellings_normalise() -> None:
    cards = sorted((REAL_DATA / "hf_model_cards_yinanwu" / "qwen_related").glob("*.md"))
    seen: Counter[str] = Counter()
    for path in cards:
        data = parse_front_matter(path.read_text(encoding="utf-8", errors="replace")).data
        lic, name, link = data.get("license"), data.get("license_name"), data.get("license_link")
        got = normalise_licence(lic, name, link)
        if lic == "other" and name in QWEN_SPELLINGS:
            seen[name] += 1
            assert got == QWEN_SPELLINGS[name], path.name
        elif lic is None:
            assert got == "missing", path.name
        elif lic != "other":
            assert got == lic.lower(), path.name  # every SPDX-style id in these cards is in the table
    assert {"tongyi-qianwen", "tongyi-qianwen-research", "tongyi-qianwen-license-agreement", "qwen",
            "qwen-research"} <= set(seen)


def test_modelscope_spellings_normalise() -> None:
    path = REAL_DATA / "modelscope_cloudmaster" / "Qwen_subset.json"
    spellings = Counter(m["License"] for m in json.loads(path.read_text(encoding="utf-8"))["models"])
    expected = {"apache-2.0": "apache-2.0", "Apache License 2.0": "apache-2.0", "": "missing", "other": "other"}
    assert set(spellings) <= set(expected)
    for spelling, licence in expected.items():
        assert normalise_licence(spelling) == licence
    assert normalise_licence("MIT License") == "mit"


def test_sample_drift_findings_carry_reasons_and_evidence(sample_store: Store) -> None:
    members = family_members(sample_store, "Qwen")
    models = frames.models(sample_store)
    report = analyse_licences(models, frames.edges(sample_store), members, frames.cards(sample_store))
    raw = {r["id"]: r for r in sample_records()}
    # Every family edge whose child declares no licence at all (no tag, no card licence) and whose base has a
    # recognised licence is a "missing" finding.
    def recognised(model_id: str | None) -> bool:
        return model_id in raw and normalise_licence(*_declared(raw[model_id])) not in ("missing", "other", "unknown")

    expected_missing = {(e["child"], e["parent"]) for e in report.edges.iter_rows(named=True)
                        if recognised(e["parent"]) and _declared(raw[e["child"]])[0] is None}
    got_missing = set(report.edges.filter(pl.col("kind") == "missing").select("child", "parent").iter_rows())
    assert got_missing == expected_missing and expected_missing
    violations = report.findings.filter(pl.col("kind") == "violation")
    assert violations.height > 0
    assert all(r.endswith(".") and len(r) > 30 for r in violations["reason"])
    assert all(c in ev for c, ev in zip(violations["child"], violations["evidence"], strict=True))
    flagged = report.flagged["downloads"].drop_nulls().to_list()
    assert flagged == sorted(flagged, reverse=True)


def test_a_card_licence_that_is_a_list_counts_as_absent(sample_store: Store) -> None:
    """A card's front matter may give ``license`` as a YAML list or mapping: the model keeps its record's licence
    (it is not a string to read), and the analysis does not stop."""
    models, cards = frames.models(sample_store), frames.cards(sample_store)
    carded = models.filter(pl.col("license") == "other").join(cards.select("hub", "id"), on=["hub", "id"])
    other = carded.row(0, named=True)
    text = "---\nlicense:\n- mit\n- apache-2.0\nlicense_name: {a: b}\n---\n# card\n"
    hostile = cards.with_columns(
        pl.when((pl.col("hub") == other["hub"]) & (pl.col("id") == other["id"])).then(pl.lit(text))
        .otherwise(pl.col("text")).alias("text"))
    hostile = hostile.drop("front_matter") if "front_matter" in hostile.columns else hostile
    lic = model_licences(models, hostile)
    row = lic.filter((pl.col("hub") == other["hub"]) & (pl.col("id") == other["id"])).row(0, named=True)
    assert lic.height == models.height
    assert row["license"] == model_licences(models, None).filter(
        (pl.col("hub") == other["hub"]) & (pl.col("id") == other["id"]))["license"][0]
