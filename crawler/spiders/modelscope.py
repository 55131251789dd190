"""The ModelScope spider: plan partitions, list them page by page (checkpointed), then details and deploy flags.

1. **Plan** (``page_size=1`` probes): seed queries (root owners, family ``model_type``s, name terms) are split
   below the 3,000-row cap (:mod:`crawler.partitions`); the plan and its coverage proof go into the checkpoint.
2. **List** each leaf with ``sort=last_modified``; every page is committed with the next (leaf, page) to fetch,
   so a killed crawl resumes there. Incremental mode stops a leaf at the previous run's watermark.
3. **Follow-ups**: the detail (``readme``) of models whose ``last_modified`` changed since their card was
   fetched, then the dolphin search per owner for deployment flags (an unstable endpoint: failures are noted,
   never fatal).
4. **Finish**: card fields and declared edges from the README front matter, base resolution, family counts,
   and mirror matching against the Hugging Face models in the store.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterable, Iterator
from datetime import datetime
from typing import Any

import orjson
from scrapy import Request
from scrapy.exceptions import DontCloseSpider
from scrapy.http import Response
from sqlalchemy import bindparam, select, update

from crawler.cards import bound_text, parse_front_matter
from crawler.config import DEFAULT_FAMILY_ARCHITECTURES
from crawler.family import family_of, resolve_edges
from crawler.hubs import modelscope as ms
from crawler.ingest import mark_unseen_deleted, now_utc, quarantine_row
from crawler.items import ListingPage
from crawler.mirrors import match_mirrors
from crawler.partitions import Plan, Planner
from crawler.records import utc_naive
from crawler.records_modelscope import HUB, card_fields, parse_modelscope
from crawler.spiders.base import HubSpider
from crawler.store.schema import Card, CrawlRun, Edge, Model, Quarantine

DEFAULT_SEARCH_TERMS = ("qwen", "qwq")
DETAIL_BATCH = 200


class ModelScopeSpider(HubSpider):
    name = "modelscope"
    hub = HUB

    def __init__(self, *, watermarks: dict[str, datetime | None] | None = None,
                 root_authors: Iterable[str] = ("Qwen",), architectures: Iterable[str] = DEFAULT_FAMILY_ARCHITECTURES,
                 search_terms: Iterable[str] = DEFAULT_SEARCH_TERMS, dolphin: bool = True,
                 readmes: bool = True, discovery_pages: int = 4, **kwargs: Any):
        super().__init__(**kwargs)
        self.watermark = (watermarks or {}).get("lastModified")
        self.root_authors = tuple(root_authors)
        self.architectures = tuple(architectures)
        self.search_terms = tuple(search_terms)
        self.dolphin = dolphin
        self.readmes = readmes
        self.discovery_pages = discovery_pages
        self.plan: Plan | None = None
        self.family_counts: dict[str, int] = {}
        self._page_repeats = 0
        self._details: list[dict[str, Any]] = []
        self._dolphin_error: str | None = None
        self._dolphin_ids: set[str] = set()
        self._finished = False

    def parse_record(self, raw: Any) -> Any:
        return parse_modelscope(raw)

    # -- 1. plan ----------------------------------------------------------------------------------------------
    async def _get_json(self, request: Request) -> Any:
        """Download through the middlewares (throttling, retries); a truncated/invalid body is retried."""
        from scrapy.downloadermiddlewares.retry import get_retry_request

        while True:
            response = await self.crawler.engine.download_async(request)
            if response.status != 200:
                raise ms.EnvelopeError(f"HTTP {response.status}", response.text[:200] if hasattr(response, "text")
                                       else "", None)
            try:
                return orjson.loads(response.body)
            except orjson.JSONDecodeError:
                retry = get_retry_request(request, spider=self, reason="invalid JSON body")
                if retry is None:
                    raise ms.EnvelopeError("BadJSON", f"invalid JSON body after retries from {request.url}") from None
                request = retry

    async def _probe(self, query: ms.Query, sort: str, page_number: int, page_size: int) -> tuple[list[Any], int]:
        url = ms.listing_url(self.endpoint, query, page_number=page_number, page_size=page_size, sort=sort)
        return ms.listing_data(await self._get_json(Request(url, dont_filter=True)))

    async def _make_plan(self) -> Plan:
        known = {"model_type": self.architectures}
        seeds = ms.seed_queries(self.root_authors, self.architectures, self.search_terms)
        return await Planner(self._probe, known=known, discovery_pages=self.discovery_pages).run(seeds)

    async def start(self) -> AsyncIterator[Any]:
        phase = self.checkpoint.get("phase")
        if phase == "follow-ups":
            self.listing_complete = True
            return
        if phase != "listing":
            self.progress.phase("planning partitions")
            try:
                self.plan = await self._make_plan()
            except Exception as exc:  # noqa: BLE001 - any failure stops the run with the reason
                self.totals["errors"] += 1
                self.listing_failed = f"partition planning failed: {exc.__class__.__name__}: {exc}"
                return
            self.checkpoint = {"phase": "listing", "plan": self.plan.to_json(), "leaf": 0, "page": 1,
                               "listed": [0] * len(self.plan.leaves)}
            self.notes.extend(self.plan.proof())
            self._commit_checkpoint()
        else:
            self.plan = Plan.from_json(self.checkpoint["plan"])
        self.progress.phase("listing", total=sum(ms.last_page(t) for _, t in self.plan.leaves))
        request = self._next_request(self.checkpoint)
        if request is None:
            self.checkpoint = {"phase": "follow-ups", "plan": self.checkpoint["plan"],
                               "listed": self.checkpoint.get("listed", [])}
            self._commit_checkpoint()
            self.listing_done()
        else:
            yield request

    def _commit_checkpoint(self) -> None:
        tbl = CrawlRun.__table__  # type: ignore[attr-defined]
        with self.store.transaction() as conn:
            conn.execute(update(tbl).where(tbl.c.run_id == self.run_id).values(
                checkpoint=self.checkpoint, **self.counter_values()))

    def _read(self, response: Response, reader: Any) -> tuple[Any, Request | None, str | None]:
        """``(value, retry, error)``: ``reader`` applied to the JSON body, a retry of a cut body, or why not."""
        data, retry, error = self.decode_json(response)
        if retry is not None or error is not None:
            return None, retry, error and f"{response.url}: {error}"
        try:
            return reader(data), None, None
        except ms.EnvelopeError as exc:
            return None, None, f"{response.url}: {exc}"

    # -- 2. list ----------------------------------------------------------------------------------------------
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
        answer, retry, error = self._read(response, ms.listing_data)
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
            checkpoint = {"phase": "listing", "plan": self.checkpoint["plan"], **position, "listed": listed}
        else:
            checkpoint = {"phase": "follow-ups", "plan": self.checkpoint["plan"], "listed": listed}
        self.checkpoint = checkpoint
        self._page_repeats = self._seen_this_run(models)
        yield from self._page_items(response.url, models, checkpoint, follow)

    def _page_items(self, url: str, models: list[Any], checkpoint: dict[str, Any], follow: Request | None) -> list[Any]:
        """The page item, then the next page's request (the pipeline commits pages in listing order)."""
        page = ListingPage(self.hub, url, models, checkpoint, seq=self.next_seq(), last=follow is None)
        return [page] if follow is None else [page, follow]

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

    def _seen_this_run(self, models: list[Any]) -> int:
        """How many of a page's ids an earlier leaf of this run already listed (seeds overlap)."""
        ids = list({m["id"] for m in models if isinstance(m, dict) and isinstance(m.get("id"), str)})
        if not ids:
            return 0
        tbl = Model.__table__  # type: ignore[attr-defined]
        with self.store.engine.connect() as conn:
            return len(conn.execute(select(tbl.c.id).where(tbl.c.hub == self.hub, tbl.c.id.in_(ids),
                                                           tbl.c.last_seen_run == self.run_id)).all())

    def run_updates(self, result: Any) -> dict[str, int]:
        result.records -= self._page_repeats  # ``records`` counts distinct models
        return super().run_updates(result)

    def listing_done(self) -> None:
        super().listing_done()
        plan = self.plan or Plan.from_json(self.checkpoint.get("plan") or {})
        listed = self.checkpoint.get("listed") or []
        short = [(q.label(), t, n) for (q, t), n in zip(plan.leaves, listed, strict=False)
                 if n < min(t, ms.ROW_CAP)]
        if self.mode == "full":
            if short:
                self.notes.append("leaves short of their total (the hub changed while listing?): "
                                  + "; ".join(f"{q}: {n}/{t}" for q, t, n in short[:10]))
            else:
                self.notes.append(f"every leaf listed in full: {sum(listed)} rows for {len(plan.leaves)} leaves")
            if plan.gap == 0 and not short:
                self.totals["deleted"] += mark_unseen_deleted(self.store, self.hub, self.run_id)
            else:
                self.notes.append("coverage not complete: vanished models are not marked deleted this run")

    # -- 3. follow-ups ----------------------------------------------------------------------------------------
    def plan_follow_ups(self) -> Iterable[Request]:
        m, c = Model.__table__, Card.__table__  # type: ignore[attr-defined]
        q = (select(m.c.id, m.c.last_modified, m.c.record_hash, c.c.sha.label("card_sha"))
             .select_from(m.outerjoin(c, (c.c.hub == m.c.hub) & (c.c.id == m.c.id)))
             .where(m.c.hub == self.hub, m.c.deleted_at.is_(None)))
        with self.store.engine.connect() as conn:
            rows = conn.execute(q).all()
        todo = sorted((r.id, _version(r.last_modified, r.record_hash)) for r in rows
                      if r.card_sha != _version(r.last_modified, r.record_hash))
        out = [Request(ms.detail_url(self.endpoint, model_id), callback=self.parse_detail,
                       errback=self.follow_up_failed, dont_filter=True,
                       meta={"model_id": model_id, "version": version, "handle_httpstatus_list": [404]})
               for model_id, version in todo] if self.readmes else []
        if not self.readmes:
            self.notes.append(f"READMEs skipped: {len(todo)} changed models keep their previous lineage")
        if self.dolphin:
            owners = sorted({r.id.split("/", 1)[0] for r in rows})
            out += [self._dolphin_request(owner, 1) for owner in owners]
        return out

    def parse_detail(self, response: Response) -> Iterator[Any]:
        model_id, version = response.meta["model_id"], response.meta["version"]
        text, error = None, None
        if response.status == 404:
            error = "no detail (HTTP 404)"
        else:
            data, retry, bad = self._read(response, ms.detail_data)
            if retry is not None:
                yield retry
                return
            if bad is not None:
                self.follow_up_failed(bad)
                return
            readme = data.get("readme")
            text = readme if isinstance(readme, str) else None
            error = None if text is not None else "no readme in the detail"
        self._details.append({"id": model_id, "version": version, "text": text, "error": error})
        if len(self._details) >= DETAIL_BATCH:
            self._flush_details()

    def _flush_details(self) -> None:
        if not self._details:
            return
        batch, self._details = self._details, []
        rows, bad = [], []
        for d in batch:
            row = {"hub": self.hub, "id": d["id"], "sha": d["version"], "fetched_at": now_utc(), "text": None,
                   "truncated": False, "front_matter": None, "error": d["error"]}
            if d["text"] is not None:
                text, truncated = bound_text(d["text"])
                fm = parse_front_matter(text)
                row.update(text=text, truncated=truncated, front_matter=fm.data or None, error=fm.error)
                if fm.error:
                    bad.append(quarantine_row(self.hub, d["id"], fm.error, text[:4096], kind="card",
                                              run_id=self.run_id))
            rows.append(row)
        with self.store.transaction() as conn:
            self.store.upsert(conn, Card, rows)
            self.store.upsert(conn, Quarantine, bad)
        self.cards_stored(len(rows), len(bad))

    def _dolphin_request(self, owner: str, page: int) -> Request:
        return Request(ms.dolphin_url(self.endpoint), method="PUT", body=orjson.dumps(ms.dolphin_body(owner, page)),
                       headers={"Content-Type": "application/json"}, callback=self.parse_dolphin,
                       errback=self._dolphin_failed, dont_filter=True, meta={"owner": owner, "page": page})

    def parse_dolphin(self, response: Response) -> Iterator[Any]:
        answer, retry, error = self._read(response, ms.dolphin_data)
        if retry is not None:
            yield retry
            return
        if error is not None:
            self._dolphin_failed(error)
            return
        items, total = answer
        owner, page = response.meta["owner"], response.meta["page"]
        flags = [{"i": mid, "f": f} for mid, f in map(ms.dolphin_flags, items) if mid and f]
        if flags:
            tbl = Model.__table__  # type: ignore[attr-defined]
            with self.store.transaction() as conn:
                known = set(conn.execute(select(tbl.c.id).where(tbl.c.hub == self.hub, tbl.c.id.in_(
                    [f["i"] for f in flags]))).scalars())
                conn.execute(update(tbl).where(tbl.c.hub == self.hub, tbl.c.id == bindparam("i"))
                             .values(deploy_flags=bindparam("f")), [f for f in flags if f["i"] in known] or flags[:0])
            self._dolphin_ids |= known
        if items and page * ms.DOLPHIN_PAGE_SIZE < total:
            yield self._dolphin_request(owner, page + 1)

    def _dolphin_failed(self, failure: Any) -> None:
        from crawler.spiders.base import _failure_reason

        reason = str(failure) if isinstance(failure, Exception | str) else _failure_reason(failure)
        if self._dolphin_error is None:
            self._dolphin_error = reason
        self.logger.warning("dolphin search failed: %s", reason)

    # -- 4. finish ----------------------------------------------------------------------------------------------
    def _on_idle(self) -> None:
        self._flush_details()
        try:
            super()._on_idle()
        except DontCloseSpider:
            raise
        if self.listing_complete and not self.listing_failed and not self.follow_ups and not self._finished:
            self._finished = True
            self._finish()

    def _finish(self) -> None:
        changed = apply_cards(self.store)
        resolved = resolve_edges(self.store, self.hub)
        fam = family_of(self.store, self.hub, self.root_authors, self.architectures)
        self.family_counts = {"roots": len(fam.roots), "family_models": len(fam.members),
                              "undeclared": len(fam.undeclared)}
        self.notes.append(f"front matter applied to {changed} models; bases: {resolved['missing']} not on "
                          f"ModelScope (kept unresolved), {resolved['case_normalised']} case-normalised")
        if self.dolphin:
            if self._dolphin_error:
                self.notes.append(f"dolphin search unavailable ({self._dolphin_error}); deployment flags updated "
                                  f"for {len(self._dolphin_ids)} models only")
            else:
                self.notes.append(f"deployment flags from the dolphin search for {len(self._dolphin_ids)} models")
        else:
            self.notes.append("dolphin search skipped: deployment flags not updated")
        summary = match_mirrors(self.store)
        self.notes.append(summary.describe())


def _version(last_modified: datetime | None, record_hash: str) -> str:
    """What a fetched card is compared with: the model's ``last_modified`` (else its record hash)."""
    return last_modified.isoformat() if last_modified is not None else f"hash:{record_hash}"


def apply_cards(store: Any) -> int:
    """Card data, licence fields and declared edges of every ModelScope model from its stored README front matter.

    Runs after each crawl (a listing rewrite of a changed record clears them); idempotent. Returns the number of
    models whose row or edges changed.
    """
    m, c, e = Model.__table__, Card.__table__, Edge.__table__  # type: ignore[attr-defined]
    q = (select(m.c.id, m.c.tags, m.c.license, m.c.library_name, m.c.card_data, m.c.license_name, m.c.license_link,
                c.c.front_matter)
         .select_from(m.join(c, (c.c.hub == m.c.hub) & (c.c.id == m.c.id))).where(m.c.hub == HUB))
    changed = 0
    with store.transaction() as conn:
        stored_edges: dict[str, set[tuple]] = {}
        for r in conn.execute(select(e).where(e.c.hub == HUB)):
            stored_edges.setdefault(r.child, set()).add((r.parent_raw, r.relation, r.rule))
        updates, new_edges, replace = [], [], []
        for r in conn.execute(q).all():
            values, edges = card_fields(r.id, {"tags": r.tags, "license": r.license, "library_name": r.library_name},
                                        r.front_matter)
            current = {"card_data": r.card_data, "license_name": r.license_name, "license_link": r.license_link,
                       "license": r.license}
            edges_differ = {(x.parent_raw, x.relation, x.rule) for x in edges} != stored_edges.get(r.id, set())
            if values != current:
                updates.append({"i": r.id, **values})
            if edges_differ:
                replace.append(r.id)
                new_edges += [x.row(HUB) for x in edges]
            changed += values != current or edges_differ
        if updates:
            conn.execute(update(m).where(m.c.hub == HUB, m.c.id == bindparam("i")).values(
                card_data=bindparam("card_data"), license=bindparam("license"),
                license_name=bindparam("license_name"), license_link=bindparam("license_link")), updates)
        store.delete_where_in(conn, Edge, HUB, "child", replace)
        store.upsert(conn, Edge, new_edges)
    return changed

