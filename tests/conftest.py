"""Shared fixtures: a clean PostgreSQL database when the test services provide one."""

from __future__ import annotations

import os

import pytest


@pytest.fixture
def pg_url() -> str:
    """A PostgreSQL store URL with no hubtree tables in it (``HUBTREE_TEST_PG_URL``), else skip."""
    url = os.environ.get("HUBTREE_TEST_PG_URL")
    if not url:
        pytest.skip("no PostgreSQL server (run the suite through scripts/with-test-services.sh)")
    from sqlmodel import SQLModel

    from crawler.store import open_store

    store = open_store(url)
    SQLModel.metadata.drop_all(store.engine)
    SQLModel.metadata.create_all(store.engine)
    store.engine.dispose()
    return url
