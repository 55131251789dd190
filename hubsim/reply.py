"""One HTTP answer of the simulator, built by the API modules and sent by the server."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import orjson

JSON = "application/json; charset=utf-8"


@dataclass(slots=True)
class Reply:
    """Status, body and headers of an answer; ``is_json`` marks bodies that a truncation fault may cut."""

    status: int
    body: bytes = b""
    content_type: str = JSON
    headers: dict[str, str] = field(default_factory=dict)
    is_json: bool = True


def json_reply(status: int, payload: Any, headers: dict[str, str] | None = None) -> Reply:
    return Reply(status, orjson.dumps(payload), JSON, dict(headers or {}))


def text_reply(status: int, text: str, content_type: str = "text/plain; charset=utf-8",
               headers: dict[str, str] | None = None) -> Reply:
    return Reply(status, text.encode("utf-8"), content_type, dict(headers or {}), is_json=False)
