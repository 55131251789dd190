"""``hubtree runs``: past crawl runs with their counts, requests, waits and errors."""

from __future__ import annotations

import json
from typing import Annotated

import typer

from hubtree.errors import friendly_errors
from hubtree.options import DbOption, JsonOption, checked


@friendly_errors
def command(
    db: DbOption = None,
    hub: Annotated[str | None, typer.Option(help="Only runs of this hub (hf or modelscope).")] = None,
    limit: Annotated[int, typer.Option(min=1, help="How many of the latest runs.")] = 20,
    as_json: JsonOption = False,
) -> None:
    """List past crawl runs, newest first."""
    from rich.console import Console
    from rich.table import Table

    from crawler.runs import check_hub, list_runs
    from crawler.store import open_existing_store

    checked("--hub", check_hub, hub)
    rows = list_runs(open_existing_store(db), hub, limit)
    if as_json:
        typer.echo(json.dumps({"runs": rows}))
        return
    table = Table(title="crawl runs")
    for col in ("run", "hub", "mode", "status", "started", "s", "records", "changed", "family", "api", "resolvers",
                "retries", "waits", "quar.", "errors"):
        table.add_column(col, justify="right" if col not in ("hub", "mode", "status", "started") else "left")
    for r in rows:
        table.add_row(str(r["run_id"]), r["hub"], r["mode"], r["status"], (r["started_at"] or "")[:19],
                      f"{r['elapsed_s']:.1f}" if r["elapsed_s"] is not None else "…", str(r["records"]),
                      str(r["changed"]), str(r["family_models"]), str(r["requests"]["api"]),
                      str(r["requests"]["resolvers"]), str(r["retries"]), str(r["rate_limit_waits"]),
                      str(r["quarantined"]), str(r["errors"]))
    Console().print(table)
