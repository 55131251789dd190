"""ModelScope records of a generated world: mirrors of HF repos and ModelScope-only derivatives.

Records follow the OpenAPI shape (hub-apis.md §2.1) with the website-search (dolphin) fields and deployment
flags under ``dolphin``. Mirrors use the same ``owner/name`` as on HF, another owner (``AI-ModelScope/…``,
``LLM-Research/…``) or a lower-case owner; the true pairs go to ``_truth/mirrors.jsonl``.
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from hubsim import gen_cards
from hubsim.gen_catalog import ARCH_CLASS
from hubsim.gen_hf import params_of
from hubsim.gen_tree import END, Node

_MS_LICENSE = {"apache-2.0": ("apache-2.0", "Apache License 2.0"), "mit": ("mit", "MIT License")}
MIRROR_SHARE = 0.6
MIRROR_OWNERS = (("same", 0.45), ("AI-ModelScope", 0.35), ("LLM-Research", 0.10), ("lower", 0.10))


def iso_ms(ts: int) -> str:
    return datetime.fromtimestamp(ts, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


@dataclass(slots=True)
class ModelScopeWorld:
    """The records plus their truth."""

    records: list[dict[str, Any]] = field(default_factory=list)
    mirrors: list[dict[str, str]] = field(default_factory=list)
    lineage: list[dict[str, Any]] = field(default_factory=list)


def _license(rng: random.Random, hf_license: str | None) -> str:
    if not hf_license:
        return ""
    spellings = _MS_LICENSE.get(hf_license)
    return spellings[rng.random() < 0.35] if spellings else hf_license


def _record(rng: random.Random, ms_id: str, node: Node, hf: dict[str, Any] | None, created: int,
            readme: str | None, official: bool) -> dict[str, Any]:
    lic = _license(rng, next((t[8:] for t in (hf or {}).get("tags", []) if t.startswith("license:")), None)
                   if hf else rng.choice(("apache-2.0", "apache-2.0", "mit", None)))
    task = node.pipeline or "text-generation"
    params = params_of(node.size)
    deploy = rng.random() < (0.7 if official else 0.05)
    flags = {"SupportInference": official and rng.random() < 0.6, "SupportApiInference": official and rng.random() < 0.5,
             "SupportDeployment": deploy, "SupportPaiModelGallery": official and rng.random() < 0.6,
             "SupportFinetuning": rng.random() < (0.5 if official else 0.05), "SupportFlexTrain": official and rng.random() < 0.3}
    tags = ([f"license:{lic}"] if lic else []) + [f"model_type:{node.arch}", f"task:{task}"]
    if deploy:
        tags.append("deploy:swingdeploy")
    downloads = int(min(2e7, (rng.paretovariate(1.1) - 1.0) * (30000 if official else 30)))
    modified = min(END, created + int(rng.expovariate(1 / 1e6)))
    owner, name = ms_id.split("/", 1)
    rec = {"id": ms_id, "display_name": name, "description": f"{name} ({node.size})", "downloads": downloads,
           "likes": int(downloads ** 0.5 * rng.random() * 0.3), "license": lic, "tasks": [task],
           "created_at": iso_ms(created), "last_modified": iso_ms(modified), "file_size": params * 2,
           "params": params, "tags": tags, "private": False, "gated": False}
    if readme is not None:
        rec["readme"] = readme
    rec["dolphin"] = {"Path": owner, "Name": name, "ChineseName": "", "Downloads": downloads, "Stars": rec["likes"],
                      "License": lic, "Libraries": ["transformers", "safetensors"], "ModelType": [node.arch],
                      "Architectures": [ARCH_CLASS.get(node.arch, "AutoModel")], "Tasks": [{"Name": task}],
                      "CreatedTime": created, "LastUpdatedTime": modified, **flags}
    return rec


def choose_mirrors(rng: random.Random, nodes: list[Node], count: int) -> list[tuple[Node, str]]:
    """Which HF models get a ModelScope mirror, and its id: official Qwen models first, then popular ones."""
    live = [n for n in nodes if n.absent is None and n.group != "standalone"]
    n_mirrors = min(len(live), round(count * MIRROR_SHARE))
    official = [n for n in live if n.spec is not None and n.id.startswith("Qwen/")]
    picks = official[:n_mirrors]
    rest = [n for n in live if not (n.spec is not None and n.id.startswith("Qwen/"))]
    weights = [1.0 + 5 * n.children + (50.0 if n.spec is not None else 0.0) for n in rest]
    seen = {n.idx for n in picks}
    for _ in range(20):
        if len(picks) >= n_mirrors or len(seen) >= len(live):
            break
        for n in rng.choices(rest, weights, k=n_mirrors - len(picks)):
            if n.idx not in seen and len(picks) < n_mirrors:
                seen.add(n.idx)
                picks.append(n)
    taken: set[str] = set()
    out = []
    for n in picks:
        owner, name = n.id.split("/", 1)
        r, acc, form = rng.random(), 0.0, "same"
        for f, share in MIRROR_OWNERS:
            acc += share
            if r < acc:
                form = f
                break
        if n.spec is not None and n.id.startswith("Qwen/"):
            form = "same" if rng.random() < 0.85 else "lower"
        ms_owner = {"same": owner, "lower": owner.lower(), "AI-ModelScope": "AI-ModelScope",
                    "LLM-Research": "LLM-Research"}[form]
        ms_id = f"{ms_owner}/{name}"
        if ms_id.lower() not in taken:
            taken.add(ms_id.lower())
            out.append((n, ms_id))
    return out


def make_modelscope(rng: random.Random, nodes: list[Node], mirrors: list[tuple[Node, str]],
                    hf_records: dict[int, dict[str, Any]], count: int, users: int) -> ModelScopeWorld:
    """``count`` ModelScope records: the chosen mirrors (``hf_records`` holds their HF records), then
    ModelScope-only derivatives that declare their base in the README front matter."""
    out = ModelScopeWorld()
    taken = {ms_id.lower() for _, ms_id in mirrors}
    for n, ms_id in mirrors:
        hf = hf_records.get(n.idx)
        created = min(END, n.created + int(rng.random() * 40 * 86400))
        out.records.append(_record(rng, ms_id, n, hf, created, (hf or {}).get("readme"), n.spec is not None))
        out.mirrors.append({"modelscope_id": ms_id, "hf_id": n.id})
    live = [n for n in nodes if n.absent is None and n.group != "standalone"]
    bases = [n for n in live if n.group == "qwen" and n.relation in (None, "finetune")] or live
    k = 0
    while len(out.records) < count and bases:
        parent = bases[int(len(bases) * rng.random() ** 2)]
        k += 1
        ms_id = f"ms-user{int(users * rng.random() ** 3)}/{parent.stem}-{rng.choice(('sft', 'lora', 'ms', 'cn', 'swift'))}-{k}"
        if ms_id.lower() in taken:
            continue
        taken.add(ms_id.lower())
        created = min(END, max(parent.created + 86400, parent.created + int(rng.random() * 3e7)))
        r = rng.random()
        declared = "card" if r < 0.7 else "none" if r < 0.9 else "wrong"
        base = (parent.id if declared == "card" else f"/mnt/workspace/{parent.id.split('/')[-1]}")
        front = {"license": "apache-2.0", "tasks": ["text-generation"]}
        if declared != "none":
            front["base_model"] = base
        node = Node(-1, ms_id, ms_id.split("/")[0], parent.group, created, parent.arch, parent.size, parent.root,
                    "finetune", [parent.idx], pipeline=parent.pipeline)
        readme = gen_cards.front_matter(front) + gen_cards.body(
            rng, ms_id, "finetune", [parent.id], mention_base=rng.random() < 0.5, built_with_qwen=False,
            merge_method=None, language="zh")
        out.records.append(_record(rng, ms_id, node, None, created, readme, False))
        out.lineage.append({"id": ms_id, "parents": [{"id": parent.id, "relation": "finetune"}],
                            "family": parent.family, "declared": declared})
    return out
