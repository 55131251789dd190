"""Rate limits (429 + RateLimit headers per bucket) and seeded fault injection of the simulator."""

from __future__ import annotations

import http.client
import json
from typing import Any
from urllib.parse import urlsplit

import pytest
from huggingface_hub.utils import parse_ratelimit_headers

from hubsim.faults import FAULT_KINDS
from hubsim.ratelimit import RateLimiter
from tests.support.sim import SAMPLE_WORLD, sim_in_process, world_records


@pytest.fixture(scope="module")
def carded() -> dict[str, Any]:
    return next(r for r in world_records(SAMPLE_WORLD) if "readme" in r)


def test_quota_gives_429_with_ratelimit_headers(carded: dict[str, Any]) -> None:
    with sim_in_process(SAMPLE_WORLD, quota=3, window=600) as sim:
        answers = [sim.get("/api/models", {"limit": 2}) for _ in range(4)]
        remaining = [parse_ratelimit_headers(a.headers).remaining for a in answers]
        assert [a.status for a in answers] == [200, 200, 200, 429]
        assert remaining == [2, 1, 0, 0]
        info = parse_ratelimit_headers(answers[3].headers)
        assert (info.resource_type, info.limit, info.window_seconds) == ("api", 3, 600)
        assert int(answers[3].headers["Retry-After"]) == info.reset_in_seconds > 0
        assert "error" in answers[3].json()
        card = sim.get(f"/{carded['id']}/resolve/main/README.md")  # another bucket, still open
        assert card.status == 200 and parse_ratelimit_headers(card.headers).resource_type == "resolvers"
        ms = sim.get("/openapi/v1/models")  # ModelScope counts against "api"
        assert ms.status == 429 and ms.json()["code"] == "RateLimitExceed" and ms.json()["success"] is False
        stats = sim.stats()  # control endpoints are not limited
    assert stats["rate_limited"] == 2 and stats["by_bucket_status"]["api"]["429"] == 2


def test_spent_modelscope_quota_is_403_quota_limit_exceed_not_429() -> None:
    with sim_in_process(SAMPLE_WORLD, ms_quota=2) as sim:
        answers = [sim.get("/openapi/v1/models", {"page_size": 1}) for _ in range(3)]
        hf = sim.get("/api/models", {"limit": 1})  # Hugging Face is not charged
    assert [a.status for a in answers] == [200, 200, 403]
    assert answers[2].json()["code"] == "QuotaLimitExceed" and answers[2].json()["success"] is False
    assert "Retry-After" not in answers[2].headers and hf.status == 200


def test_fixed_windows_reset() -> None:
    now = [100.0]
    limiter = RateLimiter(quota=2, window=10, clock=lambda: now[0])
    assert [limiter.take("api").allowed for _ in range(3)] == [True, True, False]
    assert limiter.take("resolvers").allowed
    now[0] += 10
    decision = limiter.take("api")
    assert decision.allowed and decision.remaining == 1 and decision.headers()["RateLimit"] == '"api";r=1;t=10'


def _raw_get(url: str, path: str) -> tuple[str, Any]:
    """One request on a fresh connection: the outcome as the crawler would see it."""
    parts = urlsplit(url)
    connection = http.client.HTTPConnection(parts.hostname, parts.port, timeout=30)
    try:
        connection.request("GET", path)
        answer = connection.getresponse()
        body = answer.read()
    except (http.client.RemoteDisconnected, ConnectionError):
        return "dropped", None
    finally:
        connection.close()
    if answer.status >= 500:
        return str(answer.status), None
    assert int(answer.headers["Content-Length"]) == len(body)
    try:
        return "ok", json.loads(body)
    except ValueError:
        return "truncated", body


def test_every_fault_kind_is_injected_and_seeded() -> None:
    outcomes = []
    with sim_in_process(SAMPLE_WORLD, fault_rate=1.0, seed=7, slow_seconds=0.01) as sim:
        for _ in range(60):
            outcomes.append(_raw_get(sim.url, "/api/models?limit=3")[0])
        stats = sim.stats()  # /_sim/* is never faulted
    assert set(stats["faults"]) == set(FAULT_KINDS) and sum(stats["faults"].values()) == 60
    assert {"500", "502", "503", "dropped", "truncated", "ok"} == set(outcomes)
    assert outcomes.count("ok") == stats["faults"]["slow"]  # a slow answer is still a whole answer
    assert outcomes.count("dropped") == stats["by_status"]["dropped"] == stats["faults"]["drop"]

    def run(seed: int) -> list[str]:
        with sim_in_process(SAMPLE_WORLD, fault_rate=0.4, seed=seed, slow_seconds=0.01) as again:
            return [_raw_get(again.url, "/api/models?limit=3")[0] for _ in range(40)]

    first = run(3)
    assert first == run(3) and "ok" in first and len(set(first)) > 2
