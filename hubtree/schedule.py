"""The scheduler behind ``hubtree schedule``: APScheduler 3 runs the daily incremental crawl, the weekly full sweep
and the monthly report, configured by a small TOML or YAML file.

Every job runs the ordinary CLI in a subprocess (Scrapy's reactor runs once per process), so it honours the same
run locks and exit codes as a cron job would: 0 success, 1 failure, 3 partial, 4 another run holds the lock. Each
run logs one line on stderr. ``--once JOB`` runs one job now and exits with its code.
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import signal
import subprocess
import sys
import time
import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from crawler.families import DEFAULT_FAMILY
from hubtree.errors import EXIT_FAILURE, EXIT_LOCKED, EXIT_OK, EXIT_PARTIAL, EXIT_USAGE, CliError

log = logging.getLogger("hubtree.schedule")

JOBS = ("crawl-incremental", "crawl-full", "report")
#: Default cron expressions (UTC): daily incremental crawl, weekly full sweep on Sunday, report on the 1st.
DEFAULT_CRON = {"crawl-incremental": "0 2 * * *", "crawl-full": "0 3 * * 0", "report": "0 6 1 * *"}
#: Which exit code wins when a job runs several commands: a failure, then a lock, then a partial run.
SEVERITY = (EXIT_FAILURE, EXIT_LOCKED, EXIT_PARTIAL, EXIT_OK)


@dataclass
class ScheduleConfig:
    """The runner's settings; every field has a default, a config file overrides some."""

    db: str | None = None  # None: $HUBTREE_DB, else the default store
    family: str = DEFAULT_FAMILY
    timezone: str = "UTC"
    report_dir: str = "reports"
    hubs: dict[str, str | None] = field(default_factory=lambda: {"hf": None, "modelscope": None})
    cron: dict[str, str] = field(default_factory=lambda: dict(DEFAULT_CRON))


def load_config(path: Path | None) -> ScheduleConfig:
    """Read a TOML (``.toml``) or YAML (``.yaml``/``.yml``) config; unknown keys are an error, not ignored.

    Keys: ``db``, ``family``, ``timezone``, ``report_dir``, ``hubs`` (hub → endpoint, or ``false`` to skip it)
    and ``schedule`` (job → cron expression, or ``false`` to disable it).
    """
    cfg = ScheduleConfig()
    if path is None:
        return cfg
    text = path.read_text(encoding="utf-8")
    if path.suffix in (".yaml", ".yml"):
        import yaml

        raw = yaml.safe_load(text) or {}
    else:
        try:
            raw = tomllib.loads(text)
        except tomllib.TOMLDecodeError as exc:
            raise CliError(f"{path}: not valid TOML: {exc}", EXIT_USAGE) from None
    if not isinstance(raw, dict):
        raise CliError(f"{path}: the config must be a table of settings", EXIT_USAGE)
    unknown = set(raw) - {"db", "family", "timezone", "report_dir", "hubs", "schedule"}
    if unknown:
        raise CliError(f"{path}: unknown setting(s): {', '.join(sorted(unknown))}", EXIT_USAGE)
    for key in ("db", "family", "timezone", "report_dir"):
        if key in raw:
            setattr(cfg, key, str(raw[key]))
    for hub, endpoint in (raw.get("hubs") or {}).items():
        if hub not in ("hf", "modelscope"):
            raise CliError(f"{path}: unknown hub {hub!r} (hf or modelscope)", EXIT_USAGE)
        if endpoint is False:
            cfg.hubs.pop(hub, None)
        else:
            cfg.hubs[hub] = None if endpoint is True else str(endpoint)
    for job, cron in (raw.get("schedule") or {}).items():
        if job not in JOBS:
            raise CliError(f"{path}: unknown job {job!r} ({', '.join(JOBS)})", EXIT_USAGE)
        if cron is False or cron == "":
            cfg.cron.pop(job, None)
        else:
            cfg.cron[job] = str(cron)
    return cfg


def _cli(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "hubtree.cli", *args], capture_output=True, text=True,
                          env={**os.environ, "PYTHONUNBUFFERED": "1"})


def _last_json(stdout: str) -> dict[str, Any]:
    lines = [ln for ln in stdout.splitlines() if ln.startswith("{")]
    return json.loads(lines[-1]) if lines else {}


def _error_line(proc: subprocess.CompletedProcess[str]) -> str:
    return (proc.stderr.strip().splitlines() or [""])[-1][:300]


def worst(codes: list[int]) -> int:
    """The exit code of a job that ran several commands (:data:`SEVERITY` order)."""
    for code in SEVERITY:
        if code in codes:
            return code
    return max(codes) if codes else EXIT_OK


def run_crawl_job(cfg: ScheduleConfig, mode: str, job: str) -> int:
    """Crawl every configured hub in ``mode``; one log line per hub; returns the job's exit code."""
    codes = []
    for hub, endpoint in cfg.hubs.items():
        args = ["crawl", hub, "--mode", mode, "--progress", "none", "--json"]
        args += ["--endpoint", endpoint] if endpoint else []
        args += ["--db", cfg.db] if cfg.db else []
        started = time.monotonic()
        proc = _cli(*args)
        s = _last_json(proc.stdout)
        codes.append(proc.returncode)
        line = (f"job={job} hub={hub} mode={mode} exit={proc.returncode} status={s.get('status', 'error')} "
                f"run={s.get('run_id', '-')} records={s.get('records', 0)} changed={s.get('changed', 0)} "
                f"requests={(s.get('requests') or {}).get('api', 0)} waits={s.get('rate_limit_waits', 0)} "
                f"quarantined={s.get('quarantined', 0)} errors={s.get('errors', 0)} "
                f"elapsed_s={time.monotonic() - started:.1f}")
        if proc.returncode not in (EXIT_OK, EXIT_PARTIAL):
            line += f" error={(_error_line(proc) or (s.get('notes') or [''])[-1])[:300]!r}"
        log.info(line)
    return worst(codes)


def run_report_job(cfg: ScheduleConfig, job: str = "report", month: str | None = None) -> int:
    """Write the report of the previous calendar month (or ``month``) into ``report_dir/YYYY-MM``."""
    from analysis.months import previous_calendar_month

    month = month or previous_calendar_month()
    args = ["report", "--month", month, "--out", str(Path(cfg.report_dir) / month), "--family", cfg.family, "--json"]
    args += ["--db", cfg.db] if cfg.db else []
    started = time.monotonic()
    proc = _cli(*args)
    s = _last_json(proc.stdout)
    line = (f"job={job} month={month} exit={proc.returncode} out={s.get('out', '-')} "
            f"family_models={(s.get('headline') or {}).get('family_models', '-')} "
            f"elapsed_s={time.monotonic() - started:.1f}")
    if proc.returncode != EXIT_OK:
        line += f" error={_error_line(proc)!r}"
    log.info(line)
    return proc.returncode


def run_job(cfg: ScheduleConfig, job: str, month: str | None = None) -> int:
    if job == "crawl-incremental":
        return run_crawl_job(cfg, "incremental", job)
    if job == "crawl-full":
        return run_crawl_job(cfg, "full", job)
    if job == "report":
        return run_report_job(cfg, job, month)
    raise CliError(f"unknown job {job!r} ({', '.join(JOBS)})", EXIT_USAGE)


def build_scheduler(cfg: ScheduleConfig) -> Any:
    """A BlockingScheduler with one cron job per enabled job (one instance at a time, missed runs coalesced)."""
    from apscheduler.schedulers.blocking import BlockingScheduler
    from apscheduler.triggers.cron import CronTrigger

    scheduler = BlockingScheduler(timezone=cfg.timezone)
    for job, cron in cfg.cron.items():
        try:
            trigger = CronTrigger.from_crontab(cron, timezone=cfg.timezone)
        except ValueError as exc:
            raise CliError(f"schedule.{job}: not a cron expression ({cron!r}): {exc}", EXIT_USAGE) from None
        scheduler.add_job(run_job, trigger, args=[cfg, job], id=job, name=job, max_instances=1, coalesce=True,
                          misfire_grace_time=3600)
    return scheduler


def setup_logging() -> None:
    """One line per job run on stderr, prefixed with the time and ``hubtree-schedule``."""
    if not log.handlers:
        handler = logging.StreamHandler(sys.stderr)
        handler.setFormatter(logging.Formatter("%(asctime)s hubtree-schedule %(message)s", "%Y-%m-%dT%H:%M:%S%z"))
        log.addHandler(handler)
        log.setLevel(logging.INFO)
        log.propagate = False


def run_forever(scheduler: Any, cfg: ScheduleConfig) -> None:
    """Run the scheduled jobs until SIGTERM or Ctrl-C."""
    signal.signal(signal.SIGTERM, lambda *_: scheduler.shutdown(wait=False))
    log.info("started: " + ", ".join(f"{j}={c}" for j, c in cfg.cron.items()) + f" ({cfg.timezone})")
    with contextlib.suppress(KeyboardInterrupt, SystemExit):
        scheduler.start()
    log.info("stopped")
