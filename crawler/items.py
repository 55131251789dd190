"""What spiders hand to pipelines: a whole listing page (one transaction) or a batch of fetched cards."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any


@dataclass(slots=True)
class ListingPage:
    """One page of a listing with the checkpoint to commit with it (where to resume after this page)."""

    hub: str
    url: str
    records: list[Any]
    checkpoint: dict[str, Any]
    seq: int = 0  # position in the listing: pages are committed strictly in this order
    last: bool = False  # the listing ends with this page


@dataclass(slots=True)
class FetchedCard:
    """One model card (or its absence) as fetched at the model's current ``sha``."""

    hub: str
    model_id: str
    sha: str | None
    text: str | None
    status: int
    extra: dict[str, Any] = field(default_factory=dict)
