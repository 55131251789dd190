"""Twelve monthly snapshots of one world, crawled incrementally, then growth measured from the store.

    python bench/snapshots_bench.py --scale 200k [--months 12]

Month 0 is a full sweep of the generated world; each later month is ``hubsim.generate.evolve_world`` of the
previous one (new, edited and deleted models, 30 days later), served by reloading the simulator, and crawled with
``--mode incremental``; every third month is also swept in full (deletions and complete metric snapshots are only
seen by a full sweep).
Reports per month: API calls, records listed, changed, wall/CPU; then ``hubtree analyze growth --json`` on the
store (time, and how many metric snapshots it saw).
"""

from __future__ import annotations

import argparse
import shutil
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
    args = parser.parse_args()

    world = world_dir(args.scale)
    size = world_hf_records(world)
    new, edited, deleted = (max(1, int(size * share)) for share in MONTHLY)
    db_file = db_path(f"snapshots-{args.scale}")
    db = f"sqlite:///{db_file}"
    months: list[dict[str, Any]] = []
    snapshots = [world]
    with simulator(world) as sim:
        months.append({"month": 0, **crawl(sim.url, db, "full")})
        for month in range(1, args.months + 1):
            out = WORK / f"bench-snap-{args.scale}-{month}"
            shutil.rmtree(out, ignore_errors=True)
            evolved = timed(["python", "-c", "import sys; sys.path.insert(0, '.'); from hubsim.generate import "
                             f"evolve_world; evolve_world({str(snapshots[-1])!r}, {str(out)!r}, new={new}, "
                             f"edited={edited}, deleted={deleted}, seed={month})"])
            snapshots.append(out)
            sim.reload(out)
            row = {"month": month, "evolve_s": evolved["wall_s"], **crawl(sim.url, db, "incremental")}
            if month % 3 == 0 or month == args.months:  # a quarterly full sweep: deletions, complete metrics
                row["full_sweep"] = crawl(sim.url, db, "full")
            months.append(row)
            if len(snapshots) > 2 and snapshots[-3] != world:  # keep the disk small: only the last is needed
                shutil.rmtree(snapshots[-3], ignore_errors=True)
    growth = timed(hubtree_cmd("analyze", "growth", "--db", db, "--json"))
    data = growth.pop("json", {}) or {}
    save("snapshots", args.scale, {
        "world": str(world), "monthly_change": {"new": new, "edited": edited, "deleted": deleted},
        "months": months,
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
