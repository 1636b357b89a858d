"""The key footer, showing only the keys that fit whole beside the command palette's key.

Textual's footer lays every key out in a row and lets the row run on under the palette's key docked on the right:
at 120 columns the person screen's keys ran under it, cutting "F5 Sync" to "F" and splitting "^p Commands" where
the two overlapped; translated descriptions (two cells per CJK character) make the row longer still. This footer
measures each key as drawn and stops before the first one that would not fit, so what is shown reads whole in
every language; the rest are a ``?`` (keys) or ``^p`` (palette) away.
"""

from __future__ import annotations

from typing import Any

from rich.cells import cell_len
from textual import events
from textual.widget import Widget
from textual.widgets import Footer
from textual.widgets._footer import FooterKey

#: Cells a footer key takes around its words: a cell either side of the key, one after the description.
KEY_PADDING = 3
#: The palette key's extra cells: the border on its left and its padding on the right.
PALETTE_EXTRA = 2


def key_width(key: FooterKey) -> int:
    """Cells ``key`` takes in the (non-compact) footer."""
    if not key.description:
        return cell_len(key.key_display)
    return cell_len(key.key_display) + cell_len(key.description) + KEY_PADDING


class SiaFooter(Footer):
    """:class:`textual.widgets.Footer` without keys cut in half (see the module docstring)."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._laid_out_for = 0

    def compose(self) -> Any:
        widgets: list[Widget] = list(super().compose())
        width = self.size.width or self.app.size.width
        self._laid_out_for = width
        palette = [w for w in widgets if w.has_class("-command-palette")]
        room = width - sum(key_width(w) + PALETTE_EXTRA for w in palette if isinstance(w, FooterKey))
        used = 0
        for widget in widgets:
            if widget in palette:
                continue
            if not isinstance(widget, FooterKey):  # a group of keys: Textual's layout (sia-tui has none)
                yield widget
                continue
            used += key_width(widget)
            if used > room:
                break
            yield widget
        yield from palette

    def on_resize(self, event: events.Resize) -> None:
        if event.size.width != self._laid_out_for and self._bindings_ready:
            self.call_after_refresh(self.recompose)
