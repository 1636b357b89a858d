"""The settings screen: connections (with a Test per connection), sync, compliance, Salesforce logging (with a
live Task-subject preview), call outcomes and reasons, the seller's identity, and activity-type provisioning.

A value is checked as it is typed and saved on enter (or when the field is left): the same validation as
``sia-tui settings set``; a refused value shows why, right under the field, and the stored value stays. Secrets
are never shown: the field says where the secret comes from, a new one is typed into a password field and goes to
the OS keyring. Every save reloads the app's settings, so changes apply without a restart.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterable
from typing import TYPE_CHECKING, Any, ClassVar

from rich.text import Text
from textual import on, work
from textual.app import ComposeResult, SystemCommand
from textual.binding import Binding, BindingType
from textual.containers import Horizontal, Vertical, VerticalScroll
from textual.message import Message
from textual.screen import Screen
from textual.widget import Widget
from textual.widgets import Button, Checkbox, Footer, Input, Label, Static

from sia_tui.config import SPECS, SettingError, parse_value
from sia_tui.textsafe import printable
from sia_tui.tui.keys import keys_for
from sia_tui.tui.settings_model import (
    FIELDS,
    SECTIONS,
    Field,
    Section,
    display,
    env_note,
    secret_status,
    subject_preview,
    widget_id,
)
from sia_tui.tui.widgets.status_header import StatusHeader

if TYPE_CHECKING:
    from sia_tui.tui.app import SiaApp

TEST_TIMEOUT_S = 45.0
REACH_TIMEOUT_S = 4.0
CONNECTION_LABELS = {"marketo": "Marketo", "salesforce": "Salesforce", "smtp": "SMTP", "imap": "IMAP"}


class ChecksDone(Message):
    def __init__(self, target: str, lines: list[tuple[bool, str]]) -> None:
        super().__init__()
        self.target = target  # marketo | salesforce | smtp | imap | provision
        self.lines = lines


def check_lines(checks: Iterable[dict[str, Any]]) -> list[tuple[bool, str]]:
    return [(bool(c.get("ok")), f"{c.get('check')}: {c.get('detail') or ''}".rstrip(": ")) for c in checks]


def result_text(lines: list[tuple[bool, str]]) -> Text:
    out = Text("", end="")
    for i, (ok, line) in enumerate(lines):
        if i:
            out.append("\n")
        out.append("✓ " if ok else "✗ ", style="bold green" if ok else "bold red")
        out.append(printable(line))
    return out


class SettingsBody(VerticalScroll, can_focus=False, inherit_bindings=False):
    """The scrolling form. Its own up/down would scroll a line; here they move between settings instead."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding(keys_for("page-up"), "page_up", "Page up", show=False, id="page-up"),
        Binding(keys_for("page-down"), "page_down", "Page down", show=False, id="page-down"),
    ]


class OnOff(Checkbox):
    """A one-line switch that reads as what it is: ``✓ on`` or a blank box and ``off``."""

    @property
    def _button(self) -> Any:
        self.BUTTON_INNER = "✓" if self.value else " "
        return super()._button


class SettingRow(Vertical):
    """One setting: its label, its editor, and a line for what happened (refused, saved, overridden)."""

    DEFAULT_CSS = """
    SettingRow { height: auto; }
    SettingRow > Horizontal { height: auto; }
    SettingRow .setting-label { width: 21; padding: 0 1 0 0; color: $text-muted; }
    SettingRow Input { width: 1fr; }
    SettingRow .secret-status { width: 18; padding: 0 1 0 0; }
    SettingRow .secret-status.-keyring { color: $success; }
    SettingRow .secret-status.-env { color: $accent; }
    SettingRow .secret-status.-unset { color: $text-muted; }
    SettingRow .setting-msg { padding: 0 0 0 21; height: auto; display: none; }
    SettingRow .setting-msg.-shown { display: block; }
    SettingRow .setting-msg.-error { color: $error; }
    SettingRow .setting-msg.-ok { color: $success; }
    SettingRow .setting-msg.-note { color: $text-muted; }
    SettingRow Button.remove-secret { min-width: 8; margin: 0 0 0 1; }
    """

    def __init__(self, field: Field, settings: Any) -> None:
        super().__init__(id=f"row-{widget_id(field.key)}", classes="setting-row")
        self.field = field
        self.settings = settings

    def compose(self) -> ComposeResult:
        field, settings = self.field, self.settings
        with Horizontal():
            yield Label(field.label, classes="setting-label")
            if field.kind == "bool":
                value = bool(settings.get(field.key))
                yield OnOff(display(value), value, id=widget_id(field.key), compact=True)
            elif field.kind == "secret":
                text, kind = secret_status(settings, field.key)
                yield Static(text, classes=f"secret-status -{kind}", id=f"status-{widget_id(field.key)}")
                yield Input(
                    placeholder="a new value; enter stores it in the keyring",
                    password=True,
                    id=widget_id(field.key),
                    compact=True,
                )
                remove = Button(
                    "Remove", id=f"remove-{widget_id(field.key)}", classes="remove-secret", compact=True
                )
                remove.display = kind == "keyring"
                yield remove
            else:
                yield Input(
                    display(settings.get(field.key)),
                    placeholder=field.placeholder,
                    id=widget_id(field.key),
                    compact=True,
                )
        yield Static(id=f"msg-{widget_id(field.key)}", classes="setting-msg")

    def on_mount(self) -> None:
        note = env_note(self.settings, self.field.key)
        if note:
            self.say(note, "note")

    def say(self, text: str, kind: str = "note") -> None:
        msg = self.query_one(".setting-msg", Static)
        msg.update(Text(printable(text), end=""))
        msg.set_class(bool(text), "-shown")
        for name in ("error", "ok", "note"):
            msg.set_class(name == kind, f"-{name}")

    @property
    def message(self) -> str:
        return str(self.query_one(".setting-msg", Static).render()) if self.has_message else ""

    @property
    def has_message(self) -> bool:
        return self.query_one(".setting-msg", Static).has_class("-shown")


class SettingsScreen(Screen[None]):
    """See the module docstring."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding(keys_for("back"), "back", "Back", id="back", key_display="esc"),
        Binding(keys_for("settings-next"), "app.focus_next", "Next", id="settings-next", show=False),
        Binding(keys_for("settings-prev"), "app.focus_previous", "Previous", id="settings-prev", show=False),
        Binding(
            keys_for("test-connections"), "test_all", "Test all", id="test-connections", key_display="^t"
        ),
    ]

    DEFAULT_CSS = """
    SettingsScreen #settings-body { height: 1fr; padding: 0 1; }
    SettingsScreen .section-title { margin: 1 0 0 0; text-style: bold; color: $accent; }
    SettingsScreen .section-title.-first { margin: 0; }
    SettingsScreen .section-note { color: $text-muted; padding: 0 0 0 2; }
    SettingsScreen .test-line { height: auto; margin: 0 0 0 21; }
    SettingsScreen .test-line Button { min-width: 20; }
    SettingsScreen .test-result { width: 1fr; padding: 0 1; height: auto; }
    SettingsScreen #subject-preview { padding: 0 0 0 21; height: auto; color: $text; }
    SettingsScreen #profile-note { color: $text-muted; }
    SettingsScreen Input.-refused { background: $error 20%; }
    """

    def __init__(self) -> None:
        super().__init__(id="settings")

    @property
    def sia(self) -> SiaApp:
        return self.app  # type: ignore[return-value]

    # ------------------------------------------------------------------------------------------------ layout

    def compose(self) -> ComposeResult:
        settings = self.sia.settings
        yield StatusHeader(id="status")
        with SettingsBody(id="settings-body"):
            yield Static(self._profile_note(), id="profile-note")
            for index, section in enumerate(SECTIONS):
                yield from self._section(section, settings, first=index == 0)
            yield Static("Marketo activity types", classes="section-title")
            yield Static(
                "sia-tui logs emails and calls to Marketo as two custom activity types; create and approve them "
                "once per Marketo instance (safe to run again).",
                classes="section-note",
            )
            with Horizontal(classes="test-line"):
                yield Button("Provision types", id="provision", compact=True)
                yield Static(id="result-provision", classes="test-result")
        yield Footer()

    def _profile_note(self) -> Text:
        settings = self.sia.settings
        text = Text(f"Profile {printable(settings.profile)}", style="bold", end="")
        if settings.uses_sandbox:
            text.append(" · built-in sandbox until a Marketo URL is set", style="not bold")
        text.append(" · enter saves", style="not bold dim")
        return text

    def _section(self, section: Section, settings: Any, *, first: bool) -> ComposeResult:
        yield Static(
            section.title, classes="section-title" + (" -first" if first else ""), id=f"sec-{section.id}"
        )
        if section.note:
            yield Static(Text(section.note, end=""), classes="section-note")
        for field in section.fields:
            yield SettingRow(field, settings)
            if field.key == "salesforce.subject_template":
                yield Static(id="subject-preview")
        if section.test:
            with Horizontal(classes="test-line"):
                yield Button(
                    f"Test {CONNECTION_LABELS[section.test]}", id=f"test-{section.test}", compact=True
                )
                yield Static(id=f"result-{section.test}", classes="test-result")

    def on_mount(self) -> None:
        self.sia.attach_header(self.query_one(StatusHeader))
        self._update_preview(str(self.sia.settings.get("salesforce.subject_template")))
        self.query_one(f"#{widget_id('marketo.base_url')}", Input).focus()

    # ------------------------------------------------------------------------------------------------ values

    def row(self, key: str) -> SettingRow:
        return self.query_one(f"#row-{widget_id(key)}", SettingRow)

    def editor(self, key: str) -> Widget:
        return self.query_one(f"#{widget_id(key)}")

    @staticmethod
    def _key_of(widget: Widget | None) -> str | None:
        row = next((a for a in (widget.ancestors if widget else []) if isinstance(a, SettingRow)), None)
        return row.field.key if isinstance(row, SettingRow) else None

    @on(Input.Changed)
    def _typed(self, event: Input.Changed) -> None:
        key = self._key_of(event.input)
        if key is None or FIELDS[key].kind == "secret":
            return
        if key == "salesforce.subject_template":
            self._update_preview(event.value)
        try:
            parse_value(key, event.value)
        except SettingError as exc:
            event.input.add_class("-refused")
            self.row(key).say(f"✗ {exc}", "error")
            return
        if event.input.has_class("-refused"):
            event.input.remove_class("-refused")
            self.row(key).say(env_note(self.sia.settings, key), "note")

    @on(Input.Submitted)
    def _submitted(self, event: Input.Submitted) -> None:
        key = self._key_of(event.input)
        if key is None:
            return
        event.stop()
        if FIELDS[key].kind == "secret":
            self.store_secret(key, event.value)
        else:
            self.commit(key, event.value)

    @on(Input.Blurred)
    def _left(self, event: Input.Blurred) -> None:
        key = self._key_of(event.input)
        if key is None or FIELDS[key].kind == "secret" or not self.is_attached:
            return
        if event.value != display(self.sia.settings.get(key)):
            self.commit(key, event.value)

    @on(Checkbox.Changed)
    def _toggled(self, event: Checkbox.Changed) -> None:
        key = self._key_of(event.checkbox)
        if key is None:
            return
        event.checkbox.label = display(event.value)
        if event.value != bool(self.sia.settings.get(key)):
            self.commit(key, event.value)

    def commit(self, key: str, raw: Any) -> bool:
        """Validate and save one setting; on refusal say why and keep the stored value."""
        settings = self.sia.settings
        old = settings.get(key)
        row = self.row(key)
        editor = self.editor(key)
        try:
            self.sia.save_setting(key, raw)
        except (SettingError, OSError) as exc:
            why = f"Could not write the settings file: {exc}" if isinstance(exc, OSError) else str(exc)
            row.say(f"✗ {why} — not saved; the setting stays {display(old) or '(empty)'}.", "error")
            if isinstance(editor, Checkbox):
                with editor.prevent(Checkbox.Changed):
                    editor.value = bool(old)
                editor.label = display(bool(old))
            return False
        new = self.sia.settings.get(key)
        if isinstance(editor, Input):
            editor.remove_class("-refused")
            if editor.value != display(new):
                with editor.prevent(Input.Changed):
                    editor.value = display(new)
        note = env_note(self.sia.settings, key)
        shown = "" if FIELDS[key].kind == "bool" else f": {display(new) or '(empty)'}"
        row.say(f"✓ saved{shown}" + (f" — {note}" if note else ""), "ok")
        if key == "salesforce.subject_template":
            self._update_preview(str(new))
        if key in ("marketo.base_url",):
            self.query_one("#profile-note", Static).update(self._profile_note())
        return True

    def store_secret(self, key: str, value: str) -> None:
        from sia_tui.secrets import SecretStoreError, set_secret

        editor = self.editor(key)
        assert isinstance(editor, Input)
        with editor.prevent(Input.Changed):
            editor.value = ""  # a secret never stays on screen, stored or not
        row = self.row(key)
        try:
            cleaned = str(parse_value(key, value))
            if not cleaned:
                row.say("✗ The value is empty; nothing was stored.", "error")
                return
            set_secret(self.sia.settings.profile, key, cleaned)
        except (SecretStoreError, SettingError) as exc:
            row.say(f"✗ {exc}", "error")
            return
        self.sia.settings_changed(also={key})
        self._refresh_secret(key)
        note = (
            "" if SPECS[key].env_var not in self.sia.settings.env else f" ({SPECS[key].env_var} still wins)"
        )
        row.say(f"✓ stored in the OS keyring{note}", "ok")

    def remove_secret(self, key: str) -> None:
        from sia_tui.secrets import delete_secret

        delete_secret(self.sia.settings.profile, key)
        self.sia.settings_changed(also={key})
        self._refresh_secret(key)
        self.row(key).say("Removed from the OS keyring.", "note")

    def _refresh_secret(self, key: str) -> None:
        text, kind = secret_status(self.sia.settings, key)
        status = self.query_one(f"#status-{widget_id(key)}", Static)
        status.update(text)
        for name in ("env", "keyring", "unset"):
            status.set_class(name == kind, f"-{name}")
        self.query_one(f"#remove-{widget_id(key)}", Button).display = kind == "keyring"

    def _update_preview(self, template: str) -> None:
        preview = subject_preview(template, self.sia.settings)
        text = Text("Preview  email → ", style="dim", end="")
        text.append(printable(preview.email), style="bold")
        text.append("\n          call → ", style="dim")
        text.append(printable(preview.call), style="bold")
        for problem in preview.problems:
            text.append("\n⚠ " + printable(problem), style="yellow")
        self.query_one("#subject-preview", Static).update(text)

    # ----------------------------------------------------------------------------------------------- actions

    @on(Button.Pressed)
    def _pressed(self, event: Button.Pressed) -> None:
        button = event.button.id or ""
        if button.startswith("test-"):
            self.run_test(button.removeprefix("test-"))
        elif button == "provision":
            self.action_provision()
        elif button.startswith("remove-"):
            key = self._key_of(event.button)
            if key:
                self.remove_secret(key)

    def run_test(self, connection: str) -> None:
        self.query_one(f"#result-{connection}", Static).update(Text("testing…", style="italic"))
        self.run_worker(
            self._test(connection),
            group=f"test-{connection}",
            exclusive=True,
            exit_on_error=False,
            description=f"Testing {CONNECTION_LABELS[connection]}",
        )

    def action_test_all(self) -> None:
        for connection in CONNECTION_LABELS:
            self.run_test(connection)

    async def _test(self, connection: str) -> None:
        from sia_tui import connection_checks as cc
        from sia_tui.grid.reach import tcp_reachable

        settings = self.sia.settings
        lines: list[tuple[bool, str]]
        try:
            endpoints = await asyncio.to_thread(self.sia.backend.resolve_endpoints)
            url = {"marketo": endpoints.marketo_url, "salesforce": endpoints.salesforce_url}.get(connection)
            if url and not await tcp_reachable(url, REACH_TIMEOUT_S):
                lines = [(False, f"connect: nothing answers at {url} (check the URL and the network).")]
            elif connection == "marketo":
                lines = check_lines(
                    await asyncio.wait_for(cc.check_marketo(settings, endpoints), TEST_TIMEOUT_S)
                )
            elif connection == "salesforce":
                lines = check_lines(
                    await asyncio.wait_for(cc.check_salesforce(settings, endpoints), TEST_TIMEOUT_S)
                )
            elif connection == "imap":
                lines = check_lines(
                    await asyncio.wait_for(cc.check_imap(endpoints, settings), TEST_TIMEOUT_S)
                )
            else:
                lines = check_lines(await asyncio.wait_for(cc.check_smtp(endpoints), TEST_TIMEOUT_S))
        except TimeoutError:
            lines = [
                (
                    False,
                    f"no complete answer within {TEST_TIMEOUT_S:.0f} s; the service is slow or unreachable.",
                )
            ]
        except Exception as exc:
            from sia_tui.tui.screens.person import describe_error

            lines = [(False, describe_error(exc))]
        self.post_message(ChecksDone(connection, lines))

    def action_provision(self) -> None:
        self.query_one("#result-provision", Static).update(Text("provisioning…", style="italic"))
        self._provision()

    @work(exclusive=True, group="provision", exit_on_error=False, description="Provisioning activity types")
    async def _provision(self) -> None:
        from sia_tui import budget
        from sia_tui.connections import marketo_client
        from sia_tui.outbox.activity_types import provision
        from sia_tui.tui.screens.person import describe_error

        lines: list[tuple[bool, str]] = []
        try:
            endpoints = await asyncio.to_thread(self.sia.backend.resolve_endpoints)
            with budget.purpose("check"):  # the admin is waiting for the answer
                async with marketo_client(self.sia.settings, endpoints) as marketo:
                    types = await asyncio.wait_for(provision(marketo), TEST_TIMEOUT_S)
            for kind, found in types.items():
                lines.append(
                    (
                        str(found.status or "").lower() != "draft",
                        f"{kind}: {found.api_name} (id {found.id}, {found.status or 'unknown status'})",
                    )
                )
        except TimeoutError:
            lines = [(False, f"Marketo did not finish within {TEST_TIMEOUT_S:.0f} s; try again.")]
        except Exception as exc:
            lines = [(False, describe_error(exc))]
        self.post_message(ChecksDone("provision", lines))

    @on(ChecksDone)
    def _checks_done(self, message: ChecksDone) -> None:
        self.query_one(f"#result-{message.target}", Static).update(result_text(message.lines))

    def action_back(self) -> None:
        pending = [
            key
            for key, field in FIELDS.items()
            if field.kind not in ("secret", "bool") and self.editor(key).has_class("-refused")
        ]
        if pending:
            self.notify(
                "Not saved (refused): " + ", ".join(pending) + ". The stored values stay.",
                severity="warning",
                timeout=5,
            )
        self.app.pop_screen()

    def focus_section(self, section_id: str) -> None:
        section = next(s for s in SECTIONS if s.id == section_id)
        self.editor(section.fields[0].key).focus()
        self.query_one(f"#sec-{section_id}").scroll_visible(top=True)

    # ----------------------------------------------------------------------------------------------- palette

    def palette_commands(self) -> Iterable[SystemCommand]:
        for connection, label in CONNECTION_LABELS.items():
            yield SystemCommand(
                f"Test {label}", f"Check the {label} connection now", _bind(self.run_test, connection)
            )
        yield SystemCommand(
            "Test all connections", "Marketo, Salesforce, SMTP and IMAP (ctrl+t)", self.action_test_all
        )
        yield SystemCommand(
            "Provision Marketo activity types",
            "Create and approve the custom activity types sia-tui logs to",
            self.action_provision,
        )
        for section in SECTIONS:
            yield SystemCommand(
                f"Go to {section.title}", "Settings section", _bind(self.focus_section, section.id)
            )
        yield SystemCommand("Back", "Leave the settings (esc)", self.action_back)


def _bind(fn: Any, arg: str) -> Any:
    return lambda: fn(arg)
