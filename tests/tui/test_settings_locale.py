"""The language setting on the settings screen (issue 17): ``ui.locale`` is a choice of English / 繁體中文 / 日本語,
saved like every setting and applied without a restart — the settings screen redraws in the new language and the
screens under it (the people list) speak it when the seller goes back."""

from __future__ import annotations

import pytest
from textual.widgets import Label, Select

from sia_tui.config import load_settings
from sia_tui.i18n import current_locale, set_locale
from sia_tui.tui.i18n_runtime import localize_bindings
from sia_tui.tui.screens.people import PeopleScreen
from sia_tui.tui.screens.settings import SettingsScreen
from sia_tui.tui.settings_model import widget_id
from tests.tui.conftest import settle


@pytest.fixture(autouse=True)
def _english_afterwards():
    """A switch rewrites every widget class's bindings: put them back in English for the tests that follow."""
    yield
    set_locale("en")
    localize_bindings()


def descriptions(app) -> dict[str, str]:
    return {key: active.binding.description for key, active in app.screen.active_bindings.items()}


async def choose_language(pilot, screen: SettingsScreen, value: object) -> None:
    """Open the language list and pick the option of ``value`` with the keyboard, as a seller would."""
    select = screen.editor("ui.locale")
    assert isinstance(select, Select)
    select.focus()
    await pilot.press("enter")
    await settle(pilot)
    values = [v for _prompt, v in select._options]
    await pilot.press("home")  # the list opens on the current choice
    for _ in range(values.index(value)):
        await pilot.press("down")
    await pilot.press("enter")
    await settle(pilot)


async def test_choosing_japanese_on_the_settings_screen_switches_the_app_without_a_restart(
    people_cache, make_app
):
    people_cache(5)
    app = make_app()
    async with app.run_test(size=(120, 40)) as pilot:
        await settle(pilot)
        assert descriptions(app)["q"] == "Quit"
        await pilot.press("comma")
        await settle(pilot)
        screen = app.screen
        assert isinstance(screen, SettingsScreen)
        assert str(screen.query_one("#sec-ui").render()) == "Language"

        await choose_language(pilot, screen, "ja")

        assert load_settings("sandbox").get("ui.locale") == "ja"  # saved like any setting
        assert current_locale() == "ja"
        assert app.screen is screen
        # The settings screen is drawn again in Japanese, and says the choice was saved.
        assert str(screen.query_one("#sec-ui").render()) == "言語"
        labels = {str(label.render()) for label in screen.query(Label)}
        assert {"クライアント ID", "言語"} <= labels
        assert screen.row("ui.locale").message == "✓ 保存しました: 日本語"
        assert screen.focused is screen.editor("ui.locale")  # the seller stays where they were
        assert descriptions(app)["escape"] == "戻る"

        await pilot.press("escape")
        await settle(pilot)
        assert isinstance(app.screen, PeopleScreen)
        shown = descriptions(app)
        assert shown["q"] == "終了" and shown["C"] == "今日"  # the people screen's keys, in Japanese

        # Back to the environment's language (empty: LANG, here unset = English).
        await pilot.press("comma")
        await settle(pilot)
        await choose_language(pilot, app.screen, Select.NULL)
        assert load_settings("sandbox").get("ui.locale") == ""
        assert current_locale() == "en"
        assert str(app.screen.query_one("#sec-ui").render()) == "Language"
        assert app.screen.query_one(f"#{widget_id('ui.locale')}", Select).value is Select.NULL
