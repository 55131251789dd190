"""The lineage service under load: ``hubtree serve`` over the benchmark store, many concurrent clients.

    python bench/serve_bench.py --scale 200k [--clients 50] [--requests 2000] [--root ID] [--db URL]

Starts ``hubtree serve`` with an empty graph cache (the time to its URL line is the cold start), then drives it over
keep-alive HTTP/1.1 connections from one asyncio process: the first page (100 rows) of the descendants of the
largest root — once cold (its listing not yet cached), then ``--requests`` times from ``--clients`` concurrent
clients (after the first, a page is answered from the snapshot's cache of answers) —, then the model page data
(``/api/models/ID``, what the explorer's model page asks first) of distinct models below the root, each asked once
(no cached answer), one client at a time and then concurrently. Records p50/p90/p99 latency, throughput, the server's RSS (current
and peak) and its CPU seconds. The clients share the machine's cores with the server: on 2 cores they take part of
the CPU the figures are measured with (reported as the client's own CPU seconds).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import random
import time
import urllib.parse
from pathlib import Path
from typing import Any

from common import RESULTS, add_scale_argument, full_store, loadavg, process_cpu_s, save

from tests.support.serve import model_path, running_service


def percentiles(samples: list[float]) -> dict[str, float]:
    s = sorted(samples)

    def at(q: float) -> float:
        return round(1000 * s[min(len(s) - 1, int(q * len(s)))], 2)

    return {"n": len(s), "p50_ms": at(0.50), "p90_ms": at(0.90), "p99_ms": at(0.99), "max_ms": round(1000 * s[-1], 2)}


async def _client(host: str, port: int, paths: list[str], latencies: list[float], statuses: dict[int, int]) -> None:
    reader, writer = await asyncio.open_connection(host, port)
    try:
        for path in paths:
            started = time.perf_counter()
            writer.write(f"GET {path} HTTP/1.1\r\nHost: {host}\r\nAccept: application/json\r\n\r\n".encode())
            await writer.drain()
            status = int((await reader.readline()).split()[1])
            length = 0
            while (line := await reader.readline()) not in (b"\r\n", b""):
                name, _, value = line.decode().partition(":")
                if name.lower() == "content-length":
                    length = int(value)
            await reader.readexactly(length)
            latencies.append(time.perf_counter() - started)
            statuses[status] = statuses.get(status, 0) + 1
    finally:
        writer.close()


def drive(url: str, paths: list[str], clients: int) -> dict[str, Any]:
    """Send ``paths`` from ``clients`` concurrent keep-alive connections (round-robin); latency figures."""
    u = urllib.parse.urlsplit(url)
    latencies: list[float] = []
    statuses: dict[int, int] = {}
    shares = [paths[i::clients] for i in range(clients)]
    cpu, load, started = time.process_time(), loadavg(), time.perf_counter()

    async def run() -> None:
        await asyncio.gather(*(_client(u.hostname, u.port, share, latencies, statuses) for share in shares if share))

    asyncio.run(run())
    wall = time.perf_counter() - started
    return {**percentiles(latencies), "clients": clients, "wall_s": round(wall, 2),
            "requests_per_s": round(len(latencies) / wall, 1), "statuses": statuses,
            "client_cpu_s": round(time.process_time() - cpu, 2), "load_before": load, "load_after": loadavg()}


def rss_mb(pid: int) -> dict[str, float]:
    fields = dict(line.split(":", 1) for line in Path(f"/proc/{pid}/status").read_text().splitlines() if ":" in line)
    return {"rss_mb": round(int(fields["VmRSS"].split()[0]) / 1024, 1),
            "peak_rss_mb": round(int(fields["VmHWM"].split()[0]) / 1024, 1)}


def largest_root(url: str, scale: str) -> str:
    graph = RESULTS / f"graph-{scale}.json"
    if graph.exists():
        return json.loads(graph.read_text())["largest_root"]
    from analysis.graph import graph_stats, open_graph

    return graph_stats(open_graph(url), top=1)["families"][0]["root"]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    add_scale_argument(ap)
    ap.add_argument("--clients", type=int, default=50)
    ap.add_argument("--requests", type=int, default=2000)
    ap.add_argument("--models", type=int, default=200, help="Models whose page data is fetched (twice as many "
                    "distinct models are asked: half one at a time, half concurrently).")
    ap.add_argument("--root")
    ap.add_argument("--db", help="Another store (default: the benchmark store of --scale).")
    args = ap.parse_args()
    url, built = (args.db, {}) if args.db else full_store(args.scale)
    root = args.root or largest_root(url, args.scale)
    out: dict[str, Any] = {"db": url, "root": root, "store_build": built}
    started, load = time.perf_counter(), loadavg()
    with running_service(url, "--timeout", "120") as svc:
        out["startup"] = {"s": round(time.perf_counter() - started, 1), "load_before": load,
                          "cpu_s": round(process_cpu_s(svc.process.pid), 1), **rss_mb(svc.process.pid)}
        print("ready", out["startup"], flush=True)
        first_page = f"/api/models/{model_path(root)}/descendants?limit=100"
        answer = svc.get(f"/api/models/{model_path(root)}/descendants", {"limit": 100}).json()
        out["descendants_count"] = answer["count"]
        cold = drive(svc.url, [f"/api/models/{model_path(root)}/descendants?limit=100&depth=1000"], 1)
        out["descendants_first_page_cold"] = cold
        print("cold", cold["p50_ms"], flush=True)
        cpu = process_cpu_s(svc.process.pid)
        drive(svc.url, [first_page] * args.clients, args.clients)  # connections and threads warmed up
        out["descendants_first_page"] = drive(svc.url, [first_page] * args.requests, args.clients)
        out["descendants_first_page"]["server_cpu_s"] = round(process_cpu_s(svc.process.pid) - cpu, 2)
        print("descendants", out["descendants_first_page"], flush=True)
        members = svc.get(f"/api/models/{model_path(root)}/descendants", {"limit": 1000}).json()["models"]
        rng = random.Random(8)
        ids = [root] + [m["id"] for m in rng.sample(members, min(2 * args.models - 1, len(members)))]
        pages = [f"/api/models/{model_path(i)}" for i in ids]  # each model asked once: no answer is cached
        out["model_page_sequential"] = drive(svc.url, pages[: args.models], 1)
        print("model page (1 client)", out["model_page_sequential"], flush=True)
        out["model_page_concurrent"] = drive(svc.url, pages[args.models:], args.clients)
        print("model page", out["model_page_concurrent"], flush=True)
        out["explorer_html"] = drive(svc.url, [f"/models/{model_path(i)}" for i in ids[: args.models]], 1)
        out["server"] = {**rss_mb(svc.process.pid), "cpu_s": round(process_cpu_s(svc.process.pid), 1)}
    save("serve", "custom" if args.db else args.scale, out)


if __name__ == "__main__":
    main()
