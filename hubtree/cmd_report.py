"""``hubtree report --month YYYY-MM``: the monthly report (HTML, Markdown, JSON, figures, CSV/Parquet tables)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import typer

from crawler.families import DEFAULT_FAMILY
from hubtree.errors import EXIT_USAGE, CliError, friendly_errors
from hubtree.options import DbOption, FamiliesFileOption, FamilyOption, JsonOption, checked

MonthOption = Annotated[str, typer.Option("--month", help="YYYY-MM; 'latest' (the latest month with new "
                                          "derivatives) or 'previous' (the previous calendar month, for schedulers).")]
OutOption = Annotated[Path | None, typer.Option("--out", help="Output directory (default: ./reports/YYYY-MM).")]
FormatOption = Annotated[str, typer.Option("--figures", help="Figure file format: svg or png.")]


@friendly_errors
def command(month: MonthOption, out: OutOption = None, db: DbOption = None, family: FamilyOption = DEFAULT_FAMILY,
            figures: FormatOption = "svg", as_json: JsonOption = False,
            families_file: FamiliesFileOption = None) -> None:
    """Write the monthly report: headline vs the previous month, growth, families, licences, deployment,
    new derivatives, data quality and method notes — as data up to the month's end."""
    from analysis.months import check_month
    from analysis.report import make_report
    from crawler.families import get_family
    from crawler.store import open_existing_store

    if figures not in ("svg", "png"):
        raise CliError(f"--figures must be svg or png, not {figures!r}", EXIT_USAGE)
    if month not in ("latest", "previous"):
        month = checked("--month", check_month, month)
    fam = get_family(family, families_file)
    summary = make_report(open_existing_store(db), month, out, fam, figures)
    if as_json:
        typer.echo(json.dumps(summary))
        return
    h = summary["headline"]
    typer.echo(f"report {summary['month']} ({fam.label}): {h['family_models']:,} family models, "
               f"{h['new_derivatives']:,} new derivatives, {h['flagged_models']:,} flagged · {summary['figures']} "
               f"figures, {summary['tables']} tables → {summary['files']['html']} · {summary['elapsed_s']} s")
