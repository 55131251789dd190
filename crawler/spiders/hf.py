"""The Hugging Face spider: a checkpointed sweep of ``/api/models`` (full or incremental), then the cards.

Full mode sweeps the whole listing once (``sort=createdAt``), newest first. Incremental mode walks
``sort=lastModified`` and then ``sort=createdAt`` down to the previous run's watermark. Each page is stored with
the URL of the next page, so a killed crawl resumes where it stopped. Once the listing is stored (and the runner
has resolved bases and found the family, :mod:`crawler.after_listing`), cards are fetched for family models whose
``sha`` changed.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Iterable, Iterator
from datetime import datetime
from typing import Any

from scrapy import Request
from scrapy.http import Response

from crawler.config import max_listing_models
from crawler.hubs import hf
from crawler.items import FetchedCard, ListingPage
from crawler.records import utc_naive
from crawler.records_hf import ListedRecord, read_listing
from crawler.spiders.base import HubSpider
from crawler.store.crawl import cards_due

#: Listing phases per mode, in order, with the sort each uses and the record field compared to the watermark.
PHASES: dict[str, tuple[tuple[str, str, str], ...]] = {
    "full": (("sweep", "createdAt", ""),),
    "incremental": (("modified", "lastModified", "lastModified"), ("created", "createdAt", "createdAt")),
}
CARD_POLICIES = ("family", "family+undeclared", "none")
#: Seconds a listing page waits, once the next page is asked for, before it is read: the reactor sends the request
#: meanwhile (the read holds the interpreter for 10-20 ms on a 1,000-record page).
SEND_FIRST_S = 0.002


class HFSpider(HubSpider):
    name = "hf"
    hub = "hf"

    def __init__(self, *, page_size: int = hf.DEFAULT_PAGE_SIZE, watermarks: dict[str, datetime | None] | None = None,
                 cards: str = "family", **kwargs: Any):
        super().__init__(**kwargs)
        self.page_size = page_size
        self.watermarks = watermarks or {}
        self.card_policy = cards
        self.phases = PHASES[self.mode]
        self._guards: dict[str, hf.LinkGuard] = {}
        self._unread: int | None = None  # the page whose next page was asked for before its rows were checked
        self._read = asyncio.Event()  # set once that page is read

    def bucket_of(self, url: str) -> str:
        return hf.bucket_of(url)

    # -- listing ------------------------------------------------------------------------------------------
    def _first_url(self, phase: str) -> str:
        sort = next(s for p, s, _ in self.phases if p == phase)
        return hf.listing_url(self.endpoint, sort=sort, limit=self.page_size)

    def _next_phase(self, phase: str) -> str | None:
        names = [p for p, _, _ in self.phases]
        i = names.index(phase)
        return names[i + 1] if i + 1 < len(names) else None

    def _page_request(self, url: str, phase: str) -> Request:
        return Request(url, callback=self.parse_listing, errback=self.page_failed, dont_filter=True,
                       meta={"phase": phase})

    async def start(self) -> AsyncIterator[Any]:
        phase = self.checkpoint.get("phase") or self.phases[0][0]
        if phase in {p for p, _, _ in self.phases}:  # else resumed after the listing: straight to the follow-ups
            self.progress.phase(f"listing ({phase})")
            resume = self.checkpoint.get("next_url")  # a path and query: resumed on the current endpoint
            yield self._page_request(hf.on_endpoint(self.endpoint, resume) if resume else self._first_url(phase),
                                     phase)

    async def parse_listing(self, response: Response) -> AsyncIterator[Any]:
        """Store a listing page and follow its ``Link``. The next page is asked for before this one is read (a sweep
        is a chain of requests: the reading would otherwise add to every page's latency), except where a watermark
        may end the phase on this page. Pages are still read in order: a page that comes while the one before it is
        unread waits for it (its rows are checked first, so a hostile chain is stopped where it starts). A page keeps
        its place in the commit order (``seq``) if it must be asked for again; it is then read when it comes again.
        Once the listing stopped, the pages after the one that stopped it are not stored, the pages before it still
        are (:meth:`stores_page`)."""
        seq = response.meta.get("seq")  # kept by a retry of this page (a copy of its meta)
        if not self.stores_page(seq):
            return
        if seq is None:
            seq = response.meta["seq"] = self.next_seq()
        while self._unread not in (None, seq):
            await self._read.wait()
        if not self.stores_page(seq):  # the page before stopped the listing
            return
        phase = response.meta["phase"]
        next_url = hf.next_page_url(response.headers.get("Link"))
        early = next_url is not None and self._watermark(phase)[1] is None
        follow = None
        if early and "next_refused" not in response.meta:  # not yet asked for (a retry of this page finds it was)
            try:
                follow = self._page_request(self._guard(phase).check_url(next_url), phase)
                response.meta["next_refused"] = None
            except hf.PaginationError as exc:
                response.meta["next_refused"] = str(exc)
        try:
            if follow is not None:
                self._unread = seq
                self._read.clear()
                yield follow
                await asyncio.sleep(SEND_FIRST_S)  # the reactor sends it before the page is read
            data, retry, error = self.decode_json(response, read_listing)  # the page writer reads the records
        finally:  # the pages after it run on at the next await: its rows are checked by then
            if self._unread == seq:
                self._unread = None
                self._read.set()
        if retry is not None:
            yield retry
            return
        if not self.stores_page(seq):  # stopped by an earlier page while this one was read
            return
        if error is not None or not isinstance(data, list):
            self.page_failed(error or f"listing answer is a {type(data).__name__}, not a list", seq)
            return
        if next_url and not early and self._reached_watermark(phase, data):
            next_url = None
        if next_url:
            checkpoint = {"phase": phase, "next_url": hf.path_and_query(next_url, self.endpoint)}
            try:
                if response.meta.get("next_refused"):
                    raise hf.PaginationError(response.meta["next_refused"])
                self._guard(phase).check_ids(_ids(data))
                if not early:
                    follow = self._page_request(self._guard(phase).check_url(next_url), phase)
            except hf.PaginationError as exc:
                self.listing_stopped(str(exc), seq)
                yield ListingPage(self.hub, response.url, [], checkpoint, seq=seq, last=False, body=response.body)
                return
        else:
            nxt = self._next_phase(phase)
            checkpoint = ({"phase": nxt, "next_url": hf.path_and_query(self._first_url(nxt), self.endpoint)} if nxt
                          else {"phase": "follow-ups", "sweep_complete": self.mode == "full"})
            follow = self._page_request(self._first_url(nxt), nxt) if nxt else None
        # The pipeline commits pages in ``seq`` order, each with the checkpoint of the page after it, so a kill at
        # any moment loses nothing; Scrapy awaits the page's commit before it reads on, so a request still to be
        # made is yielded first.
        if follow is not None and not early:
            yield follow
        yield ListingPage(self.hub, response.url, [], checkpoint, seq=seq, last=next_url is None and follow is None,
                          body=response.body)

    def _guard(self, phase: str) -> hf.LinkGuard:
        """The pagination guard of a listing phase (a loop, an endless chain or another host stops it)."""
        if phase not in self._guards:
            self._guards[phase] = hf.LinkGuard(self.endpoint, hf.max_pages(self.page_size, max_listing_models()))
        return self._guards[phase]

    def _watermark(self, phase: str) -> tuple[str, datetime | None]:
        """The record field a listing phase compares and the previous run's watermark of it (None: no watermark)."""
        field = next(f for p, _, f in self.phases if p == phase)
        return field, self.watermarks.get(field) if field else None

    def _reached_watermark(self, phase: str, records: list[Any]) -> bool:
        field, mark = self._watermark(phase)
        if mark is None:
            return False
        for raw in records:
            value = getattr(raw, field) if isinstance(raw, ListedRecord) else None
            if isinstance(value, str):
                try:
                    if utc_naive(datetime.fromisoformat(value.replace("Z", "+00:00"))) < mark:
                        return True
                except ValueError:
                    continue
        return False

    # -- follow-ups: cards --------------------------------------------------------------------------------
    def plan_follow_ups(self) -> Iterable[Request]:
        fam = self.state.family
        if self.card_policy == "none" or fam is None:
            return []
        wanted = fam.roots | fam.members | (fam.undeclared if self.card_policy == "family+undeclared" else set())
        todo = cards_due(self.state.store, self.hub, versions="sha", among=wanted)
        return [Request(hf.card_url(self.endpoint, model_id), callback=self.parse_card,
                        errback=self.follow_up_failed, dont_filter=True,
                        meta={"model_id": model_id, "sha": sha, "handle_httpstatus_list": [401, 404]})
                for model_id, sha in todo]

    def parse_card(self, response: Response) -> Iterator[FetchedCard]:
        if response.status == 200:
            text, error = response.body.decode("utf-8", "replace"), None
        else:
            text, error = None, f"no card (HTTP {response.status})"
        yield FetchedCard(self.hub, response.meta["model_id"], response.meta["sha"], text, error)


def _ids(records: list[Any]) -> list[str]:
    """The ids of a page's records, in order (what the pagination guard compares between pages)."""
    return [str(r.id) for r in records if isinstance(r, ListedRecord)]
