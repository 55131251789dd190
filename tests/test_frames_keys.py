"""What the database filters and counts for the analyses is what polars finds in the whole table, on SQLite and
PostgreSQL: the rows of the (hub, id) keys asked for (a few asked for by id, many as one array per hub) and the new
models per month."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path
from typing import Any

import polars as pl
import pytest
from sqlalchemy import update

from analysis import frames
from crawler.family import resolve_edges
from crawler.ingest import write_page
from crawler.records_modelscope import MODELSCOPE_RECORDS
from crawler.store.db import open_store
from crawler.store.schema import Model


def _store(url: str) -> None:
    store = open_store(url)
    page = [{"id": f"org{i % 3}/m{i}", "createdAt": f"2024-{1 + i % 7:02d}-{1 + i % 28:02d}T00:00:00Z", "downloads": i,
             "tags": [f"base_model:finetune:org{(i - 1) % 3}/m{i - 1}"] if i else []} for i in range(40)]
    page += [{"id": f"org0/orphan{i}", "createdAt": created, "tags": ["base_model:finetune:nobody/missing"]}
             for i, created in enumerate(("2024-03-01T00:00:00Z", "2024-05-25T00:00:00Z"))]  # a base not stored
    page.append({"id": "org1/on-the-time", "createdAt": "2024-05-20T00:00:00Z"})  # created at a time counted below
    write_page(store, "hf", page, run_id=None)
    resolve_edges(store, "hf")  # as a crawl does after its listing: the missing base becomes unresolved
    # ModelScope models named as Hugging Face ones: a key is its hub and its id
    write_page(store, "modelscope", [{"id": "org1/m1", "downloads": 7}, {"id": "org2/m5", "downloads": 8}],
               run_id=None, reader=MODELSCOPE_RECORDS)
    with store.transaction() as conn:
        conn.execute(update(Model.__table__).where(Model.__table__.c.id.in_(["org1/m4", "org2/m5"]))  # type: ignore[attr-defined]
                     .values(deleted_at=datetime(2024, 6, 10, 12)))
        conn.execute(update(Model.__table__).where(Model.__table__.c.id == "org0/m39")  # type: ignore[attr-defined]
                     .values(created_at=datetime(9999, 12, 31)))  # as a store written before such dates were refused
    store.engine.dispose()


@pytest.mark.parametrize("by_array", [False, True])
def test_frames_of_some_models_are_the_rows_of_their_keys_sqlite(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                                 by_array: bool) -> None:
    _check(f"sqlite:///{tmp_path / 'store.db'}", monkeypatch, by_array)


@pytest.mark.parametrize("by_array", [False, True])
def test_frames_of_some_models_are_the_rows_of_their_keys_postgresql(pg_url: str, monkeypatch: pytest.MonkeyPatch,
                                                                     by_array: bool) -> None:
    _check(pg_url, monkeypatch, by_array)


def _check(url: str, monkeypatch: pytest.MonkeyPatch, by_array: bool) -> None:
    _store(url)
    store = open_store(url)
    if by_array:
        monkeypatch.setattr(frames, "_BY_ID_MAX", 0)  # as if thousands were asked for
    some = pl.DataFrame({"hub": ["hf", "hf", "hf", "modelscope", "modelscope"],
                         "id": ["org1/m1", "org0/m3", "org2/m38", "org2/m5", "org0/m0"]})  # org0/m0: not on ModelScope
    everything = frames.models(store)
    got = frames.models(store, keys=some)
    assert got.drop("card_data", "deploy_flags", strict=False).sort("hub", "id").rows() == (
        everything.join(some, on=["hub", "id"], how="semi").drop("card_data", "deploy_flags", strict=False)
        .sort("hub", "id").rows())
    assert got.select("hub", "id").sort("hub", "id").rows() == [
        ("hf", "org0/m3"), ("hf", "org1/m1"), ("hf", "org2/m38"), ("modelscope", "org2/m5")]
    narrow = frames.models(store, keys=some, columns=("downloads",))
    assert narrow.columns == ["hub", "id", "downloads", "key"]
    assert narrow.sort("hub", "id")["downloads"].to_list() == [3, 1, 38, 8]
    edges = frames.edges(store, children=some)
    assert edges.select("child", "parent").sort("child").rows() == [
        ("org0/m3", "org2/m2"), ("org1/m1", "org0/m0"), ("org2/m38", "org1/m37")]
    # New models per month as of two times (one between a model's creation and its deletion) and now.
    times = [datetime(2024, 5, 20), datetime(2024, 6, 10, 12), None]
    for as_of, got in zip(times, frames.new_per_month_at(store, times), strict=True):
        alive = frames.existing(everything, as_of) if as_of is not None else everything
        want = (alive.filter(pl.col("created_at").is_not_null())
                .group_by(pl.col("created_at").dt.strftime("%Y-%m").alias("month")).len().sort("month"))
        assert got.rows() == want.rows() and got.height >= 4, as_of
    # The whole store's models, edges and unresolved bases as of two times, counted in one pass: as polars counts
    # them in the whole tables.
    all_edges = frames.edges(store)
    counted = frames.store_counts_at(store, times[:2])
    for as_of, got in zip(times[:2], counted, strict=True):
        alive = frames.existing(everything, as_of).select("hub", "id")
        live = all_edges.join(alive.rename({"id": "child"}), on=["hub", "child"], how="semi")
        unresolved = (live.filter(pl.col("parent").is_null()).group_by("hub", "parent_raw", "reason")
                      .agg(pl.col("child").n_unique().alias("children"), pl.len().alias("edges")))
        assert (got.models, got.edges) == (alive.height, live.height), as_of
        assert sorted(got.unresolved.rows()) == sorted(unresolved.rows()) and got.unresolved.height, as_of
    assert [(c.models, c.edges, c.unresolved.rows()) for c in counted] == [
        (c.models, c.edges, c.unresolved.rows()) for c in (frames.store_counts(store, t) for t in times[:2])]
    assert [c.unresolved.select("parent_raw", "children", "edges").rows() for c in counted] == [
        [("nobody/missing", 1, 1)], [("nobody/missing", 2, 2)]]  # the second orphan created between the times
    store.engine.dispose()


#: Ids and authors that JSON must escape (quotes, backslashes, control characters, beyond the BMP).
HOSTILE = ('q"uote', "back\\slash", "new\nline\ttab", "\x01ctl", "emoji🤗", "rtl\u202e", "null", "")


def test_rows_of_many_keys_read_in_batches_are_the_scans_in_the_tables_order(tmp_path: Path,
                                                                             monkeypatch: pytest.MonkeyPatch) -> None:
    """Keys asked for as arrays, a few per query (SQLite: each column moved as one JSON array), give the rows a scan
    of the table gives, values and types alike — text JSON must escape included — and, for the graph, in the
    table's order."""
    store = open_store(f"sqlite:///{tmp_path / 'store.db'}")
    page = [{"id": f"org{i % 4}/m{i}-{HOSTILE[i % len(HOSTILE)]}", "author": f"org{i % 4}{HOSTILE[i % len(HOSTILE)]}",
             "createdAt": f"2024-0{1 + i % 9}-0{1 + i % 9}T01:02:03.456Z", "downloads": i * 1_000_003, "likes": i % 5,
             "tags": ["text-generation", HOSTILE[i % len(HOSTILE)]], "private": False} for i in range(60)]
    write_page(store, "hf", list(reversed(page)), run_id=None)  # the table's order is not the ids' order
    write_page(store, "modelscope", [{"id": p["id"], "downloads": 1} for p in page[:7]], run_id=None,
               reader=MODELSCOPE_RECORDS)
    monkeypatch.setattr(frames, "_BY_ID_MAX", 0)
    monkeypatch.setattr(frames, "_WIDE_ROWS_PER_QUERY", 4)  # the models' rows, with their JSON columns
    everything = frames.models(store)
    some = everything.filter(pl.col("downloads") % 3 != 1).select("hub", "id").sample(fraction=1.0, seed=3)
    assert some.height > 30 and some.filter(pl.col("id").str.contains("\n")).height
    got = frames.models(store, keys=some)
    want = everything.join(some, on=["hub", "id"], how="semi", maintain_order="left")
    assert got.schema == want.schema
    assert got.sort("hub", "id").rows() == want.sort("hub", "id").rows()
    columns = ("hub", "id", "author", "created_at", "deleted_at", "key")
    in_order = frames.table(store, Model, columns, keys=some, scan_order=True)
    assert in_order.rows() == want.select(columns).rows()  # the scan's order: the table's
    store.engine.dispose()


def test_a_table_read_in_several_queries_sees_one_state_while_a_crawl_writes(tmp_path: Path,
                                                                            monkeypatch: pytest.MonkeyPatch) -> None:
    """A scan read a few rows per query, and keys read in batches, see the store as it was when the read began:
    a crawl that rewrites a model's edges meanwhile (deleted, written again after the rows already read) neither
    doubles nor drops one."""
    url = f"sqlite:///{tmp_path / 'store.db'}"
    store = open_store(url)
    write_page(store, "hf", [{"id": f"org/m{i}", "tags": [f"base_model:finetune:org/m{i - 1}"] if i else []}
                             for i in range(12)], run_id=None)
    before = frames.edges(store)
    monkeypatch.setattr(frames, "_ROWS_PER_QUERY", 3)
    monkeypatch.setattr(frames, "_BY_ID_MAX", 0)
    crawler = open_store(url)
    read = frames._read_columns
    rewritten = []

    def read_while_a_crawl_writes(*args: Any, **kwargs: Any) -> pl.DataFrame:
        part = read(*args, **kwargs)
        rewritten.append(f"org/m{len(rewritten) + 1}")  # each query is followed by a page rewriting a model
        write_page(crawler, "hf", [{"id": rewritten[-1], "tags": ["base_model:adapter:org/m0"]}], run_id=None)
        return part

    monkeypatch.setattr(frames, "_read_columns", read_while_a_crawl_writes)
    scanned = frames.edges(store)
    assert len(rewritten) >= 4  # the scan took several queries, each followed by a write
    assert scanned.sort("child").rows() == before.sort("child").rows()
    monkeypatch.setattr(frames, "_read_columns", read)
    now = frames.edges(store)
    assert now.filter(pl.col("relation") == "adapter").height == len(rewritten)  # written indeed
    monkeypatch.setattr(frames, "_read_columns", read_while_a_crawl_writes)
    some = before.select("hub", pl.col("child").alias("id"))
    assert frames.edges(store, children=some).sort("child").rows() == now.sort("child").rows()
    store.engine.dispose()
    crawler.engine.dispose()
