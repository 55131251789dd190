"""Write a world's Hugging Face records (and their ``readme`` cards) into a store as a crawl would, no network."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

from crawler.cards import bound_text, parse_front_matter
from crawler.family import resolve_edges
from crawler.ingest import write_page
from crawler.store.db import Store
from crawler.store.schema import Card
from hubsim.world import iter_records, records_file

PAGE = 1_000


def iter_hf_records(path: Path) -> Iterator[dict[str, Any]]:
    """The HF records of the world directory ``path``; FileNotFoundError when it has none."""
    hf = records_file(path, "hf")
    if hf is None:
        raise FileNotFoundError(2, "no hf.jsonl[.gz] in world", str(path))
    for record, _ in iter_records(hf):
        yield record


def load_world_store(path: Path, store: Store) -> int:
    """Write a world's HF records (and their ``readme`` cards) into ``store`` as a crawl would; returns records."""
    n = 0
    page: list[dict[str, Any]] = []

    def flush() -> None:
        write_page(store, "hf", page, run_id=None)
        cards = []
        for r in page:
            if isinstance(r.get("readme"), str):
                text, truncated = bound_text(r["readme"])
                fm = parse_front_matter(text)
                cards.append({"hub": "hf", "id": r["id"], "sha": r.get("sha"), "fetched_at": None, "text": text,
                              "truncated": truncated, "front_matter": fm.data or None, "error": fm.error})
        with store.transaction() as conn:
            store.upsert(conn, Card, cards)
        page.clear()

    for record in iter_hf_records(path):
        page.append(record)
        n += 1
        if len(page) >= PAGE:
            flush()
    if page:
        flush()
    resolve_edges(store, "hf")
    return n
