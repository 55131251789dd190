"""Store URLs: the SQLite file a URL names, whether a store exists, a URL safe to print. Light to import (no
SQLAlchemy until a URL needs it), so a query answered from the graph cache does not load the store's machinery."""

from __future__ import annotations

from pathlib import Path

from crawler import config

_PLAIN_SQLITE = "sqlite:///"  # sqlite:///PATH, the default store's form


def sqlite_path(url: str) -> Path | None:
    """The database file of a SQLite URL (None for in-memory or other databases); ``file:`` URIs included.

    A plain ``sqlite:///PATH`` (no query, no %-escapes) is read without SQLAlchemy, whose import is a sixth of a
    cold graph query; any other URL is parsed by it."""
    if url.startswith(_PLAIN_SQLITE) and not {"?", "%"} & set(url):
        database = url[len(_PLAIN_SQLITE) :]
        return Path(database) if database not in ("", ":memory:") else None
    from sqlalchemy.engine import make_url

    u = make_url(url)
    if u.get_backend_name() != "sqlite" or not u.database or u.database == ":memory:":
        return None
    database = u.database
    if u.query.get("uri") in ("true", "1") and database.startswith("file:"):
        database = database[len("file:") :].split("?", 1)[0]
    return Path(database)


def check_store_exists(url: str | None = None) -> str:
    """The store URL (see :func:`crawler.config.db_url`); a SQLite file that does not exist is ``FileNotFoundError``.

    Readers (queries, analyses, reports, run listings) call this: they never create a store.
    """
    url = config.db_url(url)
    path = sqlite_path(url)
    if path is not None and not path.exists():
        raise FileNotFoundError(2, "no store at this path (crawl first, or pass --db)", str(path))
    return url


def redact_url(url: str) -> str:
    """The URL with any password replaced, for messages and logs."""
    from sqlalchemy.engine import make_url

    try:
        return make_url(url).render_as_string(hide_password=True)
    except Exception:  # noqa: BLE001
        return "<unparseable url>"
