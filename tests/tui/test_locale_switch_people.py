"""A language switch while the app runs reaches the people list and the person screen at once, and keeps what the
seller typed; screens pushed after the start (imported on first use) show their keys in the language too."""

from __future__ import annotations

import pytest
from textual.widgets import Input, Static, TabbedContent

from sia_tui.i18n import set_locale
from sia_tui.tui.i18n_runtime import apply_locale, localize_bindings
from sia_tui.tui.screens.people import PeopleScreen
from tests.tui.conftest import settle

JAPANESE_UNSUBSCRIBED = 1006


@pytest.fixture(autouse=True)
def _english_afterwards():
    yield
    set_locale("en")
    localize_bindings()


def footer_words(app) -> set[str]:
    return {
        active.binding.description for active in app.screen.active_bindings.values() if active.binding.show
    }


async def test_switching_keeps_the_search_and_redraws_the_words(people_cache, make_app):
    people_cache()
    app = make_app()
    async with app.run_test(size=(120, 40)) as pilot:
        await settle(pilot)
        screen = app.screen
        assert isinstance(screen, PeopleScreen)
        await pilot.press("slash", *"Brown")
        await settle(pilot)
        apply_locale(app, "ja")
        await settle(pilot)
        search = screen.query_one("#search", Input)
        assert search.value == "Brown"  # what was typed stays
        assert search.placeholder.startswith("名前、メール")
        bar = str(screen.query_one("#filter-bar", Static).render())
        assert "件一致" in bar and "並べ替え: 関連度" in bar
        assert {"検索", "終了", "同期"} <= footer_words(app)  # the search box has the focus


async def test_a_person_opened_after_a_switch_and_switched_again(people_cache, make_app):
    people_cache()
    app = make_app()
    async with app.run_test(size=(120, 40)) as pilot:
        await settle(pilot)
        apply_locale(app, "zh-TW")
        await settle(pilot)
        app.open_person(app.backend.person(JAPANESE_UNSUBSCRIBED))  # PersonScreen is imported only now
        await settle(pilot)
        assert {"返回", "記錄通話", "重新整理"} <= footer_words(app)
        tabs = app.screen.query_one(TabbedContent)
        assert str(tabs.get_tab("tab-overview").label) == "概覽"
        apply_locale(app, "ja")
        await settle(pilot)
        assert str(tabs.get_tab("tab-overview").label) == "概要"
        assert {"戻る", "通話を記録", "更新"} <= footer_words(app)
