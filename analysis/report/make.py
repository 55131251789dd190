"""Make the monthly report of a store: resolve the month, build it and write it, holding the store's locks."""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import polars as pl

from analysis.families import family_members, load_view
from analysis.frames import FamilyFrames, family_frames
from analysis.frames import edges as store_edges
from analysis.months import check_month, current_month, previous_calendar_month
from analysis.report.build import ReportError, build_report, latest_month
from analysis.report.render import write_report
from crawler.families import Family, get_family
from crawler.gc_policy import rare_collections
from crawler.lock import RunLock
from crawler.store.db import Store


def resolve_month(store: Store, month: str, members: pl.DataFrame, family: Family,
                  data: FamilyFrames | None = None) -> str:
    """``YYYY-MM`` for ``month``, which may also be ``latest`` (the latest month with a new declared derivative;
    ``data``: the family's frames when already read) or ``previous`` (the previous calendar month)."""
    if month == "latest":
        found = latest_month(store, members, data)
        if found is None:
            raise ReportError(f"the {family.label} family has no declared derivative in the store yet")
        return found
    if month == "previous":
        return previous_calendar_month()
    month = check_month(month)  # type: ignore[assignment]
    if month > current_month():
        raise ReportError(f"{month} is after the current month ({current_month()}): no data can exist for it yet")
    return month


@rare_collections()
def make_report(store: Store, month: str, out: Path | Callable[[str], Path] | None, family: Family | str | None = None,
                figure_format: str = "svg") -> dict[str, Any]:
    """Build and write the report while holding the report lock and the crawl lock (a consistent store).

    ``family`` is a :class:`~crawler.families.Family` or a name of the families table (default: the default
    family); ``month`` as in :func:`resolve_month`; ``out`` may be a function of the resolved month (default
    ``reports/YYYY-MM``). Returns the summary (month, files, headline, counts, elapsed seconds). Raises
    :class:`crawler.lock.LockBusy` when another report or a crawl is running on the store, :class:`ReportError`
    when there is nothing to report.
    """
    started = time.monotonic()
    fam = family if isinstance(family, Family) else get_family(family)
    with RunLock(store, "report"), RunLock(store, "crawl"):
        edges = store_edges(store)  # read once: the store's view and the family's frames
        view = load_view(store, edges=edges)  # one read of the store: the membership and the families section
        members = family_members(store, fam, view=view)
        frames = family_frames(store, members, with_snapshots=True, store_edges=edges)  # read once
        del edges  # not held through the report's inference pass
        month = resolve_month(store, month, members, fam, frames)
        data = build_report(store, month, members, fam, view=view, data=frames)
        target = out(month) if callable(out) else out or Path("reports") / month
        paths = write_report(data, target, figure_format=figure_format)
    return {"month": month, "family": fam.name, "out": str(target), "files": {k: str(v) for k, v in paths.items()},
            "headline": {h["key"]: h["value"] for h in data.headline},
            "figures": len(list(paths["figures"].iterdir())), "tables": len(data.tables),
            "elapsed_s": round(time.monotonic() - started, 3)}
