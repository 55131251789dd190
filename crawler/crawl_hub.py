"""One crawl of a hub by name, as the CLI starts it: the hub's endpoint, token and spider, the families it follows,
and for an incremental run the previous run's watermarks. The crawl itself is :func:`crawler.runner.run_crawl`."""

from __future__ import annotations

import importlib
from collections.abc import Callable, Sequence
from typing import Any

from crawler import config
from crawler.families import Family, default_family
from crawler.progress import check_progress
from crawler.runner import CrawlResult, run_crawl
from crawler.runs import previous_watermarks
from crawler.store.db import Store

#: hub → (its endpoint, its token, ``module:class`` of its spider).
HUBS: dict[str, tuple[Callable[[str | None], str], Callable[[], str | None], str]] = {
    "hf": (config.hf_endpoint, config.hf_token, "crawler.spiders.hf:HFSpider"),
    "modelscope": (config.modelscope_endpoint, config.modelscope_token, "crawler.spiders.modelscope:ModelScopeSpider"),
}
MODES = ("full", "incremental")


def check_concurrency(n: int) -> int:
    """A number of concurrent requests: at least 1 (0 would never send a request and never finish)."""
    if n < 1:
        raise ValueError(f"must be at least 1, not {n}")
    return n


def crawl_hub(store: Store, hub: str, mode: str, *, endpoint: str | None = None,
              families: Sequence[Family] | None = None, roots: Sequence[str] = (),
              spider_kwargs: dict[str, Any] | None = None, progress: str = "auto",
              concurrency: int = 16) -> CrawlResult:
    """One crawl of ``hub`` (``hf`` or ``modelscope``) in ``mode`` (``full`` or ``incremental``) into ``store``.

    ``endpoint`` and the token default as in :mod:`crawler.config`. The crawl follows ``families`` (default: the
    default family): their root organisations (plus the extra ``roots`` orgs), architectures and, on ModelScope,
    search terms decide what is listed and which cards are fetched. Raises :class:`crawler.lock.LockBusy` when
    another crawl runs on the store.
    """
    if mode not in MODES:
        raise ValueError(f"mode must be full or incremental, not {mode!r}")
    check_concurrency(concurrency)
    check_progress(progress)
    endpoint_of, token_of, spider = HUBS[hub]
    module, name = spider.split(":")
    marks = previous_watermarks(store, hub) if mode == "incremental" else {}
    families = list(families) if families is not None else [default_family()]
    if roots:  # extra organisations whose every model is followed as a root
        families.append(Family(name="roots", label="--roots", orgs=tuple(roots)))
    kwargs: dict[str, Any] = {"watermarks": marks, "families": tuple(families), **(spider_kwargs or {})}
    result = run_crawl(store, getattr(importlib.import_module(module), name), hub=hub, mode=mode,
                       endpoint=endpoint_of(endpoint), spider_kwargs=kwargs, progress=progress,
                       concurrency=concurrency, token=token_of())
    if mode == "incremental" and not marks:
        result.notes.append("no previous successful run: the incremental crawl listed everything")
    return result
