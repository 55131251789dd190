"""The lineage graph: one import for building it and querying it.

    from analysis.graph import open_graph, descendants
    g = open_graph("sqlite:///hubtree.db")            # declared edges only (cached on disk, see lineage_cache)
    descendants(g, "Qwen/Qwen2-7B", relations={"quantized"})

Build: :mod:`analysis.lineage_build`; queries: :mod:`analysis.lineage_queries`; figures: :mod:`analysis.lineage_stats`;
inferred edges: :mod:`analysis.inference` (added only with ``include_inferred=True``, always flagged).
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

from analysis.lineage_cache import cached
from analysis.lineage_graph import BuildReport, LineageGraph
from analysis.lineage_queries import (
    Traversal,
    UnknownModelError,
    ancestors,
    children_of,
    descendants,
    family,
    find,
    parents_of,
    path,
    traverse,
    tree,
)
from crawler.store.urls import check_store_exists, sqlite_path

if TYPE_CHECKING:
    from analysis.families import UnknownFamilyError, family_members
    from analysis.lineage_build import build_graph
    from analysis.lineage_stats import graph_stats
    from crawler.store.db import Store

__all__ = ["BuildReport", "LineageGraph", "Traversal", "UnknownFamilyError", "UnknownModelError", "ancestors", "build_graph",
           "children_of", "descendants", "family", "family_members", "find", "graph_with_inferred", "graph_stats", "open_graph",
           "parents_of", "path", "traverse", "tree"]

#: Names loaded on first use (they import polars and the store), so a query answered from the graph cache does not.
_LAZY = {"build_graph": "analysis.lineage_build", "family_members": "analysis.families",
         "UnknownFamilyError": "analysis.families", "graph_stats": "analysis.lineage_stats"}


def __getattr__(name: str) -> Any:
    if name not in _LAZY:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    return getattr(importlib.import_module(_LAZY[name]), name)


def graph_with_inferred(store: Store, graph: LineageGraph | None = None) -> LineageGraph:
    """The declared graph plus the edges :mod:`analysis.inference` infers for models without declared parents."""
    from analysis.inference import all_inferences, with_inferred
    from analysis.lineage_build import build_graph

    graph = graph if graph is not None else build_graph(store)
    return with_inferred(graph, all_inferences(store, graph))


def open_graph(db: str | None = None, *, include_inferred: bool = False, use_cache: bool = True) -> LineageGraph:
    """The graph of the store at ``db`` (URL or path; default as in :func:`crawler.config.db_url`).

    With ``use_cache`` a previous build of an unchanged store is loaded from disk instead of rebuilt.
    Raises ``FileNotFoundError`` for a SQLite file that does not exist (a query never creates a store).
    """
    url = check_store_exists(db)
    path = sqlite_path(url)
    state: dict[str, Store] = {}

    def store() -> Store:
        from crawler.store.db import open_store

        if "s" not in state:
            state["s"] = open_store(url, create=False)
        return state["s"]

    def build() -> LineageGraph:
        from analysis.lineage_build import build_graph

        g = build_graph(store())
        return graph_with_inferred(store(), g) if include_inferred else g

    if not use_cache:
        return build()
    return cached(url, {"inferred": include_inferred}, build, store=None if path is not None else store())
