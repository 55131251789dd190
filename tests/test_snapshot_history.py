"""The metric history kept as changes: sweeps of an evolving world over real HTTP write a snapshot row only for
what changed, and growth per full sweep is what the hub served at each sweep; stores of earlier versions (the history
by model id; a row for every listed model) are upgraded in place and read as before."""

from __future__ import annotations

import random
from datetime import datetime
from pathlib import Path

import polars as pl
import pytest
from sqlalchemy import inspect, text, update

from analysis import family_analyses, frames
from analysis.graph import family_members
from crawler.ingest import mark_unseen_deleted, write_page
from crawler.records_hf import HF_RECORDS
from crawler.records_modelscope import MODELSCOPE_RECORDS
from crawler.store import CrawlRun, Model, open_existing_store, open_store
from tests.support.sim import SAMPLE_WORLD, running_sim, world_records, write_world
from tests.support.store import hubtree

CRAWL = ("--json", "--cards", "none", "--progress", "none")


def _recount(records: list[dict], rng: random.Random, share: float) -> set[str]:
    """New downloads (and now and then likes) for a random ``share`` of ``records``, in place; the ids changed."""
    changed = set()
    for r in records:
        if rng.random() < share:
            r["downloads"] = int(r.get("downloads") or 0) + rng.randint(1, 50)
            if rng.random() < 0.3:
                r["likes"] = int(r.get("likes") or 0) + 1
            changed.add(r["id"])
    return changed


def _newcomer(i: int) -> dict:
    return {"_id": f"77bb00000000000000000{i:03d}", "id": f"newcomer/Qwen2-7B-ft-{i}", "author": "newcomer",
            "sha": f"{i}" * 40, "createdAt": "2024-08-02T00:00:00.000Z", "lastModified": "2024-08-02T00:00:00.000Z",
            "likes": i, "downloads": 10 * i, "private": False,
            "tags": ["transformers", "qwen2", "base_model:Qwen/Qwen2-7B", "license:apache-2.0"],
            "cardData": {"base_model": "Qwen/Qwen2-7B"}}


def _snapshot_rows(db: str) -> dict[int, int]:
    store = open_store(db)
    with store.engine.connect() as conn:
        rows = dict(conn.execute(text("SELECT run_id, count(*) FROM metric_history GROUP BY run_id")).all())
    store.engine.dispose()
    return rows


def _truth(worlds: dict[int, list[dict]], members: set[str]) -> list[dict]:
    """Per full sweep: the family models the hub listed, and the sums of their served counters."""
    out = []
    for run_id, records in sorted(worlds.items()):
        listed = [r for r in records if r["id"] in members]
        out.append({"run_id": run_id, "models": len(listed), "downloads": sum(r.get("downloads") or 0 for r in listed),
                    "likes": sum(r.get("likes") or 0 for r in listed)})
    return out


def test_sweeps_of_an_evolving_world_keep_changes_only_and_growth_sums_what_the_hub_served(tmp_path: Path) -> None:
    rng = random.Random(5)
    world = [dict(r) for r in world_records(SAMPLE_WORLD)]
    qwen = [r for r in world if any(t.startswith("base_model:Qwen/") for t in r.get("tags", []))]
    gone = {r["id"] for r in rng.sample(qwen, 4)}
    back = next(iter(sorted(gone)))
    db = f"sqlite:///{tmp_path / 'store.db'}"
    sweeps: dict[int, list[dict]] = {}
    written: dict[str, int] = {}
    with running_sim(SAMPLE_WORLD) as sim:
        def sweep(records: list[dict], name: str, mode: str = "full") -> int:
            sim.reload(write_world(tmp_path / name, hf=records))
            run = hubtree("crawl", "hf", "--endpoint", sim.url, "--db", db, "--mode", mode, *CRAWL)
            assert run.code == 0, run.stderr
            if mode == "full":
                sweeps[run.summary["run_id"]] = [dict(r) for r in records]
            return run.summary["run_id"]

        first = sweep(world, "w0")
        # Week 1: a fifth of the counters change, four family models are deleted, three are new.
        recounted = _recount(world, rng, 0.2)
        world = [r for r in world if r["id"] not in gone] + [_newcomer(i) for i in range(1, 4)]
        week1 = sweep(world, "w1")
        written["week1"] = len(recounted - gone) + 3 + len(gone)  # changed, new, deleted rows
        # Week 2: an edited record seen first by an incremental crawl (its counters too), then a full sweep in which
        # one deleted model comes back unchanged.
        edited = next(r for r in world if r["id"] not in recounted and r.get("sha"))
        edited.update(lastModified="2024-08-05T00:00:00.000Z", sha="f" * 40, downloads=(edited["downloads"] or 0) + 7)
        incremental = sweep(world, "w2i", mode="incremental")
        world = [*world, next(dict(r) for r in sweeps[first] if r["id"] == back)]
        week2 = sweep(world, "w2")
        # Week 3: nothing changed at all.
        week3 = sweep(world, "w3")
    rows = _snapshot_rows(db)
    assert rows[first] == len(sweeps[first])  # every model is new
    assert rows[week1] == written["week1"]
    assert rows[incremental] == 1 and rows[week2] == 1  # the edited model; the model that came back
    assert week3 not in rows  # an unchanged hub writes no history

    store = open_existing_store(db)
    members = set(family_members(store, "Qwen")["id"])
    assert back in members and "newcomer/Qwen2-7B-ft-1" in members  # (deleted models are in no family)
    metrics = family_analyses.growth(store, "Qwen").metrics
    assert metrics.select("run_id", "models", "downloads", "likes").to_dicts() == _truth(sweeps, members)
    assert metrics["run_id"].to_list() == [first, week1, week2, week3]
    # The whole store's frame too: every full sweep has a row for each model it listed, with the served values.
    snaps = frames.snapshots(store)
    for run_id, records in sweeps.items():
        got = snaps.filter(pl.col("run_id") == run_id).select("id", "downloads", "likes").sort("id")
        want = sorted((r["id"], r.get("downloads"), r.get("likes")) for r in records)
        assert got.rows() == want, run_id


def _old_store(url: str, *, changes_only: bool) -> None:
    """A store as an earlier version left it after two full sweeps: the history in ``metric_snapshot`` by hub and
    id with each row's time, models without keys. ``changes_only``: as the version before this one (a row for a
    change only, a ``deleted`` row for a deleted model); else as the versions before that (a row for every listed
    model, model counters as of the record's first write, no ``deleted`` rows, no run marks)."""
    store = open_store(url)
    page = [{"id": f"org/m{i}", "createdAt": "2024-06-01T00:00:00Z", "downloads": i, "likes": 1} for i in range(4)]
    with store.transaction() as conn:
        store.upsert(conn, CrawlRun, [{"run_id": r, "hub": "hf", "mode": "full", "status": "success",
                                       "started_at": datetime(2024, 7, r)} for r in (1, 2)])
    write_page(store, "hf", page, run_id=1)
    with store.transaction() as conn:  # run 2 saw m0..m2 with new downloads (not m3, since deleted)
        conn.execute(text("CREATE TABLE metric_snapshot (run_id INTEGER NOT NULL, hub VARCHAR NOT NULL, "
                          "id VARCHAR NOT NULL, taken_at TIMESTAMP NOT NULL, downloads BIGINT, downloads_all_time "
                          "BIGINT, likes BIGINT, deleted BOOLEAN, PRIMARY KEY (run_id, hub, id))"))
        conn.execute(text("INSERT INTO metric_snapshot (run_id, hub, id, taken_at, downloads, downloads_all_time, "
                          "likes) SELECT 1, hub, id, '2024-07-01 00:00:05', downloads, downloads_all_time, likes "
                          "FROM model"))
        conn.execute(text("INSERT INTO metric_snapshot (run_id, hub, id, taken_at, downloads, downloads_all_time, "
                          "likes) SELECT 2, hub, id, '2024-07-02 00:00:05', downloads + 100, NULL, likes "
                          "FROM metric_snapshot WHERE id != 'org/m3'"))
        if changes_only:
            conn.execute(text("INSERT INTO metric_snapshot (run_id, hub, id, taken_at, deleted) "
                              "VALUES (2, 'hf', 'org/m3', '2024-07-02 00:00:09', TRUE)"))
            conn.execute(text("UPDATE model SET downloads = downloads + 100 WHERE id != 'org/m3'"))
        conn.execute(text("UPDATE model SET last_seen_run = 2, downloads_all_time = NULL WHERE id != 'org/m3'"))
        conn.execute(update(Model.__table__).where(Model.__table__.c.id == "org/m3")  # type: ignore[attr-defined]
                     .values(deleted_at=datetime(2024, 7, 2)))
        conn.execute(text("DROP TABLE metric_history"))
        conn.execute(text("DROP INDEX ix_model_key"))
        conn.execute(text("DROP INDEX ix_model_deleted"))  # an index no earlier version had
        conn.execute(text("ALTER TABLE model DROP COLUMN key"))
        if not changes_only:
            conn.execute(text("ALTER TABLE metric_snapshot DROP COLUMN deleted"))
            conn.execute(text("ALTER TABLE crawl_run DROP COLUMN snapshot_rows"))
    store.engine.dispose()


@pytest.mark.parametrize("changes_only", [False, True])
def test_a_sqlite_store_of_an_earlier_version_is_upgraded_and_reads_as_before(tmp_path: Path,
                                                                              changes_only: bool) -> None:
    _check_upgrade(f"sqlite:///{tmp_path / 'old.db'}", changes_only)


@pytest.mark.parametrize("changes_only", [False, True])
def test_a_postgresql_store_of_an_earlier_version_is_upgraded_and_reads_as_before(pg_url: str,
                                                                                  changes_only: bool) -> None:
    _check_upgrade(pg_url, changes_only)


def _check_upgrade(url: str, changes_only: bool) -> None:
    _old_store(url, changes_only=changes_only)
    store = open_existing_store(url)  # any command opens it: the history moves, the models are numbered
    with store.engine.connect() as conn:
        marks = conn.execute(text("SELECT snapshot_rows FROM crawl_run ORDER BY run_id")).scalars().all()
        assert marks == ([None, None] if changes_only else ["every", "every"])
        assert conn.execute(text("SELECT downloads FROM model ORDER BY id")).scalars().all() == [100, 101, 102, 3]
        assert conn.execute(text("SELECT key FROM model ORDER BY id")).scalars().all() == [1, 2, 3, 4]
        # numbering is no reason to rewrite every model at the next crawl: the record hashes are kept
        assert conn.execute(text("SELECT count(*) FROM model WHERE record_hash = ''")).scalar_one() == 0
        assert conn.execute(text("SELECT count(*) FROM metric_history")).scalar_one() == 7 + changes_only
    assert not inspect(store.engine).has_table("metric_snapshot")
    have = {i["name"] for i in inspect(store.engine).get_indexes("model")}
    assert {i.name for i in Model.__table__.indexes} <= have  # type: ignore[attr-defined]
    assert frames.snapshots(store).sort("run_id", "id").select("run_id", "id", "taken_at", "downloads").rows() == [
        (1, "org/m0", datetime(2024, 7, 1), 0), (1, "org/m1", datetime(2024, 7, 1), 1),
        (1, "org/m2", datetime(2024, 7, 1), 2), (1, "org/m3", datetime(2024, 7, 1), 3),
        (2, "org/m0", datetime(2024, 7, 2), 100), (2, "org/m1", datetime(2024, 7, 2), 101),
        (2, "org/m2", datetime(2024, 7, 2), 102)]
    # A sweep of this version: m1's downloads changed, m3 is still gone, m4 is new (the next key); m0 and m2 are
    # carried forward, m3 is not (gone at run 2).
    with store.transaction() as conn:
        store.upsert(conn, CrawlRun, [{"run_id": 3, "hub": "hf", "mode": "full", "status": "success",
                                       "started_at": datetime(2024, 7, 3)}])
    page = [{"id": f"org/m{i}", "createdAt": "2024-06-01T00:00:00Z", "downloads": 100 + i + (5 if i == 1 else 0),
             "likes": 1} for i in (0, 1, 2, 4)]
    write_page(store, "hf", page, run_id=3)
    assert mark_unseen_deleted(store, "hf", 3) == 0
    assert _snapshot_rows(url)[3] == 2  # m1 and m4
    with store.engine.connect() as conn:
        assert conn.execute(text("SELECT key FROM model WHERE id = 'org/m4'")).scalar_one() == 5
    third = frames.snapshots(store).filter(pl.col("run_id") == 3).sort("id")
    assert third.select("id", "downloads").rows() == [("org/m0", 100), ("org/m1", 106), ("org/m2", 102),
                                                      ("org/m4", 104)]
    # Of some models only (their keys passed to the database as one JSON array / PostgreSQL array): the same rows.
    some = pl.DataFrame({"hub": ["hf", "hf", "hf"], "id": ["org/m1", "org/m3", "org/m4"]})
    assert frames.snapshots(store, keys=some).sort("run_id", "id").rows() == (
        frames.snapshots(store).join(some, on=["hub", "id"], how="semi").sort("run_id", "id").rows())
    store.engine.dispose()


def _history_in_run_order(url: str) -> list[tuple]:
    """Three runs of four models written by this version, the history then laid out in run order as the version
    before this one kept it (primary key run, hub, key). Returns the snapshots read before the change."""
    store = open_store(url)
    with store.transaction() as conn:
        store.upsert(conn, CrawlRun, [{"run_id": r, "hub": "hf", "mode": "full", "status": "success",
                                       "started_at": datetime(2024, 7, r)} for r in (1, 2, 3)])
    for run in (1, 2, 3):
        write_page(store, "hf", [{"id": f"org/m{i}", "downloads": i * run if i % run == 0 else i, "likes": 1}
                                 for i in range(4)], run_id=run)
    before = frames.snapshots(store).rows()
    rowid = " WITHOUT ROWID" if store.dialect == "sqlite" else ""
    with store.transaction() as conn:
        conn.execute(text(f"CREATE TABLE by_run (run_id INTEGER NOT NULL, hub VARCHAR NOT NULL, key INTEGER NOT NULL, "
                          "downloads BIGINT, downloads_all_time BIGINT, likes BIGINT, deleted BOOLEAN, "
                          f"PRIMARY KEY (run_id, hub, key)){rowid}"))
        conn.execute(text("INSERT INTO by_run (run_id, hub, key, downloads, downloads_all_time, likes, deleted) "
                          "SELECT run_id, hub, key, downloads, downloads_all_time, likes, deleted FROM metric_history"))
        conn.execute(text("DROP TABLE metric_history"))
        conn.execute(text("ALTER TABLE by_run RENAME TO metric_history"))
    store.engine.dispose()
    return before


@pytest.mark.parametrize("backend", ["sqlite", "postgresql"])
def test_a_history_in_run_order_is_laid_out_by_model_and_reads_as_before(tmp_path: Path, backend: str,
                                                                          request: pytest.FixtureRequest) -> None:
    url = request.getfixturevalue("pg_url") if backend == "postgresql" else f"sqlite:///{tmp_path / 's.db'}"
    before = _history_in_run_order(url)
    store = open_existing_store(url)
    found = inspect(store.engine)
    assert found.get_pk_constraint("metric_history")["constrained_columns"] == ["hub", "key", "run_id"]
    assert not found.has_table("metric_history_by_model")
    assert frames.snapshots(store).rows() == before
    with store.engine.connect() as conn:
        # run 1: every model; run 2: m2's downloads; run 3: m2's and m3's
        assert conn.execute(text("SELECT count(*) FROM metric_history")).scalar_one() == 4 + 1 + 2
    store.engine.dispose()


@pytest.mark.parametrize("resumed", [False, True])
def test_a_page_written_again_in_the_same_run_keeps_its_snapshot(tmp_path: Path, resumed: bool) -> None:
    store = open_store(f"sqlite:///{tmp_path / 's.db'}")
    page = [{"id": "org/a", "downloads": 1, "likes": 0}, {"id": "org/b", "downloads": 2, "likes": 0}]
    with store.transaction() as conn:
        store.upsert(conn, CrawlRun, [{"run_id": r, "hub": "hf", "mode": "full", "status": "success",
                                       "started_at": datetime(2024, 7, r)} for r in (1, 2)])
    write_page(store, "hf", page, run_id=1)
    page[0]["downloads"] = 5
    write_page(store, "hf", page, run_id=2)
    if resumed:  # the page again, as after a kill between commit and checkpoint, or a model listed twice
        write_page(store, "hf", page, run_id=2)
    second = frames.snapshots(store).filter(pl.col("run_id") == 2).sort("id")
    assert second.select("id", "downloads").rows() == [("org/a", 5), ("org/b", 2)]
    assert _snapshot_rows(str(store.url))[2] == 1


def test_snapshots_carry_each_stored_value_to_the_sweeps_it_holds_at(tmp_path: Path,
                                                                    monkeypatch: pytest.MonkeyPatch) -> None:
    """A random history of changes, deletions and earlier versions' complete sweeps on two hubs: every full sweep
    of this version gets, for each model, its latest row up to that sweep unless deleted or older than an earlier
    version's complete sweep in between; other runs' rows are as stored."""
    rng = random.Random(11)
    store = open_store(f"sqlite:///{tmp_path / 's.db'}")
    runs = [{"run_id": r, "hub": rng.choice(["hf", "modelscope"]), "started_at": datetime(2024, 7, r),
             "mode": rng.choice(["full", "full", "incremental"]), "status": "success",
             "snapshot_rows": rng.choice([None, None, "every"])} for r in range(1, 21)]
    with store.transaction() as conn:
        store.upsert(conn, CrawlRun, runs)
    for hub, reader in (("hf", HF_RECORDS), ("modelscope", MODELSCOPE_RECORDS)):
        write_page(store, hub, [{"id": f"org/m{i}", "downloads": 0, "likes": 0} for i in range(25)], run_id=1,
                   reader=reader)
    with store.engine.connect() as conn:
        keys = conn.execute(text("SELECT hub, key, id FROM model")).all()
    history = [(r["run_id"], hub, key, rng.randint(0, 99), None, rng.randint(0, 9), rng.random() < 0.15)
               for r in runs for hub, key, _ in keys if hub == r["hub"] and rng.random() < 0.4]
    with store.transaction() as conn:
        conn.execute(text("DELETE FROM metric_history"))
        conn.execute(text("INSERT INTO metric_history (run_id, hub, key, downloads, downloads_all_time, likes, "
                          "deleted) VALUES (:r, :h, :k, :d, :a, :l, :x)"),
                     [dict(zip("rhkdalx", row, strict=True)) for row in history])

    def carried(run: dict, hub: str, key: int) -> tuple | None:
        """The model's values at a sweep of this version, by the definition."""
        earlier = [h for h in history if h[1] == hub and h[2] == key and h[0] <= run["run_id"]]
        complete = [r["run_id"] for r in runs if r["hub"] == hub and r["mode"] == "full"
                    and r["snapshot_rows"] == "every" and r["run_id"] < run["run_id"]]
        if not earlier or earlier[-1][6] or earlier[-1][0] < max(complete, default=-1):
            return None
        return earlier[-1][3:6]

    ids = {(hub, key): mid for hub, key, mid in keys}
    want = []
    for run in runs:
        if run["mode"] == "full" and run["snapshot_rows"] is None:
            want += [(run["run_id"], hub, ids[hub, key], *v) for hub, key, _ in keys
                     if hub == run["hub"] and (v := carried(run, hub, key)) is not None]
        else:
            want += [(r, h, ids[h, k], d, a, li) for r, h, k, d, a, li, x in history if r == run["run_id"] and not x]
    got = frames.snapshots(store).select("run_id", "hub", "id", "downloads", "downloads_all_time", "likes")
    assert got["run_id"].is_sorted()
    assert sorted(got.rows()) == sorted(want)
    assert len(want) > 100
    # Of some models of both hubs (each hub's keys searched apart: the same keys number other models elsewhere)
    some = pl.DataFrame([(hub, mid) for hub, _, mid in keys if rng.random() < 0.3], schema=["hub", "id"], orient="row")
    monkeypatch.setattr(frames, "_ROWS_PER_QUERY", 3)  # their history read a few models at a time
    of_some = frames.snapshots(store, keys=some).select(got.columns)
    assert of_some["run_id"].is_sorted()
    assert sorted(of_some.rows()) == sorted(r for r in want if (r[1], r[2]) in set(some.rows()))
    assert set(of_some["hub"]) == {"hf", "modelscope"}
