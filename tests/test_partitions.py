"""Partitioning below ModelScope's 3,000-row cap, on a world where one owner and one model_type each exceed it."""

from __future__ import annotations

import random

from crawler.store import CrawlRun, open_store
from tests.support.sim import running_sim, write_world
from tests.support.store import hubtree
from tests.test_crawl_modelscope import ms_ids, qwen_related

LICENCES = ("apache-2.0", "Apache License 2.0", "mit", "other")


def record(model_id: str, model_type: str, licence: str, day: int) -> dict:
    stamp = f"2025-{1 + day // 28 % 12:02d}-{1 + day % 28:02d}T{day % 24:02d}:00:00Z"
    return {"id": model_id, "display_name": model_id.split("/")[1], "description": "", "downloads": day % 997,
            "likes": day % 13, "license": licence, "tasks": ["text-generation"], "created_at": stamp,
            "last_modified": stamp, "file_size": 1, "private": False, "gated": False,
            "tags": [f"license:{licence}", f"model_type:{model_type}", "task:text-generation"]}


def big_world() -> list[dict]:
    """3,100 models of one owner and 250 of others (``model_type`` qwen2), 3,050 ``qwen3`` models over 61 owners,
    the Qwen org, and unrelated models."""
    rng = random.Random(2)
    out = [record(f"mega-lab/qwen2-ft-{i}", "qwen2", LICENCES[i % 4], rng.randrange(4000)) for i in range(3100)]
    out += [record(f"small{i % 9}/qwen2-x-{i}", "qwen2", rng.choice(LICENCES), rng.randrange(4000)) for i in range(250)]
    out += [record(f"user{i % 61}/m-{i}", "qwen3", rng.choice(LICENCES), rng.randrange(4000)) for i in range(3050)]
    out += [record(f"Qwen/Qwen3-{i}B", "qwen3", "apache-2.0", rng.randrange(4000)) for i in range(12)]
    out += [record(f"other/llama-{i}", "llama", "mit", rng.randrange(4000)) for i in range(150)]
    return out


def test_partitions_reach_every_model_and_prove_it(tmp_path):
    records = big_world()
    world = write_world(tmp_path / "world", ms=records)
    db = f"sqlite:///{tmp_path / 'store.db'}"
    with running_sim(world) as sim:
        run = hubtree("crawl", "modelscope", "--endpoint", sim.url, "--db", db, "--json", "--no-readmes",
                      "--no-dolphin", "--concurrency", "16", "--roots", "Qwen,mega-lab")
    assert run.code == 0, run.stderr[-3000:]
    summary = run.summary
    expected = {r["id"] for r in records if qwen_related(r)}
    assert len(expected) > 6000
    assert ms_ids(db) == expected and summary["records"] == len(expected)
    notes = summary["notes"]
    print("\n".join(notes), f"\n{summary['requests']['api']} calls, {summary['elapsed_s']} s")
    assert any("coverage proven" in n for n in notes) and any("each ≤ 3000" in n for n in notes)
    splits = [n for n in notes if n.startswith("split ")]
    assert any(n.startswith("split owner=mega-lab (total 3100)") for n in splits)  # an owner over the cap
    assert any(n.startswith("split filter.model_type=qwen2 ") for n in splits)
    assert any(n.startswith("split filter.model_type=qwen3 ") for n in splits)
    assert all("covered, disjoint" in n for n in splits)
    store = open_store(db)
    plan = store.engine.connect().execute(CrawlRun.__table__.select()).first().notes  # type: ignore[attr-defined]
    assert plan == notes
