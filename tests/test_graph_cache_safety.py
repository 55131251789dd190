"""The graph cache loads pickles only from a directory private to the user (owner, mode 0700, no symlink)."""

from __future__ import annotations

import os
import pickle
from pathlib import Path

import pytest

from analysis import lineage_cache
from crawler.store import open_store


class _Boom:
    """A pickle that runs code when loaded (what an attacker would plant)."""

    def __init__(self, marker: Path):
        self.marker = marker

    def __reduce__(self):
        return (Path.touch, (self.marker,))


@pytest.fixture
def store_url(tmp_path: Path) -> str:
    url = f"sqlite:///{tmp_path / 'store.db'}"
    open_store(url).engine.dispose()
    return url


def _plant(url: str, marker: Path) -> Path:
    target = lineage_cache._file(url, {}, lineage_cache.fingerprint(url))
    target.write_bytes(pickle.dumps(_Boom(marker)))
    return target


@pytest.mark.parametrize("mode", [0o777, 0o770, 0o755])
def test_a_shared_cache_directory_is_refused(tmp_path: Path, store_url: str, monkeypatch, mode: int) -> None:
    monkeypatch.setenv("HUBTREE_CACHE", str(tmp_path / "cache"))
    directory = lineage_cache.cache_dir()
    directory.mkdir(parents=True)
    directory.chmod(mode)
    marker = tmp_path / "pwned"
    _plant(store_url, marker)
    assert lineage_cache.unsafe_reason(directory) == f"has mode {mode:04o}, not 0700"
    assert lineage_cache.cached(store_url, {}, lambda: "built") == "built"
    assert not marker.exists()


def test_a_symlinked_cache_directory_is_refused(tmp_path: Path, store_url: str, monkeypatch) -> None:
    monkeypatch.setenv("HUBTREE_CACHE", str(tmp_path / "cache"))
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir(mode=0o700)
    lineage_cache.cache_dir().parent.mkdir()
    lineage_cache.cache_dir().symlink_to(elsewhere)
    marker = tmp_path / "pwned"
    _plant(store_url, marker)
    assert "not a directory" in lineage_cache.unsafe_reason(lineage_cache.cache_dir())
    assert lineage_cache.cached(store_url, {}, lambda: "built") == "built" and not marker.exists()


def test_a_private_cache_directory_is_created_and_used(tmp_path: Path, store_url: str, monkeypatch) -> None:
    monkeypatch.setenv("HUBTREE_CACHE", str(tmp_path / "cache"))
    assert lineage_cache.cached(store_url, {}, lambda: "first") == "first"
    assert oct(os.stat(lineage_cache.cache_dir()).st_mode & 0o777) == "0o700"
    assert lineage_cache.cached(store_url, {}, lambda: "second") == "first"  # a hit


@pytest.mark.parametrize("url", ["sqlite:////tmp/a%20b.db", "sqlite:///rel/x.db", "sqlite:///", "sqlite://",
                                 "sqlite:///:memory:", "sqlite:////tmp/x#y.db", "sqlite:////tmp/a@b:c.db",
                                 "sqlite:///file:/tmp/x.db?uri=true", "sqlite+pysqlite:////tmp/q.db",
                                 "postgresql://u:secret@h/db"])
def test_the_cache_finds_the_store_file_as_sqlalchemy_names_it(url: str) -> None:
    """The cache's fingerprint reads plain SQLite URLs without SQLAlchemy: the same file as SQLAlchemy's parse."""
    from sqlalchemy.engine import make_url

    from crawler.store.urls import sqlite_path

    u = make_url(url)
    database = u.database or ""
    if u.query.get("uri") == "true":
        database = database.removeprefix("file:").split("?", 1)[0]
    want = Path(database) if u.get_backend_name() == "sqlite" and database not in ("", ":memory:") else None
    assert sqlite_path(url) == want
