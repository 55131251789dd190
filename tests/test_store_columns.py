"""A store created by an earlier version gains the schema's new nullable columns when opened, and the next
crawl fills them (its rows' hashes are cleared so unchanged records are rewritten)."""

from __future__ import annotations

import sqlite3
from pathlib import Path

from crawler.ingest import write_page
from crawler.records import parse_hf
from crawler.store.db import open_store

RECORD = {"id": "Qwen/Qwen2-7B-Instruct", "config": {"model_type": "qwen2"}, "tags": ["qwen2"],
          "safetensors": {"parameters": {"BF16": 7615616512}, "total": 7615616512}}


def test_params_come_from_safetensors_then_gguf() -> None:
    assert parse_hf(RECORD).row["params"] == 7615616512
    gguf = parse_hf({"id": "a/b-GGUF", "gguf": {"total": 494032768, "architecture": "qwen2", "context_length": 32768}})
    assert (gguf.row["params"], gguf.row["context_length"], gguf.row["architecture"]) == (494032768, 32768, "qwen2")
    odd = parse_hf({"id": "a/c", "safetensors": {"total": "7B"}, "gguf": {"total": True}})
    assert odd.row["params"] is None and odd.row["context_length"] is None


def test_an_older_store_gains_the_columns_and_the_next_crawl_fills_them(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path}/old.db"
    write_page(open_store(url), "hf", [RECORD], run_id=None)
    with sqlite3.connect(tmp_path / "old.db") as db:  # the store as an earlier version left it
        db.execute("ALTER TABLE model DROP COLUMN params")
        db.execute("ALTER TABLE model DROP COLUMN context_length")
    store = open_store(url)
    open_store(url)  # idempotent
    with sqlite3.connect(tmp_path / "old.db") as db:
        columns = {r[1] for r in db.execute("PRAGMA table_info(model)")}
        assert {"params", "context_length"} <= columns
        assert db.execute("SELECT record_hash, params FROM model").fetchall() == [("", None)]
    write_page(store, "hf", [RECORD], run_id=None)
    with sqlite3.connect(tmp_path / "old.db") as db:
        assert db.execute("SELECT params FROM model").fetchall() == [(7615616512,)]
