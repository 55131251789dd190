"""Untrusted text (model ids, card text, notes) made safe for a terminal: no escape sequence reaches it raw."""

from __future__ import annotations

import re

from rich.markup import escape

#: C0 and C1 controls (ESC starts ANSI/OSC sequences; 0x9b is a one-byte CSI), DEL, and bidirectional overrides.
_CONTROL = re.compile("[\x00-\x09\x0b-\x1f\x7f-\x9f\u200e\u200f\u202a-\u202e\u2066-\u2069]")


def printable(text: str) -> str:
    """``text`` with every control character (newlines kept) shown as a visible escape such as ``\\x1b``."""
    return _CONTROL.sub(lambda m: m.group().encode("unicode_escape").decode("ascii"), text)


def printable_line(text: str) -> str:
    """One line of untrusted text: controls escaped, newlines too."""
    return printable(text).replace("\n", "\\n")


def rich_cell(text: str) -> str:
    """Untrusted text for a rich table cell: controls escaped and rich markup (``[bold]``…) shown as written."""
    return escape(printable_line(text))
