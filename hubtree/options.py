"""Options shared by every command (``--db``, ``--json``), declared once."""

from __future__ import annotations

from typing import Annotated

import typer

DbOption = Annotated[
    str | None,
    typer.Option("--db", envvar="HUBTREE_DB", help="Store URL (sqlite:///file.db or postgresql://…); default: "
                 "$HUBTREE_DB, else ~/.local/share/hubtree/hubtree.db (under $HUBTREE_HOME if set)."),
]
JsonOption = Annotated[bool, typer.Option("--json", help="Print machine-readable JSON on stdout.")]
