"""The sync inside the app, against a real sandbox over HTTP: the first sync fills an empty cache (people, then
the activity store), the header says syncing then synced, F5 syncs now, the sync runs again by itself every
interval, and an open grid takes in what the sync stored without a call of its own.

The other TUI tests run with the sync off (tests/tui/conftest.py); here it is on. Each run goes through the
real sync service (:func:`sia_tui.sync.engine.run_sync`, as `sia-tui sync` runs it); the tests only hold a run
at its start (to see "syncing" on screen) and count the runs. The app's clock is the sandbox's.
"""

from __future__ import annotations

import threading
from typing import Any

import pytest

from sia_tui.clock import fixed_clock
from sia_tui.sync import engine
from sia_tui.tui.widgets.people_list import PeopleList
from sia_tui.tui.widgets.status_header import StatusHeader
from tests.conftest import SANDBOX_NOW, MarketoHttp
from tests.integration.test_sync_helpers import ROOMY, expected_people
from tests.support.sandbox_control import sales_users
from tests.tui.conftest import endpoints_for, settle, wait_until

SANDBOX_PEOPLE = 200


class CountedSync:
    """Wraps the sync service's front door: counts the runs, and can hold each one until released."""

    def __init__(self, *, held: bool) -> None:
        self.real = engine.run_sync
        self.held = held
        self.gate = threading.Semaphore(0)
        self.started = 0
        self.finished: list[Any] = []

    async def __call__(self, *args: Any, **kwargs: Any) -> Any:
        self.started += 1
        if self.held:  # the app's sync thread has its own event loop: blocking it holds only the sync
            assert self.gate.acquire(timeout=30), "the test never let the sync run"
        summary = await self.real(*args, **kwargs)
        self.finished.append(summary)
        return summary

    def release(self) -> None:
        self.gate.release()


@pytest.fixture
def sync_on(tui_home, monkeypatch: pytest.MonkeyPatch):
    """The in-app sync as a seller has it by default (the TUI conftest turns it off for every other test)."""
    monkeypatch.setenv("SIA_SYNC_ENABLED", "true")
    monkeypatch.setenv("SIA_MARKETO_MAX_CALLS_PER_20S", "100")
    # A week of activity history: the first sync then fits in the budget a seller leaves background work.
    monkeypatch.setenv("SIA_GRID_DAYS", "7")
    return tui_home


@pytest.fixture
def running(sandbox_factory):
    return sandbox_factory(**ROOMY, people=SANDBOX_PEOPLE)


def header(app) -> str:
    return str(app.screen.query_one(StatusHeader).render())


def list_text(app) -> str:
    people = app.screen.query_one(PeopleList)
    return "\n".join(people.render_line(y).text for y in range(people.size.height))


def add_owned_lead(running, first: str, last: str) -> int:
    """A new lead with a sales owner, made through the sandbox's Marketo API (as Marketo would get one)."""
    owner = sales_users(running)[0]["Email"]
    api = MarketoHttp(running)
    try:
        created = api.post(
            "/rest/v1/leads.json",
            {"action": "createOnly", "lookupField": "email",
             "input": [{"email": f"{last.lower()}@example.jp", "firstName": first, "lastName": last,
                        "company": "テスト株式会社", "externalSalesPersonId": owner}]},
        )  # fmt: skip
    finally:
        api.close()
    return int(created["result"][0]["id"])


async def test_first_sync_fills_the_list_and_f5_syncs_again(sync_on, running, make_app, monkeypatch):
    runs = CountedSync(held=True)
    monkeypatch.setattr(engine, "run_sync", runs)
    owned = len(expected_people(running))
    app = make_app(endpoints=endpoints_for(running.base_url), clock=fixed_clock(SANDBOX_NOW))
    async with app.run_test(size=(120, 40)) as pilot:
        # An empty cache syncs at once; while it runs the header and the empty list say so.
        await wait_until(pilot, lambda: runs.started == 1)
        await wait_until(pilot, lambda: "the first sync from Marketo is running" in list_text(app))
        assert "syncing" in header(app)
        runs.release()
        await wait_until(pilot, lambda: len(runs.finished) == 1 and not app.sync_running)
        await settle(pilot)
        assert "synced" in header(app) and "syncing" not in header(app)
        assert f"{owned} people" in header(app)
        people = app.screen.query_one(PeopleList)
        assert people.row_count == owned
        assert f"{owned} people" in str(app.screen.query_one("#filter-bar").render())
        assert people.rows[0]["marketo_id"] and "No people cached" not in list_text(app)

        # Someone new in Marketo; F5 syncs now (the periodic run is a minute away) and the list shows them.
        new_id = add_owned_lead(running, "新人", "Zyxwright")
        await pilot.press("f5")
        await wait_until(pilot, lambda: runs.started == 2)
        await pilot.pause()
        assert "syncing" in header(app)
        runs.release()
        await wait_until(pilot, lambda: len(runs.finished) == 2 and not app.sync_running)
        await settle(pilot)
        assert "synced" in header(app) and "syncing" not in header(app)
        summary = runs.finished[1]
        assert summary.kind == "incremental" and summary.created == 1
        assert people.row_count == owned + 1
        app.screen.query_one("#search").value = "zyxw"
        await settle(pilot)
        assert people.row_count == 1 and people.rows[0]["marketo_id"] == new_id
        assert "Zyxwright" in list_text(app)


async def test_the_sync_runs_again_by_itself_every_interval(sync_on, running, make_app, monkeypatch):
    monkeypatch.setenv("SIA_SYNC_INTERVAL_S", "45")
    assert make_app().sync_interval() == 45  # the setting sets the period...
    runs = CountedSync(held=False)
    monkeypatch.setattr(engine, "run_sync", runs)
    app = make_app(  # ...shortened to see it
        endpoints=endpoints_for(running.base_url), sync_interval_s=1.0, clock=fixed_clock(SANDBOX_NOW)
    )
    assert app.sync_interval() == 1.0
    async with app.run_test(size=(120, 40)) as pilot:
        await wait_until(pilot, lambda: len(runs.finished) >= 1 and not app.sync_running)
        await settle(pilot)
        people = app.screen.query_one(PeopleList)
        owned = len(expected_people(running))
        assert people.row_count == owned
        # No key pressed from here on: every later run is a periodic one.
        new_id = add_owned_lead(running, "二郎", "Qwertyson")
        await wait_until(pilot, lambda: app.backend.person(new_id) is not None)

        def between_runs_after_two_periodic_ones() -> bool:
            return (
                len(runs.finished) >= 3
                and not app.sync_running
                and app.status.sync == "idle"
                and "synced" in header(app)
                and people.row_count == owned + 1  # the change reached the list without a key
            )

        await wait_until(pilot, between_runs_after_two_periodic_ones)
        assert [s.kind for s in runs.finished[1:]] == ["incremental"] * (len(runs.finished) - 1)


async def test_an_open_grid_takes_in_what_the_sync_stored_without_a_call(
    sync_on, running, make_app, monkeypatch
):
    from tests.support.activity_store import add_activities

    runs = CountedSync(held=False)
    monkeypatch.setattr(engine, "run_sync", runs)
    app = make_app(endpoints=endpoints_for(running.base_url), clock=fixed_clock(SANDBOX_NOW))
    async with app.run_test(size=(120, 40)) as pilot:
        await wait_until(pilot, lambda: len(runs.finished) == 1 and not app.sync_running)
        first = runs.finished[0].activities
        assert first["backfill"] in ("rest", "bulk") and first["added"] > 0
        await settle(pilot)
        await pilot.press("enter")  # the first person in the list
        await settle(pilot)
        screen = app.screen
        lead = int(screen.person["marketo_id"])
        assert screen.state.stage == "current"
        shown = {r.activity_id for r in screen.rows}
        grid_calls = app.backend._marketo.calls.total if app.backend._marketo else 0
        (added,) = add_activities(
            running, [{"leadId": lead, "activityTypeId": 46, "primaryAttributeValue": "Came back to pricing"}]
        )
        await pilot.press("f5")
        await wait_until(pilot, lambda: len(runs.finished) == 2 and not app.sync_running)
        await settle(pilot)
        assert runs.finished[1].activities["added"] >= 1
        assert {r.activity_id for r in screen.rows} == shown | {added["marketoGUID"]}
        assert app.backend._marketo is None or app.backend._marketo.calls.total == grid_calls
