"""Mirror matching: precision and recall against the generator's ground truth, and the rules on the real sample."""

from __future__ import annotations

from crawler.mirrors import MIRROR_OWNERS
from crawler.store import open_store
from hubsim.eval.mirrors import load_truth, score, stored_links
from tests.support.sim import SAMPLE_WORLD, running_sim, world_records
from tests.support.store import hubtree
from tests.test_crawl_modelscope import ms_ids


def crawl_both(url: str, db: str) -> dict:
    assert hubtree("crawl", "hf", "--endpoint", url, "--db", db, "--cards", "none").code == 0
    run = hubtree("crawl", "modelscope", "--endpoint", url, "--db", db, "--json", "--no-dolphin")
    assert run.code == 0, run.stderr[-3000:]
    return run.summary


def test_generated_mirrors_are_found_with_high_precision_and_recall(tmp_path):
    from hubsim.generate import GeneratorConfig, generate_world

    world = tmp_path / "w"
    generate_world(world, GeneratorConfig(qwen=3000, others=1000, modelscope=600, seed=1))
    db = f"sqlite:///{tmp_path / 'store.db'}"
    with running_sim(world) as sim:
        summary = crawl_both(sim.url, db)
    links = stored_links(open_store(db))
    truth = load_truth(world / "_truth" / "mirrors.jsonl")
    overall = score(links, truth)
    crawled = score(links, truth, universe=ms_ids(db))
    confident = score(links, truth, universe=ms_ids(db), confidences=links, min_confidence=0.8)
    print(f"\nmirrors vs truth ({len(truth)} pairs): all {overall.describe()}; crawled ids {crawled.describe()}; "
          f"confidence ≥ 0.8 {confident.describe()}\n" + next(n for n in summary["notes"] if n.startswith("mirrors")))
    assert crawled.precision >= 0.95 and crawled.recall >= 0.9
    assert overall.precision >= 0.95 and overall.recall >= 0.8  # non-Qwen mirrors are not crawled
    assert all(0 < c <= 1 for c in links.values())
    assert {"same-id", "same-id-case", "mirror-owner"} <= set(summary_rules(summary))


def summary_rules(summary: dict) -> list[str]:
    note = next(n for n in summary["notes"] if n.startswith("mirrors"))
    return [part.split()[0] for part in note.split("(", 1)[1].split(")", 1)[0].split(", ")]


def test_sample_mirrors_are_exactly_the_shared_ids(tmp_path):
    db = f"sqlite:///{tmp_path / 'store.db'}"
    with running_sim(SAMPLE_WORLD) as sim:
        crawl_both(sim.url, db)
    links = stored_links(open_store(db))
    shared = {r["id"] for r in world_records(SAMPLE_WORLD, "modelscope")} & {
        r["id"] for r in world_records(SAMPLE_WORLD, "hf")}
    assert shared, "some official Qwen repos of 2024 are in both real snapshots"
    assert {ms for ms, hf in links if ms == hf} == shared
    assert all(hf.lower() == ms.lower() or ms.split("/")[0].lower() in MIRROR_OWNERS or hf.split("/")[1] ==
               ms.split("/")[1] for ms, hf in links)
