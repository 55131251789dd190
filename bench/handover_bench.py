"""The hand-over of listing pages to the page writer alone: the CPU of both processes a page, without the parse or
the store.

    python bench/handover_bench.py --scale 1m [--pages 1000] [--code DIR --name N]

The world's first page of 1,000 records (its JSON text, as the crawl hands it over) is sent ``--pages`` times to a
child process that reads each frame as the page writer does (``crawler.page_writer``'s framing) and answers it, the
pipe set up as :class:`crawler.page_writer.PageWriter` sets it up. Prints the user and system CPU of each process a
page, counted from the second page on (the interpreters' start left out).
"""

from __future__ import annotations

import argparse
import os
import resource
import subprocess
import sys
from pathlib import Path
from typing import Any

import orjson
from common import PAGE, add_code_argument, add_scale_argument, loadavg, pages, save, world_dir


def _cpu() -> tuple[float, float]:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime, usage.ru_stime


def _page_frame(page_writer: Any, body: bytes, n: int) -> Any:
    """A page frame of ``body`` in the checkout's own layout (before 13f6d3c: the payload prefixed, no flag)."""
    fields = page_writer._PageFrame._fields
    values = {"hub": "hf", "payload": body if "pickled" in fields else b"j" + body, "pickled": False, "run_id": 1,
              "url": f"bench?p={n}", "checkpoint": {"next_url": "bench"}, "counters": {"records": n * PAGE},
              "count_repeats": False, "commit": False}
    return page_writer._PageFrame(**{name: values[name] for name in fields})


def child() -> None:
    """Answer every frame as the writer's loop does, then send this process's CPU since the first answer."""
    from crawler import page_writer

    frames_in, frames_out = os.fdopen(os.dup(0), "rb", buffering=0), os.fdopen(os.dup(1), "wb")
    started = None
    while (frame := page_writer._receive(frames_in)) is not None:
        page_writer._send_frame(frames_out, (True, len(frame.payload), []))
        started = started or _cpu()  # from the first page's answer on
    ended = _cpu()
    page_writer._send_frame(frames_out, [b - a for a, b in zip(started or ended, ended, strict=True)])


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    add_scale_argument(ap)
    add_code_argument(ap)
    ap.add_argument("--pages", type=int, default=1_000)
    ap.add_argument("--name", default="handover")
    ap.add_argument("--child", action="store_true", help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.code:
        sys.path.insert(0, str(Path(args.code).resolve()))
    if args.child:
        child()
        return
    from crawler import page_writer

    body = orjson.dumps(next(pages(world_dir(args.scale), PAGE)))
    command = [sys.executable, __file__, "--child", "--scale", args.scale, *(["--code", args.code] if args.code else [])]
    process = subprocess.Popen(command, stdin=subprocess.PIPE, stdout=subprocess.PIPE)
    getattr(page_writer, "_enlarge", lambda pipe: None)(process.stdin)  # before 13f6d3c: the default pipe
    load_before = loadavg()
    for n in range(args.pages + 1):
        if n == 1:
            started = _cpu()
        page_writer._send_frame(process.stdin, _page_frame(page_writer, body, n))
        page_writer._receive(process.stdout)
    crawl_side = [b - a for a, b in zip(started, _cpu(), strict=True)]
    page_writer._send_frame(process.stdin, None)
    writer_side = page_writer._receive(process.stdout)
    process.wait()

    def per_page(seconds: float) -> float:
        return round(1000 * seconds / args.pages, 3)

    total = sum(crawl_side) + sum(writer_side)
    save(args.name, args.scale, {
        "code": args.code, "pages": args.pages, "page_bytes": len(body),
        "crawl_user_ms_per_page": per_page(crawl_side[0]), "crawl_sys_ms_per_page": per_page(crawl_side[1]),
        "writer_user_ms_per_page": per_page(writer_side[0]), "writer_sys_ms_per_page": per_page(writer_side[1]),
        "ms_per_page": per_page(total), "us_per_record": round(1e6 * total / (args.pages * PAGE), 2),
        "load_before": load_before, "load_after": loadavg()})


if __name__ == "__main__":
    main()
