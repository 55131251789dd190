"""``hubtree schedule``: config parsing, ``--once JOB`` runs one job with its exit code, and the run locks."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from crawler.lock import RunLock
from crawler.store import open_store
from hubtree.schedule import DEFAULT_CRON, load_config
from tests.support.sim import SAMPLE_WORLD, sim_in_process, world_records, write_world
from tests.support.store import hubtree


@pytest.fixture(scope="module")
def small_world(tmp_path_factory) -> Path:
    """The sample's Qwen/Qwen2-7B family slice plus surrounding records, and the ModelScope records."""
    hf = world_records(SAMPLE_WORLD, "hf")
    keep = [r for r in hf if "qwen2-7b" in r["id"].lower() or r["id"].startswith("Qwen/")][:400]
    return write_world(tmp_path_factory.mktemp("world"), hf=keep, ms=world_records(SAMPLE_WORLD, "modelscope"))


@pytest.fixture(scope="module")
def sim(small_world):
    with sim_in_process(small_world) as s:
        yield s


def _config(path: Path, sim_url: str, db: str, reports: Path) -> Path:
    path.write_text(f'db = "{db}"\nreport_dir = "{reports}"\n[hubs]\nhf = "{sim_url}"\nmodelscope = "{sim_url}"\n'
                    '[schedule]\ncrawl-full = "30 4 * * 6"\n')
    return path


def test_config_defaults_toml_yaml_and_errors(tmp_path):
    assert load_config(None).cron == DEFAULT_CRON
    y = tmp_path / "s.yaml"
    y.write_text("family: Qwen\nhubs:\n  modelscope: false\nschedule:\n  report: false\n  crawl-full: '0 1 * * 1'\n")
    cfg = load_config(y)
    assert list(cfg.hubs) == ["hf"] and "report" not in cfg.cron and cfg.cron["crawl-full"] == "0 1 * * 1"
    bad = tmp_path / "bad.toml"
    bad.write_text("[schedule]\ncrawl-hourly = '0 * * * *'\n")
    run = hubtree("schedule", "--config", str(bad), "--list")
    assert run.code == 2 and "unknown job 'crawl-hourly'" in run.stderr
    bad.write_text("[schedule]\nreport = 'every day'\n")
    run = hubtree("schedule", "--config", str(bad), "--list")
    assert run.code == 2 and "not a cron expression" in run.stderr


def test_list_shows_each_job_with_its_next_run(tmp_path, sim):
    cfg = _config(tmp_path / "s.toml", sim.url, f"sqlite:///{tmp_path / 'h.db'}", tmp_path / "r")
    run = hubtree("schedule", "--config", str(cfg), "--list")
    assert run.code == 0, run.stderr
    lines = dict(line.split(": ", 1) for line in run.stdout.splitlines())
    assert set(lines) == {"crawl-incremental", "crawl-full", "report"}
    assert lines["crawl-full"].startswith("30 4 * * 6 (UTC) next ") and "+00:00" in lines["crawl-full"]


def test_once_runs_the_crawls_then_the_report_and_logs_one_line_per_run(tmp_path, sim, small_world):
    db = f"sqlite:///{tmp_path / 'h.db'}"
    cfg = _config(tmp_path / "s.toml", sim.url, db, tmp_path / "reports")
    run = hubtree("schedule", "--config", str(cfg), "--once", "crawl-full")
    assert run.code == 0, run.stderr
    lines = [ln for ln in run.stderr.splitlines() if "hubtree-schedule" in ln]
    assert len(lines) == 2
    assert "job=crawl-full hub=hf mode=full exit=0 status=success" in lines[0]
    assert "job=crawl-full hub=modelscope mode=full exit=0 status=success" in lines[1]
    runs = json.loads(hubtree("runs", "--db", db, "--json").stdout)["runs"]
    assert [(r["hub"], r["mode"], r["status"]) for r in runs] == [("modelscope", "full", "success"),
                                                                   ("hf", "full", "success")]
    assert runs[1]["records"] == len(world_records(small_world, "hf"))

    run = hubtree("schedule", "--config", str(cfg), "--once", "crawl-incremental")
    assert run.code == 0 and run.stderr.count("job=crawl-incremental") == 2, run.stderr

    run = hubtree("schedule", "--config", str(cfg), "--once", "report", "--month", "2024-06")
    assert run.code == 0, run.stderr
    assert "job=report month=2024-06 exit=0" in run.stderr
    assert (tmp_path / "reports" / "2024-06" / "index.html").exists()


def test_once_exits_4_when_a_crawl_or_report_holds_the_lock(tmp_path, sim):
    db = f"sqlite:///{tmp_path / 'h.db'}"
    cfg = _config(tmp_path / "s.toml", sim.url, db, tmp_path / "reports")
    store = open_store(db)
    with RunLock(store, "crawl"):
        run = hubtree("schedule", "--config", str(cfg), "--once", "crawl-incremental")
    assert run.code == 4
    assert run.stderr.count("exit=4 status=error") == 2 and "another hubtree crawl is running" in run.stderr
    with RunLock(store, "report"):
        run = hubtree("schedule", "--config", str(cfg), "--once", "report", "--month", "2024-06")
    assert run.code == 4 and "job=report month=2024-06 exit=4" in run.stderr
    assert "another hubtree report is running" in run.stderr
    assert not (tmp_path / "reports").exists()
