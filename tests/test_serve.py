"""``hubtree serve`` over real HTTP: every answer equals the CLI's ``--json`` for the same query, pagination gives
each model once, errors are one JSON line, untrusted ids stay text, and a crawl is picked up without a restart."""

from __future__ import annotations

import json
import re
import time
from pathlib import Path

import pytest

from tests.support.serve import model_path, running_service
from tests.support.sim import running_sim, write_world
from tests.support.store import hubtree
from tests.test_report_escaping import EVIL_ID, EVIL_LICENCE, _record

ROOT = "Qwen/Qwen2-7B"


@pytest.fixture(scope="module")
def service(sample_store, tmp_path_factory):
    reports = tmp_path_factory.mktemp("reports")
    (reports / "report-2024-06").mkdir()
    (reports / "report-2024-06" / "index.html").write_text("<html><body>June</body></html>")
    (reports.parent / "secret.txt").write_text("not for the web")
    with running_service(sample_store.url, "--reports", str(reports)) as svc:
        yield svc
    assert svc.process.returncode == 0  # SIGTERM is a clean stop


def cli_json(store, *args: str) -> dict:
    run = hubtree("graph", *args, "--db", store.url, "--json")
    assert run.code == 0, run.stderr
    return json.loads(run.stdout)


def all_pages(service, model_id: str, kind: str, **params) -> tuple[list[dict], int, int]:
    """Every row of a paged listing, the count the pages announce, and how many pages it took."""
    rows, cursor, pages = [], None, 0
    while True:
        answer = service.get(f"/api/models/{model_path(model_id)}/{kind}", {**params, **({"cursor": cursor}
                                                                                        if cursor else {})})
        assert answer.status == 200, answer.body
        page = answer.json()
        rows += page["models"]
        pages += 1
        cursor = page["next"]
        if cursor is None:
            return rows, page["count"], pages


def test_descendants_pages_equal_the_cli_listing_each_model_once(service, sample_store):
    expected = cli_json(sample_store, "descendants", ROOT)
    rows, count, pages = all_pages(service, ROOT, "descendants", limit=13)
    assert rows == expected["models"] and count == expected["count"] > 100
    assert pages == -(-count // 13)
    ids = [r["id"] for r in rows]
    assert len(ids) == len(set(ids))


def test_filtered_descendants_and_ancestors_equal_the_cli(service, sample_store):
    expected = cli_json(sample_store, "descendants", ROOT, "--relation", "quantized,merge", "--depth", "2")
    rows, count, _ = all_pages(service, ROOT, "descendants", relation="quantized,merge", depth=2, limit=7)
    assert rows == expected["models"] and count == expected["count"] > 0
    deep = max(rows, key=lambda r: r["depth"])["id"]
    expected = cli_json(sample_store, "ancestors", deep)
    rows, count, _ = all_pages(service, deep, "ancestors", limit=1)
    assert rows == expected["models"] and count == expected["count"] >= 2


def test_tree_family_and_path_equal_the_cli(service, sample_store):
    tree = service.get(f"/api/models/{model_path(ROOT)}/tree", {"depth": 2, "max_children": 5}).json()
    assert tree == cli_json(sample_store, "tree", ROOT, "--depth", "2", "--max-children", "5")
    child = tree["children"][0]["children"][0]["id"]
    family = service.get(f"/api/models/{model_path(child)}/family").json()
    assert family == cli_json(sample_store, "family", child)
    assert service.get(f"/api/models/{model_path(child)}").json()["family"] == family
    for a, b in ((ROOT, child), (child, ROOT), (child, "Qwen/Qwen2-7B-Instruct")):
        answer = service.get("/api/path", {"from": a, "to": b}).json()
        assert answer == cli_json(sample_store, "path", a, b)


def test_model_page_data(service, sample_store):
    m = service.get(f"/api/models/{model_path(ROOT)}").json()
    assert m["id"] == ROOT and m["generation"] == "Qwen2" and m["depth"] == 0 and m["parents"] == []
    assert m["licence"]["license"] == "apache-2.0"
    assert m["links"]["hf"].endswith("/" + ROOT)
    assert {"group": "hf-endpoints", "signal": "TGI", "source": "tag", "hub": "hf"} in m["deployment"]
    assert m["children"] == sum(m["counts"].values()) == len(cli_json(sample_store, "descendants", ROOT,
                                                                        "--depth", "1")["models"])
    merge = next(r for r in cli_json(sample_store, "descendants", ROOT)["models"] if len(r["parents"]) > 1)
    page = service.get(f"/api/models/{model_path(merge['id'])}").json()
    assert page["merge"] and sorted(p["id"] for p in page["parents"]) == sorted(merge["parents"])
    assert {e["parent"] for e in page["edges"]} >= set(merge["parents"])


def test_children_most_downloaded_first_with_licence_and_drift_of_their_edge(service, sample_store):
    rows, count, pages = all_pages(service, ROOT, "children", limit=20)
    direct = cli_json(sample_store, "descendants", ROOT, "--depth", "1")["models"]
    assert sorted(r["id"] for r in rows) == sorted(r["id"] for r in direct) and count == len(direct) > 100
    assert pages == -(-count // 20)
    downloads = [r["downloads"] for r in rows]
    assert downloads == sorted(downloads, reverse=True)
    kinds = {r["edge"]["kind"] for r in rows if r["edge"]}
    assert "inherited" in kinds and "missing" in kinds  # the sample has both
    dropped = next(r for r in rows if r["edge"] and r["edge"]["kind"] == "missing")
    assert dropped["license"] == "missing" and dropped["edge"]["parent_license"] == "apache-2.0"


def test_search_ranks_by_downloads_and_suggests(service):
    found = service.get("/api/search", {"q": "QWEN2-7B-instruct"}).json()["models"]
    assert found[0]["id"] == "Qwen/Qwen2-7B-Instruct"  # the exact match first, whatever the case
    downloads = [m["downloads"] or 0 for m in found[1:]]
    assert downloads == sorted(downloads, reverse=True) and all("qwen2-7b-instruct" in m["id"].lower()
                                                                 for m in found)
    miss = service.get("/api/search", {"q": "Qwen/Qwen2-7B-Instrcut"}).json()
    assert miss["models"] == [] and "Qwen/Qwen2-7B-Instruct" in miss["suggestions"]


@pytest.mark.parametrize(("path", "params", "status"), [
    ("/api/models/Qwen/Qwen2-7Bx", None, 404),
    ("/api/models/Qwen/Qwen2-7Bx/descendants", None, 404),
    ("/api/path", {"from": ROOT, "to": "nobody/nothing"}, 404),
    ("/api/models/Qwen/Qwen2-7B/descendants", {"limit": 0}, 422),
    ("/api/models/Qwen/Qwen2-7B/descendants", {"limit": 5000}, 422),
    ("/api/models/Qwen/Qwen2-7B/descendants", {"relation": "bogus"}, 422),
    ("/api/models/Qwen/Qwen2-7B/descendants", {"hub": "github"}, 422),
    ("/api/models/Qwen/Qwen2-7B/descendants", {"depth": 0}, 422),
    ("/api/models/Qwen/Qwen2-7B/descendants", {"cursor": "not-a-cursor"}, 422),
    ("/api/models/Qwen/Qwen2-7B/descendants", {"inferred": "true"}, 422),  # not loaded by this server
    ("/api/models/Qwen/Qwen2-7B/tree", {"depth": 99}, 422),
    ("/api/models/a%01b", None, 422),
    ("/api/path", {"from": ROOT}, 422),
    ("/api/search", {"q": ""}, 422),
])
def test_errors_are_one_json_line(service, path, params, status):
    answer = service.get(path, params)
    assert answer.status == status
    body = answer.json()
    assert isinstance(body["detail"], str) and body["detail"] and b"Traceback" not in answer.body
    if status == 404 and "Qwen2-7Bx" in path:
        assert ROOT in body["suggestions"]


def test_families_equal_the_cli_and_wait_politely_while_computed(sample_store):
    run = hubtree("analyze", "families", "--db", sample_store.url, "--json")
    assert run.code == 0, run.stderr
    expected = json.loads(run.stdout)
    with running_service(sample_store.url, "--timeout", "1") as svc:  # waits at most 0.5 s for the analysis
        answer = svc.get("/api/families")
        deadline = time.monotonic() + 120
        while answer.status == 503 and time.monotonic() < deadline:
            assert int(answer.headers["Retry-After"]) > 0 and "being computed" in answer.json()["detail"]
            time.sleep(1)
            answer = svc.get("/api/families")
        assert answer.status == 200
        got = answer.json()
    assert got["families"] == expected["families"] and got["months"] == expected["months"]
    assert {f["name"] for f in got["families"]} >= {"qwen", "llama"}


def test_pages_are_locked_down(service):
    for path in ("/", f"/models/{model_path(ROOT)}", "/families", "/docs"):
        answer = service.get(path)
        assert answer.status == 200
        csp = answer.headers["Content-Security-Policy"]
        assert "script-src 'self'" in csp and "unsafe" not in csp and "default-src 'none'" in csp
        html = answer.body.decode()
        assert not re.search(r"<script(?![^>]*\bsrc=\"/)", html)  # no inline script, nothing from elsewhere
        assert not re.search(r"(src|href)=\"(https?:)?//", html)
    assert service.get("/vendor/swagger-ui/swagger-ui-bundle.js").status == 200
    spec = service.get("/openapi.json").json()
    assert "/api/models/{model_id}/descendants" in spec["paths"]


def test_an_answer_sent_again_from_the_cache_is_the_same_with_the_same_headers(service):
    path, params = f"/api/models/{model_path(ROOT)}/tree", {"depth": 2, "max_children": 7}  # asked nowhere else
    first, again = service.get(path, params), service.get(path, params)  # computed, then sent from the cache
    assert first.status == again.status == 200 and again.body == first.body
    for name in ("Content-Type", "Content-Length", "Content-Security-Policy", "X-Content-Type-Options",
                 "X-Frame-Options", "Referrer-Policy"):
        assert again.headers[name] == first.headers[name], name


def test_reports_are_linked_and_served_only_from_their_directory(service):
    assert "/reports/report-2024-06/index.html" in service.get("/").body.decode()
    assert service.get("/reports/report-2024-06/index.html").body == b"<html><body>June</body></html>"
    for path in ("/reports/../secret.txt", "/reports/%2e%2e/secret.txt", "/reports/report-2024-06/../../secret.txt"):
        answer = service.get(path)
        assert answer.status == 404 and b"not for the web" not in answer.body


def test_a_request_over_the_time_limit_answers_503_with_the_headers():
    import asyncio

    from analysis.service.app import Guard

    async def slow_route(scope, receive, send):
        await asyncio.sleep(5)

    sent: list[dict] = []

    async def send(message):
        sent.append(message)

    async def receive():
        return {"type": "http.request"}

    asyncio.run(Guard(slow_route, timeout_s=0.05)({"type": "http", "path": "/api/search"}, receive, send))
    assert sent[0]["status"] == 503 and dict(sent[0]["headers"])[b"content-security-policy"].startswith(b"default-src")
    assert json.loads(sent[1]["body"])["detail"].startswith("request took longer than 0.05 s")


def test_a_host_other_than_loopback_is_warned_about_and_a_missing_store_is_one_line(tmp_path):
    run = hubtree("serve", "--host", "192.0.2.1", "--port", "0", "--db", str(tmp_path / "none.db"))  # TEST-NET-1
    assert "warning: listening on 192.0.2.1, not loopback" in run.stderr
    assert run.code == 2 and "cannot listen on 192.0.2.1:0" in run.stderr and "Traceback" not in run.stderr
    run = hubtree("serve", "--port", "0", "--db", str(tmp_path / "none.db"))
    assert run.code == 1 and "no store at this path" in run.stderr and "warning" not in run.stderr
    assert not (tmp_path / "none.db").exists()


def _write_refused(store) -> bool:
    from sqlalchemy import text
    from sqlalchemy.exc import DBAPIError

    try:
        with store.engine.begin() as conn:
            conn.execute(text("UPDATE model SET likes = 1 WHERE id = :i"), {"i": ROOT})
    except DBAPIError as exc:
        return "read" in str(exc).lower()  # "readonly database" / "read-only transaction"
    return False


def test_the_store_is_opened_read_only(sample_store):
    from analysis.service import Snapshots

    assert _write_refused(Snapshots(sample_store.url).store)


@pytest.mark.postgres
def test_a_postgresql_store_is_served_read_only_with_the_same_answers(pg_url, sample_store):
    from analysis.service import Snapshots
    from tests.support.sample import load_sample

    load_sample(pg_url).engine.dispose()
    assert _write_refused(Snapshots(pg_url).store)
    with running_service(pg_url) as svc:
        rows, count, _ = all_pages(svc, ROOT, "descendants", limit=500)
        assert rows == cli_json(sample_store, "descendants", ROOT)["models"]
        assert svc.get(f"/api/models/{model_path(ROOT)}").json()["licence"]["license"] == "apache-2.0"


# ------------------------------------------------------------------------------------ a crawled hostile world


def world_records(extra: bool = False) -> list[dict]:
    """A small family with a hostile id and licence; ``extra`` adds a derivative published later."""
    records = [
        _record(ROOT, "2024-06-04T00:00:00.000Z", ["license:apache-2.0", "qwen2"], 1000),
        _record("Qwen/Qwen2-7B-Instruct", "2024-06-05T00:00:00.000Z", ["license:apache-2.0", "qwen2",
                                                                       "base_model:finetune:Qwen/Qwen2-7B"], 900),
        _record(EVIL_ID, "2024-07-03T00:00:00.000Z", ["base_model:Qwen/Qwen2-7B", f"license:{EVIL_LICENCE}",
                                                      "qwen2"], 50),
        _record("someone/merged", "2024-07-04T00:00:00.000Z", ["base_model:merge:Qwen/Qwen2-7B",
                                                               "base_model:merge:Qwen/Qwen2-7B-Instruct",
                                                               "license:mit", "qwen2"], 40),
    ]
    if extra:
        records.append(_record("late/Qwen2-7B-GGUF", "2024-07-20T00:00:00.000Z",
                               ["base_model:quantized:Qwen/Qwen2-7B", "license:apache-2.0", "gguf"], 30))
    return records


@pytest.fixture(scope="module")
def hostile(tmp_path_factory):
    """A crawled store of the hostile world, the world directory and the simulator serving it."""
    tmp = tmp_path_factory.mktemp("hostile")
    world = write_world(tmp / "world", hf=world_records())
    db = f"sqlite:///{tmp / 'store.db'}"
    with running_sim(world) as sim:
        run = hubtree("crawl", "hf", "--endpoint", sim.url, "--db", db, "--json")
        assert run.code == 0, run.stderr
        yield db, world, sim


def test_a_script_id_is_text_in_the_page(hostile):
    db, _world, _sim = hostile
    with running_service(db) as svc:
        html = svc.get(f"/models/{model_path(EVIL_ID)}").body.decode()
        assert "<script>alert" not in html
        assert "evil/x&lt;script&gt;alert(1)&lt;/script&gt;" in html
        m = svc.get(f"/api/models/{model_path(EVIL_ID)}").json()
        assert m["id"] == EVIL_ID and m["record"]["license"] == EVIL_LICENCE  # data stays data in JSON
        missing = svc.get(f"/models/{model_path('x/<b>nope</b>')}")
        assert missing.status == 404 and b"<b>nope" not in missing.body


def test_runs_equal_the_cli(hostile):
    db, _world, _sim = hostile
    run = hubtree("runs", "--db", db, "--json")
    assert run.code == 0, run.stderr
    with running_service(db) as svc:
        runs = svc.get("/api/runs").json()
        assert runs == json.loads(run.stdout) and runs["runs"][0]["hub"] == "hf"
        assert svc.get("/api/runs", {"hub": "modelscope"}).json() == {"runs": []}


def test_the_server_reloads_after_a_crawl(hostile):
    db, world, sim = hostile
    with running_service(db, "--poll", "0.5") as svc:
        late = f"/api/models/{model_path('late/Qwen2-7B-GGUF')}"
        assert svc.get(late).status == 404
        before = svc.get(f"/api/models/{model_path(ROOT)}/descendants").json()["count"]
        write_world(Path(world), hf=world_records(extra=True))
        sim.reload()
        run = hubtree("crawl", "hf", "--endpoint", sim.url, "--db", db, "--json")
        assert run.code == 0, run.stderr
        deadline = time.monotonic() + 60
        while svc.get(late).status != 200 and time.monotonic() < deadline:
            time.sleep(0.3)
        assert svc.get(late).json()["parents"][0]["id"] == ROOT
        assert svc.get(f"/api/models/{model_path(ROOT)}/descendants").json()["count"] == before + 1
        assert svc.get("/api/status").json()["reloads"] >= 1
