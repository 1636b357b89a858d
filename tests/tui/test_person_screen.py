"""The person screen: fields (read-only, copyable), badges, narrow layout, next/previous, offline."""

from __future__ import annotations

from datetime import timedelta

from sia_tui.tui.screens.person import PersonScreen
from sia_tui.tui.widgets.person_card import FIELD_LABELS, FieldsTable
from sia_tui.tui.widgets.status_header import StatusHeader
from tests.tui.conftest import NOW, demo_activities, seed_activity_store, settle

UNSUBSCRIBED_ID = 1006  # index 5 in the factory: unsubscribed
ESCAPED_ID = 1005  # index 4: last name holds an escape sequence


async def open_person(pilot, marketo_id: int) -> PersonScreen:
    app = pilot.app
    await settle(pilot)
    app.open_person(app.backend.person(marketo_id))
    await settle(pilot)
    assert isinstance(app.screen, PersonScreen)
    return app.screen


async def test_fields_badges_and_copy(people_cache, make_app):
    people_cache()
    app = make_app()
    async with app.run_test(size=(120, 40)) as pilot:
        screen = await open_person(pilot, UNSUBSCRIBED_ID)
        person = screen.person
        fields = screen.query_one("#person-fields", FieldsTable)
        assert fields.row_count == len(FIELD_LABELS) == 13
        summary = str(screen.query_one("#person-summary").render())
        assert "UNSUBSCRIBED" in summary
        fields.focus()
        await pilot.press("c")
        assert app.clipboard == person["first_name"]
        await pilot.press("j", "j", "y")  # row 3: email
        assert app.clipboard == person["email"]
        await pilot.press("down", "down", "down", "down", "down", "down", "c")  # Marketo id
        assert app.clipboard == str(UNSUBSCRIBED_ID)
        await pilot.press("e")
        assert app.clipboard == person["email"]
        screen.copy_field("linkedin_url")
        assert app.clipboard == person["linkedin_url"]
        # Read-only: no binding edits a field, and typing does not change the person.
        await pilot.press("x", "delete")
        assert app.backend.person(UNSUBSCRIBED_ID) == person


async def test_escape_sequence_in_a_name_is_shown_as_text(people_cache, make_app):
    people_cache()
    app = make_app()
    async with app.run_test(size=(120, 40)) as pilot:
        screen = await open_person(pilot, ESCAPED_ID)
        fields = screen.query_one("#person-fields", FieldsTable)
        last_name = fields.get_row_at(1)[1].plain
        assert "\\x1b[2J" in last_name and "\x1b" not in last_name
        lines = app.screen._compositor.render_update(full=True)  # the frame that would reach the terminal
        assert "\x1b[2J" not in str(lines)


async def test_narrow_terminal_moves_fields_into_a_tab(people_cache, make_app):
    people_cache()
    app = make_app()
    async with app.run_test(size=(80, 24)) as pilot:
        screen = await open_person(pilot, UNSUBSCRIBED_ID)
        assert screen.narrow
        assert not screen.query_one("#person-fields").display or not screen.query_one("#person-fields").region
        await pilot.press("left_square_bracket")  # previous tab from Overview wraps to Fields
        await settle(pilot)
        tabbed = screen.query_one("#grid-tabs")
        assert tabbed.active == "tab-fields"
        table = screen.query_one("#fields-tab-table", FieldsTable)
        table.focus()
        await pilot.press("c")
        assert app.clipboard == screen.person["first_name"]


async def test_next_and_previous_person_follow_the_list(people_cache, make_app):
    people_cache()
    app = make_app()
    async with app.run_test(size=(120, 40)) as pilot:
        await settle(pilot)
        people = app.screen.query_one("#people-list")
        expected = [people.rows[i]["marketo_id"] for i in range(3)]
        await pilot.press("enter")
        await settle(pilot)
        assert app.screen.person["marketo_id"] == expected[0]
        await pilot.press("n")
        await settle(pilot)
        assert app.screen.person["marketo_id"] == expected[1]
        await pilot.press("n", "p")
        await settle(pilot)
        assert app.screen.person["marketo_id"] == expected[1]
        await pilot.press("escape")
        assert app.screen.query_one("#people-list").cursor == 1


async def test_offline_is_marked_at_once(people_cache, make_app):
    people_cache()
    seed_activity_store(demo_activities(UNSUBSCRIBED_ID), as_of=NOW - timedelta(hours=2))
    app = make_app()
    async with app.run_test(size=(120, 40)) as pilot:
        screen = await open_person(pilot, UNSUBSCRIBED_ID)
        status = str(screen.query_one("#grid-status").render())
        assert "OFFLINE" in status and "as of 2 h ago" in status and "r" in status
        assert len(screen._shown_rows()) == len(demo_activities(UNSUBSCRIBED_ID))
        assert app.status.online is False
        header = str(screen.query_one(StatusHeader).render())
        assert "OFFLINE" in header


async def test_email_call_and_outbox_screens_open_from_the_person(people_cache, make_app):
    from sia_tui.tui.screens.call_log import CallLogScreen
    from sia_tui.tui.screens.compose import ComposeScreen
    from sia_tui.tui.screens.outbox import OutboxScreen

    people_cache()
    app = make_app()
    async with app.run_test(size=(120, 40)) as pilot:
        await open_person(pilot, UNSUBSCRIBED_ID)
        for key, screen_type in (("w", ComposeScreen), ("l", CallLogScreen), ("O", OutboxScreen)):
            app.screen.focus_next()  # from the fields table, as a seller would be
            await pilot.press(key)
            await settle(pilot)
            assert isinstance(app.screen, screen_type), key
            await pilot.press("escape")
            await settle(pilot)
            assert isinstance(app.screen, PersonScreen)
