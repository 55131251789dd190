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


@pytest.fixture(scope="session")
def sample_store(tmp_path_factory: pytest.TempPathFactory):
    """The bundled sample world in a SQLite store, loaded through the crawler's page writer (shared, read-only)."""
    from tests.support.sample import SAMPLE, load_sample

    if not (SAMPLE / "hf.jsonl.gz").exists():
        pytest.skip("bundled sample world not built")
    return load_sample(f"sqlite:///{tmp_path_factory.mktemp('sample') / 'store.db'}")
