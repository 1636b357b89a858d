"""Every key binding with its id, so a seller can see what to remap in ``[keys]`` of config.toml."""

from __future__ import annotations

from typing import ClassVar

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Vertical
from textual.screen import ModalScreen
from textual.widgets import DataTable, Static

from sia_tui.i18n import N_, _
from sia_tui.tui.keys import KEY_SPECS, keys_for

#: Where each binding works (translated where shown).
WHERE = {
    "everywhere": N_("everywhere"),
    "people": N_("people list"),
    "person": N_("person"),
    "screens": N_("other screens"),
    "tasks": N_("tasks"),
    "settings": N_("settings"),
    "compose": N_("email"),
    "call": N_("call log"),
    "outbox": N_("outbox"),
    "task-form": N_("task form"),
    "today": N_("Command Center"),
    "campaigns": N_("campaigns"),
    "campaign-edit": N_("campaign editor"),
    "dialogs": N_("dialogs"),
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
        Binding(keys_for("keys-help-close"), "dismiss", N_("Close"), id="keys-help-close"),
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
                    _(
                        "Keys and their ids. Remap any of them in config.toml, e.g.\n"
                        '[keys]\nsync-now = "f5,ctrl+r"\n'
                        "ctrl+p opens the command palette. esc closes this."
                    ),
                    end="",
                ),
                id="keys-intro",
            )
            yield DataTable(id="keys-table", cursor_type="row", zebra_stripes=True)

    def on_mount(self) -> None:
        table = self.query_one(DataTable)
        table.add_columns(_("Where"), _("Id"), _("Keys"), _("What it does"))
        for spec in KEY_SPECS:
            keys = self.keymap.get(spec.id, spec.keys)
            changed = spec.id in self.keymap
            table.add_row(
                Text(_(WHERE[spec.where]), style="dim"),
                Text(spec.id, style="bold"),
                Text(pretty_keys(keys) + (" *" if changed else ""), style="cyan" if changed else ""),
                Text(_(spec.description)),
            )
        table.focus()
