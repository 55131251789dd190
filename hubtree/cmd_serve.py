"""``hubtree serve``: the lineage service (JSON API and web explorer) over a store, read-only."""

from __future__ import annotations

import ipaddress
import logging
import signal
import socket
import sys
from pathlib import Path
from typing import Annotated, Any

import typer

from hubtree.errors import EXIT_USAGE, CliError, friendly_errors
from hubtree.options import DbOption


def _is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def _bind(host: str, port: int) -> socket.socket:
    """A listening socket on host:port (port 0: a free port), so the URL printed is the one served."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind((host, port))
    except OSError as exc:
        sock.close()
        raise CliError(f"cannot listen on {host}:{port}: {exc.strerror}", EXIT_USAGE) from None
    sock.listen(2048)
    sock.set_inheritable(True)
    return sock


@friendly_errors
def command(
    db: DbOption = None,
    host: Annotated[str, typer.Option("--host", help="Address to listen on (loopback by default; anything else "
                                      "is reachable from other machines and is warned about).")] = "127.0.0.1",
    port: Annotated[int, typer.Option("--port", min=0, max=65535, help="Port (0: any free port).")] = 8000,
    reports: Annotated[Path | None, typer.Option("--reports", help="Directory of monthly reports (as `hubtree report` "
                                                 "writes them) to link and serve; default ./reports when present.")]
    = None,
    include_inferred: Annotated[bool, typer.Option("--include-inferred", help="Also load inferred edges (queries "
                                                   "may then ask for them with ?inferred=true).")] = False,
    timeout: Annotated[float, typer.Option("--timeout", min=1, help="Seconds a request may take.")] = 30.0,
    poll: Annotated[float, typer.Option("--poll", min=0.2, help="Seconds between checks for a changed store.")] = 2.0,
) -> None:
    """Serve the lineage API and web explorer (read-only). Prints the base URL first; stops on Ctrl-C / SIGTERM."""
    import uvicorn

    from analysis.service import Settings, Snapshots, create_app
    from crawler.store.urls import check_store_exists

    logging.basicConfig(level=logging.WARNING, format="hubtree serve: %(message)s", stream=sys.stderr)
    if not _is_loopback(host):
        print(f"hubtree serve: warning: listening on {host}, not loopback: anyone who can reach this machine can "
              "read the store through it", file=sys.stderr)
    sock = _bind(host, port)
    snapshots = Snapshots(check_store_exists(db), include_inferred=include_inferred, poll_s=poll)
    if reports is None and Path("reports").is_dir():
        reports = Path("reports")
    app = create_app(snapshots, Settings(reports_dir=reports, request_timeout_s=timeout))
    bound = sock.getsockname()
    url = f"http://{'[' + bound[0] + ']' if sock.family == socket.AF_INET6 else bound[0]}:{bound[1]}"

    class Server(uvicorn.Server):
        async def startup(self, sockets: Any = None) -> None:
            await super().startup(sockets)
            if self.started:
                print(url, flush=True)

    config = uvicorn.Config(app, log_level="warning", access_log=False, timeout_graceful_shutdown=5,
                            server_header=False, limit_concurrency=512)
    for sig in (signal.SIGINT, signal.SIGTERM):  # uvicorn shuts down gracefully, then re-raises the signal: exit 0
        signal.signal(sig, _stopped)
    Server(config).run(sockets=[sock])


def _stopped(_sig: int, _frame: Any) -> None:
    raise SystemExit(0)
