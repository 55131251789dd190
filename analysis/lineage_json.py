"""Lineage query parameters and JSON, shared by ``hubtree graph … --json`` and the lineage service.

The shapes themselves are those of :mod:`analysis.lineage_queries`; this module only checks the parameters both
front ends accept (a bad value is a ``ValueError`` with a one-line message) and encodes answers the same way.
"""

from __future__ import annotations

from typing import Any

import orjson

from crawler.config import HUBS
from crawler.lineage import RELATIONS


def relations_filter(value: str | None) -> set[str] | None:
    """``finetune,quantized`` → ``{"finetune", "quantized"}`` (None: every relation); unknown names are an error."""
    if not value:
        return None
    wanted = {v.strip().lower() for v in value.split(",") if v.strip()}
    bad = sorted(wanted - set(RELATIONS))
    if bad:
        raise ValueError(f"unknown relation(s) {', '.join(bad)}; choose from {', '.join(RELATIONS)}")
    return wanted or None


def check_hub(hub: str | None) -> str | None:
    """``hf`` or ``modelscope`` (or None); anything else is an error."""
    if hub is not None and hub not in HUBS:
        raise ValueError(f"hub must be {' or '.join(HUBS)}, not {hub!r}")
    return hub


def dumps(data: Any, *, pretty: bool = False) -> bytes:
    """The JSON of a query answer (UTF-8, non-ASCII kept as is; indented when ``pretty``); an answer nested deeper
    than JSON encoding allows (a tree of hundreds of levels) is a ``ValueError``."""
    try:
        return orjson.dumps(data, option=orjson.OPT_NON_STR_KEYS | (orjson.OPT_INDENT_2 if pretty else 0))
    except orjson.JSONEncodeError as exc:
        if "recursion" in str(exc).lower():
            raise ValueError("the answer nests too deeply for JSON") from None
        raise
