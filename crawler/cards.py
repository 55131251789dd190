"""Model-card front matter: safe, bounded YAML parsing that tolerates real-world breakage.

Cards are untrusted text. Only a safe YAML loader is used (libyaml's ``CSafeLoader``, else ``SafeLoader``),
input is bounded, the loaded values are made JSON-storable within a size budget (aliases count each time they
are used, so a "billion laughs" block is refused, not expanded), and problems are returned as a reason (the
caller keeps the card and quarantines it) rather than raised.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

import yaml

from crawler.config import MAX_CARD_BYTES
from crawler.safe_values import UnsafeValue, clean_text, json_safe

#: libyaml's safe loader when PyYAML was built with it (same safety as ``yaml.safe_load``, ~10× faster).
_SAFE_LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
_BLOCK = re.compile(r"\A\s*---[ \t]*\r?\n(.*?)\r?\n---[ \t]*(?:\r?\n|\Z)", re.DOTALL)
#: Front matter larger than this is not parsed (real MTEB cards carry 100+ KB of model-index metadata).
MAX_FRONT_MATTER_BYTES = MAX_CARD_BYTES
#: Expanded size a block may reach (values + characters, aliases counted each use): any alias-free block fits.
MAX_FRONT_MATTER_UNITS = 2 * MAX_FRONT_MATTER_BYTES


@dataclass(slots=True)
class FrontMatter:
    """Metadata of a card: merged keys of every leading ``---`` block, plus what went wrong."""

    data: dict[str, Any] = field(default_factory=dict)
    blocks: int = 0
    error: str | None = None


def bound_text(text: str, limit: int = MAX_CARD_BYTES) -> tuple[str, bool]:
    """``text`` storable (no NULs, valid UTF-8) and cut to at most ``limit`` UTF-8 bytes, and whether it was cut."""
    text = clean_text(text)
    raw = text.encode("utf-8")
    if len(raw) <= limit:
        return text, False
    return raw[:limit].decode("utf-8", "ignore"), True


def parse_front_matter(text: str) -> FrontMatter:
    """Parse the YAML front matter of a model card.

    Stacked front matter (two ``---`` blocks, as some training tools write) is merged, later keys filling
    only what earlier blocks left out. Invalid YAML, a non-mapping block, or one that expands beyond
    ``MAX_FRONT_MATTER_UNITS`` yields ``error`` and keeps the rest. Values JSON cannot hold are converted
    (:func:`crawler.safe_values.json_safe`).
    """
    out = FrontMatter()
    rest = text.lstrip("\ufeff")
    while True:
        m = _BLOCK.match(rest)
        if not m:
            break
        out.blocks += 1
        body = m.group(1)
        rest = rest[m.end() :]
        if len(body.encode("utf-8", "replace")) > MAX_FRONT_MATTER_BYTES:
            out.error = f"front matter block {out.blocks} larger than {MAX_FRONT_MATTER_BYTES} bytes"
            continue
        try:
            loaded = yaml.load(body, Loader=_SAFE_LOADER)  # noqa: S506 - a safe loader (libyaml's when present)
        except yaml.YAMLError as exc:
            mark = getattr(exc, "problem_mark", None)
            where = f" at line {mark.line + 1}" if mark is not None else ""
            out.error = f"invalid YAML in front matter block {out.blocks}{where}"
            continue
        except RecursionError:
            out.error = f"front matter block {out.blocks} nested too deeply"
            continue
        if loaded is None:
            continue
        if not isinstance(loaded, dict):
            out.error = f"front matter block {out.blocks} is a {type(loaded).__name__}, not a mapping"
            continue
        try:
            safe = json_safe(loaded, MAX_FRONT_MATTER_UNITS)
        except UnsafeValue as exc:
            out.error = f"front matter block {out.blocks} {exc.reason}"
            continue
        for key, value in safe.items():
            out.data.setdefault(key, value)
    return out
