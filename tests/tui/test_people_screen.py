"""The people screen: search as you type (latest wins), CJK search, keys, filters, sort, paging, literal names."""

from __future__ import annotations

import threading

from rich.cells import cell_len
from textual import work
from textual.widgets import Input, TextArea

from sia_tui.compliance.optouts import list_optouts
from sia_tui.outbox.queue import list_items
from sia_tui.tui.people_source import PAGE_SIZE, PeopleReader
from sia_tui.tui.screens.compose import ComposeScreen
from sia_tui.tui.screens.dialogs import OptOutScreen
from sia_tui.tui.screens.keys_help import KeysHelpScreen
from sia_tui.tui.screens.people import PeopleScreen
from sia_tui.tui.screens.person import PersonScreen
from sia_tui.tui.widgets.people_list import PeopleList, columns_for
from tests.tui.conftest import PEOPLE, settle, wait_until
from tests.tui.people_factory import ESCAPE_NAME, MARKUP_NAME, OWNERS

PERSON_TO_EMAIL = 1004  # subscribed, no Marketo flags, has an email (people factory)


def visible_lines(app) -> list[str]:
    people = app.screen.query_one(PeopleList)
    return [people.render_line(y).text for y in range(people.size.height)]


def shown_people(app) -> list[dict]:
    people = app.screen.query_one(PeopleList)
    return [people.rows[i] for i in range(people.row_count) if i in people.rows]


async def test_lists_cached_people_by_name_with_count(people_cache, make_app):
    people_cache()
    app = make_app()
    async with app.run_test(size=(120, 40)) as pilot:
        await settle(pilot)
        screen = app.screen
        assert isinstance(screen, PeopleScreen)
        assert screen.query_one(PeopleList).row_count == PEOPLE
        assert f"{PEOPLE} people" in str(screen.query_one("#filter-bar").render())
        assert app.status.people == PEOPLE
        rows = shown_people(app)
        keys = [((r["last_name"] or "").casefold(), (r["first_name"] or "").casefold()) for r in rows]
        assert keys == sorted(keys)


async def test_search_as_you_type_latest_query_wins(people_cache, make_app, monkeypatch):
    """An older query whose read is slow answers after a newer one has rendered: its rows are dropped."""
    people_cache()
    slow, fast = "grace", "田中"
    entered, release, stale_done = threading.Event(), threading.Event(), threading.Event()
    stale_pages: list = []

    def slowed(read):
        def wrapper(reader, generation, query, *args, **kwargs):
            if query.text != slow:
                return read(reader, generation, query, *args, **kwargs)
            entered.set()
            assert release.wait(30), "the test never released the slow query"
            page = read(reader, generation, query, *args, **kwargs)
            stale_pages.append(page)
            return page

        return wrapper

    # The search reader the people screen uses: the "grace" read waits until the test lets it go.
    monkeypatch.setattr(PeopleReader, "quick_page", slowed(PeopleReader.quick_page))
    monkeypatch.setattr(PeopleReader, "page", slowed(PeopleReader.page))
    search_body = PeopleScreen._search.__wrapped__

    @work(thread=True, exclusive=True, group="people-search", exit_on_error=False)
    def tracked_search(screen, generation, query, keep_cursor):
        try:
            search_body(screen, generation, query, keep_cursor)
        finally:
            if query.text == slow:
                stale_done.set()

    monkeypatch.setattr(PeopleScreen, "_search", tracked_search)
    app = make_app()
    try:
        async with app.run_test(size=(120, 40)) as pilot:
            await settle(pilot)
            screen = app.screen
            people = screen.query_one(PeopleList)
            await pilot.press("slash", *slow)
            await wait_until(pilot, entered.is_set)  # "grace" is being read, slowly
            await pilot.press(*["backspace"] * len(slow), *fast)
            await wait_until(pilot, lambda: people.people_query.text == fast and people.row_count > 0)
            assert stale_pages == []  # the newer query rendered first; now the older one answers
            release.set()
            await wait_until(pilot, stale_done.is_set)
            await settle(pilot)
            assert stale_pages and any(
                "grace" in r["first_name"].lower() for r in stale_pages[0].rows
            )  # the stale answer did arrive, with rows that would have been shown
            assert screen.query_state.text == fast
            assert people.people_query.text == fast
            rows = shown_people(app)
            assert rows and all(r["last_name"] == fast for r in rows)
            assert f"{len(rows)} match" in str(screen.query_one("#filter-bar").render())
    finally:
        release.set()


async def test_cjk_substring_search(people_cache, make_app):
    people_cache()
    app = make_app()
    async with app.run_test(size=(120, 40)) as pilot:
        await settle(pilot)
        await pilot.press("slash")
        await pilot.press(*"田中")
        await settle(pilot)
        rows = shown_people(app)
        assert rows and all(r["last_name"] == "田中" for r in rows)
        # Middle of a Japanese company name.
        app.screen.query_one("#search").value = "自動車"
        await settle(pilot)
        rows = shown_people(app)
        assert rows and all("自動車" in r["company"] for r in rows)


async def test_slash_jk_and_enter_open_the_person(people_cache, make_app):
    people_cache()
    app = make_app()
    async with app.run_test(size=(120, 40)) as pilot:
        await settle(pilot)
        people = app.screen.query_one(PeopleList)
        assert app.focused is people
        await pilot.press("j", "j", "down", "k")
        assert people.cursor == 2
        expected = people.rows[2]["marketo_id"]
        await pilot.press("enter")
        await settle(pilot)
        assert isinstance(app.screen, PersonScreen)
        assert app.screen.person["marketo_id"] == expected
        await pilot.press("escape")
        await pilot.press("slash")
        assert app.focused is app.screen.query_one("#search")
        # Type and press enter at once: enter waits for this query's results, then opens its first match.
        app.screen.query_one("#search").value = "欧阳"
        await pilot.press("enter")
        await settle(pilot)
        assert isinstance(app.screen, PersonScreen)
        assert app.screen.person["last_name"] == "欧阳"


async def test_filters_and_sort(people_cache, make_app, monkeypatch):
    people_cache()
    monkeypatch.setenv("SIA_SELLER_EMAIL", OWNERS[1][1])
    app = make_app()
    async with app.run_test(size=(120, 40)) as pilot:
        await settle(pilot)
        await pilot.press("u")
        await settle(pilot)
        rows = shown_people(app)
        assert rows and all(r["unsubscribed"] for r in rows)
        await pilot.press("u")  # yes -> no
        await settle(pilot)
        assert all(not r["unsubscribed"] for r in shown_people(app))
        await pilot.press("u", "i")  # unsubscribed back to any; has Salesforce id: yes
        await settle(pilot)
        rows = shown_people(app)
        assert rows and all(r["sfdc_lead_id"] or r["sfdc_contact_id"] for r in rows)
        await pilot.press("i", "i", "m")  # Salesforce id back to any; my people
        await settle(pilot)
        rows = shown_people(app)
        assert rows and all(r["owner_email"] == OWNERS[1][1] for r in rows)
        assert "my people" in str(app.screen.query_one("#filter-bar").render())
        await pilot.press("m", "s")  # all people; sort name -> company
        await settle(pilot)
        assert app.screen.query_state.effective_sort() == "company"
        companies = [r["company"].casefold() for r in shown_people(app)]
        assert companies == sorted(companies)
        await pilot.press("escape")
        await settle(pilot)
        assert app.screen.query_state.is_default
        assert app.screen.query_one(PeopleList).row_count == PEOPLE


async def test_empty_result_says_why(people_cache, make_app):
    people_cache()
    app = make_app()
    async with app.run_test(size=(120, 40)) as pilot:
        await settle(pilot)
        await pilot.press("slash", *"zzzqqq")
        await settle(pilot)
        people = app.screen.query_one(PeopleList)
        assert people.row_count == 0
        assert "Nobody matches" in "\n".join(visible_lines(app))


async def test_hostile_names_render_literally(people_cache, make_app):
    people_cache()
    app = make_app()
    async with app.run_test(size=(120, 40)) as pilot:
        await settle(pilot)
        screen = app.screen
        screen.query_one(
            "#search"
        ).value = "zh4@example.cn"  # the person whose last name is an escape sequence
        await settle(pilot)
        lines = visible_lines(app)
        assert any("Escape\\x1b[2J" in line for line in lines)
        strips = [app.screen.query_one(PeopleList).render_line(y) for y in range(3)]
        assert all("\x1b" not in seg.text for strip in strips for seg in strip)
        screen.query_one("#search").value = ""
        await settle(pilot)
        people = screen.query_one(PeopleList)
        index = next(i for i, r in people.rows.items() if r["first_name"] == MARKUP_NAME)
        people.set_cursor(index)
        await pilot.pause()
        assert any(MARKUP_NAME in line for line in visible_lines(app))
        await pilot.press("enter")
        await settle(pilot)
        summary = str(app.screen.query_one("#person-summary").render())
        assert MARKUP_NAME in summary
        assert ESCAPE_NAME not in summary


async def test_cjk_names_keep_columns_aligned(people_cache, make_app):
    people_cache()
    app = make_app()
    async with app.run_test(size=(120, 40)) as pilot:
        await settle(pilot)
        people = app.screen.query_one(PeopleList)
        width = people.scrollable_content_region.width
        name_width = columns_for(width)[0].width
        lines = visible_lines(app)
        cjk = [line for line in lines if any(ord(ch) > 0x3000 for ch in line[:name_width])]
        assert cjk, "the fixture has Chinese and Japanese names"
        for line in lines:
            assert cell_len(line) == width
            # The company column starts at the same cell for every script.
            prefix = line
            cells = 0
            for i, ch in enumerate(prefix):
                if cells >= name_width:
                    prefix = line[:i]
                    break
                cells += cell_len(ch)
            assert cell_len(prefix) == name_width


async def test_a_large_list_pages_from_sqlite(people_cache, make_app):
    people_cache(5000)
    app = make_app()
    async with app.run_test(size=(100, 30)) as pilot:
        await settle(pilot)
        people = app.screen.query_one(PeopleList)
        assert people.row_count == 5000
        assert len(people.rows) == PAGE_SIZE  # only the first page is held
        await pilot.press("G")
        await settle(pilot)
        assert people.cursor == 4999
        assert 4999 in people.rows
        assert len(people.rows) <= PAGE_SIZE * 12
        await pilot.press("pageup", "pageup")
        await settle(pilot)
        assert people.cursor < 4999 - 40
        assert all(people.render_line(y).text.strip() != "…" for y in range(people.size.height))
        await pilot.press("g")
        assert people.cursor == 0


async def test_first_start_keeps_keys_working(tui_home, make_app):
    """With nothing cached the list still has the focus: q quits, / searches (nothing is typed by accident)."""
    app = make_app()
    async with app.run_test(size=(120, 40)) as pilot:
        await settle(pilot)
        people = app.screen.query_one(PeopleList)
        assert app.focused is people
        assert "No people cached yet" in "\n".join(visible_lines(app))
        await pilot.press("q")
    assert app.return_code == 0


async def test_user_keymap_and_warnings(people_cache, make_app, tui_home):
    people_cache()
    config = tui_home / "config" / "config.toml"
    config.parent.mkdir(parents=True, exist_ok=True)
    config.write_text(
        '[keys]\nfocus-search = "f2"\nno-such-binding = "x"\ncompose-send = "f9"\noptout-record = "f8"\n',
        encoding="utf-8",
    )
    app = make_app()
    async with app.run_test(size=(120, 40)) as pilot:
        await settle(pilot)
        assert app.keymap == {"focus-search": "f2", "compose-send": "f9", "optout-record": "f8"}
        assert any("no-such-binding" in w for w in app.keymap_warnings)
        await pilot.press("f2")
        assert app.focused is app.screen.query_one("#search")
        await pilot.press("escape", "question_mark")
        await pilot.pause()
        assert isinstance(app.screen, KeysHelpScreen)
        remapped = keys_help_rows(app)
        assert remapped["compose-send"] == "f9 *" and remapped["optout-record"] == "f8 *"
        assert remapped["call-save"] == "ctrl+s, ctrl+j"  # not remapped: the default and its alias
        await pilot.press("escape")
        assert isinstance(app.screen, PeopleScreen)

        # The email form: ctrl+s no longer sends, the remapped f9 does.
        app.open_person(app.backend.person(PERSON_TO_EMAIL))
        await settle(pilot)
        await pilot.press("w")
        await settle(pilot)
        compose = app.screen
        assert isinstance(compose, ComposeScreen)
        compose.query_one("#subject", Input).value = "Hello {{first_name}}"
        compose.query_one("#body", TextArea).text = "Hi {{first_name}}"
        await pilot.press("ctrl+s")
        await settle(pilot)
        assert app.screen is compose and list_items(app.backend.db) == []
        await pilot.press("f9")
        await settle(pilot)
        assert isinstance(app.screen, PersonScreen)
        [item] = list_items(app.backend.db)
        assert item.kind == "email" and item.payload["body"].startswith("Hi ")

        # The opt-out dialog: ctrl+s no longer records, the remapped f8 does.
        await pilot.press("X")
        await settle(pilot)
        dialog = app.screen
        assert isinstance(dialog, OptOutScreen)
        await pilot.press("ctrl+s")
        await settle(pilot)
        assert app.screen is dialog and list_optouts(app.backend.db) == []
        await pilot.press("f8")
        await settle(pilot)
        assert isinstance(app.screen, PersonScreen)
        assert [o["marketo_id"] for o in list_optouts(app.backend.db)] == [PERSON_TO_EMAIL]


def keys_help_rows(app) -> dict[str, str]:
    """Binding id -> the keys column of the keys help screen."""
    from textual.widgets import DataTable

    table = app.screen.query_one(DataTable)
    rows = (table.get_row_at(i) for i in range(table.row_count))
    return {str(row[1]): str(row[2]) for row in rows}


async def test_palette_commands_fit_the_screen(people_cache, make_app):
    people_cache()
    app = make_app()
    async with app.run_test(size=(120, 40)) as pilot:
        await settle(pilot)
        titles = [c.title for c in app.get_system_commands(app.screen)]
        assert "Show my people" in titles and "Sort by company" in titles and "Sync people now" in titles
        assert not any(t.startswith("Copy ") for t in titles)
        await pilot.press("enter")
        await settle(pilot)
        titles = [c.title for c in app.get_system_commands(app.screen)]
        assert "Copy Email" in titles and "Refresh the grid" in titles and "Show Web Activity" in titles
        assert "Show my people" not in titles


async def test_theme_from_settings_and_a_picked_theme_is_remembered(people_cache, make_app, monkeypatch):
    people_cache()
    monkeypatch.setenv("SIA_UI_THEME", "nord")
    app = make_app()
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        assert app.theme == "nord"
    monkeypatch.delenv("SIA_UI_THEME")
    app = make_app()
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        app.theme = "gruvbox"  # as the palette's "Theme" command does
        await pilot.pause()
    from sia_tui.config import load_settings

    assert load_settings("sandbox").get("ui.theme") == "gruvbox"
