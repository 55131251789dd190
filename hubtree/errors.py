"""Exit codes, and the one map from expected errors to the one clear line (and exit code) a person sees."""

from __future__ import annotations

import functools
import sys
from collections.abc import Callable
from typing import Any, TypeVar

import typer

EXIT_OK = 0
EXIT_FAILURE = 1
EXIT_USAGE = 2
EXIT_PARTIAL = 3  # the run finished but some work failed (see the run record)
EXIT_LOCKED = 4  # another run holds the lock
EXIT_INTERRUPTED = 130

F = TypeVar("F", bound=Callable[..., Any])


class CliError(Exception):
    """A usage or configuration error found by the CLI itself, shown as one line with an exit code."""

    def __init__(self, message: str, code: int = EXIT_FAILURE):
        super().__init__(message)
        self.code = code


def _os_error(exc: OSError) -> tuple[int, str]:
    return EXIT_FAILURE, f"{exc.strerror}: {exc.filename}"


def _database_error(exc: Any) -> tuple[int, str]:
    """A database that cannot be read or written (not a store, read-only, gone): the driver's own first line."""
    reason = str(getattr(exc, "orig", None) or exc).splitlines()[0]
    return EXIT_FAILURE, f"store error: {reason} (is --db a hubtree store you may write?)"


#: Every expected error: (module, class) → (exit code, line). Anything else is a bug and keeps its traceback.
#: A class is looked up only once its module is imported (an instance cannot exist before), so this map costs
#: nothing at start-up.
ERRORS: tuple[tuple[str, str, Callable[[Any], tuple[int, str]]], ...] = (
    ("hubtree.errors", "CliError", lambda e: (e.code, str(e))),
    ("crawler.lock", "LockBusy", lambda e: (EXIT_LOCKED, f"{e}; try again when it has finished")),
    ("crawler.store.db", "StoreError", lambda e: (EXIT_FAILURE, str(e))),
    ("crawler.config", "ConfigError", lambda e: (EXIT_USAGE, str(e))),
    ("sqlalchemy.exc", "DatabaseError", _database_error),
    ("analysis.lineage_queries", "UnknownModelError", lambda e: (EXIT_FAILURE, str(e))),
    ("analysis.families", "UnknownFamilyError", lambda e: (EXIT_FAILURE, str(e))),
    ("crawler.families", "FamilyError", lambda e: (EXIT_FAILURE, str(e))),
    ("analysis.report.build", "ReportError", lambda e: (EXIT_FAILURE, str(e))),
    ("hubsim.demo", "DemoCrawlError", lambda e: (EXIT_LOCKED if e.exit_code == EXIT_LOCKED else EXIT_FAILURE, str(e))),
    ("builtins", "FileNotFoundError", _os_error),
    ("builtins", "NotADirectoryError", _os_error),
    ("builtins", "PermissionError", _os_error),
    ("builtins", "KeyboardInterrupt", lambda e: (EXIT_INTERRUPTED, "interrupted")),
)


def error_line(exc: BaseException) -> tuple[int, str] | None:
    """(exit code, line) of an expected error (:data:`ERRORS`), or None for anything else."""
    for module, name, line in ERRORS:
        cls = getattr(sys.modules.get(module), name, None)
        if cls is not None and isinstance(exc, cls):
            return line(exc)
    return None


def fail(message: str, code: int = EXIT_FAILURE) -> typer.Exit:
    """Print ``message`` as one line on stderr and return the Exit to raise."""
    print(f"hubtree: error: {message}", file=sys.stderr)
    return typer.Exit(code)


def friendly_errors(func: F) -> F:
    """Turn expected errors into one line on stderr and their exit code (no traceback, no locals)."""

    @functools.wraps(func)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return func(*args, **kwargs)
        except (Exception, KeyboardInterrupt) as exc:
            found = error_line(exc)
            if found is None:
                raise
            raise fail(found[1], found[0]) from None

    return wrapper  # type: ignore[return-value]

