"""Infer undeclared lineage from cheap signals; every inferred edge carries its rule and a calibrated confidence.

Candidates: models with no declared parent that are not roots and show a hint (a family architecture, a family
architecture's name in the id, a quantization token, an ``owner_-_name`` id, a card signal). Rules, first that
finds a stored parent wins:

1. ``card:adapter-base``: ``base_model_name_or_path`` in the card data (a PEFT adapter config copied to the card).
2. ``card:mergekit``: the ``model:``/``base_model:`` entries of a mergekit YAML config in the card body.
3. ``name:owner-embedded``: the id spells another model's full id, owner included (``RichardErkhov/Qwen_-_Qwen2-7B-gguf``,
   ``silent666/Qwen-Qwen2-7B-1718997964``).
4. ``name:quant-suffix:*``: the name is a stored model's name plus quantization tokens (``-GGUF``, ``-AWQ``,
   ``-GPTQ-Int4``, ``-bnb-4bit``, ``-exl2``, ``-i1``, ``-MLX``, ``-4.0bpw``, ``-Q4_K_M``, ``mlx-community/…-4bit``…).
5. ``card:base-mention:*``: the card body names stored model ids (``huggingface.co/<id>`` links, ``owner/name``).
6. ``name:base-span:*``: the longest run of name tokens that spells a stored model's name; the name must be
   distinctive (a digit or a family name, ≥ 6 characters).

The suffix of rules 4–6 says how the parent was chosen among the stored models of that name: ``same-author``
(the child's own author has it), ``unique`` (the only one), ``ranked`` (several: an official root first, then the
one with most declared children, the oldest, the smallest id). A parent is never younger than its child nor the
child itself. The relation comes from :data:`crawler.lineage.RELATION_RULES` on the child's own signals.
Besides (parent found or not), a candidate of a family architecture, or whose name carries exactly one family
architecture's word, gets a membership claim without parent (rules ``arch:<model_type>``, ``name-arch:<word>``,
``arch+name:<model_type>`` when both agree): a model whose parent cannot be found is a family member with no
parent, never a guessed edge.

Confidences (:data:`CONFIDENCE`) are calibrated on the five real evaluation sets: per rule, the one-sided 95 %
lower bound of its measured precision pooled over the sets, capped by its worst precision on any set where it
fired at least 20 times, then lowered for a rule that erred where a level still fell short on a set
(``hubsim/eval/calibrate.py``, docs/inference.md), so that on every set, among edges of confidence ≥ c, the measured
precision is ≥ c. Queries and reports count inferred edges of
confidence ≥ :data:`DEFAULT_THRESHOLD` and always show them apart from declared ones.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass
from functools import cache, lru_cache
from typing import Any

import numpy as np
import polars as pl
import yaml
from sqlalchemy import String, cast

from analysis import frames
from analysis.lineage_build import primary_frame, set_edges
from analysis.lineage_graph import _NO_DATE, Labels, LineageGraph
from analysis.lineage_queries import traverse
from crawler.config import DEFAULT_FAMILY_ARCHITECTURES, DEFAULT_ROOT_AUTHORS
from crawler.families import load_families
from crawler.gc_policy import rare_collections
from crawler.lineage import (
    ADAPTER_CONFIG,
    QUANTIZED_FILE_SUFFIX,
    RELATION_TAGS,
    normalise_base,
    relation_by_rules,
)
from crawler.store.db import Store
from crawler.store.schema import RELATIONS, Card, Model

#: Inferred edges (and family claims) with at least this confidence are counted by queries and reports.
DEFAULT_THRESHOLD = 0.9
#: Rule → (confidence of the exact parent, confidence of the family claim); measured, see docs/inference.md.
#: A rule missing here abstains (confidence 0). Regenerate with ``python -m hubsim.eval.calibrate``.
CONFIDENCE: dict[str, tuple[float, float]] = {
    "arch+name:deepseek_v3": (0.0, 0.86),
    "arch+name:gemma": (0.0, 0.59),
    "arch+name:gemma2": (0.0, 0.89),
    "arch+name:llama": (0.0, 0.97),
    "arch+name:mistral": (0.0, 0.77),
    "arch+name:mixtral": (0.0, 0.68),
    "arch+name:phi": (0.0, 0.52),
    "arch+name:phi3": (0.0, 0.64),
    "arch+name:qwen": (0.0, 0.83),
    "arch+name:qwen2": (0.0, 0.96),
    "arch+name:qwen2_moe": (0.0, 0.42),
    "arch+size:gemma2": (0.0, 0.42),
    "arch+size:llama": (0.0, 0.58),
    "arch+size:mistral": (0.0, 0.89),
    "arch+size:mixtral": (0.0, 0.26),
    "arch+size:phi": (0.0, 0.52),
    "arch+size:qwen2": (0.0, 0.85),
    "arch:deepseek_v3": (0.0, 0.64),
    "arch:gemma": (0.0, 0.0),
    "arch:gemma2": (0.0, 0.26),
    "arch:llama": (0.0, 0.0),
    "arch:mistral": (0.0, 0.04),
    "arch:mixtral": (0.0, 0.0),
    "arch:phi": (0.0, 0.0),
    "arch:qwen": (0.0, 0.43),
    "arch:qwen2": (0.0, 0.87),
    "arch:qwen2_moe": (0.0, 0.42),
    "card:base-mention:one": (0.6, 0.8),
    "card:base-mention:several": (0.42, 0.42),
    "name-arch:deepseek": (0.0, 0.97),
    "name-arch:gemma": (0.0, 0.98),
    "name-arch:llama": (0.0, 0.91),
    "name-arch:ministral": (0.0, 0.86),
    "name-arch:mistral": (0.0, 0.9),
    "name-arch:mixtral": (0.0, 0.86),
    "name-arch:paligemma": (0.0, 0.64),
    "name-arch:phi": (0.0, 0.98),
    "name-arch:pixtral": (0.0, 0.0),
    "name-arch:qwen": (0.0, 0.99),
    "name:base-span:ranked": (0.51, 0.99),
    "name:base-span:same-author": (0.14, 0.96),
    "name:base-span:unique": (0.29, 0.99),
    "name:owner-embedded": (0.98, 0.99),
    "name:quant-suffix:ranked": (0.71, 0.99),
    "name:quant-suffix:same-author": (0.58, 0.93),
    "name:quant-suffix:unique": (0.83, 0.99),
}
MAX_CARD_SCAN = 64 * 1024  # characters of card body searched for a mergekit config or model ids
#: The card data's key naming an adapter's base (rule 1).
ADAPTER_BASE_KEY = "base_model_name_or_path"

_TOKEN_SPLIT = re.compile(r"[-_\s]+")
_STRONG_QUANT = (r"gguf|ggml|awq|gptq|exl2|mlx|bnb|nf4|int[2348]|fp8|[2345678]-?bits?|\d+(?:\.\d+)?bpw|bpw\d+(?:\.\d+)?"
                 r"|q[2-8](?:\.\d)?|iq[1-4]|q\df\d+|w\d+a\d+|hqq|eetq|aqlm|marlin|mlc|quantized|imatrix|smashed|i1|onnx")
_STRONG_TOKEN = re.compile(rf"^(?:{_STRONG_QUANT})$")
#: An id's name (after its last ``/``) holds a token :data:`_STRONG_TOKEN` matches (polars' regex dialect, on the
#: whole id: no ``/`` after the token): inside one token ``-?`` is empty, and here it must not span two tokens
#: (``3-bits`` is the tokens ``3`` and ``bits``)
_STRONG_TOKEN_IN_NAME = rf"(?:^|[-_\s/])(?:{_STRONG_QUANT.replace('-?', '')})(?:[-_\s][^/]*)?$"
_QUANT_TOKEN = re.compile(rf"^(?:{_STRONG_QUANT}|fp16|bf16|h\d|k|[msl0-9]|xs|xxs|\d+g|g\d+|gs\d+|act|order"
                          r"|sym|asym|static|dynamic|quant|bit|unsloth)$")
_FRONT_MATTER = re.compile(r"\A(?:\ufeff)?\s*---\s*\n.*?\n---\s*(?:\n|\Z)", re.DOTALL)
_CODE_BLOCK = re.compile(r"```(?:ya?ml)?\s*\n(.*?)```", re.DOTALL | re.IGNORECASE)
_MENTION = re.compile(r"(?:huggingface\.co/|hf\.co/|\b)([A-Za-z0-9][\w.-]{1,95}/[A-Za-z0-9][\w.-]{1,95})")
_ALPHA = re.compile(r"^[a-z]+")
_YAML_LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)  # the C parser is ~10x faster; same documents


@dataclass(slots=True)
class Inference:
    """What was inferred for one model: parents (nodes) with relation, rule and confidences, or membership only.

    ``confidence`` is that of the exact parent(s); ``family_confidence`` that of the family the model joins (its
    parents' family, or for a membership-only claim — no parents — the family of architecture ``rule``'s suffix).
    """

    child: int
    parents: list[int]
    relation: str | None
    rule: str
    confidence: float
    family_confidence: float


def confidences(rule: str) -> tuple[float, float]:
    """``(parent, family)`` confidence of ``rule`` (0 for a rule that was never measured: it abstains)."""
    return CONFIDENCE.get(rule, (0.0, 0.0))


@dataclass(slots=True)
class Features:
    """The child-side signals inference may look at (declared lineage already stripped)."""

    tags: list[str]  # as read by :func:`load_features`: only those the relation rules read (``RELATION_TAGS``)
    library_name: str | None
    files: list[str]  # the same: only those the relation rules look for
    adapter_base: str | None  # the card data's ``base_model_name_or_path`` (a PEFT adapter config copied to the card)
    card_text: str | None


def norm_name(name: str) -> str:
    """A repo name (no author) in comparable form: lowercase, ``_``/space as ``-``."""
    return "-".join(t for t in _TOKEN_SPLIT.split(name.lower()) if t)


_NOT_PLAIN = r"[^\x20-\x7e]"  # outside printable ASCII: polars and Python differ on case and space rules


def _exact(fast: pl.Series, fn: Callable[[str], str], source: pl.Series) -> pl.Series:
    """``fast`` (``fn`` of ``source``, vectorised) with the values of ``source`` outside printable ASCII recomputed
    by ``fn`` itself: the result is ``fn``'s exactly, whatever Unicode case and space rules polars follows."""
    odd = source.str.contains(_NOT_PLAIN).fill_null(False)
    if not odd.any():
        return fast
    idx = odd.arg_true()
    return fast.scatter(idx, [fn(v) for v in source.gather(idx).to_list()])


def _norm_names(names: pl.Series) -> pl.Series:
    """:func:`norm_name` of every name, vectorised: ``_`` made ``-`` as a literal, and by the pattern only the names
    then holding a space, a run of separators, or one at either end (most names hold none: the pattern costs three
    times the literal)."""
    low = names.str.to_lowercase()
    out = low.str.replace_all("_", "-", literal=True)
    odd = out.str.contains(r"\s|--|^-|-$").fill_null(False)
    if odd.any():
        idx = odd.arg_true()
        out = out.scatter(idx, low.gather(idx).str.replace_all(r"[-_\s]+", "-").str.strip_chars("-"))
    return _exact(out, norm_name, names)


def _all_ids(graph: LineageGraph) -> tuple[pl.Series, np.ndarray]:
    """Every id of the graph with its node: the primary ids in node order, then the ModelScope ids of mirrors."""
    ms = graph.ms_ids
    ids = pl.concat([graph.ids.series(), pl.Series("id", list(ms.values()), dtype=pl.String)])
    return ids, np.concatenate([np.arange(graph.n_nodes, dtype=np.int64), np.fromiter(ms, np.int64, len(ms))])


def strip_declared(tags: Iterable[str], card_data: dict[str, Any] | None, card_text: str | None) -> Features:
    """Remove every declared-lineage signal: ``base_model…`` tags, the card data's ``base_model`` keys (of the card
    data only its adapter base is kept), and the card's front matter."""
    clean_tags = [t for t in tags if "base_model" not in t.lower()]
    base = (card_data or {}).get(ADAPTER_BASE_KEY)
    text = card_text
    while text and _FRONT_MATTER.match(text):  # stacked front matters too
        text = _FRONT_MATTER.sub("", text, count=1)
    return Features(clean_tags, None, [], base if isinstance(base, str) else None, text)


def owner_labels(graph: LineageGraph) -> Labels:
    """The lower-case owner of every node as :class:`Labels`, a code per node: its author, else the owner part of its
    id. Each distinct author is lowered once; only the nodes without one are looked at one by one."""
    owners = graph.authors.mapped(lambda a: a.lower() if a else None)
    if None not in owners.values:
        return owners
    values = list(owners.values)
    codes, none = owners.codes.copy(), values.index(None)
    at = {v: i for i, v in enumerate(values)}
    for node in np.flatnonzero(codes == none).tolist():
        owner = graph.ids[node].split("/", 1)[0].lower()
        codes[node] = at.setdefault(owner, len(at))
        if codes[node] == len(values):
            values.append(owner)
    return Labels(codes, values)


class NameIndex:
    """Stored models by normalised name and by normalised full id, and the ranking among namesakes."""

    def __init__(self, graph: LineageGraph, root_authors: tuple[str, ...], candidates: Iterable[int] | None = None,
                 chunk: int = 500_000, owners: Labels | None = None):
        """``candidates``: the only models whose names will be matched (the index then holds only the names and
        full ids their names can spell: :func:`_asked`), else every model. Ids are normalised ``chunk`` at a time,
        so a whole hub's names are never all held twice. ``owners``: :func:`owner_labels` when the caller has them."""
        self.graph = graph
        self.owners = owners if owners is not None else owner_labels(graph)
        self.official = official_mask(self.owners, root_authors)
        # per node, indexed as Python ints (NumPy makes a scalar object): the owner's code and the creation date
        self._owner_code = memoryview(self.owners.codes)
        self._created = memoryview(np.ascontiguousarray(graph.created, np.int64))
        ids, nodes = _all_ids(graph)
        # mid.rpartition("/"): no pattern needs the Unicode rules
        owners = pl.select(pl.when(ids.str.contains("/", literal=True))
                           .then(ids.str.replace(r"(?s)/[^/]*$", "")).otherwise(pl.lit(""))).to_series()
        self.id_owners = set(_norm_names(owners.unique()).to_list())  # every normalised owner of the ids
        asked_names = asked_keys = key_names = None
        if candidates is not None:
            names, keys = _asked(graph, candidates, self.id_owners)
            asked_names, asked_keys = names.implode(), keys.implode()
            key_names = keys.str.replace(r"(?s)^[^/]*/", "").unique().implode()  # a key's name holds no "/"
        named, keyed = [], []
        for start in range(0, max(len(ids), 1), chunk):  # one chunk at least: the columns' types
            part = pl.DataFrame({"node": nodes[start:start + chunk], "owner": owners.slice(start, chunk),
                                 "name": _norm_names(ids.slice(start, chunk).str.replace(r"(?s)^.*/", ""))})
            named.append(part.select("node", "name") if asked_names is None
                         else part.filter(pl.col("name").is_in(asked_names)).select("node", "name"))
            if key_names is not None:  # a stored id is an asked key only if its name is the key's name
                part = part.filter(pl.col("name").is_in(key_names))
            part = part.with_columns(_norm_names(part["owner"]).alias("owner"))
            part = part.with_columns((pl.col("owner") + "/" + pl.col("name")).alias("key"))
            keyed.append(part.select("node", "key") if asked_keys is None
                         else part.filter(pl.col("key").is_in(asked_keys)).select("node", "key"))
        del ids, owners
        by_name = pl.concat(named).group_by("name", maintain_order=True).agg("node")  # nodes in id order per name
        self._name_at = dict(zip(by_name["name"].to_list(), range(by_name.height), strict=True))
        self._name_nodes = by_name["node"].explode().to_numpy()
        self._name_ptr = np.concatenate(([0], np.cumsum(by_name["node"].list.len().to_numpy(), dtype=np.int64)))
        first = pl.concat(keyed).unique("key", keep="first", maintain_order=True)
        self.by_id: dict[str, int] = dict(zip(first["key"].to_list(), first["node"].to_list(), strict=True))
        declared = ~graph.inferred
        self.children = np.bincount(graph.parent[declared], minlength=graph.n_nodes)

    def has_name(self, name: str) -> bool:
        return name in self._name_at

    def namesakes(self, name: str) -> list[int]:
        """The stored models whose normalised name is ``name`` (ids in node order, then mirrors' ModelScope ids)."""
        k = self._name_at.get(name)
        return [] if k is None else self._name_nodes[self._name_ptr[k]:self._name_ptr[k + 1]].tolist()

    def older(self, child: int, node: int) -> bool:
        """Whether ``node`` may be ``child``'s parent by date (not younger; unknown dates allow it)."""
        born, other = self._created[child], self._created[node]
        return node != child and (born == _NO_DATE or other == _NO_DATE or other <= born)

    def pick(self, child: int, names: list[int]) -> tuple[int, str] | None:
        """``(parent, how)`` among namesakes: ``same-author``, ``unique`` or ``ranked`` (module docstring)."""
        g = self.graph
        ok = list(dict.fromkeys(n for n in names if self.older(child, n)))
        if not ok:
            return None
        codes = self._owner_code
        owner = codes[child]
        mine = [n for n in ok if codes[n] == owner]
        if mine:
            return min(mine, key=lambda n: (self._created[n], g.ids[n])), "same-author"
        if len(ok) == 1:
            return ok[0], "unique"
        return min(ok, key=lambda n: (not self.official[n], -int(self.children[n]), self._created[n],
                                      g.ids[n])), "ranked"


def official_mask(owners: Labels, root_authors: Iterable[str]) -> np.ndarray:
    """Whether each node's owner (:func:`owner_labels`) is one of ``root_authors`` (any case)."""
    return owners.isin({a.lower() for a in root_authors})


def _asked(graph: LineageGraph, candidates: Iterable[int], owners: set[str],
           chunk: int = 100_000) -> tuple[pl.Series, pl.Series]:
    """What the name rules may look up for ``candidates``, in one pass over their names: every normalised name (each
    name without its trailing quantization tokens, rule 4, and every run of its tokens of at least 6 characters:
    rule 6 asks only distinctive runs, :func:`_distinctive`), and every normalised full id with an owner of
    ``owners`` (:func:`_embedded_ids`, rule 3). Candidates of the same name (copies of one model by several owners)
    are looked at once. The names are collected in chunks, so the runs of every candidate are never Python strings
    at once."""
    parts: list[pl.Series] = []
    names: list[str] = []
    keys: set[str] = set()
    for tokens in {_name_tokens(name) for name in {mid.rsplit("/", 1)[-1] for mid in graph.ids.take(candidates)}}:
        names.append("-".join(tokens[:_quant_stem_end(tokens)]))
        names += [span for i in range(len(tokens)) for j in range(i + 1, len(tokens) + 1)
                  if len(span := "-".join(tokens[i:j])) >= 6]
        keys.update(_embedded_ids(tokens, owners))
        if len(names) >= chunk:
            parts.append(pl.Series(names, dtype=pl.String).unique())
            names = []
    parts.append(pl.Series(names, dtype=pl.String).unique())
    return pl.concat(parts).unique(), pl.Series(list(keys), dtype=pl.String)


def _distinctive(name: str, family_words: frozenset[str]) -> bool:
    return len(name) >= 6 and (any(c.isdigit() for c in name) or any(w in name for w in family_words))


@lru_cache(maxsize=1 << 16)  # asked for every candidate's name tokens, which repeat (``instruct``, ``7b``, ``gguf``)
def _word(name: str) -> str:
    """The leading letters of an architecture or name token (``qwen2_moe`` → ``qwen``, ``7b`` → ``""``)."""
    m = _ALPHA.match(name.lower())
    return m.group(0) if m else ""


def family_words(family_architectures: Iterable[str]) -> frozenset[str]:
    """The words a repo name uses for the family architectures (``qwen2_moe`` → ``qwen``), 3+ letters."""
    return _family_words(frozenset(family_architectures))


@cache
def _family_words(family_architectures: frozenset[str]) -> frozenset[str]:
    return frozenset(w for a in family_architectures if len(w := _word(a)) >= 3)


@lru_cache(maxsize=4096)  # the rules of one candidate ask for its tokens several times in a row
def _name_tokens(model_id: str) -> tuple[str, ...]:
    return tuple(t for t in _TOKEN_SPLIT.split(model_id.rsplit("/", 1)[-1].lower()) if t)


def _quant_stem_end(tokens: Sequence[str]) -> int:
    """How many leading tokens remain once trailing quantization tokens are stripped (at least one)."""
    end = len(tokens)
    while end > 1 and _QUANT_TOKEN.match(tokens[end - 1]):
        end -= 1
    return end


def match_owner_embedded(index: NameIndex, child: int) -> int | None:
    """The stored model whose full id the child's name spells, owner included (``A_-_B-gguf`` → ``A/B``); spans
    without the trailing quantization tokens first, so ``Qwen_-_X-gguf`` is ``Qwen/X``, not ``Qwen/X-GGUF``."""
    for key in _embedded_ids(_name_tokens(index.graph.ids[child]), index.id_owners):
        node = index.by_id.get(key)
        if node is not None and index.older(child, node):
            return node
    return None


def _embedded_ids(tokens: Sequence[str], owners: set[str]) -> Iterator[str]:
    """The normalised full ids a name's ``tokens`` may spell, in the order they are tried: an owner of ``owners``
    (leading tokens), then a name without the trailing quantization tokens, longest first, then with them."""
    stem = _quant_stem_end(tokens)
    for i in range(1, len(tokens)):
        owner = "-".join(tokens[:i])
        if owner not in owners:  # no stored id has this owner
            continue
        for j in [*range(stem, i, -1), *range(len(tokens), max(stem, i), -1)]:
            yield f"{owner}/{'-'.join(tokens[i:j])}"


def match_name(index: NameIndex, child: int,
               words: frozenset[str] = family_words(DEFAULT_FAMILY_ARCHITECTURES)) -> tuple[int, str] | None:
    """``(parent, rule)`` from the child's id (rules 3, 4 and 6), or None.

    A whole name equal to another author's model name is *not* taken as a parent: measured precision of that
    rule was 7 % on the real sample and 0 % on a generated world (namesakes are mostly siblings, not parents).
    """
    mid = index.graph.ids[child]
    tokens = _name_tokens(mid)
    if not tokens:
        return None
    embedded = match_owner_embedded(index, child)
    if embedded is not None:
        return embedded, "name:owner-embedded"
    end = _quant_stem_end(tokens)  # quant suffix: strip trailing quantization tokens, the stem must be a stored name
    if any(_STRONG_TOKEN.match(t) for t in tokens[end:]) or mid.lower().startswith("mlx-community/"):
        hit = index.pick(child, index.namesakes("-".join(tokens[:end])))
        if hit is not None:
            return hit[0], f"name:quant-suffix:{hit[1]}"
    return match_span(index, child, tokens, words)


def match_span(index: NameIndex, child: int, tokens: Sequence[str], words: frozenset[str]) -> tuple[int, str] | None:
    """Rule 6: the longest distinctive run of name tokens that is a stored model's name."""
    best: tuple[int, int, tuple[int, str]] | None = None  # (-length, start, (parent, how))
    for i in range(len(tokens)):
        for j in range(len(tokens), i, -1):
            if i == 0 and j == len(tokens):
                continue
            span = "-".join(tokens[i:j])
            if best is not None and -len(span) > best[0]:
                break
            if not index.has_name(span) or not _distinctive(span, words):
                continue
            hit = index.pick(child, index.namesakes(span))
            if hit is not None and (best is None or (-len(span), i) < best[:2]):
                best = (-len(span), i, hit)
    return (best[2][0], f"name:base-span:{best[2][1]}") if best else None


def card_mentions(text: str | None) -> list[str]:
    """Model-id-shaped strings in the card body (links first-class), in order of appearance, bounded."""
    if not text:
        return []
    return [m.rstrip(".-") for m in _MENTION.findall(text[:MAX_CARD_SCAN])]


def mergekit_models(text: str | None) -> list[str]:
    """Model ids named by a mergekit YAML config in the card body (bounded, a safe YAML loader only)."""
    if not text:
        return []
    found: list[str] = []
    for block in _CODE_BLOCK.findall(text[:MAX_CARD_SCAN]):
        if "merge_method" not in block and "slices" not in block:
            continue
        try:
            conf = yaml.load(block, Loader=_YAML_LOADER)  # noqa: S506 - a safe loader (libyaml's when built)
        except yaml.YAMLError:
            continue
        _collect_models(conf, found, 0)
    return list(dict.fromkeys(found))


def _collect_models(node: Any, out: list[str], level: int) -> None:
    if level > 8:
        return
    if isinstance(node, dict):
        for k, v in node.items():
            if k in ("model", "base_model") and isinstance(v, str):
                out.append(v)
            elif k == "model" and isinstance(v, dict) and isinstance(v.get("model"), str):
                out.append(v["model"])
            else:
                _collect_models(v, out, level + 1)
    elif isinstance(node, list):
        for item in node:
            _collect_models(item, out, level + 1)


def _lookup(graph: LineageGraph, ids: dict[str, int], raw: str, child: int) -> int | None:
    value, _ = normalise_base(raw, graph.ids[child])
    if value is None:
        return None
    node = ids.get(value) if value in ids else ids.get(value.lower())
    return node if node is not None and node != child else None


def _relation(graph: LineageGraph, child: int, feats: Features, n_parents: int) -> str:
    return relation_by_rules(graph.ids[child], feats.tags, feats.library_name, feats.files, n_parents)[0]


def _hint(model_id: str, architecture: str | None, family_arch: set[str], words: frozenset[str]) -> bool:
    """The name/architecture part of the candidate test (no tags, no card): :func:`_hints` of one model."""
    low = model_id.lower()
    tokens = _name_tokens(low)
    return ((architecture or "").lower() in family_arch or any(w in low for w in words) or "_-_" in low
            or any(_STRONG_TOKEN.match(t) for t in tokens))


def _hints(graph: LineageGraph, nodes: np.ndarray, family_arch: set[str], words: frozenset[str],
           chunk: int = 250_000) -> np.ndarray:
    """:func:`_hint` of every node of ``nodes`` (bool array), vectorised a chunk of nodes at a time (the ids and
    their lower-case copies are never a whole hub's); ids or architectures outside printable ASCII are tested by
    :func:`_hint` itself."""
    out = np.zeros(len(nodes), bool)
    for start in range(0, len(nodes), chunk):
        part = nodes[start:start + chunk]
        ids = graph.ids.take_series(part)
        arch = graph.architecture.series("architecture", part).fill_null("")
        low, arch_low = ids.str.to_lowercase(), arch.str.to_lowercase()
        hint = (arch_low.is_in(list(family_arch)) | low.str.contains("_-_", literal=True)
                | low.str.contains(_STRONG_TOKEN_IN_NAME))
        if words:
            hint |= low.str.contains_any(sorted(words))
        out[start:start + len(part)] = hint.to_numpy()
        odd = (ids.str.contains(_NOT_PLAIN) | arch.str.contains(_NOT_PLAIN)).to_numpy()
        for i in np.flatnonzero(odd).tolist():
            node = int(part[i])
            out[start + i] = _hint(graph.ids[node], graph.architecture[node], family_arch, words)
    return out


def _card_hint(feats: Features) -> bool:
    """The card part of the candidate test: an adapter config, a mergekit config or a model link in the card."""
    if feats.adapter_base is not None:
        return True
    body = (feats.card_text or "")[:MAX_CARD_SCAN]
    return "merge_method" in body or "huggingface.co/" in body


@dataclass(slots=True)
class _Context:
    graph: LineageGraph
    index: NameIndex
    ids: dict[str, int]
    family_arch: set[str]
    words: frozenset[str]
    shapes: list[tuple[str, int] | None]  # per node: (family of its architecture, exact parameter count), if both
    official_shapes: set[tuple[str, int]]  # shapes of official models published by their architecture's family


def _edge(ctx: _Context, node: int, parents: list[int], feats: Features, rule: str) -> Inference:
    rel = "merge" if len(parents) >= 2 else _relation(ctx.graph, node, feats, 1)
    return Inference(node, parents, rel, rule, *confidences(rule))


@dataclass(slots=True)
class CardRefs:
    """The model ids (raw) a candidate's card names: its adapter config's base, a mergekit config's models and the
    ids its body mentions."""

    adapter_base: str | None
    merged: list[str]
    mentions: list[str]

    @classmethod
    def of(cls, feats: Features) -> CardRefs:
        return cls(feats.adapter_base, mergekit_models(feats.card_text), card_mentions(feats.card_text))

    def raw(self) -> list[str]:
        return [*([self.adapter_base] if self.adapter_base is not None else []), *self.merged, *self.mentions]


def _mentioned(ctx: _Context, node: int, mentions: list[str]) -> tuple[int, str] | None:
    """Rule 5: the stored, older model the card body names most often (``one`` when it names only one)."""
    found = Counter(p for m in mentions if (p := _lookup(ctx.graph, ctx.ids, m, node)) is not None
                    and ctx.index.older(node, p))
    if not found:
        return None
    (best, _), *rest = found.most_common()
    return best, "one" if not rest else "several"


def infer_one(ctx: _Context, node: int, feats: Features, refs: CardRefs | None = None) -> Inference | None:
    """The inference for one candidate model (rules in the module docstring), or None. ``refs``: the ids its card
    names (:meth:`CardRefs.of`, read here unless given); ``ctx.ids`` must hold them (:func:`id_index`)."""
    g = ctx.graph
    refs = refs if refs is not None else CardRefs.of(feats)
    if refs.adapter_base is not None:
        parent = _lookup(g, ctx.ids, refs.adapter_base, node)
        if parent is not None and ctx.index.older(node, parent):
            return _edge(ctx, node, [parent], feats, "card:adapter-base")
    merged = [p for p in (_lookup(g, ctx.ids, m, node) for m in refs.merged)
              if p is not None and ctx.index.older(node, p)]
    if merged:
        return _edge(ctx, node, list(dict.fromkeys(merged)), feats, "card:mergekit")
    hit = match_name(ctx.index, node, ctx.words)
    if hit is not None and not hit[1].startswith("name:base-span"):
        return _edge(ctx, node, [hit[0]], feats, hit[1])
    mention = _mentioned(ctx, node, refs.mentions)
    if mention is not None:
        return _edge(ctx, node, [mention[0]], feats, f"card:base-mention:{mention[1]}")
    if hit is not None:
        return _edge(ctx, node, [hit[0]], feats, hit[1])
    return None


def membership_claim(ctx: _Context, node: int) -> Inference | None:
    """A family claim from the model's own architecture, name and size, parent or not: ``arch+name:<model_type>``
    when the architecture and the name's family word (:func:`name_architecture`) agree, else
    ``arch+size:<model_type>`` when an official model has the same architecture family and exact parameter count,
    else ``arch:<model_type>``; ``name-arch:<word>`` from the name alone."""
    arch = (ctx.graph.architecture[node] or "").lower()
    named = name_architecture(ctx.graph.ids[node], ctx.family_arch)
    if arch in ctx.family_arch:
        both = named is not None and named == _word(arch)
        sized = ctx.shapes[node] in ctx.official_shapes
        rule = f"arch+name:{arch}" if both else f"arch+size:{arch}" if sized else f"arch:{arch}"
    elif named is not None:
        rule = f"name-arch:{named}"
    else:
        return None
    return Inference(node, [], None, rule, 0.0, confidences(rule)[1])


def name_architecture(model_id: str, family_arch: set[str]) -> str | None:
    """The family word a repo name carries (``Llama-3-8B-sft`` → ``llama``, ``DeepSeek-R1-x`` → ``deepseek``: the
    leading letters of a family architecture, 3+), when it carries exactly one."""
    hits = ({_word(t) for t in _name_tokens(model_id)} & family_words(family_arch))
    return hits.pop() if len(hits) == 1 else None


def architecture_families() -> dict[str, str]:
    """Lower-case architecture → the family of the table it belongs to (:func:`crawler.families.load_families`:
    ``mixtral`` is Mistral's)."""
    return {a: f.name for f in load_families().values() for a in f.architecture_set}


def model_shapes(graph: LineageGraph, params: np.ndarray | None) -> list[tuple[str, int] | None]:
    """Per node, ``(family, parameters)`` when its architecture belongs to a family of the table
    (:func:`architecture_families`) and its exact parameter count is known."""
    if params is None:
        return [None] * graph.n_nodes
    table = architecture_families()
    return [(fam, n) if n and (fam := table.get((a or "").lower())) else None
            for a, n in zip(graph.architecture, params.tolist(), strict=True)]


def id_index(graph: LineageGraph, wanted: Iterable[str]) -> dict[str, int]:
    """Exact and lowercase id → node (HF first; lowercase entries only where unambiguous), for the ids :func:`_lookup`
    may ask for ``wanted`` values: each value and its lowercase (every model of that lowercase id is looked at)."""
    wanted = set(wanted)
    lowered = {w.lower() for w in wanted}
    ids, nodes = _all_ids(graph)
    low = _exact(ids.str.to_lowercase(), str.lower, ids)
    rows = (ids.is_in(list(wanted | lowered)) | low.is_in(list(lowered))).arg_true()
    out: dict[str, int] = {}
    lower: dict[str, int | None] = {}
    for mid, node in zip(ids.gather(rows).to_list(), nodes[rows.to_numpy()].tolist(), strict=True):
        out.setdefault(mid, node)
        low_id = mid.lower()
        lower[low_id] = node if lower.get(low_id, node) == node else None
    for low_id, node in lower.items():
        if node is not None:
            out.setdefault(low_id, node)
    return out


def infer(graph: LineageGraph, features: dict[int, Features], *, candidates: Iterable[int] | None = None,
          root_authors: tuple[str, ...] = DEFAULT_ROOT_AUTHORS,
          family_architectures: tuple[str, ...] = DEFAULT_FAMILY_ARCHITECTURES,
          params: np.ndarray | None = None, owners: Labels | None = None) -> list[Inference]:
    """Inferences for ``candidates`` (default: every model with no declared parent that is not an official root),
    whatever their confidence (filter with :func:`confident`): per model, at most one with parents and at most one
    membership claim without (:func:`membership_claim`). ``params``: exact parameter count per node, 0 when
    unknown (:func:`load_params`); ``owners``: :func:`owner_labels` when the caller has them."""
    candidates = list(candidates) if candidates is not None else None
    index = NameIndex(graph, root_authors, candidates, owners=owners)
    family_arch = {a.lower() for a in family_architectures}
    shapes = model_shapes(graph, params)
    owns = {f.name: f for f in load_families().values()}
    official = {s for node, s in enumerate(shapes) if s is not None and index.official[node]
                and owns[s[0]].owns(index.owners[node])}  # DeepSeek's or 01-ai's llama-architecture models: no
    words = family_words(family_arch)
    if candidates is None:
        has_parent = np.bincount(graph.child[~graph.inferred], minlength=graph.n_nodes) > 0
        candidates = [n for n in np.flatnonzero(~has_parent & ~index.official).tolist() if n in features]
    todo = []  # the models showing a family or derivation hint worth inferring from: in the name, else in the card
    hinted = _hints(graph, np.asarray(candidates, np.int64), family_arch, words).tolist()
    for node, hint in zip(candidates, hinted, strict=True):
        feats = features.get(node) or Features([], None, [], None, None)
        if hint or _card_hint(feats):
            todo.append((node, feats, CardRefs.of(feats)))
    wanted = {v for node, _, refs in todo for raw in refs.raw()
              if (v := normalise_base(raw, graph.ids[node])[0]) is not None}
    ctx = _Context(graph, index, id_index(graph, wanted), family_arch, words, shapes, official)
    out = []
    for node, feats, refs in todo:
        out += [i for i in (infer_one(ctx, node, feats, refs), membership_claim(ctx, node)) if i is not None]
    return out


def confident(inferences: Iterable[Inference], threshold: float = DEFAULT_THRESHOLD) -> list[Inference]:
    """The inferences that count at ``threshold``: their exact parents when ``confidence`` reaches it (what
    :func:`with_inferred` adds as edges), their family membership when ``family_confidence`` does (what
    :func:`family_counts` counts; through the parents' family, or the architecture's for a claim without parent)."""
    return [i for i in inferences if i.confidence >= threshold or i.family_confidence >= threshold]


def _node_keys(graph: LineageGraph, nodes: Sequence[int] | np.ndarray | None = None) -> pl.DataFrame:
    """``hub, id, node``: every node (or those of ``nodes``) under its primary id (:func:`primary_frame`), and a
    mirror under its ModelScope id too."""
    nodes = np.arange(graph.n_nodes, dtype=np.int64) if nodes is None else np.asarray(nodes, np.int64)
    mirrors = nodes[np.isin(nodes, np.fromiter(graph.ms_ids, np.int64, len(graph.ms_ids)))].tolist()
    # unique by construction: a ModelScope model is either its own node or merged into its HF twin
    return pl.concat([primary_frame(graph, nodes),
                      pl.DataFrame({"hub": ["modelscope"] * len(mirrors), "id": [graph.ms_ids[n] for n in mirrors],
                                    "node": mirrors}, schema={"hub": pl.String, "id": pl.String, "node": pl.Int64})])


def load_features(store: Store, graph: LineageGraph, nodes: Iterable[int] | None = None) -> dict[int, Features]:
    """Child-side signals of the graph's models (or of ``nodes``), declared lineage stripped (:func:`strip_declared`).
    Of the tags and files, only those the relation rules read are kept; the card data is read only where it names an
    adapter's base (a text test in the database), its one key used."""
    keys = None
    if nodes is not None:
        node_of = _node_keys(graph, sorted(set(nodes)))
        keys = node_of.select("hub", "id")
    else:
        node_of = _node_keys(graph)
    models = frames.table(store, Model, ("hub", "id", "tags", "library_name", "files"), keys=keys).with_columns(
        pl.col("tags").list.filter(pl.element().is_in(sorted(RELATION_TAGS))),  # made Python strings, only those
        pl.col("files").list.filter(pl.element().str.ends_with(QUANTIZED_FILE_SUFFIX) | (pl.element() == ADAPTER_CONFIG)))
    adapters = frames.table(store, Model, ("hub", "id", "card_data"), where=_names_adapter_base(), keys=keys)
    cards = frames.table(store, Card, ("hub", "id", "text"), keys=keys)
    data = {(h, i): d for h, i, d in adapters.iter_rows() if isinstance(d, dict)}
    text = {(h, i): t for h, i, t in cards.select("hub", "id", "text").iter_rows()} if cards.height else {}
    out: dict[int, Features] = {}
    rows = models.join(node_of, on=["hub", "id"], how="inner", maintain_order="left")
    for hub, mid, tags, lib, files, node in rows.iter_rows():
        if node in out and hub == "modelscope":
            continue
        f = strip_declared(tags or [], data.get((hub, mid)), text.get((hub, mid)))
        f.library_name, f.files = lib, list(files or [])
        out[node] = f
    return out


def _names_adapter_base() -> Any:
    """The models whose card data may name an adapter's base (its key appears in the card data's text)."""
    m = Model.__table__  # type: ignore[attr-defined]
    return cast(m.c.card_data, String).like(f"%{ADAPTER_BASE_KEY}%")


def load_params(store: Store, graph: LineageGraph) -> np.ndarray:
    """:func:`params_by_node` from the store's rows (all 0 when the store predates the column). Only the rows of
    models whose architecture belongs to a family of the table are read, and every ModelScope row (it may be a
    mirror's twin of another architecture)."""
    if "params" not in frames.column_names(store, "model"):
        return np.zeros(graph.n_nodes, np.int64)
    shaped = _shaped_architectures(graph)
    m = Model.__table__  # type: ignore[attr-defined]
    rows = frames.table(store, Model, ("hub", "id", "params"),
                        where=m.c.params.is_not(None) & ((m.c.hub != "hf") | m.c.architecture.in_(sorted(shaped))))
    keys = _node_keys(graph, np.flatnonzero(graph.architecture.isin(shaped)))
    row_nodes = rows.join(keys, on=["hub", "id"], how="left", maintain_order="left")["node"].fill_null(-1)
    return params_by_node(graph, rows["params"].fill_null(0).to_numpy(), row_nodes.to_numpy())


def params_by_node(graph: LineageGraph, params: np.ndarray, row_nodes: np.ndarray) -> np.ndarray:
    """The exact parameter count of every node whose architecture belongs to a family of the table, all
    :func:`model_shapes` looks at: the first non-zero of ``params`` (per stored row, 0 when unknown) among the node's
    rows (row ``i`` is node ``row_nodes[i]``, -1 for none); 0 when none is known, and for the other nodes."""
    out = np.zeros(graph.n_nodes, np.int64)
    shaped = graph.architecture.isin(_shaped_architectures(graph))
    rows = np.flatnonzero((row_nodes >= 0) & (params != 0))
    rows = rows[shaped[row_nodes[rows]]]
    nodes, first = np.unique(row_nodes[rows], return_index=True)  # each node's first row
    out[nodes] = params[rows[first]]
    return out


def _shaped_architectures(graph: LineageGraph) -> set[str]:
    """The graph's architectures (as stored) that belong to a family of the table (:func:`architecture_families`)."""
    table = architecture_families()
    return {a for a in graph.architecture.values if a is not None and a.lower() in table}


def likely_candidates(store: Store, graph: LineageGraph,
                      family_architectures: tuple[str, ...] = DEFAULT_FAMILY_ARCHITECTURES,
                      root_authors: tuple[str, ...] = DEFAULT_ROOT_AUTHORS,
                      owners: Labels | None = None) -> list[int]:
    """Models :func:`infer` would consider, found without loading every model's tags and card (for big stores).

    Same test as :func:`infer`'s: the name/architecture part on the graph (:func:`_hints`), the card part
    (:func:`_card_hint`) in SQL.
    ``owners``: :func:`owner_labels` when the caller has them.
    """
    index_official = official_mask(owners if owners is not None else owner_labels(graph), root_authors)
    has_parent = np.bincount(graph.child[~graph.inferred], minlength=graph.n_nodes) > 0
    fam = {a.lower() for a in family_architectures}
    words = family_words(fam)
    c = Card.__table__  # type: ignore[attr-defined]
    found = pl.concat([frames.table(store, Model, ("hub", "id"), where=_names_adapter_base()),
                       frames.table(store, Card, ("hub", "id"), where=c.c.text.like("%merge_method%")
                                    | c.c.text.like("%huggingface.co/%"))])
    card_hit = np.zeros(graph.n_nodes, bool)
    card_hit[found.join(_node_keys(graph), on=["hub", "id"], how="inner")["node"].to_numpy()] = True
    nodes = np.flatnonzero(~has_parent & ~index_official)
    return nodes[_hints(graph, nodes, fam, words) | card_hit[nodes]].tolist()


@rare_collections()
def all_inferences(store: Store, graph: LineageGraph, *, root_authors: tuple[str, ...] = DEFAULT_ROOT_AUTHORS,
                   family_architectures: tuple[str, ...] = DEFAULT_FAMILY_ARCHITECTURES,
                   owners: Labels | None = None, params: np.ndarray | None = None) -> list[Inference]:
    """Every inference for the graph's likely candidates (:func:`likely_candidates`), whatever its confidence: the
    store's pass of :func:`infer`. ``owners`` (:func:`owner_labels`, found once for both) and ``params``
    (:func:`load_params`) are read here unless the caller has them."""
    owners = owners if owners is not None else owner_labels(graph)
    params = params if params is not None else load_params(store, graph)
    candidates = likely_candidates(store, graph, family_architectures, root_authors, owners=owners)
    return infer(graph, load_features(store, graph, candidates), candidates=candidates, root_authors=root_authors,
                 family_architectures=family_architectures, params=params, owners=owners)


def inferred_lineage(store: Store, graph: LineageGraph, *, threshold: float = DEFAULT_THRESHOLD,
                     root_authors: tuple[str, ...] = DEFAULT_ROOT_AUTHORS,
                     family_architectures: tuple[str, ...] = DEFAULT_FAMILY_ARCHITECTURES,
                     owners: Labels | None = None, params: np.ndarray | None = None) -> list[Inference]:
    """The inferences for the graph's models without a declared parent that count at ``threshold``
    (:func:`confident`: edges of parent confidence ≥ threshold, else membership claims of family confidence ≥ it).
    ``owners``, ``params``: as :func:`all_inferences` takes them."""
    return confident(all_inferences(store, graph, root_authors=root_authors, family_architectures=family_architectures,
                                    owners=owners, params=params), threshold)


@dataclass(slots=True)
class FamilyJoins:
    """The inferences :func:`family_counts` follows, laid out once for every family it counts: those of family
    confidence ≥ ``threshold``, as edges (with parents: their children, and every parent with the edge it belongs
    to, as arrays) and as membership claims (without parent: the architecture each claims, by the rule's suffix)."""

    threshold: float
    edges: list[Inference]
    child: np.ndarray  # per edge
    parent: np.ndarray  # every edge's parents, edge by edge
    edge_of: np.ndarray  # per entry of ``parent``: its edge
    claims: list[Inference]
    claimed: Labels  # per claim: the architecture (or family word) it claims

    @classmethod
    def of(cls, inferences: Iterable[Inference], threshold: float = DEFAULT_THRESHOLD) -> FamilyJoins:
        kept = [i for i in inferences if i.family_confidence >= threshold]
        edges = [i for i in kept if i.parents]
        claims = [i for i in kept if not i.parents]
        counts = np.fromiter((len(i.parents) for i in edges), np.int64, len(edges))
        code: dict[str, int] = {}
        claimed = np.fromiter((code.setdefault(i.rule.split(":", 1)[-1], len(code)) for i in claims), np.int32,
                              len(claims))
        return cls(threshold, edges, np.fromiter((i.child for i in edges), np.int64, len(edges)),
                   np.fromiter((p for i in edges for p in i.parents), np.int64, int(counts.sum())),
                   np.repeat(np.arange(len(edges)), counts), claims, Labels(claimed, list(code)))


def family_counts(graph: LineageGraph, joins: FamilyJoins, roots: Iterable[int],
                  architectures: Iterable[str] = ()) -> dict[str, Any]:
    """One family's derivatives, declared and declared + inferred (≥ ``joins.threshold``), side by side.

    ``declared``: models reachable from ``roots`` by declared edges (roots excluded). ``inferred``: the further
    models reached when the confident inferred edges are followed too, plus membership-only claims whose
    architecture (the rule's suffix) is one of ``architectures``; each model counted once.
    """
    start = np.fromiter(roots, np.int64)
    declared = traverse(graph, start, "down").nodes if start.size else np.zeros(0, np.int64)
    member = np.zeros(graph.n_nodes, bool)
    member[start] = True
    member[declared] = True
    archs = {a.lower() for a in architectures}
    archs |= family_words(archs)
    by_rule: Counter[str] = Counter()
    claims = [joins.claims[k] for k in np.flatnonzero(joins.claimed.isin(archs)).tolist()]
    edges = _may_join(graph, joins, member)
    changed = True
    while changed:  # inferred edges may hang under other inferred edges: follow until nothing new joins
        changed = False
        for i in edges:
            if not member[i.child] and any(member[p] for p in i.parents):
                by_rule[i.rule] += _join(graph, member, i.child)
                changed = True
    for i in claims:
        if not member[i.child]:
            by_rule[i.rule] += _join(graph, member, i.child)
    n_declared = int(declared.size)
    total = int(member.sum()) - int(np.unique(start).size)
    return {"declared": n_declared, "inferred": total - n_declared, "with_inferred": total,
            "threshold": joins.threshold, "inferred_by_rule": dict(by_rule.most_common())}


def _join(graph: LineageGraph, member: np.ndarray, node: int) -> int:
    """Make ``node`` and its declared descendants members; how many joined. The members are closed under declared
    descendants (every join takes them all), so the walk stops at a member: ``member`` is its visited array."""
    member[node] = True
    if graph.down_ptr[node + 1] == graph.down_ptr[node]:  # no child: no walk
        return 1
    return 1 + traverse(graph, node, "down", seen=member).nodes.size


def _may_join(graph: LineageGraph, joins: FamilyJoins, member: np.ndarray) -> list[Inference]:
    """The inferred edges of ``joins`` (in order) that :func:`family_counts` can follow from ``member``: the child
    is not a member yet and a parent is one once every edge is followed. The others never join anything, whatever
    the order they are looked at in, so leaving them out changes no count."""
    child, parent, edge_of = joins.child, joins.parent, joins.edge_of
    reach = member.copy()
    while (fire := reach[parent] & ~reach[child[edge_of]]).any():
        new = np.unique(child[edge_of[fire]])
        reach[new] = True
        reach[traverse(graph, new, "down").nodes] = True
    useful = np.zeros(len(joins.edges), bool)
    useful[edge_of[reach[parent]]] = True
    return [joins.edges[k] for k in np.flatnonzero(useful & ~member[child]).tolist()]


def with_inferred(graph: LineageGraph, inferences: list[Inference], threshold: float = DEFAULT_THRESHOLD
                  ) -> LineageGraph:
    """A copy of ``graph`` with the inferred edges of parent confidence ≥ ``threshold`` added (flagged ``inferred``,
    with rule and confidence; declared edges unchanged)."""
    import copy

    new = copy.copy(graph)
    new.report = copy.deepcopy(graph.report)
    schema = {"child": pl.Int32, "parent": pl.Int32, "relation": pl.Int8, "rule": pl.String, "inferred": pl.Boolean,
              "confidence": pl.Float32}
    base = pl.DataFrame({"child": graph.child, "parent": graph.parent, "relation": graph.relation, "rule": graph.rule,
                         "inferred": graph.inferred, "confidence": graph.confidence}).cast(schema)  # type: ignore[arg-type]
    rel_code = {r: i for i, r in enumerate(RELATIONS)}
    rows = [(i.child, p, rel_code[i.relation or "finetune"], i.rule, True, i.confidence)
            for i in inferences if i.confidence >= threshold for p in i.parents]  # membership claims add no edge
    set_edges(new, pl.concat([base, pl.DataFrame(rows, schema=schema, orient="row")]))
    return new
