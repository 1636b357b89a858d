"""``sia-tui --help`` in the seller's language: the command tree's help texts, and typer's and click's own words.

Typer builds the click command tree from what the modules declared at import time (``help="..."`` strings and
command docstrings, all in English). :func:`localize_command` walks that tree once the language is set and
replaces each help text with its translation, so no command module has to be imported after the language is
known. The catalogue holds those texts because ``scripts/i18n.py extract`` collects ``help=`` strings marked with
``N_`` and the docstrings of typer commands (see :func:`scripts.i18n.typer_docstrings`).

Typer's own words ("Options", "Commands", "default: …") use ``gettext.gettext`` from the standard library, whose
global domain we do not own: :func:`route_typer_gettext` points typer's module-level ``_`` at ours. The words click
hard-codes ("Usage: ", the ``--help`` option's "Show this message and exit.") are translated by
:class:`LocalizedHelpFormatter`, which also wraps Chinese and Japanese text by terminal cells (click measures
characters and breaks only at spaces, so a CJK line ran twice the width of the screen). Click's usage-error
sentences ("No such option: --x") stay English.
"""

from __future__ import annotations

import inspect
import re
import unicodedata
from collections.abc import Iterator, Sequence
from typing import Any

from sia_tui.i18n import N_, _, current_locale

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
    """Click's help formatter with its hard-coded English ("Usage: ", the --help option's text) translated, and
    CJK text wrapped by cells (:func:`wrap_cells`); English text is wrapped by click itself, byte for byte."""

    def write_usage(self, prog: str, args: str = "", prefix: str | None = None) -> None:
        super().write_usage(prog, args, _("Usage: ") if prefix is None else prefix)

    def write_heading(self, heading: str) -> None:
        if has_wide(heading) and current_locale() == "zh-TW":  # Chinese punctuation is full-width: 選項：
            self.write(f"{'':>{self.current_indent}}{heading}：\n")
            return
        super().write_heading(heading)

    def write_text(self, text: str) -> None:
        if not has_wide(text):
            super().write_text(text)
            return
        indent = " " * self.current_indent
        self.write(wrap_cells(text, self.width, indent))
        self.write("\n")

    def write_dl(self, rows: Any, col_max: int = 30, col_spacing: int = 2) -> None:
        rows = [(term, _(text) if text in _FRAMEWORK else text) for term, text in rows]
        if not any(has_wide(text) for _term, text in rows):
            super().write_dl(rows, col_max, col_spacing)
            return
        # click's write_dl, with the description column wrapped by cells.
        first_col = min(max((cells(term) for term, _text in rows), default=0), col_max) + col_spacing
        for first, second in rows:
            self.write(f"{'':>{self.current_indent}}{first}")
            if not second:
                self.write("\n")
                continue
            if cells(first) <= first_col - col_spacing:
                self.write(" " * (first_col - cells(first)))
            else:
                self.write("\n")
                self.write(" " * (first_col + self.current_indent))
            text_width = max(self.width - first_col - 2, 10)
            lines = wrap_cells(second, text_width).splitlines() or [""]
            self.write(f"{lines[0]}\n")
            for line in lines[1:]:
                self.write(f"{'':>{first_col + self.current_indent}}{line}\n" if line else "\n")


# ------------------------------------------------------------------------------------------ CJK-aware wrapping

#: Characters a line may not start with (closing punctuation, kinsoku) or end with (opening brackets).
_NO_LINE_START = frozenset("、。，．・：；？！）」』】〕〉》ーぁぃぅぇぉっゃゅょゎァィゥェォッャュョヮヵヶ…,.:;?!)]}%")
_NO_LINE_END = frozenset("（「『【〔〈《([{")


def _wide(char: str) -> bool:
    return unicodedata.east_asian_width(char) in ("W", "F")


def has_wide(text: str | None) -> bool:
    """Whether ``text`` holds full-width characters (Chinese, Japanese), which take two terminal cells each."""
    return bool(text) and any(_wide(c) for c in text or "")


def cells(text: str) -> int:
    """The terminal cells ``text`` takes (a full-width character is two)."""
    return sum(2 if _wide(c) else 1 for c in text)


#: Typer's short notes after a help text ("[既定値: 200; x>=1]", "[必須]") stay whole when they can.
_NOTE = re.compile(r"\[[^\[\]]{1,24}\]")


def _tokens(text: str) -> list[str]:
    """Breakable pieces: each full-width character, each run of other non-space characters (a Latin word, a
    command, a key), each run of spaces; a short bracketed note is one piece."""
    out: list[str] = []
    last = 0
    for note in _NOTE.finditer(text):
        out.extend(_pieces(text[last : note.start()]))
        out.append(note.group(0))
        last = note.end()
    out.extend(_pieces(text[last:]))
    return out


def _pieces(text: str) -> list[str]:
    out: list[str] = []
    for char in text:
        if char.isspace():
            if out and out[-1].isspace():
                out[-1] += char
            else:
                out.append(char)
        elif _wide(char) or not out or out[-1].isspace() or _wide(out[-1][-1]):
            out.append(char)
        else:
            out[-1] += char
    return out


def _can_start(pieces: list[str], index: int) -> bool:
    """Whether a line may start at ``pieces[index]``: not with closing punctuation, not after an opening one."""
    if pieces[index].isspace() or pieces[index][0] in _NO_LINE_START:
        return False
    before = [p for p in pieces[:index] if not p.isspace()]
    return bool(before) and before[-1][-1] not in _NO_LINE_END


def _fill(paragraph: str, width: int, indent: str) -> list[str]:
    lines: list[str] = []
    line: list[str] = []
    room = max(width - len(indent), 10)
    for token in _tokens(" ".join(paragraph.split("\n"))):
        if token.isspace():
            if line:
                line.append(" ")
            continue
        line.append(token)
        if cells("".join(line).rstrip(" ")) <= room or len(line) == 1:
            continue
        # Too long: break at the last place a line may start (kinsoku: a closing bracket or 。 takes the
        # character before it down too; an opening bracket goes down with what it opens).
        cut = len(line) - 1
        while cut > 0 and not _can_start(line, cut):
            cut -= 1
        if cut > 0:
            lines.append("".join(line[:cut]).rstrip(" "))
            line = line[cut:]
    if "".join(line).strip():
        lines.append("".join(line).rstrip(" "))
    return [indent + item for item in lines]


def wrap_cells(text: str, width: int, indent: str = "") -> str:
    """``text`` wrapped to ``width`` terminal cells: breaks between full-width characters and at spaces, never
    inside a Latin word, never before closing punctuation; paragraphs (blank lines) kept."""
    paragraphs: Sequence[str] = inspect.cleandoc(text).split("\n\n")
    return "\n\n".join("\n".join(_fill(p.strip(), width, indent)) for p in paragraphs if p.strip())


def localize_cli(root: Any) -> Any:
    """Everything above, for the command about to run: the tree, typer's words, click's formatter."""
    route_typer_gettext()
    install_formatter()
    return localize_command(root)
