"""The licence, growth and deployment analyses of one family, straight from the store.

One call each for the CLI, the notebooks and the service; the analyses themselves take frames
(:mod:`analysis.licensing`, :mod:`analysis.growth`, :mod:`analysis.deployment`).
"""

from __future__ import annotations

import polars as pl

from analysis import frames
from analysis.deployment import DeploymentReport, analyse_deployment
from analysis.graph import family_members
from analysis.growth import GrowthReport, analyse_growth
from analysis.licensing import LicenceReport, analyse_licences
from analysis.months import month_start
from crawler.families import Family
from crawler.store.db import Store


def created_since(members: pl.DataFrame, models: pl.DataFrame, since: str | None) -> pl.DataFrame:
    """The ``members`` created in month ``since`` (``YYYY-MM``) or later; all of them when ``since`` is None."""
    if since is None:
        return members
    recent = models.filter(pl.col("created_at") >= month_start(since)).select("hub", "id")
    return members.join(recent, on=["hub", "id"], how="semi")


def licences(store: Store, family: Family | str, since: str | None = None) -> LicenceReport:
    """Licence mix and drift of ``family`` (a Family or a name of the table; members created from ``since`` on)."""
    models = frames.models(store)
    members = created_since(family_members(store, family), models, since)
    return analyse_licences(models, frames.edges(store), members, frames.cards(store))


def growth(store: Store, family: Family | str, since: str | None = None) -> GrowthReport:
    """New derivatives of ``family`` per month (months from ``since`` on)."""
    return analyse_growth(frames.models(store), frames.edges(store), family_members(store, family), frames.runs(store),
                          frames.snapshots(store), since=since)


def deployment(store: Store, family: Family | str, since: str | None = None) -> DeploymentReport:
    """Deployment signals of ``family`` (members created from ``since`` on)."""
    models = frames.models(store)
    members = created_since(family_members(store, family), models, since)
    return analyse_deployment(models, members, frames.edges(store), frames.cards(store), since=since)
