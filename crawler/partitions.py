"""Partition ModelScope queries below the 3,000-row cap, and prove that the partitions cover each seed.

One OpenAPI query never yields more than 3,000 rows. A seed query over the cap is split by one more constraint
(``model_type``, then ``owner``, ``task``, ``licence``), recursively, until every part is below the cap. The values
to split on come from the known family architectures and from rows sampled under several sorts; each candidate
value costs one ``page_size=1`` probe (its ``total_count``).

Proof of coverage, per split: the dimensions are single-valued per model (one owner, one licence, one
``model_type`` tag), so the parts are disjoint, and ``sum(part totals) == parent total`` means no model of the
parent is left out. A split that cannot reach the parent's total keeps the best dimension and records the gap.
Per leaf, the listing later checks that the rows received equal the leaf's total. The planner is plain asyncio:
``probe(query, sort, page_number, page_size) -> (rows, total)`` is supplied by the caller (the spider).
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

from crawler.hubs.modelscope import MAX_PAGE_SIZE, ROW_CAP, Query, last_page

Probe = Callable[[Query, str, int, int], Awaitable[tuple[list[Any], int]]]
SPLIT_DIMS = ("model_type", "owner", "task", "license")
DISCOVERY_SORTS = ("default", "likes", "last_modified")


@dataclass
class Split:
    """One split of a query over the cap: the dimension used, the parent's total and what the parts sum to."""

    query: Query
    total: int
    dim: str | None
    parts_sum: int

    @property
    def gap(self) -> int:
        return max(0, self.total - self.parts_sum)


@dataclass
class Plan:
    """Leaf queries (each within the cap) with their totals, plus the seeds and splits that prove coverage."""

    seeds: list[tuple[Query, int]] = field(default_factory=list)
    leaves: list[tuple[Query, int]] = field(default_factory=list)
    splits: list[Split] = field(default_factory=list)
    probes: int = 0

    @property
    def gap(self) -> int:
        """Models the partitions cannot reach (0 when coverage is proven)."""
        return sum(s.gap for s in self.splits) + sum(max(0, t - ROW_CAP) for _, t in self.leaves)

    def to_json(self) -> dict[str, Any]:
        return {"seeds": [[q.to_json(), t] for q, t in self.seeds],
                "leaves": [[q.to_json(), t] for q, t in self.leaves],
                "splits": [[s.query.to_json(), s.total, s.dim, s.parts_sum] for s in self.splits],
                "probes": self.probes}

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Plan:
        return cls(seeds=[(Query.from_json(q), int(t)) for q, t in data.get("seeds", [])],
                   leaves=[(Query.from_json(q), int(t)) for q, t in data.get("leaves", [])],
                   splits=[Split(Query.from_json(q), int(t), d, int(s)) for q, t, d, s in data.get("splits", [])],
                   probes=int(data.get("probes", 0)))

    def proof(self) -> list[str]:
        """The coverage proof as run notes."""
        notes = [f"partitions: {len(self.seeds)} seeds ({sum(t for _, t in self.seeds)} rows) → {len(self.leaves)} "
                 f"leaves ({sum(t for _, t in self.leaves)} rows), each ≤ {ROW_CAP}; {self.probes} probe calls"]
        for s in self.splits:
            verdict = "covered, disjoint" if s.gap == 0 else f"GAP of {s.gap} models not reachable"
            notes.append(f"split {s.query.label()} (total {s.total}) by {s.dim}: parts sum to {s.parts_sum} → "
                         f"{verdict}")
        over = [(q, t) for q, t in self.leaves if t > ROW_CAP]
        for q, t in over:
            notes.append(f"leaf {q.label()} still has {t} > {ROW_CAP} rows: only {ROW_CAP} are reachable")
        notes.append("coverage proven: every seed's total is reached by disjoint parts" if self.gap == 0
                     else f"coverage NOT proven: {self.gap} models unreachable with the partitions tried")
        return notes


def _values(dim: str, rows: Iterable[Any]) -> set[str]:
    """Values of ``dim`` seen in sampled rows (the filter spellings the API accepts)."""
    out: set[str] = set()
    for r in rows:
        if not isinstance(r, dict):
            continue
        tags = [t for t in r.get("tags") or [] if isinstance(t, str)]
        if dim == "owner" and isinstance(r.get("id"), str) and "/" in r["id"]:
            out.add(r["id"].split("/", 1)[0])
        elif dim in ("model_type", "task"):
            out.update(t.split(":", 1)[1] for t in tags if t.startswith(f"{dim}:") and t.split(":", 1)[1])
            if dim == "task":
                out.update(t for t in r.get("tasks") or [] if isinstance(t, str) and t)
        elif dim == "license" and isinstance(r.get("license"), str) and r["license"]:
            out.add(r["license"])
    return out


class Planner:
    """Splits seed queries until every part is within the cap (see the module docstring)."""

    def __init__(self, probe: Probe, *, cap: int = ROW_CAP, known: dict[str, Iterable[str]] | None = None,
                 discovery_pages: int = 4, dims: tuple[str, ...] = SPLIT_DIMS):
        self._probe = probe
        self.cap = cap
        self.known = {k: tuple(v) for k, v in (known or {}).items()}
        self.discovery_pages = discovery_pages
        self.dims = dims
        self.plan = Plan()
        self._totals: dict[Query, int] = {}

    async def _count(self, query: Query) -> int:
        if query not in self._totals:
            self.plan.probes += 1
            _, self._totals[query] = await self._probe(query, "default", 1, 1)
        return self._totals[query]

    async def run(self, seeds: Iterable[Query]) -> Plan:
        seeds = list(dict.fromkeys(seeds))
        totals = await asyncio.gather(*(self._count(q) for q in seeds))
        for query, total in zip(seeds, totals, strict=True):
            self.plan.seeds.append((query, total))
            if total > 0:
                await self._cover(query, total)
        return self.plan

    async def _cover(self, query: Query, total: int) -> None:
        if total <= self.cap:
            self.plan.leaves.append((query, total))
            return
        dims = [d for d in self.dims if not query.constrains(d)]
        if not dims:
            self.plan.leaves.append((query, total))  # nothing left to split on: the gap shows in the proof
            return
        dim, parts = await self._best_split(query, total, dims)
        self.plan.splits.append(Split(query, total, dim, sum(t for _, t in parts)))
        for part, part_total in parts:
            await self._cover(part, part_total)

    async def _best_split(self, query: Query, total: int, dims: list[str]) -> tuple[str, list[tuple[Query, int]]]:
        rows: list[Any] = []
        best: tuple[int, str, list[tuple[Query, int]]] = (-1, dims[0], [])
        pages = last_page(total, MAX_PAGE_SIZE)
        for page in range(1, min(self.discovery_pages, pages) + 1):
            answers = await asyncio.gather(*(self._probe(query, sort, page, MAX_PAGE_SIZE)
                                             for sort in DISCOVERY_SORTS))
            self.plan.probes += len(DISCOVERY_SORTS)
            for page_rows, _ in answers:
                rows.extend(page_rows)
            for dim in dims:
                values = sorted(_values(dim, rows) | set(self.known.get(dim, ())))
                parts = [query.where(dim, v) for v in values]
                counts = await asyncio.gather(*(self._count(p) for p in parts))
                found = [(p, c) for p, c in zip(parts, counts, strict=True) if c > 0]
                reached = sum(c for _, c in found)
                useful = all(c < total for _, c in found)  # one part as big as the parent is no progress
                if reached == total and useful:
                    return dim, found
                if best[0] < reached + useful <= total + 1:
                    best = (reached + useful, dim, found)
        return best[1], best[2]
