"""Untrusted values made storable on SQLite and PostgreSQL alike, within bounds.

Hub records and card front matter may hold what a store column cannot: NUL characters (PostgreSQL text and
JSON refuse them), lone surrogates (not UTF-8), integers beyond 64 bits, and — from YAML — binary, sets,
dates, non-string keys, NaN, shared aliases that expand without limit ("billion laughs") and cycles.
:func:`json_safe` converts what can be converted and raises :class:`UnsafeValue` for what cannot be bounded.
"""

from __future__ import annotations

import base64
import math
from datetime import date, datetime, time
from typing import Any

INT64_MAX = 2**63 - 1
INT64_MIN = -(2**63)
#: Nesting deeper than this is refused (real cards nest less than 10 levels).
MAX_DEPTH = 64


class UnsafeValue(ValueError):
    """A value that cannot be stored within its bounds; ``reason`` says why."""

    def __init__(self, reason: str):
        super().__init__(reason)
        self.reason = reason


def clean_text(text: str) -> str:
    """``text`` without NUL characters and with lone surrogates replaced (storable as UTF-8 everywhere)."""
    if "\x00" in text:
        text = text.replace("\x00", "")
    if not text.isascii():
        try:
            text.encode("utf-8")
        except UnicodeEncodeError:
            text = text.encode("utf-8", "replace").decode("utf-8")
    return text


def int64_or_none(value: Any) -> int | None:
    """An integer that fits a signed 64-bit column, else None (booleans and floats are not counts)."""
    if isinstance(value, int) and not isinstance(value, bool) and INT64_MIN <= value <= INT64_MAX:
        return value
    return None


def _key(key: Any) -> str:
    if isinstance(key, str):
        return clean_text(key)
    if isinstance(key, bool) or key is None:
        return "true" if key is True else "false" if key is False else "null"
    if isinstance(key, date | datetime | time):
        return key.isoformat()
    return clean_text(str(key))


def json_safe(value: Any, budget: int) -> Any:
    """A JSON-storable copy of ``value``; :class:`UnsafeValue` when its expanded size passes ``budget``.

    The size counts one unit per value plus the length of every string, each time it appears (an alias
    counts again wherever it is used), so shared or cyclic structures are refused instead of expanded.
    Conversions: sets → sorted lists, bytes → base64 text, dates → ISO text, other keys → text,
    integers beyond 64 bits → text, NaN/infinity → None, NULs and lone surrogates removed from text.
    """
    left = [budget]

    def spend(units: int) -> None:
        left[0] -= units
        if left[0] < 0:
            raise UnsafeValue(f"expands beyond {budget} units (aliases repeated or too large)")

    def walk(v: Any, depth: int) -> Any:
        spend(1)
        if isinstance(v, str):
            spend(len(v))
            return clean_text(v)
        if v is None or isinstance(v, bool):
            return v
        if isinstance(v, int):
            return v if INT64_MIN <= v <= INT64_MAX else str(v)
        if isinstance(v, float):
            return v if math.isfinite(v) else None
        if depth >= MAX_DEPTH:
            raise UnsafeValue(f"nested deeper than {MAX_DEPTH} levels")
        if isinstance(v, dict):
            out = {}
            for k, item in v.items():
                key = _key(k)
                spend(len(key))
                out[key] = walk(item, depth + 1)
            return out
        if isinstance(v, list | tuple):
            return [walk(item, depth + 1) for item in v]
        if isinstance(v, set | frozenset):
            return [walk(item, depth + 1) for item in sorted(v, key=repr)]
        if isinstance(v, bytes | bytearray):
            spend(len(v))
            return base64.b64encode(bytes(v)).decode("ascii")
        if isinstance(v, date | datetime | time):
            return v.isoformat()
        raise UnsafeValue(f"a {type(v).__name__} value cannot be stored")

    return walk(value, 0)
