"""``hubtree sim generate``: a synthetic world of any size, calibrated to the real data, with ground truth.

Steps: roots from the catalogues → derivatives grown over time (:mod:`hubsim.gen_tree`) → dirt in exact
quotas (:mod:`hubsim.gen_dirt`) → HF records streamed to ``hf.jsonl.gz`` (:mod:`hubsim.gen_hf`) → ModelScope
records (:mod:`hubsim.gen_modelscope`) → ``_truth/`` and ``world.json``. Calibration: docs/generator.md.
"""

from __future__ import annotations

import gzip
import json
import multiprocessing
import os
import random
import time
from collections import Counter
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import orjson

from hubsim.gen_catalog import STANDALONE_KINDS, RootSpec, notable_qwen_derivatives, other_roots, qwen_roots
from hubsim.gen_dirt import DirtConfig, absent_count, assign_dirt, mark_absent
from hubsim.gen_evolve import EvolveSummary, evolve_world
from hubsim.gen_hf import RecordMaker
from hubsim.gen_io import write_jsonl
from hubsim.gen_modelscope import choose_mirrors, make_modelscope
from hubsim.gen_tree import END, FLOOR_CREATED, Namer, Node, TreeBuilder, draw_times, truth_entry

GENERATED_AT = "2026-12-01T00:00:00Z"
__all__ = ["SCALES", "EvolveSummary", "GeneratorConfig", "WorldSummary", "evolve_world", "generate_world",
           "scale_config"]
_QUANT_SUFFIX = {"GGUF": "gguf", "AWQ": "awq", "GPTQ-Int4": "gptq", "GPTQ-Int8": "gptq", "Int4": "gptq", "FP8": "fp8"}
#: Generations whose official models declared no base in their cards (as in the real 2024 records).
_UNDECLARED_GENERATIONS = {"Qwen", "Qwen-VL", "Qwen-Audio", "Qwen1.5", "CodeQwen1.5", "Qwen2"}


def default_relation_mix() -> dict[str, float]:
    return {"quantized": 0.45, "finetune": 0.32, "adapter": 0.19, "merge": 0.04}


@dataclass(slots=True)
class GeneratorConfig:
    """What to generate. ``qwen``/``others`` count HF models (roots included); ``modelscope`` defaults to
    10% of ``qwen``."""

    qwen: int = 10_000
    others: int = 10_000
    modelscope: int | None = None
    seed: int = 0
    relation_mix: dict[str, float] = field(default_factory=default_relation_mix)
    dirt: DirtConfig = field(default_factory=DirtConfig)
    standalone_share: float = 0.85  # of ``others``: models of no family (bert, whisper, …)
    gzip_level: int = 1

    @property
    def modelscope_count(self) -> int:
        return self.modelscope if self.modelscope is not None else round(self.qwen * 0.1)


@dataclass(slots=True)
class WorldSummary:
    """What :func:`generate_world` wrote and how long it took."""

    out: Path
    counts: dict[str, Any]
    seconds: float

    def describe(self) -> str:
        c = self.counts
        size = sum(p.stat().st_size for p in self.out.rglob("*") if p.is_file())
        rel = ", ".join(f"{k} {v}" for k, v in sorted(c["relations"].items()))
        return (f"world in {self.out}: {c['hf_records']} HF records ({c['qwen_family']} Qwen family, "
                f"{c['hf_records'] - c['qwen_family']} others), {c['modelscope_records']} ModelScope records "
                f"({c['mirrors']} mirrors); edges by relation: {rel}; max depth {c['max_depth']}; "
                f"{size / 1e6:.1f} MB in {self.seconds:.1f} s")


def _select_specs(specs: list[RootSpec], budget: int) -> list[RootSpec]:
    """At most ``budget`` catalogue models, the most attractive first, kept in release order."""
    if len(specs) <= budget:
        return specs
    ranked = sorted(specs, key=lambda s: (s.relation == "quantized", -s.weight, s.released, s.id))[:budget]
    keep = {s.id for s in ranked}
    return [s for s in specs if s.id in keep]


def _fmt_of(spec: RootSpec) -> str:
    for suffix, fmt in _QUANT_SUFFIX.items():
        if spec.id.endswith("-" + suffix):
            return fmt
    return "transformers"


def catalogue_nodes(nodes: list[Node], specs: list[RootSpec], group: str) -> list[Node]:
    """Nodes for catalogue models; a spec's parent becomes a true edge when it is in the world."""
    by_id = {n.id: n for n in nodes}
    out = []
    for spec in sorted(specs, key=lambda s: (s.created, s.parent is not None, s.id)):
        parent = by_id.get(spec.parent) if spec.parent else None
        owner, name = spec.id.split("/", 1)
        fmt = _fmt_of(spec)
        stem = name
        for suffix in _QUANT_SUFFIX:
            stem = stem.removesuffix("-" + suffix)
        node = Node(len(nodes), spec.id, owner, group, spec.created, spec.arch, spec.size, len(nodes),
                    spec=spec, fmt=fmt, stem=stem, pipeline=spec.pipeline, kind="none")
        if parent is not None:
            node.parents, node.relation, node.root = [parent.idx], spec.relation, parent.root
            node.depth = parent.depth + 1
            node.created = max(node.created, parent.created + 60)
            parent.children += 1
            node.kind = "none" if spec.generation in _UNDECLARED_GENERATIONS else "typed"
        nodes.append(node)
        by_id[spec.id] = node
        out.append(node)
    return out


def standalone_nodes(rng: random.Random, nodes: list[Node], namer: Namer, count: int) -> None:
    """Models of no family: the surroundings of the Qwen tree."""
    span = END - FLOOR_CREATED
    for _ in range(count):
        arch, pipeline = rng.choice(STANDALONE_KINDS)
        author = namer.user()
        model_id = namer.claim(f"{author}/{arch}-{rng.choice(('base', 'small', 'large', 'finetuned', 'v2'))}-{len(nodes)}")
        created = FLOOR_CREATED + int(rng.random() * span)
        nodes.append(Node(len(nodes), model_id, author, "standalone", created, arch, "0.3B", len(nodes),
                          stem=model_id.split("/")[1], pipeline=pipeline, kind="none"))


#: Benchmark worlds (``bench/``, docs/PERFORMANCE.md): scale → (Qwen family, other models, standalone share).
#: 200k and 1m keep the earlier measurements comparable (85 % of the others in no family). 3m is the real Hub's
#: size (about 3.0M models, Sep 2026; docs landscape: ~200K Qwen derivatives in spring 2026, by publishing
#: organisation Google 72K, Meta 46K): 200K Qwen family (≈ 200K derivatives), and 95 % of the 2.8M others in no
#: family, which leaves ≈ 140K derivatives of the other families (Llama, Mistral, Gemma, DeepSeek, …).
SCALES: dict[str, tuple[int, int, float]] = {"200k": (40_000, 160_000, 0.85), "1m": (200_000, 800_000, 0.85),
                                             "3m": (200_000, 2_800_000, 0.95)}


def scale_config(scale: str, seed: int = 8) -> GeneratorConfig:
    """The :class:`GeneratorConfig` of a benchmark scale (a key of :data:`SCALES`)."""
    qwen, others, standalone = SCALES[scale]
    return GeneratorConfig(qwen=qwen, others=others, seed=seed, standalone_share=standalone)


def build_nodes(cfg: GeneratorConfig, rng: random.Random) -> tuple[list[Node], dict[str, int]]:
    """The whole lineage structure with dirt assigned."""
    nodes: list[Node] = []
    namer = Namer(rng, (cfg.qwen + cfg.others) // 6)
    qspecs = _select_specs(qwen_roots() + notable_qwen_derivatives(), max(5, min(cfg.qwen // 4, 10_000)))
    qroots = catalogue_nodes(nodes, qspecs, "qwen")
    for n in qroots:
        namer.taken.add(n.id.lower())
    builder = TreeBuilder(rng, nodes, namer, cfg.relation_mix, cfg.dirt.non_ascii_ids)
    _grow(rng, builder, nodes, qroots, max(0, cfg.qwen - len(qroots)), "qwen", cfg.dirt)
    if cfg.others > 0:
        n_stand = round(cfg.others * cfg.standalone_share)
        ospecs = _select_specs(other_roots(), max(3, min((cfg.others - n_stand) // 4, 10_000)))
        oroots = catalogue_nodes(nodes, ospecs, "other")
        for n in oroots:
            namer.taken.add(n.id.lower())
        _grow(rng, builder, nodes, oroots, max(0, cfg.others - n_stand - len(oroots)), "other", cfg.dirt)
        live = sum(1 for n in nodes if n.absent is None)
        standalone_nodes(rng, nodes, namer, max(0, cfg.qwen + cfg.others - live))
        merge_across_families(nodes)
    derived = [n for n in nodes if n.spec is None and n.parents]
    return nodes, assign_dirt(rng, nodes, derived, cfg.dirt)


def merge_across_families(nodes: list[Node]) -> Node | None:
    """Make one Qwen-family derivative a merge with a Llama root too (the first merge, else the first fine-tune
    created after that root), so every world holds a model of two families. Draws nothing from the rng."""
    llama = [n for n in nodes if n.spec is not None and n.spec.family == "llama" and n.absent is None]
    if not llama:
        return None
    partner = max(llama, key=lambda n: (n.spec.weight if n.spec else 0.0, -n.idx))
    for relation in ("merge", "finetune"):
        for n in nodes:
            if (n.group == "qwen" and n.spec is None and n.absent is None and n.relation == relation
                    and n.created > partner.created and partner.idx not in n.parents):
                n.parents.append(partner.idx)
                n.relation, n.fmt = "merge", "merge"
                n.depth = 1 + max(nodes[p].depth for p in n.parents)
                partner.children += 1
                return n
    return None


def family_truth(nodes: list[Node]) -> dict[str, Any]:
    """``_truth/families.json``: per family its roots (catalogue models of the family), its live derivatives
    (true descendants of a root, any depth, through absent models too, roots excluded) by relation, and the
    models that belong to several families."""
    kids: dict[int, list[int]] = {}
    for n in nodes:
        for p in n.parents:
            kids.setdefault(p, []).append(n.idx)
    names = sorted({n.spec.family for n in nodes if n.spec is not None and n.spec.family})
    out: dict[str, Any] = {}
    member_of: dict[int, list[str]] = {}
    for name in names:
        roots = {n.idx for n in nodes if n.spec is not None and n.spec.family == name and n.absent is None}
        seen, queue = set(roots), list(roots)
        while queue:
            for c in kids.get(queue.pop(), ()):
                if c not in seen:
                    seen.add(c)
                    queue.append(c)
        derived = sorted(i for i in seen - roots if nodes[i].absent is None)
        relations = Counter("merge" if len(nodes[i].parents) > 1 else nodes[i].relation or "finetune" for i in derived)
        out[name] = {"orgs": sorted({nodes[i].author for i in roots}), "roots": sorted(nodes[i].id for i in roots),
                     "derivatives": len(derived),
                     "by_relation": {r: relations.get(r, 0) for r in ("finetune", "adapter", "quantized", "merge")}}
        for i in roots | set(derived):
            member_of.setdefault(i, []).append(name)
    shared = {nodes[i].id: fams for i, fams in sorted(member_of.items()) if len(fams) > 1}
    merges = sorted(nodes[i].id for i in member_of if len(nodes[i].parents) > 1 and nodes[i].absent is None
                    and len({tuple(member_of.get(p, ())) for p in nodes[i].parents}) > 1)
    return {"families": out, "shared": shared, "cross_family_merges": merges}


def _grow(rng: random.Random, builder: TreeBuilder, nodes: list[Node], roots: list[Node], wanted: int, group: str,
          dirt: DirtConfig) -> None:
    """Grow ``wanted`` live derivatives: a few more, of which the absent ones are then marked."""
    extra = absent_count(dirt, wanted)
    start = len(nodes)
    builder.grow(roots, draw_times(rng, wanted + extra), group)
    marked = mark_absent(rng, nodes[start:], extra)
    if marked < extra:  # too few bases with children: drop the surplus newest leaves instead
        surplus = extra - marked
        for n in reversed(nodes[start:]):
            if surplus == 0:
                break
            if n.children == 0 and n.absent is None:
                n.absent, surplus = "dropped", surplus - 1


def _first_children(nodes: list[Node]) -> dict[int, int]:
    """For every ``cycle`` node, its first live child (the model it will wrongly declare)."""
    cyc = {n.idx for n in nodes if "cycle" in n.dirt}
    out: dict[int, int] = {}
    for n in nodes:
        if n.absent is None:
            for p in n.parents:
                if p in cyc and p not in out:
                    out[p] = n.idx
    return out


#: Records are made in chunks of this many nodes, each with its own seeded rng (same world for any number
#: of worker processes), and each written as one gzip member.
CHUNK_NODES = 20_000
_SHARED: dict[str, Any] = {}


def _make_chunk(k: int) -> tuple[bytes, int, dict[int, dict[str, Any]]]:
    """Records of chunk ``k``: ``(gzip member, record count, captured mirror sources)``."""
    nodes, cfg, mirror_idx = _SHARED["nodes"], _SHARED["config"], _SHARED["mirror_idx"]
    maker = RecordMaker(random.Random(f"{cfg.seed}/records/{k}"), nodes, _SHARED["first_child"], _SHARED["huge"])
    lines, captured = [], {}
    for n in nodes[k * CHUNK_NODES:(k + 1) * CHUNK_NODES]:
        if n.absent is None:
            rec = maker.record(n)
            if n.idx in mirror_idx:
                captured[n.idx] = rec
            lines.append(orjson.dumps(rec))
    data = b"\n".join(lines) + b"\n" if lines else b""
    return gzip.compress(data, compresslevel=cfg.gzip_level, mtime=0), len(lines), captured


def write_hf_records(path: Path, nodes: list[Node], first_child: dict[int, int], huge: set[int],
                     mirror_idx: set[int], captured: dict[int, dict[str, Any]], cfg: GeneratorConfig) -> int:
    """Write the HF records of live nodes, in node order, using up to two worker processes."""
    _SHARED.update(nodes=nodes, config=cfg, first_child=first_child, huge=huge, mirror_idx=mirror_idx)
    chunks = range((len(nodes) + CHUNK_NODES - 1) // CHUNK_NODES)
    count = 0
    try:
        with path.open("wb") as fh:
            if len(chunks) > 1 and "fork" in multiprocessing.get_all_start_methods():
                with multiprocessing.get_context("fork").Pool(min(2, os.cpu_count() or 1)) as pool:
                    results = pool.imap(_make_chunk, chunks)
                    for member, n, cap in results:
                        fh.write(member)
                        count += n
                        captured.update(cap)
            else:
                for k in chunks:
                    member, n, cap = _make_chunk(k)
                    fh.write(member)
                    count += n
                    captured.update(cap)
    finally:
        _SHARED.clear()
    return count


def generate_world(out: Path, config: GeneratorConfig) -> WorldSummary:
    """Write a world (``hf.jsonl.gz``, ``modelscope.jsonl.gz``, ``world.json``, ``_truth/``) into ``out``."""
    started = time.perf_counter()
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    rng = random.Random(config.seed)
    nodes, dirt_counts = build_nodes(config, rng)
    first_child = _first_children(nodes)
    for n in nodes:  # a cycle node whose only children are absent cannot close the cycle: declare the truth
        if "cycle" in n.dirt and n.idx not in first_child:
            n.dirt.remove("cycle")
            n.kind = "typed"
            dirt_counts["wrong_cycle"] -= 1
            dirt_counts["typed"] += 1
    carded = [n for n in nodes if n.family and n.spec is None and n.kind != "none" and n.absent is None]
    n_huge = max(1, round(len(carded) * config.dirt.huge_cards)) if carded else 0
    huge = {n.idx for n in rng.sample(carded, n_huge)}
    for n in nodes:
        if n.idx in huge:
            n.dirt = [*n.dirt, "huge_card"]
    mirrors = choose_mirrors(rng, nodes, config.modelscope_count)
    mirror_idx = {n.idx for n, _ in mirrors}
    captured: dict[int, dict[str, Any]] = {}
    n_hf = write_hf_records(out / "hf.jsonl.gz", nodes, first_child, huge, mirror_idx, captured, config)
    truth = out / "_truth"
    write_jsonl(truth / "hf_lineage.jsonl", (truth_entry(n, nodes) for n in nodes if n.absent is None))
    write_jsonl(truth / "absent.jsonl", (truth_entry(n, nodes) for n in nodes if n.absent in ("deleted", "missing")))
    (truth / "families.json").write_text(json.dumps(family_truth(nodes), indent=1) + "\n", "utf-8")
    ms = make_modelscope(random.Random(config.seed * 7919 + 2), nodes, mirrors, captured,
                         config.modelscope_count, max(20, config.modelscope_count // 5))
    write_jsonl(out / "modelscope.jsonl.gz", ms.records, level=config.gzip_level)
    write_jsonl(truth / "mirrors.jsonl", ms.mirrors)
    write_jsonl(truth / "modelscope_lineage.jsonl", ms.lineage)
    live = [n for n in nodes if n.absent is None]
    relations = Counter(n.relation for n in live if n.parents and n.relation)
    counts = {"hf_records": n_hf, "qwen_family": sum(1 for n in live if n.family),
              "catalogue": sum(1 for n in live if n.spec is not None),
              "standalone": sum(1 for n in live if n.group == "standalone"),
              "modelscope_records": len(ms.records), "mirrors": len(ms.mirrors),
              "relations": dict(sorted(relations.items())), "max_depth": max((n.depth for n in live), default=0),
              "huge_cards": n_huge, "dirt": dirt_counts}
    config_dump = asdict(config)
    manifest = {"name": f"generated-{config.seed}", "generated_at": GENERATED_AT,
                "provenance": "synthetic: hubsim.generate (calibration in docs/generator.md); "
                              f"hubtree sim generate --qwen {config.qwen} --others {config.others} "
                              f"--modelscope {config.modelscope_count} --seed {config.seed}",
                "seed": config.seed, "snapshot_end": END, "config": config_dump, "counts": counts}
    (out / "world.json").write_text(json.dumps(manifest, indent=2) + "\n", "utf-8")
    return WorldSummary(out, counts, time.perf_counter() - started)
