"""Store tables (datetimes are naive UTC on every backend). ``analysis`` may import this module; it is the contract between the two layers.

Keys: a model is ``(hub, id)`` with ``hub`` in ``{"hf", "modelscope"}``. Lineage edges point from child to
parent inside one hub; ``parent`` is the normalised id, or ``None`` when the declared base could not be
resolved (``reason`` says why, ``parent_raw`` keeps what the card said).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, BigInteger, Column, DateTime, Index, Text, text
from sqlmodel import Field, SQLModel

from crawler.config import HUBS as HUBS  # the hubs' names, defined with their endpoints
from crawler.lineage import RELATIONS as RELATIONS  # the relation vocabulary, defined with its rules


class Model(SQLModel, table=True):
    """One repository as last seen on its hub, with deletion kept as a date (history is never erased)."""

    __tablename__ = "model"
    __table_args__ = (
        Index("ix_model_created", "hub", "created_at"),
        Index("ix_model_author", "hub", "author"),
        Index("ix_model_key", "hub", "key", unique=True),
        # the deleted models only (a few in a hundred): what was gone by a date, without a scan of every model
        Index("ix_model_deleted", "hub", "deleted_at", "created_at", sqlite_where=text("deleted_at IS NOT NULL"),
              postgresql_where=text("deleted_at IS NOT NULL")),
    )

    hub: str = Field(primary_key=True)
    id: str = Field(primary_key=True)
    author: str | None = None
    created_at: datetime | None = Field(default=None, sa_type=DateTime)
    last_modified: datetime | None = Field(default=None, sa_type=DateTime)
    sha: str | None = None
    # HF: as declared (the ``license:`` tag, else cardData.license); ModelScope: normalised with the shared licence
    # table (crawler.licenses), the served spelling staying in the ``license:`` tag.
    license: str | None = None
    license_name: str | None = None  # cardData.license_name (when license is "other")
    license_link: str | None = None
    library_name: str | None = None
    pipeline_tag: str | None = None
    architecture: str | None = None  # config.model_type, gguf.architecture or an architecture tag
    params: int | None = Field(default=None, sa_type=BigInteger)  # exact parameter count: safetensors.total, gguf.total
    context_length: int | None = Field(default=None, sa_type=BigInteger)  # gguf.context_length
    tags: list[str] = Field(default_factory=list, sa_column=Column(JSON))
    card_data: dict[str, Any] | None = Field(default=None, sa_column=Column(JSON))
    files: list[str] = Field(default_factory=list, sa_column=Column(JSON))
    inference: str | None = None  # "warm" when served by an inference provider
    inference_providers: list[str] = Field(default_factory=list, sa_column=Column(JSON))
    deploy_flags: dict[str, Any] | None = Field(default=None, sa_column=Column(JSON))  # ModelScope dolphin flags
    # Counters are 64-bit everywhere (all-time downloads pass 2**31); larger values are stored as NULL with a note.
    downloads: int | None = Field(default=None, sa_type=BigInteger)  # last 30 days
    downloads_all_time: int | None = Field(default=None, sa_type=BigInteger)
    likes: int | None = Field(default=None, sa_type=BigInteger)
    record_hash: str = ""  # hash of the raw record: unchanged hash ⇒ nothing to rewrite
    first_seen_run: int | None = None
    last_seen_run: int | None = None
    deleted_at: datetime | None = Field(default=None, sa_type=DateTime)
    # A short number for the model, unique in its hub and never reused, given when the row is first written: the
    # metric history refers to the model by it (an id is ~30 bytes a row, this 1-4).
    key: int | None = None


class Edge(SQLModel, table=True):
    """A declared lineage edge child → parent, typed, with the rule that decided the relation."""

    __tablename__ = "edge"
    __table_args__ = (Index("ix_edge_parent", "hub", "parent"),)

    hub: str = Field(primary_key=True)
    child: str = Field(primary_key=True)
    parent_raw: str = Field(primary_key=True)  # the base exactly as declared (tag or card)
    parent: str | None = None  # normalised, resolvable id; None when unresolved
    relation: str = "finetune"  # finetune | adapter | quantized | merge
    declared: bool = True
    rule: str = ""  # e.g. "tag:typed", "card:base_model_relation", "rule:gguf", "rule:default"
    status: str = "resolved"  # resolved | unresolved
    reason: str | None = None  # why unresolved, or how it was normalised


class Card(SQLModel, table=True):
    """A model card's text (bounded), the sha it was fetched at, and its parsed front matter."""

    __tablename__ = "card"

    hub: str = Field(primary_key=True)
    id: str = Field(primary_key=True)
    sha: str | None = None
    fetched_at: datetime | None = Field(default=None, sa_type=DateTime)
    text: str | None = Field(default=None, sa_column=Column(Text))
    truncated: bool = False
    front_matter: dict[str, Any] | None = Field(default=None, sa_column=Column(JSON))
    error: str | None = None  # why the front matter could not be read (kept, reported)


class CrawlRun(SQLModel, table=True):
    """One crawl invocation (a resumed crawl continues the same run)."""

    __tablename__ = "crawl_run"

    run_id: int | None = Field(default=None, primary_key=True)
    hub: str
    mode: str  # full | incremental
    started_at: datetime = Field(sa_type=DateTime)
    ended_at: datetime | None = Field(default=None, sa_type=DateTime)
    status: str = "running"  # running | success | partial | failed
    records: int = 0
    changed: int = 0
    family_models: int = 0
    roots: int = 0
    undeclared: int = 0
    deleted: int = 0
    cards_fetched: int = 0
    requests_api: int = 0
    requests_resolvers: int = 0
    retries: int = 0
    rate_limit_waits: int = 0
    quarantined: int = 0
    errors: int = 0
    resumes: int = 0
    checkpoint: dict[str, Any] | None = Field(default=None, sa_column=Column(JSON))
    # None: the run wrote a metric snapshot only for models whose counters changed (MetricSnapshot); "every": a run
    # of an earlier version, which wrote one for every model it listed (set when the store was upgraded).
    snapshot_rows: str | None = None
    watermark_modified: datetime | None = Field(default=None, sa_type=DateTime)
    watermark_created: datetime | None = Field(default=None, sa_type=DateTime)
    notes: list[str] = Field(default_factory=list, sa_column=Column(JSON))


class MetricSnapshot(SQLModel, table=True):
    """Downloads and likes of one model as seen by one run, so growth can be measured over time.

    The history is kept as changes: a run writes a model's row only when the model is new to the store, comes back
    after a deletion, or its ``downloads`` / ``downloads_all_time`` / ``likes`` differ from the values the store
    holds (the ``model`` row's, updated with it); a complete full sweep writes a ``deleted`` row for each model it
    marks deleted. A model's values at a run R are therefore those of its latest row with ``run_id`` ≤ R, if that
    row is not ``deleted`` (``analysis.frames.snapshots`` carries them forward to every full sweep). Runs of
    earlier versions (``CrawlRun.snapshot_rows == "every"``) wrote a row for every model they listed: at such a
    run, a model without a row did not exist.

    A row names its model by hub and ``Model.key`` and is as of its run's start: about 23 bytes a row on SQLite,
    where a row with the id and its own time took 85 (``bench/history_layout_bench.py``, ``bench/snapshots_bench.py``).
    The rows are laid out by model (primary key hub, key, run): a family's history is one short range per model.
    Stores of earlier versions kept the rows in ``metric_snapshot``, or here in run order; both are laid out anew
    when the store is opened (``crawler.store.db.open_store``).
    """

    __tablename__ = "metric_history"
    __table_args__ = {"sqlite_with_rowid": False}  # SQLite: rows live in the key's b-tree (no second copy of it)

    hub: str = Field(primary_key=True)
    key: int = Field(primary_key=True)  # Model.key
    run_id: int = Field(primary_key=True)
    downloads: int | None = Field(default=None, sa_type=BigInteger)
    downloads_all_time: int | None = Field(default=None, sa_type=BigInteger)
    likes: int | None = Field(default=None, sa_type=BigInteger)
    deleted: bool | None = None  # True: the model was gone at this run (no counters)


class Quarantine(SQLModel, table=True):
    """A malformed record or card, kept with the reason instead of being dropped."""

    __tablename__ = "quarantine"

    hub: str = Field(primary_key=True)
    key: str = Field(primary_key=True)  # model id when known, else the URL and position
    kind: str = "record"  # record | card | page | repaired (stored, with the repairs in ``reason``)
    run_id: int | None = None
    url: str | None = None
    reason: str = ""
    raw: str | None = Field(default=None, sa_column=Column(Text))
    seen_at: datetime | None = Field(default=None, sa_type=DateTime)


class Mirror(SQLModel, table=True):
    """A ModelScope repo that copies a Hugging Face repo, with the rule that matched and a confidence."""

    __tablename__ = "mirror"

    modelscope_id: str = Field(primary_key=True)
    hf_id: str = Field(primary_key=True)
    rule: str = ""
    confidence: float = 0.0
