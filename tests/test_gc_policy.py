"""The collector's schedule during a bulk job: collections rarer inside, the caller's schedule back after."""

from __future__ import annotations

import gc

import pytest

from crawler.gc_policy import FULL_COLLECTION_EVERY, YOUNG_COLLECTION_AFTER, rare_collections


@pytest.fixture
def schedule():
    before = gc.get_threshold()
    gc.set_threshold(500, 7, 3)
    yield
    gc.set_threshold(*before)


def test_collections_are_rarer_inside_and_the_schedule_comes_back(schedule):
    with rare_collections():
        assert gc.get_threshold() == (YOUNG_COLLECTION_AFTER, 7, FULL_COLLECTION_EVERY)
    assert gc.get_threshold() == (500, 7, 3)


def test_a_page_of_records_sets_off_no_collection_inside_and_cyclic_garbage_is_still_collected(schedule):
    started: list[int] = []

    def count(phase: str, info: dict) -> None:
        if phase == "start":
            started.append(info["generation"])

    def a_page_written() -> None:  # a thousand records of 16 containers each, alive until the page is written
        page = [{"tags": [f"t{n}" for n in range(3)], **{f"k{n}": [n] for n in range(14)}} for _ in range(1000)]
        del page

    gc.callbacks.append(count)
    try:
        a_page_written()
        outside = len(started)
        started.clear()
        with rare_collections():
            a_page_written()
            assert started == []
            for _ in range(2 * YOUNG_COLLECTION_AFTER):  # garbage that only the collector frees (each a cycle)
                cycle: list = []
                cycle.append(cycle)
            assert started, "cyclic garbage never collected"
    finally:
        gc.callbacks.remove(count)
    assert outside > 0


def test_the_schedule_comes_back_when_the_job_fails(schedule):
    with pytest.raises(RuntimeError), rare_collections():
        raise RuntimeError("crawl failed")
    assert gc.get_threshold() == (500, 7, 3)


def test_a_rarer_schedule_of_the_caller_is_kept(schedule):
    gc.set_threshold(500, 7, 5 * FULL_COLLECTION_EVERY)
    with rare_collections():
        assert gc.get_threshold()[2] == 5 * FULL_COLLECTION_EVERY


def test_overlapping_jobs_restore_the_schedule_once_both_end(schedule):
    first, second = rare_collections(), rare_collections()
    first.__enter__()
    second.__enter__()
    first.__exit__(None, None, None)  # as two threads do: the first job ends while the second runs on
    assert gc.get_threshold() == (YOUNG_COLLECTION_AFTER, 7, FULL_COLLECTION_EVERY)
    second.__exit__(None, None, None)
    assert gc.get_threshold() == (500, 7, 3)
