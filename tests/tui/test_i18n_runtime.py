"""The TUI switches language while it runs (key descriptions, screens that opt in) and searches once per burst."""

from __future__ import annotations

import pytest
from textual import events
from textual.app import App, ComposeResult
from textual.binding import Binding
from textual.screen import Screen
from textual.widgets import Footer, Label

from sia_tui.i18n import N_, _, current_locale, set_locale
from sia_tui.tui.i18n_runtime import apply_locale, localize_bindings
from sia_tui.tui.screens.people import PeopleScreen
from sia_tui.tui.widgets.people_list import PeopleList
from tests.tui.conftest import settle


@pytest.fixture(autouse=True)
def _english_bindings_afterwards():
    """A switch rewrites every widget class's bindings: put them back in English for the tests that follow."""
    yield
    set_locale("en")
    localize_bindings()


class Words(Screen[None]):
    RECOMPOSE_ON_LOCALE = True
    BINDINGS = [
        Binding("t", "noop", N_("Tomorrow"), id="words-tomorrow"),
        Binding("o", "noop", N_("Overdue")),
    ]

    def compose(self) -> ComposeResult:
        yield Label(_("Today"), id="today")
        yield Footer()

    def action_noop(self) -> None:
        pass


class WordsApp(App[None]):
    def on_mount(self) -> None:
        self.push_screen(Words())


def descriptions(app: App[None]) -> dict[str, str]:
    return {key: active.binding.description for key, active in app.screen.active_bindings.items()}


async def test_key_descriptions_and_opted_in_screens_follow_a_language_switch():
    app = WordsApp()
    async with app.run_test(size=(80, 10)) as pilot:
        await pilot.pause()
        assert descriptions(app)["t"] == "Tomorrow"
        apply_locale(app, "ja")
        await pilot.pause()
        assert current_locale() == "ja"
        assert descriptions(app)["t"] == "明日" and descriptions(app)["o"] == "期限切れ"
        assert str(app.screen.query_one("#today", Label).render()) == "今日"  # recomposed
        apply_locale(app, "zh-TW")  # from one translation to another: the English source is kept
        await pilot.pause()
        assert descriptions(app)["t"] == "明天"
        app.push_screen(Words())  # a screen created after the switch starts in the new language
        await pilot.pause()
        assert descriptions(app)["o"] == "逾期"
        apply_locale(app, "en")
        await pilot.pause()
        assert descriptions(app)["t"] == "Tomorrow"


async def test_a_remapped_key_keeps_its_key_and_gets_the_words():
    app = WordsApp()
    async with app.run_test(size=(80, 10)) as pilot:
        await pilot.pause()
        app.set_keymap({"words-tomorrow": "m"})
        await pilot.pause()
        apply_locale(app, "ja")
        await pilot.pause()
        shown = descriptions(app)
        assert shown.get("m") == "明日" and "t" not in shown


async def test_a_committed_ime_word_searches_once_for_the_whole_word(people_cache, make_app):
    """Committing 田中 sends one key per character in one read: the first searches at once, the rest wait for
    the burst to end and search once (the gate's clock is frozen here, so every key is inside the burst)."""
    people_cache()
    app = make_app()
    async with app.run_test(size=(120, 40)) as pilot:
        await settle(pilot)
        screen = app.screen
        assert isinstance(screen, PeopleScreen)
        screen.query_one("#search").focus()
        searched: list[str] = []
        original = screen.run_search

        def counting(**kwargs):
            searched.append(screen.query_state.text)
            original(**kwargs)

        screen.run_search = counting  # type: ignore[method-assign]
        screen.typing.clock = lambda: 1000.0  # every key of the burst arrives at the same instant
        screen.typing.last = None
        screen.typing.window_s = 600.0  # the burst's timer does not fire by itself during the test
        for char in "田中":
            app.post_message(events.Key(char, char))
        await pilot.pause()
        assert searched == ["田"] and screen.typing.pending
        assert screen._typing_timer is not None
        screen._typing_timer.stop()
        screen._typing_settled()  # what the burst timer calls when no key came for BURST_WINDOW_S
        await settle(pilot)
        assert searched == ["田", "田中"]
        rows = screen.query_one(PeopleList).rows
        assert rows and all("田中" in (rows[i].get("last_name") or "") + (rows[i].get("company") or "")
                            for i in rows)  # fmt: skip
