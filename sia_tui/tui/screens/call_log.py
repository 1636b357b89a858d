"""Log a call: outcome and reason from the admin's lists, status, a running timer (or a typed duration), notes.

Same validation and queueing as ``sia-tui --headless call`` (:mod:`sia_tui.outbox.compose`). Open it with
``app.push_screen(CallLogScreen(settings, db, person), callback)``; it dismisses with the queued
:class:`~sia_tui.outbox.model.OutboxItem` or ``None``.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any, ClassVar

import sqlite_utils
from rich.text import Text
from textual import on
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal, Vertical
from textual.screen import ModalScreen
from textual.widgets import Button, Footer, Input, Label, Select, Static, TextArea

from sia_tui.i18n import N_, _
from sia_tui.outbox.compose import CallDraft, OutboxInputError, prepare_call, seller_from_settings
from sia_tui.outbox.model import CALL_STATUSES, OutboxItem
from sia_tui.outbox.queue import enqueue_call
from sia_tui.textsafe import literal, printable
from sia_tui.tui.keys import keys_for

#: The call statuses as the form shows them (the value stays the CLI's).
STATUS_LABELS = {
    "completed": N_("completed"),
    "no-answer": N_("no answer"),
    "cancelled": N_("cancelled"),
    "failed": N_("failed"),
}


def format_duration(seconds: int) -> str:
    minutes, secs = divmod(max(0, int(seconds)), 60)
    hours, minutes = divmod(minutes, 60)
    return f"{hours}:{minutes:02d}:{secs:02d}" if hours else f"{minutes:02d}:{secs:02d}"


class CallLogScreen(ModalScreen[OutboxItem | None]):
    DEFAULT_CSS = """
    CallLogScreen { align: center middle; }
    CallLogScreen > Vertical { width: 90%; max-width: 100; height: auto; max-height: 96%; border: thick $primary;
                               padding: 0 1; background: $surface; }
    CallLogScreen #call-with { text-style: bold; padding: 0 0 1 0; }
    CallLogScreen .row { height: auto; }
    CallLogScreen .row Label { width: 10; }
    CallLogScreen .row Input, CallLogScreen .row Select { width: 1fr; }
    CallLogScreen #timer { width: 10; padding: 0 1; text-style: bold; }
    CallLogScreen #timer_button { margin: 0 1 0 0; }
    CallLogScreen #notes { height: 6; margin: 0 0 1 0; }
    CallLogScreen #error { color: $error; height: auto; }
    CallLogScreen #buttons { height: 1; align: right middle; }
    CallLogScreen #buttons Button { margin-left: 1; }
    """
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding(keys_for("call-save"), "log", N_("Log the call"), id="call-save", priority=True),
        Binding(keys_for("call-timer"), "timer", N_("Start/stop timer"), id="call-timer", priority=True),
        Binding(keys_for("dialog-cancel"), "cancel", N_("Cancel"), id="dialog-cancel"),
    ]

    def __init__(
        self,
        settings: Any,
        db: sqlite_utils.Database,
        person: dict[str, Any],
        *,
        stopwatch: Callable[[], float] = time.monotonic,
        queue: Callable[[CallDraft], OutboxItem] | None = None,
        notes: str = "",
    ) -> None:
        """``stopwatch``: the seconds clock the call timer reads (monotonic; tests pass a fake one). ``queue``
        queues the validated call instead of :func:`enqueue_call` (a campaign step finishes with it); ``notes``
        prefills the notes (a campaign step's talk track)."""
        super().__init__()
        self.settings = settings
        self.db = db
        self.person = person
        self.stopwatch = stopwatch
        self._started: float | None = None
        self._elapsed = 0.0
        self.queue = queue
        self.initial_notes = notes

    def compose(self) -> ComposeResult:
        from sia_tui.names import display_name  # the one name function: family first for CJK names

        name = display_name(self.person)
        outcomes = list(self.settings.get("calls.outcomes"))
        reasons = list(self.settings.get("calls.reasons"))
        with Vertical():
            yield Static(
                Text(_("Call with {name}").format(name=printable(name) or _("this person")), end=""),
                id="call-with",
            )
            with Horizontal(classes="row"):
                yield Label(_("Number"))
                yield Input(str(self.person.get("phone") or ""), id="phone", compact=True)
            with Horizontal(classes="row"):
                yield Label(_("Outcome"))
                yield Select(
                    [(literal(o), o) for o in outcomes],
                    prompt=_("choose an outcome"),
                    id="outcome",
                    compact=True,
                )
            with Horizontal(classes="row"):
                yield Label(_("Reason"))
                yield Select(
                    [(literal(r), r) for r in reasons], prompt=_("(none)"), id="reason", compact=True
                )
            with Horizontal(classes="row"):
                yield Label(_("Status"))
                yield Select(
                    [(_(STATUS_LABELS.get(s, s)), s) for s in CALL_STATUSES],
                    value="completed",
                    allow_blank=False,
                    id="status",
                    compact=True,
                )
            with Horizontal(classes="row"):
                yield Label(_("Duration"))
                yield Static(format_duration(0), id="timer")
                yield Button(_("Start timer"), id="timer_button", compact=True)
                yield Input(placeholder=_("or type the seconds"), id="duration", type="integer", compact=True)
            yield Label(_("Notes"))
            yield TextArea(id="notes", soft_wrap=True)
            yield Static(id="error")
            with Horizontal(id="buttons"):
                yield Button(_("Cancel"), id="cancel", compact=True)
                yield Button(_("Log the call"), id="log", variant="primary", compact=True)
        yield Footer()  # this dialog's keys, not those of the screen below

    def on_mount(self) -> None:
        self.set_interval(1.0, self._tick)
        if self.initial_notes:
            self.query_one("#notes", TextArea).text = self.initial_notes
        self.query_one("#outcome", Select).focus()

    # -------------------------------------------------------------------------------------------------- timer

    def seconds(self) -> int:
        running = self.stopwatch() - self._started if self._started is not None else 0.0
        return int(self._elapsed + running)

    def _tick(self) -> None:
        self.query_one("#timer", Static).update(format_duration(self.seconds()))

    @on(Button.Pressed, "#timer_button")
    def action_timer(self) -> None:
        button = self.query_one("#timer_button", Button)
        if self._started is None:
            self._started = self.stopwatch()
            button.label = _("Stop timer")
        else:
            self._elapsed += self.stopwatch() - self._started
            self._started = None
            button.label = _("Start timer")
        self._tick()

    # ------------------------------------------------------------------------------------------------ actions

    def _duration(self) -> int:
        typed = self.query_one("#duration", Input).value.strip()
        if typed:
            try:
                return int(typed)
            except ValueError:
                raise OutboxInputError(
                    _("The duration must be a number of seconds, not {typed!r}.").format(typed=typed)
                ) from None
        return self.seconds()

    @on(Button.Pressed, "#log")
    def action_log(self) -> None:
        outcome = self.query_one("#outcome", Select).value
        reason = self.query_one("#reason", Select).value
        status = self.query_one("#status", Select).value
        try:
            draft = prepare_call(
                self.db,
                int(self.person["marketo_id"]),
                outcome=outcome if isinstance(outcome, str) else None,
                reason=reason if isinstance(reason, str) else None,
                status=str(status),
                duration_s=self._duration(),
                notes=self.query_one("#notes", TextArea).text,
                phone=self.query_one("#phone", Input).value,
                seller=seller_from_settings(self.settings),
                outcomes=self.settings.get("calls.outcomes"),
                reasons=self.settings.get("calls.reasons"),
                outcome_required=self.settings.get("calls.outcome_required"),
                reason_required=self.settings.get("calls.reason_required"),
            )
        except OutboxInputError as exc:
            self.query_one("#error", Static).update(
                Text(_("✗ {problem} Nothing was logged.").format(problem=printable(exc)), end="")
            )
            return
        if self.queue is None:
            self.dismiss(enqueue_call(self.db, draft))
            return
        try:
            self.dismiss(self.queue(draft))
        except ValueError as exc:  # e.g. the campaign step was finished elsewhere meanwhile
            self.query_one("#error", Static).update(
                Text(_("✗ {problem} Nothing was logged.").format(problem=printable(exc)), end="")
            )

    @on(Button.Pressed, "#cancel")
    def action_cancel(self) -> None:
        self.dismiss(None)
