"""Bad input at the command line and hostile text in the store: one clear line or a safe default, never a
traceback, a hang, or an escape sequence sent raw to the terminal."""

from __future__ import annotations

import os
from datetime import datetime
from pathlib import Path

import polars as pl
import pytest

from analysis.report.render import write_tables
from crawler.family import resolve_edges
from crawler.ingest import write_page
from crawler.lock import LockBusy, RunLock
from crawler.store import Model, open_store
from tests.support.store import hubtree

ROOT = "Qwen/Qwen2-7B"
ESCAPES = "evil/\x1b]0;pwned\x07\x1b[31mred\x9b2J"


def _record(model_id: str, parent: str | None = None, created: str = "2024-06-01T00:00:00.000Z") -> dict:
    return {"id": model_id, "createdAt": created, "tags": [f"base_model:{parent}"] if parent else [],
            "library_name": "transformers"}


def make_store(path: Path, records: list[dict]) -> str:
    url = f"sqlite:///{path}"
    store = open_store(url)
    write_page(store, "hf", records, run_id=None)
    resolve_edges(store, "hf")
    store.engine.dispose()
    return url


@pytest.fixture
def env(tmp_path: Path, monkeypatch) -> dict[str, str]:
    monkeypatch.setenv("HUBTREE_CACHE", str(tmp_path / "cache"))
    return {"HUBTREE_CACHE": str(tmp_path / "cache")}


def _one_line_error(run, fragment: str, code: int) -> None:
    assert run.code == code, (run.code, run.stderr[-1500:])
    assert "Traceback" not in run.stderr and fragment in run.stderr, run.stderr[-1500:]
    assert len(run.stderr.strip().splitlines()) == 1, run.stderr


def test_terminal_escapes_in_model_ids_are_shown_not_sent(tmp_path: Path, env) -> None:
    db = make_store(tmp_path / "s.db", [_record(ROOT), _record(ESCAPES, ROOT)])
    for args in (("tree", ROOT), ("descendants", ROOT), ("family", ESCAPES), ("path", ROOT, ESCAPES)):
        run = hubtree("graph", *args, "--db", db, env=env)
        assert run.code == 0, run.stderr[-1500:]
        assert "\x1b" not in run.stdout and "\x07" not in run.stdout and "\x9b" not in run.stdout, args
        assert "\\x1b" in run.stdout, (args, run.stdout)


def test_a_chain_thousands_deep_prints_as_a_tree(tmp_path: Path, env) -> None:
    chain = [f"org/m{i}" for i in range(1500)]
    db = make_store(tmp_path / "s.db", [_record(ROOT)] + [_record(m, p) for m, p in zip(chain, [ROOT, *chain[:-1]], strict=True)])
    run = hubtree("graph", "tree", ROOT, "--depth", "5000", "--db", db, env=env)
    assert run.code == 0, run.stderr[-1500:]
    lines = run.stdout.splitlines()
    assert len(lines) == 1501 and lines[-1].endswith("org/m1499 (finetune)")


def test_a_file_that_is_not_a_store_is_one_line(tmp_path: Path, env) -> None:
    bogus = tmp_path / "notes.txt"
    bogus.write_text("not a database\n" * 100)
    url = f"sqlite:///{bogus}"
    _one_line_error(hubtree("graph", "stats", "--db", url, env=env), "not a database", 1)
    _one_line_error(hubtree("report", "--month", "2024-07", "--db", url, "--out", str(tmp_path / "r"), env=env),
                    "not a database", 1)


def test_a_read_only_store_refuses_a_crawl_in_one_line(tmp_path: Path, env) -> None:
    db = make_store(tmp_path / "s.db", [_record(ROOT)])
    read_only = f"sqlite:///file:{tmp_path / 's.db'}?mode=ro&uri=true"
    run = hubtree("crawl", "hf", "--db", read_only, "--endpoint", "http://127.0.0.1:9", "--progress", "none", env=env)
    _one_line_error(run, "readonly", 1)
    assert db


@pytest.fixture
def sql_ascii_url(pg_url: str):
    """A PostgreSQL database created SQL_ASCII (initdb's choice without a locale) on the test server."""
    from sqlalchemy import create_engine

    admin = create_engine(pg_url.replace("postgresql://", "postgresql+psycopg://", 1), isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.exec_driver_sql("DROP DATABASE IF EXISTS hubtree_sql_ascii")
        conn.exec_driver_sql("CREATE DATABASE hubtree_sql_ascii ENCODING 'SQL_ASCII' TEMPLATE template0 "
                             "LC_COLLATE 'C' LC_CTYPE 'C'")
    yield pg_url.rsplit("/", 1)[0] + "/hubtree_sql_ascii"
    with admin.connect() as conn:
        conn.exec_driver_sql("DROP DATABASE IF EXISTS hubtree_sql_ascii WITH (FORCE)")
    admin.dispose()


def test_a_postgresql_database_not_in_utf8_is_refused_in_one_line(sql_ascii_url: str, env) -> None:
    crawl = hubtree("crawl", "hf", "--db", sql_ascii_url, "--endpoint", "http://127.0.0.1:9", "--progress", "none",
                    env=env)
    _one_line_error(crawl, "its encoding is SQL_ASCII, hubtree needs UTF8", 1)
    _one_line_error(hubtree("graph", "stats", "--db", sql_ascii_url, env=env), "hubtree needs UTF8", 1)


@pytest.mark.parametrize("url", ["sqlite:///", "sqlite://", "sqlite:///:memory:"])
def test_an_in_memory_store_is_refused(url: str, env) -> None:
    _one_line_error(hubtree("crawl", "hf", "--db", url, "--endpoint", "http://127.0.0.1:9", env=env),
                    "in-memory", 2)


@pytest.mark.parametrize(("args", "fragment"), [
    (("crawl", "hf", "--concurrency", "0"), "--concurrency"),
    (("crawl", "modelscope", "--concurrency", "-3"), "--concurrency"),
    (("crawl", "hf", "--progress", "fancy"), "--progress"),
    (("runs", "--hub", "github"), "--hub"),
])
def test_bad_option_values_are_usage_errors(tmp_path: Path, args: tuple[str, ...], fragment: str, env) -> None:
    db = make_store(tmp_path / "s.db", [_record(ROOT)])
    run = hubtree(*args, "--db", db, "--endpoint", "http://127.0.0.1:9", env=env, timeout=60) if args[0] == "crawl" \
        else hubtree(*args, "--db", db, env=env, timeout=60)
    _one_line_error(run, fragment, 2)


def test_runs_limit_must_be_positive(tmp_path: Path, env) -> None:
    db = make_store(tmp_path / "s.db", [_record(ROOT)])
    run = hubtree("runs", "--limit", "0", "--db", db, env=env)
    assert run.code == 2 and "--limit" in run.stderr and "Traceback" not in run.stderr


def test_report_months_are_checked_against_the_data(tmp_path: Path, env) -> None:
    db = make_store(tmp_path / "s.db", [_record(ROOT), _record("org/child", ROOT), _record("org/far", ROOT)])
    store = open_store(db)  # as a store written before future dates were refused: a year-9999 derivative
    with store.transaction() as conn:
        store.upsert(conn, Model, [{"hub": "hf", "id": "org/far", "created_at": datetime(9999, 12, 31)}])
    store.engine.dispose()
    _one_line_error(hubtree("report", "--month", "9999-12", "--db", db, "--out", str(tmp_path / "f"), env=env),
                    "after the current month", 1)
    latest = hubtree("report", "--month", "latest", "--db", db, "--out", str(tmp_path / "l"), "--json", env=env)
    assert latest.code == 0 and latest.summary["month"] == "2024-06", latest.stderr[-1500:]


def test_report_csv_cells_cannot_run_as_formulas(tmp_path: Path) -> None:
    table = pl.DataFrame({"id": ["=HYPERLINK(\"http://x\")/m", "+1/m", "-2/m", "@SUM(A1)/m", "org/m"],
                          "change": [-1, 2, 3, 4, 5]})
    write_tables({"t": table}, tmp_path, parquet=True)
    rows = (tmp_path / "t.csv").read_text().splitlines()[1:]
    assert [r.split(",")[-1] for r in rows] == ["-1", "2", "3", "4", "5"]  # numbers stay numbers
    assert all(r.startswith(("'", '"\'')) for r in rows[:4]) and rows[4].startswith("org/m")
    assert pl.read_parquet(tmp_path / "t.parquet").equals(table)  # the data file keeps the values


def test_the_run_lock_is_keyed_on_the_real_file(tmp_path: Path) -> None:
    db = make_store(tmp_path / "s.db", [_record(ROOT)])
    (tmp_path / "link.db").symlink_to(tmp_path / "s.db")
    with RunLock(open_store(db), "crawl"), pytest.raises(LockBusy):
        RunLock(open_store(f"sqlite:///{tmp_path / 'link.db'}"), "crawl").acquire()
    os.unlink(tmp_path / "link.db")
