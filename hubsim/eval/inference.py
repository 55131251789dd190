"""Measure lineage inference honestly: hide declared parents, infer them back, count what comes back right.

Two measurements (method and caveats in docs/inference.md):

* ``hidden_declared``: k-fold cross-validation over the models whose parent *is* declared and stored. For each
  fold, the fold's declared edges are removed from the graph and every declared signal of the fold's models is
  stripped (``base_model`` tags and card keys, the card's front matter); the other folds stay visible, as the
  declared part of the Hub does in production. Truth: the declared parents; family truth: a declared path to an
  official root.
* ``undeclared_truth`` (generated worlds only): inference in production mode (the whole declared graph visible)
  on the models that declare nothing, scored against the generator's ``_truth/hf_lineage.jsonl``.
"""

from __future__ import annotations

import copy
import json
import re
import tempfile
import time
import zlib
from collections import Counter, defaultdict
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import numpy as np
import polars as pl

from analysis.inference import Features, Inference, infer, load_features
from analysis.lineage_build import LineageGraph, build_graph, set_edges
from analysis.lineage_queries import traverse
from crawler.config import DEFAULT_ROOT_AUTHORS
from crawler.store.db import open_store
from crawler.store.schema import RELATIONS
from hubsim.eval.world_store import load_world_store


def _official(graph: LineageGraph, root_authors: tuple[str, ...]) -> np.ndarray:
    roots = {a.lower() for a in root_authors}
    return np.array([(a or m.split("/", 1)[0]).lower() in roots for a, m in zip(graph.authors, graph.ids, strict=True)],
                    bool)


def _family_mask(graph: LineageGraph, official: np.ndarray) -> np.ndarray:
    mask = official.copy()
    if official.any():
        mask[traverse(graph, np.flatnonzero(official), "down").nodes] = True
    return mask


def _without_children(graph: LineageGraph, hidden: set[int]) -> LineageGraph:
    """A copy of ``graph`` without the declared edges of the ``hidden`` children."""
    keep = ~np.isin(graph.child, np.fromiter(hidden, np.int64, len(hidden)))
    g = copy.copy(graph)
    g.report = copy.deepcopy(graph.report)
    set_edges(g, pl.DataFrame({"child": graph.child[keep], "parent": graph.parent[keep],
                               "relation": graph.relation[keep], "rule": [r for r, k in zip(graph.rule, keep, strict=True) if k],
                               "inferred": graph.inferred[keep], "confidence": graph.confidence[keep]}))
    return g


def _ratio(a: int, b: int) -> float | None:
    return round(a / b, 4) if b else None


class Scorer:
    """Accumulates predictions against truth: family membership, exact parents, relations, per rule."""

    def __init__(self) -> None:
        self.fam = Counter()  # tp fp fn tn
        self.edges_pred = self.edges_true = self.edges_hit = 0
        self.models = self.models_hit = self.models_predicted = self.rel_ok = 0
        self.by_rule: dict[str, Counter] = defaultdict(Counter)
        self.by_relation: dict[str, Counter] = defaultdict(Counter)

    def add(self, pred: Inference | None, true_parents: dict[str, str], true_family: bool, pred_family: bool,
            ids: list[str]) -> None:
        self.models += 1
        self.fam[("tp" if true_family else "fp") if pred_family else ("fn" if true_family else "tn")] += 1
        parents = [ids[p] for p in pred.parents] if pred else []
        hits = [p for p in parents if p in true_parents]
        self.edges_pred += len(parents)
        self.edges_true += len(true_parents)
        self.edges_hit += len(hits)
        if parents:
            self.models_predicted += 1
        if hits:
            self.models_hit += 1
            self.rel_ok += pred is not None and pred.relation == true_parents[hits[0]]
        if true_parents:  # models whose truth is "no parent" only count in the family figures
            true_rel = next(iter(true_parents.values()))
            self.by_relation[true_rel]["models"] += 1
            self.by_relation[true_rel]["hit"] += bool(hits)
        if pred is not None:
            r = self.by_rule[pred.rule]
            r["models"] += 1
            r["edges"] += len(parents)
            r["edge_hits"] += len(hits)
            r["family_right"] += pred_family == true_family

    def result(self) -> dict[str, Any]:
        f = self.fam
        return {
            "models": self.models,
            "family": {"precision": _ratio(f["tp"], f["tp"] + f["fp"]), "recall": _ratio(f["tp"], f["tp"] + f["fn"]),
                       "tp": f["tp"], "fp": f["fp"], "fn": f["fn"], "tn": f["tn"]},
            "parent": {"precision": _ratio(self.edges_hit, self.edges_pred),
                       "recall": _ratio(self.edges_hit, self.edges_true),
                       "predicted_edges": self.edges_pred, "true_edges": self.edges_true, "hits": self.edges_hit,
                       "models_with_prediction": self.models_predicted, "models_with_a_right_parent": self.models_hit,
                       "relation_right_when_parent_right": _ratio(self.rel_ok, self.models_hit)},
            "by_rule": {rule: {"models": c["models"], "parent_precision": _ratio(c["edge_hits"], c["edges"]),
                               "family_accuracy": _ratio(c["family_right"], c["models"])}
                        for rule, c in sorted(self.by_rule.items())},
            "recall_by_true_relation": {rel: {"models": c["models"], "recall": _ratio(c["hit"], c["models"])}
                                        for rel, c in sorted(self.by_relation.items())},
        }


def _predicted_family(pred: Inference | None, fam: np.ndarray) -> bool:
    if pred is None:
        return False
    return not pred.parents or any(bool(fam[p]) for p in pred.parents)  # membership-only rules are family claims


def evaluate_hidden(graph: LineageGraph, features: dict[int, Features], *, folds: int = 5,
                    root_authors: tuple[str, ...] = DEFAULT_ROOT_AUTHORS) -> dict[str, Any]:
    """k-fold evaluation over models with declared, stored parents (see the module docstring)."""
    official = _official(graph, root_authors)
    true_family = _family_mask(graph, official)
    truth: dict[int, dict[str, str]] = defaultdict(dict)
    for c, p, r, inf in zip(graph.child.tolist(), graph.parent.tolist(), graph.relation.tolist(),
                            graph.inferred.tolist(), strict=True):
        if not inf and not official[c]:
            truth[c][graph.ids[p]] = RELATIONS[r]
    fold_of = {c: zlib.crc32(graph.ids[c].encode()) % folds for c in truth}
    scorer = Scorer()
    for k in range(folds):
        hidden = {c for c, f in fold_of.items() if f == k}
        if not hidden:
            continue
        visible = _without_children(graph, hidden)
        fam = _family_mask(visible, official)
        preds = {i.child: i for i in infer(visible, features, candidates=sorted(hidden), root_authors=root_authors)}
        for c in sorted(hidden):
            p = preds.get(c)
            scorer.add(p, truth[c], bool(true_family[c]), _predicted_family(p, fam), graph.ids)
    return {"folds": folds, **scorer.result()}


def _truth_lines(world: Path) -> Iterable[dict[str, Any]]:
    path = world / "_truth" / "hf_lineage.jsonl"
    if not path.exists():
        return []
    with path.open(encoding="utf-8") as fh:
        return [json.loads(line) for line in fh if line.strip()]


def evaluate_undeclared(world: Path, graph: LineageGraph, features: dict[int, Features], *,
                        root_authors: tuple[str, ...] = DEFAULT_ROOT_AUTHORS) -> dict[str, Any] | None:
    """Production-mode inference on models that declare nothing, against the generator's truth."""
    lines = _truth_lines(world)
    if not lines:
        return None
    official = _official(graph, root_authors)
    node = {m: i for i, m in enumerate(graph.ids)}
    targets = [t for t in lines if t["declared"] == "none" and t["id"] in node and not official[node[t["id"]]]]
    preds = {i.child: i for i in infer(graph, features, candidates=[node[t["id"]] for t in targets],
                                       root_authors=root_authors)}
    fam = _family_mask(graph, official)
    scorer = Scorer()
    missing_parent = 0
    for t in targets:
        c = node[t["id"]]
        parents = {p["id"]: p["relation"] for p in t["parents"]}
        missing_parent += any(p not in node for p in parents)
        scorer.add(preds.get(c), parents, bool(t["family"]), _predicted_family(preds.get(c), fam), graph.ids)
    return {**scorer.result(), "true_parent_not_in_store": missing_parent,
            "declared_wrong_not_evaluated": sum(t["declared"] == "wrong" for t in lines)}


def evaluate_world(world: Path, *, folds: int = 5, root_authors: tuple[str, ...] = DEFAULT_ROOT_AUTHORS
                   ) -> dict[str, Any]:
    """Load ``world`` into a scratch SQLite store and run both measurements."""
    started = time.perf_counter()
    with tempfile.TemporaryDirectory(prefix="hubtree-eval-") as tmp:
        store = open_store(f"sqlite:///{tmp}/eval.db")
        records = load_world_store(world, store)
        graph = build_graph(store, hub="hf")
        features = load_features(store, graph)
        store.engine.dispose()
    loaded = time.perf_counter()
    hidden = evaluate_hidden(graph, features, folds=folds, root_authors=root_authors)
    undeclared = evaluate_undeclared(world, graph, features, root_authors=root_authors)
    name = json.loads((world / "world.json").read_text()).get("name") if (world / "world.json").exists() else None
    return {"world": str(world), "name": name or world.name, "records": records, "models": graph.n_nodes,
            "declared_edges": int((~graph.inferred).sum()), "hidden_declared": hidden, "undeclared_truth": undeclared,
            "seconds": {"load": round(loaded - started, 1), "evaluate": round(time.perf_counter() - loaded, 1)}}


def _pct(x: float | None) -> str:
    return "–" if x is None else f"{100 * x:.1f}%"


def render_markdown(result: dict[str, Any]) -> str:
    """The figures of one world as markdown (what ``--doc`` writes into docs/inference.md)."""
    out = [f"### World `{result['name']}` ({result['models']:,} HF models, {result['declared_edges']:,} declared "
           f"edges in the graph)", ""]
    sections = [("Hidden declared parents", result["hidden_declared"])]
    if result.get("undeclared_truth"):
        sections.append(("Undeclared models vs generator truth", result["undeclared_truth"]))
    out += ["| measurement | models | family precision | family recall | parent precision | parent recall "
            "| relation right (when parent right) |", "|---|---:|---:|---:|---:|---:|---:|"]
    for title, s in sections:
        out.append(f"| {title} | {s['models']:,} | {_pct(s['family']['precision'])} | {_pct(s['family']['recall'])} "
                   f"| {_pct(s['parent']['precision'])} | {_pct(s['parent']['recall'])} "
                   f"| {_pct(s['parent']['relation_right_when_parent_right'])} |")
    for title, s in sections:
        out += ["", f"{title}, by rule:", "", "| rule | models | parent precision | family accuracy |",
                "|---|---:|---:|---:|"]
        out += [f"| `{rule}` | {c['models']:,} | {_pct(c['parent_precision'])} | {_pct(c['family_accuracy'])} |"
                for rule, c in s["by_rule"].items()]
        out += ["", f"{title}, parent recall by true relation: " + ", ".join(
            f"{rel} {_pct(c['recall'])} of {c['models']:,}" for rel, c in s["recall_by_true_relation"].items())]
    h = result["hidden_declared"]
    out += ["", f"Family confusion (hidden declared): tp {h['family']['tp']:,}, fp {h['family']['fp']:,}, "
            f"fn {h['family']['fn']:,}, tn {h['family']['tn']:,}; {h['folds']} folds; load "
            f"{result['seconds']['load']} s, evaluation {result['seconds']['evaluate']} s."]
    return "\n".join(out)


def update_doc(doc: Path, result: dict[str, Any]) -> None:
    """Replace (or append) this world's figures between ``<!-- figures:NAME -->`` markers in ``doc``."""
    start, end = f"<!-- figures:{result['name']} -->", f"<!-- /figures:{result['name']} -->"
    block = f"{start}\n{render_markdown(result)}\n{end}"
    text = doc.read_text(encoding="utf-8") if doc.exists() else ""
    pattern = re.compile(re.escape(start) + r".*?" + re.escape(end), re.DOTALL)
    text = pattern.sub(lambda _: block, text) if pattern.search(text) else text.rstrip("\n") + "\n\n" + block + "\n"
    doc.write_text(text, encoding="utf-8")
