"""The lineage graph's data: integer nodes, edge arrays, CSR adjacency both ways (built by
:mod:`analysis.lineage_build`, queried by :mod:`analysis.lineage_queries`).

Nodes are models; a ModelScope repo mirrored from a Hugging Face repo is the *same* node as its twin (counted
once, with per-hub presence kept in :attr:`LineageGraph.present`). The structure is numpy arrays rather than a
networkx graph: at a million models networkx costs ~6 s and ~700 MB to build and ~170 ms per 150K-node traversal
(see docs/inference.md, "Graph engine"); :meth:`LineageGraph.to_networkx` gives a networkx view when one is wanted.
This module imports only NumPy, so a query answered from the graph cache (:mod:`analysis.lineage_cache`) loads
neither polars nor the store.
"""

from __future__ import annotations

import bisect
import mmap
import operator
from array import array
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from functools import cached_property
from pickle import PickleBuffer
from typing import TYPE_CHECKING, Any, overload

import numpy as np

from crawler.lineage import RELATIONS

if TYPE_CHECKING:
    import polars as pl

HUB_BITS = {"hf": 1, "modelscope": 2}
_NO_DATE = np.iinfo(np.int64).max  # unknown creation dates sort last (they never look "older")


class IdList(Sequence[str]):
    """Model ids in node order, held as one UTF-8 buffer (``\\n`` before and after each id) and the byte positions
    of its separators: a list of 3M strings takes most of a second of a cold CLI query to unpickle, and a third of
    the list's memory. Pickled, both are out-of-band buffers (:mod:`analysis.lineage_cache` maps them from its file
    instead of reading them). An id may hold any character, a newline too (ids are untrusted): a match that is not
    a whole id is skipped."""

    def __init__(self, ids: Iterable[str]) -> None:
        encoded = [_utf8(i) for i in ids]
        self._hold(b"\n".join(encoded), np.fromiter(map(len, encoded), np.int64, len(encoded)))

    @classmethod
    def of_series(cls, ids: pl.Series) -> IdList:
        """The ids of a polars string column (no nulls), joined by polars: no Python string is made per id."""
        import polars as pl

        out = cls.__new__(cls)
        joined = ids.str.join("\n").cast(pl.Binary).item() if len(ids) else b""
        out._hold(joined, ids.str.len_bytes().to_numpy().astype(np.int64))
        return out

    def _hold(self, joined: bytes, lengths: np.ndarray) -> None:
        """Keep ``joined`` (the ids' UTF-8 joined by ``\\n``) with the ids' ``lengths`` in bytes."""
        self._text: bytes | mmap.mmap = b"".join((b"\n", joined, b"\n"))
        # id n is _text[_cuts[n] + 1 : _cuts[n + 1]]; an array indexes to plain ints (NumPy makes a scalar object)
        self._cuts: Sequence[int] = array("q", np.concatenate(([0], np.cumsum(lengths + 1))).astype(np.int64).tobytes())
        self._plain = self._text.count(b"\n") == len(lengths) + 1  # no id holds a newline: split() gives them all
        self._count = len(lengths)

    def __reduce_ex__(self, protocol: int) -> tuple[Any, ...]:
        raw = PickleBuffer if protocol >= 5 else bytes
        return _id_list, (raw(self._text), raw(self._cuts), self._plain, self._count)

    def __len__(self) -> int:
        return self._count

    @overload
    def __getitem__(self, n: int) -> str: ...
    @overload
    def __getitem__(self, n: slice) -> list[str]: ...
    def __getitem__(self, n: int | slice) -> str | list[str]:
        if type(n) is not int or not 0 <= n < self._count:  # else the hot path: a node number from a list
            if isinstance(n, slice):
                return self.take(range(*n.indices(self._count)))
            n = operator.index(n)
            n += self._count if n < 0 else 0
            if not 0 <= n < self._count:
                raise IndexError("node out of range")
        return self._text[self._cuts[n] + 1 : self._cuts[n + 1]].decode("utf-8", "surrogatepass")

    def __iter__(self) -> Iterator[str]:
        if self._plain:
            return iter(str(memoryview(self._text)[1:-1], "utf-8", "surrogatepass").split("\n"))
        return (self[n] for n in range(len(self)))

    def series(self, chunk: int = 200_000, *, start: int = 0, stop: int | None = None) -> pl.Series:
        """The ids of nodes ``start`` to ``stop`` (default: every id) in node order as a polars string column
        (imports polars: for the analyses, not the cold query). Split by polars ``chunk`` ids at a time: the whole
        text split at once peaks 0.45 GB higher at 3M ids, Python strings cost twice the CPU. Ids that hold a
        newline are made one by one."""
        import polars as pl

        stop = self._count if stop is None else min(stop, self._count)
        if not self._plain:
            return pl.Series("id", self[start:stop], dtype=pl.String)
        text, cuts = memoryview(self._text), self._cuts
        parts = [pl.Series("id", [str(text[cuts[first] + 1 : cuts[min(first + chunk, stop)]], "utf-8",
                                      "surrogatepass")]).str.split("\n").explode()
                 for first in range(start, stop, chunk)]
        return pl.concat(parts) if parts else pl.Series("id", [], dtype=pl.String)

    def take_series(self, nodes: np.ndarray) -> pl.Series:
        """The ids of ``nodes`` as a polars string column: gathered from :meth:`series` of the nodes' span when they
        are more than a sixth of it (it makes each id for ≈ a sixth of the cost of decoding one), else decoded one
        by one."""
        import polars as pl

        if len(nodes):
            low, high = int(nodes.min()), int(nodes.max()) + 1
            if len(nodes) > (high - low) // 6:
                return self.series(start=low, stop=high).gather(nodes - low)
        return pl.Series("id", self.take(nodes.tolist()), dtype=pl.String)

    def take(self, nodes: Iterable[int]) -> list[str]:
        """The ids of ``nodes`` (node numbers ≥ 0), in their order."""
        text, cuts = self._text, self._cuts
        return [text[cuts[n] + 1 : cuts[n + 1]].decode("utf-8", "surrogatepass") for n in nodes]

    def __contains__(self, value: object) -> bool:
        try:
            self.index(value)
        except ValueError:
            return False
        return True

    def __eq__(self, other: object) -> bool:
        if isinstance(other, IdList):
            return memoryview(self._text) == memoryview(other._text)
        return isinstance(other, Sequence) and list(self) == list(other)

    __hash__ = None  # type: ignore[assignment]  # mutable-looking like a list: not hashable

    def __repr__(self) -> str:
        return f"IdList({len(self)} ids)"

    def index(self, value: Any, start: int = 0, stop: int | None = None) -> int:
        """The first node ≥ ``start`` (and < ``stop``) whose id is ``value``, found at C speed."""
        stop = len(self) if stop is None else min(stop, len(self))
        if isinstance(value, str) and 0 <= start < stop:
            needle = b"\n" + _utf8(value) + b"\n"
            at, end = self._cuts[start], self._cuts[stop] + 1
            while (at := self._text.find(needle, at, end)) >= 0:
                node = bisect.bisect_left(self._cuts, at)
                if node < len(self) and self._cuts[node] == at and self._cuts[node + 1] == at + len(needle) - 1:
                    return node
                at += 1  # inside an id that holds a newline
        raise ValueError(f"{value!r} is not in the ids")


def _utf8(text: str) -> bytes:
    return text.encode("utf-8", "surrogatepass")


def _id_list(text: Any, cuts: Any, plain: bool, count: int) -> IdList:
    """Unpickle an :class:`IdList` from its two buffers: bytes, or a file mapping (which has ``find`` as bytes do)
    handed back as a read-only view of it."""
    if isinstance(text, memoryview) and isinstance(text.obj, mmap.mmap) and text.nbytes == len(text.obj):
        text = text.obj
    out = IdList.__new__(IdList)
    out._text = text if isinstance(text, bytes | mmap.mmap) else bytes(text)
    out._cuts, out._plain, out._count = memoryview(cuts).cast("B").cast("q"), plain, count
    return out


class Labels(Sequence[str | None]):
    """A per-node column with few distinct values (authors, architectures): a code per node and the distinct
    values. A node costs four bytes, and 3M of them unpickle as one array (an out-of-band buffer) instead of 3M
    references. The distinct values pickle as an :class:`IdList` (3M models have ≈ 470K authors) and become a
    list on first use, which a cold query of the lineage never makes."""

    def __init__(self, codes: np.ndarray, values: list[str | None]) -> None:
        # Python ints on indexing (NumPy makes a scalar object)
        self._codes: Sequence[int] = array("i", np.ascontiguousarray(codes, dtype=np.int32).tobytes())
        self.values = values

    def __reduce_ex__(self, protocol: int) -> tuple[Any, ...]:
        if "_names" in self.__dict__:  # unpickled, perhaps never listed
            names, none = self._names, self._none
        else:
            names = IdList("" if v is None else v for v in self.values)
            none = self.values.index(None) if None in self.values else -1
        return _labels, ((PickleBuffer if protocol >= 5 else bytes)(self._codes), names, none)

    @cached_property
    def values(self) -> list[str | None]:
        """The distinct values; a code is an index into them."""
        values: list[str | None] = list(self._names)
        if self._none >= 0:
            values[self._none] = None
        return values

    @property
    def codes(self) -> np.ndarray:
        return np.frombuffer(self._codes, dtype=np.int32)

    def __len__(self) -> int:
        return len(self._codes)

    @overload
    def __getitem__(self, n: int) -> str | None: ...
    @overload
    def __getitem__(self, n: slice) -> list[str | None]: ...
    def __getitem__(self, n: int | slice) -> str | None | list[str | None]:
        if isinstance(n, slice):
            return [self.values[c] for c in self._codes[n]]
        return self.values[self._codes[n]]

    def __iter__(self) -> Iterator[str | None]:
        return iter(self.tolist())

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Sequence) and self.tolist() == list(other)

    __hash__ = None  # type: ignore[assignment]

    def __repr__(self) -> str:
        return f"Labels({len(self)} rows, {len(self.values)} values)"

    def isin(self, wanted: Iterable[str | None]) -> np.ndarray:
        """Whether each row's value is one of ``wanted`` (bool array): one test per distinct value, not per row."""
        wanted = set(wanted)
        return np.fromiter((v in wanted for v in self.values), bool, len(self.values))[self.codes]

    def mapped(self, fn: Callable[[str | None], str | None]) -> Labels:
        """The column with ``fn`` applied to each distinct value (values it makes equal become one)."""
        results = [fn(v) for v in self.values]
        distinct = list(dict.fromkeys(results))
        at = {v: i for i, v in enumerate(distinct)}
        return Labels(np.array([at[r] for r in results], np.int32)[self.codes], distinct)

    def objects(self) -> np.ndarray:
        """The column as a NumPy object array (equal values are one object)."""
        return np.array(self.values, dtype=object)[self.codes]

    def tolist(self) -> list[str | None]:
        return self.objects().tolist()

    def series(self, name: str, nodes: np.ndarray | None = None) -> pl.Series:
        """The column (or its rows ``nodes``) as a polars string column, gathered by polars from the codes (imports
        polars)."""
        import polars as pl

        return pl.Series(name, self.values, dtype=pl.String).gather(self.codes if nodes is None else self.codes[nodes])


def _labels(codes: Any, names: IdList, none: int) -> Labels:
    """Unpickle :class:`Labels` from its codes' buffer, its values as ids (``names[none]`` stands for None)."""
    out = Labels.__new__(Labels)
    out._codes, out._names, out._none = memoryview(codes).cast("B").cast("i"), names, none
    return out


@dataclass
class BuildReport:
    """What building the graph left out or repaired, for ``graph stats``."""

    unresolved: dict[str, int] = field(default_factory=dict)  # reason → edges left out
    self_loops: list[dict[str, str]] = field(default_factory=list)
    cycles_broken: list[dict[str, Any]] = field(default_factory=list)
    duplicate_edges: int = 0
    mirrors_merged: int = 0

    def as_dict(self) -> dict[str, Any]:
        return {"unresolved": {"edges": sum(self.unresolved.values()), "reasons": dict(self.unresolved)},
                "self_loops": self.self_loops, "cycles_broken": self.cycles_broken,
                "duplicate_edges": self.duplicate_edges, "mirrors_merged": self.mirrors_merged}


@dataclass
class LineageGraph:
    """The lineage graph: node ``n`` is ``ids[n]``; edge ``e`` goes from ``child[e]`` to its parent ``parent[e]``."""

    ids: IdList  # primary id (the HF id of a mirrored pair)
    present: np.ndarray  # uint8 bit mask per node: 1 = on HF, 2 = on ModelScope
    ms_ids: dict[int, str]  # ModelScope id of mirrored nodes whose id differs from the primary one
    authors: Labels
    created: np.ndarray  # int64 epoch seconds, _NO_DATE when unknown
    architecture: Labels
    child: np.ndarray  # int32 per edge
    parent: np.ndarray  # int32 per edge
    relation: np.ndarray  # int8 per edge: index into RELATIONS
    inferred: np.ndarray  # bool per edge
    rule: list[str]  # per edge
    confidence: np.ndarray  # float32 per edge (1.0 for declared edges)
    report: BuildReport = field(default_factory=BuildReport)
    down_ptr: np.ndarray = field(default_factory=lambda: np.zeros(1, np.int64))
    down_edges: np.ndarray = field(default_factory=lambda: np.zeros(0, np.int64))
    up_ptr: np.ndarray = field(default_factory=lambda: np.zeros(1, np.int64))
    up_edges: np.ndarray = field(default_factory=lambda: np.zeros(0, np.int64))

    @property
    def n_nodes(self) -> int:
        return len(self.ids)

    @property
    def n_edges(self) -> int:
        return len(self.child)

    @cached_property
    def nodes_by_id(self) -> dict[str, list[int]]:
        """Every id (primary, and the ModelScope id of a mirrored node) → its nodes; built on first use."""
        out: dict[str, list[int]] = {}
        for n, model_id in enumerate(self.ids):
            out.setdefault(model_id, []).append(n)
        for n, model_id in self.ms_ids.items():
            out.setdefault(model_id, []).append(n)
        return out

    def nodes_of(self, model_id: str) -> list[int]:
        """The nodes of ``model_id`` (primary id, or the ModelScope id of a mirrored node): from
        :attr:`nodes_by_id` once something built it (a service, many lookups), else by scanning the ids at C speed —
        a one-shot CLI query does not pay for an index of every id (1.8 s at 1M models)."""
        if "nodes_by_id" in self.__dict__:
            return self.nodes_by_id.get(model_id, [])
        out, start = [], 0
        while True:
            try:
                start = self.ids.index(model_id, start) + 1
            except ValueError:
                break
            out.append(start - 1)
        return out + [n for n, ms_id in self.ms_ids.items() if ms_id == model_id]

    def hubs_of(self, node: int) -> list[str]:
        bits = int(self.present[node])
        return [h for h, b in HUB_BITS.items() if bits & b]

    def reindex(self) -> None:
        """(Re)build the CSR adjacency from the edge arrays (edges ordered by relation, then child/parent id)."""
        n = self.n_nodes
        self.down_edges = np.lexsort((self.child, self.relation, self.parent)).astype(np.int64)
        self.down_ptr = np.concatenate(([0], np.cumsum(np.bincount(self.parent, minlength=n)))).astype(np.int64)
        self.up_edges = np.lexsort((self.parent, self.relation, self.child)).astype(np.int64)
        self.up_ptr = np.concatenate(([0], np.cumsum(np.bincount(self.child, minlength=n)))).astype(np.int64)

    def to_networkx(self, *, include_inferred: bool = True) -> Any:
        """A networkx ``DiGraph`` (parent → child, edge attributes ``relation``, ``inferred``, ``rule``) over ids."""
        import networkx as nx

        g = nx.DiGraph()
        for e in range(self.n_edges):
            if include_inferred or not self.inferred[e]:
                g.add_edge(self.ids[self.parent[e]], self.ids[self.child[e]], relation=RELATIONS[self.relation[e]],
                           inferred=bool(self.inferred[e]), rule=self.rule[e])
        return g
