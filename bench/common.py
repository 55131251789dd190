"""Shared pieces of the benchmarks: scales and worlds, the machine, timed subprocesses, the simulator, results.

Every benchmark is a script that prints its figures and writes ``bench/results/<name>-<scale>.json`` with the
machine, the date and the load average next to each figure (the machine may be shared while it runs).
"""

from __future__ import annotations

import gzip
import json
import os
import platform
import re
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import orjson

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

RESULTS = ROOT / "bench" / "results"
#: Scale names of the generated worlds (``hubsim.generate.SCALES``: 200k, 1m, 3m).
SCALES = ("200k", "1m", "3m")
SEED = 8
WORK = Path(os.environ.get("HUBTREE_BENCH_DIR", tempfile.gettempdir()))
SIM_START_TIMEOUT = 900.0  # loading a 1M world takes minutes on a busy machine


def add_scale_argument(parser: Any) -> None:
    parser.add_argument("--scale", choices=SCALES, default="200k", help="World size (generated if missing).")


def world_dir(scale: str) -> Path:
    """The generated world of ``scale`` (generated on first use, reused afterwards)."""
    out = WORK / f"bench-w{scale}"
    if not (out / "world.json").exists():
        from hubsim.generate import generate_world, scale_config

        shutil.rmtree(out, ignore_errors=True)
        generate_world(out, scale_config(scale, SEED))
    return out


def world_hf_records(world: Path) -> int:
    """Records of the world's HF listing (every line: what a full sweep lists)."""
    summary = json.loads((world / "world.json").read_text())
    counted = summary.get("counts", {}).get("hf_records")
    return int(counted) if counted else sum(1 for _ in iter_world(world))


def iter_world(world: Path) -> Iterator[dict[str, Any]]:
    """The world's raw HF records, one dict per line."""
    path = world / "hf.jsonl.gz"
    opener = gzip.open if path.exists() else open
    with opener(path if path.exists() else world / "hf.jsonl", "rb") as fh:
        for line in fh:
            if line.strip():
                yield orjson.loads(line)


#: Records in a listing page, as the hub serves them.
PAGE = 1000


def pages(world: Path, limit: int | None) -> Iterator[list[dict[str, Any]]]:
    """The world's first ``limit`` records (all when None) in listing pages, without the card text a listing never
    carries."""
    page: list[dict[str, Any]] = []
    for n, record in enumerate(iter_world(world)):
        if limit is not None and n >= limit:
            break
        record.pop("readme", None)
        page.append(record)
        if len(page) == PAGE:
            yield page
            page = []
    if page:
        yield page


def new_run(store: Any) -> int:
    """A new full-sweep run record of the HF hub in ``store``: its id."""
    from sqlalchemy import insert

    from crawler.ingest import now_utc
    from crawler.store.schema import CrawlRun

    with store.transaction() as conn:
        result = conn.execute(insert(CrawlRun.__table__).values(hub="hf", mode="full", started_at=now_utc()))
        return int(result.inserted_primary_key[0])


def db_path(name: str) -> Path:
    """A fresh SQLite file for a benchmark store (any previous one is removed)."""
    path = WORK / f"bench-{name}.db"
    for suffix in ("", "-wal", "-shm", ".crawl.lock"):
        Path(f"{path}{suffix}").unlink(missing_ok=True)
    return path


def full_store(scale: str) -> tuple[str, dict[str, Any]]:
    """The store the graph and analysis benchmarks read: the world loaded as a crawl with cards would write it.

    Built once per scale with ``hubsim.eval.world_store.load_world_store`` (records and every card, no network)
    into ``bench-store-<scale>.db``; returns its URL and how long loading took (empty when it already existed).
    """
    path = WORK / f"bench-store-{scale}.db"
    url = f"sqlite:///{path}"
    if path.exists():
        return url, {}
    from crawler.store import open_store
    from hubsim.eval.world_store import load_world_store

    partial = Path(f"{path}.partial")
    for suffix in ("", "-wal", "-shm"):
        Path(f"{partial}{suffix}").unlink(missing_ok=True)
    store = open_store(f"sqlite:///{partial}")
    t, load = time.perf_counter(), loadavg()
    records = load_world_store(world_dir(scale), store)
    figures = {"records": records, "load_s": round(time.perf_counter() - t, 1), "load_before": load}
    with store.engine.connect() as conn:
        conn.exec_driver_sql("PRAGMA wal_checkpoint(TRUNCATE)")
    store.engine.dispose()
    partial.rename(path)
    for suffix in ("-wal", "-shm"):
        Path(f"{partial}{suffix}").unlink(missing_ok=True)
    return url, figures


def loadavg() -> list[float]:
    return [round(x, 2) for x in os.getloadavg()]


def machine() -> dict[str, Any]:
    """The machine the figures were taken on: cores, memory, CPU model, Python, commit, date."""
    cpu = next((ln.split(":", 1)[1].strip() for ln in Path("/proc/cpuinfo").read_text().splitlines()
                if ln.startswith("model name")), platform.processor())
    mem = subprocess.run(["free", "-h"], capture_output=True, text=True).stdout.splitlines()
    commit = subprocess.run(["git", "rev-parse", "--short", "HEAD"], capture_output=True, text=True,
                            cwd=ROOT).stdout.strip()
    return {"nproc": os.cpu_count(), "cpu": cpu, "memory": mem[1].split()[1] if len(mem) > 1 else None,
            "python": platform.python_version(), "commit": commit,
            "date": datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC")}


_TIME_FIELDS = {"User time (seconds)": "user_s", "System time (seconds)": "sys_s",
                "Maximum resident set size (kbytes)": "max_rss_kb", "Elapsed (wall clock) time (h:mm:ss or m:ss)":
                "wall"}


def _wall_seconds(text: str) -> float:
    parts = [float(p) for p in text.split(":")]
    return sum(p * 60 ** i for i, p in enumerate(reversed(parts)))


def timed(cmd: list[str], *, env: dict[str, str] | None = None, check: bool = True) -> dict[str, Any]:
    """Run ``cmd`` under ``/usr/bin/time -v``: wall, user, sys, CPU seconds (its child processes included), max RSS
    (MB; of its largest process), the peak RSS of all its processes together (sampled), load before/after.

    The command's stdout, read as JSON (the whole of it, else its last JSON line), is returned as ``json`` when there
    is some.
    """
    load = loadavg()
    with tempfile.NamedTemporaryFile("r", suffix=".time") as report:
        proc = subprocess.Popen(["/usr/bin/time", "-v", "-o", report.name, *cmd], stdout=subprocess.PIPE,
                                stderr=subprocess.PIPE, text=True, cwd=ROOT, env={**os.environ, **(env or {})})
        peak = TreeRssPeak(proc.pid)
        peak.start()
        stdout, stderr = proc.communicate()
        peak.stop()
        fields = {}
        for line in report.read().splitlines():
            key, _, value = line.strip().rpartition(": ")
            if key in _TIME_FIELDS:
                fields[_TIME_FIELDS[key]] = value
    if check and proc.returncode != 0:
        raise RuntimeError(f"{' '.join(cmd[:4])}… exited {proc.returncode}: {stderr[-2000:]}")
    user, sys_ = float(fields.get("user_s", 0)), float(fields.get("sys_s", 0))
    out = {"wall_s": round(_wall_seconds(fields.get("wall", "0")), 2), "user_s": user, "sys_s": sys_,
           "cpu_s": round(user + sys_, 2), "max_rss_mb": round(int(fields.get("max_rss_kb", 0)) / 1024, 1),
           "peak_tree_rss_mb": round(peak.peak_kb / 1024, 1), "load_before": load, "load_after": loadavg(),
           "rc": proc.returncode}
    parsed = _last_json(stdout)
    if parsed is not None:
        out["json"] = parsed
    out["stderr_tail"] = stderr[-500:] if proc.returncode else ""
    return out


class TreeRssPeak(threading.Thread):
    """The peak of the summed resident memory of a process and its descendants, sampled every quarter second (a
    crawl writes its pages from a child process: ``/usr/bin/time`` reports the largest process only)."""

    def __init__(self, pid: int):
        super().__init__(daemon=True)
        self.pid = pid
        self.peak_kb = 0
        self._done = threading.Event()

    def run(self) -> None:
        while True:
            self.peak_kb = max(self.peak_kb, sum(_rss_kb(p) for p in _tree(self.pid)))
            if self._done.wait(0.25):
                return

    def stop(self) -> None:
        self._done.set()
        self.join()


def _tree(pid: int) -> list[int]:
    """``pid`` and its descendants (those still running)."""
    try:
        children = Path(f"/proc/{pid}/task/{pid}/children").read_text().split()
    except OSError:
        return []
    return [pid, *(p for child in children for p in _tree(int(child)))]


def _rss_kb(pid: int) -> int:
    try:
        status = Path(f"/proc/{pid}/status").read_text()
    except OSError:
        return 0
    found = re.search(r"^VmRSS:\s+(\d+) kB", status, re.MULTILINE)
    return int(found.group(1)) if found else 0


def process_cpu_s(pid: int) -> float:
    """User+sys CPU seconds a running process has used so far (from ``/proc/PID/stat``)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rpartition(")")[2].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def _last_json(stdout: str) -> Any:
    """The whole of stdout as JSON (indented output), else its last line that is a JSON object, else None."""
    candidates = [stdout.strip(), *reversed([ln for ln in stdout.splitlines() if ln.startswith("{")])]
    for text in candidates:
        try:
            return json.loads(text)
        except ValueError:
            continue
    return None


def hubtree_cmd(*args: str, code: str | None = None) -> list[str]:
    """``python -m hubtree.cli ARGS``; with ``code`` (another checkout, e.g. the commit before a change) that
    checkout is imported instead of this one (run with :func:`code_env`)."""
    return [sys.executable, *(["-P"] if code else []), "-m", "hubtree.cli", *args]


def code_env(code: str | None) -> dict[str, str]:
    """The environment that makes :func:`hubtree_cmd` with ``code`` import that checkout."""
    return {"PYTHONPATH": str(Path(code).resolve())} if code else {}


def add_code_argument(parser: Any) -> None:
    parser.add_argument("--code", help="Run another checkout of hubtree (the figures before a change).")


@contextmanager
def simulator(world: Path, **config: Any) -> Iterator[Any]:
    """``hubtree sim serve`` as a separate process (its CPU is not the crawler's); yields the test helper's Sim."""
    import tests.support.sim as sim_support

    sim_support.START_TIMEOUT = SIM_START_TIMEOUT
    with sim_support.running_sim(world, **config) as sim:
        yield sim


def save(name: str, scale: str, figures: dict[str, Any]) -> Path:
    """Write ``bench/results/<name>-<scale>.json`` with the machine and date; print the figures."""
    RESULTS.mkdir(parents=True, exist_ok=True)
    path = RESULTS / f"{name}-{scale}.json"
    doc = {"benchmark": name, "scale": scale, "machine": machine(), **figures}
    path.write_text(json.dumps(doc, indent=2, default=str) + "\n")
    print(json.dumps(doc, indent=2, default=str))
    return path


def per_thousand(seconds: float, records: int) -> float:
    return round(1000 * seconds / records, 3) if records else float("nan")


def slug(text: str) -> str:
    return re.sub(r"[^A-Za-z0-9]+", "-", text).strip("-").lower()


def now() -> float:
    return time.perf_counter()
