"""A record whose stored row is current is read at a glance (its digest and counters), not parsed, and the store
ends as a full parse of every record would leave it."""

from __future__ import annotations

import copy
import dataclasses
import json
from datetime import datetime
from pathlib import Path
from typing import Any

from sqlalchemy import text, update

from crawler.ingest import PageResult, read_page, write_page
from crawler.records import RecordReader
from crawler.records_hf import HF_RECORDS
from crawler.records_modelscope import MODELSCOPE_RECORDS
from crawler.store import CrawlRun, Model, open_store
from tests.support.sim import SAMPLE_WORLD, world_records

PAGE = 100
#: Everything a sweep writes, as compared between the two stores (a quarantine row's run and time aside).
TABLES = {
    "model": "SELECT * FROM model ORDER BY id",
    "edge": "SELECT * FROM edge ORDER BY child, parent_raw",
    "metric_history": "SELECT * FROM metric_history ORDER BY key, run_id",
    "quarantine": "SELECT hub, key, kind, url, reason, raw FROM quarantine ORDER BY key",
}


def _weeks() -> tuple[list[Any], list[Any], set[str], set[str]]:
    """Two sweeps of 300 real records; the ids whose record changed in the second (rewritten), and those it must
    parse (the changed ones, a counter to repair, one changed and then listed as stored on the same page)."""
    first: list[Any] = copy.deepcopy(world_records(SAMPLE_WORLD)[:300])
    first[57]["tags"] = [*first[57]["tags"], "nul\x00tag"]  # stored with a repair, unchanged since
    second = copy.deepcopy(first)
    for raw in second[:50]:
        raw["downloads"] = (raw.get("downloads") or 0) + 7
        raw["likes"] = (raw.get("likes") or 0) + 1
    for raw in second[60:65]:  # served by inference providers since: values left out of the hash, as the counters
        raw["inference"] = "warm"
        raw["inferenceProviderMapping"] = [{"provider": "together", "status": "live"}]
    second[50]["cardData"] = {**(second[50].get("cardData") or {}), "license": "mit"}
    second[51]["downloads"] = 2**70  # beyond a 64-bit column: stored as NULL, with a repair
    second[52]["tags"] = [*second[52]["tags"], "license:mit\x00"]
    second[53]["sha"] = "0" * 40
    second[54]["sha"] = "2" * 40
    second[55] = ["not", "a", "record"]
    second.insert(90, copy.deepcopy(second[53]) | {"sha": "1" * 40})  # twice on the first page: the last one wins
    second.insert(90, copy.deepcopy(first[54]))  # changed, then as stored, on the first page: the last one wins
    changed = {first[i]["id"] for i in (50, 52, 53, 56)}  # a card, a tag, a sha; 56 is deleted since
    return first, second, changed, changed | {first[51]["id"], first[54]["id"]}


def _sweep(db_url: str, reader: RecordReader, records: list[Any], run_id: int, *, as_text: bool = False
           ) -> list[PageResult]:
    """The records written a page at a time, as JSON values or (``as_text``) as the pages' JSON text."""
    store = open_store(db_url)
    pages = [records[i : i + PAGE] for i in range(0, len(records), PAGE)]
    try:
        return [write_page(store, "hf", json.dumps(page).encode() if as_text else page, run_id=run_id,
                           url=f"page{n * PAGE}", reader=reader) for n, page in enumerate(pages)]
    finally:
        store.engine.dispose()


def _tables(db_url: str) -> dict[str, list[tuple[Any, ...]]]:
    store = open_store(db_url)
    with store.engine.connect() as conn:
        out = {name: [tuple(r) for r in conn.execute(text(sql))] for name, sql in TABLES.items()}
    store.engine.dispose()
    return out


def test_a_sweep_parses_only_what_changed_and_stores_what_a_full_parse_stores(tmp_path: Path) -> None:
    first, second, changed, to_parse = _weeks()
    parsed: list[str] = []

    def counted_parse(raw: Any) -> Any:
        model = HF_RECORDS.parse(raw)
        parsed.append(model.id)
        return model

    readers = {"glance": dataclasses.replace(HF_RECORDS, parse=counted_parse),
               "parse": dataclasses.replace(HF_RECORDS, glance=lambda raw: None),
               "text": dataclasses.replace(HF_RECORDS, parse=counted_parse)}  # the pages' text, as the crawl's
    results: dict[str, list[PageResult]] = {}
    for name, reader in readers.items():
        as_text = name == "text"
        url = f"sqlite:///{tmp_path / name}.db"
        store = open_store(url)
        with store.transaction() as conn:
            store.upsert(conn, CrawlRun, [
                {"run_id": r, "hub": "hf", "mode": "full", "started_at": datetime(2026, 11, r)} for r in (1, 2)])
        store.engine.dispose()
        _sweep(url, reader, first, 1, as_text=as_text)
        store = open_store(url)
        with store.transaction() as conn:  # as a sweep that did not list it would have left it
            conn.execute(update(Model).where(Model.id == first[56]["id"]).values(deleted_at=datetime(2026, 11, 1, 12)))
        store.engine.dispose()
        parsed.clear()
        results[name] = _sweep(url, reader, second, 2, as_text=as_text)
        if name != "parse":
            assert set(parsed) == to_parse, "only the records that changed since stored are parsed"
    assert results["glance"] == results["parse"] == results["text"]
    assert sum(r.changed for r in results["glance"]) == len(changed)
    assert sum(r.quarantined for r in results["glance"]) == 1  # the record that is not an object
    glanced, full = _tables(f"sqlite:///{tmp_path / 'glance'}.db"), _tables(f"sqlite:///{tmp_path / 'parse'}.db")
    from_text = _tables(f"sqlite:///{tmp_path / 'text'}.db")
    for name in TABLES:
        assert glanced[name] == full[name] == from_text[name], name
    store = open_store(f"sqlite:///{tmp_path / 'glance'}.db")
    with store.engine.connect() as conn:
        serving = conn.execute(text("SELECT id FROM model WHERE inference = 'warm' AND inference_providers = :p"),
                               {"p": '["together"]'}).scalars().all()
    store.engine.dispose()
    assert sorted(serving) == sorted(raw["id"] for raw in second[60:65])
    repaired = {r[1]: r[4] for r in glanced["quarantine"] if r[2] == "repaired"}
    assert set(repaired) == {first[i]["id"] + " (stored with repairs)" for i in (51, 52, 57)}, repaired


def test_a_glance_leaves_to_the_parse_the_records_it_must_refuse_or_repair(tmp_path: Path) -> None:
    store = open_store(f"sqlite:///{tmp_path / 's.db'}")
    stored = [{"id": "org/a", "downloads": 3, "likes": 1}, {"id": "org/b", "downloads": 4, "likes": 2}]
    write_page(store, "modelscope", stored, run_id=None, reader=MODELSCOPE_RECORDS)
    page = [{"id": "org/a", "downloads": "many", "likes": 1}, {"id": "org/b", "downloads": 2**64, "likes": 2}]
    with store.transaction() as conn:
        read = read_page(store, conn, "modelscope", page, run_id=None, reader=MODELSCOPE_RECORDS)
    assert not read.current
    assert [r["key"] for r in read.bad] == ["org/a"] and "'downloads' is not an integer" in read.bad[0]["reason"]
    assert read.models["org/b"].live.counters == (None, None, 2) and read.models["org/b"].notes
