"""``hubtree schedule``: run crawls and reports on a schedule (:mod:`hubtree.schedule`), one job now, or list them."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from hubtree.errors import EXIT_USAGE, CliError, friendly_errors
from hubtree.schedule import JOBS, build_scheduler, load_config, run_forever, run_job, setup_logging


@friendly_errors
def command(
    config: Annotated[Path | None, typer.Option("--config", help="TOML or YAML config (see docs/scheduling.md); "
                                                "without it: the defaults.")] = None,
    once: Annotated[str | None, typer.Option("--once", help=f"Run one job now and exit with its code: "
                                             f"{', '.join(JOBS)}.")] = None,
    month: Annotated[str | None, typer.Option("--month", help="With --once report: the month to report "
                                              "(default: the previous calendar month).")] = None,
    list_jobs: Annotated[bool, typer.Option("--list", help="Print the jobs and their next run times, then exit.")]
    = False,
) -> None:
    """Run crawls and reports on a schedule: daily incremental crawl, weekly full sweep, report on the 1st."""
    setup_logging()
    cfg = load_config(config)
    if once is not None:
        raise typer.Exit(run_job(cfg, once, month))
    scheduler = build_scheduler(cfg)
    if list_jobs:
        from datetime import datetime

        now = datetime.now(scheduler.timezone)
        for job in scheduler.get_jobs():
            typer.echo(f"{job.id}: {cfg.cron[job.id]} ({cfg.timezone}) next {job.trigger.get_next_fire_time(None, now)}")
        return
    if not cfg.cron:
        raise CliError("every job is disabled in the config; nothing to schedule", EXIT_USAGE)
    run_forever(scheduler, cfg)
