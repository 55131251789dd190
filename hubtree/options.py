"""Options shared by every command (``--db``, ``--json``, ``--family``, ``--families-file``), declared once, and the
check of an option's value."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Annotated, Any

import typer

from hubtree.errors import EXIT_USAGE, CliError

DbOption = Annotated[
    str | None,
    typer.Option("--db", envvar="HUBTREE_DB", help="Store URL (sqlite:///file.db or postgresql://…); default: "
                 "$HUBTREE_DB, else ~/.local/share/hubtree/hubtree.db (under $HUBTREE_HOME if set)."),
]
JsonOption = Annotated[bool, typer.Option("--json", help="Print machine-readable JSON on stdout.")]
FamilyOption = Annotated[str, typer.Option("--family", help="A family of the families table: qwen, llama, mistral, "
                                           "gemma, deepseek, phi, or one a families file adds (docs/families.md).")]
FamiliesFileOption = Annotated[
    Path | None,
    typer.Option("--families-file", envvar="HUBTREE_FAMILIES", help="TOML file adding or changing families "
                 "(docs/families.md); default: $HUBTREE_FAMILIES, else the built-in table only."),
]


def checked(option: str, check: Callable[[Any], Any], value: Any) -> Any:
    """``check(value)`` for a command-line ``option``; its ValueError becomes a usage error naming the option."""
    try:
        return check(value)
    except ValueError as exc:
        raise CliError(f"{option}: {exc}", EXIT_USAGE) from None
