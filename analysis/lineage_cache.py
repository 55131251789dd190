"""A disk cache of built graphs, so a cold CLI query does not rebuild a million-model graph.

The key is the store URL, the build options, :data:`CACHE_VERSION` and a fingerprint of the store's content:
for SQLite the size and modification time (ns) of the database file and of its write-ahead log, which change on
every committed write; for other databases the row counts and high-water marks of the lineage tables (an
in-place update that changes none of them is missed: use ``--no-cache``). A hit never opens the store.
Files are pickles written by this module only, in a directory private to the user (``$HUBTREE_CACHE``, else
``$XDG_CACHE_HOME/hubtree``, else ``~/.cache/hubtree``). Loading a pickle runs code, so the directory is checked
first: owned by the user, mode 0700, not a symlink, else the cache is refused (not read, not written) with a
warning naming the fix.

A file holds the pickle (protocol 5) with its large buffers out of band — NumPy arrays, the graph's ids and
labels — each at a page boundary after it, so that a load maps them from the file (copy-on-write) instead of
reading them: a query touches only the pages it needs. A file is replaced, never rewritten, so a process that
maps it keeps reading what it mapped. Layout: :data:`MAGIC`, the pickle's length and the buffers' count
(``<QI``), an offset and a length per buffer (``<QQ``), the pickle, the buffers.
"""

from __future__ import annotations

import gc
import hashlib
import logging
import mmap
import os
import pickle
import stat
import struct
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any, BinaryIO

from crawler.store.urls import sqlite_path

if TYPE_CHECKING:
    from crawler.store.db import Store

CACHE_VERSION = 9  # 5: LineageGraph.ids an IdList; 6, 7: authors and architectures as Labels; 8: every cycle broken
MAGIC = b"hubtree graph cache 1\n"  # 9: buffers out of band, mapped
_KEEP = 8  # newest cache files kept per directory
_MAX_BUFFERS = 1 << 16  # a count beyond this is a damaged file
_log = logging.getLogger(__name__)


def cache_dir() -> Path:
    base = os.environ.get("HUBTREE_CACHE") or Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "hubtree"
    return Path(base) / "graph"


def unsafe_reason(directory: Path) -> str | None:
    """Why pickles in ``directory`` could have been written by someone else (None: it is private or absent)."""
    try:
        st = directory.lstat()
    except FileNotFoundError:
        return None
    if not stat.S_ISDIR(st.st_mode):
        return "is not a directory (a symlink or a file)"
    if st.st_uid != os.getuid():
        return f"is owned by uid {st.st_uid}, not by you (uid {os.getuid()})"
    if st.st_mode & 0o077:
        return f"has mode {stat.S_IMODE(st.st_mode):04o}, not 0700"
    return None


def fingerprint(url: str, store: Store | None = None) -> str | None:
    """A string that changes whenever the store's content may have changed (None: do not cache)."""
    path = sqlite_path(url)
    if path is not None:
        parts = []
        for p in (path, path.with_name(path.name + "-wal")):
            try:
                st = p.stat()
            except FileNotFoundError:
                parts.append("-")
                continue
            # an empty WAL (created by any reader, ours included) holds nothing: same as no WAL
            parts.append(f"{st.st_size}:{st.st_mtime_ns}" if st.st_size else "-")
        return "|".join(parts)
    if store is None:
        return None
    from sqlalchemy import func, select  # other databases only: a SQLite cache hit loads no SQLModel

    from crawler.store.schema import CrawlRun, Edge, Mirror, Model

    m, e, mi, r = (t.__table__ for t in (Model, Edge, Mirror, CrawlRun))  # type: ignore[attr-defined]
    queries = [select(func.count(), func.max(m.c.last_modified), func.max(m.c.last_seen_run), func.count(m.c.deleted_at)),
               select(func.count(), func.count(e.c.parent), func.sum(func.length(e.c.status))),
               select(func.count(), func.sum(mi.c.confidence)),
               select(func.max(r.c.run_id), func.max(r.c.ended_at), func.count())]
    with store.engine.connect() as conn:
        return "|".join(str(tuple(conn.execute(q).one())) for q in queries)


def _file(url: str, options: dict[str, Any], fp: str) -> Path:
    digest = hashlib.sha256(repr((CACHE_VERSION, url, sorted(options.items()), fp)).encode()).hexdigest()[:24]
    return cache_dir() / f"graph-{digest}.pkl"


def _dump(value: Any, fh: BinaryIO) -> None:
    """Write ``value`` to ``fh`` in the layout :func:`_load` reads."""
    buffers: list[pickle.PickleBuffer] = []
    data = pickle.dumps(value, protocol=5, buffer_callback=buffers.append)
    raws = [b.raw() for b in buffers]
    at = len(MAGIC) + 12 + 16 * len(raws) + len(data)
    table = []
    for raw in raws:
        at = -(-at // mmap.ALLOCATIONGRANULARITY) * mmap.ALLOCATIONGRANULARITY
        table += [at, raw.nbytes]
        at += raw.nbytes
    fh.write(MAGIC + struct.pack("<QI", len(data), len(raws)) + struct.pack(f"<{len(table)}Q", *table) + data)
    for offset, raw in zip(table[::2], raws, strict=True):
        fh.write(bytes(offset - fh.tell()))
        fh.write(raw)


def _load(fh: BinaryIO) -> Any:
    """Read what :func:`_dump` wrote: the buffers mapped copy-on-write (writable, private, read only when touched).
    The cyclic garbage collector is paused, so that the objects the pickle creates do not set off collections all
    through the load. Raises ``ValueError`` (or ``struct.error``) for a file not in this layout."""
    if fh.read(len(MAGIC)) != MAGIC:
        raise ValueError("not a graph cache file of this version")
    size, count = struct.unpack("<QI", fh.read(12))
    if count > _MAX_BUFFERS or size > os.fstat(fh.fileno()).st_size:
        raise ValueError("damaged graph cache file")
    table = struct.unpack(f"<{2 * count}Q", fh.read(16 * count))
    data = fh.read(size)
    if len(data) != size:
        raise ValueError("truncated graph cache file")
    buffers = [mmap.mmap(fh.fileno(), length, offset=offset, access=mmap.ACCESS_COPY) if length else b""
               for offset, length in zip(table[::2], table[1::2], strict=True)]
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        return pickle.loads(data, buffers=buffers)  # noqa: S301 - our own file in a directory checked to be private
    finally:
        if was_enabled:
            gc.enable()


def cached(url: str, options: dict[str, Any], build: Callable[[], Any], *, store: Store | None = None) -> Any:
    """The cached object for (url, options, current fingerprint), else ``build()`` stored for next time."""
    fp = fingerprint(url, store)
    if fp is None:
        return build()
    target = _file(url, options, fp)
    problem = unsafe_reason(target.parent)
    if problem is not None:
        _log.warning("graph cache not used: %s %s (chmod 700 it, or set HUBTREE_CACHE)", target.parent, problem)
        return build()
    try:
        with target.open("rb") as fh:
            if os.fstat(fh.fileno()).st_uid != os.getuid():
                raise PermissionError("cache file not ours")
            return _load(fh)
    except (OSError, EOFError, ValueError, struct.error, pickle.UnpicklingError, AttributeError, ImportError):
        pass
    value = build()
    if fingerprint(url, store) != fp:  # the store changed while we read it: do not cache a mixed state
        return value
    try:
        target.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
        if unsafe_reason(target.parent) is not None:  # created meanwhile by someone else, or under a wide umask
            return value
        with tempfile.NamedTemporaryFile("wb", dir=target.parent, delete=False) as fh:
            _dump(value, fh)
        os.replace(fh.name, target)
        old = sorted(target.parent.glob("graph-*.pkl"), key=lambda p: p.stat().st_mtime, reverse=True)[_KEEP:]
        for p in old:
            p.unlink(missing_ok=True)
    except OSError:
        pass  # a cache that cannot be written is only slower
    return value
