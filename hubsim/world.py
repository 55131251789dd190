"""Load a world directory (``hf.jsonl[.gz]``, ``modelscope.jsonl[.gz]``) into the simulator's tables."""

from __future__ import annotations

import errno
import gzip
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import orjson

from hubsim.hf_table import HfTable
from hubsim.ms_table import MsTable


class WorldError(ValueError):
    """A world directory that cannot be served (malformed line, record without id, two files of one hub)."""


@dataclass(slots=True)
class World:
    """Everything the simulator serves, loaded once; swapped as a whole on reload."""

    path: Path
    hf: HfTable
    ms: MsTable

    def summary(self) -> dict[str, Any]:
        return {"path": str(self.path), "hf_records": len(self.hf), "ms_records": len(self.ms),
                "hf_duplicates": self.hf.duplicates, "ms_duplicates": self.ms.duplicates}


def records_file(world: Path, stem: str) -> Path | None:
    """``<stem>.jsonl`` or ``<stem>.jsonl.gz`` in ``world`` (not both), or None when the hub is absent."""
    plain, packed = world / f"{stem}.jsonl", world / f"{stem}.jsonl.gz"
    if plain.exists() and packed.exists():
        raise WorldError(f"{world}: both {plain.name} and {packed.name} exist; keep one")
    return plain if plain.exists() else packed if packed.exists() else None


def iter_records(path: Path) -> Iterator[tuple[dict[str, Any], bytes]]:
    """``(record, line)`` for every non-blank line of a JSONL file; a bad line raises :class:`WorldError`."""
    opener = gzip.open if path.suffix == ".gz" else open
    with opener(path, "rb") as fh:
        for number, line in enumerate(fh, 1):
            line = line.strip()
            if not line:
                continue
            try:
                record = orjson.loads(line)
            except orjson.JSONDecodeError as exc:
                raise WorldError(f"{path.name} line {number}: invalid JSON ({exc})") from None
            if not isinstance(record, dict) or not isinstance(record.get("id"), str) or not record["id"]:
                raise WorldError(f"{path.name} line {number}: not a record with a string 'id'")
            yield record, line


def load_world(path: Path | str) -> World:
    """Read a world directory; a missing directory raises FileNotFoundError, bad content :class:`WorldError`."""
    world = Path(path)
    if not world.is_dir():
        raise FileNotFoundError(errno.ENOENT, "world directory not found", str(world))
    hf_file, ms_file = records_file(world, "hf"), records_file(world, "modelscope")
    if hf_file is None and ms_file is None:
        raise WorldError(f"{world}: no hf.jsonl[.gz] or modelscope.jsonl[.gz]")
    hf = HfTable.build(iter_records(hf_file) if hf_file else iter(()))
    ms = MsTable.build(iter_records(ms_file) if ms_file else iter(()))
    return World(world, hf, ms)
