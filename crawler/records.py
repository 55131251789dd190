"""Raw hub JSON → store rows, once, at the edge.

Hugging Face records are read with the semantics of ``huggingface_hub.ModelInfo`` (camelCase keys, ISO dates,
card data, siblings); the test suite holds our parser to ModelInfo on the real records. A record that cannot be
read raises :class:`RecordError` with a reason; the pipeline quarantines it and the crawl goes on.
"""

from __future__ import annotations

import hashlib
import json
import operator
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any, NamedTuple

import msgspec
import orjson

from crawler.cards import MAX_FRONT_MATTER_BYTES, MAX_FRONT_MATTER_UNITS
from crawler.families import builtin_architectures
from crawler.lineage import DeclaredEdge, declared_edges
from crawler.safe_values import UnsafeValue, clean_text, int64_or_none, json_safe

#: Keys whose values change without the repo changing; left out of the record hash.
VOLATILE_KEYS = frozenset({"downloads", "downloadsAllTime", "likes", "trendingScore", "inference",
                           "inferenceProviderMapping", "spaces", "childrenModelCount", "Downloads", "Stars",
                           "likes_count"})
MAX_FILES = 2_000
#: A date later than now plus this is a hub's error (year 9999): stored as NULL with a note, never a watermark.
FUTURE_TOLERANCE = timedelta(days=1)
_TEXT_COLUMNS = ("author", "sha", "license", "license_name", "license_link", "library_name", "pipeline_tag",
                 "architecture", "inference")
_LIST_COLUMNS = ("tags", "files", "inference_providers")
_COUNTERS = ("downloads", "downloads_all_time", "likes", "params", "context_length")  # 64-bit integer columns
_KNOWN_ARCH_TAGS = builtin_architectures() | {
    "llama", "mistral", "mixtral", "gemma", "gemma2", "gemma3", "phi", "phi3", "deepseek_v2", "deepseek_v3",
    "falcon", "gpt2", "gpt_neox", "bert", "t5", "internlm2", "chatglm", "baichuan", "yi", "olmo", "starcoder2"}


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


@dataclass(frozen=True, slots=True)
class RecordReader:
    """How one hub's records are read: ``id_of`` (a record's id, or None), ``glance`` (its :class:`Glance`, or None
    when only :attr:`parse` can say what to store: a value to repair) and ``parse`` (in full, or
    :class:`RecordError`)."""

    id_of: Callable[[Any], str | None]
    glance: Callable[[Any], Glance | None]
    parse: Callable[[Any], ParsedModel]


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


class ListedRecord(msgspec.Struct):
    """A listed Hugging Face record as the crawl reads it before the page writer parses it: its id (the pagination
    guard) and its dates (the watermarks)."""

    id: Any = None
    createdAt: Any = None  # noqa: N815 - the hub's key
    lastModified: Any = None  # noqa: N815 - the hub's key


#: A listing answer: its objects read as ListedRecord (their other keys checked as JSON, not built), other values as is.
_LISTING = msgspec.json.Decoder(list[ListedRecord | str | int | float | bool | None | list[Any]])


def read_listing(body: bytes) -> Any:
    """A Hugging Face listing answer as the crawl reads it: a list with each object as a :class:`ListedRecord`, at
    a tenth of the cost of reading the whole records (the page writer reads them); ``ValueError`` when it is not
    JSON. An answer :func:`read_json` reads differently is read by it (lone surrogate escapes, ``NaN``, a byte order
    mark, an answer that is not a list), then made the same."""
    try:
        rows = _LISTING.decode(body)
        body.decode()  # the text msgspec skips is not checked as UTF-8
        return rows
    except (msgspec.DecodeError, UnicodeDecodeError):
        data = read_json(body)
    if not isinstance(data, list):
        return data
    return [ListedRecord(r.get("id"), r.get("createdAt"), r.get("lastModified")) if isinstance(r, dict) else r
            for r in data]


def utc_naive(value: datetime | None) -> datetime | None:
    """Datetimes are stored as naive UTC (the same on SQLite and PostgreSQL)."""
    if value is None:
        return None
    if value.tzinfo is not None:
        value = value.astimezone(UTC).replace(tzinfo=None)
    return value


def record_hash(raw: dict[str, Any]) -> str:
    """A stable digest of a record without its volatile counters."""
    stable = raw.copy()
    for key in VOLATILE_KEYS.intersection(raw):
        del stable[key]
    try:
        text = orjson.dumps(stable, option=orjson.OPT_SORT_KEYS)
    except orjson.JSONEncodeError:  # lone surrogates or integers orjson cannot write: the slower exact path
        text = json.dumps(stable, sort_keys=True, default=str).encode("ascii")
    return hashlib.blake2b(text, digest_size=12).hexdigest()


def architecture_of(tags: list[str], config: dict[str, Any] | None, gguf: dict[str, Any] | None) -> str | None:
    """The model architecture: ``config.model_type``, else ``gguf.architecture``, else a known architecture tag."""
    for source in (config, gguf):
        if isinstance(source, dict):
            value = source.get("model_type") if source is config else source.get("architecture")
            if isinstance(value, str) and value:
                return value.lower()
    for tag in tags:
        if tag in _KNOWN_ARCH_TAGS:
            return tag
    return None


def params_of(safetensors: Any, gguf: dict[str, Any] | None) -> int | float | None:
    """The exact parameter count as listed: ``safetensors.total``, else ``gguf.total`` (checked by storable_row)."""
    for source in (safetensors, gguf):
        value = _int_or_none(source.get("total")) if isinstance(source, dict) else None
        if value is not None:
            return value
    return None


def _providers(mapping: Any) -> list[str]:
    """Provider names from ``inferenceProviderMapping`` (a list on listings, a dict on the detail endpoint)."""
    if isinstance(mapping, dict):
        return sorted(str(k) for k in mapping)
    if isinstance(mapping, list):
        return sorted({str(m.get("provider")) for m in mapping if isinstance(m, dict) and m.get("provider")})
    return []


def hf_id(raw: Any) -> str | None:
    """A Hugging Face record's id as listed (``id``, else ``modelId``), None when it has no string id."""
    model_id = raw.get("id", raw.get("modelId")) if isinstance(raw, dict) else None
    return model_id if isinstance(model_id, str) else None


def _check_shape(raw: Any) -> str:
    if not isinstance(raw, dict):
        raise RecordError(f"record is a {type(raw).__name__}, not an object")
    model_id = hf_id(raw)
    if model_id is None or not model_id.strip():
        raise RecordError("record has no string 'id'")
    check_id(model_id)
    if "tags" in raw and not isinstance(raw["tags"], list):
        raise RecordError("'tags' is not a list", model_id)
    card = raw.get("cardData")
    if card is not None and not isinstance(card, dict):
        raise RecordError("'cardData' is not an object", model_id)
    return model_id


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


def parse_hf(raw: Any) -> ParsedModel:
    """Parse one Hugging Face ``/api/models`` item (listing or detail) into a row and declared edges.

    Field semantics follow ``huggingface_hub.ModelInfo`` (the test suite checks the two agree on real records);
    the raw dict is read directly because this is the crawl's hot path.
    """
    model_id = _check_shape(raw)
    notes: list[str] = []
    try:
        tags = _strings(raw.get("tags") or [])
        card = bounded_card(raw.get("cardData") if isinstance(raw.get("cardData"), dict) else None, notes)
        siblings = raw.get("siblings") if isinstance(raw.get("siblings"), list) else ()
        files = _file_names(siblings[:MAX_FILES])
        gguf = raw.get("gguf") if isinstance(raw.get("gguf"), dict) else None
        config = raw.get("config") if isinstance(raw.get("config"), dict) else None
        created_at = parse_datetime(raw.get("createdAt", raw.get("created_at")))
        last_modified = parse_datetime(raw.get("lastModified", raw.get("last_modified")))
    except RecordError as exc:
        raise RecordError(exc.reason, model_id) from exc
    license_tag = _license_tag(tags)
    card_license = card.get("license") if card else None
    license_value = license_tag or (card_license if isinstance(card_license, str) else None)
    author = _str_or_none(raw.get("author")) or (model_id.split("/", 1)[0] if "/" in model_id else None)
    library_name = _str_or_none(raw.get("library_name"))
    downloads, downloads_all_time, likes = _hf_counters(raw)
    row = {
        "hub": "hf",
        "id": model_id,
        "author": author,
        "created_at": created_at,
        "last_modified": last_modified,
        "sha": _str_or_none(raw.get("sha")),
        "license": license_value,
        "license_name": _str_or_none(card.get("license_name")) if card else None,
        "license_link": _str_or_none(card.get("license_link")) if card else None,
        "library_name": library_name,
        "pipeline_tag": _str_or_none(raw.get("pipeline_tag")),
        "architecture": architecture_of(tags, config, gguf),
        "params": params_of(raw.get("safetensors"), gguf),
        "context_length": _int_or_none(gguf.get("context_length")) if gguf else None,
        "tags": tags,
        "card_data": card,
        "files": files,
        "inference": _inference(raw),
        "inference_providers": _providers(raw.get("inferenceProviderMapping")),
        "deploy_flags": None,
        "downloads": downloads,
        "downloads_all_time": downloads_all_time,
        "likes": likes,
        "record_hash": record_hash(raw),
    }
    storable_row(row, notes)
    edges = declared_edges(model_id, row["tags"], card, row["library_name"], row["files"])
    return ParsedModel(row, edges, notes)


def _strings(values: list[Any]) -> list[str]:
    """The strings of ``values``, in order: a copy of the list when it holds nothing else (the common case, tested at
    once by joining them)."""
    try:
        "".join(values)
    except TypeError:
        return [value for value in values if isinstance(value, str)]
    return list(values)


def _file_names(siblings: list[Any]) -> list[str]:
    """The ``rfilename`` of each of ``siblings`` that is an object with a string one, in order (read at once when
    every sibling has one)."""
    try:
        names = [sibling["rfilename"] for sibling in siblings]
        "".join(names)
    except (TypeError, KeyError):
        return [name for s in siblings if isinstance(s, dict) and isinstance(name := s.get("rfilename"), str)]
    return names


def _license_tag(tags: list[str]) -> str | None:
    """The licence a ``license:`` tag names (the first), or None."""
    for tag in tags:  # a loop, not next() on a generator: one left unfinished costs as much again to close
        if tag.startswith("license:"):
            return tag[len("license:") :]
    return None


def _hf_counters(raw: dict[str, Any]) -> tuple[Any, Any, Any]:
    return _int_or_none(raw.get("downloads")), _int_or_none(raw.get("downloadsAllTime")), _int_or_none(raw.get("likes"))


def _inference(raw: dict[str, Any]) -> str | None:
    return raw.get("inference") if isinstance(raw.get("inference"), str) else None


def glance_hf(raw: Any) -> Glance | None:
    """A Hugging Face record at a glance (see :class:`Glance`)."""
    if not isinstance(raw, dict):
        return None
    live = storable_live(Live(*_hf_counters(raw), _inference(raw), _providers(raw.get("inferenceProviderMapping"))))
    return Glance(record_hash(raw), live) if live is not None else None


def _str_or_none(value: Any) -> str | None:
    if isinstance(value, list):  # some cards give a one-element list
        value = value[0] if value else None
    return value if isinstance(value, str) else None


def _int_or_none(value: Any) -> int | float | None:
    """A count as served (an integer, or a float when the JSON number was too large); checked by storable_row."""
    return value if isinstance(value, int | float) and not isinstance(value, bool) else None


#: How Hugging Face records are read.
HF_RECORDS = RecordReader(hf_id, glance_hf, parse_hf)
