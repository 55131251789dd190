"""The Hugging Face side of a world: records as raw lines, columns and indexes for fast listing queries.

Built once per world. Every sort has a precomputed order (descending by key, then by ``_id``; the default
order is ``_id`` ascending, as on the Hub). A listing query (filters + sort) is answered by an ordered array
of row numbers, cached, so each page costs O(page) and a keyset cursor is found by binary search.
"""

from __future__ import annotations

import hashlib
import sys
import threading
from array import array
from collections import Counter, OrderedDict
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

#: Sort names of ``GET /api/models?sort=``; the value is the record key (``None``: the default ``_id`` order).
SORTS: dict[str, str | None] = {"_id": None, "createdAt": "createdAt", "lastModified": "lastModified",
                                "downloads": "downloads", "likes": "likes", "trendingScore": "trendingScore"}
NUMERIC_SORTS = frozenset({"downloads", "likes", "trendingScore"})
RELATIONS = ("finetune", "adapter", "quantized", "merge")
#: Cached query results are evicted beyond this many row numbers in total.
CACHE_MAX_ROWS = 20_000_000
_EMPTY: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class HfQuery:
    """The filters and sort of one listing query (its cache key)."""

    sort: str = "_id"
    search: str | None = None
    author: str | None = None
    tags: tuple[str, ...] = ()
    pipeline_tag: str | None = None
    gated: bool | None = None
    inference: str | None = None
    providers: tuple[str, ...] = ()


def synthetic_oid(model_id: str, created_at: Any) -> str:
    """A Mongo-like ``_id`` (creation seconds + hash) for records that lack one; sorts like the Hub's."""
    seconds = 0
    if isinstance(created_at, str):
        try:
            seconds = int(datetime.fromisoformat(created_at.replace("Z", "+00:00")).timestamp())
        except ValueError:
            seconds = 0
    digest = hashlib.blake2b(model_id.encode("utf-8"), digest_size=8).hexdigest()
    return f"{max(seconds, 0) & 0xFFFFFFFF:08x}{digest}"


def parent_tags(tags: Iterable[str]) -> dict[str, str | None]:
    """``{parent id: relation or None}`` from ``base_model:<id>`` and ``base_model:<relation>:<id>`` tags."""
    parents: dict[str, str | None] = {}
    for tag in tags:
        if not tag.startswith("base_model:"):
            continue
        head, sep, tail = tag[len("base_model:") :].partition(":")
        if sep and head in RELATIONS and tail:
            parents[tail] = head
        elif not sep and head:
            parents.setdefault(head, None)
    return parents


def hub_relation(parents: dict[str, str | None], tags: tuple[str, ...], record: dict[str, Any]) -> str:
    """The relation the Hub shows for a record's parents: a typed tag first, then the card's
    ``base_model_relation``, then its default rules (2+ parents → merge, GGUF → quantized, PEFT → adapter)."""
    typed = [rel for rel in parents.values() if rel]
    card = record.get("cardData") if isinstance(record.get("cardData"), dict) else {}
    if typed:
        return typed[0]
    if card.get("base_model_relation") in RELATIONS:
        return card["base_model_relation"]
    if len(parents) >= 2:
        return "merge"
    if "gguf" in tags or record.get("library_name") == "gguf":
        return "quantized"
    if "peft" in tags or record.get("library_name") == "peft":
        return "adapter"
    return "finetune"


def _number(value: Any) -> int | float:
    return value if isinstance(value, int | float) and not isinstance(value, bool) else 0


def _providers(mapping: Any) -> tuple[str, ...]:
    if isinstance(mapping, dict):
        return tuple(sorted(str(k) for k in mapping))
    if isinstance(mapping, list):
        return tuple(sorted({str(m["provider"]) for m in mapping if isinstance(m, dict) and m.get("provider")}))
    return _EMPTY


class HfTable:
    """Rows of Hugging Face records with the columns and indexes listing queries need."""

    def __init__(self) -> None:
        self.lines: list[bytes] = []
        self.ids: list[str] = []
        self.id_lower: list[str] = []
        self.oids: list[str] = []
        self.authors: list[str] = []
        self.tags: list[tuple[str, ...]] = []
        self.pipeline: list[str | None] = []
        self.gated: list[bool] = []
        self.inference: list[str | None] = []
        self.providers: list[tuple[str, ...]] = []
        self.keys: dict[str, list[Any]] = {name: [] for name in SORTS if name != "_id"}
        self.alive = bytearray()
        self.by_id: dict[str, int] = {}
        self.tag_index: dict[str, array] = {}
        self.author_index: dict[str, array] = {}
        self.pipeline_index: dict[str, array] = {}
        self.orders: dict[str, array] = {}
        self.ranks: dict[str, array] = {}
        #: Direct children per parent id and relation (``childrenModelCount`` on the detail endpoint).
        self.children: dict[str, Counter[str]] = {}
        self._relations: list[str | None] = []
        self.duplicates = 0
        self._cache: OrderedDict[HfQuery, array] = OrderedDict()
        self._cache_rows = 0
        self._lock = threading.Lock()

    def __len__(self) -> int:
        return len(self.by_id)

    @classmethod
    def build(cls, records: Iterable[tuple[dict[str, Any], bytes]]) -> HfTable:
        """Index ``(record, raw line)`` pairs; a repeated id replaces the earlier record."""
        table = cls()
        tag_lists: dict[str, list[int]] = {}
        author_lists: dict[str, list[int]] = {}
        pipeline_lists: dict[str, list[int]] = {}
        intern = sys.intern
        by_id, alive, keys = table.by_id, table.alive, table.keys
        add_line, add_id, add_lower, add_oid = (table.lines.append, table.ids.append, table.id_lower.append,
                                                table.oids.append)
        add_author, add_tags, add_pipeline = table.authors.append, table.tags.append, table.pipeline.append
        add_gated, add_inference, add_providers = (table.gated.append, table.inference.append,
                                                   table.providers.append)
        add_created, add_modified = keys["createdAt"].append, keys["lastModified"].append
        add_downloads, add_likes, add_trending = (keys["downloads"].append, keys["likes"].append,
                                                  keys["trendingScore"].append)
        get = dict.get
        for row, (record, line) in enumerate(records):
            model_id = record["id"]
            if model_id in by_id:
                alive[by_id[model_id]] = 0
                table.duplicates += 1
            by_id[model_id] = row
            alive.append(1)
            add_line(line)
            add_id(model_id)
            add_lower(model_id.lower())
            oid = get(record, "_id")
            add_oid(oid if isinstance(oid, str) and oid else synthetic_oid(model_id, get(record, "createdAt")))
            author = get(record, "author")
            if not isinstance(author, str) or not author:
                author = model_id.split("/", 1)[0] if "/" in model_id else ""
            author = intern(author.lower())
            add_author(author)
            author_lists.setdefault(author, []).append(row)
            raw_tags = get(record, "tags")
            if isinstance(raw_tags, list):
                tags = tuple(map(intern, raw_tags)) if all(type(t) is str for t in raw_tags) else tuple(
                    intern(t) for t in raw_tags if isinstance(t, str))
            else:
                tags = _EMPTY
            add_tags(tags)
            parents = parent_tags(tags)
            table._relations.append(hub_relation(parents, tags, record) if parents else None)
            for tag in set(tags):
                tag_lists.setdefault(tag, []).append(row)
            pipeline = get(record, "pipeline_tag")
            pipeline = intern(pipeline) if isinstance(pipeline, str) else None
            add_pipeline(pipeline)
            if pipeline:
                pipeline_lists.setdefault(pipeline, []).append(row)
            add_gated(get(record, "gated") not in (None, False, "false"))
            inference = get(record, "inference")
            add_inference(intern(inference) if isinstance(inference, str) else None)
            mapping = get(record, "inferenceProviderMapping")
            add_providers(_providers(mapping) if mapping else _EMPTY)
            created = get(record, "createdAt")
            created = created if isinstance(created, str) else ""
            add_created(created)
            modified = get(record, "lastModified")
            add_modified(modified if isinstance(modified, str) and modified else created)
            add_downloads(_number(get(record, "downloads")))
            add_likes(_number(get(record, "likes")))
            add_trending(_number(get(record, "trendingScore")))
        table.tag_index = {k: array("I", v) for k, v in tag_lists.items()}
        table.author_index = {k: array("I", v) for k, v in author_lists.items()}
        table.pipeline_index = {k: array("I", v) for k, v in pipeline_lists.items()}
        table._build_orders()
        for row in table.live_rows():
            relation = table._relations[row]
            for parent in parent_tags(table.tags[row]) if relation else ():
                table.children.setdefault(parent, Counter())[relation] += 1
        del table._relations
        return table

    def live_rows(self) -> list[int]:
        return [row for row, ok in enumerate(self.alive) if ok]

    def _build_orders(self) -> None:
        oids = self.oids
        ascending = sorted(self.live_rows(), key=oids.__getitem__)
        self.orders["_id"] = array("I", ascending)
        by_oid_desc = ascending[::-1]
        for name, key in self.keys.items():
            # Python's sort is stable with reverse=True too: equal keys keep the _id-descending order.
            self.orders[name] = array("I", sorted(by_oid_desc, key=key.__getitem__, reverse=True))
        for name, order in self.orders.items():
            rank = array("I", bytes(4 * len(self.ids)))
            for position, row in enumerate(order):
                rank[row] = position
            self.ranks[name] = rank

    # -- queries -------------------------------------------------------------------------------------------

    def sort_value(self, sort: str, row: int) -> Any:
        """The cursor value of ``row`` under ``sort`` (the ``_id`` for the default order)."""
        return self.oids[row] if sort == "_id" else self.keys[sort][row]

    def rows_for(self, query: HfQuery) -> array:
        """Rows matching ``query`` in its order (cached)."""
        with self._lock:
            hit = self._cache.get(query)
            if hit is not None:
                self._cache.move_to_end(query)
                return hit
        rows = self._compute(query)
        with self._lock:
            if query not in self._cache and rows is not self.orders[query.sort]:
                self._cache[query] = rows
                self._cache_rows += len(rows)
                while self._cache_rows > CACHE_MAX_ROWS and len(self._cache) > 1:
                    _, old = self._cache.popitem(last=False)
                    self._cache_rows -= len(old)
        return rows

    def _compute(self, query: HfQuery) -> array:
        order = self.orders[query.sort]
        indexed: list[array] = [self.tag_index.get(t, array("I")) for t in query.tags]
        if query.author is not None:
            indexed.append(self.author_index.get(query.author.lower(), array("I")))
        if query.pipeline_tag is not None:
            indexed.append(self.pipeline_index.get(query.pipeline_tag, array("I")))
        check = self._predicate(query)
        if not indexed:
            if check is None:
                return order
            return array("I", [row for row in order if check(row)])
        smallest = min(indexed, key=len)
        alive = self.alive
        rows = [row for row in smallest if alive[row] and (check is None or check(row))]
        rows.sort(key=self.ranks[query.sort].__getitem__)
        return array("I", rows)

    def _predicate(self, query: HfQuery) -> Callable[[int], bool] | None:
        """A row test for every condition of ``query`` (None when there is none)."""
        tests: list[Callable[[int], bool]] = []
        tags = self.tags
        for tag in query.tags:
            tests.append(lambda row, t=tag: t in tags[row])
        if query.author is not None:
            author = query.author.lower()
            tests.append(lambda row: self.authors[row] == author)
        if query.pipeline_tag is not None:
            tests.append(lambda row: self.pipeline[row] == query.pipeline_tag)
        if query.search:
            needle = query.search.lower()
            tests.append(lambda row: needle in self.id_lower[row])
        if query.gated is not None:
            tests.append(lambda row: self.gated[row] == query.gated)
        if query.inference is not None:
            tests.append(lambda row: self.inference[row] == query.inference)
        if query.providers:
            wanted = set(query.providers)
            if "all" in wanted:
                tests.append(lambda row: bool(self.providers[row]))
            else:
                tests.append(lambda row: not wanted.isdisjoint(self.providers[row]))
        if not tests:
            return None
        if len(tests) == 1:
            return tests[0]
        return lambda row: all(test(row) for test in tests)

    def start_after(self, rows: array, sort: str, value: Any, oid: str) -> int:
        """Index of the first row of ``rows`` (ordered by ``sort``) that comes after the cursor row."""
        lo, hi = 0, len(rows)
        oids = self.oids
        if sort == "_id":
            while lo < hi:
                mid = (lo + hi) // 2
                if oids[rows[mid]] > oid:
                    hi = mid
                else:
                    lo = mid + 1
            return lo
        key = self.keys[sort]
        target = (value, oid)
        while lo < hi:
            mid = (lo + hi) // 2
            row = rows[mid]
            if (key[row], oids[row]) < target:
                hi = mid
            else:
                lo = mid + 1
        return lo
