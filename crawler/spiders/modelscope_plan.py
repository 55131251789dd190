"""ModelScope partition planning over the network (``page_size=1`` probes), and the coverage check after listing.

Seed queries (root owners, family ``model_type``s, name terms) are split below the 3,000-row cap
(:mod:`crawler.partitions`); the plan and its coverage proof go into the run's checkpoint and notes.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import orjson
from scrapy import Request

from crawler.hubs import modelscope as ms
from crawler.partitions import Plan, Planner


async def get_json(spider: Any, request: Request) -> Any:
    """Download through the spider's middlewares (throttling, retries); a truncated/invalid body is retried."""
    from scrapy.downloadermiddlewares.retry import get_retry_request

    while True:
        response = await spider.crawler.engine.download_async(request)
        if response.status != 200:
            raise ms.EnvelopeError(f"HTTP {response.status}", response.text[:200] if hasattr(response, "text")
                                   else "", None)
        try:
            return orjson.loads(response.body)
        except orjson.JSONDecodeError:
            retry = get_retry_request(request, spider=spider, reason="invalid JSON body")
            if retry is None:
                raise ms.EnvelopeError("BadJSON", f"invalid JSON body after retries from {request.url}") from None
            request = retry


async def make_plan(spider: Any, root_authors: Iterable[str], architectures: Iterable[str],
                    search_terms: Iterable[str], discovery_pages: int) -> Plan:
    """The partition plan of the seed queries, probed at ``spider.endpoint``."""

    async def probe(query: ms.Query, sort: str, page_number: int, page_size: int) -> tuple[list[Any], int]:
        url = ms.listing_url(spider.endpoint, query, page_number=page_number, page_size=page_size, sort=sort)
        return ms.listing_data(await get_json(spider, Request(url, dont_filter=True)))

    architectures = tuple(architectures)
    seeds = ms.seed_queries(tuple(root_authors), architectures, tuple(search_terms))
    return await Planner(probe, known={"model_type": architectures}, discovery_pages=discovery_pages).run(seeds)


def coverage(plan: Plan, listed: list[int]) -> tuple[bool, list[str]]:
    """Whether a full listing saw every model of the plan's universe (so vanished ones are deleted), with notes."""
    short = [(q.label(), t, n) for (q, t), n in zip(plan.leaves, listed, strict=False) if n < min(t, ms.ROW_CAP)]
    if short:
        notes = ["leaves short of their total (the hub changed while listing?): "
                 + "; ".join(f"{q}: {n}/{t}" for q, t, n in short[:10])]
    else:
        notes = [f"every leaf listed in full: {sum(listed)} rows for {len(plan.leaves)} leaves"]
    complete = plan.gap == 0 and not short
    if not complete:
        notes.append("coverage not complete: vanished models are not marked deleted this run")
    return complete, notes
