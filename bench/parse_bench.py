"""The page writer's parse of a Hugging Face record, step by step: what each costs a record.

    python bench/parse_bench.py --scale 1m [--records 20000] [--repeat 3]

The world's first records (decoded from their JSON text, as the writer has them) are parsed with
``crawler.records.parse_hf``, then each of its steps is run alone on every record: the record hash, the declared
lineage, the storable checks, the record's shape, the card's bounds, the file names, the dates, the architecture.
CPU (process time) a record with the cyclic collector off, the best of ``--repeat`` rounds; the steps add up to
about the whole parse (the rest is the row's dict and the parsed model).
"""

from __future__ import annotations

import argparse
import gc
import time
from collections.abc import Callable
from typing import Any

import orjson
from common import add_scale_argument, loadavg, pages, save, world_dir

from crawler import records
from crawler.lineage import declared_edges


def steps(raws: list[dict[str, Any]]) -> dict[str, Callable[[], object]]:
    """Each step of the parse as a call over every record (those that read a parsed row take it from the parse)."""
    parsed = [records.parse_hf(raw) for raw in raws]
    rows = [m.row for m in parsed]
    return {
        "parse_hf (whole)": lambda: [records.parse_hf(raw) for raw in raws],
        "record_hash": lambda: [records.record_hash(raw) for raw in raws],
        "declared_edges": lambda: [declared_edges(r["id"], r["tags"], r["card_data"], r["library_name"], r["files"])
                                   for r in rows],
        "storable_row": lambda: [records.storable_row(r, []) for r in rows],
        "record shape": lambda: [records._check_shape(raw) for raw in raws],
        "card bounds": lambda: [records.bounded_card(raw.get("cardData"), []) for raw in raws],
        "file names": lambda: [records._file_names(raw.get("siblings") or []) for raw in raws],
        "dates": lambda: [(records.parse_datetime(raw.get("createdAt")), records.parse_datetime(raw.get("lastModified")))
                          for raw in raws],
        "architecture": lambda: [records.architecture_of(raw.get("tags") or [], raw.get("config"), raw.get("gguf"))
                                 for raw in raws],
    }


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    add_scale_argument(ap)
    ap.add_argument("--records", type=int, default=20_000)
    ap.add_argument("--repeat", type=int, default=3)
    args = ap.parse_args()
    raws = [raw for page in pages(world_dir(args.scale), args.records) for raw in orjson.loads(orjson.dumps(page))]
    load = loadavg()
    us: dict[str, float] = {}
    gc.disable()
    for name, run in steps(raws).items():
        best = float("inf")
        for _ in range(args.repeat):
            started = time.process_time()
            run()
            best = min(best, time.process_time() - started)
        us[name] = round(1e6 * best / len(raws), 2)
        print(f"{name:18s} {us[name]:6.2f} µs a record", flush=True)
    gc.enable()
    save("parse", args.scale, {"records": len(raws), "us_per_record": us, "load_before": load, "load_after": loadavg()})


if __name__ == "__main__":
    main()
