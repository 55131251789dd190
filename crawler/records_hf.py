"""Hugging Face ``/api/models`` records → ``model`` rows, read as typed records.

A listing page is decoded by msgspec straight into :class:`HFRecord` structs: only the keys the store keeps are
built, with the shapes the parse relies on (``tags`` a list of strings, ``siblings`` a list of file names,
``cardData`` an object) checked by the decoder, not by Python. A page the typed decoder refuses (a record with a
value of another shape, a lone surrogate escape, ``NaN``) is read as JSON and each record made an :class:`HFRecord`
by :func:`hf_record`, which drops the values of the wrong type as the parse always did, or refuses the record with
the reason (:class:`crawler.records.RecordError`). Either way one parse reads the record, with the semantics of
``huggingface_hub.ModelInfo`` (the test suite holds the two to agree on the real records).

A record's hash is taken over the values the store keeps from it (:func:`hf_record_hash`), not over the record as
served: a key the store ignores cannot make a record look changed.
"""

from __future__ import annotations

import functools
import json
from collections.abc import Sequence
from typing import Any

import msgspec

from crawler.families import builtin_architectures
from crawler.lineage import declared_edges
from crawler.records import (
    Glance,
    Live,
    ParsedModel,
    RecordError,
    RecordPage,
    RecordReader,
    bounded_card,
    check_id,
    digest,
    parse_datetime,
    read_json,
    storable_live,
    storable_row,
)

MAX_FILES = 2_000
_KNOWN_ARCH_TAGS = builtin_architectures() | {
    "llama", "mistral", "mixtral", "gemma", "gemma2", "gemma3", "phi", "phi3", "deepseek_v2", "deepseek_v3",
    "falcon", "gpt2", "gpt_neox", "bert", "t5", "internlm2", "chatglm", "baichuan", "yi", "olmo", "starcoder2"}
_UNSET = msgspec.UNSET


class HFSibling(msgspec.Struct, gc=False):
    """A file of the repo as listed (``siblings``): its name only."""

    rfilename: str


class HFRecord(msgspec.Struct, gc=False):
    """The keys of a Hugging Face record the store keeps, as the hub names them. The containers have the types the
    parse relies on; the scalars are checked by the parse (a value of another type is refused or dropped there)."""

    id: Any = _UNSET
    modelId: Any = None  # noqa: N815 - the hub's keys, here and below
    author: Any = None
    sha: Any = None
    createdAt: Any = _UNSET  # noqa: N815
    created_at: Any = None
    lastModified: Any = _UNSET  # noqa: N815
    last_modified: Any = None
    pipeline_tag: Any = None
    library_name: Any = None
    tags: list[str] | None = None
    cardData: dict[str, Any] | None = None  # noqa: N815
    config: dict[str, Any] | None = None
    safetensors: dict[str, Any] | None = None
    gguf: dict[str, Any] | None = None
    siblings: list[HFSibling] | None = None
    inference: Any = None
    inferenceProviderMapping: Any = None  # noqa: N815 - a list on listings, an object on the detail endpoint
    downloads: Any = None
    downloadsAllTime: Any = None  # noqa: N815
    likes: Any = None


_PAGE = msgspec.json.Decoder(list[HFRecord])
#: The keys of HFRecord that take any value (the parse checks them).
_SCALARS = frozenset(field.name for field in msgspec.structs.fields(HFRecord) if field.type is Any)
_ENCODER = msgspec.json.Encoder()


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


def read_hf_page(page: bytes | bytearray | Sequence[Any]) -> RecordPage:
    """A page of Hugging Face records, given as the hub's JSON text or as JSON values, read as :class:`HFRecord`s (a
    record that cannot be one is left as it is, for the parse to refuse with its reason); ``ValueError`` when the
    text is not JSON. Its records as served are read again from the text only if asked for (a quarantine)."""
    if isinstance(page, bytes | bytearray):
        text = bytes(page)
        try:
            records = _PAGE.decode(text)
            text.decode()  # the text of the keys msgspec skips is not checked as UTF-8
            return RecordPage(records, functools.cache(functools.partial(_json_values, text)))
        except (msgspec.DecodeError, UnicodeDecodeError):
            page = _json_values(text)
        if not isinstance(page, list):
            raise ValueError(f"the page is a JSON {type(page).__name__}, not a list of records")
    values = page
    return RecordPage([_record_or_value(v) for v in values], lambda: values)


def _json_values(text: bytes) -> Any:
    """A page's JSON values, integers beyond 64 bits kept exact (orjson reads them as floats); ``ValueError`` when
    it is not JSON."""
    try:
        return msgspec.json.decode(text)  # every string decoded, so checked as UTF-8
    except msgspec.DecodeError:
        return read_json(text)  # lone surrogate escapes, NaN, a byte order mark: as the crawl reads them


def _record_or_value(value: Any) -> Any:
    try:
        return hf_record(value)
    except RecordError:
        return value


def hf_record(raw: Any) -> HFRecord:
    """A record given as a JSON value, as :class:`HFRecord`: the values of the wrong type dropped (a non-string tag or
    file name, a ``config`` that is not an object…) as the parse always did; :class:`RecordError` when the record is
    not an object, has no string id, or its ``tags`` or ``cardData`` have another shape."""
    if isinstance(raw, HFRecord):
        return raw
    if not isinstance(raw, dict):
        raise RecordError(f"record is a {type(raw).__name__}, not an object")
    try:
        return msgspec.convert(raw, HFRecord)
    except msgspec.ValidationError:
        pass
    model_id = _string_id(raw)
    tags, card, siblings = raw.get("tags"), raw.get("cardData"), raw.get("siblings")
    if tags is not None and not isinstance(tags, list):
        raise RecordError("'tags' is not a list", model_id)
    if card is not None and not isinstance(card, dict):
        raise RecordError("'cardData' is not an object", model_id)
    record = msgspec.convert({k: v for k, v in raw.items() if k in _SCALARS}, HFRecord)
    record.tags = [tag for tag in tags if isinstance(tag, str)] if tags is not None else None
    record.cardData = card
    record.siblings = ([HFSibling(name) for s in siblings if isinstance(s, dict)
                        and isinstance(name := s.get("rfilename"), str)] if isinstance(siblings, list) else None)
    for key in ("config", "safetensors", "gguf"):
        setattr(record, key, value if isinstance(value := raw.get(key), dict) else None)
    return record


def hf_id(raw: Any) -> str | None:
    """A Hugging Face record's id as listed (``id``, else ``modelId``), None when it has no string id."""
    if isinstance(raw, HFRecord):
        model_id = raw.id if raw.id is not _UNSET else raw.modelId
    else:
        model_id = raw.get("id", raw.get("modelId")) if isinstance(raw, dict) else None
    return model_id if isinstance(model_id, str) else None


def _string_id(raw: Any) -> str:
    """:func:`hf_id`, or :class:`RecordError` when the record has none (or a blank one)."""
    model_id = hf_id(raw)
    if model_id is None or not model_id.strip():
        raise RecordError("record has no string 'id'")
    return model_id


def _created(record: HFRecord) -> Any:
    return record.createdAt if record.createdAt is not _UNSET else record.created_at


def _modified(record: HFRecord) -> Any:
    return record.lastModified if record.lastModified is not _UNSET else record.last_modified


def hf_record_hash(record: HFRecord) -> str:
    """A digest of the values the store keeps from ``record``, its volatile counters left out (they change without
    the repo changing)."""
    stable = (hf_id(record), record.author, record.sha, _created(record), _modified(record), record.pipeline_tag,
              record.library_name, record.tags, record.cardData, record.config, record.safetensors, record.gguf,
              record.siblings)
    try:
        text = _ENCODER.encode(stable)
    except (msgspec.EncodeError, UnicodeEncodeError):  # lone surrogates: Python's json escapes them
        text = json.dumps(msgspec.to_builtins(stable), default=str).encode("ascii")
    return digest(text)


def architecture_of(tags: list[str], config: dict[str, Any] | None, gguf: dict[str, Any] | None) -> str | None:
    """The model architecture: ``config.model_type``, else ``gguf.architecture``, else a known architecture tag."""
    for value in (config and config.get("model_type"), gguf and gguf.get("architecture")):
        if isinstance(value, str) and value:
            return value.lower()
    if _KNOWN_ARCH_TAGS.isdisjoint(tags):
        return None
    for tag in tags:
        if tag in _KNOWN_ARCH_TAGS:
            return tag
    return None


def params_of(safetensors: dict[str, Any] | None, gguf: dict[str, Any] | None) -> int | float | None:
    """The exact parameter count as listed: ``safetensors.total``, else ``gguf.total`` (checked by storable_row)."""
    for source in (safetensors, gguf):
        value = _int_or_none(source.get("total")) if source else None
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


def parse_hf(raw: Any) -> ParsedModel:
    """Parse one Hugging Face ``/api/models`` item (listing or detail; an :class:`HFRecord` or a JSON value) into a
    row and declared edges; :class:`RecordError` when it cannot be stored."""
    record = hf_record(raw)
    model_id = _string_id(record)
    check_id(model_id)
    notes: list[str] = []
    try:
        created_at = parse_datetime(_created(record))
        last_modified = parse_datetime(_modified(record))
    except RecordError as exc:
        raise RecordError(exc.reason, model_id) from exc
    tags = record.tags or []
    card = bounded_card(record.cardData, notes)
    files = [s.rfilename for s in record.siblings[:MAX_FILES]] if record.siblings else []
    gguf = record.gguf
    license_tag = _license_tag(tags)
    card_license = card.get("license") if card else None
    license_value = license_tag or (card_license if isinstance(card_license, str) else None)
    author = _str_or_none(record.author) or (model_id.split("/", 1)[0] if "/" in model_id else None)
    library_name = _str_or_none(record.library_name)
    downloads, downloads_all_time, likes = _hf_counters(record)
    row = {
        "hub": "hf",
        "id": model_id,
        "author": author,
        "created_at": created_at,
        "last_modified": last_modified,
        "sha": _str_or_none(record.sha),
        "license": license_value,
        "license_name": _str_or_none(card.get("license_name")) if card else None,
        "license_link": _str_or_none(card.get("license_link")) if card else None,
        "library_name": library_name,
        "pipeline_tag": _str_or_none(record.pipeline_tag),
        "architecture": architecture_of(tags, record.config, gguf),
        "params": params_of(record.safetensors, gguf),
        "context_length": _int_or_none(gguf.get("context_length")) if gguf else None,
        "tags": tags,
        "card_data": card,
        "files": files,
        "inference": _inference(record),
        "inference_providers": _providers(record.inferenceProviderMapping),
        "deploy_flags": None,
        "downloads": downloads,
        "downloads_all_time": downloads_all_time,
        "likes": likes,
        "record_hash": hf_record_hash(record),
    }
    storable_row(row, notes)
    edges = declared_edges(model_id, row["tags"], card, row["library_name"], row["files"])
    return ParsedModel(row, edges, notes)


def _license_tag(tags: list[str]) -> str | None:
    """The licence a ``license:`` tag names (the first), or None."""
    for tag in tags:  # a loop, not next() on a generator: one left unfinished costs as much again to close
        if tag.startswith("license:"):
            return tag[len("license:") :]
    return None


def _hf_counters(record: HFRecord) -> tuple[Any, Any, Any]:
    return _int_or_none(record.downloads), _int_or_none(record.downloadsAllTime), _int_or_none(record.likes)


def _inference(record: HFRecord) -> str | None:
    return record.inference if isinstance(record.inference, str) else None


def glance_hf(raw: Any) -> Glance | None:
    """A Hugging Face record at a glance (see :class:`crawler.records.Glance`)."""
    try:
        record = hf_record(raw)
    except RecordError:
        return None
    live = storable_live(Live(*_hf_counters(record), _inference(record),
                              _providers(record.inferenceProviderMapping)))
    return Glance(hf_record_hash(record), live) if live is not None else None


def _str_or_none(value: Any) -> str | None:
    if isinstance(value, list):  # some cards give a one-element list
        value = value[0] if value else None
    return value if isinstance(value, str) else None


def _int_or_none(value: Any) -> int | float | None:
    """A count as served (an integer, or a float when the JSON number was too large); checked by storable_row."""
    return value if isinstance(value, int | float) and not isinstance(value, bool) else None


#: How Hugging Face records are read.
HF_RECORDS = RecordReader(hf_id, glance_hf, parse_hf, read_hf_page)
