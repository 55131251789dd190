"""Run the local hub simulator for a test: as a subprocess (``hubtree sim serve``) or in this process.

    with running_sim(world_dir, page_max=100, quota=50, window=5) as sim:
        HfApi(endpoint=sim.url).list_models(...)
        sim.stats()["by_route"]["hf_list"]

Both variants yield a :class:`Sim` with ``url``, ``stats()``, ``reset_stats()`` and ``reload(world)``.
"""

from __future__ import annotations

import json
import os
import queue
import signal
import subprocess
import sys
import tempfile
import threading
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from hubsim.server import SimConfig, SimServer

START_TIMEOUT = 120.0  # seconds to wait for the URL line (a large world takes a while to load)
STOP_TIMEOUT = 15.0


class SimError(RuntimeError):
    """The simulator did not start or answer; the message carries its stderr."""


@dataclass
class Response:
    """An HTTP answer as a test sees it (no exception for 4xx/5xx)."""

    status: int
    headers: Any  # email.message.Message: case-insensitive ``headers["Link"]``
    body: bytes

    def json(self) -> Any:
        return json.loads(self.body)

    @property
    def next_url(self) -> str | None:
        """The ``rel="next"`` URL of the ``Link`` header, if any."""
        link = self.headers.get("Link") or ""
        return link[link.index("<") + 1 : link.index(">")] if 'rel="next"' in link else None


def fetch(url: str, method: str = "GET", payload: Any = None, timeout: float = 60) -> Response:
    """One request with the standard library; 4xx/5xx come back as a :class:`Response`."""
    data = None if payload is None else json.dumps(payload).encode()
    request = urllib.request.Request(url, data=data, method=method,
                                     headers={"Content-Type": "application/json"} if data else {})
    try:
        with urllib.request.urlopen(request, timeout=timeout) as answer:
            return Response(answer.status, answer.headers, answer.read())
    except urllib.error.HTTPError as error:
        return Response(error.code, error.headers, error.read())


@dataclass
class Sim:
    """A running simulator: its base URL, a request helper and its control endpoints."""

    url: str
    process: subprocess.Popen[bytes] | None = None

    def get(self, path: str, params: Any = None) -> Response:
        """``GET url+path`` with ``params`` (a dict with list values, or pairs) percent-encoded."""
        query = "?" + urllib.parse.urlencode(params, doseq=True) if params else ""
        return fetch(f"{self.url}{path}{query}")

    def put(self, path: str, payload: Any) -> Response:
        return fetch(f"{self.url}{path}", "PUT", payload)

    def _control(self, method: str, path: str, payload: Any = None) -> Any:
        answer = fetch(f"{self.url}{path}", method, payload)
        if answer.status != 200:
            raise SimError(f"{method} {path}: HTTP {answer.status}: {answer.body[:500]!r}")
        return answer.json()

    def stats(self) -> dict[str, Any]:
        """``GET /_sim/stats``: requests by bucket/route/status, faults by kind, 429s, world, config."""
        return self._control("GET", "/_sim/stats")

    def reset_stats(self) -> None:
        self._control("POST", "/_sim/reset-stats", {})

    def reload(self, world: Path | str | None = None) -> dict[str, Any]:
        """Serve another world directory (or re-read the current one); returns the world summary."""
        return self._control("POST", "/_sim/reload", {"world": str(world)} if world else {})


def _config_args(config: SimConfig) -> list[str]:
    args = ["--host", config.host, "--port", str(config.port), "--page-max", str(config.page_max),
            "--window", str(config.window), "--fault-rate", str(config.fault_rate),
            "--latency-ms", str(config.latency_ms), "--seed", str(config.seed)]
    if config.quota is not None:
        args += ["--quota", str(config.quota)]
    return args


@contextmanager
def running_sim(world: Path | str, **config: Any) -> Iterator[Sim]:
    """Start ``hubtree sim serve`` on a free port as a subprocess; SIGTERM and wait on exit.

    ``config`` takes the :class:`hubsim.server.SimConfig` fields of the CLI (``page_max``, ``quota``, ``window``,
    ``fault_rate``, ``latency_ms``, ``seed``). Raises :class:`SimError` with the server's stderr when it dies or
    prints no URL within ``START_TIMEOUT``.
    """
    settings = SimConfig(**config)
    cmd = [sys.executable, "-m", "hubtree.cli", "sim", "serve", "--world", str(world), *_config_args(settings)]
    with tempfile.TemporaryFile() as stderr:
        process = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=stderr, env={**os.environ,
                                                                                    "PYTHONUNBUFFERED": "1"})
        try:
            url = _first_line(process, stderr)
            yield Sim(url, process)
        finally:
            _terminate(process)


def _first_line(process: subprocess.Popen[bytes], stderr: Any) -> str:
    lines: queue.Queue[bytes] = queue.Queue()
    assert process.stdout is not None
    threading.Thread(target=lambda: lines.put(process.stdout.readline()), daemon=True).start()
    try:
        line = lines.get(timeout=START_TIMEOUT).decode().strip()
    except queue.Empty:
        line = ""
    if not line.startswith("http://"):
        _terminate(process)
        stderr.seek(0)
        message = stderr.read().decode(errors="replace").strip()[-2000:]
        raise SimError(f"simulator did not start (exit code {process.returncode}): {message or 'no output'}")
    return line


def _terminate(process: subprocess.Popen[bytes]) -> None:
    if process.poll() is None:
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(timeout=STOP_TIMEOUT)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
    if process.stdout is not None:
        process.stdout.close()


@contextmanager
def sim_in_process(world: Path | str, **config: Any) -> Iterator[Sim]:
    """The same server in a background thread of this process (faster to start; shares the GIL)."""
    server = SimServer(world, SimConfig(**config))
    url = server.start()
    try:
        yield Sim(url)
    finally:
        server.stop()


# -- worlds for tests --------------------------------------------------------------------------------------

REPO = Path(__file__).resolve().parents[2]
REAL_DATA = REPO / "tests" / "data" / "real"  # the recorded Hub payloads the contract tests use (SOURCES.md)
SAMPLE_WORLD = REPO / "data" / "sample"
RAW_PAGE = REAL_DATA / "hf_api_stalnaker_2024-07" / "list_pages_raw" / "models_page1_07-11-2024.json"


def write_world(directory: Path, hf: list[dict[str, Any]] | None = None,
                ms: list[dict[str, Any]] | None = None) -> Path:
    """Write records as a world directory (``hf.jsonl``, ``modelscope.jsonl``); returns the directory."""
    directory.mkdir(parents=True, exist_ok=True)
    for name, records in (("hf.jsonl", hf), ("modelscope.jsonl", ms)):
        if records is not None:
            with open(directory / name, "w", encoding="utf-8") as fh:
                fh.writelines(json.dumps(r, ensure_ascii=False) + "\n" for r in records)
    return directory


def world_records(directory: Path, hub: str = "hf") -> list[dict[str, Any]]:
    """The records of a world directory as the simulator reads them (``hub``: ``hf`` or ``modelscope``)."""
    from hubsim.world import iter_records

    for suffix in (".jsonl", ".jsonl.gz"):
        path = directory / f"{hub}{suffix}"
        if path.exists():
            return [record for record, _line in iter_records(path)]
    return []
