"""Small modal dialogs: a yes/no confirmation, recording a person's opt-out (with an optional reason), asking
for a day, and a note to read."""

from __future__ import annotations

from datetime import date
from typing import ClassVar

from rich.text import Text
from textual import on
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal, Vertical
from textual.screen import ModalScreen
from textual.widgets import Button, Footer, Input, Static

from sia_tui.i18n import N_, _, current_locale
from sia_tui.i18n_dates import format_date
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
        Binding(keys_for("confirm-yes"), "answer(True)", N_("Yes"), id="confirm-yes", show=False),
        Binding(keys_for("confirm-no"), "answer(False)", N_("No"), id="confirm-no"),
    ]

    def __init__(self, title: str, body: Text | str, yes: str | None = None) -> None:
        super().__init__()
        self.title_text = title
        self.body = body
        self.yes = yes if yes is not None else _("Yes")

    def compose(self) -> ComposeResult:
        with Vertical():
            yield Static(Text(self.title_text, end=""), classes="dialog-title")
            yield Static(
                self.body if isinstance(self.body, Text) else Text(self.body, end=""), classes="dialog-body"
            )
            with Horizontal(classes="dialog-buttons"):
                yield Button(_("No (n)"), id="no", compact=True)
                yield Button(
                    _("{answer} (y)").format(answer=self.yes), id="yes", variant="error", compact=True
                )
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
        Binding(keys_for("dialog-cancel"), "cancel", N_("Cancel"), id="dialog-cancel"),
        Binding(keys_for("optout-record"), "record", N_("Record"), id="optout-record", priority=True),
    ]

    def __init__(self, name: str, email: str, optout_field: str) -> None:
        super().__init__()
        self.person_name = name
        self.email = email
        self.optout_field = optout_field

    def compose(self) -> ComposeResult:
        who = Text(printable(self.person_name), style="bold", end="")
        if self.email:
            who.append(f" <{printable(self.email)}>")
        # The person's name is bold inside the translated sentence, wherever the language puts it.
        sentence = _(
            "{person} asked not to be emailed. From now on sia-tui blocks every email to them (the send-time "
            "check), and the next worker cycle sets {field} on their Salesforce lead or contact. This cannot be "
            "undone from sia-tui."
        )
        before, _sep, after = sentence.partition("{person}")
        body = Text(before.format(field=self.optout_field), end="")
        body.append_text(who)
        body.append(after.format(field=self.optout_field))
        with Vertical():
            yield Static(Text(_("Record an opt-out"), end=""), classes="dialog-title")
            yield Static(body, classes="dialog-body")
            yield Input(
                placeholder=_("Reason (optional), e.g. asked on the phone"), id="reason", compact=True
            )
            with Horizontal(classes="dialog-buttons"):
                yield Button(_("Cancel (esc)"), id="cancel", compact=True)
                yield Button(_("Record opt-out"), id="record", variant="error", compact=True)
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


class DateScreen(ModalScreen["date | None"]):
    """Ask for a day (``2026-12-14``, ``tomorrow``, ``+3``, ``friday``); dismisses with it, or None on esc.

    With ``allow_empty`` an empty answer is allowed and dismisses with :data:`NO_DATE` (e.g. "pause until
    resumed")."""

    DEFAULT_CSS = (
        DIALOG_CSS.format(name="DateScreen") + "DateScreen #date-hint { height: auto; color: $text-muted; }"
    )
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding(keys_for("dialog-cancel"), "cancel", N_("Cancel"), id="dialog-cancel"),
    ]

    def __init__(self, title: str, body: str, today: date, *, allow_empty: bool = False) -> None:
        super().__init__()
        self.title_text = title
        self.body = body
        self.today = today
        self.allow_empty = allow_empty

    def compose(self) -> ComposeResult:
        with Vertical():
            yield Static(Text(self.title_text, end=""), classes="dialog-title")
            yield Static(Text(self.body, end=""), classes="dialog-body")
            yield Input(placeholder=_("YYYY-MM-DD, tomorrow, +3, friday"), id="date", compact=True)
            yield Static(id="date-hint")
        yield Footer()

    def on_mount(self) -> None:
        self.query_one("#date", Input).focus()
        self._hint()

    def _resolve(self) -> date | None:
        from sia_tui.tui.task_view import resolve_due

        typed = self.query_one("#date", Input).value
        try:
            return date.fromisoformat(resolve_due(typed, self.today))
        except ValueError:
            return None

    @on(Input.Changed, "#date")
    def _hint(self) -> None:
        typed = self.query_one("#date", Input).value.strip()
        day = self._resolve()
        if not typed:
            text = _("Empty: until you resume it.") if self.allow_empty else _("Type a day.")
        elif day is None:
            text = _("Not a day yet.")
        elif day <= self.today:
            text = _("{day}: pick a later day than today.").format(day=day.isoformat())
        else:
            text = "→ " + (day.strftime("%a %Y-%m-%d") if current_locale() == "en" else format_date(day))
        self.query_one("#date-hint", Static).update(Text(text, end=""))

    @on(Input.Submitted, "#date")
    def _submitted(self) -> None:
        typed = self.query_one("#date", Input).value.strip()
        if not typed and self.allow_empty:
            self.dismiss(NO_DATE)
            return
        day = self._resolve()
        if day is not None and day > self.today:
            self.dismiss(day)

    def action_cancel(self) -> None:
        self.dismiss(None)


#: What :class:`DateScreen` answers for an empty field when empty is allowed.
NO_DATE = date.min


class InfoScreen(ModalScreen[None]):
    """A note the seller reads and closes (e.g. who was enrolled and who was refused, and why)."""

    DEFAULT_CSS = DIALOG_CSS.format(name="InfoScreen") + (
        "InfoScreen > Vertical { width: 96; max-height: 90%; }\n"
        "InfoScreen .dialog-body { height: auto; max-height: 30; overflow-y: auto; }"
    )
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding(keys_for("info-close"), "close", N_("Close"), id="info-close"),
    ]

    def __init__(self, title: str, body: Text | str) -> None:
        super().__init__()
        self.title_text = title
        self.body = body

    def compose(self) -> ComposeResult:
        with Vertical():
            yield Static(Text(self.title_text, end=""), classes="dialog-title")
            yield Static(
                self.body if isinstance(self.body, Text) else Text(self.body, end=""), classes="dialog-body"
            )
        yield Footer()

    def action_close(self) -> None:
        self.dismiss(None)
