"""The bundled sample world ``data/sample/`` rebuilt from the real recorded data (``../shared/data/real``).

Real records are kept exactly as recorded. The only additions are a ``readme`` key (the matched real card)
on Hugging Face records, and the OpenAPI-shaped projection of ModelScope dolphin records (originals kept
under ``dolphin``). Which source each record came from is written to ``provenance.jsonl.gz`` (not served).
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from hubsim.gen_io import write_jsonl

STALNAKER = "hf_api_stalnaker_2024-07"
LISTING = f"{STALNAKER}/qwen_related_models_list_2024-07-11.jsonl"
MODEL_INFO_DIR = f"{STALNAKER}/model_info_raw_qwen_related"
LIST_PAGES_DIR = f"{STALNAKER}/list_pages_raw"
CARD_DIRS = ("hf_model_cards_yinanwu/qwen_related", "hf_model_cards_yinanwu/non_qwen_controls",
             "hf_model_cards_github_autogen")
MODELSCOPE_FILE = "modelscope_cloudmaster/Qwen_subset.json"
REBUILD_COMMAND = "hubtree sim build-sample --real ../shared/data/real --out data/sample"


class SampleSourceError(FileNotFoundError):
    """The real data directory lacks a file the sample world is built from."""


@dataclass(slots=True)
class SampleSummary:
    """Counts of what :func:`build_sample_world` wrote."""

    out: Path
    hf_records: int = 0
    listing_entries: int = 0
    full_records: int = 0
    surrounding_records: int = 0
    cards_attached: int = 0
    cards_unmatched: list[str] = field(default_factory=list)
    cards_ambiguous: list[str] = field(default_factory=list)
    modelscope_records: int = 0

    def describe(self) -> str:
        return (f"sample world in {self.out}: {self.hf_records} HF records ({self.listing_entries} Qwen-related "
                f"listing entries, {self.full_records} of them full model_info records, "
                f"{self.surrounding_records} surrounding listing-page records), {self.cards_attached} cards "
                f"attached, {len(self.cards_unmatched)} cards without a record left out, "
                f"{self.modelscope_records} ModelScope records")

    def counts(self) -> dict[str, int]:
        return {"hf_records": self.hf_records, "listing_entries": self.listing_entries,
                "full_records": self.full_records, "surrounding_records": self.surrounding_records,
                "cards_attached": self.cards_attached, "cards_unmatched": len(self.cards_unmatched),
                "cards_ambiguous": len(self.cards_ambiguous), "modelscope_records": self.modelscope_records}


def _need(path: Path) -> Path:
    if not path.exists():
        raise SampleSourceError(f"real data file missing: {path} (pass --real pointing at ../shared/data/real)")
    return path


def load_hf_sources(real: Path) -> tuple[dict[str, dict[str, Any]], dict[str, str]]:
    """Every real HF record by id, the best source winning, and the source path of each.

    Order of preference: full ``model_info`` record, Qwen-related listing entry, raw listing page entry.
    """
    records: dict[str, dict[str, Any]] = {}
    source: dict[str, str] = {}
    for page in sorted(_need(real / LIST_PAGES_DIR).glob("*.json")):
        for item in json.loads(page.read_text("utf-8")):
            records[item["id"]] = item
            source[item["id"]] = f"{LIST_PAGES_DIR}/{page.name}"
    with _need(real / LISTING).open(encoding="utf-8") as fh:
        for line in fh:
            if line.strip():
                item = json.loads(line)
                records[item["id"]] = item
                source[item["id"]] = LISTING
    for path in sorted(_need(real / MODEL_INFO_DIR).glob("*.json")):
        item = json.loads(path.read_text("utf-8"))
        records[item["id"]] = item
        source[item["id"]] = f"{MODEL_INFO_DIR}/{path.name}"
    return records, source


def card_files(real: Path) -> list[tuple[str, Path]]:
    """``(file stem, path)`` of every real card file, in a stable order."""
    out = []
    for d in CARD_DIRS:
        for path in sorted(_need(real / d).glob("*.md")):
            out.append((path.stem, path))
    return out


def match_cards(ids: list[str], cards: list[tuple[str, Path]]) -> tuple[dict[str, Path], list[str], list[str]]:
    """Cards matched to record ids: ``({id: path}, unmatched stems, ambiguous stems)``.

    A card file is named after the id with ``/`` replaced by ``_`` (yinanwu) or by ``__`` plus a path
    (GitHub autogen cards); a stem matches when exactly one known id maps to it.
    """
    by_stem: dict[str, list[str]] = {}
    for model_id in ids:
        by_stem.setdefault(model_id.replace("/", "_"), []).append(model_id)
        by_stem.setdefault(model_id.replace("/", "__"), []).append(model_id)
    matched: dict[str, Path] = {}
    unmatched, ambiguous = [], []
    for stem, path in cards:
        hits = sorted(set(by_stem.get(stem, [])))
        if len(hits) == 1 and hits[0] not in matched:
            matched[hits[0]] = path
        elif len(hits) > 1:
            ambiguous.append(stem)
        else:
            unmatched.append(stem)
    return matched, unmatched, ambiguous


def iso_from_epoch(value: Any) -> str | None:
    """``2024-09-16T21:53:35Z`` from epoch seconds (None stays None)."""
    if not isinstance(value, int | float) or isinstance(value, bool):
        return None
    return datetime.fromtimestamp(value, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def modelscope_record(dolphin: dict[str, Any]) -> dict[str, Any]:
    """A dolphin-search record projected onto the OpenAPI model shape; the original stays under ``dolphin``."""
    model_id = dolphin.get("id") or f"{dolphin.get('Path')}/{dolphin.get('Name')}"
    license_value = dolphin.get("License") if isinstance(dolphin.get("License"), str) else ""
    tasks = [t["Name"] for t in dolphin.get("Tasks") or [] if isinstance(t, dict) and t.get("Name")]
    model_types = [m for m in dolphin.get("ModelType") or [] if isinstance(m, str) and m]
    tags = [f"license:{license_value}"] if license_value else []
    tags += [f"model_type:{m}" for m in model_types]
    tags += [f"task:{t}" for t in tasks]
    tags += [t for t in dolphin.get("Tags") or [] if isinstance(t, str) and t]
    return {
        "id": model_id,
        "display_name": dolphin.get("ChineseName") or dolphin.get("Name") or model_id.split("/")[-1],
        "description": dolphin.get("Description") or "",
        "downloads": dolphin.get("Downloads", 0),
        "likes": dolphin.get("Stars", 0),
        "license": license_value,
        "tasks": tasks,
        "created_at": iso_from_epoch(dolphin.get("CreatedTime")),
        "last_modified": iso_from_epoch(dolphin.get("LastUpdatedTime")),
        "file_size": dolphin.get("StorageSize"),
        "tags": tags,
        "private": dolphin.get("Visibility", 5) != 5,
        "gated": False,
        "dolphin": dolphin,
    }


def build_sample_world(real: Path, out: Path) -> SampleSummary:
    """Write ``out/hf.jsonl.gz``, ``modelscope.jsonl.gz``, ``provenance.jsonl.gz`` and ``world.json``."""
    real, out = Path(real), Path(out)
    summary = SampleSummary(out)
    records, source = load_hf_sources(real)
    ids = sorted(records)
    listing_ids = {json.loads(line)["id"] for line in (real / LISTING).open(encoding="utf-8") if line.strip()}
    cards, summary.cards_unmatched, summary.cards_ambiguous = match_cards(ids, card_files(real))
    rows, provenance = [], []
    for model_id in ids:
        rec = records[model_id]
        card = cards.get(model_id)
        if card is not None:
            rec = {**rec, "readme": card.read_text("utf-8")}
        rows.append(rec)
        provenance.append({"id": model_id, "record": source[model_id],
                           "card": str(card.relative_to(real)) if card else None,
                           "qwen_listing": model_id in listing_ids})
    summary.hf_records = write_jsonl(out / "hf.jsonl.gz", rows, level=9)
    summary.listing_entries = len(listing_ids)
    summary.full_records = sum(1 for s in source.values() if s.startswith(MODEL_INFO_DIR))
    summary.surrounding_records = len(ids) - len(listing_ids)
    summary.cards_attached = len(cards)
    write_jsonl(out / "provenance.jsonl.gz", provenance, level=9)
    dump = json.loads(_need(real / MODELSCOPE_FILE).read_text("utf-8"))
    ms = [modelscope_record(m) for m in dump["models"]]
    summary.modelscope_records = write_jsonl(out / "modelscope.jsonl.gz", ms, level=9)
    manifest = {"name": "sample", "generated_at": None, "seed": None,
                "provenance": "real recorded data, see SOURCES.md; rebuilt by: " + REBUILD_COMMAND,
                "counts": summary.counts(), "cards_unmatched": summary.cards_unmatched,
                "cards_ambiguous": summary.cards_ambiguous}
    (out / "world.json").write_text(json.dumps(manifest, indent=2, ensure_ascii=False) + "\n", "utf-8")
    return summary
