"""Cross-hub mirrors: which ModelScope repos copy a Hugging Face repo, by an explicit rule set with confidences.

Rules, tried in order for each ModelScope model; the first that finds exactly one Hugging Face repo wins:

| rule | confidence | match |
|---|---|---|
| ``same-id`` | 1.0 | the same ``owner/name`` on both hubs |
| ``same-id-case`` | 0.95 | the same id up to case (``qwen/Qwen2-7B`` ↔ ``Qwen/Qwen2-7B``) |
| ``mirror-owner`` | 0.9 | a known mirror owner (``AI-ModelScope``, ``LLM-Research``…) and one HF repo of that name |
| ``mirror-owner+card`` | 0.85 | as above with several HF repos of that name: the one whose card metadata is identical |
| ``card-base-same-name`` | 0.8 | the card's ``base_model`` names an HF repo with the same name |
| ``same-name-unique`` | 0.5 | another owner, and exactly one HF repo of that name |

File sizes and hashes would confirm a match, but neither hub's listing gives per-file hashes and the store keeps
none, so no rule uses them. Links are stored in the ``mirror`` table (replaced as a whole on each matching).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import delete, select

from crawler.store.db import Store
from crawler.store.schema import Card, Mirror, Model

#: ModelScope organisations that re-upload other people's Hugging Face repos under the original name.
MIRROR_OWNERS: frozenset[str] = frozenset({"ai-modelscope", "llm-research", "modelscope", "mirror", "hf-mirror"})
RULES: dict[str, float] = {"same-id": 1.0, "same-id-case": 0.95, "mirror-owner": 0.9, "mirror-owner+card": 0.85,
                           "card-base-same-name": 0.8, "same-name-unique": 0.5}


@dataclass(frozen=True, slots=True)
class MirrorLink:
    modelscope_id: str
    hf_id: str
    rule: str
    confidence: float


@dataclass
class MatchSummary:
    """What one matching pass found."""

    links: list[MirrorLink] = field(default_factory=list)
    modelscope_models: int = 0
    ambiguous: int = 0

    def by_rule(self) -> dict[str, int]:
        out: dict[str, int] = defaultdict(int)
        for link in self.links:
            out[link.rule] += 1
        return dict(out)

    def describe(self) -> str:
        rules = ", ".join(f"{k} {v}" for k, v in sorted(self.by_rule().items())) or "none"
        return (f"mirrors: {len(self.links)} of {self.modelscope_models} ModelScope models matched to an HF repo "
                f"({rules}); {self.ambiguous} ambiguous names left unmatched")


def _bases(front_matter: Any) -> list[str]:
    base = (front_matter or {}).get("base_model") if isinstance(front_matter, dict) else None
    values = [base] if isinstance(base, str) else [b for b in base or [] if isinstance(b, str)] if isinstance(
        base, list) else []
    return [v.strip() for v in values if v.strip()]


def find_mirrors(ms_models: Iterable[tuple[str, Any]], hf_cards: dict[str, Any]) -> MatchSummary:
    """Apply the rules to ``(modelscope id, README front matter)`` pairs against ``{HF id: card data}``."""
    hf_exact = set(hf_cards)
    by_lower: dict[str, list[str]] = defaultdict(list)
    by_name: dict[str, list[str]] = defaultdict(list)
    for hf_id in hf_exact:
        by_lower[hf_id.lower()].append(hf_id)
        by_name[hf_id.split("/", 1)[-1].lower()].append(hf_id)
    out = MatchSummary()
    for ms_id, front_matter in ms_models:
        out.modelscope_models += 1
        owner, _, name = ms_id.partition("/")
        same_name = by_name.get(name.lower(), [])
        bases = {b.lower() for b in _bases(front_matter)}
        found: tuple[str, str] | None = None
        if ms_id in hf_exact:
            found = (ms_id, "same-id")
        elif len(by_lower.get(ms_id.lower(), [])) == 1:
            found = (by_lower[ms_id.lower()][0], "same-id-case")
        elif owner.lower() in MIRROR_OWNERS and len(same_name) == 1:
            found = (same_name[0], "mirror-owner")
        elif owner.lower() in MIRROR_OWNERS and front_matter and len(
                twins := [h for h in same_name if hf_cards.get(h) == front_matter]) == 1:
            found = (twins[0], "mirror-owner+card")
        elif len(named := [h for h in same_name if h.lower() in bases]) == 1:
            found = (named[0], "card-base-same-name")
        elif owner.lower() not in MIRROR_OWNERS and len(same_name) == 1:
            found = (same_name[0], "same-name-unique")
        elif len(same_name) > 1:
            out.ambiguous += 1
        if found:
            out.links.append(MirrorLink(ms_id, found[0], found[1], RULES[found[1]]))
    return out


def match_mirrors(store: Store) -> MatchSummary:
    """Match every live ModelScope model of the store against its live Hugging Face models; store the links."""
    m, c = Model.__table__, Card.__table__  # type: ignore[attr-defined]
    with store.engine.connect() as conn:
        hf_cards = {r.id: r.card_data for r in conn.execute(
            select(m.c.id, m.c.card_data).where(m.c.hub == "hf", m.c.deleted_at.is_(None)))}
        ms_rows = conn.execute(
            select(m.c.id, c.c.front_matter)
            .select_from(m.outerjoin(c, (c.c.hub == m.c.hub) & (c.c.id == m.c.id)))
            .where(m.c.hub == "modelscope", m.c.deleted_at.is_(None)).order_by(m.c.id)).all()
    summary = find_mirrors(((r.id, r.front_matter) for r in ms_rows), hf_cards)
    with store.transaction() as conn:
        conn.execute(delete(Mirror.__table__))  # type: ignore[attr-defined]
        store.upsert(conn, Mirror, [{"modelscope_id": x.modelscope_id, "hf_id": x.hf_id, "rule": x.rule,
                                     "confidence": x.confidence} for x in summary.links])
    return summary
