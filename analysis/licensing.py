"""Licence drift along the family tree: every declared edge classified by one table of rules.

Input: the store's frames (:mod:`analysis.frames`) and the family's members (a frame with ``hub``, ``id``,
``generation``, as the lineage graph gives them). Output: :class:`LicenceReport` — each model's normalised
licence, each edge's classification (inherited / compatible / missing / violation / unknown) with evidence
and a one-sentence reason, and the summary tables (mix per generation and relation, drift matrix, flagged
models ranked by downloads). Licence facts live in :mod:`crawler.licenses`.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import lru_cache
from itertools import combinations
from typing import Any

import orjson
import polars as pl

from analysis.growth import model_relations
from crawler import licenses as L
from crawler.cards import parse_front_matter

INHERITED, COMPATIBLE, MISSING, VIOLATION, UNKNOWN = "inherited", "compatible", "missing", "violation", "unknown"
KINDS = (INHERITED, COMPATIBLE, MISSING, VIOLATION, UNKNOWN)
FLAGGED_KINDS = (VIOLATION, MISSING)
#: Pseudo-classes of a parent that cannot be compared.
UNRESOLVED, ABSENT = "unresolved", "not-in-store"
ANY, SAME = "*", "="
NOTICE_ABSENT, NOTICE_PRESENT, NOTICE_UNFETCHED = "absent", "present", "unknown — card not fetched"
_COMMERCIAL = frozenset({L.PERMISSIVE, L.CONDITIONAL, L.COPYLEFT})


@dataclass(frozen=True, slots=True)
class DriftRule:
    """If the parent's class is in ``parent`` and the child's in ``child`` (and the notice check says
    ``notice``), the edge is of ``kind`` because ``reason`` ({p}: parent licence, {c}: child licence,
    {notice}: the required notice)."""

    id: str
    kind: str
    parent: frozenset[str] | str
    child: frozenset[str] | str
    reason: str
    notice: str | None = None


def _c(*classes: str) -> frozenset[str]:
    return frozenset(classes)


#: The drift rules, in priority order: the first row that matches an edge decides it.
DRIFT_RULES: tuple[DriftRule, ...] = (
    DriftRule("base-unresolved", UNKNOWN, _c(UNRESOLVED), ANY,
              "The declared base could not be resolved to a repository, so its licence is unknown."),
    DriftRule("base-not-crawled", UNKNOWN, _c(ABSENT), ANY,
              "The base is not in the store (deleted or never crawled), so its licence is unknown."),
    DriftRule("base-unlicensed", UNKNOWN, _c(L.MISSING), ANY,
              "The base declares no licence, so the derivative's licence cannot be checked against it."),
    DriftRule("base-unknown", UNKNOWN, _c(L.UNKNOWN), ANY,
              "The base's licence ({p}) is not one we recognise, so the change cannot be judged."),
    DriftRule("notice-missing", VIOLATION, ANY, ANY,
              "The base's {p} licence requires derivatives to show \"{notice}\", and the derivative's card does "
              "not.", notice=NOTICE_ABSENT),
    DriftRule("same-licence", INHERITED, ANY, SAME, "The derivative keeps its base's licence ({p})."),
    DriftRule("research-to-commercial", VIOLATION, _c(L.NON_COMMERCIAL, L.NO_DERIVATIVES), _COMMERCIAL,
              "The base's {p} licence allows research or non-commercial use only, but the derivative is offered "
              "under {c}, which allows commercial use."),
    DriftRule("no-derivatives", VIOLATION, _c(L.NO_DERIVATIVES), ANY,
              "The base's {p} licence does not allow sharing derivatives, yet this derivative is published."),
    DriftRule("copyleft-dropped", VIOLATION, _c(L.COPYLEFT),
              _c(L.PERMISSIVE, L.CONDITIONAL, L.NON_COMMERCIAL, L.NO_DERIVATIVES),
              "The base's copyleft {p} licence requires derivatives to keep the same terms, but the derivative "
              "uses {c}."),
    DriftRule("conditions-dropped", VIOLATION, _c(L.CONDITIONAL), _c(L.PERMISSIVE),
              "The base's {p} licence attaches conditions (use limits, attribution) that the derivative's more "
              "permissive {c} licence does not carry."),
    DriftRule("conditions-replaced", VIOLATION, _c(L.CONDITIONAL), _c(L.CONDITIONAL, L.COPYLEFT),
              "The derivative replaces the base's {p} terms with different terms ({c}); a licence with "
              "conditions cannot be swapped for another."),
    DriftRule("licence-dropped", MISSING, ANY, _c(L.MISSING),
              "The derivative declares no licence although its base is under {p}; the base's terms still apply "
              "but are no longer stated."),
    DriftRule("child-unknown", UNKNOWN, ANY, _c(L.UNKNOWN),
              "The derivative's licence ({c}) is not recognised; compare it with the base's {p} by hand."),
    DriftRule("narrowed", COMPATIBLE, _c(L.CONDITIONAL, L.NON_COMMERCIAL),
              _c(L.NON_COMMERCIAL, L.NO_DERIVATIVES),
              "The derivative's {c} licence narrows the base's {p} terms without allowing more."),
    DriftRule("copyleft-to-copyleft", COMPATIBLE, _c(L.COPYLEFT), _c(L.COPYLEFT),
              "Both {p} and {c} are share-alike licences, so the derivative keeps its base's copyleft."),
    DriftRule("permissive-base", COMPATIBLE, _c(L.PERMISSIVE), ANY,
              "The base's permissive {p} licence allows the derivative to be released under {c}."),
)
_FALLBACK = DriftRule("no-rule", UNKNOWN, ANY, ANY, "No rule covers {p} → {c}; compare them by hand.")


@dataclass(frozen=True, slots=True)
class MergeConflict:
    """Two parents of one merge whose licence classes are ``a`` and ``b`` (different licences) conflict."""

    a: str
    b: str
    reason: str


#: Pairs of parent licence classes whose terms one merged model cannot meet together (different licences only).
MERGE_CONFLICTS: tuple[MergeConflict, ...] = (
    MergeConflict(L.CONDITIONAL, L.CONDITIONAL,
                  "The merge combines parents under {a} and {b}, two licences that each require their own "
                  "terms to govern the result."),
    MergeConflict(L.COPYLEFT, L.CONDITIONAL,
                  "The merge combines a copyleft parent ({a}) with a parent under {b}, whose conditions the "
                  "copyleft licence does not allow to be added."),
    MergeConflict(L.COPYLEFT, L.NON_COMMERCIAL,
                  "The merge combines a copyleft parent ({a}) with a non-commercial parent ({b}); the copyleft "
                  "licence forbids the non-commercial restriction."),
    MergeConflict(L.COPYLEFT, L.COPYLEFT,
                  "The merge combines parents under two different copyleft licences ({a}, {b}), each requiring "
                  "the result to be under its own terms."),
)


def _matches(allowed: frozenset[str] | str, value: str) -> bool:
    return allowed == ANY or value in allowed


def match_rule(parent_class: str, child_class: str, same: bool, notice: str | None = None) -> DriftRule:
    """The first rule of :data:`DRIFT_RULES` that applies to an edge."""
    for rule in DRIFT_RULES:
        if rule.notice is not None and rule.notice != notice:
            continue
        if not _matches(rule.parent, parent_class):
            continue
        if rule.child == SAME:
            if same:
                return rule
            continue
        if _matches(rule.child, child_class):
            return rule
    return _FALLBACK


def merge_conflict(a: str, b: str) -> str | None:
    """Why two parents' licences (canonical ids) conflict in one merge, or None when one licence can meet both."""
    if a == b:
        return None
    ca, cb = L.licence_class(a), L.licence_class(b)
    for conflict in MERGE_CONFLICTS:
        if (ca, cb) == (conflict.a, conflict.b):
            return conflict.reason.format(a=a, b=b)
        if (cb, ca) == (conflict.a, conflict.b):
            return conflict.reason.format(a=b, b=a)
    return None


# --------------------------------------------------------------------------------------------- licences


def model_licences(models: pl.DataFrame, cards: pl.DataFrame | None = None) -> pl.DataFrame:
    """Each model's canonical licence, its class, and where it was read.

    Columns: hub, id, license_raw, license, license_class, license_source. ``license_source`` is
    ``license`` / ``license_name`` / ``license_link`` (the record), ``card`` (front matter of a fetched card,
    used when the record says nothing more than ``other``) or ``linked-repo`` (``license_link`` points at
    another repo's licence file in the store).
    """
    front = _card_licences(cards)
    rows: list[dict[str, Any]] = []
    for r in models.select("hub", "id", "license", "license_name", "license_link").iter_rows(named=True):
        lic, source = _record_licence(r["license"], r["license_name"], r["license_link"])
        if lic in ("other", "missing") and (r["hub"], r["id"]) in front:
            fm = front[(r["hub"], r["id"])]
            from_card, _ = _record_licence(fm.get("license"), fm.get("license_name"), fm.get("license_link"))
            if from_card not in ("other", "missing", "unknown"):
                lic, source = from_card, "card"
        raw = r["license"] if r["license_name"] is None else f"{r['license']} / {r['license_name']}"
        rows.append({"hub": r["hub"], "id": r["id"], "license_raw": raw, "license": lic,
                     "license_source": source, "link_repo": L.link_repo(r["license_link"])})
    df = pl.DataFrame(rows, schema={"hub": pl.String, "id": pl.String, "license_raw": pl.String,
                                    "license": pl.String, "license_source": pl.String, "link_repo": pl.String})
    df = _follow_licence_links(df)
    classes = {lic: L.licence_class(lic) for lic in df["license"].unique().to_list() if lic is not None}
    return df.with_columns(pl.col("license").replace_strict(classes, default=None, return_dtype=pl.String)
                           .alias("license_class")).drop("link_repo")


def _record_licence(license: Any, name: Any, link: Any) -> tuple[str, str]:
    """``(licence, source)`` of a record's or a card's fields; a value that is not a string (a YAML list or
    mapping in a card) counts as absent."""
    return _licence_of(*(v if isinstance(v, str) else None for v in (license, name, link)))


@lru_cache(maxsize=4096)
def _licence_of(license: str | None, name: str | None, link: str | None) -> tuple[str, str]:
    lic = L.normalise_licence(license, name, link)
    main = L.canonical(license)
    if lic == main or (main is None and lic == "unknown"):
        return lic, "license"
    return lic, "license_name" if name and L.canonical(name) == lic else "license_link"


class _CardFrontMatter:
    """Front matter per card, decoded only when asked for: as parsed at crawl time (``front_matter``, JSON text),
    else parsed from the card text."""

    def __init__(self, cards: pl.DataFrame | None):
        self._index: dict[tuple[str, str], int] = {}
        if cards is not None and "text" in cards.columns:
            self._text = cards["text"]
            self._stored = cards["front_matter"] if "front_matter" in cards.columns else None
            self._index = {(h, i): n for n, (h, i) in enumerate(zip(cards["hub"], cards["id"], strict=True))}

    def __contains__(self, key: tuple[str, str]) -> bool:
        return key in self._index

    def __getitem__(self, key: tuple[str, str]) -> dict[str, Any]:
        n = self._index[key]
        stored = self._stored[n] if self._stored is not None else None
        fm = orjson.loads(stored) if isinstance(stored, str) else stored
        if not isinstance(fm, dict):
            text = self._text[n]
            fm = parse_front_matter(text).data if text else {}
        return fm


def _card_licences(cards: pl.DataFrame | None) -> _CardFrontMatter:
    return _CardFrontMatter(cards)


def _follow_licence_links(df: pl.DataFrame) -> pl.DataFrame:
    """``other`` + a link to another repo's LICENSE file in the store → that repo's licence (one hop)."""
    known = {(h, i): lic for h, i, lic in df.select("hub", "id", "license").iter_rows()
             if L.licence_class(lic) not in (L.UNKNOWN, L.MISSING)}
    fixes = {}
    for h, i, lic, repo in df.select("hub", "id", "license", "link_repo").iter_rows():
        if lic == "other" and repo and (h, repo) in known:
            fixes[(h, i)] = known[(h, repo)]
    if not fixes:
        return df
    keys = pl.DataFrame([{"hub": h, "id": i, "_lic": v} for (h, i), v in fixes.items()])
    return (df.join(keys, on=["hub", "id"], how="left")
            .with_columns(pl.coalesce("_lic", "license").alias("license"),
                          pl.when(pl.col("_lic").is_not_null()).then(pl.lit("linked-repo"))
                          .otherwise(pl.col("license_source")).alias("license_source"))
            .drop("_lic"))


# --------------------------------------------------------------------------------------------- edges


#: Classified edges by everything their classification reads (see :func:`classify_edges`): a row of
#: :data:`_CLASSIFIED` values.
EdgeCache = dict[tuple[Any, ...], tuple[Any, ...]]
_CLASSIFIED = ("hub", "child", "parent", "parent_raw", "relation", "parent_license", "child_license", "parent_class",
               "child_class", "notice", "kind", "rule", "reason", "evidence")
_LICENCE = ("license", "license_class", "license_raw", "license_source")  # a model's licence, as classified


def classify_edges(licences: pl.DataFrame, edges: pl.DataFrame, members: pl.DataFrame,
                   models: pl.DataFrame, cards: pl.DataFrame | None = None,
                   cache: EdgeCache | None = None) -> pl.DataFrame:
    """Every declared edge whose child is a family member, classified by :data:`DRIFT_RULES`.

    Columns: hub, child, parent, parent_raw, relation, parent_license, child_license, parent_class,
    child_class, notice, kind, rule, reason, evidence. ``cache`` (shared by calls on frames of one store at
    different times, e.g. two months' filters) keeps each edge's row by the edge and both ends' licences: the
    authors and card texts it also reads are those of models that exist in both calls, hence the same. Each edge's
    licences, authors and card text are joined to it by polars (a model's last row when it has several).
    """
    def keyed(frame: pl.DataFrame, columns: tuple[str, ...]) -> pl.DataFrame:
        """``frame``'s ``columns`` by hub and id, a model's last row when it has several."""
        return frame.unique(["hub", "id"], keep="last", maintain_order=True).select("hub", "id", *columns)

    licence = keyed(licences.with_columns(pl.lit(True).alias("known")), (*_LICENCE, "known"))
    author = keyed(models, ("author",))
    text = keyed(cards.filter(pl.col("text").is_not_null()) if cards is not None and "text" in cards.columns
                 else pl.DataFrame(schema={"hub": pl.String, "id": pl.String, "text": pl.String}), ("text",))
    member_keys = members.select("hub", pl.col("id").alias("child")).unique()
    joined = edges.select("hub", "child", "parent", "parent_raw", "relation").join(
        member_keys, on=["hub", "child"], how="semi", maintain_order="left")
    for frame, end, prefix in ((licence, "child", "c_"), (licence, "parent", "p_"), (author, "child", "c_"),
                               (author, "parent", "p_"), (text, "child", "c_")):  # columns renamed by the edge's end
        joined = joined.join(frame.rename({"id": end, **{c: prefix + c for c in frame.columns[2:]}}),
                             on=["hub", end], how="left", maintain_order="left")
    cache = {} if cache is None else cache
    rows = []
    n = len(_LICENCE)
    for r in joined.iter_rows():  # the edge (5 values), the child's licence and known, the parent's, authors, text
        parent, c_known, p_known = r[2], r[5 + n], r[6 + 2 * n]
        parent_licence = None if parent is None else r[6 + n: 6 + 2 * n] if p_known else ABSENT
        key = (*r[:5], r[5: 5 + n] if c_known else None, parent_licence)
        row = cache.get(key)
        if row is None:
            c_author, p_author, text = r[7 + 2 * n:]
            notice = _notice_status(parent, parent_licence[0] if p_known else "unknown", c_author, p_author, text)
            row = cache[key] = _classify_one(key, notice)
        rows.append(row)
    return pl.DataFrame(rows, schema={k: pl.String for k in _CLASSIFIED}, orient="row")


def _classify_one(key: tuple[Any, ...], notice: str | None) -> tuple[Any, ...]:
    """The row (:data:`_CLASSIFIED`) of an edge by its cache key (:func:`classify_edges`) and its notice status."""
    hub, child, parent, parent_raw, relation, child_licence, parent_licence = key
    c_lic, c_class, c_raw, c_src = child_licence if child_licence is not None else ("missing", L.MISSING, None,
                                                                                    "license")
    if parent is None:
        p_lic, p_class, p_raw, p_src = "unknown", UNRESOLVED, parent_raw, "edge"
    elif parent_licence == ABSENT:
        p_lic, p_class, p_raw, p_src = "unknown", ABSENT, None, "store"
    else:
        p_lic, p_class, p_raw, p_src = parent_licence
    rule = match_rule(p_class, c_class, same=p_lic == c_lic, notice=notice)
    phrase = L.info(p_lic).notice[0] if L.info(p_lic).notice else ""
    reason = rule.reason.format(p=p_lic, c=c_lic, notice=phrase)
    evidence = (f"{child}: {c_lic} (from {c_src} {c_raw!r}); base {parent or parent_raw}: {p_lic} "
                f"(from {p_src} {p_raw!r})" + (f"; notice: {notice}" if notice else ""))
    return (hub, child, parent, parent_raw, relation, p_lic, c_lic, p_class, c_class, notice, rule.kind, rule.id,
            reason, evidence)


def _notice_status(parent: str | None, parent_licence: str, child_author: str | None, parent_author: str | None,
                   text: str | None) -> str | None:
    """Whether the child's card (``text``; None when not fetched) shows the notice its base's licence requires
    (None: none required, or the licensor's own derivative)."""
    if parent is None or not L.info(parent_licence).notice:
        return None
    if child_author and child_author == parent_author:
        return None
    if text is None:
        return NOTICE_UNFETCHED
    return NOTICE_PRESENT if L.has_notice(text, parent_licence) else NOTICE_ABSENT


def merge_findings(classified: pl.DataFrame) -> pl.DataFrame:
    """One finding per merge whose parents' licences conflict (columns: hub, child, parents, kind, rule, reason)."""
    rows = []
    known = classified.filter(pl.col("parent").is_not_null()
                              & ~pl.col("parent_class").is_in([UNRESOLVED, ABSENT, L.UNKNOWN, L.MISSING]))
    known = known.filter(pl.len().over("hub", "child") > 1)  # a merge has two parents or more
    for (hub, child), group in known.group_by(["hub", "child"], maintain_order=True):
        parents = sorted(zip(group["parent"].to_list(), group["parent_license"].to_list(), strict=True))
        if len(parents) < 2:
            continue
        for la, lb in combinations([lic for _, lic in parents], 2):
            reason = merge_conflict(la, lb)
            if reason is not None:
                rows.append({"hub": hub, "child": child, "parents": [p for p, _ in parents], "kind": VIOLATION,
                             "rule": "merge-conflict", "reason": reason,
                             "evidence": "; ".join(f"{p}: {lic}" for p, lic in parents)})
                break
    return pl.DataFrame(rows, schema={"hub": pl.String, "child": pl.String, "parents": pl.List(pl.String),
                                      "kind": pl.String, "rule": pl.String, "reason": pl.String,
                                      "evidence": pl.String})


def findings(classified: pl.DataFrame, merges: pl.DataFrame) -> pl.DataFrame:
    """Every non-inherited edge and every merge conflict, one row each (``parents`` is a list)."""
    per_edge = (classified.filter(pl.col("kind") != INHERITED)
                .with_columns(pl.concat_list(pl.coalesce("parent", "parent_raw")).alias("parents"))
                .select("hub", "child", "parents", "kind", "rule", "reason", "evidence", "notice"))
    return pl.concat([per_edge, merges.with_columns(pl.lit(None, pl.String).alias("notice"))], how="vertical")


# --------------------------------------------------------------------------------------------- tables


def licence_mix(member_models: pl.DataFrame, by: str) -> pl.DataFrame:
    """Models per ``by`` (``generation`` or ``relation``) and licence, with the share within each group."""
    df = member_models.with_columns(pl.col(by).fill_null("(none)"))
    out = df.group_by(by, "license", "license_class").agg(pl.len().alias("models"))
    return (out.with_columns((pl.col("models") / pl.col("models").sum().over(by)).round(4).alias("share"))
            .sort([by, "models", "license"], descending=[False, True, False]))


def drift_matrix(classified: pl.DataFrame) -> pl.DataFrame:
    """Edges per (parent licence, child licence), with the kind the rules gave them."""
    return (classified.group_by("parent_license", "child_license", "kind").agg(pl.len().alias("edges"))
            .sort(["edges", "parent_license", "child_license", "kind"], descending=[True, False, False, False]))


def flagged_models(all_findings: pl.DataFrame, models: pl.DataFrame, licences: pl.DataFrame) -> pl.DataFrame:
    """Models with a violation or a dropped licence, ranked by downloads (30 days), with their first reason."""
    flagged = all_findings.filter(pl.col("kind").is_in(FLAGGED_KINDS))
    per_model = flagged.group_by("hub", "child").agg(
        pl.col("kind").unique().sort().alias("kinds"), pl.col("rule").unique().sort().alias("rules"),
        pl.col("reason").sort().first().alias("reason"), pl.col("parents").list.explode(keep_nulls=False, empty_as_null=False).unique().sort().alias("parents"))
    return (per_model.rename({"child": "id"})
            .join(models.select("hub", "id", "downloads", "likes"), on=["hub", "id"], how="left")
            .join(licences.select("hub", "id", "license"), on=["hub", "id"], how="left")
            .sort(["downloads", "id", "hub"], descending=[True, False, False], nulls_last=True))


@dataclass(slots=True)
class LicenceReport:
    """Everything the licence analysis produces (frames), plus the caveats to print with it."""

    models: pl.DataFrame
    edges: pl.DataFrame
    findings: pl.DataFrame
    mix_by_generation: pl.DataFrame
    mix_by_relation: pl.DataFrame
    drift: pl.DataFrame
    flagged: pl.DataFrame
    caveats: list[str] = field(default_factory=list)

    def summary(self) -> dict[str, Any]:
        kinds = dict(self.edges.group_by("kind").agg(pl.len()).iter_rows())
        n = len(self.models)
        return {"models": n, "edges": len(self.edges), "edges_by_kind": {k: kinds.get(k, 0) for k in KINDS},
                "merge_conflicts": int((self.findings["rule"] == "merge-conflict").sum()),
                "flagged_models": len(self.flagged),
                "flagged_share": round(len(self.flagged) / n, 4) if n else None,
                "licence_mix": dict(self.models.group_by("license").agg(pl.len())
                                    .sort(["len", "license"], descending=[True, False]).iter_rows())}

    def to_json(self, limit: int | None = None) -> dict[str, Any]:
        """The ``--json`` shape: models, findings, tables and caveats (``limit`` caps the long lists)."""
        return {
            "summary": self.summary(),
            "models": self.models.select("id", "hub", "license", "license_class", "license_source",
                                         "license_raw", "generation", "relation").to_dicts(),
            "findings": self.findings.select("child", "parents", "kind", "rule", "reason", "evidence", "notice",
                                             "hub").head(limit or len(self.findings)).to_dicts(),
            "mix_by_generation": self.mix_by_generation.to_dicts(),
            "mix_by_relation": self.mix_by_relation.to_dicts(),
            "drift_matrix": self.drift.to_dicts(),
            "flagged": self.flagged.head(limit or len(self.flagged)).to_dicts(),
            "rules": [{"id": r.id, "kind": r.kind, "reason": r.reason} for r in DRIFT_RULES],
            "caveats": self.caveats,
        }


def analyse_licences(models: pl.DataFrame, edges: pl.DataFrame, members: pl.DataFrame,
                     cards: pl.DataFrame | None = None, edge_cache: EdgeCache | None = None) -> LicenceReport:
    """The licence analysis of one family (``members``: hub, id, generation) from the store's frames
    (``edge_cache``: see :func:`classify_edges`)."""
    licences = model_licences(models, cards)
    relations = model_relations(edges)
    classified = classify_edges(licences, edges, members, models, cards, edge_cache)
    merges = merge_findings(classified)
    all_findings = findings(classified, merges)
    member_models = (members.select("hub", "id", "generation").join(licences, on=["hub", "id"], how="left")
                     .join(relations, on=["hub", "id"], how="left")
                     .with_columns(pl.col("relation").fill_null("root"), pl.col("license").fill_null("missing"),
                                   pl.col("license_class").fill_null(L.MISSING)))
    fetched = 0 if cards is None else cards.filter(pl.col("text").is_not_null()).join(
        members.select("hub", "id"), on=["hub", "id"]).height
    caveats = [
        f"Card text was fetched for {fetched} of {len(members)} family models; the \"Built with Qwen\" notice is "
        "checked only where a card was fetched (elsewhere: \"unknown — card not fetched\").",
        "Findings are potential issues read from declared metadata, not legal advice; a licence in the README "
        "body or a LICENSE file is not read.",
    ]
    return LicenceReport(
        models=member_models, edges=classified, findings=all_findings,
        mix_by_generation=licence_mix(member_models, "generation"),
        mix_by_relation=licence_mix(member_models, "relation"),
        drift=drift_matrix(classified), flagged=flagged_models(all_findings, models, licences), caveats=caveats)
