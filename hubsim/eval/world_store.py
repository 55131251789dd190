"""Write a world's Hugging Face records (and their ``readme`` cards) into a store as a crawl would, no network:
records through :func:`crawler.ingest.write_page`, cards through :func:`crawler.ingest.card_row` (a broken front
matter quarantined), then the crawler's statistics refresh and base resolution."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

from crawler.family import resolve_edges
from crawler.ingest import card_row, write_page
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
        cards = [card_row("hf", r["id"], r.get("sha"), r["readme"])[0] for r in page if isinstance(r.get("readme"), str)]
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
    store.refresh_statistics()
    resolve_edges(store, "hf")
    return n
