"""Calibrate the inference rules' confidences on the real evaluation sets, and check them set by set.

    python -m hubsim.eval.calibrate            # prints the CONFIDENCE table for analysis/inference.py

Per rule and per set: precision of the exact parents (and of the family claims) among the hidden declared models
where the rule fired. A rule's confidence is the one-sided 95 % Wilson lower bound of its precision pooled over
all sets, capped by its worst measured precision on any set where it fired at least
:data:`~hubsim.eval.inference.MIN_SUPPORT` times, rounded down to 0.01: no set where the rule is measured sees it
less precise than its confidence, and no set alone sets it. Per-rule bounds do not yet make every *level* hold on
every set (a level pools the rules at or above it, and a set may meet a rule a few times, all wrong), so
:func:`hold_levels` then lowers the rules of a level that falls short on a set to the precision measured there,
until every level of every set holds. ``--leave-one-out`` also reports, per set, the figures
at the default threshold with confidences calibrated on the *other* sets only.
"""

from __future__ import annotations

import argparse
import json
import math
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from analysis import inference
from hubsim.eval.inference import (
    MIN_SUPPORT,
    Case,
    Claim,
    hidden_cases,
    load_set,
    reliability,
    rule_counts,
    score,
    wilson_low,
)
from hubsim.eval.real_sets import real_set_dirs


def _bound(per_set: list[tuple[int, int]]) -> float:
    pooled = wilson_low(sum(h for h, _ in per_set), sum(n for _, n in per_set))
    worst = min((h / n for h, n in per_set if n >= MIN_SUPPORT), default=1.0)
    return math.floor(min(pooled, worst) * 100) / 100


def calibrate(counts: dict[str, dict[str, Counter]]) -> dict[str, tuple[float, float]]:
    """``{rule: (parent confidence, family confidence)}`` from per-set rule counts (see the module docstring)."""
    rules = sorted({r for per in counts.values() for r in per})
    table = {}
    for rule in rules:
        sets = [per[rule] for per in counts.values() if rule in per]
        parent = _bound([(c["hits"], c["edges"]) for c in sets]) if any(c["edges"] for c in sets) else 0.0
        family = _bound([(c["right"], c["claims"]) for c in sets])
        table[rule] = (parent, family)
    return table


#: Per kind of confidence (0: parent, 1: family): the rule counts of a right and of a made prediction.
_KINDS = (("hits", "edges"), ("right", "claims"))


def _shortfalls(cases: dict[str, list[Case]], table: dict[str, tuple[float, float]]
                ) -> Iterator[tuple[str, float, int, float]]:
    """``(set, level, kind, precision)`` of every level whose measured precision falls short of it on a set."""
    for name, set_cases in cases.items():
        for row in reliability(_with_table(set_cases, table))["levels"]:
            for kind, (n, precision) in enumerate(((row["edges"], row["parent_precision"]),
                                                   (row["family_claims"], row["family_precision"]))):
                if n >= MIN_SUPPORT and precision is not None and precision < row["confidence"]:
                    yield name, row["confidence"], kind, precision


def hold_levels(cases: dict[str, list[Case]], table: dict[str, tuple[float, float]]
                ) -> dict[str, tuple[float, float]]:
    """``table`` with the rules of a level that falls short on a set — those of its rules that erred there —
    lowered to the precision measured there (parent and family confidences apart), repeated until every set's
    reliability curve holds (or no rule of a short level erred)."""
    table = dict(table)
    erred = {name: [{rule for rule, c in rule_counts(set_cases).items() if c[right] < c[made]}
                    for right, made in _KINDS] for name, set_cases in cases.items()}
    while True:
        for name, level, kind, precision in _shortfalls(cases, table):
            lower = [rule for rule, conf in table.items() if conf[kind] == level and rule in erred[name][kind]]
            if lower:
                to = math.floor(precision * 100) / 100
                for rule in lower:
                    table[rule] = (to, table[rule][1]) if kind == 0 else (table[rule][0], to)
                break
        else:
            return table


def _with_table(cases: list[Case], table: dict[str, tuple[float, float]]) -> list[Case]:
    out = []
    for c in cases:
        claims = [Claim(k.rule, table.get(k.rule, (0.0, 0.0))[1], k.families) for k in c.claims]
        conf = table.get(c.rule, (0.0, 0.0))[0] if c.rule else 0.0
        out.append(Case(c.true_parents, c.true_families, c.known, c.parents, c.relation, c.rule, conf, claims))
    return out


def run(root: Path, folds: int = 5, leave_one_out: bool = False) -> dict[str, Any]:
    """Cases of every real set, the calibrated table, and (optionally) the leave-one-set-out figures."""
    cases = {}
    for name, world in real_set_dirs(root).items():
        s = load_set(world)
        cases[name] = hidden_cases(s.graph, s.features, folds=folds, params=s.params)
    counts = {name: rule_counts(c) for name, c in cases.items()}
    out: dict[str, Any] = {"confidence": hold_levels(cases, calibrate(counts))}
    if leave_one_out:
        held = {}
        for name in cases:
            others = {k: v for k, v in cases.items() if k != name}
            table = hold_levels(others, calibrate({k: v for k, v in counts.items() if k != name}))
            s = score(_with_table(cases[name], table), inference.DEFAULT_THRESHOLD)
            held[name] = {"family": {k: s["family"][k] for k in ("precision", "recall")},
                          "parent": {k: s["parent"][k] for k in ("precision", "recall")}}
        out["leave_one_set_out"] = held
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--root", type=Path, default=Path("."), help="repository root (data/sample, data/eval)")
    ap.add_argument("--folds", type=int, default=5)
    ap.add_argument("--leave-one-out", action="store_true")
    args = ap.parse_args()
    result = run(args.root, args.folds, args.leave_one_out)
    print("CONFIDENCE: dict[str, tuple[float, float]] = {")
    for rule, (p, f) in result["confidence"].items():
        print(f'    "{rule}": ({p}, {f}),')
    print("}")
    if args.leave_one_out:
        print(json.dumps(result["leave_one_set_out"], indent=1))


if __name__ == "__main__":
    main()
