"""Turning untrusted values into fixed-width terminal cells.

Every value from Marketo goes through :func:`sia_tui.textsafe.printable` and into a ``rich.text.Text`` (never a
markup string), so a name such as ``[bold red]x[/]`` shows those characters and ``\\x1b[2J`` shows as text.
Widths are counted in terminal cells, so Chinese and Japanese names (two cells per character) stay aligned.
"""

from __future__ import annotations

from typing import Any

from rich.cells import cell_len
from rich.style import Style
from rich.text import Text

from sia_tui.i18n import N_
from sia_tui.textsafe import printable


def safe_text(value: Any, style: Style | str = "") -> Text:
    """``value`` shown literally: control characters visible, markup not parsed."""
    return Text(printable(value), style=style, no_wrap=True, end="")


def fit(text: Text, width: int, *, right: bool = False) -> Text:
    """``text`` cut or padded to exactly ``width`` cells (an ellipsis marks a cut; wide characters respected)."""
    out = text.copy()
    out.no_wrap = True
    if width <= 0:
        return Text("", end="")
    if cell_len(out.plain) > width:
        out.truncate(width, overflow="ellipsis")
    pad = width - cell_len(out.plain)
    if pad > 0:
        if right:
            out = Text(" " * pad, end="") + out
        else:
            out.append(" " * pad)
    return out


def person_name(person: dict[str, Any]) -> str:
    from sia_tui.names import display_name  # the one name function (family first for CJK names, by script)

    name = display_name(person)
    return printable(name) if name else printable(person.get("email") or f"#{person.get('marketo_id')}")


def flags_of(person: dict[str, Any]) -> list[tuple[str, str]]:
    """Compliance badges of a person: (label, severity) with severity "bad" (blocks email) or "warn".

    ``local_optout`` is an opt-out a seller recorded in sia-tui (it blocks sends like Marketo's flags). The label
    is the English source (a key of :data:`SHORT_FLAGS`): show it through ``_()``."""
    out: list[tuple[str, str]] = []
    if person.get("local_optout"):
        out.append((N_("OPTED OUT"), "bad"))
    if person.get("unsubscribed"):
        out.append((N_("UNSUBSCRIBED"), "bad"))
    if person.get("black_listed"):
        out.append((N_("BLOCKLISTED"), "bad"))
    if person.get("marketing_suspended"):
        out.append((N_("SUSPENDED"), "warn"))
    if person.get("email_invalid"):
        out.append((N_("INVALID EMAIL"), "warn"))
    return out


#: The people list's short form of each badge (its Flags column), translated where shown.
SHORT_FLAGS = {
    "OPTED OUT": N_("optout"),
    "UNSUBSCRIBED": N_("unsub"),
    "BLOCKLISTED": N_("block"),
    "SUSPENDED": N_("susp"),
    "INVALID EMAIL": N_("inval"),
}
