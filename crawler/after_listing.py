"""The steps after a hub's listing, the same for every hub; the runner calls them.

1. :func:`listing_stored`, once the listing's last page is committed (before any card is fetched): models a
   complete full sweep did not see are marked deleted and the store's planner statistics refreshed; for a hub whose
   records declare lineage (Hugging Face) the declared bases are resolved against the store and the family is found
   — it decides which cards to fetch.
2. :func:`finish`, once every card is stored: for a hub whose cards declare lineage and licences (ModelScope) the
   cards are applied, bases resolved and the family found; ModelScope models are matched to their Hugging Face
   originals (mirrors).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

from crawler.card_lineage import apply_cards
from crawler.families import Family
from crawler.family import FamilySummary, family_of, resolve_edges
from crawler.ingest import mark_unseen_deleted
from crawler.mirrors import match_mirrors
from crawler.store.db import Store

#: Hubs whose declared lineage and licence fields come from the cards, not from the listing: how they are applied.
CARD_LINEAGE: dict[str, Callable[[Store], int]] = {"modelscope": apply_cards}
#: The hub whose models are matched to the Hugging Face models they copy.
MIRROR_HUB = "modelscope"


@dataclass
class Outcome:
    """What a step did: models marked deleted, the family (when known), notes for the run record."""

    deleted: int = 0
    family: FamilySummary | None = None
    notes: list[str] = field(default_factory=list)


def family_counts(family: FamilySummary | None) -> dict[str, int]:
    """The run-record counts of a family (empty when it is not known)."""
    if family is None:
        return {}
    return {"roots": len(family.roots), "family_models": len(family.members), "undeclared": len(family.undeclared)}


def listing_stored(store: Store, hub: str, run_id: int, *, sweep_complete: bool,
                   families: Sequence[Family]) -> Outcome:
    """Step 1. ``sweep_complete``: the run listed the whole hub (full mode, coverage proven), so vanished models
    are deleted. Idempotent: a resumed run repeats it safely."""
    out = Outcome(deleted=mark_unseen_deleted(store, hub, run_id) if sweep_complete else 0)
    store.refresh_statistics()
    if hub not in CARD_LINEAGE:
        resolve_edges(store, hub)
        out.family = family_of(store, hub, families)
    return out


def finish(store: Store, hub: str, *, family: FamilySummary | None, families: Sequence[Family]) -> Outcome:
    """Step 2. ``family`` is what step 1 found (kept as it is for a hub whose cards declare nothing)."""
    out = Outcome(family=family)
    if hub in CARD_LINEAGE:
        changed = CARD_LINEAGE[hub](store)
        resolved = resolve_edges(store, hub)
        out.family = family_of(store, hub, families)
        out.notes.append(f"front matter applied to {changed} models; bases: {resolved['missing']} not on "
                         f"ModelScope (kept unresolved), {resolved['case_normalised']} case-normalised")
    if hub == MIRROR_HUB:
        out.notes.append(match_mirrors(store).describe())
    return out
