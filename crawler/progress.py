"""Crawl feedback: a live display on a terminal, quiet structured log lines otherwise (cron, CI)."""

from __future__ import annotations

import json
import sys
import time
from typing import Any, Protocol


class Progress(Protocol):
    def update(self, **fields: Any) -> None: ...
    def phase(self, name: str, total: int | None = None) -> None: ...
    def close(self) -> None: ...


class LogProgress:
    """One JSON line on stderr per phase change and at most every ``every_s`` seconds."""

    def __init__(self, stream: Any = None, every_s: float = 10.0):
        self.stream = stream or sys.stderr
        self.every_s = every_s
        self.fields: dict[str, Any] = {}
        self._last = 0.0
        self._phase = ""

    def _emit(self, event: str) -> None:
        line = {"event": event, "phase": self._phase, **self.fields}
        self.stream.write(json.dumps(line, default=str) + "\n")
        self.stream.flush()
        self._last = time.monotonic()

    def update(self, **fields: Any) -> None:
        self.fields.update(fields)
        if time.monotonic() - self._last >= self.every_s:
            self._emit("progress")

    def phase(self, name: str, total: int | None = None) -> None:
        self._phase = name
        self.fields["phase_total"] = total
        self._emit("phase")

    def close(self) -> None:
        self._emit("end")


class TerminalProgress:
    """A rich live line: phase, pages, records, requests, rate-limit waits and an ETA where a total is known."""

    def __init__(self) -> None:
        from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn, TimeRemainingColumn

        self._progress = Progress(TextColumn("[bold]{task.description}"), BarColumn(), TextColumn("{task.completed}"),
                                  TextColumn("{task.fields[info]}"), TimeElapsedColumn(), TimeRemainingColumn(),
                                  transient=False, console=None)
        self._progress.start()
        self._task = self._progress.add_task("starting", total=None, info="")
        self.fields: dict[str, Any] = {}

    def update(self, **fields: Any) -> None:
        self.fields.update(fields)
        f = self.fields
        info = (f"pages {f.get('pages', 0)} · records {f.get('records', 0)} · api {f.get('api', 0)} · "
                f"resolvers {f.get('resolvers', 0)} · waits {f.get('rate_limit_waits', 0)} · "
                f"retries {f.get('retries', 0)}")
        self._progress.update(self._task, completed=f.get("done", 0), info=info)

    def phase(self, name: str, total: int | None = None) -> None:
        self._progress.update(self._task, description=name, total=total, completed=0)

    def close(self) -> None:
        self._progress.stop()


class NullProgress:
    def update(self, **fields: Any) -> None:
        pass

    def phase(self, name: str, total: int | None = None) -> None:
        pass

    def close(self) -> None:
        pass


PROGRESS_KINDS = ("auto", "log", "none")


def check_progress(kind: str) -> str:
    """``kind`` if it is one of :data:`PROGRESS_KINDS`; ValueError otherwise."""
    if kind not in PROGRESS_KINDS:
        raise ValueError(f"must be one of {', '.join(PROGRESS_KINDS)}, not {kind!r}")
    return kind


def make_progress(kind: str = "auto") -> Progress:
    """``auto``: a live display on a terminal, JSON log lines otherwise; ``log``, ``none`` force one."""
    check_progress(kind)
    if kind == "none":
        return NullProgress()
    if kind == "log" or (kind == "auto" and not sys.stderr.isatty()):
        return LogProgress()
    return TerminalProgress()
