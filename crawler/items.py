"""What spiders hand to the pipeline: everything a crawl writes travels as one of these items.

Spiders only talk to the network; the pipeline (:mod:`crawler.pipelines`) writes each item with the store's verbs.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any


@dataclass(slots=True)
class ListingPage:
    """One page of a listing with the checkpoint to commit with it (where to resume after this page).

    A page may hold no records: the checkpoint alone (a partition plan before the first page, or an empty listing).
    """

    hub: str
    url: str | None
    records: list[Any]  # the records as read (none when ``body`` holds them)
    checkpoint: dict[str, Any]
    seq: int = 0  # position in the listing: pages are committed strictly in this order
    last: bool = False  # the listing ends with this page
    body: bytes | None = None  # the records as the hub's JSON text, when the answer is their list: passed on as is


@dataclass(slots=True)
class FetchedCard:
    """One model card (or why there is none) as fetched at the model's current version (``sha``)."""

    hub: str
    model_id: str
    sha: str | None
    text: str | None
    error: str | None = None  # why there is no text (``no card (HTTP 404)``…)


@dataclass(slots=True)
class DeployFlags:
    """Deployment flags of models, as one answer of a hub's search lists them (``{model id: flags}``)."""

    hub: str
    flags: dict[str, Any]
