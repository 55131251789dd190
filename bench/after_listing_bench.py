"""The crawl's after-listing steps on a world's store: refreshing the statistics, resolving the declared bases and
finding the family (``crawler.after_listing.listing_stored`` without the deletions), each step's wall and CPU.

    python bench/after_listing_bench.py --scale 1m [--code DIR --name after-listing-before]

The steps write (statistics, resolutions), so they run on a copy of the benchmark store (``common.full_store``)
with no statistics in it, as a crawl leaves it before the steps; the copy is removed afterwards. The steps run in
a fresh interpreter under ``/usr/bin/time -v`` (peak RSS); ``--code DIR`` runs another checkout (*before*; a
checkout without ``Store.refresh_statistics`` skips that step).
"""

from __future__ import annotations

import argparse
import shutil
import sqlite3
import sys
from pathlib import Path

from common import add_code_argument, add_scale_argument, code_env, db_path, full_store, save, timed

STEPS = """
import json, resource, sys, time
from crawler.families import default_family
from crawler.family import family_of, resolve_edges
from crawler.store import open_store

store = open_store(sys.argv[1], create=False)
steps = [("resolve_edges", lambda: resolve_edges(store, "hf")),
         ("family_of", lambda: family_of(store, "hf", (default_family(),)))]
if hasattr(store, "refresh_statistics"):
    steps.insert(0, ("refresh_statistics", store.refresh_statistics))
out = {}
for name, step in steps:
    usage, start = resource.getrusage(resource.RUSAGE_SELF), time.perf_counter()
    result = step()
    done = resource.getrusage(resource.RUSAGE_SELF)
    out[name] = {"wall_s": round(time.perf_counter() - start, 2),
                 "cpu_s": round(done.ru_utime + done.ru_stime - usage.ru_utime - usage.ru_stime, 2)}
    if name == "family_of":
        out[name].update(roots=len(result.roots), members=len(result.members), undeclared=len(result.undeclared))
print(json.dumps(out))
"""


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    add_scale_argument(ap)
    add_code_argument(ap)
    ap.add_argument("--name", default="after-listing", help="Results file name (bench/results/<name>-<scale>.json).")
    args = ap.parse_args()
    url, _ = full_store(args.scale)
    copy = db_path(f"after-listing-{args.scale}")
    shutil.copyfile(url.removeprefix("sqlite:///"), copy)
    try:
        _drop_statistics(copy)
        run = timed([sys.executable, *(["-P"] if args.code else []), "-c", STEPS, f"sqlite:///{copy}"],
                    env=code_env(args.code))
    finally:
        for suffix in ("", "-wal", "-shm"):
            (copy.parent / f"{copy.name}{suffix}").unlink(missing_ok=True)
    steps = run.pop("json")
    save(args.name, args.scale, {"steps": steps, "total": run, "code": args.code or "this checkout"})


def _drop_statistics(path: Path) -> None:
    """The store as a crawl leaves it before the steps: no planner statistics (the benchmark store may have them)."""
    with sqlite3.connect(str(path)) as conn:
        if conn.execute("SELECT 1 FROM sqlite_master WHERE name = 'sqlite_stat1'").fetchone():
            conn.execute("DELETE FROM sqlite_stat1")


if __name__ == "__main__":
    main()
