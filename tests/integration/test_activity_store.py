"""Acceptance (issue 13 §2): for every cached person the activity store holds exactly the activities (by
``marketoGUID``) that a naive full read of that person's 90 days returns — after a REST backfill and after a bulk
one, after feed cycles with new activities (the sandbox clock moved, activities added), under 20 % injected faults,
for a person who enters the cache (and none for one who leaves), and after pruning. The SIGKILL case is in
tests/reliability/test_activity_backfill_kill.py (a real process).

The sandbox pages as Marketo does (each call walks ~300 activities of the whole instance), with a frozen clock the
tests move; the app's clock is moved with it."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

import pytest

from sia_sandbox.server import RunningSandbox
from sia_tui.clock import ManualClock
from sia_tui.store.activities import count_activities, covered_since, feed_state, newcomers
from sia_tui.store.db import open_db
from sia_tui.store.people import get_person
from sia_tui.store.state import get_state
from sia_tui.sync.activity_sync import sync_activities
from sia_tui.sync.engine import sync_with_client
from tests.conftest import SANDBOX_NOW, MarketoHttp
from tests.support.activity_store import (
    add_activities,
    advance,
    cached_ids,
    control,
    differences,
    fast_client,
    faults,
    naive_reads,
    stored,
)

PEOPLE = 120
ACTIVITIES = "GET /rest/v1/activities.json"


@dataclass
class World:
    running: RunningSandbox
    db: Any
    client: Any
    clock: ManualClock

    async def sync(self, **options: Any) -> Any:
        """The people sync, then the activity side: what one `sia-tui sync` run does."""
        await sync_with_client(self.db, self.client)
        return await sync_activities(self.db, self.client, days=90, clock=self.clock, **options)

    async def check(self) -> dict[int, set[str]]:
        """The store equals a naive full read for every cached person; returns the naive reads."""
        leads = cached_ids(self.db)
        expected = await naive_reads(self.client, leads, self.clock())
        assert differences(expected, stored(self.db, leads, self.clock())) == {}
        return expected


@pytest.fixture
async def world(request, sandbox_factory, tmp_path) -> AsyncIterator[World]:
    # Bulk jobs move on the sandbox's clock: a bulk backfill needs it running (from SANDBOX_NOW, in real time).
    frozen = getattr(request, "param", "rest") != "bulk"
    running = sandbox_factory(
        people=PEOPLE, clock_frozen=frozen, rate_limit_calls=100_000, daily_quota=10_000_000
    )
    db = open_db(tmp_path / "sia.db")
    async with fast_client(running) as client:
        yield World(running, db, client, ManualClock(SANDBOX_NOW))
    db.conn.close()


@pytest.mark.parametrize("world", ["rest", "bulk"], indirect=True)
async def test_after_a_backfill_every_person_holds_exactly_a_naive_read(world, request):
    strategy = request.node.callspec.params["world"]
    summary = await world.sync(strategy=strategy)
    assert summary.backfill == strategy and summary.added > 0
    expected = await world.check()
    assert sum(len(v) for v in expected.values()) == count_activities(world.db)
    assert sum(1 for v in expected.values() if v) > PEOPLE // 2  # most people have activity in 90 days
    assert covered_since(world.db) == SANDBOX_NOW - timedelta(days=90)
    assert get_state(world.db, "activities.backfill") is None and newcomers(world.db) == []
    feed = feed_state(world.db)
    assert feed is not None and len(feed.chains) == 2 and feed.watermark == SANDBOX_NOW


@pytest.mark.parametrize("world", ["bulk"], indirect=True)
async def test_the_bulk_backfill_stays_within_the_export_quota_and_costs_a_few_calls(world):
    summary = await world.sync(strategy="bulk")
    stats = control(world.running, "GET", "stats")
    created = stats["requests"]["marketo"].get("POST /bulk/v1/activities/export/create.json", 0)
    assert created == 3  # 90 days in windows of at most 31
    assert summary.api_calls < 40
    assert "1029" not in stats.get("errors", {})


async def test_feed_cycles_bring_what_happened_since(world):
    await world.sync(strategy="rest")
    leads = cached_ids(world.db)
    for hours in (3, 26):  # a few hours of the instance, then a day and more (weekday office hours included)
        now = advance(world.running, world.clock, hours * 3600)
        added = add_activities(
            world.running,
            [
                {"leadId": leads[0], "activityTypeId": 1, "primaryAttributeValue": "/pricing"},
                {"leadId": leads[1], "activityTypeId": 46, "primaryAttributeValue": "Asked for a demo"},
                {"leadId": leads[2], "activityTypeId": 10, "primaryAttributeValue": "Spring newsletter"},
            ],
        )
        before = world.client.calls.snapshot().get(ACTIVITIES, 0)
        summary = await world.sync()
        calls = world.client.calls.snapshot().get(ACTIVITIES, 0) - before
        assert summary.backfill is None and summary.as_of == now.isoformat().replace("+00:00", "Z")
        assert 2 <= calls <= 2 + hours  # one call per chain, more only when the instance logged > 300 since
        mine = stored(world.db, leads[:3], now)
        assert all(item["marketoGUID"] in mine[item["leadId"]] for item in added)
        await world.check()


async def test_twenty_percent_faults_change_nothing_in_the_store(world):
    faults(world.running, 0.2)
    try:
        await world.sync(strategy="rest")
        advance(world.running, world.clock, 6 * 3600)
        await world.sync()
    finally:
        faults(world.running, 0.0)
    injected = control(world.running, "GET", "stats")["faults"]
    assert sum(injected.values()) >= 10, injected
    await world.check()


async def test_a_person_who_enters_the_cache_gets_their_history_in_the_same_run(world):
    await world.sync(strategy="rest")
    leads = cached_ids(world.db)
    owner = get_person(world.db, leads[0])["owner_email"]
    outside = [i for i in range(1001, 1001 + PEOPLE) if i not in set(leads)]
    leaving = leads[5]
    assert outside
    api = MarketoHttp(world.running)
    try:
        api.post(
            "/rest/v1/leads.json",
            {
                "action": "updateOnly",
                "lookupField": "id",
                "input": [
                    {"id": outside[0], "externalSalesPersonId": owner},
                    {"id": leaving, "sfdcLeadOwnerId": None, "externalSalesPersonId": None},
                ],
            },
        )
    finally:
        api.close()
    advance(world.running, world.clock, 60)
    before = world.client.calls.snapshot().get(ACTIVITIES, 0)
    summary = await world.sync()
    calls = world.client.calls.snapshot().get(ACTIVITIES, 0) - before
    assert summary.newcomers == 1 and summary.backfill in ("rest", "bulk")
    assert get_person(world.db, outside[0]) is not None and get_person(world.db, leaving) is None
    assert stored(world.db, [leaving], world.clock())[leaving] == set()
    expected = await world.check()
    assert expected[outside[0]], "the newcomer has history in the last 90 days"
    assert newcomers(world.db) == []
    # One walk of the newcomer's history (the instance since their createdAt, ≤ 90 days) per type chunk.
    assert calls <= 2 * (PEOPLE * 90 // 300 + 10), calls


async def test_activities_older_than_the_window_are_pruned(world):
    await world.sync(strategy="rest")
    oldest = world.db.conn.execute("SELECT min(at) FROM activities").fetchone()[0]
    advance(world.running, world.clock, 3 * 86400)
    summary = await world.sync()
    assert summary.removed > 0
    floor = (world.clock() - timedelta(days=90)).isoformat().replace("+00:00", "Z")
    assert world.db.conn.execute("SELECT min(at) FROM activities").fetchone()[0] >= floor > oldest
    await world.check()


async def test_a_second_run_with_nothing_new_costs_one_call_per_chain(world):
    await world.sync(strategy="rest")
    before = world.client.calls.snapshot()
    summary = await world.sync()
    after = world.client.calls.snapshot()
    assert summary.added == 0 and summary.backfill is None
    assert summary.api_calls == 2  # types.json is cached for a day; one activities call per chain
    assert after.get(ACTIVITIES, 0) - before.get(ACTIVITIES, 0) == 2
