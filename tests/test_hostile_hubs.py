"""Hostile and stingy hubs: a spent quota, pagination that never ends or leaves the host, foreign redirects."""

from __future__ import annotations

import pytest

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
