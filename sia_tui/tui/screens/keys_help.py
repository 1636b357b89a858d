"""Every key binding with its id, so a seller can see what to remap in ``[keys]`` of config.toml."""

from __future__ import annotations

from typing import ClassVar

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Vertical
from textual.screen import ModalScreen
from textual.widgets import DataTable, Static

from sia_tui.tui.keys import KEY_SPECS, keys_for

WHERE = {
    "everywhere": "everywhere",
    "people": "people list",
    "person": "person",
    "screens": "other screens",
    "tasks": "tasks",
    "settings": "settings",
    "compose": "email",
    "call": "call log",
    "outbox": "outbox",
    "task-form": "task form",
    "today": "Command Center",
    "campaigns": "campaigns",
    "campaign-edit": "campaign editor",
    "dialogs": "dialogs",
}


def pretty_keys(keys: str) -> str:
    names = {
        "slash": "/",
        "question_mark": "?",
        "colon": ":",
        "left_square_bracket": "[",
        "right_square_bracket": "]",
        "escape": "esc",
        "comma": ",",
    }
    return ", ".join(names.get(k.strip(), k.strip()) for k in keys.split(","))


class KeysHelpScreen(ModalScreen[None]):
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding(keys_for("keys-help-close"), "dismiss", "Close", id="keys-help-close"),
    ]

    DEFAULT_CSS = """
    KeysHelpScreen { align: center middle; }
    KeysHelpScreen > Vertical {
        width: 96; max-width: 100%; height: 90%; border: round $accent; background: $surface; padding: 0 1;
    }
    KeysHelpScreen #keys-intro { height: auto; color: $text-muted; }
    KeysHelpScreen DataTable { height: 1fr; }
    """

    def __init__(self, keymap: dict[str, str]) -> None:
        super().__init__(id="keys-help")
        self.keymap = keymap

    def compose(self) -> ComposeResult:
        with Vertical():
            yield Static(
                Text(
                    "Keys and their ids. Remap any of them in config.toml, e.g.\n"
                    '[keys]\nsync-now = "f5,ctrl+r"\n'
                    "ctrl+p opens the command palette. esc closes this.",
                    end="",
                ),
                id="keys-intro",
            )
            yield DataTable(id="keys-table", cursor_type="row", zebra_stripes=True)

    def on_mount(self) -> None:
        table = self.query_one(DataTable)
        table.add_columns("Where", "Id", "Keys", "What it does")
        for spec in KEY_SPECS:
            keys = self.keymap.get(spec.id, spec.keys)
            changed = spec.id in self.keymap
            table.add_row(
                Text(WHERE[spec.where], style="dim"),
                Text(spec.id, style="bold"),
                Text(pretty_keys(keys) + (" *" if changed else ""), style="cyan" if changed else ""),
                Text(spec.description),
            )
        table.focus()
