"""A run lock per store, so two crawls never overlap (a killed process releases it by itself).

SQLite stores lock a file beside the database with ``flock``; PostgreSQL stores hold an advisory lock on a
dedicated connection. Both are released by the operating system / server when the holder dies.
"""

from __future__ import annotations

import fcntl
import hashlib
import os
from pathlib import Path
from types import TracebackType

from sqlalchemy import text

from crawler.store.db import Store
from crawler.store.urls import sqlite_path


class LockBusy(Exception):
    """Another run holds the lock."""


class RunLock:
    """``with RunLock(store, "crawl"):`` — raises :class:`LockBusy` when another process holds it."""

    def __init__(self, store: Store, name: str = "crawl"):
        self.store = store
        self.name = name
        self._fd: int | None = None
        self._conn = None

    def _sqlite_path(self) -> Path | None:
        database = sqlite_path(self.store.url)
        # keyed on the real file: a symlink or another relative spelling of the same store meets the same lock
        return None if database is None else Path(f"{database.resolve()}.{self.name}.lock")

    def acquire(self) -> RunLock:
        if self.store.dialect == "postgresql":
            key = int.from_bytes(hashlib.blake2b(f"hubtree:{self.name}".encode(), digest_size=8).digest(), "big",
                                 signed=True)
            self._conn = self.store.engine.connect()
            got = self._conn.execute(text("SELECT pg_try_advisory_lock(:k)"), {"k": key}).scalar_one()
            if not got:
                self._conn.close()
                self._conn = None
                raise LockBusy(f"another hubtree {self.name} is running on this store")
            return self
        path = self._sqlite_path()
        if path is None:
            return self
        fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            os.close(fd)
            raise LockBusy(f"another hubtree {self.name} is running on this store (lock {path})") from None
        os.ftruncate(fd, 0)
        os.write(fd, str(os.getpid()).encode())
        self._fd = fd
        return self

    def release(self) -> None:
        if self._conn is not None:
            self._conn.close()  # closing the session releases the advisory lock
            self._conn = None
        if self._fd is not None:
            fcntl.flock(self._fd, fcntl.LOCK_UN)
            os.close(self._fd)
            self._fd = None

    def __enter__(self) -> RunLock:
        return self.acquire()

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        self.release()
