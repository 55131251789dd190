"""Everything a monthly report shows, computed by the analyses on the store as it stood at the month's end.

``as of`` means: models created after the month's end or deleted by then are left out (:func:`analysis.frames.existing`
on the family's frames), and so are their edges, cards and metric snapshots taken later. Every number comes from the
outputs of :mod:`analysis.licensing`, :mod:`analysis.growth` and :mod:`analysis.deployment` run on those frames;
the headline compares them with the same analyses as of the previous month's end.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import polars as pl

from analysis import frames
from analysis.deployment import DeploymentReport, analyse_deployment, model_signals
from analysis.families import StoreView
from analysis.growth import GrowthReport, analyse_growth
from analysis.licensing import KINDS, EdgeCache, LicenceReport, analyse_licences
from analysis.months import check_month, current_month, month_end, month_start, previous_month
from analysis.report.families import FamiliesSection, families_section
from crawler.families import Family, get_family
from crawler.store.db import Store

TOP = 20
#: Headline figures that count what happened *during* the month: no change is computed for a partial month.
FLOWS = ("new_derivatives", "mom_growth", "family_share")
#: (key, label, kind) of the headline figures; kind ``count``, ``share`` or ``ratio`` decides formatting.
HEADLINE = (
    ("family_models", "Family models (roots + declared derivatives)", "count"),
    ("derivatives", "Declared derivatives", "count"),
    ("new_derivatives", "New derivatives this month", "count"),
    ("mom_growth", "Month-over-month growth of new derivatives", "ratio"),
    ("family_share", "Family share of all new models", "share"),
    ("max_depth", "Deepest derivative (generations below a root)", "count"),
    ("violations", "Edges with a potential licence violation", "count"),
    ("flagged_models", "Models flagged (violation or dropped licence)", "count"),
    ("flagged_share", "Share of family models flagged", "share"),
    ("deployment_share", "Share with any deployment signal", "share"),
    ("alibaba_cloud_share", "Share with an Alibaba Cloud signal", "share"),
)


class ReportError(ValueError):
    """There is nothing to report: the family has no member by the month's end, or no declared derivative."""


@dataclass(slots=True)
class MonthView:
    """The family and the three analyses as of one month's end."""

    family: Family
    month: str
    end: datetime
    models: pl.DataFrame  # the family's models and the models they name (bases, licence links)
    members: pl.DataFrame
    edges: pl.DataFrame
    cards: pl.DataFrame
    store: frames.StoreCounts  # the whole store's models and edges as of the month's end
    licences: LicenceReport
    growth: GrowthReport
    deployment: DeploymentReport

    def growth_row(self) -> dict[str, Any]:
        rows = self.growth.months.filter(pl.col("month") == self.month).to_dicts()
        return rows[0] if rows else {"month": self.month, "new": 0, "cumulative": None, "mom_growth": None,
                                     "family_share": None}

    def headline(self) -> dict[str, Any]:
        """The headline figures, each read from an analysis output."""
        lic = self.licences.summary()
        dep = self.deployment.summary()
        row = self.growth_row()
        return {"family_models": lic["models"], "derivatives": int((self.members["depth"] > 0).sum()),
                "new_derivatives": row["new"], "mom_growth": row["mom_growth"], "family_share": row["family_share"],
                "max_depth": int(self.members["depth"].max() or 0) if self.members.height else 0,
                "violations": lic["edges_by_kind"]["violation"], "flagged_models": lic["flagged_models"],
                "flagged_share": lic["flagged_share"], "deployment_share": dep["share_by_group"].get("any"),
                "alibaba_cloud_share": dep["share_by_group"].get("alibaba-cloud")}


def analyse_month(store: Store, family: Family, month: str, members: pl.DataFrame, *, models: pl.DataFrame,
                  edges: pl.DataFrame, cards: pl.DataFrame, runs: pl.DataFrame, snapshots: pl.DataFrame,
                  all_new: pl.DataFrame | None = None, signals: pl.DataFrame | None = None,
                  edge_cache: EdgeCache | None = None, counts: frames.StoreCounts | None = None) -> MonthView:
    """Run the three analyses on the store as of the end of ``month`` (``members``: the family today; ``models``
    … ``snapshots``: the family's frames, :func:`analysis.frames.family_frames`; ``all_new``: the store's new
    models per month as of the month's end, :func:`analysis.frames.new_per_month`, read here unless given;
    ``signals``: the deployment signals of ``models``, :func:`analysis.deployment.model_signals`; ``edge_cache``:
    the licence classifications of edges shared by the months, :func:`analysis.licensing.classify_edges`;
    ``counts``: the whole store's as of the month's end, :func:`analysis.frames.store_counts`, read here unless
    given)."""
    end = month_end(month)
    models = frames.existing(models, end)
    keys = models.select("hub", "id")
    members_m = members.join(keys, on=["hub", "id"], how="semi")
    edges_m = edges.join(keys.rename({"id": "child"}), on=["hub", "child"], how="semi")
    cards_m = cards.join(keys, on=["hub", "id"], how="semi")
    snaps_m = snapshots.filter(pl.col("taken_at") <= end)
    return MonthView(
        family=family, month=month, end=end, models=models, members=members_m, edges=edges_m, cards=cards_m,
        store=counts if counts is not None else frames.store_counts(store, end),
        licences=analyse_licences(models, edges_m, members_m, cards_m, edge_cache),
        growth=analyse_growth(models, edges_m, members_m, runs, snaps_m, until=month,
                              all_new=all_new if all_new is not None else frames.new_per_month(store, end)),
        deployment=analyse_deployment(models, members_m, edges_m, cards_m, signals=signals))


@dataclass(slots=True)
class ReportData:
    """A month's report as data: headline, tables (polars frames, also written as CSV/Parquet), data-quality
    figures, method notes and the analyses' caveats. ``to_json()`` is ``report.json``."""

    meta: dict[str, Any]
    headline: list[dict[str, Any]]
    tables: dict[str, pl.DataFrame]
    quality: dict[str, Any]
    notes: list[dict[str, str]]
    caveats: dict[str, list[str]] = field(default_factory=dict)

    def to_json(self) -> dict[str, Any]:
        return {"meta": self.meta, "headline": self.headline, "quality": self.quality,
                "tables": {name: df.to_dicts() for name, df in self.tables.items()},
                "notes": self.notes, "caveats": self.caveats}


def latest_month(store: Store, members: pl.DataFrame, data: frames.FamilyFrames | None = None) -> str | None:
    """The latest month, up to the current one, in which the family gained a declared derivative (None when it
    has none); a date in the future is a hub's error, not a month to report. ``data``: the family's frames when
    already read (:func:`analysis.frames.family_frames`)."""
    fam = data if data is not None else frames.family_frames(store, members, with_cards=False)
    report = analyse_growth(fam.models, fam.edges, members, until=current_month())
    months = report.months.filter(pl.col("new") > 0)
    return months["month"].max() if months.height else None


def build_report(store: Store, month: str, members: pl.DataFrame, family: Family | str | None = None, *,
                 view: StoreView | None = None, data: frames.FamilyFrames | None = None) -> ReportData:
    """The report of ``month`` (``YYYY-MM``) for ``family`` (a name of the families table, default the default
    family) whose members are ``members`` (hub, id, generation, depth). ``view`` (the store's view,
    :func:`analysis.families.load_view`) and ``data`` (the family's frames with snapshots,
    :func:`analysis.frames.family_frames`) are read here unless the caller already has them.

    When the data end before the month does (a partial month), the headline says so and no change of a figure
    counting the month's events (:data:`FLOWS`) is computed from it.
    """
    fam = family if isinstance(family, Family) else get_family(family)
    month = check_month(month)  # type: ignore[assignment]
    if data is None or data.snapshots is None:
        data = frames.family_frames(store, members, with_snapshots=True)
    # the families section first: its inference pass over the whole hub is the report's largest transient, and
    # the two months' analyses are not held yet
    section = families_section(store, month, fam, month_end(month), view)
    runs = frames.runs(store)  # the frames are read once for both months
    loaded = {"models": data.models, "edges": data.edges, "cards": data.cards, "snapshots": data.snapshots,
              "runs": runs, "signals": model_signals(data.models, data.cards),  # each model's once for both months
              "edge_cache": {}}  # and each edge's licence classification
    prev_month = previous_month(month)
    ends = [month_end(month), month_end(prev_month)]  # the whole store's figures: one pass for both months
    all_new, all_new_before = frames.new_per_month_at(store, ends)
    counts, counts_before = frames.store_counts_at(store, ends)
    now = analyse_month(store, fam, month, members, **loaded, all_new=all_new, counts=counts)
    before = analyse_month(store, fam, prev_month, members, **loaded, all_new=all_new_before, counts=counts_before)
    del loaded  # the edge classifications are not held past the two months' analyses
    if now.members.is_empty():
        raise ReportError(f"no model of the {fam.label} family existed by the end of {month}")
    cur, old = now.headline(), before.headline()
    if section.partial:
        cur["mom_growth"] = None
    headline = [{"key": k, "label": label, "kind": kind, "value": cur[k], "previous": old[k],
                 "change": None if kind == "ratio" or (section.partial and k in FLOWS) else _change(cur[k], old[k])}
                for k, label, kind in HEADLINE]
    used_runs, runs_label = runs_for_month(runs, month)
    tables = {
        **growth_tables(now, section.partial),
        **section.tables(),
        **family_tables(now),
        **licence_tables(now),
        **deployment_tables(now),
        "new_derivatives": new_derivatives(now),
        **quality_tables(store, now, used_runs, section),
    }
    data_to = section.report.data_end
    meta = {"month": month, "family": fam.label, "family_name": fam.name, "as_of": now.end.isoformat(),
            "previous_month": prev_month, "runs_label": runs_label, "partial": section.partial,
            "data_to": f"{data_to:%Y-%m-%d}" if data_to is not None else None, "sentence": section.sentence()}
    return ReportData(meta=meta, headline=headline, tables=tables, quality=quality_figures(now, tables, used_runs),
                      notes=method_notes(now) + [section.note()],
                      caveats={"growth": now.growth.caveats, "licences": now.licences.caveats,
                               "deployment": now.deployment.caveats, "families": section.report.caveats})


def _change(value: Any, previous: Any) -> Any:
    if value is None or previous is None:
        return None
    diff = value - previous
    return round(diff, 4) if isinstance(diff, float) else diff


# --------------------------------------------------------------------------------------------- tables


def _long(counts: dict[str, dict[str, int]], dim: str) -> pl.DataFrame:
    rows = [{"month": m, dim: k, "new": n} for m, values in sorted(counts.items()) for k, n in values.items()]
    return pl.DataFrame(rows, schema={"month": pl.String, dim: pl.String, "new": pl.Int64})


def growth_tables(v: MonthView, partial: bool = False) -> dict[str, pl.DataFrame]:
    """Monthly growth rows and their breakdowns up to the month (from :class:`GrowthReport`); a ``partial`` report
    month has no month-over-month growth."""
    g = v.growth
    top = {"top_bases_month": ("base", g.top_bases), "top_authors_month": ("author", g.top_authors)}
    months = g.months
    if partial and months.height:
        months = months.with_columns(pl.when(pl.col("month") == v.month).then(None).otherwise(pl.col("mom_growth"))
                                     .alias("mom_growth"))
    out = {"growth_months": months, "growth_by_relation": _long(g.by_relation, "relation"),
           "growth_by_generation": _long(g.by_generation, "generation"), "growth_by_hub": _long(g.by_hub, "hub")}
    for name, (dim, counts) in top.items():
        items = counts.get(v.month, {})
        out[name] = pl.DataFrame({dim: list(items), "new_derivatives": list(items.values())},
                                 schema={dim: pl.String, "new_derivatives": pl.Int64})
    return out


def family_tables(v: MonthView) -> dict[str, pl.DataFrame]:
    """Family sizes by generation with depth, the depth histogram and the most-derived bases."""
    fam = v.licences.models.join(v.members.select("hub", "id", "depth"), on=["hub", "id"], how="left")
    families = (fam.with_columns(pl.col("generation").fill_null("(unknown)"))
                .group_by("generation")
                .agg(pl.len().alias("models"), (pl.col("depth") == 0).sum().alias("roots"),
                     (pl.col("depth") > 0).sum().alias("derivatives"), pl.col("depth").max().alias("max_depth"))
                .sort(["models", "generation"], descending=[True, False]))
    depth = fam.group_by("depth").agg(pl.len().alias("models")).sort("depth")
    child_edges = v.licences.edges.filter(pl.col("parent").is_not_null())
    bases = (child_edges.group_by("parent")
             .agg(pl.col("child").n_unique().alias("children"),
                  *[(pl.col("relation") == r).sum().alias(r) for r in ("finetune", "adapter", "quantized", "merge")])
             .sort(["children", "parent"], descending=[True, False]).head(TOP).rename({"parent": "base"}))
    return {"families": families, "depth_histogram": depth, "top_bases": bases}


def licence_tables(v: MonthView) -> dict[str, pl.DataFrame]:
    """Licence mix, findings grouped by rule with their reason, the drift matrix and flagged models."""
    lic = v.licences
    mix = (lic.models.group_by("license", "license_class").agg(pl.len().alias("models"))
           .with_columns((pl.col("models") / pl.col("models").sum()).round(4).alias("share"))
           .sort(["models", "license"], descending=[True, False]))
    order = {k: i for i, k in enumerate(KINDS)}
    by_rule = (lic.edges.group_by("kind", "rule").agg(pl.len().alias("edges"), pl.col("reason").sort().first()
                                                        .alias("example_reason"))
               .with_columns(pl.col("kind").replace_strict(order, default=len(order)).alias("_o"))
               .sort(["_o", "edges", "rule"], descending=[False, True, False]).drop("_o"))
    merges = lic.findings.filter(pl.col("rule") == "merge-conflict")
    if merges.height:
        extra = pl.DataFrame({"kind": ["violation"], "rule": ["merge-conflict"], "edges": [merges.height],
                              "example_reason": [merges["reason"].sort()[0]]}, schema=by_rule.schema)
        by_rule = pl.concat([by_rule, extra])
    flagged = lic.flagged.head(TOP).select(
        "id", "hub", "downloads", "license", pl.col("kinds").list.join(", "), pl.col("rules").list.join(", "),
        pl.col("parents").list.join(", "), "reason")
    return {"licence_mix": mix, "licence_by_generation": lic.mix_by_generation, "findings_by_rule": by_rule,
            "drift_matrix": lic.drift, "flagged_models": flagged}


def deployment_tables(v: MonthView) -> dict[str, pl.DataFrame]:
    """Deployment shares overall, by role, by generation and by creation month, and signals by source."""
    s = v.deployment.shares
    return {"deployment_shares": s.filter(pl.col("scope").is_in(["all", "role"])),
            "deployment_by_generation": s.filter(pl.col("scope") == "generation"),
            "deployment_by_month": s.filter(pl.col("scope") == "month"),
            "deployment_by_source": v.deployment.by_source}


def new_derivatives(v: MonthView) -> pl.DataFrame:
    """The month's new declared derivatives, most downloaded first, with relation, bases, licence and signals."""
    derived = v.members.filter(pl.col("depth") > 0).select("hub", "id")
    lic = v.licences.models.join(derived, on=["hub", "id"], how="semi").select("hub", "id", "generation", "relation",
                                                                                 "license")
    created = v.models.filter(pl.col("created_at") >= month_start(v.month)).select(
        "hub", "id", "author", "created_at", "downloads", "likes")
    bases = (v.edges.group_by("hub", "child").agg(pl.coalesce("parent", "parent_raw").sort().alias("bases"))
             .select("hub", pl.col("child").alias("id"), pl.col("bases").list.join(", ")))
    groups = (v.deployment.signals.group_by("hub", "id").agg(pl.col("group").unique().sort().alias("signals"))
              .with_columns(pl.col("signals").list.join(", ")))
    return (lic.join(created, on=["hub", "id"], how="inner").join(bases, on=["hub", "id"], how="left")
            .join(groups, on=["hub", "id"], how="left")
            .sort(["downloads", "likes", "id"], descending=[True, True, False], nulls_last=True).head(TOP)
            .select("id", "hub", "author", "created_at", "relation", "generation", "bases", "license", "signals",
                    "downloads", "likes"))


def runs_for_month(runs: pl.DataFrame, month: str) -> tuple[pl.DataFrame, str]:
    """The crawl runs behind a month's data: those started in it, else the first later run of each hub."""
    start, end = month_start(month), month_end(month)
    inside = runs.filter((pl.col("started_at") >= start) & (pl.col("started_at") <= end))
    if inside.height:
        return inside, f"Crawl runs started in {month}"
    later = runs.filter(pl.col("started_at") > end).sort("run_id").group_by("hub", maintain_order=True).first()
    if later.height:
        return later, (f"No crawl ran in {month}: the data come from the first later run of each hub, so they "
                       "describe the repos that still existed then")
    return later, f"No crawl run is recorded for {month} or after it"


def quality_tables(store: Store, v: MonthView, used_runs: pl.DataFrame,
                   section: FamiliesSection) -> dict[str, pl.DataFrame]:
    """Unresolved bases (and the family's missing root-organisation bases its derivatives declare), undeclared
    repos of the family's architectures, quarantined records and the crawl runs."""
    unresolved = (v.store.unresolved.select("hub", "parent_raw", "reason", "children")
                  .sort(["children", "parent_raw"], descending=[True, False]))
    quarantine = (frames.quarantine(store).join(used_runs.select("run_id"), on="run_id", how="semi")
                  .group_by("hub", "kind", "reason").agg(pl.len().alias("records"))
                  .sort(["records", "reason"], descending=[True, False]))
    runs = used_runs.select("run_id", "hub", "mode", "status", "started_at", "ended_at", "records", "changed",
                            "family_models", "cards_fetched", "requests_api", "retries", "rate_limit_waits",
                            "quarantined", "errors", "resumes")
    undeclared = (section.report.models(v.family.name, "undeclared").group_by("architecture")
                  .agg(pl.len().alias("models")).sort(["models", "architecture"], descending=[True, False]))
    missing = pl.DataFrame([{"base": u["base"], "children": u["children"]} for u in section.report.unresolved_bases
                            if u["family"] == v.family.name], schema={"base": pl.String, "children": pl.Int64})
    return {"unresolved_bases": unresolved.head(TOP), "missing_root_bases": missing,
            "undeclared_by_architecture": undeclared, "quarantine": quarantine, "crawl_runs": runs}


def quality_figures(v: MonthView, tables: dict[str, pl.DataFrame], used_runs: pl.DataFrame) -> dict[str, Any]:
    unresolved = v.store.unresolved
    return {
        "edges": v.store.edges,
        "unresolved_edges": int(unresolved["edges"].sum()),
        "unresolved_bases": unresolved["parent_raw"].n_unique(),
        "missing_root_bases": tables["missing_root_bases"].height,
        "undeclared_family_architecture": int(tables["undeclared_by_architecture"]["models"].sum()),
        "family_cards_fetched": v.cards.filter(pl.col("text").is_not_null())
        .join(v.members, on=["hub", "id"], how="semi").height,
        "family_models": v.members.height,
        "quarantined": int(tables["quarantine"]["records"].sum()),
        "runs": used_runs.height,
        "runs_failed": used_runs.filter(pl.col("status") == "failed").height,
        "runs_partial": used_runs.filter(pl.col("status") == "partial").height,
        "run_errors": int(used_runs["errors"].sum() or 0),
        "undated_derivatives": v.growth.undated,
        "models_in_store_as_of": v.store.models,
    }


def method_notes(v: MonthView) -> list[dict[str, str]]:
    """The definitions every reader needs, in plain words."""
    fam = v.family
    return [
        {"title": "As of the month's end",
         "text": f"Only repos created by {v.end:%Y-%m-%d} and not deleted by then are counted. Licences, tags, cards "
                 "and downloads are those of the latest crawl (the store keeps each repo's latest state), so for a "
                 "past month they describe the repo as crawled, not as it was then."},
        {"title": "Family",
         "text": f"The {fam.label} family is every model of its root organisations ({', '.join(fam.orgs)}"
                 f"{', repo names matching ' + repr(fam.pattern) if fam.pattern else ''}) plus every model that "
                 "declares one of them as a base, directly or through other derivatives — also when that base is "
                 "missing from the store (listed in data quality). A merge belongs to the family of each of its "
                 "parents. Definitions and the families table: docs/families.md."},
        {"title": "Declared vs inferred lineage",
         "text": "All counts use declared lineage only: base_model tags, the card's base_model field and README "
                 "front matter. Parents inferred from names or configs are kept apart and never counted here; "
                 f"repos of {fam.label} architectures without a declared base are reported in data quality."},
        {"title": "Mirrors",
         "text": "A ModelScope repo matched to its Hugging Face original is one node of the graph and is counted "
                 "once, under Hugging Face."},
        {"title": "Survivor bias",
         "text": "Monthly counts are by createdAt of repos that still existed when crawled; repos deleted before a "
                 "crawl are invisible, so past months are undercounted."},
        {"title": "Licence findings",
         "text": "Each declared edge is classified by one table of rules (docs/report.md lists them): inherited, "
                 "compatible, missing, violation or unknown. Findings are potential issues read from metadata, "
                 "not legal advice."},
        {"title": "Deployment signals",
         "text": "Tags, live inference providers, local formats, card text and ModelScope flags, grouped; a tag "
                 "such as endpoints_compatible says a model can be deployed that way, not that it is."},
    ]
