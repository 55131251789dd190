"""Entry point: ``hubtree <group> <command>``; every command has ``--help``."""

from __future__ import annotations

import importlib

import typer

app = typer.Typer(
    name="hubtree",
    help="Crawl Hugging Face and ModelScope, build the lineage graph of a model family, analyse it, report on it.",
    no_args_is_help=True,
    pretty_exceptions_show_locals=False,  # never print locals: they can hold tokens
    add_completion=False,
)

#: (module, name, help) of each command group; a module exposes ``app`` (a Typer) or ``command`` (a function).
_GROUPS = (
    ("hubtree.cmd_sim", "sim", "Run the local hub simulator and generate synthetic worlds."),
    ("hubtree.cmd_crawl", "crawl", "Crawl a hub into the store."),
    ("hubtree.cmd_graph", "graph", "Query the lineage graph."),
    ("hubtree.cmd_analyze", "analyze", "Licensing, growth and deployment analyses."),
)
_COMMANDS = (
    ("hubtree.cmd_report", "report"),
    ("hubtree.cmd_runs", "runs"),
    ("hubtree.cmd_schedule", "schedule"),
    ("hubtree.cmd_demo", "demo"),
)

def _load(module_name: str):
    """The module of a command group, or None when it is not part of this installation."""
    try:
        return importlib.import_module(module_name)
    except ModuleNotFoundError as exc:
        if exc.name != module_name:
            raise
        return None


for module_name, name, help_text in _GROUPS:
    if (module := _load(module_name)) is not None:
        app.add_typer(module.app, name=name, help=help_text)
for module_name, name in _COMMANDS:
    if (module := _load(module_name)) is not None:
        app.command(name=name)(module.command)


def main() -> None:
    app()


if __name__ == "__main__":
    main()
