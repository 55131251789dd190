"""Raw hub JSON → store rows, once, at the edge: what every hub's reader shares.

Each hub has its reader (:class:`RecordReader`: :mod:`crawler.records_hf`, :mod:`crawler.records_modelscope`). A
record that cannot be read raises :class:`RecordError` with a reason; the pipeline quarantines it and the crawl goes
on. Values a store cannot hold are repaired here (:func:`storable_row`), each repair noted.
"""

from __future__ import annotations

import hashlib
import json
import operator
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any, NamedTuple

import orjson

from crawler.cards import MAX_FRONT_MATTER_BYTES, MAX_FRONT_MATTER_UNITS
from crawler.lineage import DeclaredEdge
from crawler.safe_values import UnsafeValue, clean_text, int64_or_none, json_safe

#: A date later than now plus this is a hub's error (year 9999): stored as NULL with a note, never a watermark.
FUTURE_TOLERANCE = timedelta(days=1)
_TEXT_COLUMNS = ("author", "sha", "license", "license_name", "license_link", "library_name", "pipeline_tag",
                 "architecture", "inference")
_LIST_COLUMNS = ("tags", "files", "inference_providers")
_COUNTERS = ("downloads", "downloads_all_time", "likes", "params", "context_length")  # 64-bit integer columns


class RecordError(ValueError):
    """A raw record that cannot be turned into a model row; ``reason`` says why."""

    def __init__(self, reason: str, model_id: str | None = None):
        super().__init__(reason)
        self.reason = reason
        self.model_id = model_id


class Live(NamedTuple):
    """A listed model's values that change without its repo changing (left out of its record hash): stored again
    whenever they differ from the stored ones, changed record or not."""

    downloads: int | None  # the last 30 days
    downloads_all_time: int | None
    likes: int | None
    inference: str | None  # the Hub's inference status (``warm``…)
    inference_providers: list[str]

    @property
    def counters(self) -> tuple[int | None, int | None, int | None]:
        """The values the metric history keeps."""
        return self.downloads, self.downloads_all_time, self.likes


_LIVE_VALUES = operator.itemgetter(*Live._fields)  # a model row's live values, in Live's order


@dataclass(slots=True)
class ParsedModel:
    """One parsed record: the ``model`` row, its declared edges, and notes on values repaired to store it."""

    row: dict[str, Any]
    edges: list[DeclaredEdge] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    id: str = field(init=False)  # the row's, kept at hand: the page's steps read it often

    def __post_init__(self) -> None:
        self.id = self.row["id"]

    @property
    def live(self) -> Live:
        return Live._make(_LIVE_VALUES(self.row))


class Glance(NamedTuple):
    """What a sweep reads of a record whose stored row may be current: its digest and live values (parsing it in
    full costs five times as much, and most records of a sweep are unchanged since the last)."""

    record_hash: str
    live: Live


class RecordPage(NamedTuple):
    """A page's records as its hub's reader reads them, and the page as the hub sent it (its JSON values, read only
    when asked for: a record quarantined keeps what was served)."""

    records: Sequence[Any]
    served: Callable[[], Sequence[Any]]


def read_values(page: bytes | bytearray | Sequence[Any]) -> RecordPage:
    """A page whose records are read as JSON values (:func:`read_json`), or given as such."""
    values = read_json(page) if isinstance(page, bytes | bytearray) else page
    return RecordPage(values, lambda: values)


@dataclass(frozen=True, slots=True)
class RecordReader:
    """How one hub's records are read: ``id_of`` (a record's id, or None), ``glance`` (its :class:`Glance`, or None
    when only :attr:`parse` can say what to store: a value to repair), ``parse`` (in full, or :class:`RecordError`),
    and ``read``: a page, given as the hub's JSON text or as JSON values, as the records the others read."""

    id_of: Callable[[Any], str | None]
    glance: Callable[[Any], Glance | None]
    parse: Callable[[Any], ParsedModel]
    read: Callable[[bytes | bytearray | Sequence[Any]], RecordPage] = read_values


def storable_live(live: Live) -> Live | None:
    """``live`` when it is stored as it is (counters absent or 64-bit integers, text ASCII without NULs), else None:
    the parse repairs it."""
    plain = _plain_text("".join([live.inference or "", *live.inference_providers]))
    return live if plain and all(_storable_count(value) for value in live.counters) else None


def _plain_text(text: str) -> bool:
    """Whether ``text`` is stored as it is: ASCII without NULs (the common case, one test for many values)."""
    return text.isascii() and "\x00" not in text


def _storable_count(value: Any) -> bool:
    """Whether a counter is stored as it is: absent, or a 64-bit integer."""
    return value is None or int64_or_none(value) is not None


def read_json(text: bytes) -> Any:
    """A hub's JSON answer read: by orjson, else by Python's json, which reads the lone surrogate escapes orjson
    refuses (their text is cleaned when stored); ``ValueError`` when neither can."""
    try:
        return orjson.loads(text)
    except orjson.JSONDecodeError as exc:
        try:
            return json.loads(text)
        except ValueError:
            raise exc from None


def utc_naive(value: datetime | None) -> datetime | None:
    """Datetimes are stored as naive UTC (the same on SQLite and PostgreSQL)."""
    if value is None:
        return None
    if value.tzinfo is not None:
        value = value.astimezone(UTC).replace(tzinfo=None)
    return value


def digest(text: bytes) -> str:
    """The stored hash of a record's stable values, encoded as ``text``."""
    return hashlib.blake2b(text, digest_size=12).hexdigest()


def check_id(model_id: str) -> None:
    """An id must be storable as it is (a key cannot be repaired): :class:`RecordError` otherwise."""
    if clean_text(model_id) != model_id:
        raise RecordError("'id' holds a NUL character or invalid UTF-8", clean_text(model_id))


def bounded_card(card: dict[str, Any] | None, notes: list[str]) -> dict[str, Any] | None:
    """``cardData`` (or front matter) storable and within the front-matter bounds; None with a note otherwise."""
    if card is None:
        return None
    try:
        dumped = orjson.dumps(card)
        if len(dumped) <= MAX_FRONT_MATTER_BYTES and dumped.find(b"\\u0000") < 0:  # `in` costs a TypeError first
            return card
    except orjson.JSONEncodeError:
        pass
    try:
        safe = json_safe(card, MAX_FRONT_MATTER_UNITS)
    except UnsafeValue as exc:
        notes.append(f"cardData not kept: {exc.reason}")
        return None
    if len(orjson.dumps(safe)) > MAX_FRONT_MATTER_BYTES:
        notes.append(f"cardData not kept: larger than {MAX_FRONT_MATTER_BYTES} bytes")
        return None
    if safe != card:
        notes.append("cardData: NULs or invalid text removed")
    return safe


def storable_row(row: dict[str, Any], notes: list[str]) -> dict[str, Any]:
    """``row`` with every value storable on SQLite and PostgreSQL; each repair is described in ``notes``.

    Text loses NULs and invalid UTF-8; counters beyond 64 bits become NULL; dates more than a day in the
    future (a hub's error) become NULL, so they never move a crawl's watermark.
    """
    texts = [value for col in _TEXT_COLUMNS if isinstance(value := row.get(col), str)]
    for col in _LIST_COLUMNS:
        texts.extend(row.get(col) or ())
    if not _plain_text("".join(texts)):  # one test for every text of the common record
        _clean_texts(row, notes)
    for col in _COUNTERS:
        value = row.get(col)
        if not _storable_count(value):
            row[col] = None
            notes.append(f"{col} {str(value)[:40]} is not a 64-bit integer: stored as NULL")
    for col in ("created_at", "last_modified"):
        value = row.get(col)
        if value is not None and value > _STARTED and value > now_utc() + FUTURE_TOLERANCE:
            row[col] = None
            notes.append(f"{col} {value.isoformat()} is in the future: stored as NULL")
    return row


def _clean_texts(row: dict[str, Any], notes: list[str]) -> None:
    """The text and list columns of ``row`` without NULs and invalid UTF-8, each repair noted."""
    for col in _TEXT_COLUMNS:
        if isinstance(value := row.get(col), str) and clean_text(value) != value:
            row[col] = clean_text(value)
            notes.append(f"{col}: NULs or invalid text removed")
    for col in _LIST_COLUMNS:
        values = row.get(col) or []
        cleaned = [clean_text(v) for v in values]
        if cleaned != values:
            row[col] = cleaned
            notes.append(f"{col}: NULs or invalid text removed")


def now_utc() -> datetime:
    """The current time as naive UTC (the store's convention)."""
    return datetime.now(UTC).replace(tzinfo=None)


#: When this module was imported: no date before it is in the future (the common case, tested without the clock).
_STARTED = now_utc()


def parse_datetime(value: Any) -> datetime | None:
    """An ISO-8601 timestamp of the Hub (``2024-04-15T08:52:21.000Z``) as naive UTC; None when absent."""
    if not isinstance(value, str) or not value:
        return None
    try:
        if value[-1] == "Z" and (naive := datetime.fromisoformat(value[:-1])).tzinfo is None:
            return naive  # the Hub's form: UTC already
        return utc_naive(datetime.fromisoformat(value))
    except ValueError as exc:
        raise RecordError(f"unreadable timestamp {value[:40]!r}") from exc
