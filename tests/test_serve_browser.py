"""The web explorer in a real headless Chromium (Playwright driving the system Chromium; no browser download).

Search a model, open it, expand a node of its tree, follow a parent link — with no console error on the way; a
model id holding ``<script>`` shows as text and runs nothing. Screenshots go to ``tmp_path``, and also into
``$HUBTREE_SCREENSHOTS`` when set (``HUBTREE_SCREENSHOTS=docs`` refreshes the README's tour).
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest

from tests.support.serve import model_path, running_service
from tests.test_report_escaping import EVIL_ID
from tests.test_serve import hostile  # noqa: F401 - the crawled hostile world, a fixture

pytestmark = pytest.mark.browser

CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync", "--no-first-run"]


@pytest.fixture(scope="module")
def browser():
    playwright = pytest.importorskip("playwright.sync_api")
    path = os.environ.get("HUBTREE_CHROMIUM") or "/usr/bin/chromium"
    if not Path(path).exists():
        pytest.skip(f"no Chromium at {path} (set HUBTREE_CHROMIUM)")
    with playwright.sync_playwright() as p:
        chromium = p.chromium.launch(executable_path=path, args=CHROMIUM_ARGS)
        yield chromium
        chromium.close()


@pytest.fixture
def page(browser):
    """A fresh page that records console errors, uncaught exceptions and dialogs (``page.problems``)."""
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    pg = context.new_page()
    problems: list[str] = []
    pg.on("console", lambda m: problems.append(f"console {m.type}: {m.text}") if m.type == "error" else None)
    pg.on("pageerror", lambda e: problems.append(f"page error: {e}"))
    pg.on("dialog", lambda d: (problems.append(f"dialog: {d.message}"), d.dismiss()))
    pg.problems = problems
    yield pg
    context.close()


@pytest.fixture(scope="module")
def explorer(sample_store):
    with running_service(sample_store.url) as svc:
        yield svc


def shot(pg, tmp_path: Path, name: str) -> None:
    target = tmp_path / f"{name}.png"
    pg.screenshot(path=str(target))
    if os.environ.get("HUBTREE_SCREENSHOTS"):
        shutil.copy(target, Path(os.environ["HUBTREE_SCREENSHOTS"]) / f"{name}.png")


def test_search_open_expand_and_follow_a_parent(explorer, page, tmp_path):
    page.goto(explorer.url + "/")
    page.fill("#search-box", "qwen2-7b-instruct")
    first = page.locator("#search-results li a.model-link").first
    first.wait_for()
    assert first.inner_text() == "Qwen/Qwen2-7B-Instruct"  # exact match first, any case
    shot(page, tmp_path, "explorer-search")
    first.click()
    page.wait_for_url("**/models/Qwen/Qwen2-7B-Instruct")
    assert page.inner_text("#model-title") == "Qwen/Qwen2-7B-Instruct"

    # the root's children are listed; expand one that has children of its own
    root = page.locator("#tree > li.node")
    root.locator(":scope > ul.children > li.node").first.wait_for()
    branch = root.locator(":scope > ul.children > li.node").filter(
        has=page.locator(":scope > .row > button.toggle:not([disabled])")).first
    child_id = branch.get_attribute("data-id")
    branch.locator(":scope > .row > button.toggle").click()
    grandchildren = branch.locator(":scope > ul.children > li.node")
    grandchildren.first.wait_for()
    assert grandchildren.count() >= 1
    assert page.locator("li.node span.rel").count() > 0 and page.locator("li.node span.lic").count() > 0
    page.wait_for_load_state("networkidle")
    shot(page, tmp_path, "explorer-model")
    page.evaluate("id => document.querySelector(`li.node[data-id='${CSS.escape(id)}']`).scrollIntoView()", child_id)
    shot(page, tmp_path, "explorer-tree")

    # open the expanded child, then follow its parent link back up
    branch.locator(":scope > .row > a.model-link").click()
    page.wait_for_url(f"**/models/{model_path(child_id)}")
    parent = page.locator("#parents a.parent-link").first
    parent.wait_for()
    assert parent.inner_text() == "Qwen/Qwen2-7B-Instruct"
    parent.click()
    page.wait_for_url("**/models/Qwen/Qwen2-7B-Instruct")
    page.locator("#tree > li.node").wait_for()
    page.wait_for_load_state("networkidle")
    assert page.problems == []


def test_families_and_docs_pages_render(explorer, page, tmp_path):
    page.goto(explorer.url + "/families")
    page.locator("#race svg polyline").first.wait_for()
    assert page.locator("#families tbody tr").count() >= 2
    shot(page, tmp_path, "explorer-families")
    page.goto(explorer.url + "/docs")
    page.locator(".swagger-ui .opblock").first.wait_for()
    assert page.locator(".swagger-ui .opblock").count() >= 8
    assert page.problems == []


def test_a_script_id_shows_as_text_and_runs_nothing(hostile, page):  # noqa: F811
    db, _world, _sim = hostile
    with running_service(db) as svc:
        page.goto(f"{svc.url}/models/{model_path(EVIL_ID)}")
        page.locator("#licence strong").first.wait_for()
        assert page.inner_text("#model-title") == EVIL_ID
        assert page.locator("#page script").count() == 0
        page.fill("#search-box", "script")
        page.locator("#search-results li a.model-link").first.wait_for()
        assert page.locator("#search-results li a.model-link").first.inner_text() == EVIL_ID
        page.wait_for_load_state("networkidle")
        assert page.problems == []
