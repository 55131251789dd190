"""Analyses and the monthly report on a world's store: time, CPU and peak RSS of each command, from a cold CLI.

    python bench/analysis_bench.py --scale 1m [--db URL] [--month latest] [--code DIR --name analysis-before]

Each of ``hubtree analyze licenses|growth|deployment --json``, ``hubtree graph stats --json`` and
``hubtree report --month M`` runs in a fresh interpreter under ``/usr/bin/time -v`` (so the figures include start-up
and reading the store). The store defaults to the world loaded with its cards (see ``common.full_store``).
``--code DIR`` runs another checkout of hubtree (e.g. ``git archive`` of the commit before a change): *before*.
"""

from __future__ import annotations

import argparse
import tempfile
from typing import Any

from common import add_code_argument, add_scale_argument, code_env, full_store, hubtree_cmd, save, timed

COMMANDS = {
    "analyze_licenses": ["analyze", "licenses", "--json"],
    "analyze_growth": ["analyze", "growth", "--json"],
    "analyze_deployment": ["analyze", "deployment", "--json"],
    "analyze_families": ["analyze", "families", "--json"],
    "graph_stats": ["graph", "stats", "--json"],
}


def cold_run(cmd: list[str], env: dict[str, str]) -> dict[str, Any]:
    """``timed(cmd)`` with an empty graph cache directory: each command pays for building what it needs."""
    with tempfile.TemporaryDirectory(prefix="bench-cache-") as cache:
        return timed(cmd, env={"HUBTREE_CACHE": cache, **env}, check=False)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    add_scale_argument(ap)
    ap.add_argument("--db", help="Store URL (default: the scale's world loaded with its cards).")
    ap.add_argument("--month", default="latest", help="Report month (YYYY-MM or latest).")
    add_code_argument(ap)
    ap.add_argument("--name", default="analysis", help="Results file name (bench/results/<name>-<scale>.json).")
    ap.add_argument("--only", help="Comma-separated subset of: " + ",".join([*COMMANDS, "report"]))
    args = ap.parse_args()
    env = code_env(args.code)
    chosen = args.only.split(",") if args.only else [*COMMANDS, "report"]
    url, loading = (args.db, {}) if args.db else full_store(args.scale)
    out: dict[str, Any] = {"db": url, "store_load": loading, "code": args.code or "this checkout", "commands": {}}
    for name, args_ in COMMANDS.items():
        if name not in chosen:
            continue
        run = cold_run(hubtree_cmd(*args_, "--db", url, code=args.code), env)
        run.pop("json", None)
        out["commands"][name] = run
        print(f"{name}: {run}", flush=True)
    if "report" in chosen:
        with tempfile.TemporaryDirectory() as report_dir:
            run = cold_run(hubtree_cmd("report", "--month", args.month, "--out", report_dir, "--db", url, "--json",
                                       code=args.code), env)
            summary = run.pop("json", None) or {}
            run["month"] = summary.get("month")
            out["commands"]["report"] = run
            print(f"report: {run}", flush=True)
    save(args.name, args.scale, out)


if __name__ == "__main__":
    main()
