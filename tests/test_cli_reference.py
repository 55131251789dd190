"""The CLI reference cannot drift from the commands, and every command answers ``--help``."""

from __future__ import annotations

from pathlib import Path

from typer.testing import CliRunner

from hubtree.cli import app
from hubtree.reference import _commands, render

DOC = Path(__file__).resolve().parents[1] / "docs" / "cli.md"


def test_docs_cli_md_is_the_generated_reference():
    assert DOC.read_text(encoding="utf-8") == render(), "regenerate: python -m hubtree.reference > docs/cli.md"


def test_every_command_has_help_and_a_summary():
    import typer.main

    runner = CliRunner()
    commands = _commands(typer.main.get_command(app), "hubtree")
    assert len(commands) >= 20
    for path, cmd in commands:
        result = runner.invoke(app, [*path.split()[1:], "--help"])
        assert result.exit_code == 0, path
        assert (cmd.help or "").strip(), f"{path} has no summary"
