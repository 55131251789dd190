"""Twelve monthly snapshots of one world, crawled incrementally, then growth measured from the store.

    python bench/snapshots_bench.py --scale 200k [--months 12]
    python bench/snapshots_bench.py --scale 200k --weekly --months 12 --name history   # 12 weekly full sweeps

Month 0 is a full sweep of the generated world; each later month is ``hubsim.generate.evolve_world`` of the
previous one (new, edited and deleted models, 30 days later), served by reloading the simulator, and crawled with
``--mode incremental``; every third month is also swept in full (deletions and complete metric snapshots are only
seen by a full sweep).
Reports per month: API calls, records listed, changed, wall/CPU; then ``hubtree analyze growth --json`` on the
store (time, and how many metric snapshots it saw). ``--weekly``: every snapshot is 7 days later (a quarter of the
monthly change) and swept in full, and the store's size (per table, SQLite ``dbstat``) is taken after each sweep:
the history's bytes per model per sweep, extrapolated to a year of weekly sweeps of the real Hub (3M models).
"""

from __future__ import annotations

import argparse
import shutil
import sqlite3
from pathlib import Path
from typing import Any

from common import (
    WORK,
    add_scale_argument,
    db_path,
    hubtree_cmd,
    save,
    simulator,
    timed,
    world_dir,
    world_hf_records,
)

#: Monthly change as shares of the world: new models, edited models, deleted models.
MONTHLY = (0.02, 0.01, 0.002)
#: The real Hub's size and a year of weekly sweeps (the extrapolation of ``--weekly``).
HUB_MODELS, SWEEPS_A_YEAR = 3_000_000, 52


def store_size(path: Path) -> dict[str, Any]:
    """Bytes of the SQLite store (file + WAL) and of each table with its indexes (``dbstat``)."""
    with sqlite3.connect(path) as conn:
        conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        pages = dict(conn.execute("SELECT name, sum(pgsize) FROM dbstat GROUP BY name").fetchall())
        owners = dict(conn.execute("SELECT name, tbl_name FROM sqlite_schema").fetchall())
        snapshots = conn.execute("SELECT count(*) FROM metric_snapshot").fetchone()[0]
    tables: dict[str, int] = {}
    for name, size in pages.items():
        tables[owners.get(name, name)] = tables.get(owners.get(name, name), 0) + size
    wal = Path(f"{path}-wal")
    return {"bytes": path.stat().st_size + (wal.stat().st_size if wal.exists() else 0), "tables": tables,
            "metric_snapshot_rows": snapshots}


def crawl(sim_url: str, db: str, mode: str) -> dict[str, Any]:
    run = timed(hubtree_cmd("crawl", "hf", "--endpoint", sim_url, "--db", db, "--json", "--cards", "none",
                            "--mode", mode, "--progress", "none"))
    summary = run.pop("json", {})
    return {"mode": mode, "status": summary.get("status"), "records": summary.get("records"),
            "changed": summary.get("changed"), "deleted": summary.get("deleted"),
            "api_calls": summary.get("requests", {}).get("api"), "wall_s": run["wall_s"], "cpu_s": run["cpu_s"],
            "max_rss_mb": run["max_rss_mb"], "load_before": run["load_before"]}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    add_scale_argument(parser)
    parser.add_argument("--months", type=int, default=12)
    parser.add_argument("--weekly", action="store_true", help="Weekly full sweeps with the store's size after each.")
    parser.add_argument("--name", default="snapshots", help="Results file name (bench/results/NAME-SCALE.json).")
    args = parser.parse_args()
    days, share = (7, 0.25) if args.weekly else (30, 1.0)

    world = world_dir(args.scale)
    size = world_hf_records(world)
    new, edited, deleted = (max(1, int(size * s * share)) for s in MONTHLY)
    db_file = db_path(f"snapshots-{args.scale}")
    db = f"sqlite:///{db_file}"
    months: list[dict[str, Any]] = []
    snapshots = [world]
    with simulator(world) as sim:
        months.append({"month": 0, **crawl(sim.url, db, "full")})
        if args.weekly:
            months[-1]["store"] = store_size(db_file)
        for month in range(1, args.months + 1):
            out = WORK / f"bench-snap-{args.scale}-{month}"
            shutil.rmtree(out, ignore_errors=True)
            evolved = timed(["python", "-c", "import sys; sys.path.insert(0, '.'); from hubsim.generate import "
                             f"evolve_world; evolve_world({str(snapshots[-1])!r}, {str(out)!r}, new={new}, "
                             f"edited={edited}, deleted={deleted}, seed={month}, days={days})"])
            snapshots.append(out)
            sim.reload(out)
            if args.weekly:
                row = {"month": month, "evolve_s": evolved["wall_s"], **crawl(sim.url, db, "full")}
                row["store"] = store_size(db_file)
            else:
                row = {"month": month, "evolve_s": evolved["wall_s"], **crawl(sim.url, db, "incremental")}
                if month % 3 == 0 or month == args.months:  # a quarterly full sweep: deletions, complete metrics
                    row["full_sweep"] = crawl(sim.url, db, "full")
            months.append(row)
            print(f"{'week' if args.weekly else 'month'} {month}: {row}", flush=True)
            if len(snapshots) > 2 and snapshots[-3] != world:  # keep the disk small: only the last is needed
                shutil.rmtree(snapshots[-3], ignore_errors=True)
    growth = timed(hubtree_cmd("analyze", "growth", "--db", db, "--json"))
    data = growth.pop("json", {}) or {}
    history = {}
    if args.weekly and len(months) > 1:
        first, last = months[0]["store"], months[-1]["store"]
        per_sweep = (last["bytes"] - first["bytes"]) / (len(months) - 1)
        per_model = per_sweep / size
        history = {"bytes_per_sweep": round(per_sweep), "bytes_per_model_per_sweep": round(per_model, 1),
                   "year_of_weekly_3m_sweeps_gb": round(per_model * HUB_MODELS * SWEEPS_A_YEAR / 1e9, 2)}
    save(args.name, args.scale, {
        "world": str(world), "change_per_snapshot": {"new": new, "edited": edited, "deleted": deleted, "days": days},
        "months": months, "history": history,
        "growth": {"wall_s": growth["wall_s"], "cpu_s": growth["cpu_s"], "max_rss_mb": growth["max_rss_mb"],
                   "full_sweep_snapshots": (data.get("summary") or {}).get("snapshots"),
                   "metrics": data.get("metrics"),
                   "caveats": data.get("caveats")},
    })
    for path in snapshots[1:]:
        shutil.rmtree(path, ignore_errors=True)
    db_file.unlink(missing_ok=True)


if __name__ == "__main__":
    main()
