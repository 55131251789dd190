"""Hostile and stingy hubs: a spent quota, pagination that never ends or leaves the host, foreign redirects."""

from __future__ import annotations

import pytest

from crawler.hubs.hf import LinkGuard, PaginationError, max_pages
from tests.support.sim import SAMPLE_WORLD, sim_in_process
from tests.support.store import hubtree

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
        assert guard.check(f"http://HUB.test/api/models?cursor={n}", [f"m{2 * n}", f"m{2 * n + 1}"])


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
            guard.check(url, ids)
