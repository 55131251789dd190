"""The Bloom filter of written ids: never says an id it saw was not written; rarely says an unseen one may be."""

from __future__ import annotations

from crawler.id_filter import WrittenIds
from tests.support.sim import SAMPLE_WORLD, world_records


def test_every_written_id_may_be_written_and_few_others_are_taken_for_written():
    ids = [r["id"] for r in world_records(SAMPLE_WORLD)]
    written, unseen = ids[::2], [*ids[1::2], *(f"{i}-unseen-{n}" for n, i in enumerate(ids))]
    filter_ = WrittenIds()
    filter_.add(written)
    assert filter_.maybe_written(written) == written  # in order, none missed
    assert len(filter_.maybe_written(unseen)) <= len(unseen) // 100
    assert filter_.maybe_written([]) == []
