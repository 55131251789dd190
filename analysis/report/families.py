"""The report's Families section: the report's family next to every family of the table, as of the month's end,
and the headline sentence that places its count next to the published definitions (:mod:`analysis.families`)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

import polars as pl

from analysis.families import (
    PUBLISHED,
    RELATIONS_SHOWN,
    FamiliesReport,
    StoreView,
    analyse_families,
    load_view,
    view_as_of,
    with_inferences,
)
from analysis.inference import DEFAULT_THRESHOLD
from analysis.months import month_end
from crawler.families import Family, load_families
from crawler.store.db import Store

HUB_NAMES = {"hf": "Hugging Face", "modelscope": "ModelScope"}


@dataclass(slots=True)
class FamiliesSection:
    """The families side by side as of the month's end, and the report family's headline sentence."""

    report: FamiliesReport
    family: Family
    month: str
    hubs: list[str]

    @property
    def row(self) -> dict[str, Any]:
        return self.report.family(self.family.name)

    @property
    def partial(self) -> bool:
        """Whether the data end before the report month does (it is partial, or has no data at all)."""
        end = self.report.data_end
        return end is not None and end.date() < month_end(self.month).date()

    def sentence(self) -> str:
        """"N derivatives (declared), M more inferred, on <hubs>, mirrors counted once, as of <date>"."""
        row, end = self.row, self.report.data_end
        inferred = f", {row['inferred']:,} more inferred" if row["inferred"] is not None else ""
        where = " and ".join(HUB_NAMES.get(h, h) for h in self.hubs) or "no hub"
        when = f"{end:%Y-%m-%d}" if end is not None else "n/a"
        partial = f" (partial month, data to {when})" if self.partial else ""
        return (f"{self.family.label}: {row['derivatives']:,} derivatives (declared){inferred}, on {where}, mirrors "
                f"counted once, as of {when}{partial}.")

    def tables(self) -> dict[str, pl.DataFrame]:
        """``families_compare`` (one row per family), ``families_months`` (new, share, cumulative and change per
        family and month up to the report month) and ``organisations`` (derived models per publishing org)."""
        compare = pl.DataFrame([{"family": f["label"], "orgs": ", ".join(f["orgs"]), "roots": f["roots"],
                                 "derivatives": f["derivatives"], **{r: f["by_relation"][r] for r in RELATIONS_SHOWN},
                                 "undeclared": f["undeclared"], "inferred": f["inferred"], "downloads": f["downloads"],
                                 "shared": f["shared"]} for f in self.report.families],
                               schema={"family": pl.String, "orgs": pl.String, "roots": pl.Int64,
                                       "derivatives": pl.Int64, **{r: pl.Int64 for r in RELATIONS_SHOWN},
                                       "undeclared": pl.Int64, "inferred": pl.Int64, "downloads": pl.Int64,
                                       "shared": pl.Int64})
        labels = {f["name"]: f["label"] for f in self.report.families}
        months = (self.report.months.filter(pl.col("month") <= self.month)  # latest month first, table order
                  .with_columns(pl.col("family").replace_strict(labels, return_dtype=pl.String))
                  .with_row_index("_i").sort(["month", "_i"], descending=[True, False]).drop("_i"))
        orgs = pl.DataFrame(self.report.organisations,
                            schema={"org": pl.String, "families": pl.List(pl.String), "models": pl.Int64,
                                    "derivatives": pl.Int64}).with_columns(pl.col("families").list.join(", "))
        return {"families_compare": compare, "families_months": months, "organisations": orgs}

    def note(self) -> dict[str, str]:
        """The method note: hubtree's count next to the published definitions."""
        return {"title": "Counting derivatives",
                "text": f"{self.sentence()} The count is the strictest of the published definitions: declared lineage "
                        "only (inferred models are counted apart), every hub crawled, a mirror counted once, and "
                        "survivor-biased. " + " ".join(PUBLISHED)
                        + " The Families section's share is the ATOM-style share among the families of the table "
                        "(docs/families.md)."}


def families_section(store: Store, month: str, family: Family, end: datetime,
                     view: StoreView | None = None) -> FamiliesSection:
    """Every family of the table (and ``family``, if it is not in it) as of ``end``, the report month's end.

    ``view``: the store's view (:func:`analysis.families.load_view`, with metrics) when the report already read it;
    the inferences and the month's end are added here."""
    table = load_families()
    table[family.name] = family  # the report's own definition (a user's file may change it) wins
    families = list(table.values())
    view = view if view is not None else load_view(store)
    view = view_as_of(with_inferences(store, view, families, DEFAULT_THRESHOLD), end)
    report = analyse_families(store, families, view=view)
    return FamiliesSection(report, family, month, [h for h, n in report.hubs.items() if n])
