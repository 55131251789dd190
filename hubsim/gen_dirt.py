"""The dirt of real data, assigned in exact quotas so the truth records known proportions.

Every derivative gets a declaration kind (``typed``, ``untyped``, ``card``, ``none``, ``wrong``) and, for
``wrong`` and ``card``, a subtype in ``Node.dirt``. Some derivatives with children become absent bases
(``deleted`` or ``missing``): their children still declare them.
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field

from hubsim.gen_tree import TYPED_TAGS_SINCE, Node


@dataclass(slots=True)
class DirtConfig:
    """Shares of derivatives (not roots, not absent) per declaration kind and subtype."""

    none: float = 0.35  # undeclared: real 2024 data, 2,768 of 6,513 Qwen-related entries
    card: float = 0.03  # declared only in the README text (stacked front matter / invalid YAML)
    wrong: float = 0.06
    wrong_split: dict[str, float] = field(default_factory=lambda: {
        "local_path": 0.25, "typo": 0.15, "wrong_case": 0.12, "self": 0.08, "ancestor": 0.22, "cycle": 0.10,
        "hub_url": 0.08})
    invalid_yaml_in_card: float = 0.35  # of ``card``: front matter that does not parse
    untyped_when_old: float = 0.5  # of declared records created before typed tags: never re-tagged
    relation_mislabel: float = 0.03  # of typed quantized records: tagged finetune (a known Hub misfire)
    absent: float = 0.004  # bases (derivatives with children) deleted (60%) or never public (40%), of derivatives
    huge_cards: float = 0.0002  # of carded records: a card larger than 256 KB (at least 1)
    non_ascii_ids: float = 0.001


def _take(pool: list[Node], n: int) -> list[Node]:
    out = pool[:n]
    del pool[:n]
    return out


def absent_count(cfg: DirtConfig, wanted: int) -> int:
    """How many extra derivatives to grow so that ``wanted`` stay in the world once the absent are removed."""
    return round(cfg.absent * wanted)


def mark_absent(rng: random.Random, derived: list[Node], k: int) -> int:
    """Mark ``k`` derivatives that have children as absent (3 of 5 deleted, 2 of 5 never public)."""
    with_children = [n for n in derived if n.children and n.spec is None]
    rng.shuffle(with_children)
    for i, n in enumerate(with_children[:k]):
        n.absent = "deleted" if i % 5 < 3 else "missing"
    return min(k, len(with_children))


def assign_dirt(rng: random.Random, nodes: list[Node], derived: list[Node], cfg: DirtConfig) -> dict[str, int]:
    """Set ``kind``/``dirt`` on live ``derived`` nodes in exact quotas; returns the counts."""
    counts: dict[str, int] = {"absent_deleted": sum(1 for n in derived if n.absent == "deleted"),
                              "absent_missing": sum(1 for n in derived if n.absent == "missing")}
    live = [n for n in derived if n.absent is None and n.spec is None]
    total = len(live)
    rng.shuffle(live)
    # Subtypes needing structure are taken first from the nodes that allow them.
    n_cycle = round(total * cfg.wrong * cfg.wrong_split["cycle"])
    n_ancestor = round(total * cfg.wrong * cfg.wrong_split["ancestor"])
    chosen: set[int] = set()
    cyc = [n for n in live if n.children and len(n.parents) == 1][:n_cycle]
    cyc_ids = {c.idx for c in cyc}
    anc = [n for n in live if len(n.parents) == 1 and nodes[n.parents[0]].parents
           and n.idx not in cyc_ids][:n_ancestor]
    for sub, group in (("cycle", cyc), ("ancestor", anc)):
        for n in group:
            n.kind, n.dirt = "wrong", [*n.dirt, sub]
            chosen.add(n.idx)
        counts[f"wrong_{sub}"] = len(group)
    rest = [n for n in live if n.idx not in chosen]
    for sub in ("local_path", "typo", "wrong_case", "self", "hub_url"):
        group = _take(rest, round(total * cfg.wrong * cfg.wrong_split[sub]))
        for n in group:
            n.kind, n.dirt = "wrong", [*n.dirt, sub]
        counts[f"wrong_{sub}"] = len(group)
    group = _take(rest, round(total * cfg.card))
    n_invalid = round(len(group) * cfg.invalid_yaml_in_card)
    for i, n in enumerate(group):
        n.kind = "card"
        n.dirt = [*n.dirt, "invalid_yaml" if i < n_invalid else "stacked_front_matter"]
    counts["card_invalid_yaml"], counts["card_stacked"] = n_invalid, len(group) - n_invalid
    for n in _take(rest, round(total * cfg.none)):
        n.kind = "none"
    counts["none"] = round(total * cfg.none)
    old = [n for n in rest if n.created < TYPED_TAGS_SINCE]
    old_untyped = round(len(old) * cfg.untyped_when_old)
    for n in rest:
        n.kind = "typed"
    for n in old[:old_untyped]:
        n.kind = "untyped"
    counts["untyped"], counts["typed"] = old_untyped, len(rest) - old_untyped
    quant_typed = [n for n in rest if n.kind == "typed" and n.relation == "quantized"]
    n_mis = round(len(quant_typed) * cfg.relation_mislabel)
    for n in quant_typed[:n_mis]:
        n.dirt = [*n.dirt, "relation_mislabel"]
    counts["relation_mislabel"] = n_mis
    counts["live_derivatives"] = total
    return counts
