"""The page writer's work alone: a world's records written as a first sweep's page writer writes them.

    python bench/writer_bench.py --scale 200k [--records 50000] [--code DIR --name N]
    valgrind --tool=callgrind --instr-atstart=no --callgrind-out-file=/dev/null \\
        python bench/writer_bench.py --scale 200k --records 10000 --callgrind       # instructions, not seconds

Pages of 1,000 records (the listing's JSON text, as the crawl hands it over) are decoded, read against the store and
written into a new store without the deferred indexes by the page writer's own batches, with its page cache, under
the bulk job's collector schedule: decoding, parsing, hashing, SQLite and the
commits, without the crawl process or the network. Prints the CPU a record and the collector's young collections.
With ``--callgrind`` (run under callgrind with its instrumentation off) only this part is counted. With ``--floor`` the
pages are only decoded and their model and metric rows inserted, each value taken from the record as it is (nothing
parsed, checked, hashed or followed to a parent): what this design of the writer cannot go below. The machine's speed
moves by tens of percent within minutes: compare two checkouts run at the same time (``--code``), or their
instruction counts.
"""

from __future__ import annotations

import argparse
import gc
import os
import resource
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import orjson
from common import (
    PAGE,
    add_code_argument,
    add_scale_argument,
    db_path,
    loadavg,
    new_run,
    pages,
    save,
    world_dir,
)


def write_all(store: Any, run_id: int, texts: list[bytes]) -> None:
    """Every page written by the page writer's own batches (``crawler.page_writer._Batch``: pages sharing a
    transaction, each frame as the crawl sends it), as the writer process writes them."""
    from crawler.page_writer import _Batch, _PageFrame

    batch, counters = _Batch(store), {"records": 0, "changed": 0, "quarantined": 0}
    for text in texts:
        ok, why = batch.write(_PageFrame("hf", text, False, run_id, "bench", {"next_url": "bench"}, counters, False))
        if not ok:
            raise SystemExit(f"the page writer refused a page: {why}")
    batch.commit()


#: The model columns the floor fills (the others take their defaults).
FLOOR_COLUMNS = ("hub", "id", "author", "created_at", "last_modified", "sha", "library_name", "pipeline_tag", "tags",
                 "card_data", "files", "inference", "downloads", "downloads_all_time", "likes", "first_seen_run",
                 "last_seen_run", "key")
HISTORY_COLUMNS = ("run_id", "hub", "key", "downloads", "downloads_all_time", "likes")


def write_floor(store: Any, run_id: int, texts: list[bytes]) -> None:
    """Every page decoded and its rows inserted with the writer's statements and transactions, nothing else: the
    model rows carry the record's own values (dates as the hub's text, lists and the card as JSON text)."""
    from crawler.page_writer import BATCH_PAGES
    from crawler.store.schema import MetricSnapshot, Model

    model_sql, _, _, defaults = store._upsert_plan(Model, FLOOR_COLUMNS)  # defaults: of the columns not named
    history_sql = store._upsert_plan(MetricSnapshot, HISTORY_COLUMNS)[0]
    dumps, key = orjson.dumps, 0
    for start in range(0, len(texts), BATCH_PAGES):
        with store.transaction() as conn:
            for text in texts[start : start + BATCH_PAGES]:
                rows = []
                for r in orjson.loads(text):
                    key += 1
                    files = [s["rfilename"] for s in r.get("siblings", ())]
                    rows.append(("hf", r["id"], r.get("author"), r.get("createdAt"), r.get("lastModified"),
                                 r.get("sha"), r.get("library_name"), r.get("pipeline_tag"), dumps(r.get("tags")).decode(),
                                 dumps(r.get("cardData")).decode(), dumps(files).decode(), r.get("inference"),
                                 r.get("downloads"), r.get("downloadsAllTime"), r.get("likes"), run_id, run_id, key,
                                 *defaults))
                conn.exec_driver_sql(model_sql, rows)
                conn.exec_driver_sql(history_sql, [(run_id, "hf", r[17], r[12], r[13], r[14]) for r in rows])


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    add_scale_argument(ap)
    add_code_argument(ap)
    ap.add_argument("--records", type=int, default=50_000)
    ap.add_argument("--name", default="writer")
    ap.add_argument("--callgrind", action="store_true", help="Count only the writing (run under callgrind).")
    ap.add_argument("--floor", action="store_true", help="Only decode the pages and insert their rows (see above).")
    args = ap.parse_args()
    texts = [orjson.dumps(page) for page in pages(world_dir(args.scale), args.records)]  # as the crawl hands them over
    if args.code:  # after bench/common.py put this checkout first
        sys.path.insert(0, str(Path(args.code).resolve()))
    try:
        from crawler.gc_policy import rare_collections
    except ImportError:  # a checkout before 15d40d4
        from crawler.gc_policy import rare_full_collections as rare_collections
    from crawler import page_writer
    from crawler.store import open_store
    from crawler.store.indexes import defer_indexes

    url = f"sqlite:///{db_path(f'{args.name}-{args.scale}')}"
    if hasattr(page_writer, "PAGE_CACHE_MB"):
        store = open_store(url, create=True, page_cache_mb=page_writer.PAGE_CACHE_MB)
    else:  # a checkout before the writer's page cache
        store = open_store(url, create=True)
    defer_indexes(store)
    run_id = new_run(store)
    young: list[int] = []  # one entry a young collection

    def count_young(phase: str, info: dict[str, Any]) -> None:
        if phase == "start" and info["generation"] == 0:
            young.append(1)

    gc.callbacks.append(count_young)
    if args.callgrind:
        subprocess.run(["callgrind_control", "--instr=on", str(os.getpid())], check=True, capture_output=True)
    load, before, started = loadavg(), resource.getrusage(resource.RUSAGE_SELF), time.perf_counter()
    with rare_collections():
        (write_floor if args.floor else write_all)(store, run_id, texts)
    wall, after = time.perf_counter() - started, resource.getrusage(resource.RUSAGE_SELF)
    if args.callgrind:
        subprocess.run(["callgrind_control", "--instr=off", str(os.getpid())], check=True, capture_output=True)
    records = min(args.records, len(texts) * PAGE)
    user, system = after.ru_utime - before.ru_utime, after.ru_stime - before.ru_stime
    figures = {"code": args.code, "floor": args.floor, "records": records, "wall_s": round(wall, 2), "user_s": round(user, 2),
               "sys_s": round(system, 2), "cpu_us_per_record": round(1e6 * (user + system) / records, 1),
               "young_collections": len(young), "load_before": load, "load_after": loadavg()}
    save(args.name, args.scale, figures)


if __name__ == "__main__":
    main()
