"""The collector's schedule during a bulk job: full collections rarer inside, the caller's schedule back after."""

from __future__ import annotations

import gc

import pytest

from crawler.gc_policy import FULL_COLLECTION_EVERY, rare_full_collections


@pytest.fixture
def schedule():
    before = gc.get_threshold()
    gc.set_threshold(500, 7, 3)
    yield
    gc.set_threshold(*before)


def test_full_collections_are_rarer_inside_and_the_schedule_comes_back(schedule):
    with rare_full_collections():
        assert gc.get_threshold() == (500, 7, FULL_COLLECTION_EVERY)
    assert gc.get_threshold() == (500, 7, 3)


def test_the_schedule_comes_back_when_the_job_fails(schedule):
    with pytest.raises(RuntimeError), rare_full_collections():
        raise RuntimeError("crawl failed")
    assert gc.get_threshold() == (500, 7, 3)


def test_a_rarer_schedule_of_the_caller_is_kept(schedule):
    gc.set_threshold(500, 7, 5 * FULL_COLLECTION_EVERY)
    with rare_full_collections():
        assert gc.get_threshold()[2] == 5 * FULL_COLLECTION_EVERY


def test_overlapping_jobs_restore_the_schedule_once_both_end(schedule):
    first, second = rare_full_collections(), rare_full_collections()
    first.__enter__()
    second.__enter__()
    first.__exit__(None, None, None)  # as two threads do: the first job ends while the second runs on
    assert gc.get_threshold() == (500, 7, FULL_COLLECTION_EVERY)
    second.__exit__(None, None, None)
    assert gc.get_threshold() == (500, 7, 3)
