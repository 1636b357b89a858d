"""Making untrusted text (people's names, subjects, API messages, file names) safe to show in a terminal.

Names come from Marketo and can hold anything: Rich/Textual markup such as ``[bold]x[/]`` or ``[/]`` (which
crashes a markup parser), and terminal escape sequences such as ``\\x1b[2J`` (clears the screen) or
``\\x1b]0;…\\x07`` (retitles the terminal), which would act on the seller's terminal if written raw. Every front
end shows data through the helpers here, so the rule lives in one place:

- :func:`printable` — the text with control characters (C0, DEL, C1), bidi overrides and isolates, line and
  paragraph separators and lone surrogates shown as visible escapes (``\\x1b``, ``\\u202e``); nothing is lost.
- :func:`literal` — a ``rich.text.Text`` of :func:`printable`: what every table cell, title and message built
  from data should be (a ``Text`` is never parsed as markup, by Rich or by Textual).
- :func:`markup_literal` — for the few APIs that accept only a markup *string* (Textual's command palette):
  the text escaped so that Textual's markup parser gives back exactly the :func:`printable` text.
- :func:`without_controls` — the same characters removed, width kept: the TUI's last line of defence.
- :func:`json_dumps` — machine output: exact data, with the characters JSON leaves raw under
  ``ensure_ascii=False`` (C1, bidi, separators, surrogates) written as ``\\uXXXX`` escapes.
"""

from __future__ import annotations

import json
import re
from typing import Any

from rich.style import Style
from rich.text import Text

#: Characters never written raw: C0 controls (tab and newline are handled by the caller's choice of layout),
#: DEL, C1 controls (``\x9b`` is CSI on some terminals), the bidi embeddings/overrides/isolates that reorder
#: what is shown (U+202A–U+202E, U+2066–U+2069), the line/paragraph separators, and lone surrogates (which
#: cannot be encoded and would crash the write).
_UNSAFE = "\x00-\x08\x0b-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069\u2028\u2029\ud800-\udfff"
_CONTROL = re.compile(f"[{_UNSAFE}]")
#: In a line already laid out, tab and newline are as unwelcome as the rest (a raw newline breaks the screen).
_CONTROL_IN_LINE = re.compile(f"[\t\n{_UNSAFE}]")
#: What JSON leaves raw with ``ensure_ascii=False`` among the above (it escapes C0 itself).
_JSON_RAW = re.compile("[\x7f-\x9f\u202a-\u202e\u2066-\u2069\u2028\u2029\ud800-\udfff]")


def _escape(match: re.Match[str]) -> str:
    code = ord(match.group(0))
    return f"\\x{code:02x}" if code <= 0xFF else f"\\u{code:04x}"


def printable(value: object, *, single_line: bool = True) -> str:
    """``value`` as text with unsafe characters made visible (``\\x1b``); newlines folded if ``single_line``.

    Idempotent: its output holds no unsafe character, so applying it twice changes nothing.
    """
    if value is None:
        return ""
    text = str(value)
    if single_line:
        text = text.replace("\r\n", " ").replace("\n", " ").replace("\t", " ")
    else:
        text = text.replace("\r\n", "\n").replace("\t", "    ")
    return _CONTROL.sub(_escape, text)


def without_controls(text: str) -> str:
    """``text`` with the unsafe characters, tab and newline removed (a lone surrogate becomes U+FFFD).

    The last line of defence for text already laid out, whose width must not change: a terminal gives these
    characters no cell, so removing them keeps every column where it was. Everywhere data is *built* into a
    display, :func:`printable` (visible escapes) is the rule; this only catches what reaches the screen some
    other way, such as an editable field holding a synced value.
    """
    return _CONTROL_IN_LINE.sub(lambda m: "\ufffd" if "\ud800" <= m.group(0) <= "\udfff" else "", text)


def has_controls(text: str) -> bool:
    """Whether :func:`without_controls` would change ``text``."""
    return _CONTROL_IN_LINE.search(text) is not None


def literal(
    value: object,
    style: str | Style = "",
    *,
    single_line: bool = True,
    no_wrap: bool | None = None,
    end: str = "",
) -> Text:
    """``value`` as a Rich ``Text`` shown exactly as written: never parsed as markup, controls made visible.

    ``end`` is what Rich writes after it where the Text stands alone (a table title needs ``"\\n"``)."""
    return Text(printable(value, single_line=single_line), style=style, no_wrap=no_wrap, end=end)


def markup_literal(value: object, *, single_line: bool = True) -> str:
    """``value`` as *Textual* content markup that renders as :func:`printable` text, for APIs that take only
    markup strings (command palette titles). Textual reads ``\\[`` as a literal ``[`` and nothing else in plain
    text, so escaping every ``[`` is exact; Rich's markup has other rules and must get :func:`literal` instead."""
    return printable(value, single_line=single_line).replace("[", "\\[")


def clip(text: str, width: int) -> str:
    return text if len(text) <= width else text[: max(0, width - 1)] + "…"


def json_dumps(obj: Any) -> str:
    """``obj`` as one line of JSON: exact data (a reader gets every character back), nothing raw that a
    terminal would act on, and no lone surrogate that would fail to encode."""
    text = json.dumps(obj, ensure_ascii=False, default=str, indent=None)
    return _JSON_RAW.sub(lambda m: f"\\u{ord(m.group(0)):04x}", text)
