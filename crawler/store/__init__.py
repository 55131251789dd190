"""The store: SQLModel tables and batched, idempotent writes (SQLite by default, PostgreSQL by URL)."""

from crawler.store.db import Store, open_existing_store, open_store
from crawler.store.schema import Card, CrawlRun, Edge, MetricSnapshot, Mirror, Model, Quarantine

__all__ = ["Card", "CrawlRun", "Edge", "MetricSnapshot", "Mirror", "Model", "Quarantine", "Store", "open_existing_store",
           "open_store"]
