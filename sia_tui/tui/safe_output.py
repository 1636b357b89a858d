"""The TUI's last line of defence: no control character in any line Textual draws.

Data is shown through :mod:`sia_tui.textsafe` (``Text`` objects, escapes made visible). Some text reaches the
screen without passing there: an editable field pre-filled with a synced value (a phone number, a task subject, a
setting) holds the real characters, because editing must not change them. Textual writes an ``Input``'s value as
it is, so ``\\x1b]0;…`` in a phone number would retitle the seller's terminal. This filter runs on every line of
every widget just before it is written and removes such characters (a terminal gives them no cell, so nothing
moves).
"""

from __future__ import annotations

from rich.segment import Segment
from textual.color import Color
from textual.filter import LineFilter

from sia_tui.textsafe import has_controls, without_controls


class ControlCharacterFilter(LineFilter):
    """Removes C0/C1 controls, bidi overrides and separators from the text of every segment drawn."""

    def apply(self, segments: list[Segment], background: Color) -> list[Segment]:
        # The usual case costs one regex scan of the line's text.
        if not has_controls("".join([seg.text for seg in segments])):
            return segments
        return [
            seg if seg.control else Segment(without_controls(seg.text), seg.style, seg.control)
            for seg in segments
        ]
