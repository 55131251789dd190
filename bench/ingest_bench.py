"""Ingest benchmark: records/s of ``crawler.ingest.write_page`` on pages of 1,000, into SQLite and PostgreSQL.

    python bench/ingest_bench.py --scale 200k                                   # SQLite
    scripts/with-test-services.sh python bench/ingest_bench.py --scale 200k     # SQLite and a throwaway PostgreSQL

Reads the world's records (JSON decoding is not timed; the crawl benchmark covers it), drops the card text a
listing never carries, and writes them page by page as one crawl run would (pass 1: every record new), then once
more under a second run (pass 2: every record unchanged, what a weekly full sweep mostly sees). Times cover
``write_page`` only: parsing, lineage, hashing and the transaction. PostgreSQL comes from ``--pg-url`` or
``$HUBTREE_TEST_PG_URL`` (the throwaway server runs with ``fsync=off``).
"""

from __future__ import annotations

import argparse
import os
import resource
from pathlib import Path
from typing import Any

from common import PAGE, add_scale_argument, db_path, loadavg, new_run, now, pages, save, world_dir


def one_pass(store: Any, world: Path, limit: int | None) -> dict[str, Any]:
    """Write every page under a new run; time and CPU of ``write_page`` calls only."""
    from crawler.ingest import write_page

    run_id, records, changed, spent, cpu = new_run(store), 0, 0, 0.0, 0.0
    load = loadavg()
    for page in pages(world, limit):
        u0, t = resource.getrusage(resource.RUSAGE_SELF), now()
        result = write_page(store, "hf", page, run_id=run_id)
        spent += now() - t
        u1 = resource.getrusage(resource.RUSAGE_SELF)
        cpu += (u1.ru_utime - u0.ru_utime) + (u1.ru_stime - u0.ru_stime)
        records += result.records + result.quarantined
        changed += result.changed
    return {"records": records, "changed": changed, "wall_s": round(spent, 2), "cpu_s": round(cpu, 2),
            "records_per_s_wall": round(records / spent), "records_per_s_cpu": round(records / cpu) if cpu else None,
            "load_before": load, "load_after": loadavg()}


def bench_backend(url: str, world: Path, limit: int | None) -> dict[str, Any]:
    from sqlmodel import SQLModel

    from crawler.store import open_store

    store = open_store(url, create=False)
    SQLModel.metadata.drop_all(store.engine)
    SQLModel.metadata.create_all(store.engine)
    first = one_pass(store, world, limit)
    print(f"{store.dialect} pass 1: {first}", flush=True)
    second = one_pass(store, world, limit)
    print(f"{store.dialect} pass 2: {second}", flush=True)
    store.engine.dispose()
    return {"new_records": first, "unchanged_records": second}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    add_scale_argument(ap)
    ap.add_argument("--limit", type=int, help="Only the first N records of the world.")
    ap.add_argument("--pg-url", default=os.environ.get("HUBTREE_TEST_PG_URL"))
    ap.add_argument("--backends", default="sqlite,postgresql")
    args = ap.parse_args()
    world = world_dir(args.scale)
    out: dict[str, Any] = {"world": str(world), "page": PAGE, "backends": {}}
    wanted = args.backends.split(",")
    if "sqlite" in wanted:
        out["backends"]["sqlite"] = bench_backend(f"sqlite:///{db_path(f'ingest-{args.scale}')}", world, args.limit)
    if "postgresql" in wanted:
        if args.pg_url:
            out["backends"]["postgresql"] = bench_backend(args.pg_url, world, args.limit)
            out["postgresql_note"] = "throwaway server of scripts/with-test-services.sh (fsync=off)"
        else:
            out["postgresql_note"] = "skipped: no --pg-url or HUBTREE_TEST_PG_URL (run under with-test-services.sh)"
    out["peak_rss_mb"] = round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024)
    save("ingest", args.scale, out)


if __name__ == "__main__":
    main()
