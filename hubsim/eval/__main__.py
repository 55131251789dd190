"""Every inference figure of docs/inference.md, reproduced by one command:

    python -m hubsim.eval [--doc docs/inference.md] [--json]

Runs the hidden-declared evaluation on each real set (:func:`hubsim.eval.real_sets.real_set_dirs`) at the library's
threshold, prints the per-set table, and with ``--doc`` rewrites each set's figures block and the summary table.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from hubsim.eval.inference import summary_table, update_doc
from hubsim.eval.real_sets import evaluate_sets


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--root", type=Path, default=Path("."), help="repository root (data/sample, data/eval)")
    ap.add_argument("--folds", type=int, default=5)
    ap.add_argument("--doc", type=Path, help="rewrite the figures of this markdown file")
    ap.add_argument("--json", action="store_true", help="print every figure as JSON")
    args = ap.parse_args()
    results = evaluate_sets(args.root, folds=args.folds)
    if args.doc is not None:
        update_doc(args.doc, *results, summary=True)
    print(json.dumps(results, indent=1) if args.json else summary_table(results))


if __name__ == "__main__":
    main()
