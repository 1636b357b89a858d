"""Small modal dialogs: a yes/no confirmation, and recording a person's opt-out (with an optional reason)."""

from __future__ import annotations

from typing import ClassVar

from rich.text import Text
from textual import on
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal, Vertical
from textual.screen import ModalScreen
from textual.widgets import Button, Footer, Input, Static

from sia_tui.textsafe import printable
from sia_tui.tui.keys import keys_for

DIALOG_CSS = """
{name} {{ align: center middle; }}
{name} > Vertical {{ width: 72; max-width: 96%; height: auto; border: thick $primary; padding: 0 1;
                    background: $surface; }}
{name} .dialog-title {{ text-style: bold; padding: 0 0 1 0; }}
{name} .dialog-body {{ height: auto; padding: 0 0 1 0; }}
{name} Input {{ margin: 0 0 1 0; }}
{name} .dialog-buttons {{ height: auto; align: right middle; }}
{name} .dialog-buttons Button {{ margin-left: 1; }}
"""


class ConfirmScreen(ModalScreen[bool]):
    """Ask before something that cannot be undone; dismisses True on yes."""

    DEFAULT_CSS = DIALOG_CSS.format(name="ConfirmScreen")
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding(keys_for("confirm-yes"), "answer(True)", "Yes", id="confirm-yes", show=False),
        Binding(keys_for("confirm-no"), "answer(False)", "No", id="confirm-no"),
    ]

    def __init__(self, title: str, body: Text | str, yes: str = "Yes") -> None:
        super().__init__()
        self.title_text = title
        self.body = body
        self.yes = yes

    def compose(self) -> ComposeResult:
        with Vertical():
            yield Static(Text(self.title_text, end=""), classes="dialog-title")
            yield Static(
                self.body if isinstance(self.body, Text) else Text(self.body, end=""), classes="dialog-body"
            )
            with Horizontal(classes="dialog-buttons"):
                yield Button("No (n)", id="no", compact=True)
                yield Button(f"{self.yes} (y)", id="yes", variant="error", compact=True)
        yield Footer()  # this dialog's keys, not those of the screen below

    def on_mount(self) -> None:
        self.query_one("#no", Button).focus()

    @on(Button.Pressed)
    def _pressed(self, event: Button.Pressed) -> None:
        self.dismiss(event.button.id == "yes")

    def action_answer(self, yes: bool) -> None:
        self.dismiss(yes)


class OptOutScreen(ModalScreen[str | None]):
    """Record that a person asked not to be emailed; dismisses with the reason ("" for none), None if cancelled."""

    DEFAULT_CSS = DIALOG_CSS.format(name="OptOutScreen")
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding(keys_for("dialog-cancel"), "cancel", "Cancel", id="dialog-cancel"),
        Binding(keys_for("optout-record"), "record", "Record", id="optout-record", priority=True),
    ]

    def __init__(self, name: str, email: str, optout_field: str) -> None:
        super().__init__()
        self.person_name = name
        self.email = email
        self.optout_field = optout_field

    def compose(self) -> ComposeResult:
        body = Text("", end="")
        body.append(printable(self.person_name), style="bold")
        if self.email:
            body.append(f" <{printable(self.email)}>")
        body.append(
            " asked not to be emailed. From now on sia-tui blocks every email to them (the send-time check), and "
            f"the next worker cycle sets {self.optout_field} on their Salesforce lead or contact. "
            "This cannot be undone from sia-tui."
        )
        with Vertical():
            yield Static(Text("Record an opt-out", end=""), classes="dialog-title")
            yield Static(body, classes="dialog-body")
            yield Input(placeholder="Reason (optional), e.g. asked on the phone", id="reason", compact=True)
            with Horizontal(classes="dialog-buttons"):
                yield Button("Cancel (esc)", id="cancel", compact=True)
                yield Button("Record opt-out", id="record", variant="error", compact=True)
        yield Footer()  # this dialog's keys, not those of the screen below

    def on_mount(self) -> None:
        self.query_one("#reason", Input).focus()

    @on(Input.Submitted, "#reason")
    @on(Button.Pressed, "#record")
    def action_record(self) -> None:
        self.dismiss(self.query_one("#reason", Input).value.strip())

    @on(Button.Pressed, "#cancel")
    def action_cancel(self) -> None:
        self.dismiss(None)
