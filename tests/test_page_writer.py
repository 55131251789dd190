"""The page writer process: pages that come back to back share a transaction, and nothing answered is lost silently."""

from __future__ import annotations

import json
import os
import sqlite3
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
from sqlalchemy import select

from crawler import page_writer
from crawler.ingest import mark_unseen_deleted, now_utc
from crawler.page_writer import PAGE_CACHE_MB, PageWriteError, PageWriter
from crawler.run_state import RunState
from crawler.store import CrawlRun, Model, open_store
from tests.support.sim import SAMPLE_WORLD, world_records

PAGE = 100


def _new_run(url: str) -> int:
    store = open_store(url)
    with store.transaction() as conn:  # a run as the runner opens it
        run_id = conn.execute(CrawlRun.__table__.insert().values(
            hub="hf", mode="full", started_at=now_utc(), status="running", checkpoint={}, notes=[])).inserted_primary_key[0]
    store.engine.dispose()
    return run_id


@contextmanager
def _writer(db: Path) -> Iterator[tuple[PageWriter, RunState]]:
    """A page writer on the store ``db`` and the state of a run opened there, as the runner has them."""
    url = f"sqlite:///{db}"
    run_id = _new_run(url)
    store = open_store(url)
    try:
        with PageWriter(url) as writer:
            yield writer, RunState(store, run_id, "hf", writer)
    finally:
        store.engine.dispose()


def _stored(db: Path) -> tuple[int, int, dict | None]:
    """Models, the run's record count and its checkpoint, as another process reads them."""
    with sqlite3.connect(f"file:{db}?mode=ro", uri=True) as conn:
        models = conn.execute("SELECT count(*) FROM model").fetchone()[0]
        records, checkpoint = conn.execute("SELECT records, checkpoint FROM crawl_run").fetchone()
    return models, records, json.loads(checkpoint)


def _write(writer: PageWriter, state: RunState, n: int, *, commit: bool = False, records: list | None = None) -> None:
    """Page ``n`` of the sample world (or ``records``), checkpointed with the next page's number."""
    records = world_records(SAMPLE_WORLD)[n * PAGE : (n + 1) * PAGE] if records is None else records
    result = writer.write("hf", records, run_id=state.run_id, url=f"/api/models?p={n}", checkpoint={"page": n + 1},
                          counters=state.counter_values(None), commit=commit)
    state.add_page(result)


def test_a_refused_record_and_a_refused_page_lose_none_of_the_pages_written_before_them(tmp_path):
    """Pages 0–2 share a transaction; page 2 holds a record the store refuses (quarantined alone, the rest stored),
    page 3 a checkpoint it refuses (the page is not stored): pages 0–2 are committed, counted and checkpointed."""
    db = tmp_path / "store.db"
    open_store(f"sqlite:///{db}").engine.dispose()  # the tables, for the triggers
    refused_id = world_records(SAMPLE_WORLD)[2 * PAGE + 7]["id"]
    with sqlite3.connect(db) as conn:
        quoted = refused_id.replace("'", "''")  # a trigger cannot take parameters
        conn.execute(f"CREATE TRIGGER refuse_model BEFORE INSERT ON model WHEN NEW.id = '{quoted}' "
                     "BEGIN SELECT RAISE(ABORT, 'refused model'); END")
        conn.execute("CREATE TRIGGER refuse_page BEFORE UPDATE OF checkpoint ON crawl_run "
                     "WHEN json_extract(NEW.checkpoint, '$.page') = 4 BEGIN SELECT RAISE(ABORT, 'refused page'); END")
    with _writer(db) as (writer, state):
        for n in range(3):
            _write(writer, state, n)
        with pytest.raises(PageWriteError, match="refused page"):
            _write(writer, state, 3)
        state.page_not_stored()
    models, records, checkpoint = _stored(db)
    assert models == records == state.totals["records"] == 3 * PAGE - 1
    assert state.totals["quarantined"] == 1 and checkpoint == {"page": 3}
    with sqlite3.connect(db) as conn:
        assert conn.execute("SELECT key, reason FROM quarantine").fetchall() == [
            (refused_id, "cannot be stored: refused model")]


def test_a_sweep_that_lists_a_model_twice_still_finds_the_model_it_missed(tmp_path):
    """A run counts each model it lists once, however often it is listed: a second full sweep that lists one model
    twice and misses another counts one model fewer than the store holds live, so the one it missed is marked
    deleted (the first sweep's count equals them all: nothing to look for)."""
    db = tmp_path / "store.db"
    records = world_records(SAMPLE_WORLD)[: 3 * PAGE]
    missed = records[-1]["id"]
    runs = []
    for pages in ([records[:PAGE], records[PAGE : 2 * PAGE], records[2 * PAGE :]],
                  [records[:PAGE], records[PAGE : 2 * PAGE], [*records[2 * PAGE : -1], records[0]]]):
        with _writer(db) as (writer, state):
            for n, page in enumerate(pages):
                _write(writer, state, n, records=page)
            writer.flush()
        runs.append(state.run_id)
    store = open_store(f"sqlite:///{db}")
    try:
        with store.engine.connect() as conn:
            assert conn.execute(select(CrawlRun.records).order_by(CrawlRun.run_id)).scalars().all() == [
                3 * PAGE, 3 * PAGE - 1]
        assert [mark_unseen_deleted(store, "hf", run_id) for run_id in runs] == [0, 1]
        with store.engine.connect() as conn:
            assert conn.execute(select(Model.id).where(Model.deleted_at.is_not(None))).scalars().all() == [missed]
    finally:
        store.engine.dispose()


@pytest.mark.parametrize("refused", [False, True], ids=["pages in one transaction", "a page written alone"])
def test_a_first_sweep_finds_again_the_models_it_wrote_whatever_wrote_them(tmp_path, refused):
    """Into a new store the writer looks up only the ids it may have written (crawler/id_filter.py). A model listed
    again on a later page is found, whether its page shared a transaction or was written alone after the store
    refused one of its records: it keeps its key and first run, and the run counts it once."""
    db = tmp_path / "store.db"
    open_store(f"sqlite:///{db}").engine.dispose()  # the tables, for the trigger
    records = world_records(SAMPLE_WORLD)[: 2 * PAGE]
    refused_id = records[PAGE + 7]["id"] if refused else None
    with sqlite3.connect(db) as conn:
        quoted = str(refused_id).replace("'", "''")  # a trigger cannot take parameters
        conn.execute(f"CREATE TRIGGER refuse_model BEFORE INSERT ON model WHEN NEW.id = '{quoted}' "
                     "BEGIN SELECT RAISE(ABORT, 'refused model'); END")
    again = [{**records[PAGE + 3], "sha": "1" * 40}, {**records[5], "sha": "2" * 40}]
    with _writer(db) as (writer, state):
        _write(writer, state, 0, records=records[:PAGE])
        _write(writer, state, 1, records=records[PAGE:])  # written alone if the store refuses one of its records
        writer.flush()
        with sqlite3.connect(f"file:{db}?mode=ro", uri=True) as conn:
            before = dict(conn.execute("SELECT id, key FROM model").fetchall())
        _write(writer, state, 2, records=again)
        writer.flush()
    with sqlite3.connect(f"file:{db}?mode=ro", uri=True) as conn:
        after = {i: (key, sha, first) for i, key, sha, first in conn.execute(
            "SELECT id, key, sha, first_seen_run FROM model")}
    stored = 2 * PAGE - refused
    assert len(after) == len(before) == stored and refused_id not in after
    for raw in again:
        assert after[raw["id"]] == (before[raw["id"]], raw["sha"], state.run_id)
    assert _stored(db)[1] == stored  # the run's records: each model once


def test_pages_written_are_committed_once_the_writer_waits_and_on_flush(tmp_path):
    """A page not asked to be committed is committed as soon as no page follows it (the crawl waits on the hub);
    ``flush`` commits at once; a page asked to be committed is before its answer."""
    db = tmp_path / "store.db"
    with _writer(db) as (writer, state):
        _write(writer, state, 0, commit=True)
        assert _stored(db)[:2] == (PAGE, PAGE)
        _write(writer, state, 1)
        deadline = time.monotonic() + 30
        while _stored(db)[0] < 2 * PAGE:
            assert time.monotonic() < deadline, "the page was not committed while the writer waited"
            time.sleep(0.01)
        _write(writer, state, 2)
        writer.flush()
        assert _stored(db) == (3 * PAGE, 3 * PAGE, {"page": 3})


def test_a_page_committed_whose_answer_was_lost_is_counted_from_the_store(tmp_path):
    """The writer process can die between a page's commit and its answer: the crawl then does not know whether the
    page is stored, and takes the run's page counters from the store (else the resumed run would count one page
    short)."""
    db = tmp_path / "store.db"
    with _writer(db) as (writer, state):
        writer.write("hf", world_records(SAMPLE_WORLD)[:PAGE], run_id=state.run_id, url="/api/models?p=1",
                     checkpoint={"page": 1}, counters=state.counter_values(None), commit=True)  # answer not given
        assert state.totals["records"] == 0
        state.page_not_stored()
    assert state.totals["records"] == PAGE == _stored(db)[1]


def test_a_page_handed_over_as_the_hubs_text_is_read_as_the_crawl_read_it(tmp_path):
    """The crawl hands the listing's body over as it came; the writer reads it as the spider did, lone surrogate
    escapes (which orjson refuses) and counts beyond 64 bits too, and stores it repaired."""
    records = world_records(SAMPLE_WORLD)[:PAGE]
    records[3] = {**records[3], "pipeline_tag": "text\ud800generation", "downloads": 2**64}
    body = json.dumps(records).encode()  # ASCII: the surrogate travels as the escape ``\ud800``
    db = tmp_path / "store.db"
    with _writer(db) as (writer, state):
        result = writer.write("hf", json.loads(body), body=body, run_id=state.run_id, url="/api/models?p=1",
                              checkpoint={"page": 1}, counters=state.counter_values(None), commit=True)
    assert result.records == PAGE and result.quarantined == 0
    with sqlite3.connect(db) as conn:
        assert conn.execute("SELECT pipeline_tag, downloads FROM model WHERE id = ?", (records[3]["id"],)).fetchone() \
            == ("text?generation", None)


def test_a_page_of_values_json_cannot_carry_reaches_the_writer_and_is_stored_repaired(tmp_path):
    """A page the crawl has only as values (no hub text) that JSON cannot carry, a lone surrogate and a count beyond
    64 bits, travels to the writer another way and is stored as the parse repairs it."""
    records = world_records(SAMPLE_WORLD)[:PAGE]
    records[5] = {**records[5], "pipeline_tag": "text\ud800generation", "likes": 2**70}
    db = tmp_path / "store.db"
    with _writer(db) as (writer, state):
        result = writer.write("hf", records, run_id=state.run_id, url="/api/models?p=1", checkpoint={"page": 1},
                              counters=state.counter_values(None), commit=True)
    assert result.records == PAGE and result.quarantined == 0
    with sqlite3.connect(db) as conn:
        assert conn.execute("SELECT pipeline_tag, likes FROM model WHERE id = ?", (records[5]["id"],)).fetchone() \
            == ("text?generation", None)
        assert conn.execute("SELECT count(*) FROM model").fetchone()[0] == PAGE


def test_every_connection_of_the_writers_store_keeps_its_page_cache(tmp_path):
    """The writer opens the store with a larger page cache than SQLite's default (a first sweep's primary-key index
    outgrows the default); each of its connections has it, and a store opened without it keeps the default."""
    url = f"sqlite:///{tmp_path / 'store.db'}"
    writers, others = open_store(url, page_cache_mb=PAGE_CACHE_MB), open_store(url)
    try:
        with writers.engine.connect() as one, writers.engine.connect() as two, others.engine.connect() as other:
            sizes = [conn.exec_driver_sql("PRAGMA cache_size").scalar_one() for conn in (one, two, other)]
    finally:
        writers.engine.dispose()
        others.engine.dispose()
    assert sizes[:2] == [-PAGE_CACHE_MB * 1024] * 2
    assert sizes[2] != sizes[0]


@pytest.mark.parametrize("system_call", ["writev", "writev, a few bytes a call", "none"])
def test_frames_cross_the_pipe_whole_however_the_system_writes_them(system_call, monkeypatch):
    """A frame is written at once (``writev``), resumed after a partial write, or piece by piece where the system has
    no ``writev``; the reader gets every frame whole, larger than the pipe or empty."""
    if system_call == "none":
        monkeypatch.delattr(page_writer.os, "writev", raising=False)
    elif system_call != "writev":
        writev = page_writer.os.writev
        monkeypatch.setattr(page_writer.os, "writev", lambda fd, views: writev(fd, [views[0][:7]]))
    payloads = [b"", b"[]", bytes(range(256)) * 12_000]  # the last one 3 MB: more than the pipe holds
    frames = [page_writer._PageFrame("hf", p, False, 1, f"/api/models?p={i}", {"page": i}, {"records": i}, i == 2)
              for i, p in enumerate(payloads)]
    read_fd, write_fd = os.pipe()
    received: list = []
    with os.fdopen(read_fd, "rb", buffering=0) as reader, os.fdopen(write_fd, "wb") as writer:
        thread = threading.Thread(target=lambda: received.extend(page_writer._receive(reader) for _ in frames))
        thread.start()
        for frame in frames:
            page_writer._send_frame(writer, frame)
        thread.join(timeout=60)
    assert [(f.payload, f._replace(payload=b"")) for f in received] == [
        (f.payload, f._replace(payload=b"")) for f in frames]
