"""``hubtree analyze licenses|growth|deployment``: the --json shapes scripts rely on, text output, and errors."""

from __future__ import annotations

import json

from typer.testing import CliRunner

from crawler.store import Store
from hubtree.cli import app


def run(*args: str):
    return CliRunner().invoke(app, ["analyze", *args])


def test_json_shapes(sample_store: Store) -> None:
    db = ["--db", sample_store.url]
    lic = json.loads(run("licenses", *db, "--json").stdout)
    assert {"id", "hub", "license", "license_class"} <= set(lic["models"][0])
    assert {"child", "parents", "kind", "reason"} <= set(lic["findings"][0])
    assert isinstance(lic["findings"][0]["parents"], list) and lic["caveats"]
    growth = json.loads(run("growth", *db, "--json", "--since", "2024-01").stdout)
    assert growth["months"][0]["month"] == "2024-01"
    assert {"month", "new", "cumulative", "by_relation", "by_generation"} <= set(growth["months"][0])
    assert any("Survivor bias" in c for c in growth["caveats"])
    dep = json.loads(run("deployment", *db, "--json").stdout)
    assert {"id", "signals"} <= set(dep["models"][0]) and dep["shares"]
    signal = next(s for m in dep["models"] for s in m["signals"])
    assert set(signal) == {"group", "signal", "source"}


def test_text_output_and_errors(sample_store: Store) -> None:
    db = ["--db", sample_store.url]
    out = run("licenses", *db, "--limit", "3")
    assert out.exit_code == 0 and "Drift matrix" in out.stdout and "Caveats" in out.stdout
    growth = run("growth", *db, "--since", "2024-01")
    assert growth.exit_code == 0 and "Family Qwen: new derivatives per month" in growth.stdout
    assert "\n  2024-01 " in growth.stdout and "Survivor bias" in growth.stdout
    dep = run("deployment", *db)
    assert dep.exit_code == 0 and "Shares overall and by role" in dep.stdout and "Signals by source" in dep.stdout
    bad = run("growth", *db, "--since", "2024-13")
    assert bad.exit_code == 2 and "YYYY-MM" in bad.stderr
    none = run("deployment", *db, "--family", "no-such-org")
    assert none.exit_code == 1 and "unknown family 'no-such-org'" in none.stderr
