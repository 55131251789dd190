"""The ModelScope crawler against the local hub over real HTTP: the real sample, a generated world, faults,
throttling and SIGKILL. Expected sets are computed here from the world files, without the crawler's code."""

from __future__ import annotations

import random
import re
import sys
import time
from pathlib import Path

import pytest
import yaml
from sqlalchemy import select

from crawler.store import Edge, Model, open_store
from tests.support.sim import SAMPLE_WORLD, running_sim, world_records, write_world
from tests.support.store import children_by_base, crawl_killed_midway, descendants, dump_store, hubtree

QWEN_TYPES = {"qwen", "qwen2", "qwen2_moe", "qwen2_vl", "qwen2_5_vl", "qwen2_audio", "qwen3", "qwen3_moe", "qwen3_vl",
              "qwen3_vl_moe", "qwen3_next"}
FRONT = re.compile(r"\A\s*---\r?\n(.*?)\r?\n---", re.DOTALL)


def qwen_related(record: dict) -> bool:
    """The crawl's universe, restated: the Qwen org, a Qwen model_type tag, or 'qwen'/'qwq' in id or name."""
    text = f"{record['id']} {record.get('display_name') or ''}".lower()
    types = {t.split(":", 1)[1] for t in record.get("tags") or [] if t.startswith("model_type:")}
    return record["id"].split("/")[0].lower() == "qwen" or bool(types & QWEN_TYPES) or "qwen" in text or "qwq" in text


def readme_bases(record: dict) -> list[str]:
    match = FRONT.match(record.get("readme") or "")
    if not match:
        return []
    try:
        data = yaml.safe_load(match.group(1))
    except yaml.YAMLError:
        return []
    base = data.get("base_model") if isinstance(data, dict) else None
    return [base] if isinstance(base, str) else [b for b in base or [] if isinstance(b, str)]


def expected_ms_family(records: list[dict]) -> tuple[set[str], set[str]]:
    """Roots and declared descendants among the Qwen-related ModelScope records; a model declaring a Qwen base
    that is not on ModelScope is a member too (docs/families.md)."""
    universe = [r for r in records if qwen_related(r)]
    ids = {r["id"] for r in universe}
    declared = [(r["id"], b.strip()) for r in universe for b in readme_bases(r)]
    children = children_by_base(declared, ids)
    roots = {i for i in ids if i.split("/")[0].lower() == "qwen"}
    lower = {i.lower() for i in ids}
    orphans = {c for c, b in declared if b.split("/")[0].lower() == "qwen" and b.lower() not in lower} - roots
    return roots, descendants(((p, c) for p, kids in children.items() for c in kids), roots | orphans) | orphans


def stored_family(db: str, roots: set[str]) -> set[str]:
    """The stored edges walked from the roots and from the models whose declared Qwen base is not stored."""
    store = open_store(db)
    with store.engine.connect() as conn:
        edges = conn.execute(select(Edge.parent, Edge.child).where(Edge.hub == "modelscope",
                                                                   Edge.status == "resolved")).all()
        orphans = {c for c, raw in conn.execute(select(Edge.child, Edge.parent_raw).where(
            Edge.hub == "modelscope", Edge.status != "resolved")) if raw.split("/")[0].lower() == "qwen"} - roots
    return descendants(edges, roots | orphans) | orphans


def ms_ids(db: str) -> set[str]:
    store = open_store(db)
    with store.engine.connect() as conn:
        return set(conn.execute(select(Model.id).where(Model.hub == "modelscope")).scalars())


def crawl(url: str, db: str, *args: str):
    run = hubtree("crawl", "modelscope", "--endpoint", url, "--db", db, "--json", *args)
    assert run.code == 0, run.stderr[-3000:]
    return run.summary


@pytest.fixture(scope="module")
def small_world(tmp_path_factory) -> Path:
    from hubsim.generate import GeneratorConfig, generate_world

    out = tmp_path_factory.mktemp("msworld") / "w"
    generate_world(out, GeneratorConfig(qwen=800, others=200, modelscope=160, seed=5))
    return out


def test_sample_family_and_licences_match_the_world_file(tmp_path):
    records = world_records(SAMPLE_WORLD, "modelscope")
    db = f"sqlite:///{tmp_path / 'store.db'}"
    with running_sim(SAMPLE_WORLD) as sim:
        summary = crawl(sim.url, db)
    roots, members = expected_ms_family(records)
    assert summary["status"] == "success"
    assert ms_ids(db) == {r["id"] for r in records if qwen_related(r)}
    assert summary["records"] == len(ms_ids(db)) and summary["roots"] == len(roots) == 33
    assert summary["family_models"] == len(members) and stored_family(db, roots) == members
    assert any("coverage proven" in n for n in summary["notes"])
    store = open_store(db)
    with store.engine.connect() as conn:
        stored = dict(conn.execute(select(Model.id, Model.license).where(Model.hub == "modelscope")).all())
    spelled = {r["id"]: r["license"] for r in records}
    assert {stored[i] for i, s in spelled.items() if s in ("apache-2.0", "Apache License 2.0")} == {"apache-2.0"}
    assert {stored[i] for i, s in spelled.items() if s == ""} == {None}


def test_generated_world_family_matches_and_recrawl_is_idempotent(small_world, tmp_path):
    records = world_records(small_world, "modelscope")
    db = f"sqlite:///{tmp_path / 'store.db'}"
    with running_sim(small_world) as sim:
        first = crawl(sim.url, db)
        before = dump_store(db, hub="modelscope")
        again = crawl(sim.url, db)
    roots, members = expected_ms_family(records)
    print(f"generated world: {len(records)} MS records, {first['records']} crawled, {len(members)} derivatives, "
          f"{first['requests']['api']} calls, {first['elapsed_s']} s")
    assert ms_ids(db) == {r["id"] for r in records if qwen_related(r)}
    assert members and first["family_models"] == len(members) and stored_family(db, roots) == members
    assert first["cards_fetched"] == first["records"]
    assert again["changed"] == 0 and again["cards_fetched"] == 0 and again["deleted"] == 0
    after = dump_store(db, hub="modelscope")
    for table in ("model", "edge", "card", "quarantine"):  # metric snapshots are per run by design
        assert after[table] == before[table], table
    store = open_store(db)
    with store.engine.connect() as conn:
        flags = conn.execute(select(Model.id, Model.deploy_flags).where(Model.hub == "modelscope")).all()
    dolphin = {r["id"]: r.get("dolphin") or {} for r in records}
    for model_id, stored_flags in flags:
        assert stored_flags["SupportPaiModelGallery"] == dolphin[model_id]["SupportPaiModelGallery"], model_id


def test_incremental_fetches_only_the_changed_readme(small_world, tmp_path):
    records = world_records(small_world, "modelscope")
    db = f"sqlite:///{tmp_path / 'store.db'}"
    target = next(r for r in records if qwen_related(r) and r["id"].split("/")[0].lower() != "qwen")
    later = [dict(r, last_modified="2027-01-02T00:00:00Z", readme="---\nbase_model: Qwen/Qwen2-7B\n---\nedited")
             if r["id"] == target["id"] else r for r in records]
    world_b = write_world(tmp_path / "b", ms=later)
    with running_sim(small_world) as sim:
        crawl(sim.url, db, "--no-dolphin")
        sim.reload(world_b)
        inc = crawl(sim.url, db, "--no-dolphin", "--mode", "incremental")
    assert inc["status"] == "success" and inc["changed"] == 1 and inc["cards_fetched"] == 1
    store = open_store(db)
    with store.engine.connect() as conn:
        parents = conn.execute(select(Edge.parent_raw).where(Edge.hub == "modelscope", Edge.child == target["id"]))
        assert list(parents.scalars()) == ["Qwen/Qwen2-7B"]


def test_faults_and_throttling_leave_the_store_of_a_clean_run(small_world, tmp_path):
    clean_db, faulty_db = f"sqlite:///{tmp_path / 'clean.db'}", f"sqlite:///{tmp_path / 'faulty.db'}"
    with running_sim(small_world) as sim:
        crawl(sim.url, clean_db)
    with running_sim(small_world, quota=60, window=3, fault_rate=0.04, seed=9) as sim:
        summary = crawl(sim.url, faulty_db)
        stats = sim.stats()
    print(f"faulty run: {summary['requests']['api']} calls, {summary['retries']} retries, "
          f"{summary['rate_limit_waits']} waits, faults {stats['faults']}, 429s {stats['rate_limited']}")
    assert summary["status"] == "success"
    assert sum(stats["faults"].values()) > 0 and summary["rate_limit_waits"] > 0
    # The headers' reset time is whole seconds, so at a window boundary an answer may still speak of the old window;
    # a rare 429 can follow. Each one waited for the reset and was retried.
    assert stats["rate_limited"] <= 0.02 * summary["requests"]["api"]
    clean, faulty = dump_store(clean_db, hub="modelscope"), dump_store(faulty_db, hub="modelscope")
    for table in ("model", "edge", "card", "quarantine", "metric_history"):
        assert faulty[table] == clean[table], table


def test_a_killed_crawl_resumes_to_the_store_of_an_uninterrupted_one(small_world, tmp_path):
    reference_db = f"sqlite:///{tmp_path / 'reference.db'}"
    with running_sim(small_world, latency_ms=10) as sim:
        started = time.monotonic()
        crawl(sim.url, reference_db)
        duration = time.monotonic() - started
        reference = dump_store(reference_db, hub="modelscope")
        rng = random.Random(4)
        for attempt in range(2):
            def command(n: int, attempt: int = attempt) -> list[str]:
                return [sys.executable, "-m", "hubtree.cli", "crawl", "modelscope", "--endpoint", sim.url,
                        "--db", f"sqlite:///{tmp_path / f'killed{attempt}-{n}.db'}"]

            killed_try = crawl_killed_midway(command, duration, rng)
            db = f"sqlite:///{tmp_path / f'killed{attempt}-{killed_try}.db'}"
            summary = crawl(sim.url, db)
            assert summary["run_id"] == 1 and summary["records"] == len(ms_ids(reference_db))
            killed = dump_store(db, hub="modelscope")
            for table in ("model", "edge", "card", "quarantine", "metric_history"):
                assert killed[table] == reference[table], (attempt, table)
