"""ModelScope OpenAPI records → ``model`` rows (hub ``modelscope``), and README front matter → card fields.

A listing record carries no lineage (ModelScope has no base-model field): declared edges come from the
README front matter of the detail answer (:func:`card_fields`), with the same rules as Hugging Face cards.
Licences are normalised with the shared table (``Apache License 2.0`` → ``apache-2.0``); the spelling as
served stays in the record's ``license:`` tag.
"""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any

import orjson

from crawler.licenses import normalise_licence
from crawler.lineage import DeclaredEdge, declared_edges
from crawler.records import (
    Glance,
    Live,
    ParsedModel,
    RecordError,
    RecordReader,
    check_id,
    digest,
    storable_live,
    storable_row,
    utc_naive,
)
from crawler.safe_values import clean_text

HUB = "modelscope"
#: Keys left out of a record's hash: counters and serving state, which change while the repo does not (the set the
#: stored hashes were taken without, Hugging Face's names included), and the README, stored apart.
_UNHASHED = frozenset({"downloads", "downloadsAllTime", "likes", "trendingScore", "inference",
                       "inferenceProviderMapping", "spaces", "childrenModelCount", "Downloads", "Stars", "likes_count",
                       "readme"})


def _when(value: Any, model_id: str, key: str) -> datetime | None:
    if value is None or value == "":
        return None
    if isinstance(value, int | float) and not isinstance(value, bool):
        from datetime import UTC

        return utc_naive(datetime.fromtimestamp(value, UTC))
    if not isinstance(value, str):
        raise RecordError(f"'{key}' is a {type(value).__name__}, not a date", model_id)
    try:
        return utc_naive(datetime.fromisoformat(value.replace("Z", "+00:00")))
    except ValueError:
        raise RecordError(f"'{key}' is not an ISO-8601 date: {value[:40]!r}", model_id) from None


def licence_of(spelling: Any, license_name: Any = None, license_link: Any = None) -> str | None:
    """The canonical licence id of a ModelScope spelling (None when none is declared)."""
    value, name, link = (clean_text(v) if isinstance(v, str) else None for v in (spelling, license_name, license_link))
    canonical = normalise_licence(value, name, link)
    return None if canonical == "missing" else canonical


def architecture_of(tags: list[str]) -> str | None:
    """The architecture named by the first ``model_type:`` tag."""
    return next((t.split(":", 1)[1].lower() for t in tags if t.startswith("model_type:") and t[11:]), None)


def _names(values: Any) -> list[str]:
    out = []
    for v in values if isinstance(values, list) else []:
        if isinstance(v, dict):
            v = v.get("name", v.get("Name"))
        if isinstance(v, str) and v:
            out.append(v)
    return out


def modelscope_id(raw: Any) -> str | None:
    """A ModelScope record's ``id`` as listed, None when it has no string id."""
    model_id = raw.get("id") if isinstance(raw, dict) else None
    return model_id if isinstance(model_id, str) else None


def _count_or_absent(value: Any) -> bool:
    """Whether ``value`` is an integer count or absent (anything else: the parse refuses the record)."""
    return value is None or (isinstance(value, int) and not isinstance(value, bool))


def _record_hash(raw: dict[str, Any]) -> str:
    """A stable digest of a record without the values that change while the repo does not, nor its README."""
    stable = {key: value for key, value in raw.items() if key not in _UNHASHED}
    try:
        text = orjson.dumps(stable, option=orjson.OPT_SORT_KEYS)
    except orjson.JSONEncodeError:  # lone surrogates or integers orjson cannot write: the slower exact path
        text = json.dumps(stable, sort_keys=True, default=str).encode("ascii")
    return digest(text)


def glance_modelscope(raw: Any) -> Glance | None:
    """A ModelScope record at a glance (see :class:`crawler.records.Glance`)."""
    if not isinstance(raw, dict) or not (_count_or_absent(raw.get("downloads")) and _count_or_absent(raw.get("likes"))):
        return None  # the parse refuses it
    live = storable_live(Live(raw.get("downloads"), raw.get("downloads"), raw.get("likes"), None, []))
    return Glance(_record_hash(raw), live) if live is not None else None


def parse_modelscope(raw: Any) -> ParsedModel:
    """Parse one OpenAPI record (listing or detail) into a row; the ``readme`` is not part of the row."""
    if not isinstance(raw, dict):
        raise RecordError(f"record is a {type(raw).__name__}, not an object")
    model_id = raw.get("id")
    if not isinstance(model_id, str) or model_id.count("/") != 1 or not all(model_id.split("/")):
        raise RecordError("record has no 'owner/name' string 'id'", model_id if isinstance(model_id, str) else None)
    check_id(model_id)
    tags = raw.get("tags", [])
    if not isinstance(tags, list):
        raise RecordError("'tags' is not a list", model_id)
    tags = [t for t in tags if isinstance(t, str)]
    notes: list[str] = []
    for key in ("downloads", "likes"):
        if not _count_or_absent(raw.get(key)):
            raise RecordError(f"'{key}' is not an integer", model_id)
    tasks = _names(raw.get("tasks"))
    libraries = _names(raw.get("libraries"))
    row = {
        "hub": HUB,
        "id": model_id,
        "author": model_id.split("/", 1)[0],
        "created_at": _when(raw.get("created_at"), model_id, "created_at"),
        "last_modified": _when(raw.get("last_modified"), model_id, "last_modified"),
        "sha": None,
        "license": licence_of(raw.get("license")),
        "license_name": None,
        "license_link": None,
        "library_name": libraries[0] if libraries else None,
        "pipeline_tag": tasks[0] if tasks else None,
        "architecture": architecture_of(tags),
        "tags": tags,
        "card_data": None,
        "files": [],
        "inference": None,
        "inference_providers": [],
        "downloads": raw.get("downloads"),
        "downloads_all_time": raw.get("downloads"),  # ModelScope's count is cumulative
        "likes": raw.get("likes"),
        "record_hash": _record_hash(raw),
    }
    return ParsedModel(storable_row(row, notes), [], notes)


def card_fields(model_id: str, row: dict[str, Any], front_matter: dict[str, Any] | None) -> tuple[
        dict[str, Any], list[DeclaredEdge]]:
    """What a README's front matter adds to a stored ModelScope row: card data, licence, declared edges."""
    fm = front_matter or {}
    name = fm.get("license_name")
    link = fm.get("license_link")
    spelling = row.get("license") if row.get("license") not in (None, "other", "unknown") else fm.get("license")
    if isinstance(spelling, list):
        spelling = spelling[0] if spelling else None
    values = {"card_data": front_matter or None,
              "license_name": name if isinstance(name, str) else None,
              "license_link": link if isinstance(link, str) else None,
              "license": licence_of(spelling if isinstance(spelling, str) else row.get("license"), name, link)}
    if values["license"] is None and row.get("license"):
        values["license"] = row["license"]
    library = fm.get("library_name") if isinstance(fm.get("library_name"), str) else row.get("library_name")
    edges = declared_edges(model_id, row.get("tags") or [], fm, library, ())
    return values, edges


#: How ModelScope records are read.
MODELSCOPE_RECORDS = RecordReader(modelscope_id, glance_modelscope, parse_modelscope)
