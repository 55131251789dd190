"""Hostile and stingy hubs: a spent quota, pagination that never ends or leaves the host, foreign redirects."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlsplit

import pytest
from sqlalchemy import select

from crawler.hubs.hf import LinkGuard, PaginationError, listing_url, max_pages
from crawler.store import CrawlRun, Model, open_store
from tests.support.sim import SAMPLE_WORLD, fetch, sim_in_process, world_records
from tests.support.store import CliRun, hubtree

pytestmark = pytest.mark.skipif(not SAMPLE_WORLD.exists(), reason="needs data/sample")


def test_spent_modelscope_quota_stops_the_crawl_without_retrying(tmp_path) -> None:
    db = f"sqlite:///{tmp_path / 'store.db'}"
    with sim_in_process(SAMPLE_WORLD, ms_quota=40) as sim:
        run = hubtree("crawl", "modelscope", "--endpoint", sim.url, "--db", db, "--json", "--concurrency", "4")
        stats = sim.stats()
    summary = run.summary
    assert summary["status"] in ("partial", "failed") and run.code != 0
    assert any("QuotaLimitExceed" in note for note in summary["notes"]), summary["notes"]
    refused = stats["by_status"].get("403", 0)
    assert 1 <= refused <= 4  # only the requests already in flight, never a retry


def test_link_guard_follows_an_honest_chain() -> None:
    guard = LinkGuard("http://hub.test", limit=max_pages(2, 100))
    for n in range(5):
        url = f"http://HUB.test/api/models?cursor={n}"
        assert guard.check_url(url) == url
        guard.check_ids([f"m{2 * n}", f"m{2 * n + 1}"])


@pytest.mark.parametrize(("pages", "reason"), [
    ([("http://hub.test/p?c=1", ["a"]), ("http://hub.test/p?c=1", ["b"])], "seen before"),
    ([("http://hub.test/p?c=1", ["a", "b"]), ("http://hub.test/p?c=2", ["a", "b"])], "repeats rows"),
    ([("http://evil.test/p?c=1", ["a"])], "another host"),
    ([("https://hub.test/p?c=1", ["a"])], "another host"),
    ([("http://hub.test/p?c=1", [])], "empty page"),
    ([(f"http://hub.test/p?c={n}", [str(n)]) for n in range(4)], "longer than 3 pages"),
])
def test_link_guard_refuses(pages: list[tuple[str, list[str]]], reason: str) -> None:
    guard = LinkGuard("http://hub.test", limit=3)
    with pytest.raises(PaginationError, match=reason):
        for url, ids in pages:
            guard.check_url(url)
            guard.check_ids(ids)


class _FakeHub(ThreadingHTTPServer):
    """A tiny hostile Hub: ``behaviour`` decides each listing page's ``Link`` (or a redirect)."""

    daemon_threads = True

    def __init__(self, behaviour: str, other: str = ""):
        super().__init__(("127.0.0.1", 0), _FakeHandler)
        self.behaviour, self.other, self.requests, self.spoiled = behaviour, other, 0, False
        self.paths: list[str] = []  # what was asked for, in order

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server_address[1]}"


class _FakeHandler(BaseHTTPRequestHandler):
    server: _FakeHub

    def log_message(self, *args: object) -> None:
        pass

    def do_GET(self) -> None:  # noqa: N802 - the base class's name
        hub = self.server
        hub.requests += 1
        hub.paths.append(self.path)
        query = parse_qs(urlsplit(self.path).query)
        page = int(query.get("cursor", ["0"])[0])
        here = f"{hub.url}{urlsplit(self.path).path}"
        rows = [{"id": f"org/m{2 * page + i}", "createdAt": "2024-01-01T00:00:00.000Z", "tags": []} for i in range(2)]
        behaviour = hub.behaviour.removesuffix("-first-invalid")  # with it: the first page's first answer not JSON
        link = {"loop": f"{here}?{urlsplit(self.path).query}",
                "same-rows": f"{here}?cursor={page + 1}&sort=createdAt",
                "endless": f"{here}?cursor={page + 1}&sort=createdAt",
                "other-host": f"{hub.other}/api/models?cursor=1"}.get(behaviour)
        if hub.behaviour == "invalid-once":  # four pages; the second's first answer is not JSON
            link = f"{here}?cursor={page + 1}&sort=createdAt" if page < 3 else None
            if page == 1 and not hub.spoiled:
                hub.spoiled = True
                self._answer(b'[{"id": "org/m2", "createdAt"', None)
                return
        if behaviour == "same-rows":
            rows = [{"id": f"org/m{i}", "createdAt": "2024-01-01T00:00:00.000Z", "tags": []} for i in range(2)]
        if behaviour != hub.behaviour and page == 0 and not hub.spoiled:
            hub.spoiled = True
            self._answer(b'[{"id": "org/m0", "createdAt"', link)
            return
        if hub.behaviour == "redirect" and self.path.startswith("/api/models"):
            self.send_response(302)
            self.send_header("Location", f"{hub.other}/api/models")
            self.send_header("Content-Length", "0")
            self.end_headers()
            return
        self._answer(json.dumps(rows if self.path.startswith("/api/models") else []).encode(),
                     link if hub.requests < 500 else None)

    def _answer(self, body: bytes, link: str | None) -> None:
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        if link:
            self.send_header("Link", f'<{link}>; rel="next"')
        self.end_headers()
        self.wfile.write(body)


@contextmanager
def fake_hub(behaviour: str, other: str = "") -> Iterator[_FakeHub]:
    hub = _FakeHub(behaviour, other)
    thread = threading.Thread(target=hub.serve_forever, daemon=True)
    thread.start()
    try:
        yield hub
    finally:
        hub.shutdown()
        hub.server_close()


@pytest.mark.parametrize(("behaviour", "reason", "max_requests"), [
    ("loop", "seen before", 3),
    ("same-rows", "repeats rows", 3),
    ("endless", "longer than 6 pages", 7),
    ("other-host", "another host", 2),
])
def test_a_hostile_link_chain_stops_the_crawl_with_its_reason(tmp_path, behaviour, reason, max_requests) -> None:
    db = f"sqlite:///{tmp_path / 'store.db'}"
    with fake_hub("loop") as foreign, fake_hub(behaviour, other=foreign.url.replace("127.0.0.1", "localhost")) as hub:
        run = hubtree("crawl", "hf", "--endpoint", hub.url, "--db", db, "--json", "--page-size", "2",
                      "--cards", "none", env={"HUBTREE_MAX_LISTING_MODELS": "10"}, timeout=120)
        served, foreign_served = hub.requests, foreign.requests
    summary = run.summary
    assert run.code in (1, 3) and summary["status"] in ("partial", "failed"), run.stderr[-2000:]
    assert any(reason in note for note in summary["notes"]), summary["notes"]
    assert served <= max_requests and foreign_served == 0
    with open_store(db).engine.connect() as conn:  # resumable: a checkpoint without a host
        checkpoint = conn.execute(select(CrawlRun.checkpoint)).scalar_one()
    assert checkpoint["next_url"].startswith("/api/models?"), checkpoint


@pytest.mark.parametrize(("behaviour", "reason", "max_requests", "resume"), [
    ("loop", "seen before", 2, "?sort=createdAt&limit=2&"),
    ("same-rows", "repeats rows", 3, "?cursor=2&"),
    ("same-rows-first-invalid", "repeats rows", 5, "?cursor=1&"),
])
def test_a_page_that_comes_before_the_one_linking_to_it_is_read_waits_for_it(tmp_path, behaviour, reason,
                                                                             max_requests, resume) -> None:
    """The next page is asked for before a page is read, so it can come while the page is unread (here always: the
    wait before the read is stretched to 1 s; on a local hub it sometimes does in 2 ms). It waits: the hostile
    chain stops where it starts, for the same reason as when pages come slowly. A first page that must be asked for
    again is read after the pages behind it: it is still stored when they stop the listing, and when it stops it
    itself, they are not. The run resumes at the page after the last one stored."""
    db = f"sqlite:///{tmp_path / 'store.db'}"
    read_late = "import crawler.spiders.hf as hf; hf.SEND_FIRST_S = 1.0; from hubtree.cli import main; main()"
    with fake_hub(behaviour) as hub:
        proc = subprocess.run([sys.executable, "-c", read_late, "crawl", "hf", "--endpoint", hub.url, "--db", db,
                               "--json", "--page-size", "2", "--cards", "none"], capture_output=True, text=True,
                              timeout=120, env={**os.environ, "HUBTREE_MAX_LISTING_MODELS": "10"})
        paths = hub.paths
    run = CliRun(proc.returncode, proc.stdout, proc.stderr)
    assert run.code in (1, 3) and len(paths) <= max_requests, (run.stderr[-2000:], paths)
    assert [note for note in run.summary["notes"] if "listing stopped" in note] == [
        next(note for note in run.summary["notes"] if reason in note)]
    with open_store(db).engine.connect() as conn:
        checkpoint = conn.execute(select(CrawlRun.checkpoint)).scalar_one()
        stored = sorted(conn.execute(select(Model.id)).scalars())
    assert stored == ["org/m0", "org/m1"]
    assert resume in checkpoint["next_url"], (checkpoint, paths)


def test_a_page_asked_for_again_keeps_its_place_before_the_pages_after_it(tmp_path) -> None:
    """The next page is asked for before a page is read: when the page is not JSON and is fetched again, the page
    after it has already come, and is still committed after it (nothing is lost or left uncommitted)."""
    db = f"sqlite:///{tmp_path / 'store.db'}"
    with fake_hub("invalid-once") as hub:
        run = hubtree("crawl", "hf", "--endpoint", hub.url, "--db", db, "--json", "--page-size", "2",
                      "--cards", "none", timeout=120)
        served = hub.requests
    assert run.code == 0 and run.summary["status"] == "success", run.stderr[-2000:]
    assert run.summary["records"] == 8 and served == 5  # four pages, one of them twice
    with open_store(db).engine.connect() as conn:
        assert sorted(conn.execute(select(Model.id)).scalars()) == [f"org/m{i}" for i in range(8)]


def test_a_redirect_to_another_host_is_not_followed(tmp_path) -> None:
    db = f"sqlite:///{tmp_path / 'store.db'}"
    with fake_hub("loop") as foreign, fake_hub("redirect", other=foreign.url.replace("127.0.0.1", "localhost")) as hub:
        run = hubtree("crawl", "hf", "--endpoint", hub.url, "--db", db, "--json", "--cards", "none", timeout=120)
        foreign_served = foreign.requests
    summary = run.summary
    assert run.code == 1 and summary["status"] == "failed" and summary["records"] == 0
    assert any("redirect to another host refused" in note for note in summary["notes"]), summary["notes"]
    assert foreign_served == 0


def test_a_resume_asks_the_current_endpoint_not_the_checkpoints_host(tmp_path) -> None:
    db = f"sqlite:///{tmp_path / 'store.db'}"
    with sim_in_process(SAMPLE_WORLD) as old:  # an older run stopped after page 1, its checkpoint on this host
        next_url = fetch(listing_url(old.url, sort="createdAt", limit=500)).next_url
    assert next_url and next_url.startswith(old.url)
    store = open_store(db)
    with store.transaction() as conn:
        conn.execute(CrawlRun.__table__.insert().values(  # type: ignore[attr-defined]
            hub="hf", mode="full", status="partial", started_at=datetime(2026, 1, 1), notes=[],
            checkpoint={"phase": "sweep", "next_url": next_url}))
    store.engine.dispose()
    with sim_in_process(SAMPLE_WORLD) as new:  # the old host is gone; the endpoint is another
        run = hubtree("crawl", "hf", "--endpoint", new.url, "--db", db, "--json", "--page-size", "500",
                      "--cards", "none")
    summary = run.summary
    assert run.code == 0 and summary["status"] == "success" and summary["resumed"], summary
    total = len({r["id"] for r in world_records(SAMPLE_WORLD)})
    assert summary["records"] == total - 500
    with open_store(db).engine.connect() as conn:
        checkpoint = conn.execute(select(CrawlRun.checkpoint)).scalar_one()
    assert checkpoint == {"phase": "done"}
