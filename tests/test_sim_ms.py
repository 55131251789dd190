"""The simulator's ModelScope API (OpenAPI listing/detail, the 3,000-row cap, dolphin search) on real records."""

from __future__ import annotations

from typing import Any

import pytest

from tests.support.sim import SAMPLE_WORLD, Sim, sim_in_process, world_records


@pytest.fixture(scope="module")
def records() -> list[dict[str, Any]]:
    return world_records(SAMPLE_WORLD, "modelscope")


@pytest.fixture(scope="module")
def sim() -> Any:
    with sim_in_process(SAMPLE_WORLD) as running:
        yield running


def _all_pages(sim: Sim, params: dict[str, Any], page_size: int = 7) -> tuple[list[dict[str, Any]], int]:
    models, page = [], 1
    while True:
        data = sim.get("/openapi/v1/models", {**params, "page_size": page_size, "page_number": page}).json()["data"]
        models.extend(data["models"])
        if page * page_size >= data["total_count"]:
            return models, data["total_count"]
        page += 1


@pytest.mark.parametrize("params", [{}, {"sort": "downloads"}, {"sort": "likes"}, {"sort": "last_modified"},
                                    {"filter.model_type": "qwen2"}, {"owner": "Qwen", "search": "instruct"}],
                         ids=str)
def test_listing_pages_hold_every_match_once(sim: Sim, records: list[dict[str, Any]], params: dict[str, Any]) -> None:
    models, total = _all_pages(sim, params)
    ids = [m["id"] for m in models]
    expected = {r["id"] for r in records
                if ("filter.model_type" not in params or f"model_type:{params['filter.model_type']}" in r["tags"])
                and params.get("search", "").lower() in r["id"].lower()}
    assert len(ids) == len(set(ids)) == total and set(ids) == expected and expected
    assert all("readme" not in m and "dolphin" not in m for m in models)
    key = {"likes": "likes", "last_modified": "last_modified"}.get(params.get("sort", ""), "downloads")
    values = [m[key] for m in models]
    assert values == sorted(values, reverse=True)


def test_the_3000_row_cap_and_page_size_limit(sim: Sim) -> None:
    assert sim.get("/openapi/v1/models", {"page_number": 60, "page_size": 50}).status == 200
    for params in ({"page_number": 61, "page_size": 50}, {"page_number": 3001, "page_size": 1},
                   {"page_size": 51}, {"page_number": 0}):
        answer = sim.get("/openapi/v1/models", params)
        body = answer.json()
        assert answer.status == 400 and body["success"] is False and body["code"] == "InputParameterError"


def test_detail_and_unknown_model(sim: Sim, records: list[dict[str, Any]]) -> None:
    record = records[0]
    data = sim.get(f"/openapi/v1/models/{record['id']}").json()["data"]
    assert {k: v for k, v in data.items() if k != "readme"} == {k: v for k, v in record.items()
                                                                  if k not in ("readme", "dolphin")}
    missing = sim.get("/openapi/v1/models/nobody/none")
    assert missing.status == 404 and missing.json()["success"] is False


def test_dolphin_search_carries_deployment_flags(sim: Sim, records: list[dict[str, Any]]) -> None:
    answer = sim.put("/api/v1/dolphin/models", {"Name": "qwen2.5", "PageNumber": 1, "PageSize": 100,
                                                "SortBy": "DownloadsCount", "Criterion": []})
    body = answer.json()
    items = body["Data"]["Model"]["Models"]
    expected = [r for r in records if "qwen2.5" in r["id"].lower()]
    assert body["Success"] is True and body["Data"]["Model"]["TotalCount"] == len(expected) == len(items)
    by_name = {f"{i['Path']}/{i['Name']}": i for i in items}
    for record in expected:
        item = by_name[record["id"]]
        assert item["Downloads"] == record["dolphin"]["Downloads"]
        assert isinstance(item["SupportDeployment"], bool) and "SupportPaiModelGallery" in item
    too_big = sim.put("/api/v1/dolphin/models", {"PageNumber": 1, "PageSize": 101})
    assert too_big.status == 400 and too_big.json()["Success"] is False
