"""The typer application, its global options and the output helpers every command shares.

Global options (``--profile``, ``--json``, ``--debug``, ``--headless``) may appear before or after the command:
:func:`split_globals` lifts them out of argv before typer parses the rest, so `sia-tui people search x --json`
and `sia-tui --json people search x` mean the same thing.
"""

from __future__ import annotations

import asyncio
import sys
from collections.abc import Awaitable, Callable, Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any, TypeVar

import typer
from rich.console import Console
from rich.table import Table
from rich.text import Text

from sia_tui import embedded_sandbox
from sia_tui.i18n import N_, _
from sia_tui.textsafe import json_dumps, literal, printable

# The sandbox profile's emulator, started in this process on first use (clients and services never import it).
embedded_sandbox.install()

T = TypeVar("T")

app = typer.Typer(
    name="sia-tui",
    help=N_(
        "sia-tui: a terminal client for B2B sellers, after Marketo Sales Insight Actions.\n\n"
        "With no command it opens the app (on the built-in sandbox unless a profile is configured). "
        "Every command also runs headless: `sia-tui --headless COMMAND ...`.\n\n"
        "Global options, accepted before or after the command: --profile NAME, --json (machine output on "
        "stdout), --debug (tracebacks), --headless, --version."
    ),
    no_args_is_help=False,
    add_completion=False,
    rich_markup_mode=None,
    pretty_exceptions_enable=False,
    context_settings={"help_option_names": ["-h", "--help"]},
)


class CliError(Exception):
    """A failure to report as one sentence on stderr (exit code 1, or 2 for usage errors)."""

    def __init__(self, message: str, exit_code: int = 1) -> None:
        super().__init__(message)
        self.exit_code = exit_code


@dataclass
class Globals:
    profile: str | None = None
    json: bool = False
    debug: bool = False
    headless: bool = False
    version: bool = False
    rest: list[str] = field(default_factory=list)


G = Globals()
# Piped human output is not wrapped at Rich's 80-column default: long names stay on one line for grep.
stdout = Console(highlight=False, soft_wrap=False, width=None if sys.stdout.isatty() else 240)
stderr = Console(stderr=True, highlight=False)


def split_globals(argv: Sequence[str]) -> Globals:
    g = Globals()
    rest: list[str] = []
    it = iter(range(len(argv)))
    skip_next = False
    passthrough = False
    for i in it:
        arg = argv[i]
        if skip_next:
            skip_next = False
            continue
        if passthrough:
            rest.append(arg)
            continue
        if arg == "--":
            passthrough = True
            rest.append(arg)
        elif arg == "--json":
            g.json = True
        elif arg == "--debug":
            g.debug = True
        elif arg == "--headless":
            g.headless = True
        elif arg == "--version":
            g.version = True
        elif arg == "--profile":
            if i + 1 >= len(argv):
                raise CliError(_("--profile needs a profile name, e.g. --profile prod."), exit_code=2)
            g.profile = argv[i + 1]
            skip_next = True
        elif arg.startswith("--profile="):
            g.profile = arg.split("=", 1)[1]
        else:
            rest.append(arg)
    g.rest = rest
    return g


def run_async(coro_fn: Callable[[], Awaitable[T]]) -> T:
    async def runner() -> T:
        return await coro_fn()

    return asyncio.run(runner())


def emit_json(obj: Any) -> None:
    sys.stdout.write(json_dumps(obj) + "\n")
    sys.stdout.flush()


def cell(value: Any) -> Text:
    """A table cell that shows names literally: no markup parsing, control characters made visible."""
    if isinstance(value, bool):
        return Text(_("yes") if value else "")
    return Text(printable(value))


def table(title: str | None, columns: Sequence[str], rows: Iterable[Sequence[Any]]) -> None:
    """A table on stdout; the title (it often quotes a name or a query) and the cells are shown literally."""
    t = Table(
        title=None if title is None else literal(title, end="\n"),
        title_justify="left",
        header_style="bold",
        expand=False,
    )
    for col in columns:
        t.add_column(col, overflow="fold")
    for row in rows:
        t.add_row(*(cell(v) for v in row))
    stdout.print(t)


def info(message: str) -> None:
    """A human diagnostic on stderr (never on stdout, which --json keeps machine-readable); shown literally,
    since messages quote names, subjects and setting values."""
    stderr.print(literal(message), soft_wrap=True)


def say_error(message: str) -> None:
    """``message`` on stderr as one literal line (errors quote what the user typed and what an API said)."""
    stderr.print(literal(message), soft_wrap=True)


def settings_for_command() -> Any:
    from sia_tui.config import load_settings

    return load_settings(G.profile)
