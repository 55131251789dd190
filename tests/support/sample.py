"""The bundled sample world loaded into a store through the crawler's own page writer (no HTTP)."""

from __future__ import annotations

import gzip
import json
from pathlib import Path

from crawler.family import resolve_edges
from crawler.ingest import card_row, write_page
from crawler.store import Card, Store, open_store

SAMPLE = Path(__file__).resolve().parents[2] / "data" / "sample"


def sample_records() -> list[dict]:
    """The HF records of the bundled sample world, as the simulator serves them."""
    with gzip.open(SAMPLE / "hf.jsonl.gz", "rt", encoding="utf-8") as fh:
        return [json.loads(line) for line in fh if line.strip()]


def load_sample(url: str) -> Store:
    """The sample world written through ``write_page`` with bases resolved, and its cards in the ``card`` table."""
    store = open_store(url)
    records = sample_records()
    for start in range(0, len(records), 1000):
        write_page(store, "hf", records[start : start + 1000], run_id=1)
    resolve_edges(store, "hf")
    cards = [card_row("hf", r["id"], r.get("sha"), r["readme"])[0] for r in records if r.get("readme")]
    with store.transaction() as conn:
        store.upsert(conn, Card, cards)
    return store
