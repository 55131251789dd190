"""The issue-3 scenario at scale: a small quota and injected faults, against a fault-free run of the same world.

    python bench/faults_bench.py --scale 200k [--quota 100 --window 3 --fault-rate 0.02 --page-size 100]

Checks and reports: the crawl completes; API calls ≤ 1.02 × ⌈records ÷ page size⌉ + retries; at most one 429
(the quota is learnt from the first answer's headers; the simulator's counters); and the store equals the
fault-free run's (an order-independent hash of every data table without the columns that vary between runs).
"""

from __future__ import annotations

import argparse
import hashlib
import json
from typing import Any

from common import add_scale_argument, save, world_dir
from crawl_bench import crawl

TABLES = ("model", "edge", "quarantine", "metric_history")


def table_digests(url: str) -> dict[str, dict[str, Any]]:
    """Rows and a SHA-256 of each data table, rows in primary-key order, volatile columns left out."""
    from sqlalchemy import select

    from crawler.store import open_store
    from crawler.store.schema import Edge, MetricSnapshot, Model, Quarantine
    from tests.support.store import VOLATILE

    store = open_store(url, create=False)
    out = {}
    with store.engine.connect() as conn:
        for table in (Model, Edge, Quarantine, MetricSnapshot):
            tbl = table.__table__  # type: ignore[attr-defined]
            cols = [c for c in tbl.c if c.name not in VOLATILE]
            keys = [c for c in tbl.primary_key.columns if c.name not in VOLATILE] or cols
            digest, rows = hashlib.sha256(), 0
            for row in conn.execute(select(*cols).order_by(*keys)).yield_per(10_000):
                values = [json.dumps(v, sort_keys=True) if isinstance(v, dict | list) else v for v in row]
                digest.update(repr(values).encode())
                rows += 1
            out[tbl.name] = {"rows": rows, "sha256": digest.hexdigest()[:16]}
    store.engine.dispose()
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    add_scale_argument(ap)
    ap.add_argument("--quota", type=int, default=100)
    ap.add_argument("--window", type=float, default=3.0)
    ap.add_argument("--fault-rate", type=float, default=0.02)
    ap.add_argument("--seed", type=int, default=3)
    ap.add_argument("--page-size", type=int, default=100,
                    help="Listing page size: 100 makes 2,000 calls at 200k, so the quota and the faults are met.")
    args = ap.parse_args()
    world = world_dir(args.scale)
    clean = crawl(world, f"faults-clean-{args.scale}", page_size=args.page_size, latency_ms=0)
    faulty = crawl(world, f"faults-faulty-{args.scale}", page_size=args.page_size, latency_ms=0, quota=args.quota,
                   window=args.window,
                   fault_rate=args.fault_rate, seed=args.seed)
    stores = {"clean": table_digests(clean["db"]), "faulty": table_digests(faulty["db"])}
    calls = faulty["calls"]
    checks = {
        "completed": faulty["status"] == "success",
        "calls_within_budget": calls["api"] <= 1.02 * calls["optimum"] + (calls["retries"] or 0),
        "at_most_one_429": faulty["sim_stats"]["rate_limited"] <= 1,
        "faults_met": sum(faulty["sim_stats"]["faults"].values()) > 0,
        "quota_met": (calls["rate_limit_waits"] or 0) > 0,
        "store_equals_fault_free": {t: stores["clean"][t] == stores["faulty"][t] for t in TABLES},
    }
    save("faults", args.scale, {"world": str(world), "scenario": vars(args), "clean": clean, "faulty": faulty,
                                "stores": stores, "checks": checks})


if __name__ == "__main__":
    main()
