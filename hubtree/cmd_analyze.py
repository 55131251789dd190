"""``hubtree analyze licenses|growth|deployment|families``: a family's licence drift, growth and deployment signals,
and every family side by side."""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated, Any

import orjson
import typer

from crawler.families import DEFAULT_FAMILY
from hubtree.errors import friendly_errors
from hubtree.options import DbOption, FamiliesFileOption, FamilyOption, JsonOption, checked

if TYPE_CHECKING:
    from collections.abc import Callable
    from pathlib import Path

    import polars as pl

    from crawler.families import Family
    from crawler.store.db import Store

app = typer.Typer(no_args_is_help=True)

SinceOption = Annotated[str | None, typer.Option("--since", help="Only months / models created from YYYY-MM on.")]
LimitOption = Annotated[int, typer.Option("--limit", help="Rows per table in the text output.")]


def _emit(data: dict[str, Any]) -> None:
    typer.echo(orjson.dumps(data, default=str, option=orjson.OPT_INDENT_2 | orjson.OPT_NON_STR_KEYS).decode())


def _table(title: str, df: pl.DataFrame, limit: int) -> None:
    typer.echo(f"\n{title}")
    if df.is_empty():
        typer.echo("  (none)")
        return
    cols = df.columns
    rows = [[_cell(v) for v in r] for r in df.head(limit).iter_rows()]
    widths = [min(60, max(len(c), *(len(r[i]) for r in rows))) for i, c in enumerate(cols)]
    typer.echo("  " + "  ".join(c.ljust(w) for c, w in zip(cols, widths, strict=True)))
    for r in rows:
        typer.echo("  " + "  ".join(v[:w].ljust(w) for v, w in zip(r, widths, strict=True)))
    if df.height > limit:
        typer.echo(f"  … {df.height - limit} more (--limit, or --json for all)")


def _cell(value: Any) -> str:
    if isinstance(value, list):
        return ", ".join(map(str, value))
    if isinstance(value, float):
        return f"{value:.4g}"
    return "" if value is None else str(value)


def _caveats(caveats: list[str]) -> None:
    typer.echo("\nCaveats:")
    for c in caveats:
        typer.echo(f"  - {c}")


def _family_analysis(analyse: Callable[[Store, Family, str | None], Any], db: str | None, family: str,
                     since: str | None, families_file: Path | None, as_json: bool) -> tuple[Family, Any] | None:
    """``analyse`` (one of :mod:`analysis.family_analyses`) of ``family`` in the store at ``db``: printed as JSON
    with ``as_json`` (None returned), else the family and its report, for the command's text output."""
    from analysis.months import check_month
    from crawler.families import get_family
    from crawler.store import open_existing_store

    since = checked("--since", check_month, since)
    fam = get_family(family, families_file)
    report = analyse(open_existing_store(db), fam, since)
    if as_json:
        _emit({"family": fam.name, "since": since, **report.to_json()})
        return None
    return fam, report


@app.command("licenses")
@friendly_errors
def licenses(db: DbOption = None, family: FamilyOption = DEFAULT_FAMILY, since: SinceOption = None,
             as_json: JsonOption = False, limit: LimitOption = 15, families_file: FamiliesFileOption = None) -> None:
    """Licence mix and drift along the family tree: every edge classified, findings with reasons."""
    import polars as pl

    from analysis.family_analyses import licences as analyse

    if (shown := _family_analysis(analyse, db, family, since, families_file, as_json)) is None:
        return
    fam, report = shown
    s = report.summary()
    typer.echo(f"Family {fam.label}: {s['models']} models, {s['edges']} declared edges; flagged models "
               f"{s['flagged_models']} ({(s['flagged_share'] or 0):.1%}); merge conflicts {s['merge_conflicts']}")
    typer.echo("Edges by kind: " + ", ".join(f"{k} {v}" for k, v in s["edges_by_kind"].items()))
    _table("Licence mix", pl.DataFrame({"license": list(s["licence_mix"]), "models": list(s["licence_mix"].values())}),
           limit)
    _table("Licence mix by generation", report.mix_by_generation, limit)
    _table("Drift matrix (parent → child)", report.drift, limit)
    _table("Flagged models by downloads", report.flagged.select("id", "downloads", "license", "kinds", "reason"),
           limit)
    _caveats(report.caveats)


@app.command("growth")
@friendly_errors
def growth(db: DbOption = None, family: FamilyOption = DEFAULT_FAMILY, since: SinceOption = None,
           as_json: JsonOption = False, limit: LimitOption = 24, families_file: FamiliesFileOption = None) -> None:
    """New derivatives per month (by generation, relation, hub, author), cumulative and month-over-month."""
    import polars as pl

    from analysis.family_analyses import growth as analyse

    if (shown := _family_analysis(analyse, db, family, since, families_file, as_json)) is None:
        return
    fam, report = shown
    months = report.to_json()["months"]
    table = pl.DataFrame([{"month": m["month"], "new": m["new"], "cumulative": m["cumulative"],
                           "mom_growth": m["mom_growth"], "family_share": m["family_share"],
                           "top_base": next(iter(m["top_bases"]), None),
                           "by_relation": ", ".join(f"{k} {v}" for k, v in m["by_relation"].items())}
                          for m in months]) if months else pl.DataFrame()
    typer.echo(f"Family {fam.label}: new derivatives per month (createdAt)")
    _table("Months (latest last)", table.tail(limit) if months else table, limit)
    _table("Metric snapshots", report.metrics, limit)
    _caveats(report.caveats)


@app.command("deployment")
@friendly_errors
def deployment(db: DbOption = None, family: FamilyOption = DEFAULT_FAMILY, since: SinceOption = None,
               as_json: JsonOption = False, limit: LimitOption = 30, families_file: FamiliesFileOption = None) -> None:
    """Deployment signals per model (tags, providers, formats, card text, ModelScope flags) and their shares."""
    import polars as pl

    from analysis.family_analyses import deployment as analyse

    if (shown := _family_analysis(analyse, db, family, since, families_file, as_json)) is None:
        return
    fam, report = shown
    summary = report.to_json()["summary"]
    typer.echo(f"Family {fam.label}: {summary['models']} models, {summary['with_any_signal']} with a deployment signal")
    _table("Shares overall and by role", report.shares.filter(pl.col("scope").is_in(["all", "role"])), limit)
    _table("Shares by generation", report.shares.filter(pl.col("scope") == "generation"), limit)
    _table("Signals by source", report.by_source, limit)
    _caveats(report.caveats)


@app.command("families")
@friendly_errors
def families(db: DbOption = None,
             names: Annotated[str | None, typer.Option("--families", help="Comma-separated family names (default: "
                                                       "every family of the table).")] = None,
             since: SinceOption = None,
             min_downloads: Annotated[int | None, typer.Option("--min-downloads", min=0, help="Count only derivatives "
                                      "with at least N downloads (ATOM's \"more than 5\" is 6).")] = None,
             inferred: Annotated[bool, typer.Option("--inferred/--no-inferred", help="Also count the models inferred "
                                 "lineage joins to each family (apart from the declared count).")] = True,
             as_json: JsonOption = False, limit: LimitOption = 12, families_file: FamiliesFileOption = None) -> None:
    """Every family side by side from one pass over the store: roots, declared derivatives by relation, undeclared
    and inferred models, downloads, each family's share of new derivatives per month, organisation totals."""
    import polars as pl

    from analysis.families import analyse_families
    from analysis.months import check_month
    from crawler.families import select_families
    from crawler.store import open_existing_store

    since = checked("--since", check_month, since)
    chosen = select_families(names, families_file)
    report = analyse_families(open_existing_store(db), chosen, since=since, min_downloads=min_downloads,
                              include_inferred=inferred)
    if as_json:
        _emit(report.to_json())
        return
    end = f"{report.data_end:%Y-%m-%d}" if report.data_end else "n/a"
    partial = f" ({report.partial_month} is a partial month)" if report.partial_month else ""
    typer.echo(f"Families as of {end}{partial}: declared derivatives, mirrors counted once"
               + (f", at least {min_downloads} downloads" if min_downloads is not None else ""))
    rows = pl.DataFrame([{"family": f["label"], "roots": f["roots"], "derivatives": f["derivatives"],
                          **f["by_relation"], "undeclared": f["undeclared"], "inferred": f["inferred"],
                          "downloads": f["downloads"], "shared": f["shared"]} for f in report.families])
    _table("Families", rows, limit)
    latest = report.months["month"].unique().sort(descending=True).head(limit)
    _table("New derivatives per month (latest first): share of all listed families' new derivatives",
           report.months.filter(pl.col("month").is_in(latest)).sort("month", descending=True), limit * len(chosen))
    _table("Derived models per publishing organisation", pl.DataFrame(report.organisations), limit)
    if report.overlaps:
        _table("Models in two families", pl.DataFrame(report.overlaps), limit)
    if report.unresolved_bases:
        _table("Missing root-organisation bases (their children are counted)", pl.DataFrame(report.unresolved_bases),
               limit)
    _caveats(report.caveats)
