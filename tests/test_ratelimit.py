"""The crawler's rate-limit budget, fed with the IETF headers the hubs send."""

from __future__ import annotations

import time

from crawler.hubs.ratelimit import RESET_MARGIN_S, RateLimiter


def headers(remaining: int, reset: int, quota: int = 100, window: int = 300) -> dict[str, str]:
    return {"RateLimit": f'"api";r={remaining};t={reset}',
            "RateLimit-Policy": f'"fixed window";"api";q={quota};w={window}'}


def test_spent_bucket_waits_for_the_announced_reset():
    limiter = RateLimiter()
    limiter.observe("api", headers(0, 2))
    wait = limiter.state("api").wait_needed(time.monotonic())
    assert 1.5 < wait <= 2 + RESET_MARGIN_S


def test_every_request_sent_spends_the_budget_even_without_an_answer():
    limiter = RateLimiter()
    limiter.observe("api", headers(2, 30))
    st = limiter.state("api")
    assert st.wait_needed(time.monotonic()) == 0
    st.spend()
    st.spend()
    st.done()  # e.g. a dropped connection: no headers, but the hub counted it
    assert st.wait_needed(time.monotonic()) > 0


def test_a_new_window_leaves_out_requests_still_in_flight():
    limiter = RateLimiter()
    limiter.observe("api", headers(0, 5, quota=10))
    st = limiter.state("api")
    st.spend()
    st.spend()
    st.reset_at = time.monotonic() - 0.1
    assert st.wait_needed(time.monotonic()) == 0
    assert st.remaining == 8  # the two in flight will be counted in the new window


def test_a_new_window_restores_the_quota():
    limiter = RateLimiter()
    limiter.observe("api", headers(0, 5, quota=100))
    st = limiter.state("api")
    st.reset_at = time.monotonic() - 0.1  # the window has turned
    assert st.wait_needed(time.monotonic()) == 0
    assert st.remaining == 100


def test_out_of_order_answers_keep_the_smallest_remaining_of_a_window():
    limiter = RateLimiter()
    limiter.observe("api", headers(10, 30))
    limiter.observe("api", headers(40, 30))  # an older answer arriving late
    assert limiter.state("api").remaining == 10


def test_a_slow_answer_cannot_open_a_new_window():
    limiter = RateLimiter()
    limiter.observe("api", headers(0, 2))
    before = limiter.state("api").reset_at
    limiter.observe("api", headers(90, 200), latency=3.0)  # figures from an unknown moment
    st = limiter.state("api")
    assert st.remaining == 0 and st.reset_at == before


def test_429_without_headers_waits_for_retry_after():
    limiter = RateLimiter()
    limiter.observe("resolvers", {"Retry-After": "3"}, throttled=True)
    st = limiter.state("resolvers")
    assert st.remaining == 0
    assert 2.5 < st.wait_needed(time.monotonic()) <= 3 + RESET_MARGIN_S
