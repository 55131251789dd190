"""Bytes per metric-history row of five SQLite layouts, with the model ids of a benchmark store.

    python bench/history_layout_bench.py --scale 1m [--changed 300000] [--runs 4] [--key-order] [--layouts …]

The ids are those of the benchmark store (``bench-store-<scale>.db``, read only). A first run writes every model,
each later run ``--changed`` random models, 1,000 rows a transaction in listing order (as a sweep writes its pages;
with ``--key-order`` the keys follow the listing, as in a store that numbered its models itself). Layouts: the id
and a text time per row (``metric_snapshot`` until 0f5564e), the id without the time, an integer model key in a
``WITHOUT ROWID`` table in run order (``metric_history`` until the layout by model), the same by model (key, then
run: ``metric_history``), the first key layout as a rowid table. Prints bytes per row of the first and of the later
runs, per model per sweep at that changed share, and the CPU per row written.
"""

from __future__ import annotations

import argparse
import random
import sqlite3
import tempfile
import time
from pathlib import Path

from common import add_scale_argument, full_store

_WHEN = "2026-12-01 00:26:47.640114"
LAYOUTS = {  # name: (DDL, row of (run, key, id, downloads, downloads_all_time, likes))
    "id + time": ("CREATE TABLE s (run_id INT, hub TEXT, id TEXT, taken_at DATETIME, downloads BIGINT, "
                  "downloads_all_time BIGINT, likes BIGINT, deleted BOOLEAN, PRIMARY KEY (run_id, hub, id)) "
                  "WITHOUT ROWID", lambda r, k, i, d, a, lk: (r, "hf", i, _WHEN, d, a, lk, None)),
    "id": ("CREATE TABLE s (run_id INT, hub TEXT, id TEXT, downloads BIGINT, downloads_all_time BIGINT, "
           "likes BIGINT, deleted BOOLEAN, PRIMARY KEY (run_id, hub, id)) WITHOUT ROWID",
           lambda r, k, i, d, a, lk: (r, "hf", i, d, a, lk, None)),
    "key": ("CREATE TABLE s (run_id INT, hub TEXT, key INT, downloads BIGINT, downloads_all_time BIGINT, "
            "likes BIGINT, deleted BOOLEAN, PRIMARY KEY (run_id, hub, key)) WITHOUT ROWID",
            lambda r, k, i, d, a, lk: (r, "hf", k, d, a, lk, None)),
    "key, by model": ("CREATE TABLE s (run_id INT, hub TEXT, key INT, downloads BIGINT, downloads_all_time BIGINT, "
                      "likes BIGINT, deleted BOOLEAN, PRIMARY KEY (hub, key, run_id)) WITHOUT ROWID",
                      lambda r, k, i, d, a, lk: (r, "hf", k, d, a, lk, None)),
    "key, rowid table": ("CREATE TABLE s (run_id INT, hub TEXT, key INT, downloads BIGINT, downloads_all_time "
                         "BIGINT, likes BIGINT, deleted BOOLEAN, PRIMARY KEY (run_id, hub, key))",
                         lambda r, k, i, d, a, lk: (r, "hf", k, d, a, lk, None)),
}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    add_scale_argument(ap)
    ap.add_argument("--changed", type=int, default=300_000)
    ap.add_argument("--runs", type=int, default=4)
    ap.add_argument("--key-order", action="store_true",
                    help="rows written in key order, as a store that numbered its models in its own sweeps")
    ap.add_argument("--layouts", nargs="*", choices=list(LAYOUTS), default=list(LAYOUTS))
    args = ap.parse_args()
    store = full_store(args.scale)[0].removeprefix("sqlite:///")
    with sqlite3.connect(f"file:{store}?mode=ro", uri=True) as src:
        models = src.execute("SELECT rowid, id, downloads, downloads_all_time, likes FROM model "
                             "WHERE hub = 'hf'").fetchall()
    rng = random.Random(1)
    first = rng.sample(models, len(models))  # listing order is not key order (keys numbered by id on upgrade)
    later = [rng.sample(models, min(args.changed, len(models))) for _ in range(args.runs - 1)]
    if args.key_order:  # keys given in listing order, by the store's own first sweep
        first, later = sorted(first), [sorted(rows) for rows in later]
    print(f"{len(models):,} models, ids of {sum(len(m[1]) for m in models) / len(models):.1f} characters on average")
    with tempfile.TemporaryDirectory() as tmp:
        for name in args.layouts:
            ddl, row = LAYOUTS[name]
            started = time.process_time()
            path = Path(tmp) / "layout.db"
            path.unlink(missing_ok=True)
            with sqlite3.connect(path) as conn:
                conn.execute(ddl)
                marks = "?, " * (len(row(0, 0, "", 0, 0, 0)) - 1) + "?"
                for run, rows in enumerate([first, *later], start=1):
                    for start in range(0, len(rows), 1000):
                        conn.executemany(f"INSERT INTO s VALUES ({marks})",  # noqa: S608 - our own DDL
                                         [row(run, *m) for m in rows[start : start + 1000]])
                        conn.commit()
                    if run == 1:
                        base = path.stat().st_size
            size = path.stat().st_size
            rows_later = sum(map(len, later))
            print(f"{name}: first run {base / len(first):.1f} B/row, later runs {(size - base) / rows_later:.1f} B/row "
                  f"= {(size - base) / len(later) / len(models):.2f} B per model per sweep; "
                  f"{1e6 * (time.process_time() - started) / (len(first) + rows_later):.2f} µs of CPU per row written")


if __name__ == "__main__":
    main()
