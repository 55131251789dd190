"""The store: SQLModel tables and batched, idempotent writes (SQLite by default, PostgreSQL by URL).

The names below are loaded on first use, so importing a light submodule (``crawler.store.urls``) does not load
SQLModel and the engine."""

from __future__ import annotations

import importlib
from typing import Any

_EXPORTS = {"Store": "db", "open_existing_store": "db", "open_store": "db", "Card": "schema", "CrawlRun": "schema",
            "Edge": "schema", "MetricSnapshot": "schema", "Mirror": "schema", "Model": "schema", "Quarantine": "schema"}
__all__ = list(_EXPORTS)


def __getattr__(name: str) -> Any:
    if name not in _EXPORTS:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    return getattr(importlib.import_module(f"{__name__}.{_EXPORTS[name]}"), name)
