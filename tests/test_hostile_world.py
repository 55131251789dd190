"""A hostile world: the real sample plus one record or card per known attack, crawled over HTTP into SQLite and
PostgreSQL. Every sample record is stored, each hostile one is quarantined or stored safely with its reason,
the family is a clean crawl's (as the crawl tests compute it) plus the valid hostile members, every fetched card is accounted for, the report
for the sample month works, and memory stays bounded."""

from __future__ import annotations

import copy
import json
import re
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select

from crawler.store import Card, CrawlRun, Model, Quarantine, open_store
from tests.support.sim import SAMPLE_WORLD, sim_in_process, world_records, write_world
from tests.support.store import hubtree
from tests.test_crawl_hf import expected_family
from tests.test_crawl_modelscope import expected_ms_family
from tests.test_hostile_values import ALIAS_BOMB

pytestmark = pytest.mark.skipif(not SAMPLE_WORLD.exists(), reason="needs data/sample")

BASE = "Qwen/Qwen2-72B"
FRONT = f"---\nlicense: other\nbase_model: {BASE}\n---\n# card\n"
#: id → (changes to a real family record, the expected outcome: "stored" or "quarantined", reason fragment).
HOSTILE_HF: dict[str, tuple[dict[str, Any], str, str]] = {
    "hostile/downloads-u64": ({"downloads": 2**64 - 1}, "stored", "downloads 18446744073709551615"),
    "hostile/downloads-2e70": ({"likes": 2**70}, "stored", "likes"),
    "hostile/all-time-3e9": ({"downloadsAllTime": 3_000_000_000, "downloads": 2**40}, "stored", ""),
    "hostile/nul\x00id": ({}, "quarantined", "NUL"),
    "hostile/nul-licence": ({"tags": ["license:mit\x00x", f"base_model:{BASE}"]}, "stored", "license"),
    "hostile/future-created": ({"createdAt": "9999-12-31T00:00:00.000Z"}, "stored", "created_at 9999"),
    "hostile/future-modified": ({"lastModified": "9999-12-31T00:00:00.000Z"}, "stored", "last_modified 9999"),
    "hostile/huge-card-data": ({"cardData": {"base_model": BASE, "blob": "x" * 400_000}}, "stored", "cardData"),
    "hostile/card-yaml-types": ({"readme": FRONT.replace("---\n#", "x: !!binary aGVsbG8=\ns: !!set {a, b}\n"
                                                         "d: 2024-01-02\n1: one\n---\n#")}, "stored", ""),
    "hostile/card-nul": ({"readme": FRONT + "text with a NUL \x00 byte\n"}, "stored", ""),
    "hostile/card-alias-bomb": ({"readme": ALIAS_BOMB + FRONT}, "stored", ""),
}
CARD_QUARANTINED = {"hostile/card-alias-bomb": "expands beyond"}
HOSTILE_MS: dict[str, tuple[dict[str, Any], str]] = {
    "hostile/qwen-ms-u64": ({"downloads": 2**64 - 1, "license": "apache-2.0\x00"}, ""),
    "hostile/qwen-ms-bomb": ({"readme": ALIAS_BOMB}, "expands beyond"),
    "hostile/qwen-ms-binary": ({"readme": "---\nbase_model: Qwen/Qwen2.5-7B-Instruct\nx: !!binary aGVsbG8=\n"
                                          "s: !!set {a}\n---\ntext \x00 NUL\n"}, ""),
}


def _template(records: list[dict[str, Any]]) -> dict[str, Any]:
    """A real record of the sample that declares ``BASE``, without its ``_id`` (each copy gets its own)."""
    record = next(r for r in records if f"base_model:{BASE}" in r.get("tags", []) and "readme" not in r)
    return {k: v for k, v in copy.deepcopy(record).items() if k != "_id"}


def hostile_world(directory: Path) -> Path:
    hf = world_records(SAMPLE_WORLD)
    template = _template(hf)
    hostile = [{**template, "id": model_id, "modelId": model_id, **changes}
               for model_id, (changes, _, _) in HOSTILE_HF.items()]
    ms = world_records(SAMPLE_WORLD, "modelscope")
    ms_template = {k: v for k, v in ms[1].items() if k != "dolphin"}
    ms_hostile = [{**ms_template, "id": model_id, "display_name": model_id, "readme": FRONT.replace(
        BASE, "Qwen/Qwen2.5-7B-Instruct"), **changes} for model_id, (changes, _) in HOSTILE_MS.items()]
    return write_world(directory, hf=hf + hostile, ms=ms + ms_hostile)


#: Runs the CLI and reports the process's own peak RSS on exit (ru_maxrss would carry the parent's over exec).
PEAK = ("import atexit, re, runpy, sys; atexit.register(lambda: sys.stderr.write('VmHWM ' + re.search("
        "r'VmHWM:\\s+(\\d+)', open('/proc/self/status').read()).group(1) + '\\n')); "
        "sys.argv[0] = 'hubtree'; runpy.run_module('hubtree.cli', run_name='__main__')")


def crawl(url: str, db: str, hub: str, code: int = 0) -> dict[str, Any]:
    """One crawl in a fresh interpreter; its summary, with ``peak_kib`` the process's peak RSS."""
    proc = subprocess.run([sys.executable, "-c", PEAK, "crawl", hub, "--endpoint", url, "--db", db, "--json"],
                          capture_output=True, text=True, timeout=600)
    assert proc.returncode == code, proc.stderr[-3000:]
    summary = json.loads([line for line in proc.stdout.splitlines() if line.startswith("{")][-1])
    return {**summary, "peak_kib": int(re.findall(r"VmHWM (\d+)", proc.stderr)[-1])}


@pytest.fixture(scope="module")
def world(tmp_path_factory) -> Path:
    return hostile_world(tmp_path_factory.mktemp("hostile"))


@pytest.fixture(scope="module")
def clean() -> dict[str, int]:
    """The family sizes a clean crawl of the sample finds (computed independently by the crawl tests)."""
    return {"hf": len(expected_family(world_records(SAMPLE_WORLD))[1]),
            "modelscope": len(expected_ms_family(world_records(SAMPLE_WORLD, "modelscope"))[1])}


def _stored(db: str) -> tuple[dict[str, Any], dict[tuple[str, str], Any], dict[tuple[str, str], Any], list[Any]]:
    store = open_store(db)
    with store.engine.connect() as conn:
        models = {(r.hub, r.id): r for r in conn.execute(select(Model))}
        cards = {(r.hub, r.id): r for r in conn.execute(select(Card))}
        quarantine = {(r.hub, r.key): r for r in conn.execute(select(Quarantine))}
        runs = list(conn.execute(select(CrawlRun).order_by(CrawlRun.run_id)))
    store.engine.dispose()
    return models, cards, quarantine, runs


def check_hostile_crawl(db: str, world: Path, clean: dict[str, int]) -> None:
    with sim_in_process(world) as sim:
        hf = crawl(sim.url, db, "hf", code=3)  # partial: a record could not be stored (exit 3)
        ms = crawl(sim.url, db, "modelscope")
        served_cards = sim.stats()["by_route"].get("hf_readme", 0)
    models, cards, quarantine, runs = _stored(db)
    # Every sample record is stored; every hostile one is stored or quarantined with its reason.
    assert {i for h, i in models if h == "hf"} >= {r["id"] for r in world_records(SAMPLE_WORLD)}
    for model_id, (_, outcome, reason) in HOSTILE_HF.items():
        if outcome == "quarantined":
            key = model_id.replace("\x00", "")
            assert ("hf", key) not in models and reason in quarantine["hf", key].reason
        else:
            assert ("hf", model_id) in models, model_id
            if reason:
                note = quarantine["hf", f"{model_id} (stored with repairs)"]
                assert note.kind == "repaired" and reason in note.reason, (model_id, note.reason)
    row = models["hf", "hostile/all-time-3e9"]
    assert (row.downloads_all_time, row.downloads) == (3_000_000_000, 2**40)
    assert models["hf", "hostile/downloads-u64"].downloads is None
    assert models["hf", "hostile/nul-licence"].license == "mitx"
    assert models["hf", "hostile/future-created"].created_at is None
    assert models["hf", "hostile/huge-card-data"].card_data is None
    assert cards["hf", "hostile/card-yaml-types"].front_matter["s"] == ["a", "b"]
    assert "\x00" not in cards["hf", "hostile/card-nul"].text
    # The family: a clean crawl's plus the valid hostile members (all but the NUL id).
    valid = sum(outcome == "stored" for _, outcome, _ in HOSTILE_HF.values())
    assert hf["status"] == "partial" and hf["family_models"] == clean["hf"] + valid
    assert hf["quarantined"] == 1 + len(CARD_QUARANTINED) and hf["errors"] == 0
    assert any(note.startswith("1 records quarantined, not stored") and "NUL" in note for note in hf["notes"])
    repaired = sum(bool(reason) for _, outcome, reason in HOSTILE_HF.values() if outcome == "stored")
    assert any(note.startswith(f"{repaired} records stored with repairs") for note in hf["notes"]), hf["notes"]
    # Every fetched card is stored (those whose front matter is refused are also quarantined with the reason).
    assert hf["cards_fetched"] == served_cards == sum(1 for h, _ in cards if h == "hf")
    for model_id, reason in CARD_QUARANTINED.items():
        assert reason in cards["hf", model_id].error and reason in quarantine["hf", model_id].reason
    # A future date never becomes a watermark.
    assert runs[0].watermark_created.year < 9999 and runs[0].watermark_modified.year < 9999
    # ModelScope: the final step (lineage, family, mirrors) runs despite hostile READMEs.
    assert ms["status"] == "success" and ms["family_models"] == clean["modelscope"] + 2
    assert any("mirror" in note for note in ms["notes"])
    assert models["modelscope", "hostile/qwen-ms-u64"].downloads is None
    assert models["modelscope", "hostile/qwen-ms-u64"].license == "apache-2.0"
    assert "expands beyond" in cards["modelscope", "hostile/qwen-ms-bomb"].error
    assert "\x00" not in cards["modelscope", "hostile/qwen-ms-binary"].text
    assert ms["cards_fetched"] == sum(1 for h, _ in cards if h == "modelscope")
    # The alias bombs expanded nowhere: each crawl's peak memory stayed small (the bomb alone was 2.7 GB).
    assert hf["peak_kib"] < 600_000 and ms["peak_kib"] < 600_000, (hf["peak_kib"], ms["peak_kib"])


def test_hostile_world_into_sqlite(world, clean, tmp_path) -> None:
    db = f"sqlite:///{tmp_path / 'store.db'}"
    check_hostile_crawl(db, world, clean)
    month = hubtree("report", "--month", "2024-07", "--db", db, "--out", str(tmp_path / "report"), "--json")
    assert month.code == 0 and month.summary["headline"]["family_models"] > 0, month.stderr[-2000:]  # the sample's


def test_hostile_world_into_postgresql(world, clean, pg_url) -> None:
    check_hostile_crawl(pg_url, world, clean)
