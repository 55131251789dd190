"""Graph figures at a scale: runs bench/graph_bench.py (the graph engineer's) on the scale's store, saves its JSON.

    python bench/graph_results.py --scale 1m

The store is the world loaded with its cards (``common.full_store``); graph_bench measures build time and memory,
warm descendants latency of the largest root (p50/p99) and cold CLI queries with and without the disk cache.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
from pathlib import Path

from common import ROOT, add_scale_argument, full_store, loadavg, save, world_dir


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    add_scale_argument(ap)
    ap.add_argument("--repeat", type=int, default=30)
    args = ap.parse_args()
    world = world_dir(args.scale)
    url, loading = full_store(args.scale)
    load = loadavg()
    proc = subprocess.run([sys.executable, str(ROOT / "bench" / "graph_bench.py"), "--world", str(world), "--db",
                           url.removeprefix("sqlite:///"), "--repeat", str(args.repeat)],
                          capture_output=True, text=True, cwd=ROOT)
    if proc.returncode != 0:
        raise SystemExit(f"graph_bench failed: {proc.stderr[-2000:]}")
    figures = json.loads(proc.stdout[proc.stdout.index("{"):])
    save("graph", args.scale, {"db": url, "store_load": loading, "load_before": load, "load_after": loadavg(),
                               **figures, "world": str(Path(world))})


if __name__ == "__main__":
    main()
