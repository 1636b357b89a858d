"""The settings screen: edit and save, refused values keep the old one, secrets never shown, keyring missing,
the Test action against the sandbox, the live Task-subject preview, and changes applied without a restart."""

from __future__ import annotations

import keyring
from keyring.backends import fail
from textual.widgets import Input

from sia_sandbox import config as sb
from sia_tui.config import load_settings
from sia_tui.tui.screens.settings import SettingsScreen
from sia_tui.tui.settings_model import widget_id
from tests.support.memory_keyring import MemoryKeyring
from tests.tui.conftest import settle


async def open_settings(pilot) -> SettingsScreen:
    await settle(pilot)
    await pilot.press("comma")
    await settle(pilot)
    screen = pilot.app.screen
    assert isinstance(screen, SettingsScreen)
    return screen


async def type_into(pilot, screen: SettingsScreen, key: str, text: str, *, submit: bool = True) -> Input:
    """Focus a setting's input, clear it, enter ``text`` and (by default) press enter.

    Short texts are typed key by key; long ones arrive at once, as a paste does (typing 150 keys into a screen
    this size only makes the test slow)."""
    field = screen.editor(key)
    assert isinstance(field, Input)
    field.focus()
    await pilot.press("end", *["backspace"] * min(len(field.value), 3))
    field.value = ""
    if len(text) <= 12:
        await pilot.press(*text)
    else:
        field.insert_text_at_cursor(text)
    if submit:
        await pilot.press("enter")
    await settle(pilot)
    return field


def message(screen: SettingsScreen, key: str) -> str:
    return screen.row(key).message


def stored(key: str):
    return load_settings("sandbox").get(key)


def screen_text(app) -> str:
    return app.export_screenshot()


async def test_edit_a_value_and_toggle_a_switch(people_cache, make_app):
    people_cache(5)
    app = make_app()
    async with app.run_test(size=(120, 40)) as pilot:
        screen = await open_settings(pilot)
        await type_into(pilot, screen, "seller.name", "山田 太郎")
        assert stored("seller.name") == "山田 太郎"
        assert app.settings.get("seller.name") == "山田 太郎"  # applied at once, no restart
        assert "saved" in message(screen, "seller.name")

        screen.editor("salesforce.log_calls").focus()
        await pilot.press("space")
        await settle(pilot)
        assert stored("salesforce.log_calls") is False
        assert app.settings.get("salesforce.log_calls") is False

        # Leaving a field saves it too.
        await type_into(pilot, screen, "seller.title", "Account Executive", submit=False)
        await pilot.press("down")
        await settle(pilot)
        assert stored("seller.title") == "Account Executive"


async def test_bad_values_are_refused_with_the_reason_and_the_old_value_kept(people_cache, make_app):
    people_cache(5)
    app = make_app()
    async with app.run_test(size=(120, 40)) as pilot:
        screen = await open_settings(pilot)

        field = await type_into(pilot, screen, "sync.interval_s", "5")
        text = message(screen, "sync.interval_s")
        assert "must be at least 10" in text and "not saved" in text and "stays 60" in text
        assert field.has_class("-refused")
        assert stored("sync.interval_s") == 60

        sixteen = ", ".join(f"Outcome {i}" for i in range(16))
        await type_into(pilot, screen, "calls.outcomes", sixteen)
        assert "at most 15 values" in message(screen, "calls.outcomes")
        assert stored("calls.outcomes") == app.settings.get("calls.outcomes") != sixteen.split(", ")

        await type_into(pilot, screen, "marketo.base_url", "not a url", submit=False)
        assert "expected an http(s) URL" in message(screen, "marketo.base_url")  # said while typing
        await pilot.press("enter")
        await settle(pilot)
        assert stored("marketo.base_url") == ""
        assert app.settings.uses_sandbox

        # Fixing it clears the message and saves.
        await type_into(pilot, screen, "sync.interval_s", "300")
        assert stored("sync.interval_s") == 300 and not field.has_class("-refused")
        assert "saved" in message(screen, "sync.interval_s")

        # Leaving with a refused value says it was not saved.
        await type_into(pilot, screen, "seller.email", "not-an-email")
        await pilot.press("escape")
        await settle(pilot)
        assert not isinstance(app.screen, SettingsScreen)
        assert stored("seller.email") == ""


async def test_a_secret_goes_to_the_keyring_and_is_never_shown(people_cache, make_app):
    people_cache(5)
    secret = "s3cr3t-Value-Never-Shown"
    app = make_app()
    async with app.run_test(size=(120, 40)) as pilot:
        screen = await open_settings(pilot)
        status = screen.query_one(f"#status-{widget_id('marketo.client_secret')}")
        assert "not set" in str(status.render())
        field = screen.editor("marketo.client_secret")
        assert isinstance(field, Input) and field.password
        field.focus()
        await pilot.press(*secret)
        await settle(pilot)
        assert secret not in screen_text(app)  # typed: shown as bullets
        await pilot.press("enter")
        await settle(pilot)
        assert MemoryKeyring._store[("sia-tui/sandbox", "marketo.client_secret")] == secret
        assert field.value == ""
        assert "set in keyring" in str(status.render())
        assert "stored in the OS keyring" in message(screen, "marketo.client_secret")
        assert secret not in screen_text(app)
        assert app.settings.get("marketo.client_secret") == secret  # the app uses it without a restart

        # Remove takes it out of the keyring again.
        remove = screen.query_one(f"#remove-{widget_id('marketo.client_secret')}")
        assert remove.display
        remove.focus()
        await pilot.press("enter")
        await settle(pilot)
        assert ("sia-tui/sandbox", "marketo.client_secret") not in MemoryKeyring._store
        assert "not set" in str(status.render())


async def test_no_keyring_backend_gives_the_hint_not_a_crash(people_cache, make_app):
    people_cache(5)
    keyring.set_keyring(fail.Keyring())
    app = make_app()
    async with app.run_test(size=(120, 40)) as pilot:
        screen = await open_settings(pilot)
        assert "SIA_SMTP_PASSWORD" in message(screen, "smtp.password")  # says so before anything is typed
        field = screen.editor("smtp.password")
        field.focus()
        await pilot.press(*"hunter22", "enter")
        await settle(pilot)
        text = message(screen, "smtp.password")
        assert "No OS keyring" in text and "SIA_SMTP_PASSWORD" in text
        assert "hunter22" not in screen_text(app)
        assert isinstance(app.screen, SettingsScreen)


async def test_test_action_against_the_sandbox(people_cache, make_app, sandbox):
    people_cache(5)
    app = make_app()
    async with app.run_test(size=(120, 40)) as pilot:
        screen = await open_settings(pilot)
        # Not configured yet (the profile leaves the built-in sandbox once a Marketo URL is set).
        await type_into(pilot, screen, "marketo.base_url", sandbox.base_url)
        assert not app.settings.uses_sandbox
        await type_into(pilot, screen, "marketo.client_id", sb.MARKETO_CLIENT_ID)
        screen.editor("marketo.client_secret").focus()
        await pilot.press(*"wrong-secret", "enter")
        await settle(pilot)
        screen.query_one("#test-marketo").focus()
        await pilot.press("enter")
        await settle(pilot)
        result = str(screen.query_one("#result-marketo").render())
        assert result.startswith("✗ token")

        screen.editor("marketo.client_secret").focus()
        await pilot.press(*sb.MARKETO_CLIENT_SECRET, "enter")
        await settle(pilot)
        screen.query_one("#test-marketo").focus()
        await pilot.press("enter")
        await settle(pilot)
        result = str(screen.query_one("#result-marketo").render())
        assert "✓ token: Marketo issued an access token" in result
        assert "✓ read_leads" in result

        # Salesforce and SMTP are not configured on this profile: the result names what is missing.
        await pilot.press("ctrl+t")
        await settle(pilot)
        salesforce = str(screen.query_one("#result-salesforce").render())
        assert "✗" in salesforce and "salesforce.instance_url" in salesforce
        assert "smtp.host is not set" in str(screen.query_one("#result-smtp").render())

        # Provisioning the activity types runs in a worker and says what Marketo has now.
        screen.query_one("#provision").focus()
        await pilot.press("enter")
        await settle(pilot)
        provisioned = str(screen.query_one("#result-provision").render())
        assert "siaSendSalesEmail" in provisioned and "siaReceivedSalesCall" in provisioned
        assert "✗" not in provisioned


async def test_subject_template_preview_is_live(people_cache, make_app):
    people_cache(5)
    app = make_app()
    async with app.run_test(size=(120, 40)) as pilot:
        screen = await open_settings(pilot)
        preview = screen.query_one("#subject-preview")
        assert "Email: Quick question for Acme" in str(preview.render())
        assert "Call: Connected / Prospecting" in str(preview.render())

        await type_into(pilot, screen, "salesforce.subject_template", "[SIA] {{call_outcome}}", submit=False)
        text = str(preview.render())
        assert "email → [SIA]" in text and "call → [SIA] Connected" in text
        assert (
            stored("salesforce.subject_template") == "{{activity_type}}: {{activity_subject}}"
        )  # not saved yet

        await pilot.press(*" {{nope}}")
        await settle(pilot)
        assert "unknown field {{nope}}" in str(preview.render())

        await type_into(
            pilot, screen, "salesforce.subject_template", "{{activity_type}} - {{activity_subject}}"
        )
        assert stored("salesforce.subject_template") == "{{activity_type}} - {{activity_subject}}"
        assert "email → Email - Quick question for Acme" in str(preview.render())


async def test_switching_task_sync_on_here_records_the_cut_off_like_the_command_line(people_cache, make_app):
    """Issue 12 item 14: the settings screen and `settings set` share save_setting, which records the moment."""
    from sia_tui.store.state import get_state
    from sia_tui.tasks.sync import ENABLED_AT_KEY

    people_cache(5)
    app = make_app()
    async with app.run_test(size=(120, 40)) as pilot:
        screen = await open_settings(pilot)
        assert get_state(app.backend.db, ENABLED_AT_KEY) is None
        screen.editor("salesforce.sync_tasks").focus()
        await pilot.press("space")
        await settle(pilot)
        assert stored("salesforce.sync_tasks") is True
        assert get_state(app.backend.db, ENABLED_AT_KEY) is not None


async def test_a_seller_name_with_a_line_break_is_refused_here_too(people_cache, make_app):
    people_cache(5)
    app = make_app()
    async with app.run_test(size=(120, 40)) as pilot:
        screen = await open_settings(pilot)
        await type_into(pilot, screen, "seller.name", "Sam Seller")
        field = screen.editor("seller.name")
        field.value = "Sam\x1b]0;owned\x07"
        await pilot.press("enter")
        await settle(pilot)
        assert stored("seller.name") == "Sam Seller"
        assert "control characters" in message(screen, "seller.name")
