"""``hubtree analyze licenses|growth|deployment``: the family's licence drift, growth and deployment signals."""

from __future__ import annotations

from typing import Annotated, Any

import orjson
import polars as pl
import typer

from hubtree.errors import friendly_errors
from hubtree.options import DbOption, JsonOption, checked

app = typer.Typer(no_args_is_help=True)

FamilyOption = Annotated[str, typer.Option("--family", help="Root organisation of the family (its models are the "
                                                            "roots; the family is them plus declared descendants).")]
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


@app.command("licenses")
@friendly_errors
def licenses(db: DbOption = None, family: FamilyOption = "Qwen", since: SinceOption = None,
             as_json: JsonOption = False, limit: LimitOption = 15) -> None:
    """Licence mix and drift along the family tree: every edge classified, findings with reasons."""
    from analysis.family_analyses import licences as analyse
    from analysis.months import check_month
    from crawler.store import open_existing_store

    since = checked("--since", check_month, since)
    report = analyse(open_existing_store(db), family, since)
    if as_json:
        _emit({"family": family, "since": since, **report.to_json()})
        return
    s = report.summary()
    typer.echo(f"Family {family}: {s['models']} models, {s['edges']} declared edges; flagged models "
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
def growth(db: DbOption = None, family: FamilyOption = "Qwen", since: SinceOption = None,
           as_json: JsonOption = False, limit: LimitOption = 24) -> None:
    """New derivatives per month (by generation, relation, hub, author), cumulative and month-over-month."""
    from analysis.family_analyses import growth as analyse
    from analysis.months import check_month
    from crawler.store import open_existing_store

    since = checked("--since", check_month, since)
    report = analyse(open_existing_store(db), family, since)
    if as_json:
        _emit({"family": family, "since": since, **report.to_json()})
        return
    months = report.to_json()["months"]
    table = pl.DataFrame([{"month": m["month"], "new": m["new"], "cumulative": m["cumulative"],
                           "mom_growth": m["mom_growth"], "family_share": m["family_share"],
                           "top_base": next(iter(m["top_bases"]), None),
                           "by_relation": ", ".join(f"{k} {v}" for k, v in m["by_relation"].items())}
                          for m in months]) if months else pl.DataFrame()
    typer.echo(f"Family {family}: new derivatives per month (createdAt)")
    _table("Months (latest last)", table.tail(limit) if months else table, limit)
    _table("Metric snapshots", report.metrics, limit)
    _caveats(report.caveats)


@app.command("deployment")
@friendly_errors
def deployment(db: DbOption = None, family: FamilyOption = "Qwen", since: SinceOption = None,
               as_json: JsonOption = False, limit: LimitOption = 30) -> None:
    """Deployment signals per model (tags, providers, formats, card text, ModelScope flags) and their shares."""
    from analysis.family_analyses import deployment as analyse
    from analysis.months import check_month
    from crawler.store import open_existing_store

    since = checked("--since", check_month, since)
    report = analyse(open_existing_store(db), family, since)
    if as_json:
        _emit({"family": family, "since": since, **report.to_json()})
        return
    summary = report.to_json()["summary"]
    typer.echo(f"Family {family}: {summary['models']} models, {summary['with_any_signal']} with a deployment signal")
    _table("Shares overall and by role", report.shares.filter(pl.col("scope").is_in(["all", "role"])), limit)
    _table("Shares by generation", report.shares.filter(pl.col("scope") == "generation"), limit)
    _table("Signals by source", report.by_source, limit)
    _caveats(report.caveats)
