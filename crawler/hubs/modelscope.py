"""ModelScope: OpenAPI listing/detail URLs, the page-number paginator, envelopes, and the dolphin search.

Facts (docs hub-apis.md §2): ``GET /openapi/v1/models`` pages by ``page_number``/``page_size`` (≤ 50) and never
yields more than 3,000 rows per query (``page_number × page_size ≤ 3000``); answers are
``{"success", "code", "data": {"models", "total_count"}}`` envelopes. The website search
``PUT /api/v1/dolphin/models`` is undocumented and carries the deployment flags.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote, urlencode

MAX_PAGE_SIZE = 50
ROW_CAP = 3000
DOLPHIN_PAGE_SIZE = 100
#: Sort used for listing: newest modification first (page shifts during a crawl duplicate rows, never lose them).
LISTING_SORT = "last_modified"
#: Filters a query may set (``filter.<name>``), besides ``owner`` and ``search``.
FILTERS = ("model_type", "task", "license", "library", "custom_tag", "deploy")
DEPLOY_FLAGS = ("SupportInference", "SupportApiInference", "SupportDeployment", "SupportPaiModelGallery",
                "SupportFinetuning", "SupportFlexTrain")


def quota_spent(status: int, body: bytes) -> bool:
    """A spent quota (HTTP 403 ``QuotaLimitExceed``): unlike a 429 ``RateLimitExceed``, waiting does not help."""
    return status == 403 and b"QuotaLimitExceed" in body[:500]


class EnvelopeError(ValueError):
    """An OpenAPI answer with ``success: false`` (or no usable ``data``); carries the code and request id."""

    def __init__(self, code: str, message: str, request_id: str | None = None):
        super().__init__(f"{code}: {message}" + (f" (request {request_id})" if request_id else ""))
        self.code = code
        self.request_id = request_id


@dataclass(frozen=True, slots=True)
class Query:
    """One OpenAPI search: ``owner``, ``search`` and ``filter.*`` constraints (all ANDed)."""

    owner: str | None = None
    search: str | None = None
    filters: tuple[tuple[str, str], ...] = ()

    def where(self, dim: str, value: str) -> Query:
        """This query with one more constraint (``dim`` is ``owner``, ``search`` or a filter name)."""
        if dim == "owner":
            return Query(value, self.search, self.filters)
        if dim == "search":
            return Query(self.owner, value, self.filters)
        return Query(self.owner, self.search, tuple(sorted({*self.filters, (dim, value)})))

    def constrains(self, dim: str) -> bool:
        if dim == "owner":
            return self.owner is not None
        if dim == "search":
            return self.search is not None
        return any(name == dim for name, _ in self.filters)

    def params(self) -> list[tuple[str, str]]:
        out = []
        if self.owner:
            out.append(("owner", self.owner))
        if self.search:
            out.append(("search", self.search))
        out += [(f"filter.{name}", value) for name, value in self.filters]
        return out

    def label(self) -> str:
        return " ".join(f"{k}={v}" for k, v in self.params()) or "(all)"

    def to_json(self) -> dict[str, Any]:
        return {"owner": self.owner, "search": self.search, "filters": [list(f) for f in self.filters]}

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Query:
        return cls(data.get("owner"), data.get("search"), tuple(sorted((str(a), str(b)) for a, b in
                                                                      data.get("filters") or [])))


def seed_queries(owners: tuple[str, ...], model_types: tuple[str, ...], search_terms: tuple[str, ...]) -> list[Query]:
    """The queries whose union is "the family on ModelScope": root owners, architectures, name terms."""
    return ([Query(owner=o) for o in owners] + [Query(filters=(("model_type", t),)) for t in model_types]
            + [Query(search=s) for s in search_terms])


def listing_url(endpoint: str, query: Query, *, page_number: int = 1, page_size: int = MAX_PAGE_SIZE,
                sort: str = LISTING_SORT) -> str:
    params = [*query.params(), ("sort", sort), ("page_number", str(page_number)), ("page_size", str(page_size))]
    return f"{endpoint}/openapi/v1/models?{urlencode(params)}"


def last_page(total: int, page_size: int = MAX_PAGE_SIZE) -> int:
    """The last page number a query of ``total`` rows can reach (the 3,000-row cap included)."""
    return max(1, min(math.ceil(total / page_size), ROW_CAP // page_size))


def detail_url(endpoint: str, model_id: str) -> str:
    """``GET /openapi/v1/models/{owner}/{repo}``: the record plus its ``readme``."""
    return f"{endpoint}/openapi/v1/models/{quote(model_id, safe='/')}"


def dolphin_url(endpoint: str) -> str:
    return f"{endpoint}/api/v1/dolphin/models"


def dolphin_body(owner: str, page_number: int, page_size: int = DOLPHIN_PAGE_SIZE) -> dict[str, Any]:
    """Website search for one owner's models (newest first)."""
    return {"Name": "", "PageNumber": page_number, "PageSize": page_size, "SortBy": "GmtModified",
            "Criterion": [{"category": "organization", "values": [owner]}]}


def listing_data(answer: Any) -> tuple[list[Any], int]:
    """``(models, total_count)`` of an OpenAPI listing envelope; :class:`EnvelopeError` otherwise."""
    data = _data(answer)
    models, total = data.get("models"), data.get("total_count")
    if not isinstance(models, list) or not isinstance(total, int):
        raise EnvelopeError("BadEnvelope", "listing data without a 'models' list and an integer 'total_count'")
    return models, total


def detail_data(answer: Any) -> dict[str, Any]:
    """The record of an OpenAPI detail envelope (with ``readme`` when the model has one)."""
    return _data(answer)


def _data(answer: Any) -> dict[str, Any]:
    if not isinstance(answer, dict):
        raise EnvelopeError("BadEnvelope", f"answer is a {type(answer).__name__}, not an object")
    if answer.get("success") is not True:
        raise EnvelopeError(str(answer.get("code") or "Unknown"), str(answer.get("message") or "success is not true"),
                            answer.get("request_id"))
    data = answer.get("data")
    if not isinstance(data, dict):
        raise EnvelopeError("BadEnvelope", "'data' is not an object", answer.get("request_id"))
    return data


def dolphin_data(answer: Any) -> tuple[list[dict[str, Any]], int]:
    """``(items, total)`` of a dolphin answer; :class:`EnvelopeError` when the shape is not the known one."""
    try:
        block = answer["Data"]["Model"]
        items, total = block["Models"], block["TotalCount"]
    except (KeyError, TypeError):
        code = answer.get("Code") if isinstance(answer, dict) else None
        raise EnvelopeError(str(code or "BadDolphinAnswer"), "no Data.Model.Models in the answer") from None
    if not isinstance(items, list) or not isinstance(total, int):
        raise EnvelopeError("BadDolphinAnswer", "Models is not a list or TotalCount not an integer")
    return [i for i in items if isinstance(i, dict)], total


def dolphin_flags(item: dict[str, Any]) -> tuple[str | None, dict[str, bool]]:
    """``(model id, deployment flags)`` of one dolphin item (flags that are present and boolean)."""
    owner, name = item.get("Path"), item.get("Name")
    model_id = f"{owner}/{name}" if isinstance(owner, str) and isinstance(name, str) and owner and name else None
    return model_id, {f: item[f] for f in DEPLOY_FLAGS if isinstance(item.get(f), bool)}
