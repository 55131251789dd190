"""The ModelScope spider: plan partitions, then list them page by page (checkpointed); follow-ups come after.

1. **Plan** (:mod:`crawler.spiders.modelscope_plan`): seed queries split below the 3,000-row cap; the plan is
   committed as the run's checkpoint and its coverage proof goes into the notes.
2. **List** each leaf with ``sort=last_modified``; every page is committed with the next (leaf, page) to fetch,
   so a killed crawl resumes there. Incremental mode stops a leaf at the previous run's watermark.
3. **Follow-ups** (:mod:`crawler.spiders.modelscope_follow_ups`): details of changed models, deployment flags.

Card fields, base resolution, family counts and mirrors follow once the cards are stored
(:mod:`crawler.after_listing`).
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterable, Iterator, Sequence
from datetime import datetime
from typing import Any

from scrapy import Request
from scrapy.http import Response

from crawler.families import Family, default_family
from crawler.hubs import modelscope as ms
from crawler.items import ListingPage
from crawler.partitions import Plan
from crawler.records import utc_naive
from crawler.records_modelscope import HUB
from crawler.spiders.modelscope_follow_ups import ModelScopeFollowUps
from crawler.spiders.modelscope_plan import coverage, make_plan


class ModelScopeSpider(ModelScopeFollowUps):
    name = "modelscope"
    hub = HUB

    def __init__(self, *, watermarks: dict[str, datetime | None] | None = None,
                 families: Sequence[Family] = (), search_terms: Iterable[str] | None = None,
                 discovery_pages: int = 4, **kwargs: Any):
        """The listing is seeded by the ``families``' (default: the default family's) owners, architectures and
        search terms; ``search_terms`` replaces the latter."""
        super().__init__(**kwargs)
        families = tuple(families) or (default_family(),)
        self.watermark = (watermarks or {}).get("lastModified")
        self.root_authors = tuple(dict.fromkeys(o for f in families for o in f.orgs))
        self.architectures = tuple(dict.fromkeys(a for f in families for a in f.architectures))
        self.search_terms = (tuple(search_terms) if search_terms is not None
                             else tuple(dict.fromkeys(t for f in families for t in f.search)))
        self.discovery_pages = discovery_pages
        self.plan: Plan | None = None

    async def start(self) -> AsyncIterator[Any]:
        phase = self.checkpoint.get("phase")
        if phase == "follow-ups":
            return
        if phase != "listing":
            self.progress.phase("planning partitions")
            try:
                self.plan = await make_plan(self, self.root_authors, self.architectures, self.search_terms,
                                            self.discovery_pages)
            except Exception as exc:  # noqa: BLE001 - any failure stops the run with the reason
                self.state.totals["errors"] += 1
                self.listing_failed = f"partition planning failed: {exc.__class__.__name__}: {exc}"
                return
            self.checkpoint = {"phase": "listing", "plan": self.plan.to_json(), "leaf": 0, "page": 1,
                               "listed": [0] * len(self.plan.leaves)}
            self.notes.extend(self.plan.proof())
            yield ListingPage(self.hub, None, [], self.checkpoint, seq=self.next_seq())
        else:
            self.plan = Plan.from_json(self.checkpoint["plan"])
        self.progress.phase("listing", total=sum(ms.last_page(t) for _, t in self.plan.leaves))
        request = self._next_request(self.checkpoint)
        if request is None:
            self.checkpoint = self._listing_end(self.checkpoint.get("listed", []))
            yield ListingPage(self.hub, None, [], self.checkpoint, seq=self.next_seq(), last=True)
        else:
            yield request

    def _next_request(self, checkpoint: dict[str, Any]) -> Request | None:
        assert self.plan is not None
        leaf, page = checkpoint.get("leaf", 0), checkpoint.get("page", 1)
        while leaf < len(self.plan.leaves) and self.plan.leaves[leaf][1] == 0:
            leaf += 1
        if leaf >= len(self.plan.leaves):
            return None
        query = self.plan.leaves[leaf][0]
        url = ms.listing_url(self.endpoint, query, page_number=page)
        return Request(url, callback=self.parse_listing, errback=self.page_failed, dont_filter=True,
                       meta={"leaf": leaf, "page": page})

    def parse_listing(self, response: Response) -> Iterator[Any]:
        answer, retry, error = self.read(response, ms.listing_data)
        if retry is not None:
            yield retry
            return
        if error is not None:
            self.page_failed(error)
            return
        models, total = answer
        leaf, page = response.meta["leaf"], response.meta["page"]
        listed = list(self.checkpoint.get("listed") or [0] * len(self.plan.leaves))  # type: ignore[union-attr]
        listed[leaf] += len(models)
        more = page < ms.last_page(total) and bool(models) and not self._reached_watermark(models)
        position = {"leaf": leaf, "page": page + 1} if more else {"leaf": leaf + 1, "page": 1}
        follow = self._next_request(position)
        if follow is not None:
            position = {"leaf": follow.meta["leaf"], "page": follow.meta["page"]}
            self.checkpoint = {"phase": "listing", "plan": self.checkpoint["plan"], **position, "listed": listed}
        else:
            self.checkpoint = self._listing_end(listed)
        # The page, then the next page's request: the pipeline commits pages in listing order. Seeds overlap, so
        # the page counts only models not listed earlier in this run.
        yield ListingPage(self.hub, response.url, models, self.checkpoint, seq=self.next_seq(), last=follow is None)
        if follow is not None:
            yield follow

    def _listing_end(self, listed: list[int]) -> dict[str, Any]:
        """The checkpoint after the last page; a full run checks it saw every leaf in full (notes)."""
        plan = self.plan or Plan.from_json(self.checkpoint.get("plan") or {})
        complete = False
        if self.mode == "full":
            complete, notes = coverage(plan, listed)
            self.notes.extend(notes)
        return {"phase": "follow-ups", "plan": self.checkpoint["plan"], "listed": listed, "sweep_complete": complete}

    def _reached_watermark(self, models: list[Any]) -> bool:
        if self.mode != "incremental" or self.watermark is None:
            return False
        for raw in models:
            value = raw.get("last_modified") if isinstance(raw, dict) else None
            if isinstance(value, str):
                try:
                    if utc_naive(datetime.fromisoformat(value.replace("Z", "+00:00"))) < self.watermark:
                        return True
                except ValueError:
                    continue
        return False
