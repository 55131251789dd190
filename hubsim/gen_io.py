"""Reading and writing world files: JSON lines, optionally gzip, byte-for-byte deterministic.

gzip members are written with ``mtime=0`` and no file name, so the same records give the same bytes.
"""

from __future__ import annotations

import gzip
import io
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import orjson

#: Records are buffered and written in chunks of this many lines.
_CHUNK = 4096


@contextmanager
def open_write(path: Path, level: int = 6) -> Iterator[io.BufferedIOBase]:
    """A binary writer for ``path``; gzip (mtime 0, no name) when the name ends in ``.gz``."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "wb") as raw:
        if path.suffix != ".gz":
            yield raw
            return
        with gzip.GzipFile(filename="", mode="wb", fileobj=raw, compresslevel=level, mtime=0) as gz:
            yield gz


def write_jsonl(path: Path, records: Iterable[dict[str, Any] | bytes], level: int = 6) -> int:
    """Write ``records`` one JSON object per line; returns how many were written.

    ``path`` ending in ``.gz`` is gzip-compressed at ``level`` (1 is fast, 9 small). Keys keep their order.
    A record given as ``bytes`` is an already serialised line (without its newline), written as it is.
    """
    count = 0
    with open_write(path, level) as out:
        buf: list[bytes] = []
        for rec in records:
            buf.append(rec if isinstance(rec, bytes) else orjson.dumps(rec))
            count += 1
            if len(buf) >= _CHUNK:
                out.write(b"\n".join(buf) + b"\n")
                buf.clear()
        if buf:
            out.write(b"\n".join(buf) + b"\n")
    return count


def read_jsonl(path: Path) -> Iterator[dict[str, Any]]:
    """The records of a JSON-lines file (gzip when the name ends in ``.gz``), one at a time."""
    opener = gzip.open if path.suffix == ".gz" else open
    with opener(path, "rb") as fh:
        for line in fh:
            if line.strip():
                yield orjson.loads(line)


def read_raw_lines(path: Path) -> Iterator[bytes]:
    """The non-empty lines of a JSON-lines file, unparsed and without their newline."""
    opener = gzip.open if path.suffix == ".gz" else open
    with opener(path, "rb") as fh:
        for line in fh:
            line = line.rstrip(b"\r\n")
            if line.strip():
                yield line


def world_file(world: Path, stem: str) -> Path:
    """``<stem>.jsonl.gz`` or ``<stem>.jsonl`` in ``world``, whichever exists (gzip preferred)."""
    for name in (f"{stem}.jsonl.gz", f"{stem}.jsonl"):
        if (world / name).exists():
            return world / name
    raise FileNotFoundError(f"{world} has no {stem}.jsonl[.gz]")
