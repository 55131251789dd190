"""Every inference figure of docs/inference.md, reproduced by one command:

    python -m hubsim.eval [--doc docs/inference.md] [--json]

Runs the hidden-declared evaluation on each real set (:func:`hubsim.eval.real_sets.real_set_dirs`) at the library's
threshold, prints the per-set table, and with ``--doc`` rewrites each set's figures block and the summary table.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import Any

from hubsim.eval.inference import evaluate_world, pct, replace_block, update_doc
from hubsim.eval.real_sets import real_set_dirs

#: Targets of issue 15 (exact parent precision at recall, family precision at recall).
TARGETS = {"parent": (0.90, 0.40), "family": (0.95, 0.85)}


def summary_table(results: list[dict[str, Any]]) -> str:
    """One row per set: family and parent P/R at the threshold, calibration, targets met."""
    rows = ["| set | models evaluated | family P | family R | parent P | parent R | calibrated | targets met |",
            "|---|---:|---:|---:|---:|---:|---|---|"]
    for r in results:
        h = r["hidden_declared"]
        met = [k for k, (p, rec) in TARGETS.items() if (h[k]["precision"] or 0) >= p and (h[k]["recall"] or 0) >= rec]
        rows.append(f"| `{r['name']}` | {h['models']:,} | {pct(h['family']['precision'])} "
                    f"| {pct(h['family']['recall'])} | {pct(h['parent']['precision'])} "
                    f"| {pct(h['parent']['recall'])} | {'yes' if h['by_confidence']['calibrated'] else 'NO'} "
                    f"| {', '.join(met) or 'none'} |")
    return "\n".join(rows)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--root", type=Path, default=Path("."), help="repository root (data/sample, data/eval)")
    ap.add_argument("--folds", type=int, default=5)
    ap.add_argument("--doc", type=Path, help="rewrite the figures of this markdown file")
    ap.add_argument("--json", action="store_true", help="print every figure as JSON")
    args = ap.parse_args()
    results = [evaluate_world(w, folds=args.folds) for w in real_set_dirs(args.root).values()]
    table = summary_table(results)
    if args.doc is not None:
        for r in results:
            update_doc(args.doc, r)
        replace_block(args.doc, "summary", table)
    print(json.dumps(results, indent=1) if args.json else table)


if __name__ == "__main__":
    main()
