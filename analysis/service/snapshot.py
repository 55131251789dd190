"""What the service answers from: one state of the store's lineage graph, with its lookup indexes.

A :class:`Snapshot` is never changed once built. :class:`Snapshots` holds the current one and swaps in a new one
when the store's fingerprint (:func:`analysis.lineage_cache.fingerprint`) has changed and then stayed the same for a
poll interval — a crawl writes every page, so a steady new fingerprint means a crawl has finished. The new graph is
built in a background thread; a request takes the current snapshot once, so it never sees two graphs.
"""

from __future__ import annotations

import bisect
import logging
import re
import threading
import time
from collections import OrderedDict
from collections.abc import Callable, Hashable
from concurrent.futures import Future
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import numpy as np
import polars as pl
from sqlalchemy.engine import make_url

from analysis import frames
from analysis.lineage_build import build_graph
from analysis.lineage_cache import cached, fingerprint
from analysis.lineage_graph import LineageGraph
from crawler.store.db import Store, open_store
from crawler.store.schema import Model
from crawler.store.urls import sqlite_path

log = logging.getLogger("hubtree.serve")


def readonly_url(url: str) -> str:
    """The same store opened read-only: SQLite in ``mode=ro``, PostgreSQL with read-only transactions."""
    path = sqlite_path(url)
    if path is not None:
        return f"sqlite:///file:{path.resolve()}?mode=ro&uri=true"
    u = make_url(url)
    if u.get_backend_name() == "postgresql":
        return u.update_query_dict({"options": "-c default_transaction_read_only=on"}).render_as_string(
            hide_password=False)
    return url


class ResultCache:
    """A small thread-safe LRU of computed answers (listings, trees, encoded answers) of one snapshot: at most
    ``size`` entries and, for byte strings, ``max_bytes`` in all."""

    def __init__(self, size: int = 32, max_bytes: int | None = None):
        self._size = size
        self._max_bytes = max_bytes
        self._bytes = 0
        self._items: OrderedDict[Hashable, Any] = OrderedDict()
        self._lock = threading.Lock()

    def peek(self, key: Hashable) -> Any:
        """The cached value of ``key``, or None."""
        with self._lock:
            if key in self._items:
                self._items.move_to_end(key)
                return self._items[key]
        return None

    def get(self, key: Hashable, compute: Callable[[], Any]) -> Any:
        with self._lock:
            if key in self._items:
                self._items.move_to_end(key)
                return self._items[key]
        value = compute()  # outside the lock: two requests may compute the same answer once each
        with self._lock:
            if key not in self._items:
                self._items[key] = value
                self._bytes += len(value) if isinstance(value, bytes) else 0
            while len(self._items) > self._size or (self._max_bytes is not None and self._bytes > self._max_bytes
                                                    and len(self._items) > 1):
                _, old = self._items.popitem(last=False)
                self._bytes -= len(old) if isinstance(old, bytes) else 0
        return value


class SearchIndex:
    """Case-insensitive substring search over ids, most downloaded first.

    Ids are lower-cased and joined (newline-separated) in order of downloads, so the first ``limit`` hits of a scan
    are the ``limit`` most downloaded matches and a query costs the scan up to them, not a pass over every id.
    """

    def __init__(self, ids: list[str], downloads: np.ndarray):
        self.order = np.argsort(-downloads, kind="stable")
        names = [ids[n].lower().replace("\n", " ") for n in self.order.tolist()]
        self.text = "\n" + "\n".join(names) + "\n"
        lengths = np.fromiter((len(s) + 1 for s in names), np.int64, len(names))
        self.starts = (np.cumsum(lengths) - lengths + 1).tolist()  # offset of each name in ``text``

    def search(self, query: str, limit: int) -> list[int]:
        """Nodes whose id contains ``query`` (any case): exact matches first, then by downloads."""
        q = query.lower()
        exact, hits, pos = [], [], self.text.find("\n" + q + "\n")
        while pos != -1 and len(exact) < limit:
            exact.append(int(self.order[bisect.bisect_right(self.starts, pos + 1) - 1]))
            pos = self.text.find("\n" + q + "\n", pos + 1)
        pos = self.text.find(q)
        while pos != -1 and len(hits) < limit:
            entry = bisect.bisect_right(self.starts, pos) - 1
            node = int(self.order[entry])
            if node not in exact:
                hits.append(node)
            nxt = entry + 1
            pos = self.text.find(q, self.starts[nxt]) if nxt < len(self.starts) else -1
        return (exact + hits)[:limit]


    def candidates(self, query: str, per_token: int = 300) -> list[int]:
        """Nodes sharing a word (3+ characters) of ``query``, most downloaded first: the pool close matches of a
        query that matches nothing are looked for in (bounded, so a typo costs milliseconds, not a pass over every
        id)."""
        words = sorted({w for w in re.split(r"[^0-9a-z]+", query.lower()) if len(w) >= 3}, key=len, reverse=True)
        out: dict[int, None] = dict.fromkeys(self.search(query, 5))  # the same id in another case first
        for word in words[:4]:
            out.update(dict.fromkeys(self.search(word, per_token)))
        return list(out)


class Jobs:
    """Long computations of one snapshot (the families analysis), each started once in a daemon thread; a request
    waits for the result only as long as it may, and the next request finds it done."""

    def __init__(self) -> None:
        self._jobs: dict[Hashable, Future[Any]] = {}
        self._lock = threading.Lock()

    def start(self, key: Hashable, compute: Callable[[], Any]) -> Future[Any]:
        with self._lock:
            if key in self._jobs:
                return self._jobs[key]
            future: Future[Any] = Future()
            self._jobs[key] = future
        future.set_running_or_notify_cancel()

        def run() -> None:
            try:
                future.set_result(compute())
            except Exception as exc:  # noqa: BLE001 - handed to whoever waits for the result
                future.set_exception(exc)

        threading.Thread(target=run, name=f"hubtree-job-{key}", daemon=True).start()
        return future


@dataclass
class Snapshot:
    """The graph of one state of the store, with downloads per node and the search index."""

    graph: LineageGraph
    fingerprint: str | None
    include_inferred: bool
    loaded_at: str
    downloads: np.ndarray  # per node; -1 when unknown (HF figure for a mirrored pair)
    search: SearchIndex
    cache: ResultCache = field(default_factory=ResultCache)  # listings, trees: what several answers share
    answers: ResultCache = field(default_factory=lambda: ResultCache(1024, 64 << 20))  # encoded, by request
    jobs: Jobs = field(default_factory=Jobs)


def node_downloads(store: Store, graph: LineageGraph) -> np.ndarray:
    """Downloads (30 days) per node: the Hugging Face figure, else the ModelScope one; -1 when unknown."""
    tbl = Model.__table__  # type: ignore[attr-defined]
    df = frames.table(store, Model, ("hub", "id", "downloads"), scan_where=tbl.c.deleted_at.is_(None))
    out = np.full(graph.n_nodes, -1, np.int64)
    index = graph.nodes_by_id
    for hub in ("modelscope", "hf"):  # HF last: its figure wins for a mirrored pair
        bit = 1 if hub == "hf" else 2
        part = df.filter((pl.col("hub") == hub) & pl.col("downloads").is_not_null())
        for model_id, value in part.select("id", "downloads").iter_rows():
            for n in index.get(model_id, ()):
                if graph.present[n] & bit:
                    out[n] = value
    return out


def load_snapshot(url: str, store: Store, *, include_inferred: bool) -> Snapshot:
    """Build (or load from the graph cache) the snapshot of the store's current state."""
    fp = fingerprint(url, None if sqlite_path(url) is not None else store)

    def build() -> LineageGraph:
        graph = build_graph(store)
        if include_inferred:
            from analysis.graph import graph_with_inferred

            graph = graph_with_inferred(store, graph)
        return graph

    graph = cached(url, {"inferred": include_inferred}, build, store=None if sqlite_path(url) is not None else store)
    downloads = node_downloads(store, graph)
    return Snapshot(graph=graph, fingerprint=fp, include_inferred=include_inferred,
                    loaded_at=datetime.now(UTC).isoformat(timespec="seconds"), downloads=downloads,
                    search=SearchIndex(graph.ids, downloads))


class Snapshots:
    """The current snapshot of one store, reloaded in a background thread after the store changed."""

    def __init__(self, url: str, *, include_inferred: bool = False, poll_s: float = 2.0):
        self.url = url
        self.store = open_store(readonly_url(url), create=False)
        self.include_inferred = include_inferred
        self.poll_s = poll_s
        self.current = load_snapshot(url, self.store, include_inferred=include_inferred)
        self.reloads = 0
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def _fingerprint(self) -> str | None:
        return fingerprint(self.url, None if sqlite_path(self.url) is not None else self.store)

    def start(self) -> None:
        """Start watching the store (a daemon thread: it never holds up shutdown)."""
        if self._thread is None:
            self._thread = threading.Thread(target=self._watch, name="hubtree-reload", daemon=True)
            self._thread.start()

    def stop(self) -> None:
        self._stop.set()

    def _watch(self) -> None:
        previous = self.current.fingerprint
        while not self._stop.wait(self.poll_s):
            try:
                fp = self._fingerprint()
                if fp != self.current.fingerprint and fp == previous:
                    self._reload(fp)
                previous = fp
            except Exception:  # noqa: BLE001 - a failed reload keeps serving the last good snapshot
                log.exception("reloading the graph failed; still serving the snapshot of %s",
                              self.current.loaded_at)

    def _reload(self, fp: str | None) -> None:
        started = time.monotonic()
        snapshot = load_snapshot(self.url, self.store, include_inferred=self.include_inferred)
        if snapshot.fingerprint == fp:  # otherwise the store moved on while loading: next poll retries
            self.current = snapshot
            self.reloads += 1
            log.warning("graph reloaded: %s models (%.1f s)", f"{snapshot.graph.n_nodes:,}",
                        time.monotonic() - started)
