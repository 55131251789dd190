"""Record parsing, lineage rules and card front matter on the real recorded data."""

from __future__ import annotations

import json

import pytest
from huggingface_hub import ModelInfo

from crawler.cards import bound_text, parse_front_matter
from crawler.lineage import declared_edges, normalise_base
from crawler.records import RecordError, read_json, utc_naive
from crawler.records_hf import ListedRecord, parse_hf, read_listing
from tests.support.sample import sample_records
from tests.support.sim import REAL_DATA

API = REAL_DATA / "hf_api_stalnaker_2024-07"
AUTOGEN = REAL_DATA / "hf_model_cards_github_autogen"


def real_records() -> list[dict]:
    listing = [json.loads(line) for line in (API / "qwen_related_models_list_2024-07-11.jsonl").open()]
    full = [json.loads(p.read_text()) for p in sorted((API / "model_info_raw_qwen_related").glob("*.json"))]
    return listing + full


@pytest.fixture(scope="module")
def records() -> list[dict]:
    return real_records()


def test_parser_agrees_with_huggingface_hub_model_info(records):
    for raw in records:
        row = parse_hf(raw).row
        info = ModelInfo(**raw)
        assert row["id"] == info.id
        assert row["created_at"] == utc_naive(info.created_at)
        assert row["last_modified"] == utc_naive(info.last_modified)
        assert row["sha"] == info.sha
        assert row["library_name"] == info.library_name
        assert row["pipeline_tag"] == info.pipeline_tag
        assert row["tags"] == (info.tags or [])
        assert row["downloads"] == info.downloads and row["likes"] == info.likes
        assert row["files"] == [s.rfilename for s in info.siblings or []]
        if info.card_data is not None:
            assert row["card_data"] == raw["cardData"]


def test_every_base_model_tag_becomes_an_edge(records):
    listing = records[:6513]
    tagged = sum(1 for r in listing for t in r["tags"] if t.startswith("base_model:"))
    edges = [e for r in listing for e in parse_hf(r).edges]
    assert len(edges) == tagged  # PROFILE.md: 2,688 untyped base_model tags, one parent each
    assert all(e.rule.startswith("rule:") for e in edges)  # 2024 records carry no typed tags


def test_malformed_records_raise_with_a_reason():
    for raw, reason in (({"tags": []}, "no string 'id'"), ({"id": "a/b", "tags": "x"}, "'tags' is not a list"),
                        ({"id": "a/b", "createdAt": "yesterday"}, "unreadable timestamp"), ("text", "not an object"),
                        ({"id": "a/b", "cardData": []}, "'cardData' is not an object")):
        with pytest.raises(RecordError, match=reason):
            parse_hf(raw)


def test_tags_and_files_keep_their_strings_in_order_whatever_else_the_lists_hold():
    real = next(r for r in real_records() if len(r.get("siblings") or []) > 2 and len(r.get("tags") or []) > 2)
    tags, siblings = real["tags"], real["siblings"]
    raw = {**real, "tags": [7, tags[0], None, tags[1], ["x"], *tags[2:]],
           "siblings": [siblings[0], "README.md", {"size": 3}, {"rfilename": 5}, None, *siblings[1:]]}
    row = parse_hf(raw).row
    assert row["tags"] == tags
    assert row["files"] == [s["rfilename"] for s in siblings]
    assert parse_hf(real).row["tags"] is not real["tags"]  # the row holds its own list, not the record's


@pytest.mark.parametrize(("raw", "expected"), [
    ("Qwen/Qwen2-7B", ("Qwen/Qwen2-7B", None)),
    (" https://huggingface.co/Qwen/Qwen2-7B/ ", ("Qwen/Qwen2-7B", "hub URL stripped")),
    ("/home/jusheng/shihao/qwen_7B_finetune/models/Qwen-7B-Chat", (None, "local path, not a hub id")),
    ("./models/x", (None, "local path, not a hub id")),
    ("me/model", (None, "self-reference")),
    ("ME/Model", (None, "self-reference")),
    ("Qwen/Qwen2-7B@main", ("Qwen/Qwen2-7B", "revision suffix stripped")),
    ("not a repo id!", (None, "not a valid repo id")),
    ("", (None, "empty base_model")),
])
def test_dirty_bases_are_normalised_only_where_safe(raw, expected):
    assert normalise_base(raw, "me/model") == expected


def test_relation_rules_in_order():
    def relation(tags=(), card=None, library=None, files=(), model_id="a/b"):
        return [(e.relation, e.rule) for e in declared_edges(model_id, tags, card, library, files)]

    assert relation(["base_model:quantized:Qwen/Q"]) == [("quantized", "tag:typed")]
    assert relation(["base_model:Qwen/Q"], {"base_model": "Qwen/Q", "base_model_relation": "adapter"}) == [
        ("adapter", "card:base_model_relation")]
    assert relation(["base_model:Qwen/Q", "gguf"]) == [("quantized", "rule:quantized-format")]
    assert relation(["base_model:Qwen/Q"], library="peft") == [("adapter", "rule:peft-adapter")]
    assert relation(["base_model:Qwen/Q"], files=["adapter_config.json"]) == [("adapter", "rule:peft-adapter")]
    assert relation([], {"base_model": ["Qwen/A", "Qwen/B"]}) == [("merge", "rule:multi-parent")] * 2
    assert relation(["base_model:Qwen/Q", "mergekit"]) == [("merge", "rule:mergekit")]
    assert relation(["base_model:Qwen/Q"], model_id="x/Qwen2-7B-Instruct-AWQ") == [("quantized",
                                                                                    "rule:quantized-format")]
    assert relation(["base_model:Qwen/Q"]) == [("finetune", "rule:default")]


def test_real_autogen_cards_parse_with_their_breakage():
    stacked = parse_front_matter((AUTOGEN / "ZhuangShiHao1207__Qwen7b_alpaca_LoRA__output__qwen7b_alpaca__README.md")
                                 .read_text())
    assert stacked.blocks == 2 and stacked.error is None
    assert stacked.data["license"] == "apache-2.0"  # first block
    assert stacked.data["base_model"].startswith("/home/")  # second block, a local path
    edges = declared_edges("ZhuangShiHao1207/Qwen7b_alpaca_LoRA", stacked.data.get("tags", []), stacked.data,
                           stacked.data.get("library_name"))
    assert edges and all(e.status == "unresolved" and e.reason == "local path, not a hub id" for e in edges)
    for path in AUTOGEN.glob("*.md"):
        fm = parse_front_matter(path.read_text())
        assert fm.blocks >= 1 and fm.error is None, path.name


def test_invalid_and_hostile_front_matter_is_reported_not_raised():
    bad = parse_front_matter("---\nbase_model: [unclosed\n---\nbody")
    assert bad.error and "invalid YAML" in bad.error and bad.data == {}
    python_tag = parse_front_matter("---\nx: !!python/object/apply:os.system ['echo hi']\n---\n")
    assert python_tag.error and python_tag.data == {}  # safe_load refuses arbitrary objects
    not_a_map = parse_front_matter("---\n- a\n- b\n---\n")
    assert not_a_map.error == "front matter block 1 is a list, not a mapping"
    text, cut = bound_text("é" * 200_000, limit=1000)
    assert cut and len(text.encode()) <= 1000


def test_real_yinanwu_cards_all_parse():
    cards = sorted((REAL_DATA / "hf_model_cards_yinanwu").rglob("*.md"))
    parsed = [parse_front_matter(p.read_text(errors="replace")) for p in cards]
    assert all(fm.error is None for fm in parsed)  # PROFILE.md: all 129 parse with PyYAML
    with_base = sum(1 for fm in parsed if fm.data.get("base_model"))
    assert with_base > 0


def _listed(rows: object) -> object:
    """What the crawl reads of a listing's rows: each object's id and dates, other values as they are."""
    if not isinstance(rows, list):
        return rows
    return [(r.id, r.createdAt, r.lastModified) if isinstance(r, ListedRecord) else
            (r.get("id"), r.get("createdAt"), r.get("lastModified")) if isinstance(r, dict) else r for r in rows]


HOSTILE_LISTINGS = {
    "lone surrogate escape": b'[{"id": "org/a\\ud800", "createdAt": "2024-07-01T00:00:00.000Z"}]',
    "surrogate bytes": b'[{"id": "org/a", "cardData": {"x": "\xed\xa0\x80"}}]',
    "NaN": b'[{"id": "org/a", "downloads": NaN}]',
    "byte order mark": b'\xef\xbb\xbf[{"id": "org/a"}]',
    "not a list": b'{"error": "Invalid cursor"}',
    "rows of every kind": b'[1, "a", null, true, 1.5, [1, {"id": "x"}], {"id": 5}, {"modelId": "m"}, {}]',
    "counter beyond 64 bits": b'[{"id": "org/a", "downloads": 123456789012345678901234567890, "likes": 1e999}]',
}


@pytest.mark.parametrize("body", [
    (API / "list_pages_raw" / "models_page1_07-11-2024.json").read_bytes(),
    b"[" + b",".join((API / "qwen_related_models_list_2024-07-11.jsonl").read_bytes().splitlines()) + b"]",
    json.dumps(sample_records()[:1000]).encode(),
    *HOSTILE_LISTINGS.values()], ids=["real page", "real listing", "sample page", *HOSTILE_LISTINGS])
def test_a_listing_is_read_for_its_ids_and_dates_as_from_its_whole_records(body):
    assert _listed(read_listing(body)) == _listed(read_json(body))


@pytest.mark.parametrize("body", [b'[{"id": "org/a", "cardData": {"x": "\xff"}}]', b'[{"id": "org/a"},]',
                                  b'[{"id": "org/a"}] x', b'[{"id": "org/a", "x": "cut', b""])
def test_a_listing_that_is_not_json_is_refused_as_the_page_writer_refuses_it(body):
    with pytest.raises(ValueError):
        read_json(body)
    with pytest.raises(ValueError):
        read_listing(body)
