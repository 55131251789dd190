"""Untrusted text in the report: a model id and a licence containing ``<script>`` show as text, never as markup."""

from __future__ import annotations

from pathlib import Path

import pytest

from crawler.family import resolve_edges
from crawler.ingest import write_page
from crawler.store import open_store
from tests.support.store import hubtree
from tests.test_report import console_errors, run_chromium

EVIL_ID = "evil/x<script>alert(1)</script>"
EVIL_LICENCE = "<script>alert(2)</script>"
MARKDOWN_ID = "mdevil/a|b*c*_[link](http://example.invalid)"


def _record(model_id: str, created: str, tags: list[str], downloads: int = 1) -> dict:
    return {"_id": model_id, "id": model_id, "modelId": model_id, "author": model_id.split("/")[0], "tags": tags,
            "createdAt": created, "downloads": downloads, "likes": 0, "pipeline_tag": "text-generation"}


@pytest.fixture(scope="module")
def evil_report(tmp_path_factory) -> Path:
    tmp = tmp_path_factory.mktemp("evil")
    url = f"sqlite:///{tmp / 'hubtree.db'}"
    store = open_store(url)
    write_page(store, "hf", [
        _record("Qwen/Qwen2-7B", "2024-06-04T00:00:00.000Z", ["license:apache-2.0", "qwen2"], 1000),
        _record(EVIL_ID, "2024-07-03T00:00:00.000Z",
                ["base_model:Qwen/Qwen2-7B", f"license:{EVIL_LICENCE}", "qwen2"], 50),
        _record(MARKDOWN_ID, "2024-07-04T00:00:00.000Z", ["base_model:Qwen/Qwen2-7B", "qwen2", "gguf"], 40),
        _record("other/child", "2024-07-05T00:00:00.000Z", ["base_model:<img src=x onerror=alert(3)>", "qwen2"]),
    ], run_id=None)
    resolve_edges(store, "hf")
    out = tmp / "report"
    run = hubtree("report", "--month", "2024-07", "--db", url, "--out", str(out))
    assert run.code == 0, run.stderr
    return out


def test_html_shows_untrusted_text_escaped(evil_report):
    html = (evil_report / "index.html").read_text()
    assert "<script" not in html and "<img src=x" not in html
    assert "evil/x&lt;script&gt;alert(1)&lt;/script&gt;" in html


def test_markdown_shows_untrusted_text_escaped(evil_report):
    md = (evil_report / "report.md").read_text()
    assert "<script" not in md and "<img" not in md
    assert "evil/x&lt;script&gt;alert\\(1\\)&lt;/script&gt;" in md
    row = next(line for line in md.splitlines() if "mdevil/" in line)
    assert "a\\|b\\*c\\*\\_\\[link\\]\\(http" in row  # no cell split, no emphasis, no link


def test_csv_keeps_the_raw_text(evil_report):
    assert EVIL_ID in (evil_report / "tables" / "new_derivatives.csv").read_text()


@pytest.mark.browser
def test_chromium_runs_no_script_from_the_data(evil_report, tmp_path):
    dom = run_chromium(evil_report / "index.html", tmp_path, "--dump-dom")
    assert dom.returncode == 0, dom.stderr[-2000:]
    assert "<script" not in dom.stdout and console_errors(dom.stderr) == []
    assert "evil/x&lt;script&gt;alert(1)&lt;/script&gt;" in dom.stdout
