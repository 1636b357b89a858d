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

from rich.cells import cell_len
from rich.text import Text
from textual import on, work
from textual.app import ComposeResult, SystemCommand
from textual.binding import Binding, BindingType
from textual.containers import Horizontal, Vertical, VerticalScroll
from textual.message import Message
from textual.screen import Screen
from textual.widget import Widget
from textual.widgets import Button, Checkbox, Footer, Input, Label, Select, Static

from sia_tui.config import SPECS, SettingError, parse_value
from sia_tui.i18n import N_, _
from sia_tui.textsafe import printable
from sia_tui.tui.keys import keys_for
from sia_tui.tui.settings_model import (
    FIELDS,
    SECTIONS,
    Field,
    Section,
    choices,
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


#: The label column's width in cells (with one of padding): 21, or wider when a translated label needs it.
LABEL_WIDTH = 21


def label_width() -> int:
    """The label column's width in the current language, so no label is cut mid-word (クライアントシークレット)."""
    return max(LABEL_WIDTH, *(cell_len(_(field.label)) + 1 for field in FIELDS.values()))


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
        Binding(keys_for("page-up"), "page_up", N_("Page up"), show=False, id="page-up"),
        Binding(keys_for("page-down"), "page_down", N_("Page down"), show=False, id="page-down"),
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
    SettingRow Select { width: 1fr; }
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
            yield Label(_(field.label), classes="setting-label")
            if field.kind == "choice":
                current = str(settings.get(field.key) or "")
                options = choices(field.key)
                yield Select(
                    options,
                    value=current if current in {v for _shown, v in options} else Select.NULL,
                    prompt=_(field.placeholder) if field.placeholder else "",
                    id=widget_id(field.key),
                    compact=True,
                )
            elif field.kind == "bool":
                value = bool(settings.get(field.key))
                yield OnOff(display(value), value, id=widget_id(field.key), compact=True)
            elif field.kind == "secret":
                text, kind = secret_status(settings, field.key)
                yield Static(text, classes=f"secret-status -{kind}", id=f"status-{widget_id(field.key)}")
                yield Input(
                    placeholder=_("a new value; enter stores it in the keyring"),
                    password=True,
                    id=widget_id(field.key),
                    compact=True,
                )
                remove = Button(
                    _("Remove"), id=f"remove-{widget_id(field.key)}", classes="remove-secret", compact=True
                )
                remove.display = kind == "keyring"
                yield remove
            else:
                yield Input(
                    display(settings.get(field.key)),
                    placeholder=_(field.placeholder) if field.placeholder else "",
                    id=widget_id(field.key),
                    compact=True,
                )
        yield Static(id=f"msg-{widget_id(field.key)}", classes="setting-msg")

    def on_mount(self) -> None:
        width = label_width()
        if width != LABEL_WIDTH:
            self.query_one(".setting-label").styles.width = width
            self.query_one(".setting-msg").styles.padding = (0, 0, 0, width)
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

    #: A language switch recomposes the screen: every label, note and button is composed in the new language.
    RECOMPOSE_ON_LOCALE = True

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding(keys_for("back"), "back", N_("Back"), id="back", key_display="esc"),
        Binding(keys_for("settings-next"), "app.focus_next", N_("Next"), id="settings-next", show=False),
        Binding(
            keys_for("settings-prev"), "app.focus_previous", N_("Previous"), id="settings-prev", show=False
        ),
        Binding(
            keys_for("test-connections"), "test_all", N_("Test all"), id="test-connections", key_display="^t"
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
            yield Static(_("Marketo activity types"), classes="section-title")
            yield Static(
                _(
                    "sia-tui logs emails and calls to Marketo as two custom activity types; create and approve "
                    "them once per Marketo instance (safe to run again)."
                ),
                classes="section-note",
            )
            with Horizontal(classes="test-line"):
                yield Button(_("Provision types"), id="provision", compact=True)
                yield Static(id="result-provision", classes="test-result")
        yield Footer()

    def _profile_note(self) -> Text:
        settings = self.sia.settings
        text = Text(_("Profile {name}").format(name=printable(settings.profile)), style="bold", end="")
        if settings.uses_sandbox:
            text.append(" · " + _("built-in sandbox until a Marketo URL is set"), style="not bold")
        text.append(" · " + _("enter saves"), style="not bold dim")
        return text

    def _section(self, section: Section, settings: Any, *, first: bool) -> ComposeResult:
        yield Static(
            _(section.title), classes="section-title" + (" -first" if first else ""), id=f"sec-{section.id}"
        )
        if section.note:
            yield Static(Text(_(section.note), end=""), classes="section-note")
        for field in section.fields:
            yield SettingRow(field, settings)
            if field.key == "salesforce.subject_template":
                yield Static(id="subject-preview")
        if section.test:
            with Horizontal(classes="test-line"):
                yield Button(
                    _("Test {service}").format(service=CONNECTION_LABELS[section.test]),
                    id=f"test-{section.test}",
                    compact=True,
                )
                yield Static(id=f"result-{section.test}", classes="test-result")

    def on_mount(self) -> None:
        self._composed()
        self.query_one(f"#{widget_id('marketo.base_url')}", Input).focus()

    def _composed(self) -> None:
        width = label_width()
        if width != LABEL_WIDTH:
            for line in self.query(".test-line"):
                line.styles.margin = (0, 0, 0, width)
            self.query_one("#subject-preview").styles.padding = (0, 0, 0, width)
        self.sia.attach_header(self.query_one(StatusHeader))
        self._update_preview(str(self.sia.settings.get("salesforce.subject_template")))

    async def recompose(self) -> None:
        """After a language switch: the same screen in the new words, the focus and scroll where they were, and
        the language row saying it was saved (what was typed but not saved is lost, as on leaving the screen)."""
        focused = self.focused.id if self.focused is not None else None
        scroll_y = self.query_one("#settings-body").scroll_y if self.is_mounted else 0
        await super().recompose()
        if not self.is_attached:
            return
        self._composed()
        if focused:
            found = self.query(f"#{focused}")
            if found:
                found.first().focus(scroll_visible=False)
        body = self.query_one("#settings-body")
        body.call_after_refresh(body.scroll_to, y=scroll_y, animate=False)
        self._say_saved("ui.locale")

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

    @on(Select.Changed)
    def _chosen(self, event: Select.Changed) -> None:
        key = self._key_of(event.select)
        if key is None:
            return
        event.stop()
        value = event.value if isinstance(event.value, str) else ""
        if value != str(self.sia.settings.get(key) or ""):
            self.commit(key, value)

    def commit(self, key: str, raw: Any) -> bool:
        """Validate and save one setting; on refusal say why and keep the stored value."""
        settings = self.sia.settings
        old = settings.get(key)
        row = self.row(key)
        editor = self.editor(key)
        try:
            self.sia.save_setting(key, raw)
        except (SettingError, OSError) as exc:
            why = (
                _("Could not write the settings file: {error}").format(error=exc)
                if isinstance(exc, OSError)
                else str(exc)
            )
            row.say(
                _("✗ {problem} — not saved; the setting stays {value}.").format(
                    problem=why, value=display(old) or _("(empty)")
                ),
                "error",
            )
            if isinstance(editor, Checkbox):
                with editor.prevent(Checkbox.Changed):
                    editor.value = bool(old)
                editor.label = display(bool(old))
            if isinstance(editor, Select):
                with editor.prevent(Select.Changed):
                    editor.value = old if old in {v for _shown, v in choices(key)} else Select.NULL
            return False
        new = self.sia.settings.get(key)
        if isinstance(editor, Input):
            editor.remove_class("-refused")
            if editor.value != display(new):
                with editor.prevent(Input.Changed):
                    editor.value = display(new)
        note = env_note(self.sia.settings, key)
        self._say_saved(key, note)
        if key == "salesforce.subject_template":
            self._update_preview(str(new))
        if key in ("marketo.base_url",):
            self.query_one("#profile-note", Static).update(self._profile_note())
        return True

    def _say_saved(self, key: str, note: str = "") -> None:
        new = self.sia.settings.get(key)
        field = FIELDS[key]
        if field.kind == "bool":
            said = _("✓ saved")
        elif field.kind == "choice":
            shown = dict((v, s) for s, v in choices(key)).get(str(new or ""), "") or _(field.placeholder)
            said = _("✓ saved: {value}").format(value=shown)
        else:
            said = _("✓ saved: {value}").format(value=display(new) or _("(empty)"))
        self.row(key).say(said + (" — " + note if note else ""), "ok")

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
                row.say(_("✗ The value is empty; nothing was stored."), "error")
                return
            set_secret(self.sia.settings.profile, key, cleaned)
        except (SecretStoreError, SettingError) as exc:
            row.say(_("✗ {problem}").format(problem=exc), "error")
            return
        self.sia.settings_changed(also={key})
        self._refresh_secret(key)
        if SPECS[key].env_var in self.sia.settings.env:
            row.say(
                _("✓ stored in the OS keyring ({variable} still wins)").format(variable=SPECS[key].env_var),
                "ok",
            )
        else:
            row.say(_("✓ stored in the OS keyring"), "ok")

    def remove_secret(self, key: str) -> None:
        from sia_tui.secrets import delete_secret

        delete_secret(self.sia.settings.profile, key)
        self.sia.settings_changed(also={key})
        self._refresh_secret(key)
        self.row(key).say(_("Removed from the OS keyring."), "note")

    def _refresh_secret(self, key: str) -> None:
        text, kind = secret_status(self.sia.settings, key)
        status = self.query_one(f"#status-{widget_id(key)}", Static)
        status.update(text)
        for name in ("env", "keyring", "unset"):
            status.set_class(name == kind, f"-{name}")
        self.query_one(f"#remove-{widget_id(key)}", Button).display = kind == "keyring"

    def _update_preview(self, template: str) -> None:
        preview = subject_preview(template, self.sia.settings)
        # Translators: the two labels are padded to the same width in cells, so both arrows line up.
        email_label, call_label = _("Preview  email"), _("call")
        pad = max(cell_len(email_label), cell_len(call_label))
        text = Text(" " * (pad - cell_len(email_label)) + email_label + " → ", style="dim", end="")
        text.append(printable(preview.email), style="bold")
        text.append("\n" + " " * (pad - cell_len(call_label)) + call_label + " → ", style="dim")
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
        self.query_one(f"#result-{connection}", Static).update(Text(_("testing…"), style="italic"))
        self.run_worker(
            self._test(connection),
            group=f"test-{connection}",
            exclusive=True,
            exit_on_error=False,
            description=_("Testing {service}").format(service=CONNECTION_LABELS[connection]),
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
                lines = [
                    (
                        False,
                        _("connect: nothing answers at {url} (check the URL and the network).").format(
                            url=url
                        ),
                    )
                ]
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
                    _("no complete answer within {seconds} s; the service is slow or unreachable.").format(
                        seconds=f"{TEST_TIMEOUT_S:.0f}"
                    ),
                )
            ]
        except Exception as exc:
            from sia_tui.tui.screens.person import describe_error

            lines = [(False, describe_error(exc))]
        self.post_message(ChecksDone(connection, lines))

    def action_provision(self) -> None:
        self.query_one("#result-provision", Static).update(Text(_("provisioning…"), style="italic"))
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
                        _("{kind}: {api_name} (id {id}, {status})").format(
                            kind=kind,
                            api_name=found.api_name,
                            id=found.id,
                            status=found.status or _("unknown status"),
                        ),
                    )
                )
        except TimeoutError:
            lines = [
                (
                    False,
                    _("Marketo did not finish within {seconds} s; try again.").format(
                        seconds=f"{TEST_TIMEOUT_S:.0f}"
                    ),
                )
            ]
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
                _("Not saved (refused): {keys}. The stored values stay.").format(keys=", ".join(pending)),
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
                _("Test {service}").format(service=label),
                _("Check the {service} connection now").format(service=label),
                _bind(self.run_test, connection),
            )
        yield SystemCommand(
            _("Test all connections"), _("Marketo, Salesforce, SMTP and IMAP (ctrl+t)"), self.action_test_all
        )
        yield SystemCommand(
            _("Provision Marketo activity types"),
            _("Create and approve the custom activity types sia-tui logs to"),
            self.action_provision,
        )
        for section in SECTIONS:
            yield SystemCommand(
                _("Go to {section}").format(section=_(section.title)),
                _("Settings section"),
                _bind(self.focus_section, section.id),
            )
        yield SystemCommand(_("Back"), _("Leave the settings (esc)"), self.action_back)


def _bind(fn: Any, arg: str) -> Any:
    return lambda: fn(arg)
