"""Compose an email to one person: template, subject, CC/BCC, body ($EDITOR too), live preview, send or record.

Validation and queueing are the same code as ``sia-tui --headless email`` (:mod:`sia_tui.outbox.compose`): the
screen only collects input, shows the rendered preview with every problem, and queues on Send / Record. The
warning about a cached unsubscribe is early and advisory; the worker's live check at send time decides.

Open it with ``app.push_screen(ComposeScreen(settings, db, person), callback)``; it dismisses with the queued
:class:`~sia_tui.outbox.model.OutboxItem` or ``None`` when cancelled.
"""

from __future__ import annotations

import os
import shlex
import subprocess
import tempfile
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path
from typing import Any, ClassVar

import sqlite_utils
from rich.cells import cell_len
from rich.text import Text
from textual import on
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal, Vertical
from textual.screen import ModalScreen
from textual.widgets import Button, Checkbox, Footer, Input, Label, Select, Static, TextArea

from sia_tui.clock import system_clock
from sia_tui.i18n import N_, _
from sia_tui.mail.language import email_language
from sia_tui.mail.templates import load_templates, person_context, render
from sia_tui.outbox.compose import (
    EmailDraft,
    OutboxInputError,
    cached_warnings,
    prepare_email,
    seller_from_settings,
)
from sia_tui.outbox.model import OutboxItem
from sia_tui.outbox.queue import enqueue_email
from sia_tui.outbox.schedule import parse_send_at, seller_zone
from sia_tui.textsafe import printable
from sia_tui.tui.keys import keys_for


class ComposeScreen(ModalScreen[OutboxItem | None]):
    DEFAULT_CSS = """
    ComposeScreen { align: center middle; }
    ComposeScreen > Vertical { width: 96%; max-width: 120; height: 96%; border: thick $primary; padding: 0 1;
                               background: $surface; }
    ComposeScreen #to { text-style: bold; }
    ComposeScreen .row { height: auto; margin: 0 0 0 0; }
    ComposeScreen .row Label { width: 9; }
    ComposeScreen .row #send_at_label { width: auto; margin: 0 1 0 2; }
    ComposeScreen .row Input, ComposeScreen .row Select { width: 1fr; }
    ComposeScreen #body { height: 1fr; min-height: 4; margin: 1 0 0 0; }
    ComposeScreen #preview { height: auto; max-height: 40%; min-height: 3; border: round $secondary;
                             border-title-color: $text-muted; padding: 0 1; overflow-y: auto; }
    ComposeScreen #warning { color: $warning; height: auto; }
    ComposeScreen #error { color: $error; height: auto; }
    ComposeScreen #buttons { dock: bottom; height: 1; align: right middle; }  /* always on screen */
    ComposeScreen #buttons Button { margin-left: 1; }
    """
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding(keys_for("compose-send"), "send", N_("Send"), id="compose-send", priority=True),
        Binding(keys_for("compose-record"), "record", N_("Record only"), id="compose-record", priority=True),
        Binding(
            keys_for("compose-editor"), "editor", N_("Edit in $EDITOR"), id="compose-editor", priority=True
        ),
        Binding(keys_for("dialog-cancel"), "cancel", N_("Cancel"), id="dialog-cancel"),
    ]

    def __init__(
        self,
        settings: Any,
        db: sqlite_utils.Database,
        person: dict[str, Any],
        *,
        subject: str = "",
        body: str = "",
        queue: Callable[[EmailDraft], OutboxItem] | None = None,
    ) -> None:
        """``subject`` / ``body`` prefill the fields (a campaign step's); ``queue`` queues the validated email
        instead of :func:`enqueue_email` (a campaign step finishes with it, in the same transaction)."""
        super().__init__()
        self.initial = (subject, body)
        self.queue = queue
        self.settings = settings
        self.db = db
        self.person = person
        self.seller = seller_from_settings(settings)
        # Built-in templates and footers in the recipient's language where known, else the seller's (as queued).
        self.language = email_language(person)
        self.templates = load_templates(settings.paths.config_dir, language=self.language)
        self.zone = seller_zone(settings)

    def compose(self) -> ComposeResult:
        from sia_tui.names import display_name  # the one name function: family first for CJK names

        name = display_name(self.person)
        email = self.person.get("email") or _("no email")
        with Vertical():
            # Names, subjects and bodies are shown as Text, never parsed as markup: "[/]" in a body is text.
            yield Static(
                Text(
                    _("Email to {name} <{email}>").format(
                        name=printable(name) or _("this person"), email=printable(email)
                    ),
                    end="",
                ),
                id="to",
            )
            warnings = cached_warnings(self.person)
            warning = Static(
                Text("⚠ " + printable(" ".join(warnings)) if warnings else "", end=""), id="warning"
            )
            warning.display = bool(warnings)  # no blank line when the cache has nothing to warn about
            yield warning
            with Horizontal(classes="row"):
                yield Label(_("Template"))
                yield Select(
                    [(n, n) for n in self.templates], prompt=_("(none)"), id="template", compact=True
                )
            with Horizontal(classes="row"):
                yield Label(_("Subject"))
                yield Input(
                    placeholder=_("Subject; fields like {{first_name}} work here"), id="subject", compact=True
                )
            with Horizontal(classes="row"):
                yield Label(_("CC"))
                yield Input(placeholder=_("a@x.com, b@y.com"), id="cc", compact=True)
            with Horizontal(classes="row"):
                yield Label(_("BCC"))
                yield Input(placeholder=_("optional"), id="bcc", compact=True)
                # On the BCC line, so the body keeps its height on a 24-line terminal.
                yield Label(_("Send at"), id="send_at_label")
                yield Input(placeholder=_("now, or e.g. 2026-12-08 09:00"), id="send_at", compact=True)
            yield TextArea(id="body", soft_wrap=True, show_line_numbers=False)
            yield Static(id="preview")
            yield Static(id="error")
            with Horizontal(id="buttons"):
                yield Checkbox(_("Record only (sent elsewhere)"), id="record_only", compact=True)
                yield Button(_("Cancel"), id="cancel", compact=True)
                yield Button(_("Send"), id="send", variant="primary", compact=True)
        yield Footer()  # this dialog's keys, not those of the screen below

    def on_mount(self) -> None:
        # The labels share one width, wide enough for the longest in this language (テンプレート is 12 cells).
        labels = [label for label in self.query(".row > Label") if label.id != "send_at_label"]
        width = max(9, *(cell_len(str(label.render())) + 1 for label in labels))
        if width != 9:
            for label in labels:
                label.styles.width = width
        subject, body = self.initial
        if subject:
            self.query_one("#subject", Input).value = subject
        if body:
            self.query_one("#body", TextArea).text = body
        self.query_one("#body" if subject else "#subject").focus()
        self._refresh_preview()

    # ------------------------------------------------------------------------------------------------ input

    @on(Select.Changed, "#template")
    def _template_chosen(self, event: Select.Changed) -> None:
        template = self.templates.get(event.value) if isinstance(event.value, str) else None
        if template is None:
            return
        self.query_one("#subject", Input).value = template.subject
        self.query_one("#body", TextArea).text = template.body
        self._refresh_preview()

    @on(Input.Changed)
    @on(TextArea.Changed)
    def _changed(self) -> None:
        self._refresh_preview()

    def _values(self) -> dict[str, Any]:
        template = self.query_one("#template", Select).value
        return {
            "subject": self.query_one("#subject", Input).value,
            "body": self.query_one("#body", TextArea).text,
            "cc": self.query_one("#cc", Input).value,
            "bcc": self.query_one("#bcc", Input).value,
            "template": template if isinstance(template, str) else None,
        }

    def _refresh_preview(self) -> None:
        values = self._values()
        chosen = self.templates.get(values["template"] or "")
        context = person_context(
            self.person, self.seller.to_json(), (chosen and chosen.language) or self.language
        )
        subject = render(values["subject"], context, what="subject")
        body = render(values["body"], context, what="body")
        problems = [*subject.problems, *body.problems]
        text = (_("Subject: {subject}").format(subject=subject.text) + f"\n\n{body.text}").rstrip()
        if problems:
            text += "\n\n✗ " + "\n✗ ".join(problems)
        self.query_one("#preview", Static).update(Text(printable(text, single_line=False), end=""))

    # ---------------------------------------------------------------------------------------------- actions

    def _queue(self, record_only: bool) -> None:
        values = self._values()
        error = self.query_one("#error", Static)
        when_text = self.query_one("#send_at", Input).value.strip()
        when = None
        try:
            if when_text:
                if record_only:
                    raise OutboxInputError(_("An email recorded as sent elsewhere cannot be scheduled."))
                when = parse_send_at(when_text, self.zone, system_clock())
            draft = prepare_email(
                self.db,
                int(self.person["marketo_id"]),
                subject=values["subject"],
                body=values["body"],
                seller=self.seller,
                template=None,  # the template's text is already in the fields, possibly edited
                cc=values["cc"],
                bcc=values["bcc"],
                record_only=record_only,
                config_dir=self.settings.paths.config_dir,
            )
        except OutboxInputError as exc:
            error.update(Text(_("✗ {problem} Nothing was queued.").format(problem=printable(exc)), end=""))
            return
        draft = replace(draft, template=values["template"])
        if self.queue is None:
            self.dismiss(enqueue_email(self.db, draft, send_at=when))
            return
        if when is not None:
            error.update(
                Text(
                    _("✗ A campaign step's email goes when you send it; snooze the step to do it later."),
                    end="",
                )
            )
            return
        try:
            self.dismiss(self.queue(draft))
        except ValueError as exc:  # e.g. the campaign step was finished elsewhere meanwhile
            error.update(Text(_("✗ {problem} Nothing was queued.").format(problem=printable(exc)), end=""))

    @on(Button.Pressed, "#send")
    def action_send(self) -> None:
        self._queue(self.query_one("#record_only", Checkbox).value)

    def action_record(self) -> None:
        self._queue(True)

    @on(Button.Pressed, "#cancel")
    def action_cancel(self) -> None:
        self.dismiss(None)

    def action_editor(self) -> None:
        """Write the body in $VISUAL/$EDITOR (the terminal is handed over while it runs)."""
        editor = os.environ.get("VISUAL") or os.environ.get("EDITOR")
        if not editor:
            self.notify(_("Set $EDITOR to write the body in your editor."), severity="warning")
            return
        area = self.query_one("#body", TextArea)
        with tempfile.NamedTemporaryFile("w", suffix=".txt", delete=False, encoding="utf-8") as handle:
            handle.write(area.text)
            path = Path(handle.name)
        try:
            with self.app.suspend():
                subprocess.run([*shlex.split(editor), str(path)], check=False)
            area.text = path.read_text(encoding="utf-8")
        except Exception as exc:  # the app may not support suspending (e.g. in tests)
            self.notify(_("Could not run the editor: {error}").format(error=exc), severity="error")
        finally:
            path.unlink(missing_ok=True)
        self._refresh_preview()
