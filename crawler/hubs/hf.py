"""Hugging Face Hub: listing and card URLs, the ``Link`` paginator, rate-limit buckets."""

from __future__ import annotations

import math
import re
from dataclasses import dataclass, field
from urllib.parse import quote, urlencode, urlsplit

#: Properties the sweep asks for: one call per page sees every declared edge (hub-apis.md §1.5).
LISTING_EXPAND: tuple[str, ...] = (
    "author", "cardData", "createdAt", "lastModified", "downloads", "downloadsAllTime", "likes", "library_name",
    "pipeline_tag", "sha", "tags", "gguf", "config", "safetensors", "inference", "inferenceProviderMapping",
    "siblings",
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


class PaginationError(ValueError):
    """A ``Link`` chain the crawl must not follow: a loop, a chain longer than the hub could need, another host."""


def same_origin(url: str, endpoint: str) -> bool:
    """Whether ``url`` is on the endpoint's scheme and host (records from elsewhere are not the hub's)."""
    a, b = urlsplit(url), urlsplit(endpoint)
    return (a.scheme.lower(), a.netloc.lower()) == (b.scheme.lower(), b.netloc.lower())


def max_pages(page_size: int, models: int) -> int:
    """The longest ``Link`` chain a listing of ``page_size`` rows could need when the hub holds ``models``."""
    return math.ceil(models / max(1, page_size)) + 1


@dataclass
class LinkGuard:
    """Checks each ``next`` URL of one listing (no I/O; one guard per listing phase): :meth:`check_url` before it is
    followed, :meth:`check_ids` once the page that links to it is read.

    Refused: a URL on another host, a URL seen before in this chain, a chain longer than ``limit`` pages, an empty
    page that still links on, and a page that ends on the row an earlier page ended on (new cursors over the same
    rows).
    """

    endpoint: str
    limit: int
    urls: set[str] = field(default_factory=set)
    last_ids: set[str] = field(default_factory=set)
    pages: int = 0

    def check_url(self, next_url: str) -> str:
        """``next_url`` if it may be asked for; :class:`PaginationError` if not."""
        self.pages += 1
        if not same_origin(next_url, self.endpoint):
            raise PaginationError(f"next page on another host ({urlsplit(next_url).netloc[:100]}), not followed")
        if next_url in self.urls:
            raise PaginationError("next page URL seen before in this listing (a Link loop)")
        if self.pages >= self.limit:
            raise PaginationError(f"listing longer than {self.limit} pages, more than the hub could need")
        self.urls.add(next_url)
        return next_url

    def check_ids(self, page_ids: list[str]) -> None:
        """:class:`PaginationError` if a page with ``page_ids`` may not link on (the next page is not stored)."""
        if not page_ids:
            raise PaginationError("an empty page links to a next page")
        if page_ids[-1] in self.last_ids:
            raise PaginationError(f"page ends on {page_ids[-1][:200]!r} again (the cursor chain repeats rows)")
        self.last_ids.add(page_ids[-1])


def path_and_query(url: str, endpoint: str) -> str:
    """``url`` without scheme and host (nor the endpoint's own path prefix): what a checkpoint keeps, so that a
    resume asks the endpoint of its own run, not the host of an earlier one."""
    parts = urlsplit(url)
    prefix = urlsplit(endpoint).path.rstrip("/")
    path = parts.path[len(prefix) :] if prefix and parts.path.startswith(prefix + "/") else parts.path
    return path + (f"?{parts.query}" if parts.query else "")


def on_endpoint(endpoint: str, ref: str) -> str:
    """A checkpointed ``ref`` (a path and query, or an older checkpoint's full URL) on ``endpoint``."""
    return endpoint.rstrip("/") + path_and_query(ref, endpoint)


def card_url(endpoint: str, model_id: str) -> str:
    """The raw model card (counts against the resolvers bucket)."""
    return f"{endpoint}/{quote(model_id, safe='/')}/resolve/main/README.md"


def bucket_of(url: str) -> str:
    """The rate-limit bucket a URL is charged to: ``api`` for ``/api/…``, ``resolvers`` for files."""
    path = urlsplit(url).path
    return "resolvers" if "/resolve/" in path else "api"
