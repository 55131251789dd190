"""ModelScope follow-ups once the listing is stored: the detail (``readme``) of changed models, then the dolphin
search per owner for deployment flags (an unstable endpoint: failures are noted, never fatal)."""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from typing import Any

import orjson
from scrapy import Request
from scrapy.http import Response

from crawler.hubs import modelscope as ms
from crawler.items import DeployFlags, FetchedCard
from crawler.spiders.base import HubSpider, failure_reason
from crawler.store.crawl import cards_due, live_owners


class ModelScopeFollowUps(HubSpider):
    """Details and deployment flags; the listing spider (:mod:`crawler.spiders.modelscope`) builds on it."""

    def __init__(self, *, dolphin: bool = True, readmes: bool = True, **kwargs: Any):
        super().__init__(**kwargs)
        self.dolphin = dolphin
        self.readmes = readmes
        self._dolphin_error: str | None = None

    def read(self, response: Response, reader: Any) -> tuple[Any, Request | None, str | None]:
        """``(value, retry, error)``: ``reader`` applied to the JSON body, a retry of a cut body, or why not."""
        data, retry, error = self.decode_json(response)
        if retry is not None or error is not None:
            return None, retry, error and f"{response.url}: {error}"
        try:
            return reader(data), None, None
        except ms.EnvelopeError as exc:
            return None, None, f"{response.url}: {exc}"

    def plan_follow_ups(self) -> Iterable[Request]:
        todo = cards_due(self.state.store, self.hub, versions="last_modified")
        out = [Request(ms.detail_url(self.endpoint, model_id), callback=self.parse_detail,
                       errback=self.follow_up_failed, dont_filter=True,
                       meta={"model_id": model_id, "version": version, "handle_httpstatus_list": [404]})
               for model_id, version in todo] if self.readmes else []
        if not self.readmes:
            self.notes.append(f"READMEs skipped: {len(todo)} changed models keep their previous lineage")
        if self.dolphin:
            out += [self._dolphin_request(owner, 1) for owner in live_owners(self.state.store, self.hub)]
        return out

    def parse_detail(self, response: Response) -> Iterator[Any]:
        model_id, version = response.meta["model_id"], response.meta["version"]
        text, error = None, None
        if response.status == 404:
            error = "no detail (HTTP 404)"
        else:
            data, retry, bad = self.read(response, ms.detail_data)
            if retry is not None:
                yield retry
                return
            if bad is not None:
                self.follow_up_failed(bad)
                return
            readme = data.get("readme")
            text = readme if isinstance(readme, str) else None
            error = None if text is not None else "no readme in the detail"
        yield FetchedCard(self.hub, model_id, version, text, error)

    def _dolphin_request(self, owner: str, page: int) -> Request:
        return Request(ms.dolphin_url(self.endpoint), method="PUT", body=orjson.dumps(ms.dolphin_body(owner, page)),
                       headers={"Content-Type": "application/json"}, callback=self.parse_dolphin,
                       errback=self._dolphin_failed, dont_filter=True, meta={"owner": owner, "page": page})

    def parse_dolphin(self, response: Response) -> Iterator[Any]:
        answer, retry, error = self.read(response, ms.dolphin_data)
        if retry is not None:
            yield retry
            return
        if error is not None:
            self._dolphin_failed(error)
            return
        items, total = answer
        owner, page = response.meta["owner"], response.meta["page"]
        flags = {mid: f for mid, f in map(ms.dolphin_flags, items) if mid and f}
        if flags:
            yield DeployFlags(self.hub, flags)
        if items and page * ms.DOLPHIN_PAGE_SIZE < total:
            yield self._dolphin_request(owner, page + 1)

    def _dolphin_failed(self, failure: Any) -> None:
        reason = str(failure) if isinstance(failure, Exception | str) else failure_reason(failure)
        if self._dolphin_error is None:
            self._dolphin_error = reason
        self.logger.warning("dolphin search failed: %s", reason)

    def closed(self, reason: str) -> None:
        """The run's note on deployment flags, when the follow-ups ran to the end."""
        if not self.state.listing_complete or self.listing_failed or reason != "finished":
            return
        if not self.dolphin:
            self.notes.append("dolphin search skipped: deployment flags not updated")
        elif self._dolphin_error:
            self.notes.append(f"dolphin search unavailable ({self._dolphin_error}); deployment flags updated "
                              f"for {len(self.state.deploy_flagged)} models only")
        else:
            self.notes.append(f"deployment flags from the dolphin search for {len(self.state.deploy_flagged)} models")
