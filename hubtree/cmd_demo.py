"""``hubtree demo``: the whole pipeline on the bundled sample world, offline, in about half a minute.

Serves and crawls the sample (:func:`hubsim.demo.crawl_world`), builds the lineage graph, prints a short summary
and writes the report for the latest month with new derivatives.
"""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Annotated, Any

import typer

from hubsim.demo import DEFAULT_DIR, SAMPLE_WORLD
from hubtree.errors import EXIT_OK, friendly_errors


def _summary(console: Any, db_url: str, crawls: list[dict[str, Any]], report: dict[str, Any]) -> None:
    from rich.table import Table

    from analysis.graph import graph_stats, open_graph

    for c in crawls:
        console.print(f"crawl {c['hub']}: {c['status']} · {c['records']:,} records · family {c['family_models']:,} "
                      f"· cards {c['cards_fetched']:,} · errors {c['errors']} · {c['elapsed_s']} s")
    stats = graph_stats(open_graph(db_url))
    edges = ", ".join(f"{k} {v:,}" for k, v in stats["edges"].items())
    console.print(f"graph: {stats['nodes']:,} models, declared edges: {edges}; "
                  f"{stats['family']['undeclared']:,} {stats['family']['label']}-architecture repos declare no base")
    data = json.loads(Path(report["files"]["json"]).read_text())
    tables = data["tables"]
    fam = Table(title="Family sizes by generation")
    for col in ("generation", "models", "derivatives", "max depth"):
        fam.add_column(col, justify="left" if col == "generation" else "right")
    for r in tables["families"][:8]:
        fam.add_row(r["generation"], f"{r['models']:,}", f"{r['derivatives']:,}", str(r["max_depth"]))
    bases = Table(title="Top bases (direct declared children)")
    bases.add_column("base")
    bases.add_column("children", justify="right")
    for r in tables["top_bases"][:8]:
        bases.add_row(r["base"], f"{r['children']:,}")
    console.print(fam)
    console.print(bases)
    h = report["headline"]
    mix = ", ".join(f"{r['license']} {r['models']:,}" for r in tables["licence_mix"][:4])
    console.print(f"licences: {h['flagged_models']:,} models flagged ({h['flagged_share']:.1%}), "
                  f"{h['violations']} edges with a potential violation; mix: {mix}")
    shares = {r["group"]: r["share"] for r in tables["deployment_shares"] if r["scope"] == "all"}
    console.print("deployment: " + ", ".join(f"{g} {s:.1%}" for g, s in shares.items())
                  + " of family models have a signal")
    console.print(f"report {report['month']}: {report['files']['html']} (also report.md, figures/, tables/)")


@friendly_errors
def command(
    out: Annotated[Path, typer.Option("--out", help="Output directory (store and report).")] = DEFAULT_DIR,
    db: Annotated[str | None, typer.Option("--db", help="Store URL (default: OUT/hubtree.db).")] = None,
    world: Annotated[Path, typer.Option("--world", help="World directory to serve.")] = SAMPLE_WORLD,
) -> None:
    """Run the pipeline on the bundled sample, offline: simulator → crawl both hubs → graph → summary → report."""
    from rich.console import Console

    from analysis.report import make_report
    from crawler.store import open_store
    from hubsim.demo import crawl_world

    started = time.monotonic()
    console = Console(soft_wrap=True)
    out.mkdir(parents=True, exist_ok=True)
    db_url = db or f"sqlite:///{(out / 'hubtree.db').resolve()}"
    console.print(f"hubtree demo: serving {world} on loopback, store {db_url}")
    crawls = crawl_world(db_url, world)
    report = make_report(open_store(db_url), "latest", lambda month: out / f"report-{month}")
    _summary(console, db_url, crawls, report)
    console.print(f"done in {time.monotonic() - started:.1f} s")
    console.print(f"explore the lineage in a browser: hubtree serve --db {db_url} --reports {out}  "
                  "(then open the URL it prints)")
    raise typer.Exit(EXIT_OK)
