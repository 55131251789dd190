"""Hugging Face Hub: listing and card URLs, the ``Link`` paginator, rate-limit buckets."""

from __future__ import annotations

import re
from urllib.parse import quote, urlencode, urlsplit

#: Properties the sweep asks for: one call per page sees every declared edge (hub-apis.md §1.5).
LISTING_EXPAND: tuple[str, ...] = (
    "author", "cardData", "createdAt", "lastModified", "downloads", "downloadsAllTime", "likes", "library_name",
    "pipeline_tag", "sha", "tags", "gguf", "config", "inference", "inferenceProviderMapping", "siblings",
)
DEFAULT_PAGE_SIZE = 1000

_LINK_NEXT = re.compile(r'<([^>]+)>\s*;\s*rel="?next"?', re.IGNORECASE)


def listing_url(endpoint: str, *, sort: str, limit: int = DEFAULT_PAGE_SIZE,
                expand: tuple[str, ...] = LISTING_EXPAND, filters: tuple[str, ...] = (),
                author: str | None = None, search: str | None = None) -> str:
    """The first page of ``GET /api/models`` (sorted, always descending on the Hub)."""
    params: list[tuple[str, str]] = [("sort", sort), ("limit", str(limit))]
    params += [("expand[]", e) for e in expand]
    params += [("filter", f) for f in filters]
    if author:
        params.append(("author", author))
    if search:
        params.append(("search", search))
    return f"{endpoint}/api/models?{urlencode(params)}"


def next_page_url(link_header: str | bytes | None) -> str | None:
    """The ``rel="next"`` URL of a ``Link`` header, or None on the last page."""
    if not link_header:
        return None
    text = link_header.decode("latin-1") if isinstance(link_header, bytes) else link_header
    match = _LINK_NEXT.search(text)
    return match.group(1) if match else None


def card_url(endpoint: str, model_id: str) -> str:
    """The raw model card (counts against the resolvers bucket)."""
    return f"{endpoint}/{quote(model_id, safe='/')}/resolve/main/README.md"


def bucket_of(url: str) -> str:
    """The rate-limit bucket a URL is charged to: ``api`` for ``/api/…``, ``resolvers`` for files."""
    path = urlsplit(url).path
    return "resolvers" if "/resolve/" in path else "api"
