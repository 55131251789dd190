"""Listing pages parsed and written by a process of their own, so the reactor's interpreter only fetches.

A sweep is a chain of requests: each page is asked for once the previous one's ``Link`` is read, so the crawl's CPU
hides under the hub's latency only while the process that sends requests is not busy. Parsing a page and writing
it take three quarters of a sweep's CPU; in a thread they hold the interpreter the reactor needs. Here they run in
a child process (on another core when there is one). Each page is written with its checkpoint and the run's counters
(:func:`crawler.ingest.write_parsed_page`), and answered before it is committed: the pages that come back to back
share one transaction (:class:`_Batch`, at most :data:`BATCH_PAGES`), which is committed as soon as the writer would
wait for the next page, when a page asks for it (the listing's last), or on :meth:`PageWriter.flush`. A crawl killed
at any moment therefore resumes from the last committed page, as before; a commit that fails is the answer to the
next page or flush, and the crawl takes its counters from the store (:meth:`crawler.run_state.RunState.page_not_stored`).

The child talks over its standard input and output: the store URL first (never on the command line), then one
frame per page (or flush) and one answer per frame, in order. On Linux it dies with the crawl (a SIGKILL leaves no
writer behind, its open transaction rolled back); elsewhere it stops at the end of its input, after the page in hand.
"""

from __future__ import annotations

import contextlib
import logging
import os
import pickle
import select
import signal
import struct
import subprocess
import sys
from pathlib import Path
from typing import IO, Any, NamedTuple

import orjson

from crawler.gc_policy import rare_collections
from crawler.id_filter import WrittenIds
from crawler.ingest import PageResult, read_page, write_page, write_parsed_page
from crawler.records_hf import HF_RECORDS
from crawler.records_modelscope import MODELSCOPE_RECORDS
from crawler.store.db import Store, StoreError, driver_error, open_store

#: How each hub's records are read.
READERS = {"hf": HF_RECORDS, "modelscope": MODELSCOPE_RECORDS}
#: At most this many pages in one transaction: each commit writes the index pages its inserts touched, and pages
#: written together touch many of the same. One where the writer cannot wait on its input with a timeout (``select``
#: on pipes is POSIX): there each page is committed before its answer.
BATCH_PAGES = 40 if os.name == "posix" else 1
#: SQLite's page cache of the writer's connection (SQLite's default is 2 MB). A sweep lists models by date, so their
#: ids reach the primary key's index in random order. Once that index outgrows the cache, nearly every insert reads a
#: page back from the operating system, and a transaction's pages spill to the WAL before its commit, to be written
#: again when they change again: three reads and three writes a record at 200,000 models (docs/PERFORMANCE.md). The
#: cache holds the pages of a batch's transaction; it grows only as pages are read.
PAGE_CACHE_MB = 128
#: A transaction is committed once no page has come for this long (the writer is waiting on the hub).
IDLE_COMMIT_S = 0.05
#: What the pipe that carries pages to the writer holds, where the system lets it be set (Linux). A page's records are
#: about a megabyte: through the default 64 KB the crawl's process waits on the writer some twenty times a page.
PIPE_BYTES = 1 << 20
#: The frame asking the writer to commit what it has written.
FLUSH = "flush"
_HEADER = struct.Struct("!QQ")  # a frame's lengths: its pickled value, then the page's records sent after it


class _PageFrame(NamedTuple):
    """One page as the crawl hands it to the writer."""

    hub: str
    payload: bytes  # the records: JSON, or a pickle (:func:`_pack`); sent after the frame's pickle, not copied into it
    pickled: bool  # whether ``payload`` is a pickle
    run_id: int | None
    url: str | None
    checkpoint: dict[str, Any] | None
    counters: dict[str, int]  # the run's counters before this page
    commit: bool  # committed before the answer

    def run_values(self, result: PageResult) -> dict[str, int]:
        """The run's counters committed with the page: the crawl's, plus the page's own counts."""
        return {**self.counters, **{name: self.counters[name] + n for name, n in result.counts().items()}}


class PageWriteError(RuntimeError):
    """A page the writer could not store (the store refused it as a whole, or the writer process ended)."""


class PageWriter:
    """``with PageWriter(store_url) as writer: writer.write(...)`` — pages written by a child process, one at a
    time, in the order given. :meth:`write` blocks until the page is written (call it from one thread); it is
    committed then if asked, else with the pages after it, within :data:`IDLE_COMMIT_S` of the last."""

    def __init__(self, store_url: str):
        package_root = str(Path(__file__).resolve().parent.parent)  # the child imports this very code
        env = {**os.environ, "PYTHONPATH": os.pathsep.join(filter(None, [package_root, os.environ.get("PYTHONPATH")]))}
        self._process = subprocess.Popen(
            [sys.executable, "-P", "-c", "from crawler.page_writer import serve; serve()", str(os.getpid())],
            stdin=subprocess.PIPE, stdout=subprocess.PIPE, env=env)
        _enlarge(self._process.stdin)  # type: ignore[arg-type]
        with contextlib.suppress(OSError):  # the child is gone already: the first page says so, with its exit status
            self._send(store_url)

    def write(self, hub: str, records: list[Any], *, run_id: int | None, url: str | None,
              checkpoint: dict[str, Any] | None, counters: dict[str, int], commit: bool,
              body: bytes | None = None) -> PageResult:
        """Write one page (:func:`crawler.ingest.write_parsed_page`) with ``counters`` plus the page's own counts,
        committed before the answer if ``commit``; raises :class:`PageWriteError` when it is not stored, or when
        pages answered before it could not be committed. ``body``: the records as the hub's JSON text (``records``
        unread), handed over as it is (not encoded again)."""
        pickled, payload = _pack(records) if body is None else (False, body)
        return self._ask(_PageFrame(hub, payload, pickled, run_id, url, checkpoint, counters, commit))

    def flush(self) -> None:
        """Commit the pages written so far; :class:`PageWriteError` if they could not be (they are not stored)."""
        self._ask(FLUSH)

    def _ask(self, frame: Any) -> Any:
        try:
            self._send(frame)
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


def _pack(records: list[Any]) -> tuple[bool, bytes]:
    """``(pickled, payload)``: a page's records as JSON (cheap both ways), else as a pickle (values JSON cannot
    carry)."""
    try:
        return False, orjson.dumps(records)
    except orjson.JSONEncodeError:  # lone surrogates, integers beyond 64 bits
        return True, pickle.dumps(records, protocol=pickle.HIGHEST_PROTOCOL)


def _unpack(frame: _PageFrame) -> bytearray | list[Any]:
    """The records of a page frame: its JSON text (read by the hub's reader,
    :attr:`crawler.records.RecordReader.read`), or the records unpickled."""
    return pickle.loads(frame.payload) if frame.pickled else frame.payload  # noqa: S301 - from our parent


def _send_frame(stream: IO[bytes], value: Any) -> None:
    """``value`` pickled; a page frame's records (a megabyte) are sent after it as they are: each copy of them costs
    more than pickling the rest."""
    payload = b""
    if isinstance(value, _PageFrame):
        value, payload = value._replace(payload=b""), value.payload
    data = pickle.dumps(value, protocol=pickle.HIGHEST_PROTOCOL)
    _write_at_once(stream, [_HEADER.pack(len(data), len(payload)), data, payload])


def _write_at_once(stream: IO[bytes], parts: list[bytes]) -> None:
    """``parts`` written to ``stream`` in one system call where there is one (``writev``, POSIX), so the reader wakes
    when the frame is in the pipe: woken by its first bytes, it would wait on the pipe's lock (spinning on a CPU)
    while the rest is copied in."""
    stream.flush()
    if not hasattr(os, "writev"):
        for part in parts:
            stream.write(part)
        stream.flush()
        return
    views = [memoryview(part) for part in parts if part]
    while views:
        written = os.writev(stream.fileno(), views)
        while views and written >= len(views[0]):
            written -= len(views.pop(0))
        if written:
            views[0] = views[0][written:]


def _receive(stream: IO[bytes] | None) -> Any:
    """The next frame of ``stream``; EOFError at its end."""
    assert stream is not None
    size, payload_size = _HEADER.unpack(_read_exactly(stream, _HEADER.size))
    value = pickle.loads(_read_exactly(stream, size))  # noqa: S301 - frames come from our own parent or child process
    payload = _read_exactly(stream, payload_size)
    return value._replace(payload=payload) if isinstance(value, _PageFrame) else value


def _read_exactly(stream: IO[bytes], size: int) -> bytearray:
    """``size`` bytes of ``stream``, read into one buffer (an unbuffered stream returns what the pipe holds);
    EOFError at its end."""
    data = bytearray(size)
    done = 0
    with memoryview(data) as view:
        while done < size:
            if not (read := stream.readinto(view[done:])):  # type: ignore[attr-defined]
                raise EOFError
            done += read
    return data


def _enlarge(pipe: IO[bytes]) -> None:
    """Let ``pipe`` hold :data:`PIPE_BYTES` where the system allows it; else it stays as it is."""
    with contextlib.suppress(ImportError, AttributeError, OSError):  # fcntl is POSIX, F_SETPIPE_SZ Linux's
        import fcntl

        fcntl.fcntl(pipe.fileno(), fcntl.F_SETPIPE_SZ, PIPE_BYTES)


def _waiting(stream: IO[bytes], timeout: float) -> bool:
    """Whether a frame (or the end of input) comes on the unbuffered ``stream`` within ``timeout`` seconds."""
    return bool(select.select([stream], [], [], timeout)[0])


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
    frames_in, frames_out = os.fdopen(os.dup(0), "rb", buffering=0), os.fdopen(os.dup(1), "wb")
    os.dup2(2, 1)  # a stray print must not corrupt the frames
    collected = _Collected()
    logging.getLogger().addHandler(collected)
    logging.getLogger().setLevel(logging.WARNING)
    try:
        batch: _Batch | None = _Batch(open_store(_receive(frames_in), create=False, page_cache_mb=PAGE_CACHE_MB))
        refused = ""
    except StoreError as exc:  # every page is answered with the reason: the crawl stops on the first one
        batch, refused = None, str(exc)
    with rare_collections():
        while True:
            if batch is not None and batch.open and not _waiting(frames_in, IDLE_COMMIT_S):
                batch.commit()  # the crawl is waiting on the hub: what is written is committed meanwhile
            if (frame := _receive_or_none(frames_in)) is None:
                break
            ok, value = batch.write(frame) if batch is not None else (False, refused)
            _send_frame(frames_out, (ok, value, collected.records))
            collected.records = []
    if batch is not None:
        batch.commit()
        batch.store.engine.dispose()


class _Batch:
    """The pages written since the last commit, in one open transaction.

    A page the store refuses (or a record in it) rolls the transaction back: the pages before it are written again
    and committed, and the refused page is then written on its own (:func:`crawler.ingest.write_page`: the records the
    store refuses quarantined, the rest stored; or the page refused as a whole). A commit that fails loses the pages
    since the last one: every later frame is answered with the reason, and the crawl stops, resumable.
    """

    def __init__(self, store: Store):
        self.store = store
        self._conn: Any = None
        self._frames: list[_PageFrame] = []  # written in the open transaction, in order
        self._failed = ""  # why pages answered as written are not stored
        self._written: dict[str, WrittenIds | None] = {}  # by hub: the ids written, if it held no model at first

    @property
    def open(self) -> bool:
        return self._conn is not None

    def write(self, frame: _PageFrame | str) -> tuple[bool, Any]:
        """Answer one frame: ``(True, PageResult)`` (or ``None`` for a flush), else ``(False, why not stored)``."""
        if self._failed:
            return False, self._failed
        if frame == FLUSH:
            return (False, self._failed) if self.commit() else (True, None)
        try:
            if self._conn is None:
                self._conn = self.store.engine.connect()
                self._conn.begin()
            result = _write_frame(self.store, self._conn, frame, self._written_ids(frame.hub))
        except Exception:  # noqa: BLE001 - written again below, alone, where the store's refusal is handled
            self._rollback()
            if self._rewrite():
                return False, self._failed
            self._written[frame.hub] = None  # the page alone is written without it: it would miss those ids
            return _write_alone(self.store, frame)
        self._frames.append(frame)
        if (frame.commit or len(self._frames) >= BATCH_PAGES) and self.commit():
            return False, self._failed
        return True, result

    def commit(self) -> str:
        """Commit the open transaction; returns why it failed ("" when it did not)."""
        if self._conn is None:
            return self._failed
        try:
            self._conn.commit()
        except Exception as exc:  # noqa: BLE001 - the crawl stops on it, resumable from the last commit
            self._failed = f"{len(self._frames)} page(s) written, not committed: {driver_error(exc)}"[:500]
            self._rollback()
        self._close()
        self._frames = []
        return self._failed

    def _rewrite(self) -> str:
        """Write again, and commit, the pages of a transaction rolled back; returns why it failed ("" when not)."""
        frames, self._frames = self._frames, []
        if not frames:
            return ""
        try:
            with self.store.transaction() as conn:
                for frame in frames:
                    _write_frame(self.store, conn, frame, self._written.get(frame.hub))
        except Exception as exc:  # noqa: BLE001 - as a failed commit
            self._failed = f"{len(frames)} page(s) written, not committed: {driver_error(exc)}"[:500]
        return self._failed

    def _written_ids(self, hub: str) -> WrittenIds | None:
        """The ids written into ``hub`` (:mod:`crawler.id_filter`), when it held no model at its first page."""
        if hub not in self._written:
            self._written[hub] = None if self.store.holds_models(self._conn, hub) else WrittenIds()
        return self._written[hub]

    def _rollback(self) -> None:
        with contextlib.suppress(Exception):
            self._conn.rollback()
        self._close()

    def _close(self) -> None:
        with contextlib.suppress(Exception):
            self._conn.close()
        self._conn = None


def _write_frame(store: Store, conn: Any, frame: _PageFrame, written: WrittenIds | None) -> PageResult:
    """Write one page frame with ``conn`` in its open transaction (``written``: the ids written into its hub so far,
    when known; the page's are added before it commits)."""
    page = read_page(store, conn, frame.hub, _unpack(frame), run_id=frame.run_id, url=frame.url,
                     reader=READERS[frame.hub], written=written)
    result = write_parsed_page(store, conn, page, checkpoint=frame.checkpoint, run_updates=frame.run_values)
    if written is not None:
        written.add(page.models)
    return result


def _write_alone(store: Store, frame: _PageFrame) -> tuple[bool, Any]:
    """Write one page frame in a transaction of its own: ``(True, PageResult)``, or ``(False, why not stored)``."""
    try:
        return True, write_page(store, frame.hub, _unpack(frame), run_id=frame.run_id, url=frame.url,
                                checkpoint=frame.checkpoint, reader=READERS[frame.hub],
                                run_updates=frame.run_values)
    except Exception as exc:  # noqa: BLE001 - the crawl stops on it, resumable, with this reason
        return False, driver_error(exc)[:500]


def _receive_or_none(stream: IO[bytes]) -> Any:
    try:
        return _receive(stream)
    except EOFError:
        return None
