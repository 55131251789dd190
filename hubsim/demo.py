"""The demo world: the bundled sample served by the simulator and crawled into a store (``hubtree demo``, the
notebooks and the report tests use it).

The simulator runs in this process; each crawl runs ``hubtree crawl`` in a fresh interpreter (Scrapy's reactor runs
once per process).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

#: The bundled real sample world (see data/sample/SOURCES.md).
SAMPLE_WORLD = Path(__file__).resolve().parents[1] / "data" / "sample"
DEFAULT_DIR = Path("hubtree-demo")


class DemoCrawlError(RuntimeError):
    """A crawl of the demo world failed; ``exit_code`` is the crawl's (4: another crawl holds the store)."""

    def __init__(self, message: str, exit_code: int = 1):
        super().__init__(message)
        self.exit_code = exit_code


def crawl_subprocess(hub: str, endpoint: str, db_url: str, mode: str = "full") -> tuple[int, dict[str, Any] | None,
                                                                                           str]:
    """``hubtree crawl HUB`` in a fresh interpreter: (exit code, its JSON summary or None, last stderr line)."""
    cmd = [sys.executable, "-m", "hubtree.cli", "crawl", hub, "--endpoint", endpoint, "--db", db_url, "--mode", mode,
           "--progress", "none", "--json"]
    proc = subprocess.run(cmd, capture_output=True, text=True, env={**os.environ, "PYTHONUNBUFFERED": "1"})
    lines = [ln for ln in proc.stdout.splitlines() if ln.startswith("{")]
    summary = json.loads(lines[-1]) if lines else None
    err = (proc.stderr.strip().splitlines() or [""])[-1]
    return proc.returncode, summary, err


def crawl_world(db_url: str, world: Path = SAMPLE_WORLD) -> list[dict[str, Any]]:
    """Serve ``world`` with the simulator in a thread and crawl HF then ModelScope into ``db_url``.

    Returns each crawl's JSON summary; raises :class:`DemoCrawlError` when a crawl fails.
    """
    from hubsim.server import SimConfig, SimServer

    if not world.is_dir():
        raise DemoCrawlError(f"sample world not found: {world} (run from a checkout of hubtree)")
    server = SimServer(world, SimConfig())
    url = server.start()
    results = []
    try:
        for hub in ("hf", "modelscope"):
            code, summary, err = crawl_subprocess(hub, url, db_url)
            if code not in (0, 3) or summary is None:
                raise DemoCrawlError(f"crawl {hub} failed (exit {code}): {err}", code)
            results.append(summary)
    finally:
        server.stop()
    return results


def demo_store(directory: Path | str = DEFAULT_DIR) -> str:
    """The URL of a store holding the crawled sample under ``directory`` (``hubtree.db``), crawled if absent.

    Notebooks call this: they reuse the store ``hubtree demo`` left, or build their own the same way.
    """
    from crawler.runs import list_runs
    from crawler.store.db import open_store

    directory = Path(directory).resolve()
    directory.mkdir(parents=True, exist_ok=True)
    db_url = f"sqlite:///{directory / 'hubtree.db'}"
    if (directory / "hubtree.db").exists():
        runs = list_runs(open_store(db_url), limit=None)
        if {r["hub"] for r in runs if r["status"] == "success"} >= {"hf", "modelscope"}:
            return db_url
    crawl_world(db_url)
    return db_url
