"""``hubtree report --month YYYY-MM``: the monthly report (HTML, Markdown, JSON, figures, CSV/Parquet tables)."""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Annotated, Any

import typer

from hubtree.errors import EXIT_LOCKED, CliError, friendly_errors
from hubtree.options import DbOption, JsonOption

MonthOption = Annotated[str, typer.Option("--month", help="YYYY-MM; 'latest' (the latest month with new "
                                          "derivatives) or 'previous' (the previous calendar month, for schedulers).")]
OutOption = Annotated[Path | None, typer.Option("--out", help="Output directory (default: ./reports/YYYY-MM).")]
FamilyOption = Annotated[str, typer.Option("--family", help="Root organisation of the family.")]
FormatOption = Annotated[str, typer.Option("--figures", help="Figure file format: svg or png.")]


def previous_calendar_month(today: datetime | None = None) -> str:
    today = today or datetime.now(UTC)
    return f"{today.year - 1:04d}-12" if today.month == 1 else f"{today.year:04d}-{today.month - 1:02d}"


def open_existing_store(db: str | None) -> Any:
    """The store at ``db``; a SQLite file that does not exist is an error (a report never creates a store)."""
    from analysis.lineage_cache import sqlite_path
    from crawler import config
    from crawler.store import open_store

    url = config.db_url(db)
    path = sqlite_path(url)
    if path is not None and not path.exists():
        raise FileNotFoundError(2, "no store at this path (crawl first, or pass --db)", str(path))
    return open_store(url, create=False)


def make_report(store: Any, month: str, out: Path | Callable[[str], Path] | None, family: str,
                figure_format: str = "svg") -> dict[str, Any]:
    """Build and write the report while holding the report lock and the crawl lock (a consistent store).

    ``month`` may be ``latest`` or ``previous``; ``out`` may be a function of the resolved month.

    Raises :class:`CliError` with exit code 4 when another report or a crawl is running on the store.
    """
    from analysis.growth import check_month
    from analysis.report import build_report, latest_month, write_report
    from crawler.lock import LockBusy, RunLock
    from hubtree.cmd_analyze import family_members

    started = time.monotonic()
    try:
        with RunLock(store, "report"), RunLock(store, "crawl"):
            members = family_members(store, family)
            if month == "latest":
                found = latest_month(store, members)
                if found is None:
                    raise CliError(f"the {family} family has no declared derivative in the store yet")
                month = found
            elif month == "previous":
                month = previous_calendar_month()
            else:
                try:
                    month = check_month(month)  # type: ignore[assignment]
                except ValueError as exc:
                    raise CliError(f"--month: {exc}", 2) from None
            try:
                data = build_report(store, month, members, family)
            except ValueError as exc:
                raise CliError(str(exc)) from None
            target = out(month) if callable(out) else out or Path("reports") / month
            paths = write_report(data, target, figure_format=figure_format)
    except LockBusy as exc:
        raise CliError(f"{exc}; the report needs the store to itself — retry when it ends", EXIT_LOCKED) from None
    return {"month": month, "family": family, "out": str(target), "files": {k: str(v) for k, v in paths.items()},
            "headline": {h["key"]: h["value"] for h in data.headline},
            "figures": len(list(paths["figures"].iterdir())), "tables": len(data.tables),
            "elapsed_s": round(time.monotonic() - started, 3)}


@friendly_errors
def command(month: MonthOption, out: OutOption = None, db: DbOption = None, family: FamilyOption = "Qwen",
            figures: FormatOption = "svg", as_json: JsonOption = False) -> None:
    """Write the monthly report: headline vs the previous month, growth, families, licences, deployment,
    new derivatives, data quality and method notes — as data up to the month's end."""
    if figures not in ("svg", "png"):
        raise CliError(f"--figures must be svg or png, not {figures!r}", 2)
    store = open_existing_store(db)
    summary = make_report(store, month, out, family, figures)
    if as_json:
        typer.echo(json.dumps(summary))
        return
    h = summary["headline"]
    typer.echo(f"report {summary['month']} ({family}): {h['family_models']:,} family models, "
               f"{h['new_derivatives']:,} new derivatives, {h['flagged_models']:,} flagged · {summary['figures']} "
               f"figures, {summary['tables']} tables → {summary['files']['html']} · {summary['elapsed_s']} s")
