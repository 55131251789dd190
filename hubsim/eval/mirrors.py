"""Score stored cross-hub mirror links against a generated world's ``_truth/mirrors.jsonl``."""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy import select

from crawler.store.db import Store
from crawler.store.schema import Mirror


@dataclass(frozen=True, slots=True)
class MirrorScore:
    """Precision and recall of stored links against a ground truth."""

    precision: float
    recall: float
    true_positives: int
    false_positives: int
    false_negatives: int

    def describe(self) -> str:
        return (f"precision {self.precision:.3f}, recall {self.recall:.3f} (tp {self.true_positives}, "
                f"fp {self.false_positives}, fn {self.false_negatives})")


def load_truth(path: Path | str) -> set[tuple[str, str]]:
    """``(modelscope_id, hf_id)`` pairs of a ``_truth/mirrors.jsonl`` file."""
    pairs = set()
    with open(path, encoding="utf-8") as fh:
        for line in fh:
            if line.strip():
                row = json.loads(line)
                pairs.add((row["modelscope_id"], row["hf_id"]))
    return pairs


def score(links: Iterable[tuple[str, str]], truth: Iterable[tuple[str, str]], *, min_confidence: float = 0.0,
          confidences: dict[tuple[str, str], float] | None = None,
          universe: set[str] | None = None) -> MirrorScore:
    """Precision/recall of ``links`` against ``truth``; ``universe`` limits the truth to the ModelScope ids seen."""
    found = {p for p in links if (confidences or {}).get(p, 1.0) >= min_confidence}
    expected = {p for p in truth if universe is None or p[0] in universe}
    tp = len(found & expected)
    fp, fn = len(found - expected), len(expected - found)
    return MirrorScore(tp / (tp + fp) if tp + fp else 1.0, tp / (tp + fn) if tp + fn else 1.0, tp, fp, fn)


def stored_links(store: Store) -> dict[tuple[str, str], float]:
    """The stored links with their confidence."""
    tbl = Mirror.__table__  # type: ignore[attr-defined]
    with store.engine.connect() as conn:
        return {(r.modelscope_id, r.hf_id): r.confidence for r in conn.execute(select(tbl))}
