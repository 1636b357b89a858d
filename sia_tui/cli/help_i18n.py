"""``sia-tui --help`` in the seller's language: the command tree's help texts, and typer's and click's own words.

Typer builds the click command tree from what the modules declared at import time (``help="..."`` strings and
command docstrings, all in English). :func:`localize_command` walks that tree once the language is set and
replaces each help text with its translation, so no command module has to be imported after the language is
known. The catalogue holds those texts because ``scripts/i18n.py extract`` collects ``help=`` strings marked with
``N_`` and the docstrings of typer commands (see :func:`scripts.i18n.typer_docstrings`).

Typer's own words ("Options", "Commands", "default: …") use ``gettext.gettext`` from the standard library, whose
global domain we do not own: :func:`route_typer_gettext` points typer's module-level ``_`` at ours. The words click
hard-codes ("Usage: ", the ``--help`` option's "Show this message and exit.") are translated by
:class:`LocalizedHelpFormatter`. Click's usage-error sentences ("No such option: --x") stay English.
"""

from __future__ import annotations

import inspect
from collections.abc import Iterator
from typing import Any

from sia_tui.i18n import N_, _

#: Words typer and click write themselves, in the catalogue so they are translated like ours.
FRAMEWORK_WORDS: tuple[str, ...] = (
    N_("Usage: "),
    N_("Options"),
    N_("Commands"),
    N_("Arguments"),
    N_("Show this message and exit."),
    N_("default: {default}"),
    N_("required"),
    N_("env var: {var}"),
    N_("(dynamic)"),
    N_("Missing command."),
    N_("No such command {name!r}."),
    N_("Aborted!"),
)
_FRAMEWORK = frozenset(FRAMEWORK_WORDS)


def walk(command: Any) -> Iterator[Any]:
    """``command`` and every command below it (click groups keep theirs in ``commands``)."""
    yield command
    for sub in getattr(command, "commands", {}).values():
        yield from walk(sub)


def _translated(text: str | None) -> str | None:
    if not text:
        return text
    return _(inspect.cleandoc(text))


def _first_sentence(text: str) -> str | None:
    """The short help of a CJK help text: up to its first 。 (click only knows how to cut at ". ")."""
    head = text.split("\n\n", 1)[0]
    if "。" in head:
        return head.split("。", 1)[0] + "。"
    return None


def localize_command(root: Any) -> Any:
    """Translate every help text in the click tree under ``root`` (idempotent for one language); returns it."""
    for command in walk(root):
        source = getattr(command, "_sia_help_source", None)
        if source is None:
            source = (command.help, command.short_help, command.epilog)
            command._sia_help_source = source
        help_text, short_help, epilog = source
        command.help = _translated(help_text)
        command.short_help = _translated(short_help) or (
            _first_sentence(command.help) if command.help else None
        )
        command.epilog = _translated(epilog)
        for param in getattr(command, "params", []):
            param_source = getattr(param, "_sia_help_source", None)
            if param_source is None:
                param_source = getattr(param, "help", None)
                param._sia_help_source = param_source
            if param_source:
                param.help = _translated(param_source)
    return root


def route_typer_gettext() -> None:
    """Make typer's own ``_("Options")`` etc. read sia-tui's catalogue (they use the stdlib's global domain)."""
    import typer.core

    # typer's rich_utils keeps its own copies, but is not used (rich_markup_mode=None).
    typer.core._ = _  # type: ignore[attr-defined]


def install_formatter() -> None:
    """Use :class:`LocalizedHelpFormatter` for every help page."""
    from typer._click.core import Context

    Context.formatter_class = LocalizedHelpFormatter


def _formatter_base() -> type:
    from typer._click.formatting import HelpFormatter

    return HelpFormatter


class LocalizedHelpFormatter(_formatter_base()):  # type: ignore[misc]
    """Click's help formatter with its hard-coded English ("Usage: ", the --help option's text) translated."""

    def write_usage(self, prog: str, args: str = "", prefix: str | None = None) -> None:
        super().write_usage(prog, args, _("Usage: ") if prefix is None else prefix)

    def write_dl(self, rows: Any, col_max: int = 30, col_spacing: int = 2) -> None:
        rows = [(term, _(text) if text in _FRAMEWORK else text) for term, text in rows]
        super().write_dl(rows, col_max, col_spacing)


def localize_cli(root: Any) -> Any:
    """Everything above, for the command about to run: the tree, typer's words, click's formatter."""
    route_typer_gettext()
    install_formatter()
    return localize_command(root)
