"""Run every benchmark at one scale, one after the other, each in its own interpreter.

    python bench/run_all.py --scale 200k|1m|3m [--only crawl,profile,…,after-listing,…,serve,postgres] [--keep]

Results go to ``bench/results/<benchmark>-<scale>.json``. PostgreSQL ingest and the PostgreSQL store benchmark
run under ``scripts/with-test-services.sh`` (a throwaway server) when the script can start one; the latter not at
3m. The faults scenario runs
at 200k only unless named in ``--only``; the py-spy profile only when py-spy is installed; the BFS comparison and the
snapshots not at 3m (hours of sequential calls). ``history`` is the weekly full sweeps with the store's size. Big stores and worlds live in ``$HUBTREE_BENCH_DIR`` (default /tmp) and are
removed at the end unless ``--keep``.
"""

from __future__ import annotations

import argparse
import shutil
import subprocess
import sys
import time

from common import ROOT, SCALES, WORK, world_dir

BENCH = ROOT / "bench"
ORDER = ("crawl", "profile", "faults", "bfs", "ingest", "writer", "parse", "handover", "after-listing", "graph", "cli", "analysis", "snapshots",
         "history", "serve", "postgres")
SCRIPTS = {"crawl": "crawl_bench.py", "profile": "profile_crawl.py", "faults": "faults_bench.py", "bfs": "bfs_bench.py",
           "ingest": "ingest_bench.py", "writer": "writer_bench.py", "parse": "parse_bench.py",
           "handover": "handover_bench.py",
           "after-listing": "after_listing_bench.py", "graph": "graph_results.py",
           "cli": "cli_bench.py",
           "analysis": "analysis_bench.py", "snapshots": "snapshots_bench.py", "history": "snapshots_bench.py",
           "serve": "serve_bench.py", "postgres": "postgres_bench.py"}
#: Extra arguments of a benchmark.
ARGS = {"history": ["--weekly", "--months", "12", "--name", "history"]}
#: Benchmarks left out of a scale unless named in ``--only``.
SKIP = {"1m": {"faults"}, "3m": {"faults", "bfs", "snapshots", "history", "postgres"}}


def command(name: str, scale: str) -> list[str]:
    cmd = [sys.executable, str(BENCH / SCRIPTS[name]), "--scale", scale, *ARGS.get(name, [])]
    if name in ("ingest", "postgres"):
        return [str(ROOT / "scripts" / "with-test-services.sh"), *cmd]
    return cmd


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--scale", choices=SCALES, default="200k")
    ap.add_argument("--only", help="Comma-separated subset of: " + ",".join(ORDER))
    ap.add_argument("--keep", action="store_true", help="Keep the generated world and the stores.")
    args = ap.parse_args()
    default = [n for n in ORDER if n not in SKIP.get(args.scale, ()) and (n != "profile" or shutil.which("py-spy"))]
    chosen = args.only.split(",") if args.only else default
    world_dir(args.scale)
    failed = []
    for name in chosen:
        t = time.perf_counter()
        print(f"== {name} ({args.scale})", flush=True)
        proc = subprocess.run(command(name, args.scale), cwd=ROOT)
        print(f"== {name}: exit {proc.returncode} in {time.perf_counter() - t:.0f} s", flush=True)
        if proc.returncode:
            failed.append(name)
    if not args.keep:
        shutil.rmtree(WORK / f"bench-w{args.scale}", ignore_errors=True)
        for path in WORK.glob("bench-*.db*"):
            path.unlink(missing_ok=True)
    print(f"failed: {', '.join(failed)}" if failed else "all benchmarks ran", flush=True)
    raise SystemExit(1 if failed else 0)


if __name__ == "__main__":
    main()
