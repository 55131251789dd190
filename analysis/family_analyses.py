"""The licence, growth and deployment analyses of one family, straight from the store (the rows of the family's
models only, :func:`analysis.frames.family_frames`).

One call each for the CLI, the notebooks and the service; the analyses themselves take frames
(:mod:`analysis.licensing`, :mod:`analysis.growth`, :mod:`analysis.deployment`).
"""

from __future__ import annotations

from typing import Any

import polars as pl

from analysis import frames
from analysis.deployment import DeploymentReport, analyse_deployment
from analysis.families import family_members, lineage_models, lineage_view
from analysis.growth import GROWTH_COLUMNS, GrowthReport, analyse_growth
from analysis.licensing import LicenceReport, analyse_licences
from analysis.months import month_start
from crawler.families import Family, get_family
from crawler.store.db import Store


def created_since(members: pl.DataFrame, models: pl.DataFrame, since: str | None) -> pl.DataFrame:
    """The ``members`` created in month ``since`` (``YYYY-MM``) or later; all of them when ``since`` is None."""
    if since is None:
        return members
    recent = models.filter(pl.col("created_at") >= month_start(since)).select("hub", "id")
    return members.join(recent, on=["hub", "id"], how="semi")


def family_data(store: Store, family: Family | str, **options: Any) -> tuple[pl.DataFrame, frames.FamilyFrames]:
    """The members of ``family`` (:func:`analysis.families.family_members` of its lineage view) and their frames
    (:func:`analysis.frames.family_frames` with ``options``), the store's edges read once for both. When
    ``options`` name the model columns to read (``model_columns``, a few, as growth does), the family's model rows
    are taken from those the lineage view read, with these columns too."""
    fam = family if isinstance(family, Family) else get_family(family)
    edges = frames.edges(store)
    columns = options.get("model_columns")
    lineage = lineage_models(store, fam, edges=edges, columns=("key", *columns) if columns is not None else ())
    members = family_members(store, fam, view=lineage_view(store, fam, edges=edges, models=lineage))
    return members, frames.family_frames(store, members, store_edges=edges,
                                         store_models=lineage if columns is not None else None, **options)


def licences(store: Store, family: Family | str, since: str | None = None) -> LicenceReport:
    """Licence mix and drift of ``family`` (a Family or a name of the table; members created from ``since`` on)."""
    members, fam = family_data(store, family)
    members = created_since(members, fam.models, since)
    return analyse_licences(fam.models, fam.edges, members, fam.cards)


def growth(store: Store, family: Family | str, since: str | None = None) -> GrowthReport:
    """New derivatives of ``family`` per month (months from ``since`` on)."""
    members, fam = family_data(store, family, with_cards=False, with_snapshots=True, model_columns=GROWTH_COLUMNS)
    return analyse_growth(fam.models, fam.edges, members, frames.runs(store), fam.snapshots, since=since,
                          all_new=frames.new_per_month(store))


def deployment(store: Store, family: Family | str, since: str | None = None) -> DeploymentReport:
    """Deployment signals of ``family`` (members created from ``since`` on)."""
    members, fam = family_data(store, family)
    members = created_since(members, fam.models, since)
    return analyse_deployment(fam.models, members, fam.edges, fam.cards, since=since)
