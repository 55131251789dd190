"""The simulator's Hugging Face API against real recorded records (listing, paging, expand, detail, cards)."""

from __future__ import annotations

import json
import urllib.parse
from collections import Counter
from pathlib import Path
from typing import Any

import pytest

from tests.support.sim import (
    RAW_PAGE,
    REAL_DATA,
    SAMPLE_WORLD,
    Sim,
    sim_in_process,
    world_records,
    write_world,
)

TREES = REAL_DATA / "hf_model_trees_oderinwale" / "DeepSeek-R1_finetunes_20250422_180448.json"
DEFAULT_KEYS = {"_id", "id", "modelId", "likes", "trendingScore", "private", "downloads", "tags", "pipeline_tag",
                "library_name", "createdAt"}


def _iso(value: str | None) -> str | None:
    return value.replace(" ", "T").replace("+00:00", ".000Z") if value else None


def tree_records() -> list[dict[str, Any]]:
    """The DeepSeek-R1 model-tree crawl (2025, typed ``base_model:<relation>:`` tags) in the Hub's JSON shape."""
    out = []
    for entry in json.loads(TREES.read_text())["models"]:
        if entry["metadata"] == "N/A":
            continue
        meta = json.loads(entry["metadata"])
        out.append({"id": meta["id"], "author": meta["author"], "sha": meta["sha"],
                    "lastModified": _iso(meta["last_modified"]), "createdAt": _iso(meta["created_at"]),
                    "private": meta["private"], "gated": meta["gated"], "disabled": meta["disabled"],
                    "downloads": meta["downloads"], "likes": meta["likes"], "library_name": meta["library_name"],
                    "inference": meta["inference"], "tags": meta["tags"], "pipeline_tag": meta["pipeline_tag"],
                    "readme": entry["card"]})
    return out


def collect(sim: Sim, params: dict[str, Any]) -> list[dict[str, Any]]:
    """Every item of a listing, following ``Link`` headers."""
    answer = sim.get("/api/models", params)
    items = []
    while True:
        assert answer.status == 200, answer.body[:300]
        items.extend(answer.json())
        if answer.next_url is None:
            return items
        answer = sim.get(answer.next_url[len(sim.url) :])


@pytest.fixture(scope="module")
def page_world(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return write_world(tmp_path_factory.mktemp("page"), hf=json.loads(RAW_PAGE.read_text()))


@pytest.fixture(scope="module")
def sample_sim() -> Any:
    with sim_in_process(SAMPLE_WORLD, page_max=300) as sim:
        yield sim


@pytest.fixture(scope="module")
def sample_records() -> list[dict[str, Any]]:
    return world_records(SAMPLE_WORLD)


@pytest.fixture(scope="module")
def tree_sim(tmp_path_factory: pytest.TempPathFactory) -> Any:
    with sim_in_process(write_world(tmp_path_factory.mktemp("tree"), hf=tree_records()), page_max=50) as sim:
        yield sim


def test_raw_listing_page_comes_back_as_the_same_items(page_world: Path) -> None:
    raw = json.loads(RAW_PAGE.read_text())
    with sim_in_process(page_world, page_max=1000) as sim:
        answer = sim.get("/api/models", {"sort": "downloads", "limit": 1000})
    items = answer.json()
    assert answer.status == 200 and answer.next_url is None
    assert sorted(items, key=lambda r: r["id"]) == sorted(raw, key=lambda r: r["id"])
    assert all(set(item) <= DEFAULT_KEYS for item in items)
    downloads = [item["downloads"] for item in items]
    assert downloads == sorted(downloads, reverse=True)


def _matches(record: dict[str, Any], params: dict[str, Any]) -> bool:
    tags = record.get("tags") or []
    wanted = params.get("filter", [])
    return (all(t in tags for t in ([wanted] if isinstance(wanted, str) else wanted))
            and params.get("search", "").lower() in record["id"].lower()
            and ("author" not in params or record["id"].split("/")[0].lower() == params["author"].lower()))


SORT_CASES = [
    {},
    {"sort": "downloads"},
    {"sort": "likes"},  # thousands of equal keys (0 likes)
    {"sort": "trendingScore"},  # absent in 2024 records: every key equal
    {"sort": "createdAt", "filter": "qwen2"},
    {"sort": "lastModified", "search": "qwen"},
    {"sort": "likes", "filter": ["peft", "region:us"]},
    {"sort": "downloads", "filter": "base_model:Qwen/Qwen1.5-1.8B"},
    {"sort": "createdAt", "author": "Qwen"},
]


@pytest.mark.parametrize("params", SORT_CASES, ids=lambda p: json.dumps(p))
def test_every_record_appears_exactly_once_across_pages(sample_sim: Sim, sample_records: list[dict[str, Any]],
                                                        params: dict[str, Any]) -> None:
    items = collect(sample_sim, {**params, "limit": 97})
    ids = [item["id"] for item in items]
    expected = {r["id"] for r in sample_records if _matches(r, params)}
    assert len(ids) == len(set(ids))
    assert set(ids) == expected and expected
    sort = params.get("sort")
    if sort:
        by_id = {r["id"]: r for r in sample_records}
        keys = [by_id[i].get(sort) or (by_id[i].get("createdAt") if sort == "lastModified" else 0) for i in ids]
        assert keys == sorted(keys, reverse=True)
    else:  # the Hub's default order: _id ascending
        assert [item["_id"] for item in items] == sorted(item["_id"] for item in items)


def test_cursor_does_not_shift_when_rows_are_inserted_or_removed(page_world: Path, tmp_path: Path) -> None:
    raw = json.loads(RAW_PAGE.read_text())
    with sim_in_process(page_world, page_max=100) as sim:
        first = sim.get("/api/models", {"sort": "likes", "limit": 100})
        seen = [item["id"] for item in first.json()]
        unseen = sorted((r for r in raw if r["id"] not in seen), key=lambda r: -r["likes"])
        removed = unseen[5]["id"]
        newcomer = {**raw[0], "_id": "66a000000000000000000001", "id": "new-org/new-model",
                    "modelId": "new-org/new-model", "likes": 10 ** 6}
        changed = [r for r in raw if r["id"] != removed] + [newcomer]
        sim.reload(write_world(tmp_path / "changed", hf=changed))
        rest = []
        answer = sim.get(first.next_url[len(sim.url) :])
        while True:
            rest.extend(item["id"] for item in answer.json())
            if answer.next_url is None:
                break
            answer = sim.get(answer.next_url[len(sim.url) :])
    ids = seen + rest
    assert len(ids) == len(set(ids))
    assert set(ids) == {r["id"] for r in raw} - {removed}


@pytest.mark.parametrize("spelling", ["expand", "expand[]"])
def test_expand_returns_only_the_named_properties(sample_sim: Sim, spelling: str) -> None:
    answer = sample_sim.get("/api/models", [("search", "Qwen2-7B"), (spelling, "downloads"), (spelling, "cardData"),
                                            ("limit", "50")])
    items = answer.json()
    assert answer.status == 200 and items
    assert all({"_id", "id", "downloads"} <= set(item) <= {"_id", "id", "downloads", "cardData"} for item in items)
    assert any("cardData" in item for item in items)  # the full records carry cardData
    assert all("readme" not in item for item in items)


@pytest.mark.parametrize("prop", ["baseModels", "childrenModelCount", "usedStorage"])
def test_listing_refuses_detail_only_properties(sample_sim: Sim, prop: str) -> None:
    answer = sample_sim.get("/api/models", {"expand[]": prop})
    assert answer.status == 400
    assert prop not in answer.json()["error"].split("[", 2)[-1]  # not among the allowed values it lists


def test_unknown_model_answers_401_like_the_hub(sample_sim: Sim) -> None:
    answer = sample_sim.get("/api/models/nobody/no-such-model")
    assert answer.status == 401
    assert answer.headers["X-Error-Code"] == "RepoNotFound" and "error" in answer.json()


def test_detail_serves_the_record_without_its_readme(sample_sim: Sim, sample_records: list[dict[str, Any]]) -> None:
    record = next(r for r in sample_records if "readme" in r and "siblings" in r)
    answer = sample_sim.get(f"/api/models/{record['id']}")
    assert answer.json() == {k: v for k, v in record.items() if k != "readme"}
    card = sample_sim.get(f"/{record['id']}/resolve/main/README.md")
    assert card.status == 200 and card.body.decode("utf-8") == record["readme"]
    assert card.headers["Content-Type"].startswith("text/markdown")
    without = next(r for r in sample_records if "readme" not in r)
    assert sample_sim.get(f"/{without['id']}/resolve/main/README.md").status == 404


def test_base_models_and_children_from_typed_tags(tree_sim: Sim) -> None:
    records = tree_records()
    root = "deepseek-ai/DeepSeek-R1"
    children = {r["id"] for r in records if any(t.startswith("base_model:") and t.endswith(f":{root}")
                                                for t in r["tags"])}
    per_relation = Counter(t.split(":")[1] for r in records for t in r["tags"] if t.endswith(f":{root}")
                           and t.count(":") >= 2)
    answer = tree_sim.get(f"/api/models/{root}", {"expand[]": ["childrenModelCount", "baseModels"]})
    # A dict of direct children per relation, as the Hub answers (not an int).
    assert answer.json() == {"_id": answer.json()["_id"], "id": root, "childrenModelCount": dict(per_relation)}
    assert sum(per_relation.values()) == len(children) and per_relation["finetune"] > 0
    child = sorted(children)[0]
    info = tree_sim.get(f"/api/models/{child}", {"expand": "baseModels"}).json()
    assert info["baseModels"] == {"relation": "finetune", "models": [{"id": root}]}
    listed = collect(tree_sim, {"filter": f"base_model:finetune:{root}", "expand[]": "tags"})
    assert {i["id"] for i in listed} == {r["id"] for r in records if f"base_model:finetune:{root}" in r["tags"]}


def test_children_count_uses_the_default_relation_for_untyped_tags(tmp_path: Path) -> None:
    base = tree_records()[1]
    parent = "org/base"
    kids = [{**base, "id": "a/gguf", "tags": ["gguf", f"base_model:{parent}"]},
            {**base, "id": "a/lora", "tags": [f"base_model:adapter:{parent}"]},
            {**base, "id": "a/ft", "tags": [f"base_model:{parent}"]},
            {**base, "id": "a/merge", "tags": [f"base_model:{parent}", "base_model:other/x"]}]
    with sim_in_process(write_world(tmp_path, hf=[{**base, "id": parent, "tags": []}, *kids])) as sim:
        info = sim.get(f"/api/models/{parent}", {"expand[]": "childrenModelCount"}).json()
        leaf = sim.get("/api/models/a/ft", {"expand[]": "childrenModelCount"}).json()
    assert info["childrenModelCount"] == {"quantized": 1, "adapter": 1, "finetune": 1, "merge": 1}
    assert leaf["childrenModelCount"] == {}


def test_untyped_2024_base_tags_get_the_hubs_default_relation(sample_sim: Sim,
                                                              sample_records: list[dict[str, Any]]) -> None:
    gguf = next(r for r in sample_records if "gguf" in r.get("tags", [])
                and sum(t.startswith("base_model:") for t in r["tags"]) == 1)
    parent = next(t.split(":", 1)[1] for t in gguf["tags"] if t.startswith("base_model:"))
    info = sample_sim.get(f"/api/models/{gguf['id']}", {"expand": ["baseModels", "tags"]}).json()
    assert info == {"_id": gguf["_id"], "id": gguf["id"], "tags": gguf["tags"],
                    "baseModels": {"relation": "quantized", "models": [{"id": parent}]}}


def test_inference_provider_mapping_is_a_list_on_listings_and_a_dict_on_detail(tmp_path: Path) -> None:
    record = tree_records()[1]
    mapping = {"together": {"status": "live", "providerId": "perplexity-ai/r1-1776", "task": "conversational"}}
    world = write_world(tmp_path, hf=[{**record, "inferenceProviderMapping": mapping}])
    with sim_in_process(world) as sim:
        listed = sim.get("/api/models", {"expand": "inferenceProviderMapping"}).json()[0]
        detail = sim.get(f"/api/models/{record['id']}", {"expand": "inferenceProviderMapping"}).json()
        served = sim.get("/api/models", {"inference_provider": "together"}).json()
    assert listed["inferenceProviderMapping"] == [{"provider": "together", **mapping["together"]}]
    assert detail["inferenceProviderMapping"] == mapping
    assert [i["id"] for i in served] == [record["id"]]


def test_non_ascii_ids_in_paths_and_queries(tmp_path: Path) -> None:
    base = tree_records()[1]
    model_id = "北京大学/千问-微调-ü"
    world = write_world(tmp_path, hf=[{**base, "id": model_id, "author": "北京大学", "readme": "# 千问 ü\n"}])
    with sim_in_process(world) as sim:
        quoted = urllib.parse.quote(model_id)
        assert sim.get(f"/api/models/{quoted}").json()["id"] == model_id
        assert sim.get(f"/{quoted}/resolve/main/README.md").body.decode() == "# 千问 ü\n"
        assert [i["id"] for i in sim.get("/api/models", {"search": "千问"}).json()] == [model_id]
        assert [i["id"] for i in sim.get("/api/models", {"author": "北京大学"}).json()] == [model_id]
