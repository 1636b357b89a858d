"""Parsers for the values commands take from the command line: one place for each kind, shared by every command.

- :func:`marketo_id_argument`: a person's Marketo id (``people show``, ``email``, ``call``, ``grid``, ``task add``,
  ``optout``): a positive whole number SQLite can hold, or a usage error (exit 2) saying so.
- :func:`limit_option`: ``--limit N`` (``outbox``, ``ledger``, ``people search``): at least 1.
- :func:`read_text_input`: ``--body-file FILE`` / ``-`` (stdin): UTF-8 text, or one sentence (exit 1) saying why
  not; the seller's templates go through the same reader (:mod:`sia_tui.textfile`).
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

import typer

from sia_tui.cli.app import CliError
from sia_tui.i18n import N_, _
from sia_tui.input_text import typed
from sia_tui.textfile import TextFileError, decode_text, read_text_file

#: SQLite's INTEGER is a signed 64-bit number; a larger id cannot name a stored person.
MAX_ID = 2**63 - 1


def parse_marketo_id(raw: str) -> int:
    """``"1001"`` → 1001; anything that is not a positive whole number (in any script's digits) is refused."""
    text = typed(str(raw))  # full-width digits and spaces from an input method read as ASCII
    if not text.isdecimal():
        raise typer.BadParameter(
            _("{value!r} is not a Marketo id: give the person's id as a whole number, e.g. 1001.").format(
                value=text
            )
        )
    value = int(text)  # isdecimal() admits only digits int() reads (any script's: "１００１" is 1001)
    if value < 1:
        raise typer.BadParameter(_("a Marketo id is at least 1, not {value}.").format(value=value))
    if value > MAX_ID:
        raise typer.BadParameter(
            _("{value} is too large to be a Marketo id (at most {limit:,}).").format(value=text, limit=MAX_ID)
        )
    return value


def marketo_id_argument(help: str = N_("The person's Marketo id.")) -> Any:
    """``marketo_id: int = marketo_id_argument()`` in a command's signature."""
    return typer.Argument(..., parser=parse_marketo_id, metavar="MARKETO_ID", help=help)


def limit_option(default: int, help: str, *, maximum: int | None = None) -> Any:
    """``--limit N``: at least 1 (and at most ``maximum``); a usage error (exit 2) otherwise. ``help`` is marked
    with ``N_`` by the caller (``sia-tui --help`` translates it when shown)."""
    return typer.Option(default, "--limit", min=1, max=maximum, help=help)


def read_text_input(source: Path, what: str) -> str:
    """The text of ``source`` (``-`` = stdin) as UTF-8; CliError (exit 1) for a folder, binary or unreadable file."""
    try:
        if str(source) == "-":
            return decode_text(sys.stdin.buffer.read(), _("standard input"), what=what)
        return read_text_file(source, what=what)
    except TextFileError as exc:
        raise CliError(_("{problem} Nothing was queued.").format(problem=exc)) from None
