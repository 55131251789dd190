"""``hubtree crawl hf|modelscope``: crawl a hub into the store (full sweep or incremental)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import typer

from crawler.families import DEFAULT_FAMILY
from hubtree.errors import EXIT_FAILURE, EXIT_OK, EXIT_PARTIAL, EXIT_USAGE, CliError, friendly_errors
from hubtree.options import DbOption, FamiliesFileOption, JsonOption, checked
from hubtree.terminal import printable_line

app = typer.Typer(no_args_is_help=True)

ModeOption = Annotated[str, typer.Option("--mode", help="full: sweep everything (marks vanished models deleted); "
                                         "incremental: only what changed since the last run.")]
ProgressOption = Annotated[str, typer.Option("--progress", help="auto (live on a terminal, JSON lines otherwise), "
                                             "log, or none.")]
FamiliesOption = Annotated[str, typer.Option("--family", help="Comma-separated names of the families table whose "
                                             "roots and members the crawl follows (docs/families.md).")]
RootsOption = Annotated[str | None, typer.Option("--roots", help="Comma-separated extra organisations whose models "
                                                 "are also followed as roots.")]


def finish(result: object, as_json: bool) -> None:
    """Print the run summary (one line, or the JSON object) and exit with the run's status code."""
    summary = result.as_json()  # type: ignore[attr-defined]
    if as_json:
        typer.echo(json.dumps(summary))
    else:
        typer.echo(
            f"{summary['hub']} {summary['mode']} crawl run {summary['run_id']}: {summary['status']} · "
            f"{summary['records']} records ({summary['changed']} changed) · family {summary['family_models']} "
            f"+ {summary['roots']} roots · undeclared {summary['undeclared']} · deleted {summary['deleted']} · "
            f"cards {summary['cards_fetched']} · requests api {summary['requests']['api']} resolvers "
            f"{summary['requests']['resolvers']} · retries {summary['retries']} · waits {summary['rate_limit_waits']}"
            f" · quarantined {summary['quarantined']} · errors {summary['errors']} · {summary['elapsed_s']} s")
        for note in summary["notes"]:
            typer.echo(f"  note: {printable_line(note)}")
    code = {"success": EXIT_OK, "partial": EXIT_PARTIAL}.get(summary["status"], EXIT_FAILURE)
    raise typer.Exit(code)


def run(hub: str, *, db: str | None, mode: str, endpoint: str | None, family: str, families_file: Path | None,
        roots: str | None, spider_kwargs: dict, progress: str, concurrency: int, as_json: bool) -> None:
    """Check the shared options, crawl ``hub`` into the store, print the summary and exit with the run's code."""
    from crawler.crawl_hub import check_concurrency, crawl_hub
    from crawler.families import select_families
    from crawler.progress import check_progress
    from crawler.store import open_store

    if mode not in ("full", "incremental"):
        raise CliError(f"--mode must be full or incremental, not {mode!r}", EXIT_USAGE)
    checked("--concurrency", check_concurrency, concurrency)
    checked("--progress", check_progress, progress)
    families = select_families(family, families_file)
    orgs = [r.strip() for r in (roots or "").split(",") if r.strip()]
    result = crawl_hub(open_store(db), hub, mode, endpoint=endpoint, families=families, roots=orgs,
                       spider_kwargs=spider_kwargs, progress="none" if as_json and progress == "auto" else progress,
                       concurrency=concurrency)
    finish(result, as_json)


@app.command("hf")
@friendly_errors
def crawl_hf(
    endpoint: Annotated[str | None, typer.Option(help="Hub URL (default: $HF_ENDPOINT or https://huggingface.co).")]
    = None,
    db: DbOption = None,
    mode: ModeOption = "full",
    page_size: Annotated[int, typer.Option("--page-size", help="Listing page size.")] = 1000,
    cards: Annotated[str, typer.Option(help="Cards to fetch: family, family+undeclared, none.")] = "family",
    family: FamiliesOption = DEFAULT_FAMILY,
    roots: RootsOption = None,
    families_file: FamiliesFileOption = None,
    concurrency: Annotated[int, typer.Option(help="Concurrent requests.")] = 16,
    progress: ProgressOption = "auto",
    as_json: JsonOption = False,
) -> None:
    """Sweep the Hugging Face listing into the store, then fetch the family's changed cards."""
    from crawler.spiders.hf import CARD_POLICIES

    if cards not in CARD_POLICIES:
        raise CliError(f"--cards must be one of {', '.join(CARD_POLICIES)}", EXIT_USAGE)
    run("hf", db=db, mode=mode, endpoint=endpoint, family=family, families_file=families_file, roots=roots,
        spider_kwargs={"page_size": page_size, "cards": cards}, progress=progress, concurrency=concurrency,
        as_json=as_json)


@app.command("modelscope")
@friendly_errors
def crawl_modelscope(
    endpoint: Annotated[str | None, typer.Option(help="ModelScope URL (default: $MODELSCOPE_ENDPOINT or "
                                                 "https://modelscope.cn).")] = None,
    db: DbOption = None,
    mode: ModeOption = "full",
    family: FamiliesOption = DEFAULT_FAMILY,
    roots: RootsOption = None,
    families_file: FamiliesFileOption = None,
    search: Annotated[str | None, typer.Option(help="Comma-separated name terms that also seed the listing "
                                               "(default: the families' search terms).")] = None,
    dolphin: Annotated[bool, typer.Option("--dolphin/--no-dolphin", help="Read deployment flags from the website "
                                          "search (unstable; its failure is noted, never fatal).")] = True,
    readmes: Annotated[bool, typer.Option("--readmes/--no-readmes", help="Fetch the README (lineage) of models "
                                          "that changed.")] = True,
    concurrency: Annotated[int, typer.Option(help="Concurrent requests.")] = 8,
    progress: ProgressOption = "auto",
    as_json: JsonOption = False,
) -> None:
    """List the family on ModelScope (partitioned below the 3,000-row cap), fetch changed READMEs and deploy flags,
    then match mirrors of Hugging Face repos already in the store."""
    terms = {"search_terms": [s.strip() for s in search.split(",") if s.strip()]} if search is not None else {}
    run("modelscope", db=db, mode=mode, endpoint=endpoint, family=family, families_file=families_file, roots=roots,
        progress=progress, concurrency=concurrency, as_json=as_json,
        spider_kwargs={"dolphin": dolphin, "readmes": readmes, **terms})
