"""The lineage structure of a generated world: nodes, their true parents, relations, dates and names.

Growth is a time-ordered preferential-attachment process: each derivative picks a root (weighted by the
root's appeal and recency) or an earlier derivative (proportional to 1 + its children), so fan-out is
heavy-tailed and chains grow deep. Quantized models and most adapters stay leaves.
"""

from __future__ import annotations

import bisect
import random
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from hubsim.gen_catalog import (
    ADAPTER_TASKS,
    CREATIVE_WORDS,
    FINETUNE_SUFFIXES,
    MERGE_METHODS,
    QUANTIZERS,
    RootSpec,
    user_name,
)

START = int(datetime(2023, 8, 1, tzinfo=UTC).timestamp())
END = int(datetime(2026, 11, 30, 23, 59, tzinfo=UTC).timestamp())
#: Repos older than this carry the Hub's floor createdAt.
FLOOR_CREATED = int(datetime(2022, 3, 2, 23, 29, 4, tzinfo=UTC).timestamp())
#: Typed ``base_model:<relation>:<id>`` tags exist on records modified from this date on (assumption).
TYPED_TAGS_SINCE = int(datetime(2024, 9, 1, tzinfo=UTC).timestamp())

#: Thousands of new Qwen derivatives a month at full scale, at anchor months (linear in between).
PACE_ANCHORS = (((2023, 8), 0.15), ((2024, 1), 0.7), ((2024, 5), 1.6), ((2024, 7), 5.5), ((2025, 1), 9.0),
                ((2025, 3), 8.0), ((2026, 1), 7.5), ((2026, 11), 8.5))
#: Release waves: multiplier of the month's pace.
WAVES = {(2024, 6): 2.6, (2024, 9): 1.4, (2024, 10): 1.5, (2025, 1): 1.2, (2025, 2): 1.3, (2025, 3): 1.2,
         (2025, 5): 1.6, (2025, 6): 1.2, (2026, 2): 1.3, (2026, 3): 1.5}

QUANT_FORMATS = (("gguf", 0.52), ("bnb", 0.14), ("mlx", 0.10), ("gptq", 0.08), ("exl2", 0.07), ("awq", 0.07),
                 ("fp8", 0.02))
_NON_ASCII = ("中文", "日本語", "한국어", "français", "Türkçe", "русский", "tiếng-việt", "español-ñ")


@dataclass(slots=True)
class Node:
    """One model of the world (written or absent) with its true lineage."""

    idx: int
    id: str
    author: str
    group: str  # "qwen" | "other" | "standalone"
    created: int
    arch: str
    size: str
    root: int  # index of the family root (itself for roots)
    relation: str | None = None
    parents: list[int] = field(default_factory=list)
    fmt: str = "transformers"
    stem: str = ""
    depth: int = 0
    spec: RootSpec | None = None
    children: int = 0
    kind: str = "typed"  # how the record declares its parent: typed|untyped|card|none|wrong
    dirt: list[str] = field(default_factory=list)
    absent: str | None = None  # "deleted" | "missing" when the repo is not in the world
    pipeline: str = "text-generation"

    @property
    def family(self) -> bool:
        return self.group == "qwen"


def month_starts() -> list[tuple[int, int, int]]:
    """``(year, month, epoch of the 1st)`` from 2023-08 to 2026-11, plus the end sentinel."""
    out = []
    y, m = 2023, 8
    while (y, m) <= (2026, 12):
        out.append((y, m, int(datetime(y, m, 1, tzinfo=UTC).timestamp())))
        y, m = (y + 1, 1) if m == 12 else (y, m + 1)
    return out


def pace(y: int, m: int) -> float:
    """Thousands of new Qwen derivatives in month ``y-m`` at full scale (about 8K a month since 2025)."""
    t = y * 12 + m
    pts = [(a[0] * 12 + a[1], v) for a, v in PACE_ANCHORS]
    for (t0, v0), (t1, v1) in zip(pts, pts[1:], strict=False):
        if t0 <= t <= t1:
            base = v0 + (v1 - v0) * (t - t0) / (t1 - t0)
            break
    else:
        base = pts[-1][1]
    return base * WAVES.get((y, m), 1.0)


def draw_times(rng: random.Random, n: int) -> list[int]:
    """``n`` creation times following the monthly pace, sorted."""
    months = month_starts()
    weights = [pace(y, m) for y, m, _ in months[:-1]]
    cum = []
    acc = 0.0
    for w in weights:
        acc += w
        cum.append(acc)
    out = []
    for _ in range(n):
        k = bisect.bisect_left(cum, rng.random() * acc)
        lo, hi = months[k][2], min(months[k + 1][2], END)
        out.append(lo + int(rng.random() * (hi - lo)))
    out.sort()
    return out


class Namer:
    """Unique (case-insensitive) repo ids following real naming patterns."""

    def __init__(self, rng: random.Random, users: int):
        self.rng = rng
        self.users = max(50, users)
        self.taken: set[str] = set()
        self.quantizers = [a for a, w in QUANTIZERS for _ in range(w)]

    def claim(self, wanted: str) -> str:
        candidate, n = wanted, 1
        while candidate.lower() in self.taken:
            n += 1
            candidate = f"{wanted}-{n}"
        self.taken.add(candidate.lower())
        return candidate

    def user(self) -> str:
        """A user drawn from a heavy-tailed pool (a few bulk uploaders, many one-off authors)."""
        return user_name(int(self.users * self.rng.random() ** 3))

    def name(self, node: Node, parent: Node, partner: Node | None) -> tuple[str, str, str]:
        """``(author, repo name, stem)`` for a new derivative of ``parent``."""
        rng, stem, rel = self.rng, parent.stem, node.relation
        if rel == "quantized":
            author = self.user()
            if node.fmt == "mlx":
                author = "mlx-community" if rng.random() < 0.7 else author
                name = f"{stem}-{rng.choice(('4bit', '4bit', '8bit', 'bf16', '3bit'))}"
            elif node.fmt == "gguf":
                author = rng.choice(self.quantizers) if rng.random() < 0.45 else author
                r = rng.random()
                name = (f"{stem}-i1-GGUF" if author == "mradermacher" and r < 0.4 else
                        f"{stem}-{rng.choice(('Q4_K_M', 'Q8_0', 'Q5_K_M'))}-GGUF" if r < 0.2 else f"{stem}-GGUF")
            elif node.fmt == "bnb":
                author = "unsloth" if rng.random() < 0.35 else author
                name = f"{stem}-{rng.choice(('bnb-4bit', 'bnb-4bit', 'unsloth-bnb-4bit', 'bnb-8bit'))}"
            elif node.fmt == "awq":
                name = f"{stem}-AWQ"
            elif node.fmt == "gptq":
                name = f"{stem}-{rng.choice(('GPTQ-Int4', 'GPTQ-Int8', 'GPTQ', 'gptq-4bit'))}"
            elif node.fmt == "exl2":
                name = f"{stem}-{rng.choice(('exl2', '4.0bpw-exl2', '6.5bpw-h6-exl2', '8.0bpw-h8-exl2'))}"
            else:
                name = f"{stem}-{rng.choice(('FP8', 'FP8-Dynamic'))}"
            return author, name, stem
        author = self.user()
        r = rng.random()
        if rel == "adapter":
            if r < 0.2:  # bulk-uploader pattern seen in the real 2024 data: <org>-<base>-<epoch>
                name = f"{parent.author}-{stem}-{node.created}"
            elif r < 0.6:
                name = f"{stem}-lora-{rng.choice(ADAPTER_TASKS)}"
            elif r < 0.85:
                name = f"{stem}-{rng.choice(ADAPTER_TASKS)}-adapter"
            else:
                name = f"{rng.choice(ADAPTER_TASKS)}-lora-{node.size.lower()}"
        elif rel == "merge":
            if r < 0.5:
                name = f"{rng.choice(CREATIVE_WORDS)}-{node.size}-{rng.choice(MERGE_METHODS)}"
            elif r < 0.8 and partner is not None:
                name = f"{stem}-{partner.stem.split('-')[0]}-merge"
            else:
                name = f"{stem}-merged-v{rng.randint(1, 5)}"
        else:
            if r < 0.6:
                name = f"{stem}-{rng.choice(FINETUNE_SUFFIXES)}"
            elif r < 0.8:
                name = f"{rng.choice(CREATIVE_WORDS)}-{stem}"
            else:  # no trace of the base in the name
                name = f"{rng.choice(CREATIVE_WORDS)}{rng.choice(CREATIVE_WORDS)}-{node.size}-v{rng.randint(1, 9)}"
        if len(name) > 80:
            name = f"{rng.choice(CREATIVE_WORDS)}-{node.size}-{rng.choice(FINETUNE_SUFFIXES)}"
        return author, name, name


def _quant_format(rng: random.Random) -> str:
    r, acc = rng.random(), 0.0
    for fmt, share in QUANT_FORMATS:
        acc += share
        if r < acc:
            return fmt
    return "gguf"


class TreeBuilder:
    """Grows the derivatives of one group of roots (one family, or the other families together)."""

    def __init__(self, rng: random.Random, nodes: list[Node], namer: Namer, relation_mix: dict[str, float],
                 non_ascii_share: float):
        self.rng, self.nodes, self.namer = rng, nodes, namer
        self.rel_names = list(relation_mix)
        self.rel_cum = []
        acc = 0.0
        for r in self.rel_names:
            acc += relation_mix[r]
            self.rel_cum.append(acc)
        self.non_ascii_share = non_ascii_share

    def derive(self, parent: Node, rel: str, t: int, group: str, partners: list[Node]) -> Node:
        """Append and return a new derivative of ``parent`` (a merge also takes 1-3 of ``partners``)."""
        rng, nodes = self.rng, self.nodes
        node = Node(len(nodes), "", "", group, max(t, parent.created + 3600), parent.arch, parent.size,
                    parent.root, rel, [parent.idx], pipeline=parent.pipeline)
        partner = None
        if rel == "merge":
            want = rng.choice((2, 2, 2, 3, 3, 4))
            picked = {parent.idx}
            for _ in range(want * 3):
                if len(picked) >= want or not partners:
                    break
                c = (partners[rng.randrange(len(partners))] if rng.random() < 0.8
                     else partners[-1 - rng.randrange(min(5, len(partners)))])
                if c.idx not in picked and c.created < node.created:
                    picked.add(c.idx)
                    node.parents.append(c.idx)
            if len(node.parents) < 2:
                node.relation = rel = "finetune"
            else:
                partner = nodes[node.parents[1]]
        node.fmt = _quant_format(rng) if rel == "quantized" else {"adapter": "peft", "merge": "merge"}.get(rel, node.fmt)
        author, name, stem = self.namer.name(node, parent, partner)
        if rng.random() < self.non_ascii_share:
            name += "-" + rng.choice(_NON_ASCII)
            node.dirt.append("non_ascii_id")
        node.author = author
        node.id = self.namer.claim(f"{author}/{name}")
        node.stem = stem
        node.depth = 1 + max(nodes[p].depth for p in node.parents)
        nodes.append(node)
        return node

    def relation(self) -> str:
        return self.rel_names[bisect.bisect_left(self.rel_cum, self.rng.random() * self.rel_cum[-1])]

    def grow(self, roots: list[Node], times: list[int], group: str) -> None:
        """Append one derivative per time in ``times`` (sorted) under ``roots``."""
        rng, nodes = self.rng, self.nodes
        months = month_starts()
        # Cumulative root weights per month: appeal x recency, only roots released before the month ends.
        table: list[tuple[list[float], list[Node]]] = []
        for k in range(len(months) - 1):
            mid = (months[k][2] + months[k + 1][2]) // 2
            avail = [r for r in roots if r.created <= months[k + 1][2]]
            cum, acc = [], 0.0
            for r in avail:
                age = max(0.0, (mid - r.created) / (30 * 86400))
                acc += (r.spec.weight if r.spec else 1.0) / (1.0 + age / 6.0) ** 1.5
                cum.append(acc)
            table.append((cum, avail))
        month_cut = [m[2] for m in months]
        pool: list[Node] = []
        by_key: dict[tuple[str, str], list[Node]] = {}
        for r in roots:
            by_key.setdefault((r.arch, r.size), []).append(r)
        p_root = {"quantized": 0.6, "finetune": 0.68, "adapter": 0.85, "merge": 0.45}
        for t in times:
            rel = self.relation()
            parent = None
            if rng.random() >= p_root[rel] and pool:  # recent derivatives are the likelier bases
                parent = pool[len(pool) - 1 - int(len(pool) * rng.random() ** 2)]
            if parent is None:
                cum, avail = table[max(0, bisect.bisect_right(month_cut, t) - 1)]
                for _ in range(6):
                    cand = avail[bisect.bisect_left(cum, rng.random() * cum[-1])] if avail else None
                    if cand is not None and cand.created < t:
                        parent = cand
                        break
                if parent is None:
                    older = [r for r in roots if r.created < t]
                    parent = older[-1] if older else roots[0]
            cands = by_key.get((parent.arch, parent.size), []) if rel == "merge" else []
            node = self.derive(parent, rel, t, group, cands)
            rel = node.relation or rel
            for p in node.parents:
                pn = nodes[p]
                pn.children += 1
                if pn.spec is None and pn.relation in ("finetune", "merge") and rng.random() < 0.5:
                    pool.append(pn)
            if rel in ("finetune", "merge") or (rel == "adapter" and rng.random() < 0.08) or rng.random() < 0.01:
                pool.append(node)
                by_key.setdefault((node.arch, node.size), []).append(node)


def truth_entry(n: Node, nodes: list[Node]) -> dict[str, Any]:
    """One line of ``_truth/hf_lineage.jsonl`` (or ``absent.jsonl`` with ``reason``)."""
    rel = n.relation or "finetune"
    entry: dict[str, Any] = {
        "id": n.id, "parents": [{"id": nodes[p].id, "relation": rel} for p in n.parents],
        "family": n.family, "declared": n.kind if n.parents else "none", "dirt": n.dirt,
        "root": nodes[n.root].id, "depth": n.depth, "catalog": n.spec is not None,
        "arch": n.arch, "size": n.size, "fmt": n.fmt, "pipeline": n.pipeline, "created": n.created}
    if n.absent:
        entry["reason"] = n.absent
    return entry
