"""Growth of a family: new derivatives per month (by generation, relation, hub, author), cumulative totals,
month-over-month growth, the family's share of all new models, the most-derived bases, and downloads/likes
over time when the store holds several metric snapshots.

Counts are by ``createdAt`` of the repos the crawls saw, so they are survivor-biased: a repo deleted before
it was crawled is invisible. :attr:`GrowthReport.caveats` says so, and says what else limits the figures.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import polars as pl

from analysis.months import month_range

SURVIVOR_BIAS = ("Survivor bias: counts are by createdAt of repos that still existed when crawled; repos deleted "
                 "before a crawl are invisible, so past months are undercounted.")
#: When a model has several declared parents, the relation it is counted under (first match).
RELATION_PRIORITY = ("merge", "adapter", "quantized", "finetune")
TOP_N = 5
#: The model columns :func:`analyse_growth` reads.
GROWTH_COLUMNS = ("author", "created_at", "deleted_at")


def model_relations(edges: pl.DataFrame) -> pl.DataFrame:
    """One relation per child (hub, id, relation, parents): ``merge`` with two or more declared parents, else
    the relation of its edges by :data:`RELATION_PRIORITY`. Models without declared parents are absent."""
    if edges.is_empty():
        return pl.DataFrame(schema={"hub": pl.String, "id": pl.String, "relation": pl.String,
                                    "parents": pl.UInt32})
    rank = {r: i for i, r in enumerate(RELATION_PRIORITY)}
    df = edges.with_columns(pl.col("relation").replace_strict(rank, default=len(rank), return_dtype=pl.Int32)
                            .alias("_rank"))
    out = df.group_by("hub", "child").agg(pl.col("_rank").min(), pl.len().alias("parents"))
    names = pl.DataFrame({"_rank": list(range(len(RELATION_PRIORITY))), "relation": list(RELATION_PRIORITY)},
                         schema={"_rank": pl.Int32, "relation": pl.String})
    out = out.join(names, on="_rank", how="left").with_columns(
        pl.when(pl.col("parents") >= 2).then(pl.lit("merge")).otherwise(pl.col("relation").fill_null("finetune"))
        .alias("relation"))
    return out.select(pl.col("hub"), pl.col("child").alias("id"), "relation", "parents")


def _month(col: str = "created_at") -> pl.Expr:
    return pl.col(col).dt.strftime("%Y-%m").alias("month")


def _counts(df: pl.DataFrame, dim: str, top: int | None = None) -> dict[str, dict[str, int]]:
    """``{month: {value: count}}`` for one dimension, the most frequent value first (the ``top`` ones only)."""
    out: dict[str, dict[str, int]] = {}
    grouped = (df.with_columns(pl.col(dim).fill_null("(none)")).group_by("month", dim).len()
               .sort(["month", "len", dim], descending=[False, True, False]))
    if top is not None:
        grouped = grouped.group_by("month", maintain_order=True).head(top)
    for month, value, n in grouped.iter_rows():
        out.setdefault(month, {})[value] = n
    return out


@dataclass(slots=True)
class GrowthReport:
    """Monthly growth rows plus metric snapshots and caveats."""

    months: pl.DataFrame  # month, new, cumulative, mom_growth, all_new, family_share, deleted
    by_relation: dict[str, dict[str, int]]
    by_generation: dict[str, dict[str, int]]
    by_hub: dict[str, dict[str, int]]
    top_authors: dict[str, dict[str, int]]
    top_bases: dict[str, dict[str, int]]
    metrics: pl.DataFrame  # run_id, taken_at, models, downloads, likes
    undated: int
    caveats: list[str] = field(default_factory=list)

    def to_json(self) -> dict[str, Any]:
        """The ``--json`` shape: ``{"months": [{"month", "new", "cumulative", "by_relation", "by_generation",
        …}], "metrics": […], "caveats": […]}``."""
        months = []
        for row in self.months.iter_rows(named=True):
            m = row["month"]
            months.append({**row, "by_relation": self.by_relation.get(m, {}),
                           "by_generation": self.by_generation.get(m, {}), "by_hub": self.by_hub.get(m, {}),
                           "top_authors": self.top_authors.get(m, {}), "top_bases": self.top_bases.get(m, {})})
        total = int(self.months["new"].sum()) if len(self.months) else 0
        return {"summary": {"months": len(months), "new_in_range": total, "undated": self.undated,
                            "snapshots": len(self.metrics)},
                "months": months, "metrics": self.metrics.to_dicts(), "caveats": self.caveats}


def analyse_growth(models: pl.DataFrame, edges: pl.DataFrame, members: pl.DataFrame,
                   runs: pl.DataFrame | None = None, snapshots: pl.DataFrame | None = None,
                   since: str | None = None, until: str | None = None,
                   all_new: pl.DataFrame | None = None) -> GrowthReport:
    """Growth of the family ``members`` (hub, id, generation, depth): derivatives are its members below a root
    (depth > 0: a root that declares another root as its base is no derivative) that declare a base.

    ``since`` / ``until`` (``YYYY-MM``) bound the months shown; cumulative totals always count from the start.
    ``all_new`` (month, all_new: every model of the hub, :func:`analysis.frames.new_per_month`) lets ``models``
    hold the family's models only; without it they are counted from ``models``.
    """
    relations = model_relations(edges)
    fam = (members.filter(pl.col("depth") > 0).select("hub", "id", "generation")
           .join(models.select("hub", "id", "author", "created_at", "deleted_at"), on=["hub", "id"], how="left")
           .join(relations, on=["hub", "id"], how="inner"))
    dated = fam.filter(pl.col("created_at").is_not_null()).with_columns(_month())
    undated = fam.height - dated.height
    caveats = [SURVIVOR_BIAS]
    if undated:
        caveats.append(f"{undated} derivatives have no createdAt and are left out of the monthly counts.")
    if until is not None:
        dated = dated.filter(pl.col("month") <= until)
    if dated.is_empty():
        return GrowthReport(pl.DataFrame(schema={"month": pl.String, "new": pl.Int64}), {}, {}, {}, {}, {},
                            _metrics(members, snapshots, caveats, runs), undated, caveats)
    months = month_range(dated["month"].min(), until or dated["month"].max())
    per_month = dated.group_by("month").agg(pl.len().alias("new"),
                                            pl.col("deleted_at").is_not_null().sum().alias("deleted"))
    frame = (pl.DataFrame({"month": months}).join(per_month, on="month", how="left")
             .with_columns(pl.col("new").fill_null(0).cast(pl.Int64), pl.col("deleted").fill_null(0).cast(pl.Int64))
             .with_columns(pl.col("new").cum_sum().alias("cumulative"))
             .with_columns(pl.when(pl.col("new").shift(1) > 0)
                           .then(((pl.col("new") - pl.col("new").shift(1)) / pl.col("new").shift(1)).round(4))
                           .otherwise(None).alias("mom_growth")))
    frame = frame.join(_family_share(models, per_month, runs, caveats, all_new), on="month", how="left")
    if since is not None:
        frame = frame.filter(pl.col("month") >= since)
    top_bases = _counts(dated.join(edges.filter(pl.col("parent").is_not_null()).select(
        "hub", pl.col("child").alias("id"), "parent"), on=["hub", "id"]), "parent", TOP_N)
    caveats.append("Monthly counts include only derivatives that declare a base (undeclared family-architecture "
                   "repos are not family members).")
    return GrowthReport(
        months=frame.select("month", "new", "cumulative", "mom_growth", "all_new", "family_share", "deleted"),
        by_relation=_counts(dated, "relation"), by_generation=_counts(dated, "generation"),
        by_hub=_counts(dated, "hub"), top_authors=_counts(dated, "author", TOP_N), top_bases=top_bases,
        metrics=_metrics(members, snapshots, caveats, runs), undated=undated, caveats=caveats)


def _family_share(models: pl.DataFrame, per_month: pl.DataFrame, runs: pl.DataFrame | None,
                  caveats: list[str], all_new: pl.DataFrame | None = None) -> pl.DataFrame:
    """All new models per month and the family's share of them — only when a full sweep saw every model."""
    swept = runs is not None and not runs.filter((pl.col("mode") == "full")
                                                & pl.col("status").is_in(["success", "partial"])).is_empty()
    if not swept:
        caveats.append("No full sweep is recorded, so the family's share of all new models is not computed.")
        return pl.DataFrame({"month": per_month["month"]}).with_columns(
            pl.lit(None, pl.Int64).alias("all_new"), pl.lit(None, pl.Float64).alias("family_share"))
    if all_new is None:
        all_new = (models.filter(pl.col("created_at").is_not_null()).with_columns(_month())
                   .group_by("month").agg(pl.len().cast(pl.Int64).alias("all_new")))
    return (all_new.join(per_month.select("month", "new"), on="month", how="left")
            .with_columns((pl.col("new").fill_null(0) / pl.col("all_new")).round(4).alias("family_share"))
            .select("month", "all_new", "family_share"))


def _metrics(members: pl.DataFrame, snapshots: pl.DataFrame | None, caveats: list[str],
             runs: pl.DataFrame | None = None) -> pl.DataFrame:
    """Family downloads (30-day) and likes summed per metric snapshot of a full sweep.

    An incremental run snapshots only the records it listed, so its sums would not be comparable: when the runs
    are known, only full sweeps' snapshots are used (and the caveats say so).
    """
    empty = pl.DataFrame(schema={"run_id": pl.Int64, "taken_at": pl.Datetime("us"), "models": pl.UInt32,
                                 "downloads": pl.Int64, "likes": pl.Int64})
    if snapshots is None or snapshots.is_empty():
        caveats.append("No metric snapshot exists: downloads and likes over time are not available.")
        return empty
    if runs is not None and not runs.is_empty() and "mode" in runs.columns:
        full = runs.filter(pl.col("mode") == "full").select("run_id")
        if full.height < runs.height:
            caveats.append("Metric snapshots of incremental runs cover only the records they listed; downloads and "
                           "likes over time use the full sweeps' snapshots only.")
        snapshots = snapshots.join(full, on="run_id", how="semi")
    fam = snapshots.join(members.select("hub", "id"), on=["hub", "id"], how="semi")
    out = (fam.group_by("run_id").agg(pl.col("taken_at").min(), pl.len().alias("models"),
                                      pl.col("downloads").sum(), pl.col("likes").sum()).sort("run_id"))
    if out.height < 2:
        taken = out["taken_at"][0] if out.height else None  # None too for a run the store has no record of
        when = f" (taken {taken:%Y-%m-%d})" if taken is not None else ""
        caveats.append(f"Only one metric snapshot exists{when}: downloads and likes over time cannot be measured, "
                       "so growth is createdAt-based only.")
    return out
