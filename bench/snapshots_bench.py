"""Twelve monthly snapshots of one world, crawled incrementally, then growth measured from the store.

    python bench/snapshots_bench.py --scale 200k [--months 12]
    python bench/snapshots_bench.py --scale 200k --weekly --months 12 --name history   # 12 weekly full sweeps
    python bench/snapshots_bench.py --scale 200k --weekly --code /tmp/before --name history-before

Month 0 is a full sweep of the generated world; each later month is ``hubsim.generate.evolve_world`` of the
previous one (new, edited and deleted models, 30 days later), served by reloading the simulator, and crawled with
``--mode incremental``; every third month is also swept in full (deletions and complete metric snapshots are only
seen by a full sweep).
Reports per month: API calls, records listed, changed, wall/CPU; then ``hubtree analyze growth --json`` on the
store (time, and how many metric snapshots it saw). ``--weekly``: every snapshot is 7 days later (a quarter of the
monthly change) and swept in full, and the store's size (per table, SQLite ``dbstat``) is taken after each sweep:
the counters of an active share of the models (``--active``, the same models every week) change each week, as the
30-day downloads of the real Hub do (``evolve_world`` changes none);
the history's bytes per model per sweep, extrapolated to a year of weekly sweeps of the real Hub (3M models).
``--code DIR`` crawls and analyses with another checkout (the figures before a change); the worlds and the
simulator are always this checkout's, so both sides crawl the same sweeps.
"""

from __future__ import annotations

import argparse
import gzip
import hashlib
import random
import re
import shutil
import sqlite3
from pathlib import Path
from typing import Any

import orjson
from common import (
    WORK,
    add_code_argument,
    add_scale_argument,
    code_env,
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
#: Share of the models whose 30-day downloads (and likes, now and then) change in a week: an assumption — 55 % of
#: the real Qwen-related sample changed in two days (``data/real`` hf_api_stalnaker_2024-07: list of 07-11 vs
#: model_info of 07-09), the whole Hub has a long dormant tail.
ACTIVE = 0.3
#: Seconds the simulator may take to load the next world (minutes for a large world on a busy machine).
RELOAD_TIMEOUT_S = 1800


def store_size(path: Path) -> dict[str, Any]:
    """Bytes of the SQLite store (file + WAL), of each table with its indexes (``dbstat``) and of its free pages."""
    with sqlite3.connect(path) as conn:
        conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        pages = dict(conn.execute("SELECT name, sum(pgsize) FROM dbstat GROUP BY name").fetchall())
        owners = dict(conn.execute("SELECT name, tbl_name FROM sqlite_schema").fetchall())
        snapshots = conn.execute("SELECT count(*) FROM metric_history").fetchone()[0]
        free = conn.execute("PRAGMA freelist_count").fetchone()[0] * conn.execute("PRAGMA page_size").fetchone()[0]
    tables: dict[str, int] = {}
    for name, size in pages.items():
        tables[owners.get(name, name)] = tables.get(owners.get(name, name), 0) + size
    wal = Path(f"{path}-wal")
    return {"bytes": path.stat().st_size + (wal.stat().st_size if wal.exists() else 0), "tables": tables,
            "free_bytes": free, "metric_history_rows": snapshots}


def reload(sim: Any, world: Path) -> None:
    """Serve ``world`` (the test helper's ``reload`` gives up after 60 s, too short for a large world)."""
    from tests.support.sim import SimError, fetch

    answer = fetch(f"{sim.url}/_sim/reload", "POST", {"world": str(world)}, timeout=RELOAD_TIMEOUT_S)
    if answer.status != 200:
        raise SimError(f"reload {world}: HTTP {answer.status}: {answer.body[:500]!r}")


_ID = re.compile(rb'"id":("(?:[^"\\]|\\.)*")')


def drift(world: Path, active: float, week: int) -> int:
    """Change the counters of the ``active`` share of ``world``'s HF records in place (the same models every week,
    chosen by a hash of the id; new values seeded by the week); returns how many changed."""
    path = world / "hf.jsonl.gz"
    rng, changed, lines = random.Random(f"drift/{week}"), 0, []
    with gzip.open(path, "rb") as fh:
        for line in fh:
            line = line.rstrip(b"\n")
            if not line.strip():
                continue
            m = _ID.search(line)
            if m and int.from_bytes(hashlib.blake2b(m.group(1), digest_size=4).digest()) < active * 2**32:
                rec = orjson.loads(line)
                downloads = int(rec.get("downloads") or 0)
                rec["downloads"] = max(0, int(downloads * rng.uniform(0.6, 1.4)) + rng.randint(1, 5))
                if isinstance(rec.get("downloadsAllTime"), int):
                    rec["downloadsAllTime"] += rec["downloads"] // 4
                if rng.random() < 0.1:
                    rec["likes"] = int(rec.get("likes") or 0) + 1
                line, changed = orjson.dumps(rec), changed + 1
            lines.append(line)
    with gzip.open(path, "wb", compresslevel=1) as fh:
        fh.write(b"\n".join(lines) + b"\n")
    return changed


def crawl(sim_url: str, db: str, mode: str, code: str | None = None) -> dict[str, Any]:
    run = timed(hubtree_cmd("crawl", "hf", "--endpoint", sim_url, "--db", db, "--json", "--cards", "none",
                            "--mode", mode, "--progress", "none", code=code), env=code_env(code))
    summary = run.pop("json", {})
    return {"mode": mode, "status": summary.get("status"), "records": summary.get("records"),
            "changed": summary.get("changed"), "deleted": summary.get("deleted"),
            "api_calls": summary.get("requests", {}).get("api"), "wall_s": run["wall_s"], "cpu_s": run["cpu_s"],
            "max_rss_mb": run["max_rss_mb"], "load_before": run["load_before"]}


def _per_model(first: dict[str, Any], now: dict[str, Any], sweeps: int, size: int) -> dict[str, Any]:
    """The store's growth over ``sweeps`` sweeps after the first, per sweep and per model, and a year of weekly
    sweeps of the real Hub at that rate; also for the ``metric_history`` table alone (the history itself)."""
    out: dict[str, Any] = {}
    for key, before, after in (("store", first["bytes"], now["bytes"]),
                               ("metric_history", first["tables"].get("metric_history", 0),
                                now["tables"].get("metric_history", 0))):
        per_model = (after - before) / sweeps / size
        out[key] = {"bytes_per_sweep": round((after - before) / sweeps),
                    "bytes_per_model_per_sweep": round(per_model, 2),
                    "year_of_weekly_3m_sweeps_gb": round(per_model * HUB_MODELS * SWEEPS_A_YEAR / 1e9, 3)}
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    add_scale_argument(parser)
    parser.add_argument("--months", type=int, default=12)
    parser.add_argument("--weekly", action="store_true", help="Weekly full sweeps with the store's size after each.")
    parser.add_argument("--name", default="snapshots", help="Results file name (bench/results/NAME-SCALE.json).")
    parser.add_argument("--active", type=float, default=ACTIVE,
                        help="--weekly: share of the models whose counters change each week.")
    parser.add_argument("--keep", action="store_true",
                        help="Keep the store (bench-NAME-SCALE.db) to re-run analyses on it, e.g. with --code.")
    add_code_argument(parser)
    args = parser.parse_args()
    days, share = (7, 0.25) if args.weekly else (30, 1.0)

    world = world_dir(args.scale)
    size = world_hf_records(world)
    new, edited, deleted = (max(1, int(size * s * share)) for s in MONTHLY)
    db_file = db_path(f"{args.name}-{args.scale}")
    db = f"sqlite:///{db_file}"
    months: list[dict[str, Any]] = []
    snapshots = [world]
    with simulator(world) as sim:
        months.append({"month": 0, **crawl(sim.url, db, "full", args.code)})
        if args.weekly:
            months[-1]["store"] = store_size(db_file)
        for month in range(1, args.months + 1):
            out = WORK / f"bench-snap-{args.name}-{args.scale}-{month}"
            shutil.rmtree(out, ignore_errors=True)
            evolved = timed(["python", "-c", "import sys; sys.path.insert(0, '.'); from hubsim.generate import "
                             f"evolve_world; evolve_world({str(snapshots[-1])!r}, {str(out)!r}, new={new}, "
                             f"edited={edited}, deleted={deleted}, seed={month}, days={days})"])
            snapshots.append(out)
            drifted = drift(out, args.active, month) if args.weekly else 0
            reload(sim, out)
            if args.weekly:
                row = {"month": month, "evolve_s": evolved["wall_s"], "counters_changed": drifted,
                       **crawl(sim.url, db, "full", args.code)}
                row["store"] = store_size(db_file)
                row["growth_since_first"] = _per_model(months[0]["store"], row["store"], month, size)
            else:
                row = {"month": month, "evolve_s": evolved["wall_s"], **crawl(sim.url, db, "incremental", args.code)}
                if month % 3 == 0 or month == args.months:  # a quarterly full sweep: deletions, complete metrics
                    row["full_sweep"] = crawl(sim.url, db, "full", args.code)
            months.append(row)
            print(f"{'week' if args.weekly else 'month'} {month}: {row}", flush=True)
            if len(snapshots) > 2 and snapshots[-3] != world:  # keep the disk small: only the last is needed
                shutil.rmtree(snapshots[-3], ignore_errors=True)
    growth = timed(hubtree_cmd("analyze", "growth", "--db", db, "--json", code=args.code), env=code_env(args.code))
    data = growth.pop("json", {}) or {}
    history = {}
    if args.weekly and len(months) > 1:
        history = months[-1]["growth_since_first"]
    save(args.name, args.scale, {
        "world": str(world), "code": args.code or "this checkout",
        "change_per_snapshot": {"new": new, "edited": edited, "deleted": deleted, "days": days,
                                "active": args.active if args.weekly else 0},
        "months": months, "history": history,
        "growth": {"wall_s": growth["wall_s"], "cpu_s": growth["cpu_s"], "max_rss_mb": growth["max_rss_mb"],
                   "full_sweep_snapshots": (data.get("summary") or {}).get("snapshots"),
                   "metrics": data.get("metrics"),
                   "caveats": data.get("caveats")},
    })
    for path in snapshots[1:]:
        shutil.rmtree(path, ignore_errors=True)
    if not args.keep:
        db_file.unlink(missing_ok=True)


if __name__ == "__main__":
    main()
