"""Run ``hubtree serve`` for a test: a subprocess on a free loopback port, stopped with SIGTERM.

    with running_service(db_url) as service:
        service.get("/api/models/Qwen/Qwen2-7B/descendants", {"limit": 10}).json()
"""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
import urllib.parse
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

from tests.support.sim import Response, SimError, _first_line, _terminate, fetch


@dataclass
class Service:
    """A running lineage service: its base URL and process."""

    url: str
    process: subprocess.Popen[bytes]

    def get(self, path: str, params: Any = None) -> Response:
        """``GET url+path`` (``path`` already percent-encoded where needed) with ``params`` encoded."""
        query = "?" + urllib.parse.urlencode(params, doseq=True) if params else ""
        return fetch(f"{self.url}{path}{query}")


def model_path(model_id: str) -> str:
    """An id as it appears in a URL path: each segment percent-encoded, slashes kept."""
    return "/".join(urllib.parse.quote(part, safe="") for part in model_id.split("/"))


@contextmanager
def running_service(db: str, *args: str, env: dict[str, str] | None = None) -> Iterator[Service]:
    """``hubtree serve --db DB --port 0 ARGS``; the graph cache goes to a private temporary directory."""
    with tempfile.TemporaryDirectory(prefix="serve-cache-") as cache, tempfile.TemporaryFile() as stderr:
        cmd = [sys.executable, "-m", "hubtree.cli", "serve", "--db", db, "--port", "0", *args]
        process = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=stderr,
                                   env={**os.environ, "HUBTREE_CACHE": cache, "PYTHONUNBUFFERED": "1", **(env or {})})
        try:
            url = _first_line(process, stderr)
        except SimError as exc:
            raise SimError(str(exc).replace("simulator", "hubtree serve")) from None
        service = Service(url, process)
        try:
            yield service
        finally:
            _terminate(process)
