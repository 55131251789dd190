"""The simulator's HTTP server: routing, rate limits, faults, counters, and its two ways to run.

- ``serve_forever(world_dir, config)``: what ``hubtree sim serve`` runs; prints the base URL as the first line
  on stdout and serves until SIGTERM/SIGINT.
- ``SimServer(world, config)``: the same server in a background thread, for tests and benchmarks
  (``start()`` → base URL, ``stop()``, ``stats()``, ``reset_stats()``, ``load_world(path)``).

Control endpoints (never rate limited, never faulted, not counted): ``GET /_sim/stats``,
``POST /_sim/reset-stats``, ``POST /_sim/reload`` (body ``{"world": DIR}`` optional), ``GET /_sim/health``.
"""

from __future__ import annotations

import gc
import re
import signal
import sys
import threading
import time
import traceback
from collections.abc import Callable
from dataclasses import asdict, dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl, unquote, urlsplit

import orjson

from hubsim import hf_api, ms_api
from hubsim.faults import FaultInjector
from hubsim.ratelimit import RateLimiter
from hubsim.reply import Reply, json_reply
from hubsim.stats import Stats
from hubsim.world import World, WorldError, load_world

_README = re.compile(r"^/(?P<id>[^/]+(?:/[^/]+)?)/(?:resolve|raw)/(?P<rev>[^/]+)/README\.md$")
#: Routes whose answers are not JSON (a truncation fault does not apply).
_TEXT_ROUTES = frozenset({"hf_readme"})


@dataclass(slots=True)
class SimConfig:
    """How the simulator behaves; ``quota=None`` means no rate limit."""

    host: str = "127.0.0.1"
    port: int = 0
    page_max: int = 1000
    quota: int | None = None
    window: float = 300.0
    fault_rate: float = 0.0
    latency_ms: int = 0  # each answer takes at least this long, its own work included (a hub's response time)
    seed: int = 0
    slow_seconds: float = 3.0  # how long a "slow answer" fault waits
    ms_quota: int | None = None  # ModelScope OpenAPI calls allowed in all; later ones get 403 QuotaLimitExceed


@dataclass(slots=True)
class Route:
    """A matched hub endpoint: its name, rate bucket, hub family (``hf``/``ms``) and answer builder."""

    name: str
    bucket: str
    hub: str
    answer: Callable[[], Reply]


class _HttpServer(ThreadingHTTPServer):
    daemon_threads = True
    request_queue_size = 256
    sim: SimServer


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "hubsim/1"
    disable_nagle_algorithm = True
    timeout = 120  # idle keep-alive connections are closed after this
    server: _HttpServer

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - the base class's name
        pass

    def do_GET(self) -> None:
        self.server.sim.handle(self, "GET")

    def do_HEAD(self) -> None:
        self.server.sim.handle(self, "HEAD")

    def do_PUT(self) -> None:
        self.server.sim.handle(self, "PUT")

    def do_POST(self) -> None:
        self.server.sim.handle(self, "POST")


def _send(handler: BaseHTTPRequestHandler, reply: Reply, head: bool = False) -> None:
    handler.send_response(reply.status)
    handler.send_header("Content-Type", reply.content_type)
    handler.send_header("Content-Length", str(len(reply.body)))
    for name, value in reply.headers.items():
        handler.send_header(name, value)
    handler.end_headers()
    if not head:
        handler.wfile.write(reply.body)


def _not_found(hub: str) -> Reply:
    if hub == "ms":
        return ms_api.envelope_error(404, "NotFound", "no such endpoint")
    return hf_api.hub_error(404, "Not Found")


class SimServer:
    """A simulator serving one world; thread-safe; usable as a context manager (starts and stops)."""

    def __init__(self, world: Path | str | World, config: SimConfig | None = None):
        self.config = config or SimConfig()
        self.world = world if isinstance(world, World) else load_world(world)
        self.stats_counter = Stats()
        self.limiter = RateLimiter(self.config.quota, self.config.window)
        self.faults = FaultInjector(self.config.fault_rate, self.config.seed)
        self._ms_calls = 0
        self._ms_lock = threading.Lock()
        self._httpd: _HttpServer | None = None
        self._thread: threading.Thread | None = None
        self.base_url = ""

    # -- lifecycle ------------------------------------------------------------------------------------------

    def start(self) -> str:
        """Bind (port 0 = a free port), serve in a background thread, return the base URL."""
        httpd = _HttpServer((self.config.host, self.config.port), _Handler)
        httpd.sim = self
        self._httpd = httpd
        host, port = httpd.server_address[:2]
        self.base_url = f"http://{host}:{port}"
        self._thread = threading.Thread(target=httpd.serve_forever, kwargs={"poll_interval": 0.2},
                                        name="hubsim", daemon=True)
        self._thread.start()
        return self.base_url

    def stop(self) -> None:
        if self._httpd is not None:
            self._httpd.shutdown()
            self._httpd.server_close()
            self._httpd = None
        if self._thread is not None:
            self._thread.join(timeout=10)
            self._thread = None

    def __enter__(self) -> SimServer:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def stats(self) -> dict[str, Any]:
        """Counters plus the world summary and the configuration."""
        return {**self.stats_counter.snapshot(), "world": self.world.summary(), "config": asdict(self.config)}

    def reset_stats(self) -> None:
        self.stats_counter.reset()

    def load_world(self, path: Path | str) -> dict[str, Any]:
        """Swap in another world (or the same directory re-read); queries in flight finish on the old one."""
        self.world = load_world(path)
        return self.world.summary()

    # -- requests -------------------------------------------------------------------------------------------

    def handle(self, handler: _Handler, method: str) -> None:
        received = time.monotonic()
        length = int(handler.headers.get("Content-Length") or 0)
        body = handler.rfile.read(length) if length > 0 else b""
        split = urlsplit(handler.path)
        if split.path.startswith("/_sim/"):
            _send(handler, self._control(method, split.path, body))
            return
        params = parse_qsl(split.query, keep_blank_values=True)
        route = self._route(method, split.path, params, body)
        decision = self.limiter.take(route.bucket)
        fault = None
        if self._quota_spent(route):
            reply = ms_api.envelope_error(403, "QuotaLimitExceed", "quota exhausted; do not retry")
        elif not decision.allowed:
            reply = self._too_many(route)
        else:
            fault = self.faults.pick(route.name not in _TEXT_ROUTES)
            if fault == "drop":
                self.stats_counter.record(route.bucket, route.name, None, fault, received)
                handler.close_connection = True
                return
            if fault in ("500", "502", "503"):
                reply = self._server_error(route, int(fault))
            else:
                reply = self._answer(route)
            if fault == "slow":
                time.sleep(self.config.slow_seconds)
            elif fault == "truncate":
                reply.body = self.faults.cut(reply.body)
        if self.config.latency_ms > 0:  # a hub's response time: the answer's own work is part of it
            time.sleep(max(0.0, self.config.latency_ms / 1000 - (time.monotonic() - received)))
        reply.headers.update(decision.headers())
        self.stats_counter.record(route.bucket, route.name, reply.status, fault, received)
        _send(handler, reply, head=method == "HEAD")

    def _quota_spent(self, route: Route) -> bool:
        """Whether this ModelScope OpenAPI call is past ``ms_quota`` (a spent quota, not a rate limit)."""
        if self.config.ms_quota is None or route.name not in ("ms_list", "ms_model"):
            return False
        with self._ms_lock:
            self._ms_calls += 1
            return self._ms_calls > self.config.ms_quota

    def _answer(self, route: Route) -> Reply:
        try:
            return route.answer()
        except Exception as exc:  # noqa: BLE001 - a bug must not kill the connection thread silently
            traceback.print_exc(file=sys.stderr)
            return json_reply(500, {"error": f"simulator error: {exc.__class__.__name__}: {exc}"})

    def _route(self, method: str, raw_path: str, params: list[tuple[str, str]], body: bytes) -> Route:
        world = self.world
        path = unquote(raw_path)
        if raw_path == "/api/models":
            next_base = f"{self.base_url}/api/models"
            return self._only(method, ("GET", "HEAD"), Route("hf_list", "api", "hf", lambda: hf_api.list_models(
                world.hf, params, next_base, self.config.page_max)))
        if raw_path.startswith("/api/models/"):
            rest, _, revision = raw_path[len("/api/models/") :].partition("/revision/")
            model_id, rev = unquote(rest), unquote(revision) if revision else None
            return self._only(method, ("GET", "HEAD"), Route("hf_model", "api", "hf", lambda: hf_api.model_info(
                world.hf, model_id, rev, params)))
        if raw_path == "/openapi/v1/models":
            return self._only(method, ("GET", "HEAD"), Route("ms_list", "api", "ms", lambda: ms_api.list_models(
                world.ms, params)))
        if raw_path.startswith("/openapi/v1/models/"):
            model_id = path[len("/openapi/v1/models/") :]
            return self._only(method, ("GET", "HEAD"), Route("ms_model", "api", "ms", lambda: ms_api.model_detail(
                world.ms, model_id)))
        if raw_path == "/api/v1/dolphin/models":
            return self._only(method, ("PUT",), Route("ms_dolphin", "api", "ms", lambda: ms_api.dolphin_search(
                world.ms, body)))
        match = _README.match(path)
        if match:
            model_id = match.group("id")
            return self._only(method, ("GET", "HEAD"), Route("hf_readme", "resolvers", "hf", lambda: hf_api.readme(
                world.hf, model_id)))
        bucket = "api" if raw_path.startswith(("/api/", "/openapi/")) else "pages"
        hub = "ms" if raw_path.startswith("/openapi/") else "hf"
        return Route("unknown", bucket, hub, lambda: _not_found(hub))

    @staticmethod
    def _only(method: str, allowed: tuple[str, ...], route: Route) -> Route:
        if method in allowed:
            return route
        message = f"method {method} not allowed; use {'/'.join(allowed)}"
        answer = (lambda: ms_api.envelope_error(405, "MethodNotAllowed", message)) if route.hub == "ms" else (
            lambda: hf_api.hub_error(405, message))
        return Route(route.name, route.bucket, route.hub, answer)

    @staticmethod
    def _too_many(route: Route) -> Reply:
        if route.name == "ms_dolphin":
            return ms_api.dolphin_error(429, "RateLimitExceed")
        if route.hub == "ms":
            return ms_api.envelope_error(429, "RateLimitExceed", "too many requests; retry later")
        return hf_api.hub_error(429, "You have exceeded our rate limit. Retry later.")

    @staticmethod
    def _server_error(route: Route, status: int) -> Reply:
        message = {500: "Internal Error", 502: "Bad Gateway", 503: "Service Unavailable"}[status]
        if route.hub == "ms":
            return ms_api.envelope_error(status, "SystemError", message)
        return hf_api.hub_error(status, message)

    def _control(self, method: str, path: str, body: bytes) -> Reply:
        if path == "/_sim/stats" and method in ("GET", "HEAD"):
            return json_reply(200, self.stats())
        if path == "/_sim/health" and method in ("GET", "HEAD"):
            return json_reply(200, {"ok": True})
        if path == "/_sim/reset-stats" and method == "POST":
            self.reset_stats()
            return json_reply(200, {"ok": True})
        if path == "/_sim/reload" and method == "POST":
            try:
                request = orjson.loads(body) if body.strip() else {}
                target = request.get("world") if isinstance(request, dict) else None
                return json_reply(200, self.load_world(target or self.world.path))
            except (orjson.JSONDecodeError, WorldError, OSError) as exc:
                return json_reply(400, {"error": f"reload failed: {exc}"})
        return json_reply(404, {"error": f"unknown control endpoint {method} {path}"})


def serve_forever(world_dir: Path, config: SimConfig) -> None:
    """Load ``world_dir``, print the base URL as the first stdout line, serve until SIGTERM/SIGINT."""
    try:
        sim = SimServer(world_dir, config)
    except WorldError as exc:
        print(f"hubtree: error: {exc}", file=sys.stderr)
        raise SystemExit(1) from None
    # The world lives as long as the process: out of the collector's reach, its full collections no longer walk
    # every record (a 1M world's took 0.6-1.1 s, added to the answer that set it off).
    gc.freeze()
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    signal.signal(signal.SIGINT, lambda *_: stop.set())
    url = sim.start()
    print(url, flush=True)
    while not stop.wait(0.5):
        pass
    sim.stop()
