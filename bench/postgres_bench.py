"""The production store at scale: sweep, graph, analyses and report on PostgreSQL, beside the same on SQLite.

    scripts/with-test-services.sh python bench/postgres_bench.py --scale 1m [--only crawl,analysis]

Needs a PostgreSQL server (``--server URL`` of any database on it, default ``$HUBTREE_TEST_PG_URL``, which
``scripts/with-test-services.sh`` sets for a throwaway server). Each backend gets a fresh store filled by the same
sweep of the world (``hubtree crawl hf --cards none``, simulator latency 0; :func:`crawl_bench.crawl`), then the
cold-CLI commands of :mod:`analysis_bench` (analyses, graph stats, report) run on it. Results:
``bench/results/postgres-<scale>.json``.
"""

from __future__ import annotations

import argparse
import os
import tempfile
from typing import Any

from analysis_bench import COMMANDS, cold_run
from common import add_code_argument, add_scale_argument, code_env, db_path, hubtree_cmd, save, world_dir
from crawl_bench import crawl
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url


def fresh_database(server: str, name: str) -> str:
    """The URL of database ``name`` on ``server``, dropped and created empty."""
    url = make_url(server).set(drivername="postgresql+psycopg")
    engine = create_engine(url, isolation_level="AUTOCOMMIT")
    with engine.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    engine.dispose()
    return url.set(database=name).render_as_string(hide_password=False)


def commands(url: str, code: str | None) -> dict[str, Any]:
    """The analyses, graph stats and the report, each a cold CLI run on the store at ``url``."""
    out = {}
    with tempfile.TemporaryDirectory() as report_dir:
        for name, args in [*COMMANDS.items(), ("report", ["report", "--month", "latest", "--out", report_dir, "--json"])]:
            run = cold_run(hubtree_cmd(*args, "--db", url, code=code), code_env(code))
            run.pop("json", None)
            out[name] = run
            print(f"{name}: {run}", flush=True)
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    add_scale_argument(ap)
    ap.add_argument("--server", default=os.environ.get("HUBTREE_TEST_PG_URL"),
                    help="URL of any database on the PostgreSQL server (default $HUBTREE_TEST_PG_URL).")
    ap.add_argument("--backends", default="postgresql,sqlite", help="Comma-separated: postgresql, sqlite.")
    add_code_argument(ap)
    args = ap.parse_args()
    world = world_dir(args.scale)
    out: dict[str, Any] = {"world": str(world)}
    for backend in args.backends.split(","):
        if backend == "postgresql":
            if not args.server:
                raise SystemExit("no PostgreSQL server: pass --server or run under scripts/with-test-services.sh")
            url = fresh_database(args.server, f"hubtree_bench_{args.scale}")
        else:
            url = f"sqlite:///{db_path(f'postgres-bench-sqlite-{args.scale}')}"
        sweep = crawl(world, f"postgres-{backend}-{args.scale}", latency_ms=0, db_url=url, code=args.code)
        print(f"{backend} sweep: {sweep['time']}", flush=True)
        out[backend] = {"sweep": sweep, "commands": commands(url, args.code)}
        out[backend]["sweep"]["db"] = backend
    save("postgres", args.scale, out)


if __name__ == "__main__":
    main()
