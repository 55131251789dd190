"""A later snapshot of a generated world: new, edited and deleted models, truth updated.

Used for incremental-crawl tests and the monthly snapshots of the benchmarks. The snapshot covers the ``days``
after the source's ``snapshot_end`` (``world.json``): new models are created and edited models modified in
that window. ``_truth/changes.json`` lists the ids of each kind.
"""

from __future__ import annotations

import json
import random
import re
import shutil
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import orjson

from hubsim.gen_catalog import notable_qwen_derivatives, other_roots, qwen_roots
from hubsim.gen_hf import RecordMaker, iso
from hubsim.gen_io import read_jsonl, read_raw_lines, world_file, write_jsonl
from hubsim.gen_tree import END, Namer, Node, TreeBuilder, truth_entry

_NEW_KINDS = (("typed", 0.6), ("none", 0.35), ("wrong", 0.05))


@dataclass(slots=True)
class EvolveSummary:
    """What :func:`evolve_world` changed."""

    out: Path
    new: int
    edited: int
    deleted: int
    records: int

    def describe(self) -> str:
        return (f"snapshot in {self.out}: {self.records} HF records ({self.new} new, {self.edited} edited, "
                f"{self.deleted} deleted)")


def _node_from_truth(idx: int, e: dict[str, Any], root: int) -> Node:
    group = "qwen" if e["family"] else ("other" if e["parents"] or e["catalog"] else "standalone")
    rel = e["parents"][0]["relation"] if e["parents"] else None
    node = Node(idx, e["id"], e["id"].split("/")[0], group, e["created"], e["arch"], e["size"], root, rel,
                fmt=e["fmt"], stem=e["id"].split("/")[-1], depth=e["depth"], pipeline=e["pipeline"])
    return node


def evolve_world(src: Path, out: Path, *, new: int, edited: int, deleted: int, seed: int,
                 days: int = 30) -> EvolveSummary:
    """Write into ``out`` the snapshot of ``src`` ``days`` later; see the module docstring."""
    src, out = Path(src), Path(out)
    rng = random.Random(f"{seed}/evolve")
    manifest = json.loads((src / "world.json").read_text("utf-8"))
    start = int(manifest.get("snapshot_end", END))
    stop = start + days * 86400
    truth = list(read_jsonl(src / "_truth" / "hf_lineage.jsonl"))
    mirrored = {m["hf_id"] for m in read_jsonl(src / "_truth" / "mirrors.jsonl")}
    changeable = [e["id"] for e in truth if not e["catalog"]]
    deletable = [i for i in changeable if i not in mirrored]
    if deleted > len(deletable) or edited > len(changeable) - deleted:
        raise ValueError(f"{src} has too few non-catalogue models for {deleted} deletions and {edited} edits")
    gone = set(rng.sample(deletable, deleted))
    touched = set(rng.sample([i for i in changeable if i not in gone], edited))
    # New derivatives: parents among live models, catalogue models and finetunes preferred.
    spec_by_id = {s.id: s for s in qwen_roots() + notable_qwen_derivatives() + other_roots()}
    live = [e for e in truth if e["id"] not in gone and e["fmt"] in ("transformers", "merge") and
            (e["parents"] or e["catalog"])]
    weights = [20.0 if e["catalog"] else 1.0 for e in live]
    nodes: list[Node] = []
    index: dict[str, int] = {}

    def pseudo(e: dict[str, Any]) -> Node:
        if e["id"] in index:
            return nodes[index[e["id"]]]
        root_id = e["root"]
        if root_id != e["id"] and root_id not in index:
            rn = Node(len(nodes), root_id, root_id.split("/")[0], "qwen", 0, e["arch"], e["size"], len(nodes),
                      spec=spec_by_id.get(root_id))
            nodes.append(rn)
            index[root_id] = rn.idx
        idx = len(nodes)
        node = _node_from_truth(idx, e, index.get(root_id, idx))
        node.spec = spec_by_id.get(e["id"]) if e["catalog"] else None
        nodes.append(node)
        index[e["id"]] = idx
        return node

    namer = Namer(rng, max(50, len(truth) // 6))
    namer.taken = {e["id"].lower() for e in truth}
    builder = TreeBuilder(rng, nodes, namer, {"quantized": 0.45, "finetune": 0.32, "adapter": 0.19, "merge": 0.04}, 0.0)
    times = sorted(start + 1 + int(rng.random() * (stop - start - 1)) for _ in range(new))
    fresh: list[Node] = []
    for t in times:
        parent = pseudo(rng.choices(live, weights)[0])
        rel = builder.relation()
        partners = [pseudo(e) for e in rng.sample(live, min(3, len(live)))] if rel == "merge" else []
        partners = [p for p in partners if p.arch == parent.arch]
        node = builder.derive(parent, rel, t, parent.group if parent.group != "standalone" else "other", partners)
        r, acc = rng.random(), 0.0
        for kind, share in _NEW_KINDS:
            acc += share
            if r < acc:
                node.kind = kind
                break
        if node.kind == "wrong":
            node.dirt = [*node.dirt, "local_path"]
        fresh.append(node)
    maker = RecordMaker(rng, nodes, {}, set(), end=stop)
    out.mkdir(parents=True, exist_ok=True)
    edited_ids: list[str] = []

    def records() -> Iterator[dict[str, Any] | bytes]:
        for line in read_raw_lines(world_file(src, "hf")):
            model_id = _line_id(line)
            if model_id in gone:
                continue
            if model_id in touched:
                rec = _edit(rng, orjson.loads(line), start, stop)
                edited_ids.append(rec["id"])
                yield rec
            else:
                yield line  # unchanged: passed through byte for byte
        for n in fresh:
            yield maker.record(n)

    count = write_jsonl(out / "hf.jsonl.gz", records(), level=1)
    (out / "_truth").mkdir(parents=True, exist_ok=True)
    write_jsonl(out / "_truth" / "hf_lineage.jsonl",
                [e for e in truth if e["id"] not in gone] + [truth_entry(n, nodes) for n in fresh])
    absent = list(read_jsonl(src / "_truth" / "absent.jsonl")) if (src / "_truth" / "absent.jsonl").exists() else []
    absent += [{**e, "reason": "deleted"} for e in truth if e["id"] in gone]
    write_jsonl(out / "_truth" / "absent.jsonl", absent)
    for name in ("mirrors.jsonl", "modelscope_lineage.jsonl"):
        if (src / "_truth" / name).exists():
            shutil.copyfile(src / "_truth" / name, out / "_truth" / name)
    ms = world_file(src, "modelscope")
    shutil.copyfile(ms, out / ms.name)
    changes = {"new": [n.id for n in fresh], "edited": edited_ids, "deleted": sorted(gone),
               "window": [iso(start), iso(stop)]}
    (out / "_truth" / "changes.json").write_text(json.dumps(changes, indent=1, ensure_ascii=False) + "\n", "utf-8")
    counts = dict(manifest.get("counts", {}))
    counts["hf_records"] = count
    manifest.update(name=f"{manifest.get('name', 'world')}+{days}d", snapshot_end=stop, evolved_from=str(src),
                    evolve={"new": new, "edited": edited, "deleted": deleted, "seed": seed, "days": days},
                    counts=counts)
    (out / "world.json").write_text(json.dumps(manifest, indent=2) + "\n", "utf-8")
    return EvolveSummary(out, len(fresh), len(edited_ids), len(gone), count)


_ID = re.compile(rb'"id":("(?:[^"\\]|\\.)*")')


def _line_id(line: bytes) -> str:
    """The ``id`` of a serialised record (its first ``"id"`` key), without parsing the whole line."""
    m = _ID.search(line)
    return orjson.loads(m.group(1)) if m else orjson.loads(line)["id"]


def _edit(rng: random.Random, rec: dict[str, Any], start: int, stop: int) -> dict[str, Any]:
    """A new revision: new sha and lastModified in the window, card text revised when there is one."""
    rec = dict(rec)
    rec["sha"] = f"{rng.getrandbits(160):040x}"
    rec["lastModified"] = iso(start + 1 + int(rng.random() * (stop - start - 1)))
    if isinstance(rec.get("readme"), str):
        rec["readme"] += f"\n\n## Update {rec['lastModified'][:10]}\nRetrained with more data.\n"
    return rec
