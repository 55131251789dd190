"""The bundled sample world data/sample: real records unchanged, cards attached, ModelScope projection."""

from __future__ import annotations

import gzip
import json
from datetime import UTC, datetime
from pathlib import Path

import pytest

from hubsim.sample_world import build_sample_world
from tests.support.sim import REAL_DATA

ROOT = Path(__file__).resolve().parents[1]
SAMPLE = ROOT / "data" / "sample"
STALNAKER = REAL_DATA / "hf_api_stalnaker_2024-07"


def _lines(path: Path) -> list[dict]:
    with gzip.open(path, "rt", encoding="utf-8") as fh:
        return [json.loads(line) for line in fh if line.strip()]


@pytest.fixture(scope="module")
def hf() -> list[dict]:
    return _lines(SAMPLE / "hf.jsonl.gz")


def test_sample_has_every_listing_entry_and_the_surroundings_once(hf):
    ids = [r["id"] for r in hf]
    assert len(ids) == len(set(ids))
    manifest = json.loads((SAMPLE / "world.json").read_text())
    assert manifest["counts"]["hf_records"] == len(hf)
    listing = {json.loads(x)["id"] for x in (STALNAKER / "qwen_related_models_list_2024-07-11.jsonl").open()}
    page = {r["id"] for r in json.loads(next((STALNAKER / "list_pages_raw").glob("*.json")).read_text())}
    assert len(listing) == 6513
    assert set(ids) == listing | page


def test_real_records_are_unchanged_and_the_full_record_wins(hf):
    sources: dict[str, dict] = {}
    for r in json.loads(next((STALNAKER / "list_pages_raw").glob("*.json")).read_text()):
        sources[r["id"]] = r
    for line in (STALNAKER / "qwen_related_models_list_2024-07-11.jsonl").open():
        r = json.loads(line)
        sources[r["id"]] = r
    full = {}
    for path in (STALNAKER / "model_info_raw_qwen_related").glob("*.json"):
        r = json.loads(path.read_text())
        full[r["id"]] = r
    sources.update(full)
    assert len(full) == 308
    for rec in hf:
        served = {k: v for k, v in rec.items() if k != "readme"}
        assert served == sources[rec["id"]], rec["id"]
    # No typed relation tags were invented on 2024 records.
    assert not any(t.startswith(("base_model:finetune:", "base_model:quantized:", "base_model:adapter:",
                                 "base_model:merge:")) for rec in hf for t in rec.get("tags", []))


def test_cards_are_attached_where_the_id_matches(hf):
    cards = {p.stem: p for d in ("qwen_related", "non_qwen_controls")
             for p in (REAL_DATA / "hf_model_cards_yinanwu" / d).glob("*.md")}
    by_id = {r["id"]: r for r in hf}
    expected = {}
    for stem, path in cards.items():
        hits = [i for i in by_id if i.replace("/", "_") == stem]
        if len(hits) == 1:
            expected[hits[0]] = path.read_text("utf-8")
    with_readme = {r["id"]: r["readme"] for r in hf if "readme" in r}
    assert with_readme == expected
    assert len(expected) >= 50
    assert "Qwen/Qwen2-7B-Instruct" in expected


def test_modelscope_records_project_the_dolphin_records():
    ms = _lines(SAMPLE / "modelscope.jsonl.gz")
    source = json.loads((REAL_DATA / "modelscope_cloudmaster" / "Qwen_subset.json").read_text())["models"]
    assert [m["dolphin"] for m in ms] == source
    for m, d in zip(ms, source, strict=True):
        assert m["id"] == f"{d['Path']}/{d['Name']}"
        assert m["license"] == d["License"]
        assert m["downloads"] == d["Downloads"] and m["likes"] == d["Stars"]
        created = datetime.strptime(m["created_at"], "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=UTC)
        assert int(created.timestamp()) == d["CreatedTime"]
        assert m["tasks"] == [t["Name"] for t in d["Tasks"]]
        assert all(f"model_type:{t}" in m["tags"] for t in d["ModelType"])
    assert {m["license"] for m in ms} >= {"apache-2.0", "Apache License 2.0"}


def test_rebuild_is_byte_identical_to_the_committed_sample(tmp_path):
    build_sample_world(REAL_DATA, tmp_path)
    for name in ("hf.jsonl.gz", "modelscope.jsonl.gz", "provenance.jsonl.gz", "world.json"):
        assert (tmp_path / name).read_bytes() == (SAMPLE / name).read_bytes(), name
