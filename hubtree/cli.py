"""Entry point: ``hubtree <command>``; every command has ``--help``."""

from __future__ import annotations

import importlib
from typing import Any

import typer
from typer.core import TyperGroup, TyperOption

#: (module, name, help) of each command in workflow order: a module exposes ``app`` (a group of sub-commands, with
#: ``help``) or ``command`` (one function, whose docstring is its help).
COMMANDS = (
    ("hubtree.cmd_sim", "sim", "Run the local hub simulator and generate synthetic worlds."),
    ("hubtree.cmd_crawl", "crawl", "Crawl a hub into the store."),
    ("hubtree.cmd_runs", "runs", None),
    ("hubtree.cmd_graph", "graph", "Query the lineage graph."),
    ("hubtree.cmd_analyze", "analyze", "Licensing, growth and deployment analyses."),
    ("hubtree.cmd_report", "report", None),
    ("hubtree.cmd_schedule", "schedule", None),
    ("hubtree.cmd_demo", "demo", None),
    ("hubtree.cmd_serve", "serve", None),
)


#: What help calls the value of an option, by its Python type (Typer would print ``<str>``, and ``<bool>`` for a flag).
VALUE_NAMES = {"str": "TEXT", "int": "INTEGER", "float": "NUMBER", "Path": "PATH"}


def show_flags_as_flags(command: Any) -> None:
    """Help shows a flag (and ``--help``) as just its name, an option with the kind of value it takes (``--db TEXT``);
    an option that names its value (``metavar``) keeps it. Applies to every sub-command."""
    help_option = command.get_help_option(typer.Context(command))
    for param in [*command.params, *([help_option] if help_option else [])]:
        if isinstance(param, TyperOption) and param.metavar is None:
            value = param.bare_type().removeprefix("list[").removesuffix("]")
            param.metavar = "" if param.is_flag else VALUE_NAMES.get(value, value.upper())
    for sub in getattr(command, "commands", {}).values():
        show_flags_as_flags(sub)


class HubtreeGroup(TyperGroup):
    """The root command: lists commands in the order of :data:`COMMANDS` (Typer would list single commands before
    groups) and shows flags as flags."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        show_flags_as_flags(self)

    def list_commands(self, ctx: typer.Context) -> list[str]:
        order = {name: i for i, (_, name, _) in enumerate(COMMANDS)}
        return sorted(super().list_commands(ctx), key=lambda name: order.get(name, len(order)))


app = typer.Typer(
    name="hubtree",
    cls=HubtreeGroup,
    help="Crawl Hugging Face and ModelScope, build the lineage graph of a model family, analyse it, report on it.",
    no_args_is_help=True,
    pretty_exceptions_show_locals=False,  # never print locals: they can hold tokens
    add_completion=False,
)


def _load(module_name: str) -> Any:
    """The module of a command, or None when it is not part of this installation."""
    try:
        return importlib.import_module(module_name)
    except ModuleNotFoundError as exc:
        if exc.name != module_name:
            raise
        return None


for module_name, name, help_text in COMMANDS:
    if (module := _load(module_name)) is None:
        continue
    if hasattr(module, "app"):
        app.add_typer(module.app, name=name, help=help_text)
    else:
        app.command(name=name)(module.command)


def main() -> None:
    app()


if __name__ == "__main__":
    main()
