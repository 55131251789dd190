"""Raw hub JSON → store rows, once, at the edge.

Hugging Face records go through ``huggingface_hub.ModelInfo`` (which knows the Hub's shapes: camelCase keys,
dates, card data, siblings). A record that cannot be read raises :class:`RecordError` with a reason; the
pipeline quarantines it and the crawl goes on.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import orjson
from huggingface_hub import ModelInfo

from crawler.config import DEFAULT_FAMILY_ARCHITECTURES
from crawler.lineage import DeclaredEdge, declared_edges

#: Keys whose values change without the repo changing; left out of the record hash.
VOLATILE_KEYS = frozenset({"downloads", "downloadsAllTime", "likes", "trendingScore", "inference",
                           "inferenceProviderMapping", "spaces", "Downloads", "Stars", "likes_count"})
MAX_FILES = 2_000
_KNOWN_ARCH_TAGS = frozenset(DEFAULT_FAMILY_ARCHITECTURES) | {
    "llama", "mistral", "mixtral", "gemma", "gemma2", "gemma3", "phi", "phi3", "deepseek_v2", "deepseek_v3",
    "falcon", "gpt2", "gpt_neox", "bert", "t5", "internlm2", "chatglm", "baichuan", "yi", "olmo", "starcoder2"}


class RecordError(ValueError):
    """A raw record that cannot be turned into a model row; ``reason`` says why."""

    def __init__(self, reason: str, model_id: str | None = None):
        super().__init__(reason)
        self.reason = reason
        self.model_id = model_id


@dataclass(slots=True)
class ParsedModel:
    """One parsed record: the ``model`` row, its declared edges, and its metrics."""

    row: dict[str, Any]
    edges: list[DeclaredEdge] = field(default_factory=list)

    @property
    def id(self) -> str:
        return self.row["id"]


def utc_naive(value: datetime | None) -> datetime | None:
    """Datetimes are stored as naive UTC (the same on SQLite and PostgreSQL)."""
    if value is None:
        return None
    if value.tzinfo is not None:
        value = value.astimezone(UTC).replace(tzinfo=None)
    return value


def record_hash(raw: dict[str, Any]) -> str:
    """A stable digest of a record without its volatile counters."""
    stable = {k: v for k, v in raw.items() if k not in VOLATILE_KEYS}
    return hashlib.blake2b(orjson.dumps(stable, option=orjson.OPT_SORT_KEYS), digest_size=12).hexdigest()


def architecture_of(tags: list[str], config: dict[str, Any] | None, gguf: dict[str, Any] | None) -> str | None:
    """The model architecture: ``config.model_type``, else ``gguf.architecture``, else a known architecture tag."""
    for source in (config, gguf):
        if isinstance(source, dict):
            value = source.get("model_type") if source is config else source.get("architecture")
            if isinstance(value, str) and value:
                return value.lower()
    for tag in tags:
        if tag in _KNOWN_ARCH_TAGS:
            return tag
    return None


def _providers(mapping: Any) -> list[str]:
    """Provider names from ``inferenceProviderMapping`` (a list on listings, a dict on the detail endpoint)."""
    if isinstance(mapping, dict):
        return sorted(str(k) for k in mapping)
    if isinstance(mapping, list):
        return sorted({str(m.get("provider")) for m in mapping if isinstance(m, dict) and m.get("provider")})
    return []


def _check_shape(raw: Any) -> str:
    if not isinstance(raw, dict):
        raise RecordError(f"record is a {type(raw).__name__}, not an object")
    model_id = raw.get("id", raw.get("modelId"))
    if not isinstance(model_id, str) or not model_id.strip():
        raise RecordError("record has no string 'id'")
    if "tags" in raw and not isinstance(raw["tags"], list):
        raise RecordError("'tags' is not a list", model_id)
    card = raw.get("cardData")
    if card is not None and not isinstance(card, dict):
        raise RecordError("'cardData' is not an object", model_id)
    return model_id


def parse_hf(raw: Any) -> ParsedModel:
    """Parse one Hugging Face ``/api/models`` item (listing or detail) into a row and declared edges."""
    model_id = _check_shape(raw)
    try:
        info = ModelInfo(**raw)
    except Exception as exc:  # noqa: BLE001 - any shape error becomes a reason
        raise RecordError(f"unreadable record: {exc.__class__.__name__}: {exc}", model_id) from exc
    tags = [t for t in (info.tags or []) if isinstance(t, str)]
    card = raw.get("cardData") if isinstance(raw.get("cardData"), dict) else None
    files = [s.rfilename for s in (info.siblings or [])][:MAX_FILES]
    gguf = raw.get("gguf") if isinstance(raw.get("gguf"), dict) else None
    config = raw.get("config") if isinstance(raw.get("config"), dict) else None
    license_tag = next((t[len("license:") :] for t in tags if t.startswith("license:")), None)
    card_license = card.get("license") if card else None
    license_value = license_tag or (card_license if isinstance(card_license, str) else None)
    author = info.author or (model_id.split("/", 1)[0] if "/" in model_id else None)
    row = {
        "hub": "hf",
        "id": model_id,
        "author": author,
        "created_at": utc_naive(info.created_at),
        "last_modified": utc_naive(info.last_modified),
        "sha": info.sha,
        "license": license_value,
        "license_name": _str_or_none(card.get("license_name")) if card else None,
        "license_link": _str_or_none(card.get("license_link")) if card else None,
        "library_name": info.library_name,
        "pipeline_tag": info.pipeline_tag,
        "architecture": architecture_of(tags, config, gguf),
        "tags": tags,
        "card_data": card,
        "files": files,
        "inference": raw.get("inference") if isinstance(raw.get("inference"), str) else None,
        "inference_providers": _providers(raw.get("inferenceProviderMapping")),
        "deploy_flags": None,
        "downloads": _int_or_none(raw.get("downloads")),
        "downloads_all_time": _int_or_none(raw.get("downloadsAllTime")),
        "likes": _int_or_none(raw.get("likes")),
        "record_hash": record_hash(raw),
    }
    edges = declared_edges(model_id, tags, card, info.library_name, files)
    return ParsedModel(row, edges)


def _str_or_none(value: Any) -> str | None:
    if isinstance(value, list):  # some cards give a one-element list
        value = value[0] if value else None
    return value if isinstance(value, str) else None


def _int_or_none(value: Any) -> int | None:
    return value if isinstance(value, int) and not isinstance(value, bool) else None
