"""Build the real lineage evaluation sets (``data/eval/<name>/``) from the recorded public data.

Each set is a world directory (``hf.jsonl.gz`` of listing-like records, ``world.json``) whose declared lineage is
real; the evaluation hides it fold by fold (:mod:`hubsim.eval.inference`). Records keep only what the source
states; nothing is invented (a parent named by a child but absent from the source is a bare ``{"id"}`` record).
Provenance and recipes: ``data/eval/SOURCES.md``. Rebuild byte for byte with::

    python -m hubsim.eval.real_sets --real ../shared/data/real --out data/eval
"""

from __future__ import annotations

import argparse
import contextlib
import csv
import gzip
import json
import re
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import yaml

from hubsim.eval.inference import evaluate_world

#: The sets built here (the bundled sample ``data/sample`` is the fourth real set).
SETS = ("deepseek-trees", "atlas-cards", "atlas-annotated", "leaderboard")
MAX_README = 16 * 1024  # characters of card text kept per record (keeps the vendored files small)
_SIBLING = re.compile(r"rfilename='([^']*)'")
_CLASS_SUFFIX = re.compile(r"(?:For(?:CausalLM|ConditionalGeneration|SequenceClassification)|LMHeadModel|Model)$")


def _iso(value: str | None) -> str | None:
    """``2025-02-23 21:07:44+00:00`` or ``2024-05-11`` as the Hub's ``2025-02-23T21:07:44.000Z``."""
    if not value:
        return None
    day, _, clock = value.strip().partition(" ")
    return f"{day}T{(clock[:8] or '00:00:00')}.000Z"


def _write(out: Path, name: str, records: list[dict[str, Any]], manifest: dict[str, Any]) -> None:
    """``hf.jsonl.gz`` sorted by id, gzip ``mtime=0`` (same input, same bytes), and ``world.json``."""
    directory = out / name
    directory.mkdir(parents=True, exist_ok=True)
    records = sorted(records, key=lambda r: r["id"])
    body = "".join(json.dumps(r, ensure_ascii=False, sort_keys=True) + "\n" for r in records).encode()
    with open(directory / "hf.jsonl.gz", "wb") as raw, gzip.GzipFile(fileobj=raw, mode="wb", mtime=0) as fh:
        fh.write(body)
    manifest = {"name": name, "records": len(records), **manifest}
    (directory / "world.json").write_text(json.dumps(manifest, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")


def _with_bare_parents(records: dict[str, dict[str, Any]], parents: Iterable[str]) -> None:
    for p in parents:
        records.setdefault(p, {"id": p})


def _tree_record(meta: dict[str, Any], card: str | None) -> dict[str, Any]:
    """A ``huggingface_hub.ModelInfo`` dump of the trees as a listing record (the fields our parser reads)."""
    card_data = meta.get("card_data")
    if isinstance(card_data, str):
        try:
            card_data = yaml.safe_load(card_data)
        except yaml.YAMLError:
            card_data = None
    config = meta.get("config") if isinstance(meta.get("config"), dict) else None
    rec: dict[str, Any] = {
        "id": meta["id"], "author": meta.get("author"), "createdAt": _iso(meta.get("created_at")),
        "tags": list(meta.get("tags") or []), "library_name": meta.get("library_name"),
        "pipeline_tag": meta.get("pipeline_tag"), "cardData": card_data if isinstance(card_data, dict) else None,
        "config": {k: config[k] for k in ("architectures", "model_type") if k in config} if config else None,
        "siblings": [{"rfilename": f} for s in meta.get("siblings") or [] for f in _SIBLING.findall(str(s))],
    }
    for key in ("safetensors", "gguf"):
        value = meta.get(key)
        if isinstance(value, dict):
            rec[key] = {k: value[k] for k in ("total", "architecture", "context_length") if k in value}
    if card:
        rec["readme"] = card[:MAX_README]
    return {k: v for k, v in rec.items() if v is not None}


def build_deepseek_trees(real: Path) -> tuple[list[dict[str, Any]], dict[str, Any]]:
    """The two DeepSeek model trees (R1, V3) of April 2025: full ModelInfo and card of every crawled model."""
    records: dict[str, dict[str, Any]] = {}
    no_metadata = 0
    files = sorted((real / "hf_model_trees_oderinwale").glob("*.json"))
    for path in files:
        for row in json.loads(path.read_text(encoding="utf-8"))["models"]:
            meta = row.get("metadata")
            if isinstance(meta, str) and meta.startswith("{"):
                records[row["model_id"]] = _tree_record(json.loads(meta), row.get("card"))
            else:
                no_metadata += 1
                records.setdefault(row["model_id"], {"id": row["model_id"]})
    return list(records.values()), {"source": [p.name for p in files], "records_without_metadata": no_metadata}


def _clean_id(value: str) -> str:
    return value.strip().rstrip("/")


def build_atlas_cards(real: Path) -> tuple[list[dict[str, Any]], dict[str, Any]]:
    """Model Atlas: 21,890 child → parent pairs named in model cards (Jan 2025); ids only, untyped edges."""
    records: dict[str, dict[str, Any]] = {}
    parents = []
    with open(real / "model_atlas_2025-01" / "card_parents.csv", encoding="utf-8", newline="") as fh:
        for row in csv.DictReader(fh):
            child, parent = _clean_id(row["id"]), _clean_id(row["base_model"])
            if child and parent and child != parent:
                records[child] = {"id": child, "tags": [f"base_model:{parent}"]}
                parents.append(parent)
    _with_bare_parents(records, parents)
    return list(records.values()), {"source": "model_atlas_2025-01/card_parents.csv", "children": len(parents)}


def build_atlas_annotated(real: Path) -> tuple[list[dict[str, Any]], dict[str, Any]]:
    """Model Atlas hand-annotated lineage (1,093 rows; merges list several parents; ``source`` rows are bases)."""
    records: dict[str, dict[str, Any]] = {}
    parents = []
    with open(real / "model_atlas_2025-01" / "manually_annotated.csv", encoding="utf-8", newline="") as fh:
        for row in csv.DictReader(fh):
            child = _clean_id(row["current_model"])
            bases = [_clean_id(b) for b in (row["base_model"] or "").split(",") if _clean_id(b)]
            relation = row["base_model_relation"]
            if relation == "source" or not bases:
                records.setdefault(child, {"id": child})
                continue
            kind = "merge:" if relation == "merge" else ""
            records[child] = {"id": child, "tags": [f"base_model:{kind}{b}" for b in bases if b != child]}
            parents += bases
    _with_bare_parents(records, parents)
    return list(records.values()), {"source": "model_atlas_2025-01/manually_annotated.csv"}


def build_leaderboard(real: Path) -> tuple[list[dict[str, Any]], dict[str, Any]]:
    """Open LLM Leaderboard contents (2024-12-08): base model, architecture class, parameters, upload date."""
    records: dict[str, dict[str, Any]] = {}
    parents = []
    path = real / "open_llm_leaderboard_contents" / "open_llm_leaderboard_2024_12_08.csv"
    with open(path, encoding="utf-8", newline="") as fh:
        for row in csv.DictReader(fh):
            child = _clean_id(row["fullname"])
            base = _clean_id(row["Base Model"] or "")
            arch = (row["Architecture"] or "").strip()
            tags = [f"license:{row['Hub License']}"] if row["Hub License"] else []
            if row["Not_Merged"] == "False":
                tags.append("merge")
            rec: dict[str, Any] = {"id": child, "tags": tags, "createdAt": _iso(row["Upload To Hub Date"])}
            if arch and arch != "?":
                rec["config"] = {"architectures": [arch], "model_type": _CLASS_SUFFIX.sub("", arch).lower()}
            with contextlib.suppress(ValueError):
                rec["safetensors"] = {"total": round(float(row["#Params (B)"]) * 1e9)}
            if base and base != child and base != "Removed" and "/" in base:
                rec["tags"].append(f"base_model:{base}")
                parents.append(base)
            records[child] = {k: v for k, v in rec.items() if v is not None}
    _with_bare_parents(records, parents)
    return list(records.values()), {"source": path.name,
                                    "derived": "config.model_type from the architecture class name"}


BUILDERS = {"deepseek-trees": build_deepseek_trees, "atlas-cards": build_atlas_cards,
            "atlas-annotated": build_atlas_annotated, "leaderboard": build_leaderboard}


def real_set_dirs(root: Path) -> dict[str, Path]:
    """Every real evaluation set under the repository ``root``: the bundled sample, then ``data/eval/<name>``."""
    return {"sample": root / "data" / "sample", **{name: root / "data" / "eval" / name for name in SETS}}


def evaluate_sets(root: Path, names: Iterable[str] = ("all",), *, folds: int = 5) -> list[dict[str, Any]]:
    """:func:`hubsim.eval.inference.evaluate_world` on the named real sets (``all``: every one, in order).

    Raises ``ValueError`` for an unknown name and ``FileNotFoundError`` for a set missing under ``root``.
    """
    dirs = real_set_dirs(root)
    chosen = list(dirs) if "all" in names else list(dict.fromkeys(names))
    unknown = [n for n in chosen if n not in dirs]
    if unknown:
        raise ValueError(f"unknown evaluation set {', '.join(unknown)} (choose from {', '.join(dirs)} or all)")
    for name in chosen:
        if not dirs[name].is_dir():
            raise FileNotFoundError(2, f"evaluation set {name} not found (run from the repository root)",
                                    str(dirs[name]))
    return [evaluate_world(dirs[name], folds=folds) for name in chosen]


def build_all(real: Path, out: Path) -> dict[str, int]:
    """Write every set under ``out``; returns records per set."""
    counts = {}
    for name in SETS:
        records, manifest = BUILDERS[name](real)
        _write(out, name, records, {"provenance": "real recorded data, see data/eval/SOURCES.md", **manifest})
        counts[name] = len(records)
    return counts


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--real", type=Path, required=True, help="the shared real-data directory")
    ap.add_argument("--out", type=Path, default=Path("data/eval"))
    args = ap.parse_args()
    print(json.dumps(build_all(args.real, args.out)))


if __name__ == "__main__":
    main()
