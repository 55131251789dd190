"""Listing pages parsed and written by a process of their own, so the reactor's interpreter only fetches.

A sweep is a chain of requests: each page is asked for once the previous one's ``Link`` is read, so the crawl's CPU
hides under the hub's latency only while the process that sends requests is not busy. Parsing a page and writing
it take three quarters of a sweep's CPU; in a thread they hold the interpreter the reactor needs. Here they run in
a child process (on another core when there is one), which writes each page exactly as the thread did: one
transaction with its checkpoint and the run's counters (:func:`crawler.ingest.write_page`).

The child talks over its standard input and output: the store URL first (never on the command line), then one
frame per page and one answer per frame, in order. On Linux it dies with the crawl (a SIGKILL leaves no writer
behind, its open transaction rolled back); elsewhere it stops at the end of its input, after the page in hand.
"""

from __future__ import annotations

import contextlib
import logging
import os
import pickle
import signal
import struct
import subprocess
import sys
from pathlib import Path
from typing import IO, Any

import orjson

from crawler.gc_policy import rare_full_collections
from crawler.ingest import PageResult, write_page
from crawler.records import parse_hf
from crawler.records_modelscope import parse_modelscope
from crawler.store.db import Store, StoreError, driver_error, open_store

#: The record parser of each hub.
PARSERS = {"hf": parse_hf, "modelscope": parse_modelscope}
_HEADER = struct.Struct("!Q")  # a frame's length


class PageWriteError(RuntimeError):
    """A page the writer could not store (the store refused it as a whole, or the writer process ended)."""


class PageWriter:
    """``with PageWriter(store_url) as writer: writer.write(...)`` — pages written by a child process, one at a
    time, in the order given. :meth:`write` blocks until the page is committed (call it from one thread)."""

    def __init__(self, store_url: str):
        package_root = str(Path(__file__).resolve().parent.parent)  # the child imports this very code
        env = {**os.environ, "PYTHONPATH": os.pathsep.join(filter(None, [package_root, os.environ.get("PYTHONPATH")]))}
        self._process = subprocess.Popen(
            [sys.executable, "-P", "-c", "from crawler.page_writer import serve; serve()", str(os.getpid())],
            stdin=subprocess.PIPE, stdout=subprocess.PIPE, env=env)
        with contextlib.suppress(OSError):  # the child is gone already: the first page says so, with its exit status
            self._send(store_url)

    def write(self, hub: str, records: list[Any], *, run_id: int | None, url: str | None,
              checkpoint: dict[str, Any] | None, counters: dict[str, int], count_repeats: bool) -> PageResult:
        """Write one page (:func:`crawler.ingest.write_page`), committing ``counters`` plus the page's own counts
        with it; raises :class:`PageWriteError` when it is not stored."""
        try:
            self._send((hub, _pack(records), run_id, url, checkpoint, counters, count_repeats))
            ok, value, logs = _receive(self._process.stdout)
        except (OSError, EOFError):
            raise PageWriteError(f"the page writer process ended (exit status {self._process.wait()})") from None
        for name, level, message in logs:
            logging.getLogger(name).log(level, "%s", message)
        if not ok:
            raise PageWriteError(value)
        return value

    def close(self) -> None:
        """Let the child finish and exit (killed if it does not within a minute)."""
        with contextlib.suppress(OSError):
            self._send(None)
            self._process.stdin.close()  # type: ignore[union-attr]
        try:
            self._process.wait(timeout=60)
        except subprocess.TimeoutExpired:
            self._process.kill()
            self._process.wait()
        self._process.stdout.close()  # type: ignore[union-attr]

    def __enter__(self) -> PageWriter:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def _send(self, value: Any) -> None:
        _send_frame(self._process.stdin, value)  # type: ignore[arg-type]


def _pack(records: list[Any]) -> bytes:
    """A page's records as bytes: JSON (cheap both ways), else a pickle (values JSON cannot carry)."""
    try:
        return b"j" + orjson.dumps(records)
    except orjson.JSONEncodeError:  # lone surrogates, integers beyond 64 bits
        return b"p" + pickle.dumps(records, protocol=pickle.HIGHEST_PROTOCOL)


def _unpack(data: bytes) -> list[Any]:
    return orjson.loads(data[1:]) if data[:1] == b"j" else pickle.loads(data[1:])  # noqa: S301 - from our parent


def _send_frame(stream: IO[bytes], value: Any) -> None:
    data = pickle.dumps(value, protocol=pickle.HIGHEST_PROTOCOL)
    stream.write(_HEADER.pack(len(data)) + data)
    stream.flush()


def _receive(stream: IO[bytes] | None) -> Any:
    """The next frame of ``stream``; EOFError at its end."""
    assert stream is not None
    header = stream.read(_HEADER.size)
    if len(header) < _HEADER.size:
        raise EOFError
    size = _HEADER.unpack(header)[0]
    data = stream.read(size)
    if len(data) < size:
        raise EOFError
    return pickle.loads(data)  # noqa: S301 - frames come from our own parent or child process


class _Collected(logging.Handler):
    """The child's log records, handed back with the page's answer and logged by the crawl's process."""

    def __init__(self) -> None:
        super().__init__(logging.WARNING)
        self.records: list[tuple[str, int, str]] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.records.append((record.name, record.levelno, record.getMessage()))


def _die_with_parent(parent: int) -> None:
    """On Linux, ask to be killed when the crawl's process dies; exit now if it already has."""
    if sys.platform.startswith("linux"):
        import ctypes

        pr_set_pdeathsig = 1
        ctypes.CDLL(None, use_errno=True).prctl(pr_set_pdeathsig, signal.SIGKILL)
    if os.getppid() != parent:
        raise SystemExit(0)


def serve() -> None:
    """The child's loop: open the store named by the first frame, then write each page frame until the last."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C stops the crawl, which then closes this writer
    _die_with_parent(int(sys.argv[1]))
    frames_in, frames_out = sys.stdin.buffer, os.fdopen(os.dup(1), "wb")
    os.dup2(2, 1)  # a stray print must not corrupt the frames
    collected = _Collected()
    logging.getLogger().addHandler(collected)
    logging.getLogger().setLevel(logging.WARNING)
    try:
        store, refused = open_store(_receive(frames_in), create=False), ""
    except StoreError as exc:  # every page is answered with the reason: the crawl stops on the first one
        store, refused = None, str(exc)
    with rare_full_collections():
        while (frame := _receive_or_none(frames_in)) is not None:
            ok, value = _write(store, frame) if store is not None else (False, refused)
            _send_frame(frames_out, (ok, value, collected.records))
            collected.records = []
    if store is not None:
        store.engine.dispose()


def _write(store: Store, frame: tuple[Any, ...]) -> tuple[bool, Any]:
    """Write one page frame: ``(True, PageResult)``, or ``(False, why the page was not stored)``."""
    hub, payload, run_id, url, checkpoint, counters, count_repeats = frame

    def run_updates(result: PageResult) -> dict[str, int]:
        return {**counters, **{name: counters[name] + n for name, n in result.counts().items()}}

    try:
        return True, write_page(store, hub, _unpack(payload), run_id=run_id, url=url, checkpoint=checkpoint,
                                parser=PARSERS[hub], run_updates=run_updates, count_repeats=count_repeats)
    except Exception as exc:  # noqa: BLE001 - the crawl stops on it, resumable, with this reason
        return False, driver_error(exc)[:500]


def _receive_or_none(stream: IO[bytes]) -> Any:
    try:
        return _receive(stream)
    except EOFError:
        return None
