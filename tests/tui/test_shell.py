"""The app shell: the header's states (SANDBOX, sync progress, outbox, online/offline) and the profile mark."""

from __future__ import annotations

from datetime import timedelta

import pytest

from sia_tui.tui.widgets.status_header import StatusHeader
from tests.tui.conftest import NOW, endpoints_for, settle


def header_text(app) -> str:
    return str(app.screen.query_one(StatusHeader).render())


async def test_header_states(people_cache, make_app):
    people_cache(20)
    app = make_app()
    async with app.run_test(size=(120, 30)) as pilot:
        await settle(pilot)
        text = header_text(app)
        assert "sandbox" in text and "SANDBOX" in text and "20 people" in text and "sync off" in text
        app.set_status(sync="syncing", sync_done=1500, sync_total=2000, sync_phase="initial")
        await pilot.pause()
        assert "syncing 1,500/2,000 (75%)" in header_text(app)
        app.set_status(sync="idle", last_sync=NOW - timedelta(minutes=3), online=True)
        await pilot.pause()
        text = header_text(app)
        assert "synced 3 min ago" in text and "online" in text
        app.set_status(outbox={"queued": 2, "retrying": 1, "dead": 1}, online=False)
        await pilot.pause()
        text = header_text(app)
        assert "outbox 3" in text and "1 failed" in text and "OFFLINE" in text
        app.set_status(sync="failed", sync_error="Marketo refused the client id")
        await pilot.pause()
        assert "sync failed" in header_text(app)


async def test_at_80_columns_the_header_keeps_what_matters_whole(people_cache, make_app):
    people_cache(1687)
    app = make_app()
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        app.set_status(sync="idle", last_sync=NOW, online=True, worker="running")
        await pilot.pause()
        text = header_text(app)
        assert len(text) <= 80
        assert "SANDBOX" in text and "1,687 people · synced just now" in text and "online" in text
        assert "…" not in text  # nothing cut: the idle outbox and the repeated profile name gave way instead
        app.set_status(outbox={"queued": 2})
        await pilot.pause()
        assert "outbox 2" in header_text(app)  # an outbox with work waiting is never dropped
        app.set_status(sync="syncing", sync_done=12_345, sync_total=100_000, sync_phase="initial")
        await pilot.pause()
        text = header_text(app)
        assert "syncing" in text and "12%" in text and "online" in text


def assert_header_lines_up(app) -> None:
    """The painted column titles sit exactly over the columns of the rows, whatever the rows' width."""
    from rich.cells import cell_len

    from sia_tui.tui.widgets.people_list import PeopleHeader, PeopleList, columns_for, header_text

    header = app.screen.query_one(PeopleHeader)
    people = app.screen.query_one(PeopleList)
    row = "".join(seg.text for seg in people.render_line(0))
    width = cell_len(row)
    # What is painted: the header's cached line (stale if nothing refreshed it when the rows' width changed).
    titles = header.render_line(0).text
    assert header.region.x == people.region.x
    assert width == people.scrollable_content_region.width
    assert titles[:width] == header_text(width).plain, (titles, row)
    columns = columns_for(width)
    flags_at = sum(c.width + 1 for c in columns[: [c.key for c in columns].index("flags")])
    assert titles.index("Flags") == flags_at


@pytest.mark.parametrize("size", [(80, 24), (120, 40)])
async def test_the_people_header_lines_up_with_the_rows(people_cache, make_app, size):
    from sia_tui.tui.widgets.people_list import PeopleList

    people_cache(200)  # more people than fit: the list shows its scrollbar, which narrows the rows
    app = make_app()
    async with app.run_test(size=size) as pilot:
        await settle(pilot)
        people = app.screen.query_one(PeopleList)
        assert people.show_vertical_scrollbar
        assert_header_lines_up(app)
        # A search narrows the list to a few people: the scrollbar goes, the rows widen, the titles follow.
        await pilot.press("slash", *"田中")
        await settle(pilot)
        assert 0 < people.row_count < people.size.height
        assert not people.show_vertical_scrollbar
        assert_header_lines_up(app)
        # Back to everyone: the scrollbar returns and the titles narrow with the rows again.
        await pilot.press("escape")
        await settle(pilot)
        assert people.row_count == 200 and people.show_vertical_scrollbar
        assert_header_lines_up(app)


@pytest.mark.parametrize("size", [(80, 24), (120, 40)])
async def test_the_people_header_lines_up_on_a_short_list(people_cache, make_app, size):
    from sia_tui.tui.widgets.people_list import PeopleList

    people_cache(3)  # fewer people than fit: no scrollbar from the start
    app = make_app()
    async with app.run_test(size=size) as pilot:
        await settle(pilot)
        people = app.screen.query_one(PeopleList)
        assert people.row_count == 3 and not people.show_vertical_scrollbar
        assert_header_lines_up(app)


async def test_a_real_marketo_profile_has_no_sandbox_mark(people_cache, make_app):
    people_cache(5)
    app = make_app(endpoints=endpoints_for("https://123-ABC-456.mktorest.com", sandbox=False))
    async with app.run_test(size=(120, 30)) as pilot:
        await settle(pilot)
        assert "SANDBOX" not in header_text(app)


async def test_network_probe_marks_offline(people_cache, make_app):
    people_cache(5)
    app = make_app(probe_network=True)  # Marketo on a closed port
    async with app.run_test(size=(120, 30)) as pilot:
        await settle(pilot)
        assert app.status.online is False
        assert "OFFLINE" in header_text(app)
