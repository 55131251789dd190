"""Sweep vs per-node breadth-first crawl, side by side on the same world in the same run.

    python bench/bfs_bench.py --scale 200k

The "existing tool": starting from the Qwen org's models, ``HfApi(endpoint=…).list_models(filter="base_model:<id>")``
for every family node found (the official client, sequentially, as model-tree scripts do). The sweep is
``hubtree crawl hf --cards none``. Both run against the simulator at latency 0 in its own process; calls come from
the simulator's counters. The BFS wall time at a per-page latency L is projected as its zero-latency wall time plus
calls × L (it is sequential); the sweep's latency figures are measured by bench/crawl_bench.py.
"""

from __future__ import annotations

import argparse
import resource
from collections import deque
from pathlib import Path
from typing import Any

from common import add_scale_argument, loadavg, now, process_cpu_s, save, simulator, world_dir
from crawl_bench import crawl

LATENCIES_MS = (100, 300)


def bfs(endpoint: str, root_author: str = "Qwen") -> dict[str, Any]:
    """Breadth-first over ``filter=base_model:<id>`` from the root author's models; returns the nodes found."""
    from huggingface_hub import HfApi

    api = HfApi(endpoint=endpoint)
    seen = {m.id for m in api.list_models(author=root_author)}
    roots = len(seen)
    queue = deque(sorted(seen))
    while queue:
        node = queue.popleft()
        for model in api.list_models(filter=f"base_model:{node}"):
            if model.id not in seen:
                seen.add(model.id)
                queue.append(model.id)
    return {"roots": roots, "nodes": len(seen)}


def run_bfs(world: Path) -> dict[str, Any]:
    """The BFS against a fresh simulator: calls, nodes, wall and this process's CPU, the simulator's CPU."""
    with simulator(world, latency_ms=0) as sim:
        sim.reset_stats()
        sim_cpu, load = process_cpu_s(sim.process.pid), loadavg()
        usage, t = resource.getrusage(resource.RUSAGE_SELF), now()
        found = bfs(sim.url)
        wall = now() - t
        after = resource.getrusage(resource.RUSAGE_SELF)
        stats = sim.stats()
        sim_cpu = process_cpu_s(sim.process.pid) - sim_cpu
    cpu = (after.ru_utime - usage.ru_utime) + (after.ru_stime - usage.ru_stime)
    calls = stats["by_bucket"].get("api", 0)
    return {**found, "calls": calls, "wall_s": round(wall, 2), "cpu_s": round(cpu, 2), "sim_cpu_s": round(sim_cpu, 2),
            "load_before": load, "load_after": loadavg(),
            "projected_wall_s": {f"latency_{ms}ms": round(wall + calls * ms / 1000) for ms in LATENCIES_MS}}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    add_scale_argument(ap)
    args = ap.parse_args()
    world = world_dir(args.scale)
    sweep = crawl(world, f"bfs-sweep-{args.scale}", latency_ms=0)
    print(f"sweep: {sweep['calls']['api']} calls, {sweep['time']['wall_s']} s", flush=True)
    walk = run_bfs(world)
    print(f"bfs: {walk['calls']} calls, {walk['wall_s']} s", flush=True)
    pages = sweep["calls"]["api"]
    sweep_side = {"calls": pages, "records": sweep["records"], "family_and_roots": (sweep["family_models"] or 0)
                  + (sweep["roots"] or 0), "wall_s": sweep["time"]["wall_s"], "cpu_s": sweep["time"]["cpu_s"],
                  "sim_cpu_s": sweep["sim_cpu_s"], "load_before": sweep["time"]["load_before"],
                  "projected_wall_s": {f"latency_{ms}ms": round(sweep["time"]["wall_s"] + pages * ms / 1000)
                                       for ms in LATENCIES_MS}}
    ratios = {"calls": round(walk["calls"] / pages, 1), "wall_latency_0": round(walk["wall_s"] / sweep_side["wall_s"], 2),
              "client_plus_sim_cpu": round((walk["cpu_s"] + walk["sim_cpu_s"]) / (sweep_side["cpu_s"]
                                                                                 + sweep_side["sim_cpu_s"]), 2)}
    for ms in LATENCIES_MS:
        key = f"latency_{ms}ms"
        ratios[f"wall_{key}_projected"] = round(walk["projected_wall_s"][key] / sweep_side["projected_wall_s"][key], 1)
    save("bfs", args.scale, {"world": str(world), "sweep": sweep_side, "bfs": walk, "bfs_over_sweep": ratios})


if __name__ == "__main__":
    main()
