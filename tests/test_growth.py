"""Growth on the bundled sample (real 2024 records) and on constructed runs and snapshots."""

from __future__ import annotations

from collections import Counter
from datetime import datetime

import polars as pl
import pytest

from analysis import frames
from analysis.graph import family_members
from analysis.growth import SURVIVOR_BIAS, analyse_growth, model_relations
from analysis.months import check_month, month_range
from crawler.family import resolve_edges
from crawler.ingest import write_page
from crawler.store import CrawlRun, Store, open_store
from tests.support.sample import sample_records


def test_june_2024_spike_on_the_sample(sample_store: Store) -> None:
    members = family_members(sample_store, "Qwen")
    report = analyse_growth(frames.models(sample_store), frames.edges(sample_store), members,
                            frames.runs(sample_store), frames.snapshots(sample_store))
    data = report.to_json()
    months = {m["month"]: m for m in data["months"]}
    # Independent count: createdAt months of the raw records of the family's derivatives (members with a parent).
    derived = set(frames.edges(sample_store)["child"])
    member_ids = set(members["id"]) & derived
    raw = Counter(r["createdAt"][:7] for r in sample_records() if r["id"] in member_ids)
    assert {m: v["new"] for m, v in months.items() if v["new"]} == dict(raw)
    assert max(raw, key=raw.get) == "2024-06"
    assert months["2024-06"]["new"] > 5 * months["2024-05"]["new"]
    assert months["2024-06"]["mom_growth"] == pytest.approx((raw["2024-06"] - raw["2024-05"]) / raw["2024-05"],
                                                            abs=1e-4)
    assert data["months"][-1]["cumulative"] == sum(raw.values())
    june = months["2024-06"]
    assert sum(june["by_relation"].values()) == june["new"] == sum(june["by_generation"].values())
    # The bulk uploaders of June 2024 named in PROFILE.md are among the month's top authors.
    assert {"silent666", "debiao29", "jddllwqa"} <= set(june["top_authors"])
    assert next(iter(june["top_bases"])).startswith("Qwen/Qwen1.5-")
    assert SURVIVOR_BIAS in data["caveats"]
    assert any("Only one metric snapshot" in c for c in data["caveats"])
    assert any("No full sweep" in c for c in data["caveats"]) and june["family_share"] is None


def test_since_keeps_cumulative_from_the_start(sample_store: Store) -> None:
    members = family_members(sample_store, "Qwen")
    args = (frames.models(sample_store), frames.edges(sample_store), members)
    full = analyse_growth(*args).to_json()["months"]
    later = analyse_growth(*args, since="2024-05").to_json()["months"]
    assert later[0]["month"] == "2024-05"
    assert later == [m for m in full if m["month"] >= "2024-05"]


def rec(model_id: str, created: str, base: str | None = None, downloads: int = 0, likes: int = 0) -> dict:
    tags = ["region:us"] + ([f"base_model:{base}"] if base else [])
    return {"_id": model_id, "id": model_id, "modelId": model_id, "tags": tags, "createdAt": created,
            "downloads": downloads, "likes": likes, "private": False}


@pytest.fixture()
def swept_store(tmp_path) -> Store:
    store = open_store(f"sqlite:///{tmp_path / 'g.db'}")
    with store.transaction() as conn:
        for run_id in (1, 2):
            store.upsert(conn, CrawlRun, [{"run_id": run_id, "hub": "hf", "mode": "full", "status": "success",
                                           "started_at": datetime(2024, 7, run_id)}])
    first = [rec("Qwen/Qwen2-7B", "2024-06-06T00:00:00Z", downloads=100, likes=10),
             rec("a/ft-1", "2024-06-10T00:00:00Z", "Qwen/Qwen2-7B", 5, 1),
             rec("b/ft-2", "2024-07-02T00:00:00Z", "Qwen/Qwen2-7B", 5, 1),
             rec("b/ft-3", "2024-07-03T00:00:00Z", "a/ft-1", 1, 0),
             rec("x/llama-ft", "2024-07-04T00:00:00Z", "meta-llama/Llama-3-8B"),
             rec("y/other", "2024-06-20T00:00:00Z")]
    write_page(store, "hf", first, run_id=1)
    second = [dict(r, downloads=r["downloads"] * 2, likes=r["likes"] + 1) for r in first]
    write_page(store, "hf", second, run_id=2)
    resolve_edges(store, "hf")
    return store


def test_family_share_and_snapshots(swept_store: Store) -> None:
    report = analyse_growth(frames.models(swept_store), frames.edges(swept_store),
                            family_members(swept_store, "Qwen"), frames.runs(swept_store),
                            frames.snapshots(swept_store))
    months = {m["month"]: m for m in report.to_json()["months"]}
    assert (months["2024-06"]["new"], months["2024-06"]["all_new"]) == (1, 3)  # Qwen2-7B, a/ft-1, y/other
    assert months["2024-07"]["family_share"] == pytest.approx(2 / 3, abs=1e-4)
    assert months["2024-07"]["by_relation"] == {"finetune": 2}
    assert months["2024-07"]["cumulative"] == 3
    metrics = report.metrics
    assert metrics["run_id"].to_list() == [1, 2]
    assert metrics["downloads"].to_list() == [111, 222] and metrics["likes"].to_list() == [12, 16]
    assert not any("Only one metric snapshot" in c for c in report.caveats)


def test_helpers() -> None:
    assert month_range("2023-11", "2024-02") == ["2023-11", "2023-12", "2024-01", "2024-02"]
    assert check_month("2024-6") == "2024-06"
    with pytest.raises(ValueError, match="YYYY-MM"):
        check_month("June")
    edges = pl.DataFrame({"hub": ["hf"] * 3, "child": ["m", "m", "q"], "relation": ["finetune", "finetune",
                                                                                    "quantized"]})
    rel = dict(model_relations(edges).select("id", "relation").iter_rows())
    assert rel == {"m": "merge", "q": "quantized"}
