"""``hubtree demo`` end to end on the bundled sample, offline, in a temporary directory."""

from __future__ import annotations

import json
import shlex

from tests.support.serve import running_service
from tests.support.store import hubtree


def test_demo_crawls_builds_summarises_and_writes_the_latest_report(tmp_path):
    out = tmp_path / "demo"
    run = hubtree("demo", "--out", str(out), env={"COLUMNS": "200"})
    assert run.code == 0, run.stderr[-3000:]
    assert "crawl hf: success · 7,495 records" in run.stdout
    assert "crawl modelscope: success · 33 records" in run.stdout
    for text in ("Family sizes by generation", "Top bases", "Qwen/Qwen1.5-1.8B", "licences: ", "deployment: "):
        assert text in run.stdout
    report = out / "report-2024-07"  # the latest month with new derivatives in the 2024-07 sample
    assert f"report 2024-07: {report / 'index.html'}" in run.stdout
    data = json.loads((report / "report.json").read_text())
    assert data["meta"]["month"] == "2024-07"
    families = {r["generation"]: r["models"] for r in data["tables"]["families"]}
    assert families["Qwen1.5"] > families["Qwen2"] > 0
    assert (out / "hubtree.db").exists() and (report / "report.md").exists()
    runs = json.loads(hubtree("runs", "--db", f"sqlite:///{out / 'hubtree.db'}", "--json").stdout)["runs"]
    assert sorted((r["hub"], r["status"]) for r in runs) == [("hf", "success"), ("modelscope", "success")]
    # it ends with the command that opens the explorer on what it wrote, and that command works
    last = run.stdout.strip().splitlines()[-1]
    assert last.startswith("explore the lineage in a browser: hubtree serve --db ")
    args = shlex.split(last.split(": ", 1)[1].split("  (")[0])[2:]
    db, reports = args[args.index("--db") + 1], args[args.index("--reports") + 1]
    with running_service(db, "--reports", reports) as service:
        assert "/reports/report-2024-07/index.html" in service.get("/").body.decode()
        assert service.get("/reports/report-2024-07/index.html").status == 200
