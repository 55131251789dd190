"""Cold CLI queries with CPU time: ``hubtree graph descendants|ancestors|family`` in fresh interpreters.

    python bench/cli_bench.py --scale 1m [--root ID] [--repeat 3] [--code DIR --name cli-before]

bench/graph_bench.py times the same queries by wall clock; on a shared machine wall time is mostly waiting for a
core, so this one runs each query under ``/usr/bin/time -v`` (user+sys, peak RSS): first with an empty graph
cache (the build is paid), then ``--repeat`` times with the cache that run left. The root defaults to the largest
root found by the graph benchmark (bench/results/graph-<scale>.json). ``--code DIR`` runs another checkout
(before a change), as in bench/analysis_bench.py.
"""

from __future__ import annotations

import argparse
import json
import tempfile
from typing import Any

from common import (
    RESULTS,
    add_code_argument,
    add_scale_argument,
    code_env,
    full_store,
    hubtree_cmd,
    save,
    timed,
)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    add_scale_argument(ap)
    ap.add_argument("--root")
    ap.add_argument("--repeat", type=int, default=3)
    add_code_argument(ap)
    ap.add_argument("--name", default="cli", help="Results file name (bench/results/<name>-<scale>.json).")
    args = ap.parse_args()
    url, _ = full_store(args.scale)
    graph = RESULTS / f"graph-{args.scale}.json"
    root = args.root or (json.loads(graph.read_text())["largest_root"] if graph.exists() else "Qwen/Qwen2.5-7B")
    out: dict[str, Any] = {"db": url, "root": root, "code": args.code or "this checkout", "queries": {}}
    with tempfile.TemporaryDirectory(prefix="bench-cache-") as cache:
        env = {"HUBTREE_CACHE": cache, **code_env(args.code)}
        for name in ("descendants", "ancestors", "family"):
            cmd = hubtree_cmd("graph", name, root, "--db", url, "--json", code=args.code)
            runs = [timed(cmd, env=env) for _ in range(args.repeat + (name == "descendants"))]
            for run in runs:
                run.pop("json", None)
            first = runs.pop(0) if name == "descendants" else None
            out["queries"][name] = {"first_with_build": first, "cached": runs,
                                    "cached_cpu_s_min": min(r["cpu_s"] for r in runs),
                                    "cached_wall_s_min": min(r["wall_s"] for r in runs)}
            print(name, out["queries"][name]["cached_cpu_s_min"], flush=True)
    save(args.name, args.scale, out)


if __name__ == "__main__":
    main()
