"""The smart grid from the sandbox through the grid service: painted from the store with no call, topped up from
the feed's watermark with one call per type chunk, equal to a naive sequential read for hot, ordinary and empty
people over any range; new activity shows at once; faults, a failure beyond the retries, offline and a feed far
behind each say what they are; custom sales types (MSIA's and sia-tui's own) land in the Sales tab; sia-tui's own
logged activities are in the store the moment the outbox has logged them; leaving early stops every request."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest

from sia_sandbox.server import RunningSandbox
from sia_tui.clock import ManualClock
from sia_tui.grid.service import COMMAND_MAX_PAGES, grid_from_store, load_grid, stream_grid
from sia_tui.marketo.models import CustomActivity, CustomActivityTypeSpec, CustomAttributeSpec
from sia_tui.store.activities import person_activities
from sia_tui.store.db import open_db
from sia_tui.sync.activity_sync import sync_activities
from sia_tui.sync.engine import sync_with_client
from tests.conftest import SANDBOX_NOW
from tests.support.activity_store import (
    add_activities,
    advance,
    cached_ids,
    fast_client,
    faults,
    naive_reads,
)

NOW = SANDBOX_NOW
PEOPLE = 80
ACTIVITIES = "GET /rest/v1/activities.json"


def hot_ids(sb: RunningSandbox) -> list[int]:
    response = httpx.get(f"{sb.base_url}/_sandbox/people/hot")
    response.raise_for_status()
    return [p["id"] for p in response.json()]


class Setup:
    def __init__(self, running: RunningSandbox, db: Any, client: Any, clock: ManualClock) -> None:
        self.running, self.db, self.client, self.clock = running, db, client, clock

    async def connect(self) -> Any:
        return self.client

    async def sync(self) -> Any:
        await sync_with_client(self.db, self.client)
        return await sync_activities(self.db, self.client, days=90, clock=self.clock, strategy="rest")

    async def grid(self, lead: int, **options: Any) -> Any:
        options.setdefault("connect", self.connect)
        return await load_grid(self.db, lead, clock=self.clock, **options)

    def calls(self) -> int:
        return self.client.calls.snapshot().get(ACTIVITIES, 0)


@pytest.fixture
async def setup(sandbox_factory, tmp_path) -> AsyncIterator[Setup]:
    running = sandbox_factory(
        people=PEOPLE, clock_frozen=True, rate_limit_calls=100_000, daily_quota=10_000_000
    )
    db = open_db(tmp_path / "sia.db")
    async with fast_client(running) as client:
        ready = Setup(running, db, client, ManualClock(NOW))
        await ready.sync()
        yield ready
    db.conn.close()


def ordinary(setup: Setup) -> int:
    hot = set(hot_ids(setup.running))
    return next(i for i in cached_ids(setup.db) if i not in hot and i > 1001 + PEOPLE // 2)


@pytest.mark.parametrize("days", [1, 7, 30, 90])
async def test_hot_ordinary_and_quiet_people_equal_a_naive_read_over_any_range(setup, days):
    leads = [hot_ids(setup.running)[0], ordinary(setup), cached_ids(setup.db)[1]]
    expected = await naive_reads(setup.client, leads, NOW, days)
    for lead in leads:
        view = await setup.grid(lead, days=days)
        assert view.stage == "current" and view.history_complete
        assert {r.activity_id for r in view.grid.rows} == expected[lead], (lead, days)
        assert all(NOW - timedelta(days=days) <= r.date <= NOW for r in view.grid.rows)
    assert len(expected[leads[0]]) >= 300 or days < 90  # the sandbox's hot people are busy


async def test_the_store_paints_with_no_call_and_the_top_up_costs_one_call_per_chunk(setup):
    lead = hot_ids(setup.running)[1]
    before = setup.calls()
    steps = []
    async for view in stream_grid(setup.db, lead, connect=setup.connect, clock=setup.clock):
        steps.append((view.stage, setup.calls() - before, len(view.grid.rows)))
    (first, first_calls, painted), (last, last_calls, shown) = steps
    assert (first, first_calls) == ("store", 0) and painted > 300
    assert last == "current" and last_calls == 2 and shown == painted
    assert steps[1][1] == 2


async def test_new_activity_after_the_watermark_shows_on_the_next_open(setup):
    lead = ordinary(setup)
    now = advance(setup.running, setup.clock, 120)
    (added,) = add_activities(
        setup.running, [{"leadId": lead, "activityTypeId": 1, "primaryAttributeValue": "/pricing"}]
    )
    assert added["marketoGUID"] not in {a.guid for a in person_activities(setup.db, lead, NOW, now)}
    view = await setup.grid(lead)
    row = next(r for r in view.grid.rows if r.activity_id == added["marketoGUID"])
    assert (row.tab, row.title) == ("web", "/pricing")
    assert view.grid.as_of == now and view.api_calls == 2


async def test_a_top_up_under_faults_gives_the_same_rows(setup):
    lead = hot_ids(setup.running)[2]
    advance(setup.running, setup.clock, 3600)
    expected = (await naive_reads(setup.client, [lead], setup.clock()))[lead]
    faults(setup.running, 0.3)
    try:
        view = await setup.grid(lead)
    finally:
        faults(setup.running, 0.0)
    assert view.stage == "current"
    assert {r.activity_id for r in view.grid.rows} == expected


async def test_a_failure_beyond_the_retries_shows_the_store_with_one_clear_sentence(setup):
    lead = hot_ids(setup.running)[0]
    stored = await setup.grid(lead)
    async with fast_client(setup.running, max_retries=1) as impatient:

        async def connect() -> Any:
            return impatient

        faults(setup.running, 1.0, ["503"])
        try:
            view = await setup.grid(lead, connect=connect)
        finally:
            faults(setup.running, 0.0)
    assert view.stage == "error" and view.problem and "Marketo" in view.problem and "503" in view.problem
    assert "\n" not in view.problem
    assert [r.activity_id for r in view.grid.rows] == [r.activity_id for r in stored.grid.rows]
    assert view.grid.as_of == NOW  # the store's watermark: what the rows are complete up to


async def test_offline_the_store_is_the_grid_marked_with_its_age(setup):
    lead = ordinary(setup)
    setup.clock.advance(hours=2)  # two hours later, on a train

    async def unreachable() -> bool:
        return False

    async def hanging() -> Any:
        await asyncio.sleep(30)

    view = await setup.grid(lead, connect=hanging, reachable=unreachable)
    assert view.stage == "offline" and "cannot be reached" in (view.problem or "")
    assert view.grid.rows and view.grid.age() == timedelta(hours=2)


async def test_a_feed_far_behind_is_said_and_the_sync_catches_up(setup):
    lead = hot_ids(setup.running)[3]
    advance(setup.running, setup.clock, 8 * 86400)  # a week and a day with the app closed
    view = await setup.grid(lead, max_pages=1)
    # One page per chunk (+ one retry each: moving the sandbox's clock a week expired the access token: 602).
    assert view.stage == "behind" and "behind" in (view.problem or "") and view.api_calls <= 4
    assert view.grid.as_of == NOW
    await setup.sync()
    caught_up = await setup.grid(lead)
    assert caught_up.stage == "current" and caught_up.api_calls == 2
    expected = await naive_reads(setup.client, [lead], setup.clock())
    assert {r.activity_id for r in caught_up.grid.rows} == expected[lead]


async def test_a_store_never_filled_says_so_and_costs_nothing(setup, tmp_path):
    empty = open_db(tmp_path / "empty.db")
    try:
        before = setup.calls()
        view = await load_grid(empty, 1003, connect=setup.connect, clock=setup.clock)
    finally:
        empty.conn.close()
    assert view.stage == "unfilled" and "sync" in (view.problem or "") and setup.calls() == before


CALL_SPEC = CustomActivityTypeSpec(
    api_name="gridTestSalesCall",
    name="Received Sales Call (sia-tui)",
    trigger_name="Receives Sales Call (sia-tui)",
    filter_name="Received Sales Call (sia-tui)",
    primary_attribute=CustomAttributeSpec("salesCallSubject", "Sales Call Subject"),
    attributes=(
        CustomAttributeSpec("salesCallStatus", "Sales Call Status"),
        CustomAttributeSpec("salesCallDuration", "Sales Call Duration", "integer"),
        CustomAttributeSpec("source", "Source"),
    ),
)
EMAIL_SPEC = CustomActivityTypeSpec(
    api_name="gridTestSalesEmail",
    name="Send Sales Email (sia-tui)",
    trigger_name="Sends Sales Email (sia-tui)",
    filter_name="Sent Sales Email (sia-tui)",
    primary_attribute=CustomAttributeSpec("emailSubject", "Email Subject"),
    attributes=(CustomAttributeSpec("sentBy", "Sent By"), CustomAttributeSpec("source", "Source")),
)


async def test_custom_sales_types_that_appear_later_are_backfilled_into_the_sales_tab(setup):
    lead = hot_ids(setup.running)[0]
    marketo = setup.client
    call_type = await marketo.ensure_custom_activity_type(CALL_SPEC)
    email_type = await marketo.ensure_custom_activity_type(EMAIL_SPEC)
    when = datetime(2026, 2, 27, 15, 30, tzinfo=UTC)  # logged by another tool, dated days back
    call = {"salesCallStatus": "completed", "salesCallDuration": 245, "source": "sia-tui"}
    email = {"sentBy": "ann@sia.example", "source": "sia-tui"}
    results = await marketo.add_custom_activities(
        [
            CustomActivity(lead, call_type.id, "Meeting booked", when, call),
            CustomActivity(lead, email_type.id, "Pricing (SIA-1)", when + timedelta(minutes=5), email),
            CustomActivity(lead, call_type.id, "Too old", NOW - timedelta(days=91), {}),
        ]
    )
    assert all(r.ok for r in results)
    await marketo.activity_types(refresh=True)
    summary = await setup.sync()  # the new grid types' history is read (a "types" backfill)
    assert summary.backfill == "rest"
    expected = await naive_reads(marketo, [lead], NOW)
    view = await setup.grid(lead)
    assert {r.activity_id for r in view.grid.rows} == expected[lead]
    custom = {r.title: r for r in view.grid.by_tab("sales") if "logged in sia-tui" in r.detail}
    assert set(custom) == {"Meeting booked", "Pricing (SIA-1)"}
    call_row, email_row = custom["Meeting booked"], custom["Pricing (SIA-1)"]
    assert (call_row.type, call_row.date) == ("Sales Call", when)
    assert call_row.detail == "completed · 4m 05s · logged in sia-tui"
    assert email_row.type == "Send Sales Email"
    assert email_row.detail == "sent by ann@sia.example · logged in sia-tui"


async def test_calls_logged_in_msia_show_with_outcome_duration_and_seller(setup):
    marketo = setup.client
    call_id = next(t.id for t in await marketo.activity_types() if t.name == "Received Sales Call")
    cached = set(cached_ids(setup.db))
    calls = [
        r
        async for r in marketo.iter_activities([call_id], since=NOW - timedelta(days=90))
        if r["leadId"] in cached
    ]
    assert calls
    lead = calls[-1]["leadId"]
    view = await setup.grid(lead)
    rows = [r for r in view.grid.by_tab("sales") if r.type == "Sales Call"]
    mine = [c for c in calls if c["leadId"] == lead]
    assert len(rows) == len(mine)
    attributes = {a["name"]: a["value"] for a in mine[-1]["attributes"]}
    newest = max(rows, key=lambda r: r.date)
    assert newest.title == mine[-1]["primaryAttributeValue"]
    assert attributes["Sales Call Status"] in newest.detail
    assert f"by {attributes['Sales Call Made By']}" in newest.detail


async def test_leaving_early_stops_every_request_in_flight(setup):
    lead = hot_ids(setup.running)[0]
    before = len(asyncio.all_tasks())
    steps = stream_grid(setup.db, lead, connect=setup.connect, clock=setup.clock)
    first = await anext(steps)
    assert first.stage == "store"
    pending = asyncio.ensure_future(anext(steps))
    await asyncio.sleep(0)  # the top-up has started
    pending.cancel()  # what stepping to the next person does to this one's worker
    with pytest.raises(asyncio.CancelledError):
        await pending
    await steps.aclose()
    assert len(asyncio.all_tasks()) == before, [t.get_coro() for t in asyncio.all_tasks()]
    view = await setup.grid(lead, max_pages=COMMAND_MAX_PAGES)  # and the client is still fine to use
    assert view.stage == "current"


async def test_the_paint_reads_only_the_store(setup):
    lead = hot_ids(setup.running)[4]
    before = setup.calls()
    grid, feed, complete = grid_from_store(setup.db, lead, clock=setup.clock)
    assert setup.calls() == before and grid.rows and feed is not None and complete
