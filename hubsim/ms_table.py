"""The ModelScope side of a world: OpenAPI records, their cards and dolphin (website search) objects."""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

#: ModelScope filters (``filter.<name>``) and the tag prefix each one matches.
FILTER_PREFIXES = {"task": "task:", "library": "library:", "model_type": "model_type:", "custom_tag": "",
                   "license": "license:", "deploy": "deploy:"}
#: Sort names (OpenAPI and dolphin ``SortBy``) → record key; all descending, ties by id ascending.
SORT_KEYS = {"default": "downloads", "downloads": "downloads", "likes": "likes", "last_modified": "last_modified",
             "created_at": "created_at"}
_CACHE_SIZE = 256


@dataclass(frozen=True, slots=True)
class MsQuery:
    """Filters and sort of one ModelScope search (its cache key)."""

    sort: str = "default"
    search: str | None = None
    owner: str | None = None
    filters: tuple[tuple[str, tuple[str, ...]], ...] = ()  # (filter, accepted values): AND of ORs


def _names(values: Any) -> set[str]:
    """Lower-cased names from a list of strings or of ``{"name"|"Name": …}`` objects."""
    out: set[str] = set()
    for value in values if isinstance(values, list) else []:
        if isinstance(value, dict):
            value = value.get("name", value.get("Name"))
        if isinstance(value, str):
            out.add(value.lower())
    return out


def _sort_value(record: dict[str, Any], key: str) -> Any:
    value = record.get(key)
    if key in ("downloads", "likes"):
        return value if isinstance(value, int | float) and not isinstance(value, bool) else 0
    return value if isinstance(value, str) else ""


class MsTable:
    """ModelScope records (without ``readme``/``dolphin``), searchable by the OpenAPI and dolphin filters."""

    def __init__(self) -> None:
        self.records: list[dict[str, Any]] = []
        self.readmes: list[str | None] = []
        self.dolphins: list[dict[str, Any] | None] = []
        self.by_id: dict[str, int] = {}
        self.duplicates = 0
        self._cache: OrderedDict[MsQuery, list[int]] = OrderedDict()
        self._lock = threading.Lock()

    def __len__(self) -> int:
        return len(self.records)

    @classmethod
    def build(cls, records: Iterable[tuple[dict[str, Any], bytes]]) -> MsTable:
        table = cls()
        for record, _line in records:
            readme = record.pop("readme", None)
            dolphin = record.pop("dolphin", None)
            row = table.by_id.get(record["id"])
            if row is not None:
                table.duplicates += 1
                table.records[row], table.readmes[row], table.dolphins[row] = record, readme, dolphin
                continue
            table.by_id[record["id"]] = len(table.records)
            table.records.append(record)
            table.readmes.append(readme if isinstance(readme, str) else None)
            table.dolphins.append(dolphin if isinstance(dolphin, dict) else None)
        return table

    def matches(self, row: int, query: MsQuery) -> bool:
        record = self.records[row]
        model_id = record["id"].lower()
        if query.owner is not None and model_id.split("/", 1)[0] != query.owner.lower():
            return False
        if query.search:
            needle = query.search.lower()
            name = record.get("display_name")
            if needle not in model_id and not (isinstance(name, str) and needle in name.lower()):
                return False
        if not query.filters:
            return True
        tags = {t.lower() for t in record.get("tags") or [] if isinstance(t, str)}
        return all(any(self._has(record, tags, name, value.lower()) for value in values)
                   for name, values in query.filters)

    @staticmethod
    def _has(record: dict[str, Any], tags: set[str], name: str, value: str) -> bool:
        """Whether ``record`` matches ``filter.<name>=<value>`` (a tag, or the field it mirrors)."""
        if FILTER_PREFIXES[name] + value in tags:
            return True
        if name == "task":
            return value in _names(record.get("tasks"))
        if name == "license":
            return str(record.get("license") or "").lower() == value
        if name == "library":
            return value in _names(record.get("libraries"))
        return False

    def rows_for(self, query: MsQuery) -> list[int]:
        """Rows matching ``query``, sorted (descending by the sort key, ties by id), cached."""
        with self._lock:
            hit = self._cache.get(query)
            if hit is not None:
                self._cache.move_to_end(query)
                return hit
        key = SORT_KEYS[query.sort]
        records = self.records
        rows = [row for row in range(len(records)) if self.matches(row, query)]
        rows.sort(key=lambda row: records[row]["id"])
        rows.sort(key=lambda row: _sort_value(records[row], key), reverse=True)
        with self._lock:
            self._cache[query] = rows
            if len(self._cache) > _CACHE_SIZE:
                self._cache.popitem(last=False)
        return rows
