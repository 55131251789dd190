"""Options shared by every command (``--db``, ``--json``), declared once, and the check of an option's value."""

from __future__ import annotations

from collections.abc import Callable
from typing import Annotated, Any

import typer

from hubtree.errors import EXIT_USAGE, CliError

DbOption = Annotated[
    str | None,
    typer.Option("--db", envvar="HUBTREE_DB", help="Store URL (sqlite:///file.db or postgresql://…); default: "
                 "$HUBTREE_DB, else ~/.local/share/hubtree/hubtree.db (under $HUBTREE_HOME if set)."),
]
JsonOption = Annotated[bool, typer.Option("--json", help="Print machine-readable JSON on stdout.")]


def checked(option: str, check: Callable[[Any], Any], value: Any) -> Any:
    """``check(value)`` for a command-line ``option``; its ValueError becomes a usage error naming the option."""
    try:
        return check(value)
    except ValueError as exc:
        raise CliError(f"{option}: {exc}", EXIT_USAGE) from None
