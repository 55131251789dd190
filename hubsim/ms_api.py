"""ModelScope endpoints: the OpenAPI listing and detail, and the website search ``PUT /api/v1/dolphin/models``.

Shapes follow ``docs/hub-apis.md`` §2: ``{"success", "request_id", "data"}`` envelopes, page-number paging
with ``page_size ≤ 50`` and ``page_number × page_size ≤ 3000``, PascalCase dolphin items with deployment flags.
"""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

import orjson

from hubsim.ms_table import FILTER_PREFIXES, MsQuery, MsTable
from hubsim.reply import Reply, json_reply

MAX_PAGE_SIZE = 50
MAX_ROWS = 3000
DOLPHIN_MAX_PAGE_SIZE = 100
OPENAPI_SORTS = ("default", "downloads", "likes", "last_modified")
DOLPHIN_SORTS = {"Default": "default", "DownloadsCount": "downloads", "StarsCount": "likes",
                 "GmtModified": "last_modified", "GmtCreated": "created_at"}
#: Dolphin ``Criterion`` categories → OpenAPI filter names (``owner`` is handled apart).
DOLPHIN_CATEGORIES = {"tasks": "task", "libraries": "library", "model_type": "model_type", "license": "license",
                      "tags": "custom_tag", "deploy": "deploy"}
DEPLOY_FLAGS = ("SupportInference", "SupportApiInference", "SupportDeployment", "SupportPaiModelGallery",
                "SupportFinetuning", "SupportFlexTrain")


def envelope_error(status: int, code: str, message: str) -> Reply:
    """The OpenAPI error envelope, e.g. ``InputParameterError`` or ``RateLimitExceed``."""
    return json_reply(status, {"success": False, "code": code, "message": message,
                               "request_id": str(uuid.uuid4())})


def dolphin_error(status: int, message: str) -> Reply:
    return json_reply(status, {"Code": status, "Message": message, "Success": False,
                               "RequestId": str(uuid.uuid4())})


def _int_param(params: list[tuple[str, str]], name: str, default: int) -> int:
    values = [v for k, v in params if k == name]
    if not values:
        return default
    try:
        return int(values[-1])
    except ValueError:
        raise ValueError(f"{name} must be an integer") from None


def list_models(table: MsTable, params: list[tuple[str, str]]) -> Reply:
    """``GET /openapi/v1/models``: one page of the filtered, sorted search."""
    try:
        page_number = _int_param(params, "page_number", 1)
        page_size = _int_param(params, "page_size", 10)
    except ValueError as exc:
        return envelope_error(400, "InputParameterError", str(exc))
    if page_number < 1:
        return envelope_error(400, "InputParameterError", "page_number must be >= 1")
    if not 1 <= page_size <= MAX_PAGE_SIZE:
        return envelope_error(400, "InputParameterError", f"page_size must be between 1 and {MAX_PAGE_SIZE}")
    if page_number * page_size > MAX_ROWS:
        return envelope_error(400, "InputParameterError",
                              f"page_number * page_size must not exceed {MAX_ROWS}; narrow the query")
    single = {k: v for k, v in params}
    sort = single.get("sort") or "default"
    if sort not in OPENAPI_SORTS:
        return envelope_error(400, "InputParameterError", f"sort must be one of {', '.join(OPENAPI_SORTS)}")
    filters = tuple(sorted((name, (single[f"filter.{name}"],)) for name in FILTER_PREFIXES
                           if single.get(f"filter.{name}")))
    query = MsQuery(sort=sort, search=single.get("search") or None, owner=single.get("owner") or None,
                    filters=filters)
    rows = table.rows_for(query)
    start = (page_number - 1) * page_size
    models = [table.records[row] for row in rows[start : start + page_size]]
    return json_reply(200, {"success": True, "request_id": str(uuid.uuid4()),
                            "data": {"models": models, "total_count": len(rows), "page_number": page_number,
                                     "page_size": page_size}})


def model_detail(table: MsTable, model_id: str) -> Reply:
    """``GET /openapi/v1/models/{owner}/{repo}``: the record with its ``readme``, or the 404 envelope."""
    row = table.by_id.get(model_id)
    if row is None:
        return envelope_error(404, "NotFound", f"model {model_id} not found")
    data = dict(table.records[row])
    if table.readmes[row] is not None:
        data["readme"] = table.readmes[row]
    return json_reply(200, {"success": True, "request_id": str(uuid.uuid4()), "data": data})


def _epoch(value: Any) -> int | None:
    if not isinstance(value, str):
        return None
    try:
        return int(datetime.fromisoformat(value.replace("Z", "+00:00")).timestamp())
    except ValueError:
        return None


def dolphin_item(table: MsTable, row: int) -> dict[str, Any]:
    """A PascalCase website-search item: the stored ``dolphin`` object, basics derived from the record."""
    record = table.records[row]
    tags = [t for t in record.get("tags") or [] if isinstance(t, str)]
    owner, _, name = record["id"].partition("/")
    derived = {
        "Path": owner, "Name": name, "ChineseName": record.get("display_name") or "",
        "Description": record.get("description") or "", "Downloads": record.get("downloads") or 0,
        "Stars": record.get("likes") or 0, "License": record.get("license") or "",
        "Tasks": [{"Name": t if isinstance(t, str) else t.get("name")} for t in record.get("tasks") or []
                  if isinstance(t, str | dict)],
        "ModelType": [t.split(":", 1)[1] for t in tags if t.startswith("model_type:")],
        "Tags": [t for t in tags if ":" not in t],
        "CreatedTime": _epoch(record.get("created_at")), "LastUpdatedTime": _epoch(record.get("last_modified")),
        "StorageSize": record.get("file_size") or 0,
    }
    derived.update({flag: False for flag in DEPLOY_FLAGS})
    derived["SupportDeployment"] = "deploy:swingdeploy" in tags
    return {**derived, **(table.dolphins[row] or {})}


def dolphin_search(table: MsTable, body: bytes) -> Reply:
    """``PUT /api/v1/dolphin/models``: website search by name, criteria and sort, with deployment flags."""
    try:
        request = orjson.loads(body or b"{}")
    except orjson.JSONDecodeError:
        return dolphin_error(400, "request body is not JSON")
    if not isinstance(request, dict):
        return dolphin_error(400, "request body must be a JSON object")
    page_number, page_size = request.get("PageNumber", 1), request.get("PageSize", 10)
    if not isinstance(page_number, int) or not isinstance(page_size, int) or page_number < 1:
        return dolphin_error(400, "PageNumber and PageSize must be positive integers")
    if not 1 <= page_size <= DOLPHIN_MAX_PAGE_SIZE:
        return dolphin_error(400, f"PageSize must be between 1 and {DOLPHIN_MAX_PAGE_SIZE}")
    sort = DOLPHIN_SORTS.get(request.get("SortBy") or "Default")
    if sort is None:
        return dolphin_error(400, f"SortBy must be one of {', '.join(DOLPHIN_SORTS)}")
    owner, filters = None, []
    for criterion in request.get("Criterion") or []:
        if not isinstance(criterion, dict):
            return dolphin_error(400, "Criterion items must be objects")
        category = str(criterion.get("category") or criterion.get("Category") or "")
        values = criterion.get("values") or criterion.get("Values") or []
        values = tuple(str(v) for v in (values if isinstance(values, list) else [values]))
        if category in ("organization", "owner", "path") and values:
            owner = values[0]
        elif category in DOLPHIN_CATEGORIES and values:
            filters.append((DOLPHIN_CATEGORIES[category], values))
        else:
            return dolphin_error(400, f"unsupported Criterion category: {category!r}")
    query = MsQuery(sort=sort, search=str(request.get("Name") or "") or None, owner=owner,
                    filters=tuple(sorted(filters)))
    rows = table.rows_for(query)
    start = (page_number - 1) * page_size
    items = [dolphin_item(table, row) for row in rows[start : start + page_size]]
    return json_reply(200, {"Code": 200, "Data": {"Model": {"Models": items, "TotalCount": len(rows)}},
                            "Message": "success", "RequestId": str(uuid.uuid4()), "Success": True})
