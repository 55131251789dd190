"""Infer undeclared lineage from cheap signals, each inferred edge with its rule and a confidence.

Candidates: models with no declared parent that are not roots (``DEFAULT_ROOT_AUTHORS``) and show a family hint
(a family architecture, ``qwen``/``qwq`` in the id, a mergekit/adapter card signal, or a quantization suffix).
Rules, first that finds a stored parent wins:

1. ``card:adapter-base``: ``base_model_name_or_path`` in the card data (a PEFT adapter config copied to the card).
2. ``card:mergekit``: the ``model:``/``base_model:`` entries of a mergekit YAML config in the card body.
3. ``name:quant-suffix``: the name is a stored model's name plus quantization tokens (``-GGUF``, ``-AWQ``,
   ``-GPTQ-Int4``, ``-bnb-4bit``, ``-exl2``, ``-4.0bpw``, ``-Q4_K_M``, ``mlx-community/…-4bit``…).
4. ``name:base-span``: the longest run of name tokens that spells a stored model's name (``Qwen-Qwen1.5-0.5B-171…``,
   ``dolphin-2.9.2-qwen2-72b-GGUF-smashed``); the name must be distinctive (a digit or ``qwen``, ≥ 6 characters).

Among stored models with the matched name the parent is, in order: one by the same author, an official root,
the one with most declared children, the oldest, the smallest id; a parent is never younger than its child nor
the child itself. The relation comes from :data:`crawler.lineage.RELATION_RULES` on the child's own signals.
A candidate with a family architecture but no parent found is reported as a family member without parent
(rule ``arch:<model_type>``). Confidences are the rules' measured precision on the real sample (docs/inference.md).
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

import numpy as np
import polars as pl
import yaml
from sqlalchemy import String, cast, select

from analysis import frames
from analysis.lineage_build import HUB_BITS, LineageGraph, set_edges
from analysis.lineage_queries import is_root_author
from crawler.config import DEFAULT_FAMILY_ARCHITECTURES, DEFAULT_ROOT_AUTHORS
from crawler.lineage import RELATION_RULES, Signals, normalise_base
from crawler.store.db import Store
from crawler.store.schema import RELATIONS, Card, Model

#: Rule → confidence attached to its edges (measured precision of the exact parent, rounded; see docs/inference.md).
CONFIDENCE = {"card:adapter-base": 0.95, "card:mergekit": 0.95, "name:quant-suffix": 0.9, "name:base-span": 0.85}
MAX_CARD_SCAN = 64 * 1024  # characters of card body searched for a mergekit config

_TOKEN_SPLIT = re.compile(r"[-_\s]+")
_STRONG_QUANT = (r"gguf|ggml|awq|gptq|exl2|mlx|bnb|nf4|int[2348]|fp8|[2345678]-?bits?|\d+(?:\.\d+)?bpw|bpw\d+(?:\.\d+)?"
                 r"|q[2-8](?:\.\d)?|iq[1-4]|q\df\d+|w\d+a\d+|hqq|eetq|aqlm|marlin|mlc|quantized|imatrix|smashed")
_STRONG_TOKEN = re.compile(rf"^(?:{_STRONG_QUANT})$")
_QUANT_TOKEN = re.compile(rf"^(?:{_STRONG_QUANT}|fp16|bf16|h\d|k|[msl0-9]|xs|xxs|i1|\d+g|g\d+|gs\d+|act|order"
                          r"|sym|asym|static|dynamic|quant|bit|unsloth)$")
_FRONT_MATTER = re.compile(r"\A(?:\ufeff)?\s*---\s*\n.*?\n---\s*(?:\n|\Z)", re.DOTALL)
_CODE_BLOCK = re.compile(r"```(?:ya?ml)?\s*\n(.*?)```", re.DOTALL | re.IGNORECASE)


@dataclass(slots=True)
class Inference:
    """What was inferred for one model: parents (nodes) with relation, rule and confidence, or membership only."""

    child: int
    parents: list[int]
    relation: str | None
    rule: str
    confidence: float


@dataclass(slots=True)
class Features:
    """The child-side signals inference may look at (declared lineage already stripped)."""

    tags: list[str]
    library_name: str | None
    files: list[str]
    card_data: dict[str, Any] | None
    card_text: str | None


def norm_name(name: str) -> str:
    """A repo name (no author) in comparable form: lowercase, ``_``/space as ``-``."""
    return "-".join(t for t in _TOKEN_SPLIT.split(name.lower()) if t)


def strip_declared(tags: Iterable[str], card_data: dict[str, Any] | None, card_text: str | None) -> Features:
    """Remove every declared-lineage signal: ``base_model…`` tags, card keys, and the card's front matter."""
    clean_tags = [t for t in tags if "base_model" not in t.lower()]
    card = {k: v for k, v in (card_data or {}).items() if k not in ("base_model", "base_model_relation")} or None
    text = card_text
    while text and _FRONT_MATTER.match(text):  # stacked front matters too
        text = _FRONT_MATTER.sub("", text, count=1)
    return Features(clean_tags, None, [], card, text)


class NameIndex:
    """Stored models by normalised name, and the ranking that picks one parent among namesakes."""

    def __init__(self, graph: LineageGraph, root_authors: tuple[str, ...]):
        self.graph = graph
        self.by_name: dict[str, list[int]] = {}
        for node, mid in enumerate(graph.ids):
            self.by_name.setdefault(norm_name(mid.rsplit("/", 1)[-1]), []).append(node)
        for node, mid in graph.ms_ids.items():
            self.by_name.setdefault(norm_name(mid.rsplit("/", 1)[-1]), []).append(node)
        declared = ~graph.inferred
        self.children = np.bincount(graph.parent[declared], minlength=graph.n_nodes)
        self.official = self.official_mask(graph, root_authors)

    @staticmethod
    def official_mask(graph: LineageGraph, root_authors: tuple[str, ...]) -> np.ndarray:
        roots = {a.lower() for a in root_authors}
        return np.array([(a or m.split("/", 1)[0]).lower() in roots
                         for a, m in zip(graph.authors, graph.ids, strict=True)], bool)

    def pick(self, child: int, names: list[int]) -> int | None:
        g = self.graph
        owner = (g.authors[child] or g.ids[child].split("/", 1)[0]).lower()
        born = int(g.created[child])
        ok = [n for n in names if n != child and not (int(g.created[n]) > born and born != np.iinfo(np.int64).max)]
        if not ok:
            return None
        return min(ok, key=lambda n: ((g.authors[n] or g.ids[n].split("/", 1)[0]).lower() != owner,
                                      not self.official[n], -int(self.children[n]), int(g.created[n]), g.ids[n]))


def _distinctive(name: str) -> bool:
    return len(name) >= 6 and ("qwen" in name or "qwq" in name or any(c.isdigit() for c in name))


def match_name(index: NameIndex, child: int) -> tuple[int, str] | None:
    """``(parent, rule)`` from the child's repo name (rules 3–4), or None.

    A whole name equal to another author's model name is *not* taken as a parent: measured precision of that
    rule was 7% on the real sample and 0% on a generated world (namesakes are mostly siblings, not parents).
    """
    mid = index.graph.ids[child]
    name = mid.rsplit("/", 1)[-1]
    tokens = [t for t in _TOKEN_SPLIT.split(name.lower()) if t]
    if not tokens:
        return None
    # quant suffix: strip trailing quantization tokens, then the stem must be a stored name
    end = len(tokens)
    while end > 1 and _QUANT_TOKEN.match(tokens[end - 1]):
        end -= 1
    if any(_STRONG_TOKEN.match(t) for t in tokens[end:]) or mid.lower().startswith("mlx-community/"):
        stem = "-".join(tokens[:end])
        parent = index.pick(child, index.by_name.get(stem, []))
        if parent is not None:
            return parent, "name:quant-suffix"
    best: tuple[int, int, int] | None = None  # (-length, start, parent)
    for i in range(len(tokens)):
        for j in range(len(tokens), i, -1):
            if i == 0 and j == len(tokens):
                continue
            span = "-".join(tokens[i:j])
            if best is not None and -len(span) > best[0]:
                break
            if not _distinctive(span) or span not in index.by_name:
                continue
            parent = index.pick(child, index.by_name[span])
            if parent is not None and (best is None or (-len(span), i) < best[:2]):
                best = (-len(span), i, parent)
    return (best[2], "name:base-span") if best else None


def mergekit_models(text: str | None) -> list[str]:
    """Model ids named by a mergekit YAML config in the card body (bounded, ``yaml.safe_load`` only)."""
    if not text:
        return []
    found: list[str] = []
    for block in _CODE_BLOCK.findall(text[:MAX_CARD_SCAN]):
        if "merge_method" not in block and "slices" not in block:
            continue
        try:
            conf = yaml.safe_load(block)
        except yaml.YAMLError:
            continue
        _collect_models(conf, found, 0)
    return list(dict.fromkeys(found))


def _collect_models(node: Any, out: list[str], level: int) -> None:
    if level > 8:
        return
    if isinstance(node, dict):
        for k, v in node.items():
            if k in ("model", "base_model") and isinstance(v, str):
                out.append(v)
            elif k == "model" and isinstance(v, dict) and isinstance(v.get("model"), str):
                out.append(v["model"])
            else:
                _collect_models(v, out, level + 1)
    elif isinstance(node, list):
        for item in node:
            _collect_models(item, out, level + 1)


def _lookup(graph: LineageGraph, ids: dict[str, int], raw: str, child: int) -> int | None:
    value, _ = normalise_base(raw, graph.ids[child])
    if value is None:
        return None
    node = ids.get(value) if value in ids else ids.get(value.lower())
    return node if node is not None and node != child else None


def _relation(graph: LineageGraph, child: int, feats: Features, n_parents: int) -> str:
    sig = Signals(frozenset(feats.tags), (feats.library_name or "").lower() or None, tuple(feats.files),
                  graph.ids[child])
    return next(rel for _, rel, pred in RELATION_RULES if pred(sig, n_parents))


def is_candidate(graph: LineageGraph, node: int, feats: Features, family_arch: set[str]) -> bool:
    """Whether the model shows any family or derivation hint worth inferring from."""
    low = graph.ids[node].lower()
    if (graph.architecture[node] or "").lower() in family_arch or "qwen" in low or "qwq" in low:
        return True
    if feats.card_data and "base_model_name_or_path" in feats.card_data:
        return True
    tokens = [t for t in _TOKEN_SPLIT.split(low.rsplit("/", 1)[-1]) if t]
    return any(_STRONG_TOKEN.match(t) for t in tokens) or "merge_method" in (feats.card_text or "")[:MAX_CARD_SCAN]


def infer_one(graph: LineageGraph, index: NameIndex, ids: dict[str, int], node: int, feats: Features,
              family_arch: set[str]) -> Inference | None:
    """The inference for one candidate model (rules in the module docstring), or None."""
    base = (feats.card_data or {}).get("base_model_name_or_path")
    if isinstance(base, str):
        parent = _lookup(graph, ids, base, node)
        if parent is not None:
            return Inference(node, [parent], _relation(graph, node, feats, 1), "card:adapter-base",
                             CONFIDENCE["card:adapter-base"])
    merged = [p for p in (_lookup(graph, ids, m, node) for m in mergekit_models(feats.card_text)) if p is not None]
    merged = list(dict.fromkeys(merged))
    if merged:
        rel = "merge" if len(merged) >= 2 else _relation(graph, node, feats, 1)
        return Inference(node, merged, rel, "card:mergekit", CONFIDENCE["card:mergekit"])
    hit = match_name(index, node)
    if hit is not None:
        parent, rule = hit
        return Inference(node, [parent], _relation(graph, node, feats, 1), rule, CONFIDENCE[rule])
    arch = (graph.architecture[node] or "").lower()
    if arch in family_arch:
        return Inference(node, [], None, f"arch:{arch}", 0.0)
    return None


def id_index(graph: LineageGraph) -> dict[str, int]:
    """Exact and lowercase id → node (HF first; lowercase entries only where unambiguous)."""
    ids: dict[str, int] = {}
    lower: dict[str, int | None] = {}
    for node, mid in list(enumerate(graph.ids)) + list(graph.ms_ids.items()):
        ids.setdefault(mid, node)
        low = mid.lower()
        lower[low] = node if lower.get(low, node) == node else None
    for low, node in lower.items():
        if node is not None:
            ids.setdefault(low, node)
    return ids


def infer(graph: LineageGraph, features: dict[int, Features], *, candidates: Iterable[int] | None = None,
          root_authors: tuple[str, ...] = DEFAULT_ROOT_AUTHORS,
          family_architectures: tuple[str, ...] = DEFAULT_FAMILY_ARCHITECTURES) -> list[Inference]:
    """Inferences for ``candidates`` (default: every model with no declared parent that is not an official root)."""
    index = NameIndex(graph, root_authors)
    ids = id_index(graph)
    family_arch = {a.lower() for a in family_architectures}
    if candidates is None:
        has_parent = np.bincount(graph.child[~graph.inferred], minlength=graph.n_nodes) > 0
        candidates = [n for n in np.flatnonzero(~has_parent & ~index.official).tolist() if n in features]
    out = []
    for node in candidates:
        feats = features.get(node) or Features([], None, [], None, None)
        if not is_candidate(graph, node, feats, family_arch):
            continue
        found = infer_one(graph, index, ids, node, feats, family_arch)
        if found is not None:
            out.append(found)
    return out


def _rows_for(store: Store, table: Any, columns: tuple[str, ...], keys: list[tuple[str, str]] | None) -> pl.DataFrame:
    """Rows of ``table`` for the given ``(hub, id)`` keys (all rows when None), in bounded ``IN`` batches."""
    tbl = table.__table__
    if keys is None:
        return frames.table(store, table, columns)
    parts = []
    for hub in ("hf", "modelscope"):
        ids = [i for h, i in keys if h == hub]
        for start in range(0, len(ids), 5_000):
            where = (tbl.c.hub == hub) & tbl.c.id.in_(ids[start: start + 5_000])
            parts.append(frames.table(store, table, columns, where=where))
    return pl.concat(parts) if parts else frames.table(store, table, columns, where=tbl.c.hub == "none")


def _node_keys(graph: LineageGraph) -> dict[tuple[str, str], int]:
    node_of: dict[tuple[str, str], int] = {}
    for node, mid in enumerate(graph.ids):
        node_of[("hf" if graph.present[node] & HUB_BITS["hf"] else "modelscope", mid)] = node
    for node, mid in graph.ms_ids.items():
        node_of[("modelscope", mid)] = node
    return node_of


def load_features(store: Store, graph: LineageGraph, nodes: Iterable[int] | None = None) -> dict[int, Features]:
    """Child-side signals of the graph's models (or of ``nodes``), declared lineage stripped (:func:`strip_declared`)."""
    node_of = _node_keys(graph)
    keys = None
    if nodes is not None:
        wanted = set(nodes)
        keys = [k for k, n in node_of.items() if n in wanted]
    models = _rows_for(store, Model, ("hub", "id", "tags", "library_name", "files", "card_data"), keys)
    cards = _rows_for(store, Card, ("hub", "id", "text"), keys)
    text = {(h, i): t for h, i, t in cards.select("hub", "id", "text").iter_rows()} if cards.height else {}
    out: dict[int, Features] = {}
    for hub, mid, tags, lib, files, card in models.iter_rows():
        node = node_of.get((hub, mid))
        if node is None or (node in out and hub == "modelscope"):
            continue
        f = strip_declared(tags or [], card if isinstance(card, dict) else None, text.get((hub, mid)))
        f.library_name, f.files = lib, list(files or [])
        out[node] = f
    return out


def likely_candidates(store: Store, graph: LineageGraph,
                      family_architectures: tuple[str, ...] = DEFAULT_FAMILY_ARCHITECTURES,
                      root_authors: tuple[str, ...] = DEFAULT_ROOT_AUTHORS) -> list[int]:
    """Models :func:`infer` would consider, found without loading every model's tags and card (for big stores).

    Same test as :func:`is_candidate`: the name/architecture part on the graph, the card part in SQL.
    """
    index_official = NameIndex.official_mask(graph, root_authors)
    has_parent = np.bincount(graph.child[~graph.inferred], minlength=graph.n_nodes) > 0
    fam = {a.lower() for a in family_architectures}
    node_of = _node_keys(graph)
    m, c = Model.__table__, Card.__table__  # type: ignore[attr-defined]
    card_hits: set[int] = set()
    with store.engine.connect() as conn:
        for q in (select(m.c.hub, m.c.id).where(cast(m.c.card_data, String).like("%base_model_name_or_path%")),
                  select(c.c.hub, c.c.id).where(c.c.text.like("%merge_method%"))):
            card_hits.update(n for h, i in conn.execute(q) if (n := node_of.get((h, i))) is not None)
    out = []
    for node in np.flatnonzero(~has_parent & ~index_official).tolist():
        low = graph.ids[node].lower()
        name_tokens = [t for t in _TOKEN_SPLIT.split(low.rsplit("/", 1)[-1]) if t]
        if ((graph.architecture[node] or "").lower() in fam or "qwen" in low or "qwq" in low or node in card_hits
                or any(_STRONG_TOKEN.match(t) for t in name_tokens)):
            out.append(node)
    return out


def with_inferred(graph: LineageGraph, inferences: list[Inference]) -> LineageGraph:
    """A copy of ``graph`` with the inferred edges added (flagged ``inferred``; declared edges unchanged)."""
    import copy

    new = copy.copy(graph)
    new.report = copy.deepcopy(graph.report)
    schema = {"child": pl.Int32, "parent": pl.Int32, "relation": pl.Int8, "rule": pl.String, "inferred": pl.Boolean,
              "confidence": pl.Float32}
    base = pl.DataFrame({"child": graph.child, "parent": graph.parent, "relation": graph.relation, "rule": graph.rule,
                         "inferred": graph.inferred, "confidence": graph.confidence}).cast(schema)  # type: ignore[arg-type]
    rel_code = {r: i for i, r in enumerate(RELATIONS)}
    rows = [(i.child, p, rel_code[i.relation or "finetune"], i.rule, True, i.confidence)
            for i in inferences for p in i.parents]
    set_edges(new, pl.concat([base, pl.DataFrame(rows, schema=schema, orient="row")]))
    return new


def is_official(graph: LineageGraph, node: int, root_authors: tuple[str, ...] = DEFAULT_ROOT_AUTHORS) -> bool:
    return is_root_author(graph.authors[node], graph.ids[node], root_authors)
