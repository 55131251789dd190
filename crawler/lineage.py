"""Declared lineage: parents and relation types from tags, card data and README front matter.

The relation of an edge is decided by the first rule that applies, in the order of :data:`RELATION_RULES`
(typed tags, then ``base_model_relation``, then format/library rules). Each edge records the rule.
Dirty bases are normalised where that is safe; otherwise the edge is kept as unresolved with the reason.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from typing import Any

RELATIONS = ("finetune", "adapter", "quantized", "merge")
_RELATION_ALIASES = {"quantization": "quantized", "quantize": "quantized", "merges": "merge",
                     "finetuned": "finetune", "fine-tune": "finetune", "fine_tune": "finetune", "lora": "adapter",
                     "adapters": "adapter", "finetunes": "finetune", "quantizations": "quantized"}

_HUB_URL = re.compile(r"^https?://(?:www\.)?(?:huggingface\.co|hf\.co|modelscope\.cn/models)/", re.IGNORECASE)
_REPO_ID = re.compile(r"^[\w][\w.\-]*(?:/[\w][\w.\-]*)?$", re.UNICODE)
_DRIVE = re.compile(r"^[A-Za-z]:")  # a Windows path's drive


@dataclass(slots=True)
class Signals:
    """What the relation rules look at, gathered from one record."""

    tags: frozenset[str]
    library_name: str | None
    files: tuple[str, ...]
    model_id: str


def _has_any(sig: Signals, tags: Iterable[str]) -> bool:
    return not sig.tags.isdisjoint(tags)


_MERGE_TAGS = ("mergekit", "merge")
_QUANT_TAGS = ("gguf", "awq", "gptq", "exl2", "mlx", "4-bit", "8-bit", "bitsandbytes", "quantized", "fp8", "int4", "int8")
_QUANT_NAME = re.compile(r"(?i)(?:[-_.](?:gguf|awq|gptq|exl2|mlx|bnb|int4|int8|fp8|\d(?:\.\d+)?bpw)\b|\b(?:\d)bit\b|bnb-4bit)")
_ADAPTER_TAGS = ("peft", "lora", "adapter")
#: The only tags the relation rules read, and the files they look for (by suffix, by name): a model's other tags
#: and files cannot change its relation.
RELATION_TAGS = frozenset((*_MERGE_TAGS, *_QUANT_TAGS, *_ADAPTER_TAGS))
QUANTIZED_FILE_SUFFIX, ADAPTER_CONFIG = ".gguf", "adapter_config.json"

#: (rule name, relation, predicate). Applied in order when neither a typed tag nor the card names the relation.
RELATION_RULES: tuple[tuple[str, str, Callable[[Signals, int], bool]], ...] = (
    ("rule:multi-parent", "merge", lambda s, n: n >= 2),
    ("rule:mergekit", "merge", lambda s, n: _has_any(s, _MERGE_TAGS) or s.library_name == "mergekit"),
    ("rule:quantized-format", "quantized", lambda s, n: _has_any(s, _QUANT_TAGS) or s.library_name in ("gguf", "mlx")
     or any(f.endswith(QUANTIZED_FILE_SUFFIX) for f in s.files) or bool(_QUANT_NAME.search(s.model_id))),
    ("rule:peft-adapter", "adapter", lambda s, n: _has_any(s, _ADAPTER_TAGS) or s.library_name == "peft"
     or ADAPTER_CONFIG in s.files),
    ("rule:default", "finetune", lambda s, n: True),
)


@dataclass(slots=True)
class DeclaredEdge:
    """One declared parent of a model (a row of the ``edge`` table once ``hub`` is added)."""

    child: str
    parent_raw: str
    parent: str | None
    relation: str
    rule: str
    status: str
    reason: str | None

    def row(self, hub: str) -> dict[str, Any]:
        return {"hub": hub, "child": self.child, "parent_raw": self.parent_raw, "parent": self.parent,
                "relation": self.relation, "declared": True, "rule": self.rule, "status": self.status,
                "reason": self.reason}


def normalise_relation(value: Any) -> str | None:
    """A relation name in canonical form, or None when it is not one."""
    if not isinstance(value, str):
        return None
    v = value.strip().lower()
    v = _RELATION_ALIASES.get(v, v)
    return v if v in RELATIONS else None


def normalise_base(raw: str, child_id: str) -> tuple[str | None, str | None]:
    """``(normalised id, reason)``; the id is None when the base is unusable.

    Safe normalisations: surrounding space, hub URLs, trailing slashes, ``@revision`` suffixes. Local paths,
    self-references and non-id strings stay unresolved. Existence and case are checked later against the store.
    """
    value = raw.strip().strip("\"'")
    reason = None
    if _HUB_URL.match(value):
        value = _HUB_URL.sub("", value)
        reason = "hub URL stripped"
    if "/tree/" in value:
        value = value.split("/tree/", 1)[0]
        reason = "revision path stripped"
    if "@" in value and _REPO_ID.match(value.split("@", 1)[0]):
        value = value.split("@", 1)[0]
        reason = "revision suffix stripped"
    value = value.rstrip("/")
    if not value:
        return None, "empty base_model"
    if value.startswith(("/", "./", "../", "~")) or "\\" in value or _DRIVE.match(value) or value.count("/") > 1:
        return None, "local path, not a hub id"
    if not _REPO_ID.match(value):
        return None, "not a valid repo id"
    if value.lower() == child_id.lower():
        return None, "self-reference"
    return value, reason


def _as_list(value: Any) -> list[str]:
    if isinstance(value, str):
        return [value]
    if isinstance(value, list | tuple):
        return [v for v in value if isinstance(v, str)]
    return []


def declared_edges(model_id: str, tags: Sequence[str], card_data: dict[str, Any] | None,
                   library_name: str | None, files: Iterable[str] = ()) -> list[DeclaredEdge]:
    """Every declared parent of ``model_id`` with its relation and the rule that decided it.

    Sources, merged by parent: typed ``base_model:<relation>:<id>`` tags, untyped ``base_model:<id>`` tags and
    the card's ``base_model`` (string or list).
    """
    typed: dict[str, str] = {}
    untyped: list[str] = []
    for tag in tags:  # in order: of two typed tags naming one base, the later decides its relation
        if not tag.startswith("base_model:"):
            continue
        rest = tag[len("base_model:") :]
        head, sep, tail = rest.partition(":")
        rel = normalise_relation(head) if sep else None
        if rel and tail:
            typed[tail] = rel
        else:
            untyped.append(rest)
    card = card_data or {}
    card_bases = _as_list(card.get("base_model"))
    if not (card_bases or typed or untyped):  # most models declare no base
        return []
    # Preserve a stable order: card order first (it is the author's), then tags sorted.
    raw_parents: list[str] = []
    for p in [*card_bases, *sorted(typed), *sorted(untyped)]:
        if p not in raw_parents:
            raw_parents.append(p)
    if not raw_parents:
        return []
    card_relation = normalise_relation(card.get("base_model_relation"))
    by_rules: tuple[str, str] | None = None  # (relation, rule) of the parents neither a tag nor the card types
    edges = []
    seen: set[str] = set()
    for raw in raw_parents:
        parent, reason = normalise_base(raw, model_id)
        if parent is not None and parent.lower() in seen:
            continue
        if raw in typed:
            relation, rule = typed[raw], "tag:typed"
        elif card_relation:
            relation, rule = card_relation, "card:base_model_relation"
        else:
            by_rules = by_rules or relation_by_rules(model_id, tags, library_name, files, len(raw_parents))
            relation, rule = by_rules
        status = "resolved" if parent is not None else "unresolved"
        edges.append(DeclaredEdge(model_id, raw, parent, relation, rule, status, reason))
        if parent is not None:
            seen.add(parent.lower())
    return edges


def relation_by_rules(model_id: str, tags: Iterable[str], library_name: str | None, files: Iterable[str],
                      parents: int) -> tuple[str, str]:
    """``(relation, rule)`` of the first of :data:`RELATION_RULES` that applies to a model with ``parents``."""
    sig = Signals(frozenset(tags), (library_name or "").lower() or None, tuple(files), model_id)
    for rule, relation, applies in RELATION_RULES:  # a loop: next() on a generator left unfinished costs a close
        if applies(sig, parents):
            return relation, rule
    raise AssertionError("rule:default applies to every model")
