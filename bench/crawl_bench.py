"""Crawl benchmark: the HF sweep (``--cards none``) at simulator latency 0 and 300 ms per page, and the cards phase.

    python bench/crawl_bench.py --scale 200k [--latencies 0,300] [--cards-phase] [--code DIR --name crawl-before]
    python bench/crawl_bench.py --scale 200k --latencies 0 --second-sweep --no-cards-phase   # the steady state

The simulator runs as its own process; the crawler runs under ``/usr/bin/time -v`` so its CPU time (user+sys)
and peak RSS are its own. API calls are compared with the optimum ⌈records ÷ page size⌉, wall time with the
network's floor (pages × latency: cursor pagination is a chain of requests) — the whole command's, and the
listing's (``listing_s``: from the first listing request to the last answer, as the simulator saw them).
``--second-sweep`` sweeps the same world again into the latency-0 sweep's store: every record is already stored and
unchanged, the write path's steady state.
"""

from __future__ import annotations

import argparse
import math
import sys
from pathlib import Path
from typing import Any

from common import (
    add_code_argument,
    add_scale_argument,
    code_env,
    db_path,
    hubtree_cmd,
    per_thousand,
    process_cpu_s,
    save,
    simulator,
    timed,
    world_dir,
    world_hf_records,
)

PAGE_SIZE = 1000


def crawl(world: Path, tag: str, *, cards: str = "none", page_size: int = PAGE_SIZE,
          scrapy_settings: list[str] | None = None, code: str | None = None, db_url: str | None = None,
          **sim_config: Any) -> dict:
    """One timed ``hubtree crawl hf`` into a fresh SQLite store (or the empty store at ``db_url``) against a
    simulator with ``sim_config``.

    ``scrapy_settings`` (``KEY=VALUE``) runs the crawler through bench/with_settings.py (experiments only).
    """
    db = db_url or f"sqlite:///{db_path(tag)}"
    with simulator(world, page_max=max(page_size, 1000), **sim_config) as sim:
        sim.reset_stats()
        sim_cpu = process_cpu_s(sim.process.pid)
        args = ["crawl", "hf", "--endpoint", sim.url, "--db", db, "--json", "--cards", cards, "--page-size", str(page_size), "--progress", "none"]
        cmd = hubtree_cmd(*args, code=code) if not scrapy_settings else [
            sys.executable, str(Path(__file__).with_name("with_settings.py")), *scrapy_settings, "--", *args]
        run = timed(cmd, env=code_env(code), check=False)
        stats = sim.stats()
        sim_cpu = round(process_cpu_s(sim.process.pid) - sim_cpu, 2)
    summary = run.pop("json", {})
    listed = world_hf_records(world)
    optimum = math.ceil(listed / page_size)
    api = summary.get("requests", {}).get("api", 0)
    records = summary.get("records", 0)
    floor = optimum * sim_config.get("latency_ms", 0) / 1000
    listing = stats.get("span_s_by_bucket", {}).get("api")  # the chain of listing pages, as the hub saw it
    return {
        "db": str(db), "cards": cards, "scrapy_settings": scrapy_settings or [], "page_size": page_size, "sim": sim_config, "status": summary.get("status"),
        "records": records, "family_models": summary.get("family_models"), "roots": summary.get("roots"),
        "calls": {"api": api, "resolvers": summary.get("requests", {}).get("resolvers", 0), "optimum": optimum,
                  "api_vs_optimum": round(api / optimum, 4), "retries": summary.get("retries"),
                  "rate_limit_waits": summary.get("rate_limit_waits")},
        "sim_stats": {k: stats[k] for k in ("requests", "by_bucket", "by_status", "faults", "rate_limited")},
        "sim_cpu_s": sim_cpu,
        "time": {**run, "crawler_elapsed_s": summary.get("elapsed_s"),
                 "wall_per_1k_s": per_thousand(run["wall_s"], records),
                 "cpu_per_1k_s": per_thousand(run["cpu_s"], records),
                 "cpu_us_per_record": round(1e6 * run["cpu_s"] / records, 1) if records else None,
                 "network_floor_s": floor, "wall_vs_floor": round(run["wall_s"] / floor, 3) if floor else None,
                 "listing_s": listing, "listing_vs_floor": round(listing / floor, 3) if floor and listing else None,
                 "records_per_s_wall": round(records / run["wall_s"]) if run["wall_s"] else None,
                 "records_per_s_cpu": round(records / run["cpu_s"]) if run["cpu_s"] else None},
    }


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    add_scale_argument(ap)
    ap.add_argument("--latencies", default="0,300", help="Simulator latencies per answer, in ms.")
    ap.add_argument("--cards-phase", action=argparse.BooleanOptionalAction, default=None,
                    help="Also crawl with --cards family (default: on at 200k only).")
    ap.add_argument("--scrapy-setting", action="append", default=[], metavar="KEY=VALUE",
                    help="Experiment: extra Scrapy setting for the crawler (bench/with_settings.py).")
    ap.add_argument("--second-sweep", action="store_true",
                    help="Sweep again (latency 0) into the latency-0 sweep's store: nothing new or changed.")
    ap.add_argument("--name", default="crawl", help="Results file name (bench/results/NAME-SCALE.json).")
    add_code_argument(ap)
    args = ap.parse_args()
    world = world_dir(args.scale)
    out: dict[str, Any] = {"world": str(world), "listed": world_hf_records(world), "sweeps": {}}
    for latency in (int(x) for x in args.latencies.split(",")):
        out["sweeps"][f"latency_{latency}ms"] = crawl(world, f"{args.name}-{args.scale}-lat{latency}",
                                                       latency_ms=latency, scrapy_settings=args.scrapy_setting,
                                                       code=args.code)
        print(f"sweep latency {latency} ms: {out['sweeps'][f'latency_{latency}ms']['time']}", flush=True)
    if args.second_sweep and "latency_0ms" in out["sweeps"]:
        again = crawl(world, f"{args.name}-{args.scale}-again", latency_ms=0, scrapy_settings=args.scrapy_setting,
                      code=args.code, db_url=out["sweeps"]["latency_0ms"]["db"])
        out["second_sweep"] = again
        print(f"second sweep: {again['time']}", flush=True)
    if args.cards_phase if args.cards_phase is not None else args.scale == "200k":
        full = crawl(world, f"{args.name}-{args.scale}-cards", cards="family", latency_ms=0,
                     scrapy_settings=args.scrapy_setting, code=args.code)
        sweep = out["sweeps"].get("latency_0ms")
        family = (full["family_models"] or 0) + (full["roots"] or 0)
        phase = {"with_cards": full, "family_and_roots": family, "card_calls": full["calls"]["resolvers"]}
        if sweep:
            for key in ("wall_s", "cpu_s"):
                phase[f"cards_phase_{key}"] = round(full["time"][key] - sweep["time"][key], 2)
            phase["cards_per_s_wall"] = round(family / phase["cards_phase_wall_s"]) if phase[
                "cards_phase_wall_s"] > 0 else None
        out["cards_phase"] = phase
    save(args.name, args.scale, out)


if __name__ == "__main__":
    main()
