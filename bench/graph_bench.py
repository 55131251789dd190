"""Graph benchmark: build time and memory, descendants latency of the largest root, cold CLI queries.

    python bench/graph_bench.py --world /tmp/w1m [--db /tmp/w1m.db] [--generate-qwen 200000 --generate-others 800000]

Loads the world into a SQLite store with the crawler's page writer unless ``--db`` already holds it, then
measures in this process (build, warm queries) and in fresh interpreters (cold CLI, with and without the disk
cache). Prints one JSON object; numbers go to docs/PERFORMANCE.md by hand with the machine and date.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))


def _rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def _cli(args: list[str], env: dict[str, str]) -> float:
    t = time.perf_counter()
    proc = subprocess.run([sys.executable, "-m", "hubtree.cli", *args], capture_output=True, text=True,
                          env={**os.environ, **env}, cwd=ROOT)
    if proc.returncode != 0:
        raise RuntimeError(proc.stderr[-2000:])
    return round(time.perf_counter() - t, 3)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--world", type=Path, required=True)
    ap.add_argument("--db", type=Path)
    ap.add_argument("--generate-qwen", type=int)
    ap.add_argument("--generate-others", type=int, default=0)
    ap.add_argument("--repeat", type=int, default=30)
    args = ap.parse_args()

    from analysis.graph import build_graph, descendants, traverse
    from crawler.store import open_store
    from hubsim.eval.world_store import load_world_store

    out: dict = {"world": str(args.world)}
    if args.generate_qwen:
        from hubsim.generate import GeneratorConfig, generate_world

        t = time.perf_counter()
        generate_world(args.world, GeneratorConfig(qwen=args.generate_qwen, others=args.generate_others, seed=7))
        out["generate_s"] = round(time.perf_counter() - t, 1)
    db = args.db or Path(tempfile.gettempdir()) / f"{args.world.name}.db"
    url = f"sqlite:///{db}"
    if not db.exists():
        t = time.perf_counter()
        store = open_store(url)
        out["records"] = load_world_store(args.world, store)
        out["load_s"] = round(time.perf_counter() - t, 1)
        store.engine.dispose()
    store = open_store(url, create=False)

    rss0 = _rss_mb()
    t = time.perf_counter()
    g = build_graph(store)
    out["build_s"] = round(time.perf_counter() - t, 2)
    out["build_peak_rss_mb"] = round(_rss_mb(), 0)
    out["rss_before_build_mb"] = round(rss0, 0)
    out["nodes"], out["edges"] = g.n_nodes, g.n_edges

    import numpy as np

    sizes = np.bincount(g.parent, minlength=g.n_nodes)
    has_parent = np.bincount(g.child, minlength=g.n_nodes) > 0
    roots = np.flatnonzero(~has_parent & (sizes > 0))
    size_of = {int(r): len(traverse(g, int(r), "down").nodes) for r in roots[np.argsort(-sizes[roots])][:50]}
    root = max(size_of, key=size_of.get)
    out["largest_root"], out["largest_root_descendants"] = g.ids[root], size_of[root]
    lat = []
    for _ in range(args.repeat):
        t = time.perf_counter()
        traverse(g, root, "down")
        lat.append(time.perf_counter() - t)
    full = []
    for _ in range(max(3, args.repeat // 10)):
        t = time.perf_counter()
        descendants(g, g.ids[root])
        full.append(time.perf_counter() - t)
    q = statistics.quantiles(lat, n=100)
    out["descendants_warm_ms"] = {"p50": round(1000 * statistics.median(lat), 2), "p99": round(1000 * q[98], 2)}
    out["descendants_with_rows_ms_p50"] = round(1000 * statistics.median(full), 1)

    with tempfile.TemporaryDirectory() as cache:
        env = {"HUBTREE_CACHE": cache}
        query = ["graph", "descendants", g.ids[root], "--db", url, "--json"]
        out["cli_first_build_s"] = _cli(query, env)
        out["cli_cold_cached_s"] = [_cli(query, env) for _ in range(3)]
        out["cli_cold_family_cached_s"] = _cli(["graph", "family", g.ids[root], "--db", url, "--json"], env)
        out["cli_no_cache_s"] = _cli([*query, "--no-cache"], env)
    print(json.dumps(out, indent=2))


if __name__ == "__main__":
    main()
