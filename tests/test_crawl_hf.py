"""The Hugging Face crawler against the local hub, over real HTTP, on the bundled real sample world."""

from __future__ import annotations

import json
import os
import random
import signal
import sqlite3
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path

import pytest
from sqlalchemy import select

from crawler.store import Card, CrawlRun, Edge, Model, open_store
from crawler.store.indexes import DEFERRED, defer_indexes
from tests.support.sim import SAMPLE_WORLD, running_sim, world_records, write_world
from tests.support.store import children_by_base, crawl_killed_midway, descendants, dump_store, hubtree

RELATIONS = {"finetune", "adapter", "quantized", "merge"}


def declared_parents(record: dict) -> list[str]:
    """Bases a record declares, read directly from its tags and card data (independent of the crawler)."""
    found: list[str] = []
    for tag in record.get("tags") or []:
        if tag.startswith("base_model:"):
            rest = tag[len("base_model:"):]
            head, _, tail = rest.partition(":")
            found.append(tail if head in RELATIONS and tail else rest)
    card = record.get("cardData") or {}
    base = card.get("base_model")
    found += [base] if isinstance(base, str) else [b for b in base or [] if isinstance(b, str)]
    # A base written as the repo's URL names that repo (the crawler's documented safe normalisation).
    found = [b.strip().removeprefix("https://huggingface.co/").rstrip("/") for b in found]
    return list(dict.fromkeys(found))


def expected_family(records: list[dict], root_author: str = "Qwen") -> tuple[set[str], set[str], dict[str, int]]:
    """Roots, declared descendants and direct-children counts, resolving bases exactly or case-insensitively; a
    model declaring a base of the root organisation that no record has is a member too (docs/families.md)."""
    ids = {r["id"] for r in records}
    declared = [(r["id"], b) for r in records for b in declared_parents(r)]
    children = children_by_base(declared, ids)
    roots = {i for i in ids if i.split("/")[0] == root_author}
    lower = {i.lower() for i in ids}
    orphans = {c for c, b in declared if b.split("/")[0] == root_author and b.lower() not in lower} - roots
    members = descendants(((p, c) for p, kids in children.items() for c in kids), roots | orphans) | orphans
    return roots, members, {p: len(c) for p, c in children.items()}


@pytest.fixture(scope="module")
def sample_sim():
    with running_sim(SAMPLE_WORLD) as sim:
        yield sim


@pytest.fixture(scope="module")
def sample_crawl(sample_sim, tmp_path_factory):
    db = f"sqlite:///{tmp_path_factory.mktemp('crawl') / 'store.db'}"
    run = hubtree("crawl", "hf", "--endpoint", sample_sim.url, "--db", db, "--json")
    assert run.code == 0, run.stderr
    return db, run.summary


def test_sample_crawl_finds_the_family_an_independent_computation_finds(sample_crawl):
    db, summary = sample_crawl
    records = world_records(SAMPLE_WORLD)
    roots, members, children = expected_family(records)
    assert summary["status"] == "success"
    assert summary["records"] == len({r["id"] for r in records})
    assert summary["roots"] == len(roots)
    assert summary["family_models"] == len(members)
    # The same set, not just the same size: walk the stored edges from the roots and from the models whose declared
    # Qwen base is not stored.
    store = open_store(db)
    with store.engine.connect() as conn:
        edges = conn.execute(select(Edge.parent, Edge.child).where(Edge.status == "resolved")).all()
        orphans = {c for c, raw in conn.execute(select(Edge.child, Edge.parent_raw).where(Edge.status != "resolved"))
                   if raw.split("/")[0] == "Qwen"}
    assert orphans and descendants(edges, roots | orphans) | orphans == members
    # Direct children per official Qwen base, as the raw tags say.
    stored = Counter(parent for parent, _ in edges)
    for base in sorted(roots):
        assert stored.get(base, 0) == children.get(base, 0), base


def test_sample_crawl_costs_one_call_per_page_and_one_card_per_family_model(sample_crawl):
    _, summary = sample_crawl
    pages = -(-summary["records"] // 1000)
    assert summary["requests"]["api"] == pages
    assert summary["requests"]["resolvers"] == summary["cards_fetched"] == summary["family_models"] + summary["roots"]
    assert summary["quarantined"] == 0 and summary["errors"] == 0


def test_relations_follow_the_rules_and_record_them(sample_crawl):
    db, _ = sample_crawl
    store = open_store(db)
    with store.engine.connect() as conn:
        rows = conn.execute(select(Edge.child, Edge.relation, Edge.rule, Model.tags, Model.library_name)
                            .join(Model, (Model.hub == Edge.hub) & (Model.id == Edge.child))).all()
    assert rows
    for child, relation, rule, tags, library in rows:
        assert relation in RELATIONS and rule
        if "gguf" in tags and rule.startswith("rule:"):
            assert relation in ("quantized", "merge"), child
        if library == "peft" and rule == "rule:peft-adapter":
            assert relation == "adapter"
    by_rule = Counter(rule for _, _, rule, _, _ in rows)
    assert by_rule["rule:quantized-format"] > 0 and by_rule["rule:peft-adapter"] > 0


def test_cards_are_stored_bounded_with_their_front_matter(sample_crawl):
    db, _ = sample_crawl
    records = {r["id"]: r for r in world_records(SAMPLE_WORLD)}
    store = open_store(db)
    with store.engine.connect() as conn:
        cards = conn.execute(select(Card.id, Card.text, Card.error, Card.sha)).all()
    with_text = [c for c in cards if c.text is not None]
    assert with_text, "the sample world carries real cards for some family models"
    for card in with_text:
        assert card.text == records[card.id]["readme"][: len(card.text)]
    missing = [c for c in cards if c.text is None]
    assert all(c.error == "no card (HTTP 404)" for c in missing)
    assert all(c.sha == records[c.id].get("sha") for c in cards)


def test_recrawl_changes_nothing_and_incremental_is_cheap(sample_sim, sample_crawl, tmp_path):
    db, first = sample_crawl
    before = dump_store(db)
    again = hubtree("crawl", "hf", "--endpoint", sample_sim.url, "--db", db, "--json").summary
    assert again["changed"] == 0 and again["deleted"] == 0 and again["cards_fetched"] == 0
    inc = hubtree("crawl", "hf", "--endpoint", sample_sim.url, "--db", db, "--json", "--mode", "incremental").summary
    assert inc["changed"] == 0 and inc["requests"]["api"] <= 2
    after = dump_store(db)
    for table in ("model", "edge", "card", "quarantine"):
        assert after[table] == before[table], table


def _evolve(records: list[dict]) -> tuple[list[dict], dict[str, set[str]]]:
    """A later snapshot of the world: new derivatives, edited cards/metadata, deleted repos."""
    rng = random.Random(7)
    family = [r for r in records if r.get("sha") and any(t.startswith("base_model:Qwen/") for t in r.get("tags", []))]
    edited = {r["id"] for r in rng.sample(family, 5)}
    deleted = {r["id"] for r in rng.sample([r for r in records if r["id"] not in edited], 7)}
    out = []
    for r in records:
        if r["id"] in deleted:
            continue
        if r["id"] in edited:
            r = dict(r, sha="e" * 40, lastModified="2024-08-01T00:00:00.000Z", readme="---\nlicense: mit\n---\nEdited card")
        out.append(r)
    new = []
    for i in range(3):
        new.append({"_id": f"66aa00000000000000000{i:03d}", "id": f"newcomer/Qwen2-7B-sft-{i}", "author": "newcomer",
                    "sha": f"{i}" * 40, "createdAt": "2024-08-02T00:00:00.000Z",
                    "lastModified": "2024-08-02T00:00:00.000Z", "likes": 0, "downloads": 0, "private": False,
                    "tags": ["transformers", "qwen2", "base_model:Qwen/Qwen2-7B", "license:apache-2.0"],
                    "cardData": {"base_model": "Qwen/Qwen2-7B", "license": "apache-2.0"},
                    "readme": "---\nbase_model: Qwen/Qwen2-7B\n---\n# newcomer"})
    return out + new, {"edited": edited, "deleted": deleted, "new": {r["id"] for r in new}}


def test_incremental_after_the_world_changed_fetches_only_what_changed(tmp_path):
    records = world_records(SAMPLE_WORLD)
    later, changes = _evolve([dict(r) for r in records])
    world_b = write_world(tmp_path / "b", hf=later)
    db = f"sqlite:///{tmp_path / 'store.db'}"
    with running_sim(SAMPLE_WORLD) as sim:
        assert hubtree("crawl", "hf", "--endpoint", sim.url, "--db", db).code == 0
        sim.reload(world_b)
        inc = hubtree("crawl", "hf", "--endpoint", sim.url, "--db", db, "--mode", "incremental", "--json").summary
        assert inc["status"] == "success"
        assert inc["changed"] == len(changes["edited"]) + len(changes["new"])
        assert inc["requests"]["api"] == 2  # one page of each sort reaches the watermark
        # cards: only those of changed family models (their sha changed)
        assert inc["cards_fetched"] == len(changes["edited"]) + len(changes["new"])
        store = open_store(db)
        with store.engine.connect() as conn:
            new_edges = conn.execute(select(Edge.parent).where(Edge.child.in_(changes["new"]))).scalars().all()
            assert set(new_edges) == {"Qwen/Qwen2-7B"}
            assert conn.execute(select(Model.deleted_at).where(Model.id.in_(changes["deleted"]))).scalars().all() == [
                None] * len(changes["deleted"])  # incremental crawls cannot see deletions
        full = hubtree("crawl", "hf", "--endpoint", sim.url, "--db", db, "--json", "--cards", "none").summary
        assert full["deleted"] == len(changes["deleted"])
        with store.engine.connect() as conn:
            kept = conn.execute(select(Model.id, Model.deleted_at).where(Model.id.in_(changes["deleted"]))).all()
        assert len(kept) == len(changes["deleted"]) and all(d is not None for _, d in kept)  # history kept


def test_faults_and_a_small_quota_are_survived_without_loss(tmp_path):
    clean_db = f"sqlite:///{tmp_path / 'clean.db'}"
    faulty_db = f"sqlite:///{tmp_path / 'faulty.db'}"
    args = ("--page-size", "100", "--cards", "none", "--json")
    with running_sim(SAMPLE_WORLD) as sim:
        assert hubtree("crawl", "hf", "--endpoint", sim.url, "--db", clean_db, *args).code == 0
    with running_sim(SAMPLE_WORLD, quota=30, window=3, fault_rate=0.05, seed=3) as sim:
        run = hubtree("crawl", "hf", "--endpoint", sim.url, "--db", faulty_db, *args)
        stats = sim.stats()
    summary = run.summary
    assert run.code == 0, run.stderr
    optimum = -(-summary["records"] // 100)
    assert summary["requests"]["api"] <= 1.02 * optimum + summary["retries"]
    assert sum(stats["faults"].values()) > 0, "the run must actually have met faults"
    assert stats["rate_limited"] <= 1  # the quota is learnt from the first answer's headers
    assert summary["rate_limit_waits"] > 0
    clean, faulty = dump_store(clean_db), dump_store(faulty_db)
    for table in ("model", "edge", "quarantine", "metric_history"):
        assert faulty[table] == clean[table], table


def test_a_crawl_killed_at_any_moment_resumes_to_the_same_store(tmp_path):
    reference_db = f"sqlite:///{tmp_path / 'reference.db'}"
    args = ("--page-size", "200", "--json", "--concurrency", "8")
    with running_sim(SAMPLE_WORLD, latency_ms=15) as sim:
        started = time.monotonic()
        assert hubtree("crawl", "hf", "--endpoint", sim.url, "--db", reference_db, *args).code == 0
        duration = time.monotonic() - started
        reference = dump_store(reference_db)
        rng = random.Random(11)
        for attempt in range(2):
            def command(n: int, attempt: int = attempt) -> list[str]:
                return [sys.executable, "-m", "hubtree.cli", "crawl", "hf", "--endpoint", sim.url,
                        "--db", f"sqlite:///{tmp_path / f'killed{attempt}-{n}.db'}", *args]

            killed_try = crawl_killed_midway(command, duration, rng)
            db = f"sqlite:///{tmp_path / f'killed{attempt}-{killed_try}.db'}"
            resumed = hubtree("crawl", "hf", "--endpoint", sim.url, "--db", db, *args)
            assert resumed.code == 0, resumed.stderr
            summary = resumed.summary
            assert summary["records"] == len(world_records(SAMPLE_WORLD))
            assert summary["run_id"] == 1  # the same run, resumed (or begun, if killed before it opened)
            killed = dump_store(db)
            for table in ("model", "edge", "card", "quarantine", "metric_history"):
                assert killed[table] == reference[table], (attempt, table)


def _children(pid: int) -> list[int]:
    return [int(c) for c in Path(f"/proc/{pid}/task/{pid}/children").read_text().split()]


MIDWAY_ARGS = ("--page-size", "100", "--json", "--cards", "none")


def _stored_records(db: Path) -> int:
    """The run's committed record count, read as another process would (0 before the run exists)."""
    if not db.exists():
        return 0
    with sqlite3.connect(f"file:{db}?mode=ro", uri=True) as conn:
        try:
            return conn.execute("SELECT coalesce(max(records), 0) FROM crawl_run").fetchone()[0]
        except sqlite3.OperationalError:  # the tables are not created yet
            return 0


def _indexes(db: Path) -> set[str]:
    with sqlite3.connect(f"file:{db}?mode=ro", uri=True) as conn:
        return {name for (name,) in conn.execute("SELECT name FROM sqlite_master WHERE type = 'index'")}


def _crawl_stored_midway(sim_url: str, db: Path, records: int = 1000) -> subprocess.Popen:
    """A crawl into ``db`` (``MIDWAY_ARGS``) started, and waited for until it has committed ``records`` records."""
    crawl = subprocess.Popen([sys.executable, "-m", "hubtree.cli", "crawl", "hf", "--endpoint", sim_url, "--db",
                              f"sqlite:///{db}", *MIDWAY_ARGS], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    deadline = time.monotonic() + 120
    while _stored_records(db) < records:
        assert crawl.poll() is None and time.monotonic() < deadline, f"the crawl did not store {records} records"
        time.sleep(0.02)
    return crawl


@pytest.mark.skipif(not Path("/proc/self/task").is_dir(), reason="finds the writer process through /proc (Linux)")
def test_a_page_writer_killed_mid_listing_stops_the_crawl_resumably(tmp_path):
    """The listing's pages are written by a child process: if it dies, no later page is written past the lost one,
    the crawl says why and exits partial, and the next crawl resumes it to the store of an uninterrupted run."""
    with running_sim(SAMPLE_WORLD, latency_ms=20) as sim:
        reference_db = f"sqlite:///{tmp_path / 'reference.db'}"
        assert hubtree("crawl", "hf", "--endpoint", sim.url, "--db", reference_db, *MIDWAY_ARGS).code == 0
        db = tmp_path / "killed.db"
        crawl = _crawl_stored_midway(sim.url, db)
        [writer] = _children(crawl.pid)
        os.kill(writer, signal.SIGKILL)
        out, err = crawl.communicate(timeout=120)
        stored = _stored_records(db)
        assert crawl.returncode == 3, err  # partial
        assert "Traceback" not in err
        assert any("not stored: the page writer process ended" in note for note in json.loads(out)["notes"]), out
        assert 1000 <= stored < len(world_records(SAMPLE_WORLD))
        with sqlite3.connect(db) as conn:  # the page in hand when the writer died counted if and only if stored
            assert conn.execute("SELECT count(*) FROM model").fetchone()[0] == stored
        assert set(DEFERRED) <= _indexes(db)  # built when the listing stopped
        resumed = hubtree("crawl", "hf", "--endpoint", sim.url, "--db", f"sqlite:///{db}", *MIDWAY_ARGS)
        assert resumed.code == 3, resumed.stderr  # the same run, which keeps the count of its stop (errors: 1)
        assert resumed.summary["run_id"] == 1 and resumed.summary["errors"] == 1
        assert resumed.summary["records"] == len(world_records(SAMPLE_WORLD))
        killed, reference = dump_store(f"sqlite:///{db}"), dump_store(reference_db)
        for table in ("model", "edge", "quarantine", "metric_history"):
            assert killed[table] == reference[table], table


def test_a_new_stores_first_crawl_builds_the_deferred_indexes_after_its_listing(tmp_path):
    """A new store's listing is written without the indexes no write reads; they are built once it is stored, or
    by the next crawl when this one is killed, to the store of an uninterrupted run. A store that holds models
    keeps them."""
    with running_sim(SAMPLE_WORLD, latency_ms=20) as sim:
        reference = tmp_path / "reference.db"
        assert hubtree("crawl", "hf", "--endpoint", sim.url, "--db", f"sqlite:///{reference}", *MIDWAY_ARGS).code == 0
        built = _indexes(reference)
        assert set(DEFERRED) <= built
        with sqlite3.connect(reference) as conn:  # built before the planner's statistics were refreshed
            assert set(DEFERRED) <= {index for (index,) in conn.execute("SELECT idx FROM sqlite_stat1")}
        db = tmp_path / "killed.db"
        crawl = _crawl_stored_midway(sim.url, db)
        assert not set(DEFERRED) & _indexes(db)
        crawl.kill()
        crawl.communicate(timeout=60)
        assert not set(DEFERRED) & _indexes(db)
        resumed = hubtree("crawl", "hf", "--endpoint", sim.url, "--db", f"sqlite:///{db}", *MIDWAY_ARGS)
        assert resumed.code == 0, resumed.stderr
        assert _indexes(db) == built
        killed, uninterrupted = dump_store(f"sqlite:///{db}"), dump_store(f"sqlite:///{reference}")
        for table in ("model", "edge", "quarantine", "metric_history"):
            assert killed[table] == uninterrupted[table], table
    store = open_store(f"sqlite:///{reference}")
    assert not defer_indexes(store)
    store.engine.dispose()
    assert _indexes(reference) == built


def test_a_page_the_store_refuses_stops_the_listing_with_no_page_written_past_it(tmp_path):
    """The store refuses one page as a whole (a trigger added mid-crawl fails its checkpoint): the listing stops on
    it, says why and exits partial, and no later page is committed past it (its checkpoint would skip the refused
    page). The next crawl resumes the run to every record."""
    # pages 100 ms apart: the writer commits while it waits on the hub, and this test's transaction finds the store
    # free between two pages (pages that came back to back would keep it busy to the listing's end)
    with running_sim(SAMPLE_WORLD, latency_ms=100) as sim:
        db = tmp_path / "refusing.db"
        crawl = _crawl_stored_midway(sim.url, db)
        conn = sqlite3.connect(db, timeout=30, isolation_level=None)
        try:  # the count and the trigger in one write transaction: no page can commit between them
            conn.execute("BEGIN IMMEDIATE")  # waits for the page being written, if any
            refused_at = conn.execute("SELECT max(records) FROM crawl_run").fetchone()[0]
            conn.execute(f"CREATE TRIGGER refuse BEFORE UPDATE OF checkpoint ON crawl_run WHEN NEW.records > "
                         f"{refused_at} AND NEW.records <= {refused_at + 100} "
                         "BEGIN SELECT RAISE(ABORT, 'refused by a trigger'); END")
            conn.execute("COMMIT")
        finally:
            conn.close()
        out, err = crawl.communicate(timeout=120)
        assert crawl.returncode == 3, err
        assert "Traceback" not in err
        assert any("not stored: IntegrityError: refused by a trigger" in n for n in json.loads(out)["notes"]), out
        with sqlite3.connect(db) as conn:
            conn.execute("DROP TRIGGER refuse")
            assert conn.execute("SELECT count(*) FROM model").fetchone()[0] == refused_at == _stored_records(db)
        resumed = hubtree("crawl", "hf", "--endpoint", sim.url, "--db", f"sqlite:///{db}", *MIDWAY_ARGS)
        assert resumed.summary["run_id"] == 1
        assert resumed.summary["records"] == len(world_records(SAMPLE_WORLD))


def test_second_overlapping_crawl_refuses_cleanly(tmp_path):
    db = f"sqlite:///{tmp_path / 'store.db'}"
    with running_sim(SAMPLE_WORLD, latency_ms=200) as sim:
        cmd = [sys.executable, "-m", "hubtree.cli", "crawl", "hf", "--endpoint", sim.url, "--db", db, "--json",
               "--page-size", "200", "--cards", "none"]  # ~38 pages at 200 ms: several seconds of crawl
        first = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        time.sleep(2.0)
        second = hubtree("crawl", "hf", "--endpoint", sim.url, "--db", db, "--json")
        out, err = first.communicate(timeout=300)
    assert second.code == 4
    assert "another hubtree crawl is running" in second.stderr and "Traceback" not in second.stderr
    assert first.returncode == 0, err
    store = open_store(db)
    with store.engine.connect() as conn:
        runs = conn.execute(select(CrawlRun.status)).scalars().all()
    assert runs == ["success"]


def test_token_is_sent_but_never_printed_or_stored(tmp_path):
    db_path = tmp_path / "store.db"
    secret = "hf_SECRETtokenThatMustNotLeak123"
    with running_sim(SAMPLE_WORLD) as sim:
        run = hubtree("crawl", "hf", "--endpoint", sim.url, "--db", f"sqlite:///{db_path}", "--cards", "none",
                      env={"HF_TOKEN": secret})
    assert run.code == 0
    assert secret not in run.stdout + run.stderr
    assert secret.encode() not in Path(db_path).read_bytes()


def test_a_crawl_opens_no_control_server(tmp_path):
    """Scrapy's RemoteControl extension would serve code execution on localhost and write its token to the user's
    state directory (``$XDG_STATE_HOME/scrapy/job_files``) when the crawl starts: the crawl leaves it off."""
    state = tmp_path / "state"
    with running_sim(SAMPLE_WORLD) as sim:
        run = hubtree("crawl", "hf", "--endpoint", sim.url, "--db", f"sqlite:///{tmp_path / 'store.db'}", "--cards",
                      "none", env={"XDG_STATE_HOME": str(state)})
    assert run.code == 0, run.stderr
    assert not (state / "scrapy").exists()


@pytest.mark.postgres
def test_postgres_store_equals_sqlite_store(sample_sim, sample_crawl, pg_url):
    db, _ = sample_crawl
    run = hubtree("crawl", "hf", "--endpoint", sample_sim.url, "--db", pg_url, "--json")
    assert run.code == 0, run.stderr
    pg, lite = dump_store(pg_url), dump_store(db)
    for table in ("model", "edge", "card", "quarantine"):
        assert pg[table] == lite[table], table


def test_generated_world_relation_counts_match_the_typed_tags(tmp_path):
    """On a world with today's typed tags, the crawl's family and relation counts equal a plain count of the tags."""
    from hubsim.generate import GeneratorConfig, generate_world

    world = tmp_path / "world"
    generate_world(world, GeneratorConfig(qwen=3000, others=2000, modelscope=0, seed=5))
    records = world_records(world)
    roots, members, _ = expected_family(records)
    family = roots | members
    ids = {r["id"] for r in records}
    lower = Counter(i.lower() for i in ids)
    by_lower = {i.lower(): i for i in ids if lower[i.lower()] == 1}
    expected = Counter()
    for r in records:
        if r["id"] not in members:
            continue
        for tag in r.get("tags") or []:
            head, _, parent = tag[len("base_model:"):].partition(":")
            parent = parent if parent in ids else by_lower.get(parent.lower())
            if tag.startswith("base_model:") and head in RELATIONS and parent in family and parent != r["id"]:
                expected[head] += 1
    db = f"sqlite:///{tmp_path / 'store.db'}"
    with running_sim(world) as sim:
        summary = hubtree("crawl", "hf", "--endpoint", sim.url, "--db", db, "--json", "--cards", "none").summary
    assert summary["family_models"] == len(members) and summary["roots"] == len(roots)
    store = open_store(db)
    with store.engine.connect() as conn:
        rows = conn.execute(select(Edge.child, Edge.parent, Edge.relation).where(
            Edge.rule == "tag:typed", Edge.status == "resolved")).all()
    got = Counter(rel for child, parent, rel in rows if child in members and parent in family)
    assert got == expected
    assert sum(expected.values()) > 1000 and set(expected) == RELATIONS
