"""The monthly report on the bundled real sample, crawled through the simulator: its numbers are the analyses'
numbers as of the month's end, it is byte-identical when rebuilt, and it renders in headless Chromium."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from datetime import datetime
from pathlib import Path

import polars as pl
import pytest

from analysis import frames
from analysis.deployment import analyse_deployment
from analysis.graph import family_members
from analysis.growth import analyse_growth
from analysis.licensing import analyse_licences
from crawler.lock import RunLock
from crawler.store import open_store
from hubsim.demo import crawl_world
from tests.support.store import hubtree

REPO = Path(__file__).resolve().parents[1]
MONTH = "2024-07"
END = datetime(2024, 7, 31, 23, 59, 59, 999999)
#: Set to 1 to copy the screenshot of the sample report to docs/report-screenshot.png.
SCREENSHOT_ENV = "HUBTREE_SAVE_SCREENSHOT"


@pytest.fixture(scope="module")
def sample_db(tmp_path_factory) -> str:
    url = f"sqlite:///{tmp_path_factory.mktemp('store') / 'hubtree.db'}"
    crawl_world(url)
    return url


@pytest.fixture(scope="module")
def report(sample_db, tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("report") / MONTH
    run = hubtree("report", "--month", MONTH, "--db", sample_db, "--out", str(out), "--json")
    assert run.code == 0, run.stderr
    assert run.summary["month"] == MONTH
    return out


def _as_of(store, members: pl.DataFrame, end: datetime):
    models = frames.models(store, include_card_data=True, as_of=end)
    keys = models.select("hub", "id")
    mem = members.join(keys, on=["hub", "id"], how="semi")
    edges = frames.edges(store).join(keys.rename({"id": "child"}), on=["hub", "child"], how="semi")
    cards = frames.cards(store).join(keys, on=["hub", "id"], how="semi")
    return models, mem, edges, cards


def test_every_output_is_written(report):
    data = json.loads((report / "report.json").read_text())
    for name in data["tables"]:
        assert (report / "tables" / f"{name}.csv").stat().st_size > 0
        assert (report / "tables" / f"{name}.parquet").exists()
    figures = sorted(p.name for p in (report / "figures").iterdir())
    assert {"growth_new.svg", "growth_cumulative.svg", "families.svg", "licence_mix.svg", "deployment.svg"} <= set(figures)
    html = (report / "index.html").read_text()
    assert html.count('<img src="data:image/svg+xml;base64,') == len(figures)
    assert "http://" not in html and "https://" not in html  # self-contained: nothing to fetch
    md = (report / "report.md").read_text()
    assert all(f"(figures/{f})" in md for f in figures)
    for section in ("Headline", "Growth", "Families", "Largest families and depth", "Licence findings", "Deployment signals",
                    "Notable new derivatives", "Data quality", "Method notes"):
        assert f"## {section}" in md and f">{section}</h2>" in html


def test_headline_and_tables_are_the_analyses_output_as_of_the_month_end(sample_db, report):
    data = json.loads((report / "report.json").read_text())
    store = open_store(sample_db, create=False)
    members = family_members(store, "Qwen")
    models, mem, edges, cards = _as_of(store, members, END)
    # the as-of filter itself, computed independently from creation dates
    created = members.join(frames.models(store).select("hub", "id", "created_at"), on=["hub", "id"])
    assert mem.height == created.filter(pl.col("created_at") <= END).height < members.height

    lic = analyse_licences(models, edges, mem, cards).summary()
    growth = analyse_growth(models, edges, mem, frames.runs(store), frames.snapshots(store), until=MONTH)
    dep = analyse_deployment(models, mem, edges, cards).to_json()["summary"]
    row = growth.months.filter(pl.col("month") == MONTH).to_dicts()[0]
    h = {x["key"]: x for x in data["headline"]}
    assert h["family_models"]["value"] == lic["models"] == mem.height
    assert h["flagged_models"]["value"] == lic["flagged_models"]
    assert h["flagged_share"]["value"] == lic["flagged_share"]
    assert h["violations"]["value"] == lic["edges_by_kind"]["violation"]
    assert h["new_derivatives"]["value"] == row["new"] > 0
    assert h["family_share"]["value"] == row["family_share"]
    assert h["deployment_share"]["value"] == dep["share_by_group"]["any"]
    assert h["alibaba_cloud_share"]["value"] == dep["share_by_group"]["alibaba-cloud"]
    assert h["derivatives"]["value"] == row["cumulative"]  # every sample derivative has a createdAt

    prev_models, prev_mem, prev_edges, prev_cards = _as_of(store, members, datetime(2024, 6, 30, 23, 59, 59, 999999))
    prev = analyse_licences(prev_models, prev_edges, prev_mem, prev_cards).summary()
    assert h["flagged_models"]["previous"] == prev["flagged_models"]
    assert h["family_models"]["change"] == lic["models"] - prev["models"]

    # the sample's Hugging Face data end on 2024-07-11: July is partial, so no month-over-month change from it
    assert data["meta"]["partial"] and data["meta"]["data_to"] == "2024-07-11"
    assert h["mom_growth"]["value"] is None and h["new_derivatives"]["change"] is None
    assert h["family_models"]["change"] is not None  # a stock as of the data's end still compares
    partial = growth.months.with_columns(pl.when(pl.col("month") == MONTH).then(None).otherwise(pl.col("mom_growth"))
                                         .alias("mom_growth"))
    assert data["tables"]["growth_months"] == json.loads(partial.write_json())
    assert data["tables"]["growth_months"][-1]["month"] == MONTH
    assert data["meta"]["sentence"] == (f"Qwen: {h['derivatives']['value']:,} derivatives (declared), "
                                        f"{data['tables']['families_compare'][0]['inferred']:,} more inferred, on "
                                        "Hugging Face and ModelScope, mirrors counted once, as of 2024-07-11 (partial "
                                        "month, data to 2024-07-11).")
    by_kind = {}
    for r in data["tables"]["findings_by_rule"]:
        if r["rule"] != "merge-conflict":
            by_kind[r["kind"]] = by_kind.get(r["kind"], 0) + r["edges"]
    assert by_kind == {k: v for k, v in lic["edges_by_kind"].items() if v}
    new = data["tables"]["new_derivatives"]
    assert new and all(r["created_at"].startswith(MONTH) for r in new)
    # the HTML and Markdown show the same numbers
    html, md = (report / "index.html").read_text(), (report / "report.md").read_text()
    assert f"{lic['models']:,}" in html and f"{lic['models']:,}" in md
    assert "Partial month, data to 2024-07-11" in html and "Partial month, data to 2024-07-11" in md


def test_a_past_month_sees_only_data_up_to_its_end(sample_db, tmp_path):
    out = tmp_path / "2024-03"
    run = hubtree("report", "--month", "2024-03", "--db", sample_db, "--out", str(out), "--json")
    assert run.code == 0, run.stderr
    data = json.loads((out / "report.json").read_text())
    assert data["tables"]["growth_months"][-1]["month"] == "2024-03"
    assert all(r["created_at"] < "2024-04" for r in data["tables"]["new_derivatives"])
    store = open_store(sample_db, create=False)
    members = family_members(store, "Qwen")
    created = members.join(frames.models(store).select("hub", "id", "created_at"), on=["hub", "id"])
    expected = created.filter(pl.col("created_at") < datetime(2024, 4, 1)).height
    assert {x["key"]: x["value"] for x in data["headline"]}["family_models"] == expected


def test_same_store_and_month_give_identical_bytes(sample_db, report, tmp_path):
    again = tmp_path / "again"
    assert hubtree("report", "--month", MONTH, "--db", sample_db, "--out", str(again)).code == 0
    first = sorted(p.relative_to(report) for p in report.rglob("*") if p.is_file())
    second = sorted(p.relative_to(again) for p in again.rglob("*") if p.is_file())
    assert first == second
    for rel in first:
        assert (report / rel).read_bytes() == (again / rel).read_bytes(), rel


def test_a_second_report_or_a_running_crawl_makes_the_report_refuse_with_exit_4(sample_db, tmp_path):
    store = open_store(sample_db, create=False)
    for name in ("report", "crawl"):
        with RunLock(store, name):
            run = hubtree("report", "--month", MONTH, "--db", sample_db, "--out", str(tmp_path / name))
        assert run.code == 4, run.stderr
        assert f"another hubtree {name} is running" in run.stderr and "Traceback" not in run.stderr
        assert not (tmp_path / name).exists()


def test_bad_month_and_missing_store_are_one_clear_line(sample_db, tmp_path):
    run = hubtree("report", "--month", "2024-13", "--db", sample_db, "--out", str(tmp_path / "x"))
    assert run.code == 2 and "not a month" in run.stderr
    run = hubtree("report", "--month", "2019-01", "--db", sample_db, "--out", str(tmp_path / "x"))
    assert run.code == 1 and "no model of the Qwen family existed by the end of 2019-01" in run.stderr
    run = hubtree("report", "--month", MONTH, "--db", str(tmp_path / "none.db"))
    assert run.code == 1 and "no store at this path" in run.stderr


# --------------------------------------------------------------------------------------------- Chromium


def chromium() -> str:
    path = os.environ.get("HUBTREE_CHROMIUM") or "/usr/bin/chromium"
    if not (Path(path).exists() or shutil.which(path)):
        pytest.skip(f"no Chromium at {path} (set HUBTREE_CHROMIUM)")
    return path


def run_chromium(page: Path, tmp_path: Path, *args: str) -> subprocess.CompletedProcess[str]:
    flags = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
             "--disable-background-networking", "--disable-component-update", "--disable-sync",
             f"--user-data-dir={tmp_path / 'chromium-profile'}", "--enable-logging=stderr", "--v=0"]
    return subprocess.run([chromium(), *flags, *args, page.resolve().as_uri()], capture_output=True, text=True,
                          timeout=120)


def console_errors(stderr: str) -> list[str]:
    return [ln for ln in stderr.splitlines() if "CONSOLE" in ln or "Refused to" in ln or "Uncaught" in ln]


@pytest.mark.browser
def test_the_report_renders_in_headless_chromium_with_its_charts(report, tmp_path):
    dom = run_chromium(report / "index.html", tmp_path, "--dump-dom")
    assert dom.returncode == 0, dom.stderr[-2000:]
    assert console_errors(dom.stderr) == []
    figures = len(list((report / "figures").iterdir()))
    assert dom.stdout.count("<img ") == figures >= 5
    assert 'data-key="family_models"' in dom.stdout and "<table" in dom.stdout
    shot = tmp_path / "report-screenshot.png"
    run = run_chromium(report / "index.html", tmp_path, f"--screenshot={shot}", "--window-size=1280,4000")
    assert run.returncode == 0 and shot.stat().st_size > 50_000, run.stderr[-2000:]
    import matplotlib.image

    pixels = matplotlib.image.imread(shot)
    assert (pixels[..., :3].mean(axis=2) < 0.9).mean() > 0.02  # not a blank page: text, charts and tables drawn
    if os.environ.get(SCREENSHOT_ENV) == "1":
        shutil.copyfile(shot, REPO / "docs" / "report-screenshot.png")
