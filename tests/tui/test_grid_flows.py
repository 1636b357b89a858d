"""The smart grid on the person screen against the real sandbox over HTTP: fetch on open, tabs, the cached grid
shown at once while the fresh one loads, errors inline with retry, and offline with the cached grid marked."""

from __future__ import annotations

from collections.abc import Iterator

import httpx
import pytest

from sia_sandbox.config import SandboxConfig
from sia_sandbox.server import RunningSandbox, start_sandbox
from sia_tui.tui import grid_adapter
from sia_tui.tui.screens.person import PersonScreen
from sia_tui.tui.widgets.grid_view import ActivityTable
from tests.tui.conftest import NOW, endpoints_for, settle

HOT_ID = 1006  # a sandbox "hot" person: lots of activity in the last 90 days


@pytest.fixture
def sandbox(monkeypatch: pytest.MonkeyPatch, tui_home) -> Iterator[RunningSandbox]:
    """A sandbox per test: the client's rate limiter is per instance URL, so tests never wait on each other's
    calls. Every activities call walks 300 of the whole instance's activities (as Marketo does), so a grid open
    costs about (instance activities in 90 days) / 300 calls per type chunk: 80 people keep it near 25 calls
    (the budget here is 100 per 20 s)."""
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


async def test_open_fetches_the_grid_and_tabs_show_it(people_cache, make_app, sandbox):
    people_cache()
    app = make_app(endpoints=endpoints_for(sandbox.base_url))
    async with app.run_test(size=(120, 40)) as pilot:
        screen = await open_person(pilot)
        await settle(pilot)
        assert screen.state.fresh and not screen.state.error
        assert "Fetched just now" in status_line(screen)
        rows = screen._shown_rows()
        assert rows, "a hot sandbox person has activity in the last 90 days"
        assert {r.tab for r in rows} <= set(grid_adapter.DATA_TABS)
        for key, tab in zip(("2", "3", "4", "5"), grid_adapter.DATA_TABS, strict=True):
            await pilot.press(key)
            assert screen.query_one("#grid-tabs").active == f"tab-{tab}"
            table = screen.query_one(f"#table-{tab}", ActivityTable)
            assert table.row_count == len([r for r in rows if r.tab == tab])
        await pilot.press("1")
        overview = str(screen.query_one("#overview").render())
        assert f"{len(rows)} activities" in overview
        cached = grid_adapter.load_cached(app.backend.db, HOT_ID)
        assert cached is not None and len(cached.rows) == len(rows)
        assert app.status.online is True


async def test_reopen_shows_the_cached_grid_while_the_fresh_one_loads(
    people_cache, make_app, sandbox, faults
):
    people_cache()
    app = make_app(endpoints=endpoints_for(sandbox.base_url))
    async with app.run_test(size=(120, 40)) as pilot:
        screen = await open_person(pilot)
        await settle(pilot)
        first = len(screen._shown_rows())
        await pilot.press("escape")
        faults(1.0, ["slow"])  # every reply held back: the fresh grid takes a while
        screen = await open_person(pilot)
        await pilot.pause()
        assert screen.state.loading and screen.state.has_cache
        assert len(screen._shown_rows()) == first
        assert "Cached just now" in status_line(screen) and "refreshing" in status_line(screen)
        faults(0.0)
        await settle(pilot)
        assert screen.state.fresh


async def test_error_is_inline_and_r_retries(people_cache, make_app, sandbox, faults):
    people_cache()
    app = make_app(endpoints=endpoints_for(sandbox.base_url))
    async with app.run_test(size=(120, 40)) as pilot:
        faults(
            1.0, ["503"]
        )  # every activities call fails: the client gives up after its (interactive) retries
        screen = await open_person(pilot)
        await settle(pilot)
        assert screen.state.error
        line = status_line(screen)
        assert "Could not refresh the grid" in line and "retry" in line
        faults(0.0)
        await pilot.press("r")
        await settle(pilot)
        assert screen.state.fresh and not screen.state.error
        assert screen._shown_rows()


async def test_offline_shows_the_cached_grid_clearly_marked(people_cache, make_app, sandbox):
    people_cache()
    online = make_app(endpoints=endpoints_for(sandbox.base_url))
    async with online.run_test(size=(120, 40)) as pilot:
        screen = await open_person(pilot)
        await settle(pilot)
        fetched = len(screen._shown_rows())
    app = make_app()  # Marketo on a closed port
    async with app.run_test(size=(120, 40)) as pilot:
        screen = await open_person(pilot)
        await settle(pilot)
        assert screen.state.offline and screen.state.has_cache
        assert len(screen._shown_rows()) == fetched
        line = status_line(screen)
        assert "OFFLINE" in line and "cached" in line and "retry" in line
        assert app.status.online is False


async def test_an_empty_tab_says_what_it_has_none_of(people_cache, make_app, sandbox):
    people_cache()
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
