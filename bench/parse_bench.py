"""The page writer's parse of a Hugging Face record, step by step: what each costs a record.

    python bench/parse_bench.py --scale 1m [--records 20000] [--repeat 3]

The world's first records, decoded from their pages' JSON text into typed records as the writer decodes them
(``crawler.records_hf.read_hf_page``, itself the first step timed), are parsed with ``crawler.records_hf.parse_hf``,
then each of its steps is run alone on every record: the record hash, the declared lineage, the storable checks, the
card's bounds, the file names, the dates, the architecture. CPU (process time) a record with the cyclic collector
off, the best of ``--repeat`` rounds; the steps add up to about the whole parse (the rest is the row's dict and the
parsed model).
"""

from __future__ import annotations

import argparse
import gc
import time
from collections.abc import Callable

import orjson
from common import add_scale_argument, loadavg, pages, save, world_dir

from crawler import records, records_hf
from crawler.lineage import declared_edges


def steps(texts: list[bytes]) -> dict[str, Callable[[], object]]:
    """Each step of the parse as a call over every record (those that read a parsed row take it from the parse)."""
    raws = [raw for text in texts for raw in records_hf.read_hf_page(text).records]
    parsed = [records_hf.parse_hf(raw) for raw in raws]
    rows = [m.row for m in parsed]
    return {
        "page decoded": lambda: [records_hf.read_hf_page(text) for text in texts],
        "parse_hf (whole)": lambda: [records_hf.parse_hf(raw) for raw in raws],
        "record_hash": lambda: [records_hf.hf_record_hash(raw) for raw in raws],
        "declared_edges": lambda: [declared_edges(r["id"], r["tags"], r["card_data"], r["library_name"], r["files"])
                                   for r in rows],
        "storable_row": lambda: [records.storable_row(r, []) for r in rows],
        "card bounds": lambda: [records.bounded_card(raw.cardData, []) for raw in raws],
        "file names": lambda: [[s.rfilename for s in raw.siblings or ()] for raw in raws],
        "dates": lambda: [(records.parse_datetime(raw.createdAt), records.parse_datetime(raw.lastModified))
                          for raw in raws],
        "architecture": lambda: [records_hf.architecture_of(raw.tags or [], raw.config, raw.gguf) for raw in raws],
    }


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    add_scale_argument(ap)
    ap.add_argument("--records", type=int, default=20_000)
    ap.add_argument("--repeat", type=int, default=3)
    args = ap.parse_args()
    texts = [orjson.dumps(page) for page in pages(world_dir(args.scale), args.records)]
    count = sum(len(records_hf.read_hf_page(text).records) for text in texts)
    load = loadavg()
    us: dict[str, float] = {}
    gc.disable()
    for name, run in steps(texts).items():
        best = float("inf")
        for _ in range(args.repeat):
            started = time.process_time()
            run()
            best = min(best, time.process_time() - started)
        us[name] = round(1e6 * best / count, 2)
        print(f"{name:18s} {us[name]:6.2f} µs a record", flush=True)
    gc.enable()
    save("parse", args.scale, {"records": count, "us_per_record": us, "load_before": load, "load_after": loadavg()})


if __name__ == "__main__":
    main()
