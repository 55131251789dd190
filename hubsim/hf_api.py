"""Hugging Face endpoints: ``/api/models`` (listing), ``/api/models/{id}`` (detail) and the README resolver.

Shapes follow the Hub (see ``docs/hub-apis.md`` §1): default listing keys, ``expand``/``expand[]`` projections,
keyset cursors in the ``Link`` header, 400 for detail-only properties on the listing, 401 for unknown repos.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
from typing import Any
from urllib.parse import quote, urlencode

import orjson

from hubsim.hf_table import NUMERIC_SORTS, SORTS, HfQuery, HfTable, hub_relation, parent_tags
from hubsim.reply import Reply, json_reply, text_reply

DEFAULT_KEYS = ("_id", "id", "modelId", "likes", "trendingScore", "private", "downloads", "tags", "pipeline_tag",
                "library_name", "createdAt")
FULL_KEYS = ("author", "sha", "lastModified", "gated", "disabled", "siblings")
EXPAND_PROPERTIES = (
    "author", "baseModels", "cardData", "childrenModelCount", "config", "createdAt", "disabled", "downloads",
    "downloadsAllTime", "evalResults", "gated", "gguf", "inference", "inferenceProviderMapping", "lastModified",
    "library_name", "likes", "mask_token", "model-index", "pipeline_tag", "private", "resourceGroup",
    "safetensors", "sha", "siblings", "spaces", "tags", "transformersInfo", "trendingScore", "usedStorage",
    "widgetData")
DETAIL_ONLY = frozenset({"baseModels", "childrenModelCount", "usedStorage"})
_LISTING_EXPAND = tuple(p for p in EXPAND_PROPERTIES if p not in DETAIL_ONLY)
#: Keys of a stored record that are never served as properties.
HIDDEN_KEYS = frozenset({"readme", "baseModels", "childrenModelCount"})
_TRUE = frozenset({"1", "true", "True", "yes"})


class BadRequest(Exception):
    """A query the Hub would refuse with 400."""


def hub_error(status: int, message: str, code: str | None = None) -> Reply:
    """A Hub-style error: ``{"error": …}`` plus the ``X-Error-*`` headers ``huggingface_hub`` reads."""
    headers = {"X-Error-Message": message}
    if code:
        headers["X-Error-Code"] = code
    return json_reply(status, {"error": message}, headers)


def repo_not_found() -> Reply:
    return hub_error(401, "Repository not found", "RepoNotFound")


def _values(params: list[tuple[str, str]], *names: str) -> list[str]:
    return [v for k, v in params if k in names]


def _one(params: list[tuple[str, str]], name: str) -> str | None:
    found = _values(params, name)
    return found[-1] if found else None


def expand_list(params: list[tuple[str, str]], allowed: tuple[str, ...]) -> list[str]:
    """The ``expand``/``expand[]`` values in order, each checked against ``allowed``."""
    out: list[str] = []
    for position, value in enumerate(_values(params, "expand", "expand[]")):
        if value not in allowed:
            raise BadRequest(f'"expand[{position}]" must be one of [{", ".join(allowed)}]')
        if value not in out:
            out.append(value)
    return out


def encode_cursor(sort: str, value: Any, oid: str) -> str:
    return base64.urlsafe_b64encode(orjson.dumps([sort, value, oid])).decode("ascii").rstrip("=")


def decode_cursor(cursor: str, sort: str) -> tuple[Any, str]:
    try:
        decoded = orjson.loads(base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)))
    except (binascii.Error, ValueError, orjson.JSONDecodeError):
        raise BadRequest("Invalid cursor") from None
    numeric = sort in NUMERIC_SORTS
    if (not isinstance(decoded, list) or len(decoded) != 3 or decoded[0] != sort
            or not isinstance(decoded[2], str)
            or (numeric and not isinstance(decoded[1], int | float))
            or (not numeric and not isinstance(decoded[1], str))):
        raise BadRequest("Invalid cursor")
    return decoded[1], decoded[2]


def provider_list(mapping: Any) -> Any:
    """``inferenceProviderMapping`` in the listing shape (a list of ``{provider, …}``)."""
    if isinstance(mapping, dict):
        return [{"provider": name, **(value if isinstance(value, dict) else {})} for name, value in mapping.items()]
    return mapping


def provider_dict(mapping: Any) -> Any:
    """``inferenceProviderMapping`` in the detail shape (a dict keyed by provider)."""
    if isinstance(mapping, list):
        return {m["provider"]: {k: v for k, v in m.items() if k != "provider"}
                for m in mapping if isinstance(m, dict) and m.get("provider")}
    return mapping


def base_models(record: dict[str, Any], tags: tuple[str, ...]) -> dict[str, Any] | None:
    """The ``baseModels`` property: typed tags first, then the card, with the Hub's default relation rules."""
    if isinstance(record.get("baseModels"), dict):
        return record["baseModels"]
    parents = parent_tags(tags)
    if not parents:
        card = record.get("cardData") if isinstance(record.get("cardData"), dict) else {}
        declared = card.get("base_model")
        for base in [declared] if isinstance(declared, str) else declared if isinstance(declared, list) else []:
            if isinstance(base, str) and base:
                parents.setdefault(base, None)
    if not parents:
        return None
    relation = hub_relation(parents, tags, record)
    return {"relation": relation, "models": [{"id": parent} for parent in parents]}


#: Properties computed or reshaped on the way out (all others are copied from the record as stored).
_COMPUTED = frozenset({"_id", "modelId", "author", "baseModels", "childrenModelCount", "usedStorage",
                       "inferenceProviderMapping"})


def _plan(keys: list[str] | tuple[str, ...]) -> tuple[tuple[str, ...], tuple[str, ...]]:
    """``keys`` split once per request into copied keys and computed ones (``_id`` always comes first)."""
    copied = tuple(k for k in keys if k not in _COMPUTED and k not in HIDDEN_KEYS)
    computed = tuple(k for k in keys if k in _COMPUTED and k != "_id")
    return copied, computed


def _project(table: HfTable, row: int, record: dict[str, Any], plan: tuple[tuple[str, ...], tuple[str, ...]],
             detail: bool) -> dict[str, Any]:
    copied, computed = plan
    item: dict[str, Any] = {"_id": table.oids[row]}
    item.update({key: record[key] for key in copied if key in record})
    model_id = table.ids[row]
    for key in computed:
        if key == "modelId":
            item["modelId"] = record.get("modelId", model_id)
        elif key == "baseModels":
            value = base_models(record, table.tags[row])
            if value is not None:
                item["baseModels"] = value
        elif key == "childrenModelCount":
            item["childrenModelCount"] = dict(table.children.get(model_id, {}))
        elif key == "usedStorage":
            siblings = record.get("siblings") if isinstance(record.get("siblings"), list) else []
            item["usedStorage"] = record.get("usedStorage", sum(s.get("size") or 0 for s in siblings
                                                                if isinstance(s, dict)))
        elif key == "author":
            author = record.get("author")
            if isinstance(author, str) or "/" in model_id:
                item["author"] = author if isinstance(author, str) else model_id.split("/", 1)[0]
        elif key == "inferenceProviderMapping" and key in record:
            value = record[key]
            item[key] = provider_dict(value) if detail else provider_list(value)
    return item


def list_models(table: HfTable, params: list[tuple[str, str]], next_base: str, page_max: int) -> Reply:
    """``GET /api/models``: one page of the filtered, sorted listing and the ``Link`` to the next."""
    try:
        return _list_models(table, params, next_base, page_max)
    except BadRequest as exc:
        return hub_error(400, str(exc))


def _list_models(table: HfTable, params: list[tuple[str, str]], next_base: str, page_max: int) -> Reply:
    expand = expand_list(params, _LISTING_EXPAND)
    full, card_data, config = (_one(params, name) in _TRUE for name in ("full", "cardData", "config"))
    if expand and (full or card_data or config):
        raise BadRequest("Cannot use expand with full, cardData or config")
    sort = _one(params, "sort") or "_id"
    if sort not in SORTS:
        raise BadRequest(f'"sort" must be one of [{", ".join(s for s in SORTS if s != "_id")}]')
    limit_text = _one(params, "limit")
    try:
        limit = page_max if limit_text is None else int(limit_text)
    except ValueError:
        raise BadRequest('"limit" must be a number') from None
    if limit < 1:
        raise BadRequest('"limit" must be greater than or equal to 1')
    limit = min(limit, page_max)
    gated = _one(params, "gated")
    providers = ",".join(_values(params, "inference_provider"))
    query = HfQuery(sort=sort, search=_one(params, "search") or None, author=_one(params, "author") or None,
                    tags=tuple(sorted(set(_values(params, "filter", "filter[]")))),
                    pipeline_tag=_one(params, "pipeline_tag") or None,
                    gated=None if gated is None else gated in _TRUE, inference=_one(params, "inference") or None,
                    providers=tuple(sorted(p for p in providers.split(",") if p)))
    rows = table.rows_for(query)
    cursor = _one(params, "cursor")
    start = table.start_after(rows, sort, *decode_cursor(cursor, sort)) if cursor else 0
    page = rows[start : start + limit]
    if expand:
        keys: list[str] | tuple[str, ...] = ["_id", "id", *[k for k in expand if k not in ("_id", "id")]]
    else:
        keys = DEFAULT_KEYS + (FULL_KEYS if full else ()) + (("cardData",) if card_data else ()) + (
            ("config",) if config else ())
    loads = orjson.loads
    plan = _plan(keys)
    items = [_project(table, row, loads(table.lines[row]), plan, detail=False) for row in page]
    headers = {}
    if start + limit < len(rows):
        last = page[-1]
        token = encode_cursor(sort, table.sort_value(sort, last), table.oids[last])
        kept = [(k, v) for k, v in params if k != "cursor"] + [("cursor", token)]
        headers["Link"] = f'<{next_base}?{urlencode(kept, quote_via=quote)}>; rel="next"'
    return json_reply(200, items, headers)


def model_info(table: HfTable, model_id: str, revision: str | None, params: list[tuple[str, str]]) -> Reply:
    """``GET /api/models/{id}[/revision/{rev}]``: the stored record, or only the expanded properties."""
    row = table.by_id.get(model_id)
    if row is None:
        return repo_not_found()
    record = orjson.loads(table.lines[row])
    if revision is not None and revision not in ("main", record.get("sha")):
        return hub_error(404, f"Invalid rev id: {revision}", "RevisionNotFound")
    try:
        expand = expand_list(params, EXPAND_PROPERTIES)
    except BadRequest as exc:
        return hub_error(400, str(exc))
    if expand:
        keys = ["_id", "id", *[k for k in expand if k not in ("_id", "id")]]
    else:
        keys = ["_id", *[k for k in record if k not in HIDDEN_KEYS and k != "_id"]]
    return json_reply(200, _project(table, row, record, _plan(keys), detail=True))


def readme(table: HfTable, model_id: str) -> Reply:
    """``GET|HEAD /{id}/resolve/{rev}/README.md`` (any revision): the card as text/markdown, or 404."""
    row = table.by_id.get(model_id)
    if row is None:
        return hub_error(404, "Repository not found", "RepoNotFound")
    record = orjson.loads(table.lines[row])
    text = record.get("readme")
    if not isinstance(text, str):
        return hub_error(404, "Entry not found", "EntryNotFound")
    sha = record.get("sha") if isinstance(record.get("sha"), str) else hashlib.sha1(
        table.oids[row].encode()).hexdigest()
    body = text.encode("utf-8")
    headers = {"ETag": f'"{hashlib.sha1(body).hexdigest()}"', "X-Repo-Commit": sha}
    return text_reply(200, text, "text/markdown; charset=utf-8", headers)
