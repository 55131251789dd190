"""Defaults in one place, each overridable by environment and per call.

Like ``huggingface_hub.constants``: endpoints honour ``HF_ENDPOINT`` / ``MODELSCOPE_ENDPOINT``, the store
honours ``HUBTREE_DB``. Tokens are read here and nowhere else; they are never logged or stored.
"""

from __future__ import annotations

import os
from pathlib import Path

from crawler.families import default_family

#: The hubs a model key ``(hub, id)`` can name.
HUBS = ("hf", "modelscope")
HF_DEFAULT_ENDPOINT = "https://huggingface.co"
MODELSCOPE_DEFAULT_ENDPOINT = "https://modelscope.cn"

#: The store used when neither ``--db`` nor ``HUBTREE_DB`` is given.
DEFAULT_DB_PATH = Path(os.environ.get("HUBTREE_HOME", Path.home() / ".local" / "share" / "hubtree")) / "hubtree.db"

#: The default family's root organisations and "undeclared member" architectures (crawler/families.toml; commands
#: take any family of the table, see crawler.families).
DEFAULT_ROOT_AUTHORS: tuple[str, ...] = default_family().orgs
DEFAULT_FAMILY_ARCHITECTURES: tuple[str, ...] = default_family().architectures

#: Upper bounds for untrusted text we keep (model cards, quarantined payloads).
MAX_CARD_BYTES = 256 * 1024
MAX_QUARANTINE_BYTES = 64 * 1024


def max_listing_models() -> int:
    """More models than one listing could hold (the Hub had about 3.0M in September 2026); a ``Link`` chain longer
    than this many rows is refused. ``HUBTREE_MAX_LISTING_MODELS`` overrides it."""
    return int(os.environ.get("HUBTREE_MAX_LISTING_MODELS") or 30_000_000)


def hf_endpoint(override: str | None = None) -> str:
    """The Hugging Face endpoint: explicit value, else ``HF_ENDPOINT``, else the public Hub."""
    return (override or os.environ.get("HF_ENDPOINT") or HF_DEFAULT_ENDPOINT).rstrip("/")


def modelscope_endpoint(override: str | None = None) -> str:
    """The ModelScope endpoint: explicit value, else ``MODELSCOPE_ENDPOINT``, else modelscope.cn."""
    return (override or os.environ.get("MODELSCOPE_ENDPOINT") or MODELSCOPE_DEFAULT_ENDPOINT).rstrip("/")


class ConfigError(ValueError):
    """A setting that cannot work (shown as one line by the CLI)."""


def _in_memory(url: str) -> bool:
    """Whether a SQLite URL names no file (``sqlite://``, ``sqlite:///``, ``sqlite:///:memory:``)."""
    if not url.startswith("sqlite"):
        return False
    rest = url.split("://", 1)[1] if "://" in url else ""
    return rest.removeprefix("/").split("?", 1)[0] in ("", ":memory:")


def db_url(override: str | None = None) -> str:
    """The store URL: explicit value, else ``HUBTREE_DB``, else a SQLite file under ``HUBTREE_HOME``.

    An in-memory SQLite URL is refused (:class:`ConfigError`): everything written there would vanish on exit.
    """
    url = override or os.environ.get("HUBTREE_DB")
    if url:
        if "://" not in url:  # a bare path is a SQLite file
            return f"sqlite:///{Path(url).expanduser().resolve()}"
        if _in_memory(url):
            raise ConfigError(f"{url} is an in-memory database that vanishes on exit; give a file "
                              "(sqlite:///path/to/hubtree.db) or a PostgreSQL URL")
        return url
    DEFAULT_DB_PATH.parent.mkdir(parents=True, exist_ok=True)
    return f"sqlite:///{DEFAULT_DB_PATH}"


def hf_token() -> str | None:
    """A Hugging Face token from ``HF_TOKEN`` or huggingface_hub's stored token file, if any."""
    from huggingface_hub import get_token

    return get_token()


def modelscope_token() -> str | None:
    """A ModelScope token from ``MODELSCOPE_API_TOKEN``, if any."""
    return os.environ.get("MODELSCOPE_API_TOKEN") or None
