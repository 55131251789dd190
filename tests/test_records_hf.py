"""Hugging Face pages read as typed records (``crawler.records_hf``): the same rows, edges, repairs and hashes as the
records read as JSON values, on the real recorded pages, the sample world and hostile pages."""

from __future__ import annotations

import copy
import json
from typing import Any

import msgspec
import pytest
from sqlalchemy import select

from crawler.ingest import write_page
from crawler.records import RecordError
from crawler.records_hf import HFRecord, glance_hf, parse_hf, read_hf_page
from crawler.store import Quarantine, open_store
from tests.support.sample import sample_records
from tests.test_records import real_records

REAL = real_records()


def _outcome(raw: Any) -> Any:
    """What the parse makes of a record: its row, edges and repairs, or the reason it is refused."""
    try:
        model = parse_hf(raw)
    except RecordError as exc:
        return "refused", exc.reason, exc.model_id
    return model.row, model.edges, model.notes


def _hostile_page() -> list[Any]:
    """Real records, each spoiled in one value the typed decoder refuses, and records the parse refuses."""
    base = [copy.deepcopy(r) for r in REAL[:12]]
    base[0]["tags"] = [7, *base[0]["tags"], None]
    base[1]["siblings"] = ["README.md", {"size": 3}, {"rfilename": 5}, *(base[1].get("siblings") or [])]
    base[2]["config"] = "not an object"
    base[3]["safetensors"] = [1, 2]
    base[4]["gguf"] = {"architecture": "qwen2", "total": "many"}
    base[5]["downloads"] = 2.5
    base[6]["createdAt"] = "yesterday"
    base[7]["tags"] = "a string"
    base[8]["cardData"] = ["a", "list"]
    base[9]["id"] = 5
    base[10]["siblings"] = "none"
    base[11]["tags"] = [*base[11]["tags"], "license:mit\x00"]
    return [*base, "a string", None, {"modelId": "org/only-model-id"}, {"id": "org/x", "createdAt": None}]


@pytest.mark.parametrize("records", [REAL[:6513], REAL[6513:], sample_records()[:1000], _hostile_page()],
                         ids=["real listing", "real detail records", "sample page", "hostile page"])
def test_a_page_of_typed_records_parses_as_its_json_values(records: list[Any]) -> None:
    typed = read_hf_page(json.dumps(records).encode())
    assert len(typed.records) == len(records)
    assert typed.served() == records  # what a quarantine keeps: the records as served
    for record, value in zip(typed.records, records, strict=True):
        outcome = _outcome(record)
        assert outcome == _outcome(value)
        glance = glance_hf(record)
        if glance is not None and outcome[0] != "refused":
            assert glance.record_hash == outcome[0]["record_hash"]


def test_real_pages_are_read_by_the_typed_decoder_itself() -> None:
    """The real and sample pages take the typed decoder's path, not the fallback through JSON values."""
    for records in (REAL[:6513], REAL[6513:], sample_records()[:1000]):
        decoded = msgspec.json.decode(json.dumps(records).encode(), type=list[HFRecord])
        assert [parse_hf(r).row for r in decoded] == [parse_hf(r).row for r in records]


def test_the_hash_follows_the_values_the_store_keeps() -> None:
    raw = next(r for r in REAL if r.get("cardData") and len(r.get("siblings") or []) > 1)
    digest = parse_hf(raw).row["record_hash"]
    same = {**raw, "downloads": 1, "likes": 2, "trendingScore": 3, "private": True, "spaces": ["a/b"], "_id": "x",
            "siblings": [{**s, "size": 9} for s in raw["siblings"]]}
    assert parse_hf(same).row["record_hash"] == digest
    for changed in ({**raw, "tags": [*raw["tags"], "new"]}, {**raw, "cardData": {**raw["cardData"], "k": 1}},
                    {**raw, "siblings": raw["siblings"][:-1]}, {**raw, "sha": "0" * 40},
                    {**raw, "pipeline_tag": "other"}, {**raw, "config": {"model_type": "other"}}):
        assert parse_hf(changed).row["record_hash"] != digest


def test_a_record_refused_from_a_typed_page_is_quarantined_as_served(tmp_path) -> None:
    store = open_store(f"sqlite:///{tmp_path / 's.db'}")
    good, bad = copy.deepcopy(REAL[0]), {**copy.deepcopy(REAL[1]), "createdAt": "yesterday", "private": False}
    result = write_page(store, "hf", json.dumps([good, bad]).encode(), run_id=None, url="page1")
    with store.engine.connect() as conn:
        (key, reason, kept), = conn.execute(select(Quarantine.key, Quarantine.reason, Quarantine.raw)).all()
    store.engine.dispose()
    assert (result.records, result.quarantined) == (1, 1)
    assert key == bad["id"] and "unreadable timestamp" in reason
    assert json.loads(kept) == bad  # every key as served, those the store does not keep too


def test_a_page_that_is_not_a_list_of_records_is_refused() -> None:
    with pytest.raises(ValueError, match="not a list of records"):
        read_hf_page(b'{"error": "Invalid cursor"}')
    with pytest.raises(ValueError):
        read_hf_page(b'[{"id": "org/a"},]')
