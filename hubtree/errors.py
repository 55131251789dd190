"""Exit codes and the one place where errors become one clear line for people."""

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

F = TypeVar("F", bound=Callable[..., Any])


class CliError(Exception):
    """An error to show as one line, with an exit code."""

    def __init__(self, message: str, code: int = EXIT_FAILURE):
        super().__init__(message)
        self.code = code


def fail(message: str, code: int = EXIT_FAILURE) -> typer.Exit:
    """Print ``message`` as one line on stderr and return the Exit to raise."""
    print(f"hubtree: error: {message}", file=sys.stderr)
    return typer.Exit(code)


def friendly_errors(func: F) -> F:
    """Turn expected exceptions into one line on stderr and a non-zero exit (no traceback, no locals)."""

    @functools.wraps(func)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        from crawler.store.db import StoreError

        try:
            return func(*args, **kwargs)
        except CliError as exc:
            raise fail(str(exc), exc.code) from None
        except StoreError as exc:
            raise fail(str(exc)) from None
        except (FileNotFoundError, NotADirectoryError, PermissionError) as exc:
            raise fail(f"{exc.strerror}: {exc.filename}") from None
        except KeyboardInterrupt:
            raise fail("interrupted", 130) from None

    return wrapper  # type: ignore[return-value]
