"""The smart grid on the person screen against the real sandbox over HTTP: painted from the activity store at once
(no network), topped up from Marketo, tabs; the store on screen while Marketo is slow; errors inline with retry;
offline with the store marked; an empty tab; a store never filled; stepping through people with ``n``, each grid
painted from the store without waiting on the network."""

from __future__ import annotations

from collections.abc import Iterator

import httpx
import pytest

from sia_sandbox.config import SandboxConfig
from sia_sandbox.server import RunningSandbox, start_sandbox
from sia_tui.grid.models import DATA_TABS
from sia_tui.grid.service import grid_from_store
from sia_tui.tui.clock import fixed_clock
from sia_tui.tui.screens.person import PersonScreen
from sia_tui.tui.widgets.grid_view import ActivityTable
from tests.tui.conftest import NOW, endpoints_for, fill_activity_store, settle, wait_until

HOT_ID = 1006  # a sandbox "hot" person: lots of activity in the last 90 days


@pytest.fixture
def sandbox(monkeypatch: pytest.MonkeyPatch, tui_home) -> Iterator[RunningSandbox]:
    """A sandbox per test: its own instance in the machine's budget, so tests never wait on each other's calls."""
    monkeypatch.setenv("SIA_MARKETO_MAX_CALLS_PER_20S", "100")
    config = SandboxConfig(people=80, seed=42, now=NOW, slow_fault_s=1.0)
    with start_sandbox(config) as running:
        yield running


@pytest.fixture
def faults(sandbox: RunningSandbox) -> Iterator[callable]:
    def set_faults(rate: float, kinds: list[str] | None = None) -> None:
        body = {"rate": rate, "kinds": kinds}
        httpx.post(f"{sandbox.base_url}/_sandbox/faults", json=body, timeout=5).raise_for_status()

    yield set_faults
    set_faults(0.0)


async def open_person(pilot, marketo_id: int = HOT_ID) -> PersonScreen:
    app = pilot.app
    await settle(pilot)
    app.open_person(app.backend.person(marketo_id))
    return app.screen  # type: ignore[return-value]


def status_line(screen: PersonScreen) -> str:
    return str(screen.query_one("#grid-status").render())


def stored_ids(app, marketo_id: int) -> list[str]:
    grid, _, _ = grid_from_store(app.backend.db, marketo_id, clock=fixed_clock(NOW))
    return [r.activity_id for r in grid.rows]


async def test_open_paints_from_the_store_tops_up_and_the_tabs_show_it(people_cache, make_app, sandbox):
    people_cache()
    await fill_activity_store(sandbox)
    app = make_app(endpoints=endpoints_for(sandbox.base_url))
    async with app.run_test(size=(120, 40)) as pilot:
        screen = await open_person(pilot)
        await settle(pilot)
        assert screen.state.stage == "current" and not screen.state.error
        assert "Up to date just now" in status_line(screen)
        rows = screen._shown_rows()
        assert rows, "a hot sandbox person has activity in the last 90 days"
        assert {r.tab for r in rows} <= set(DATA_TABS)
        for key, tab in zip(("2", "3", "4", "5"), DATA_TABS, strict=True):
            await pilot.press(key)
            assert screen.query_one("#grid-tabs").active == f"tab-{tab}"
            table = screen.query_one(f"#table-{tab}", ActivityTable)
            assert table.row_count == len([r for r in rows if r.tab == tab])
        await pilot.press("1")
        overview = str(screen.query_one("#overview").render())
        assert f"{len(rows)} activities" in overview
        assert app.status.online is True


async def test_the_store_is_on_screen_while_marketo_is_slow(people_cache, make_app, sandbox, faults):
    people_cache()
    await fill_activity_store(sandbox)
    app = make_app(endpoints=endpoints_for(sandbox.base_url))
    async with app.run_test(size=(120, 40)) as pilot:
        faults(1.0, ["slow"])  # every reply held back: the top-up takes a while
        screen = await open_person(pilot)
        await pilot.pause()
        assert screen.state.loading and [r.activity_id for r in screen._shown_rows()] == stored_ids(
            app, HOT_ID
        )
        line = status_line(screen)
        assert "As of just now" in line and "checking Marketo for newer" in line
        faults(0.0)
        await settle(pilot)
        assert screen.state.stage == "current"


async def test_error_is_inline_with_the_store_shown_and_r_retries(people_cache, make_app, sandbox, faults):
    people_cache()
    await fill_activity_store(sandbox)
    app = make_app(endpoints=endpoints_for(sandbox.base_url))
    async with app.run_test(size=(120, 40)) as pilot:
        faults(
            1.0, ["503"]
        )  # every activities call fails: the client gives up after its (interactive) retries
        screen = await open_person(pilot)
        await settle(pilot)
        assert screen.state.error
        line = status_line(screen)
        assert "Could not check Marketo for newer activity" in line and "retry" in line
        assert "showing the store as of" in line
        assert [r.activity_id for r in screen._shown_rows()] == stored_ids(app, HOT_ID)
        faults(0.0)
        await pilot.press("r")
        await settle(pilot)
        assert screen.state.stage == "current" and not screen.state.error
        assert screen._shown_rows()


async def test_offline_the_store_is_the_grid_clearly_marked(people_cache, make_app, sandbox):
    people_cache()
    await fill_activity_store(sandbox)
    app = make_app()  # Marketo on a closed port
    async with app.run_test(size=(120, 40)) as pilot:
        screen = await open_person(pilot)
        await settle(pilot)
        assert screen.state.offline
        assert [r.activity_id for r in screen._shown_rows()] == stored_ids(app, HOT_ID)
        line = status_line(screen)
        assert "OFFLINE" in line and "showing the local store as of just now" in line and "retry" in line
        assert app.status.online is False


async def test_an_empty_tab_says_what_it_has_none_of(people_cache, make_app, sandbox):
    people_cache()
    await fill_activity_store(sandbox)
    app = make_app(endpoints=endpoints_for(sandbox.base_url))
    async with app.run_test(size=(120, 40)) as pilot:
        screen = await open_person(pilot, 1008)  # an ordinary person with no sales emails or calls
        await settle(pilot)
        rows = screen._shown_rows()
        assert rows and not [r for r in rows if r.tab == "sales"]
        await pilot.press("5")
        empty = screen.query_one("#empty-sales")
        assert empty.display and str(empty.render()) == "No sales emails or calls in the last 90 days."
        await pilot.press("4")  # a tab with rows shows its table, not the sentence
        assert screen.query_one("#table-email", ActivityTable).row_count > 0
        assert not screen.query_one("#empty-email").display


async def test_a_store_never_filled_says_the_sync_fills_it(people_cache, make_app, sandbox):
    people_cache()
    app = make_app(endpoints=endpoints_for(sandbox.base_url))
    async with app.run_test(size=(120, 40)) as pilot:
        screen = await open_person(pilot)
        await settle(pilot)
        assert screen.state.stage == "unfilled" and not screen._shown_rows()
        assert "No activity history yet" in status_line(screen) and "sync" in status_line(screen)


async def test_stepping_with_n_paints_every_grid_from_the_store_without_waiting(
    people_cache, make_app, sandbox, faults
):
    people_cache()
    await fill_activity_store(sandbox)
    app = make_app(endpoints=endpoints_for(sandbox.base_url))
    async with app.run_test(size=(120, 40)) as pilot:
        await settle(pilot)
        await pilot.press("enter")
        await settle(pilot)
        faults(1.0, ["slow"])  # Marketo answers nothing for a second: only the store can paint
        seen = []
        for _ in range(9):
            await pilot.press("n")
            await pilot.pause()  # one turn of the app's loop: no network round trip fits in it
            screen = app.screen
            lead = int(screen.person["marketo_id"])
            assert screen.state.loading  # the top-up is still out ...
            assert [r.activity_id for r in screen._shown_rows()] == stored_ids(
                app, lead
            )  # ... the store is on
            seen.append(lead)
        assert len(set(seen)) == 9
        faults(0.0)
        await wait_until(pilot, lambda: app.screen.state.stage == "current")


async def test_a_call_logged_from_the_person_shows_in_their_grid_once_the_outbox_logged_it(
    people_cache, make_app, sandbox, monkeypatch
):
    from sia_sandbox import config as sb
    from sia_tui.outbox.compose import prepare_call, seller_from_settings
    from sia_tui.outbox.queue import enqueue_call, get_item

    for name, value in {
        "SIA_MARKETO_BASE_URL": sandbox.base_url,
        "SIA_MARKETO_CLIENT_ID": sb.MARKETO_CLIENT_ID,
        "SIA_MARKETO_CLIENT_SECRET": sb.MARKETO_CLIENT_SECRET,
    }.items():
        monkeypatch.setenv(name, value)
    people_cache()
    await fill_activity_store(sandbox)
    app = make_app(endpoints=endpoints_for(sandbox.base_url, sandbox=False), run_worker=True)
    async with app.run_test(size=(120, 40)) as pilot:
        screen = await open_person(pilot)
        await settle(pilot)
        assert screen.state.stage == "current"
        before = {r.activity_id for r in screen.rows}
        settings = app.settings
        draft = prepare_call(
            app.backend.db,
            HOT_ID,
            outcome="Left voicemail",
            seller=seller_from_settings(settings),
            outcomes=settings.get("calls.outcomes"),
            reasons=settings.get("calls.reasons"),
            duration_s=75,
        )
        item = enqueue_call(app.backend.db, draft)
        app.queued(item)  # what the call-log screen does
        await wait_until(
            pilot, lambda: get_item(app.backend.db, item.id).destinations["marketo"].state == "done"
        )
        guid = get_item(app.backend.db, item.id).destinations["marketo"].ref
        await wait_until(pilot, lambda: guid in {r.activity_id for r in screen.rows})
        (row,) = [r for r in screen.rows if r.activity_id not in before]
        assert (row.tab, row.type, row.title) == ("sales", "Sales Call", "Left voicemail")
        assert "1m 15s" in row.detail and "logged in sia-tui" in row.detail
