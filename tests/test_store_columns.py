"""A store created by an earlier version gains the schema's new nullable columns when opened, and the next
crawl fills them (its rows' hashes are cleared so unchanged records are rewritten)."""

from __future__ import annotations

from pathlib import Path

from sqlalchemy import inspect, text

from crawler.ingest import write_page
from crawler.records_hf import parse_hf
from crawler.store.db import open_store

RECORD = {"id": "Qwen/Qwen2-7B-Instruct", "config": {"model_type": "qwen2"}, "tags": ["qwen2"],
          "safetensors": {"parameters": {"BF16": 7615616512}, "total": 7615616512}}


def test_params_come_from_safetensors_then_gguf() -> None:
    assert parse_hf(RECORD).row["params"] == 7615616512
    gguf = parse_hf({"id": "a/b-GGUF", "gguf": {"total": 494032768, "architecture": "qwen2", "context_length": 32768}})
    assert (gguf.row["params"], gguf.row["context_length"], gguf.row["architecture"]) == (494032768, 32768, "qwen2")
    odd = parse_hf({"id": "a/c", "safetensors": {"total": "7B"}, "gguf": {"total": True}})
    assert odd.row["params"] is None and odd.row["context_length"] is None


def _older(url: str) -> None:
    """Leave the store as an earlier version did: no ``params`` / ``context_length`` columns."""
    store = open_store(url)
    with store.transaction() as conn:
        for column in ("params", "context_length"):
            conn.execute(text(f"ALTER TABLE model DROP COLUMN {column}"))
    store.engine.dispose()


def _check_older_store(url: str) -> None:
    write_page(open_store(url), "hf", [RECORD], run_id=None)
    _older(url)
    store = open_store(url)
    open_store(url).engine.dispose()  # idempotent
    assert {"params", "context_length"} <= {c["name"] for c in inspect(store.engine).get_columns("model")}
    with store.engine.connect() as conn:
        assert conn.execute(text("SELECT record_hash, params FROM model")).all() == [("", None)]
    write_page(store, "hf", [RECORD], run_id=None)  # the next crawl rewrites the unchanged record
    with store.engine.connect() as conn:
        assert conn.execute(text("SELECT params FROM model")).all() == [(7615616512,)]
    store.engine.dispose()


def test_an_older_sqlite_store_gains_the_columns_and_the_next_crawl_fills_them(tmp_path: Path) -> None:
    _check_older_store(f"sqlite:///{tmp_path}/old.db")


def test_an_older_postgresql_store_gains_the_columns_and_the_next_crawl_fills_them(pg_url: str) -> None:
    _check_older_store(pg_url)
