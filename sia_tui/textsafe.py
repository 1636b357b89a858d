"""Making untrusted text (people's names, API messages) safe to show in a terminal.

Names come from Marketo and can hold anything: Rich markup such as ``[bold]x[/]`` (harmless once shown as
``rich.text.Text``, never parsed as markup) and terminal escape sequences such as ``\\x1b[2J``, which would clear
the seller's screen if written raw. Control characters are shown as visible escapes instead, so the name is
displayed literally and nothing is lost.
"""

from __future__ import annotations

import re

_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f]")


def _escape(match: re.Match[str]) -> str:
    ch = match.group(0)
    return f"\\x{ord(ch):02x}"


def printable(value: object, *, single_line: bool = True) -> str:
    """``value`` as text with control characters made visible (``\\x1b``), newlines folded if single_line."""
    if value is None:
        return ""
    text = str(value)
    if single_line:
        text = text.replace("\r\n", " ").replace("\n", " ").replace("\t", " ")
    else:
        text = text.replace("\t", "    ")
    return _CONTROL.sub(_escape, text)


def clip(text: str, width: int) -> str:
    return text if len(text) <= width else text[: max(0, width - 1)] + "…"
