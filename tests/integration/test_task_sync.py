"""Two-way reminder-task sync against the sandbox's Salesforce over HTTP (issue 7).

Each test gets a fresh sandbox on the real clock (the conflict rule compares this machine's clock with
Salesforce's), a cache with 300 people copied from the sandbox's Marketo, and a seller whose email is a sandbox
Salesforce user, so that user's reminder Tasks are "theirs". "In Salesforce" edits are made with a second client,
as a Salesforce user would make them.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
import sqlite_utils

from sia_sandbox import config as sb
from sia_sandbox.server import RunningSandbox
from sia_tui.config import Settings
from sia_tui.outbox.worker import open_worker
from sia_tui.salesforce.client import SalesforceClient
from sia_tui.salesforce.soql import soql
from sia_tui.store.people import upsert_people
from sia_tui.tasks import mapping
from sia_tui.tasks.hooks import worker_hooks
from sia_tui.tasks.store import (
    Task,
    add_task,
    complete_task,
    delete_task,
    edit_task,
    get_task,
    list_tasks,
)
from sia_tui.tasks.sync import TaskSyncResult, sync_tasks
from tests.support.outbox_env import fetch_people, open_cache, sandbox_env, settings_for
from tests.support.sandbox_control import patch_salesforce_record

TASK_FIELDS = [
    "Id",
    "Subject",
    "Status",
    "IsClosed",
    "Priority",
    "ActivityDate",
    "Description",
    "WhoId",
    "OwnerId",
    "IsDeleted",
    "SystemModstamp",
    "External_Id__c",
]


def fast_client(running: RunningSandbox) -> SalesforceClient:
    """A client with short backoffs, so fault tests stay fast."""
    return SalesforceClient(
        running.salesforce_url,
        sb.SALESFORCE_CLIENT_ID,
        sb.SALESFORCE_CLIENT_SECRET,
        backoff_base_s=0.01,
        backoff_cap_s=0.05,
        max_retries=8,
    )


@dataclass
class Env:
    running: RunningSandbox
    settings: Settings
    db: sqlite_utils.Database
    people: list[dict[str, Any]]
    sf: SalesforceClient  # the client the sync uses
    admin: SalesforceClient  # "a user in Salesforce"
    owner: str  # the seller's Salesforce user id
    env: dict[str, str]

    async def sync(self) -> TaskSyncResult:
        return await sync_tasks(self.settings, self.db, self.sf)

    async def sf_task(self, sf_id: str) -> dict[str, Any] | None:
        rows = await self.admin.query_all(soql("SELECT {:names} FROM Task WHERE Id = {}", TASK_FIELDS, sf_id))
        return rows[0] if rows else None

    async def sf_create(self, **fields: Any) -> str:
        body = {"Subject": "Call back", "Status": "Not Started", "Priority": "Normal", "OwnerId": self.owner}
        body.update(fields)
        return await self.admin.create("Task", body)

    async def ours(self, task_id: str) -> list[dict[str, Any]]:
        """Salesforce Tasks carrying this local task's marker or external id (a list, so duplicates show)."""
        rows = await self.admin.query_all(
            soql("SELECT {:names} FROM Task WHERE OwnerId = {}", TASK_FIELDS, self.owner)
        )
        return [r for r in rows if mapping.task_id_of(r, "External_Id__c") == task_id and not r["IsDeleted"]]

    def person(self, kind: str = "contact", index: int = 0) -> dict[str, Any]:
        if kind == "contact":
            found = [p for p in self.people if p["sfdc_contact_id"]]
        else:
            found = [p for p in self.people if p["sfdc_lead_id"] and not p["sfdc_contact_id"]]
        return found[index]


async def _seller(running: RunningSandbox) -> tuple[str, str]:
    """A sandbox Salesforce user owning reminder Tasks older than a day (their email, their id)."""
    async with fast_client(running) as sf:
        users = {u["Id"]: u["Email"] for u in await sf.query_list("SELECT Id, Email FROM User")}
        cutoff = datetime.now(UTC) - timedelta(days=2)
        rows = await sf.query_list(
            soql("SELECT OwnerId FROM Task WHERE TaskSubtype = 'Task' AND SystemModstamp < {}", cutoff)
        )
    counts: dict[str, int] = {}
    for row in rows:
        counts[row["OwnerId"]] = counts.get(row["OwnerId"], 0) + 1
    owner = max(counts, key=lambda k: (counts[k], k))
    return users[owner], owner


@pytest.fixture
async def make_env(
    sandbox_factory: Callable[..., RunningSandbox], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> AsyncIterator[Callable[..., Any]]:
    made: list[Env] = []

    async def make(**extra_env: str) -> Env:
        running = sandbox_factory(now=None)
        email, owner = await _seller(running)
        env = sandbox_env(
            running,
            tmp_path / f"home{len(made)}",
            SIA_SALESFORCE_SYNC_TASKS="true",
            SIA_SELLER_EMAIL=email,
            **extra_env,
        )
        monkeypatch.setenv("SIA_HOME", env["SIA_HOME"])  # the worker re-reads settings from this home
        settings = settings_for(env)
        people = await fetch_people(running, 300)
        db = open_cache(settings, people)
        e = Env(running, settings, db, people, fast_client(running), fast_client(running), owner, env)
        made.append(e)
        return e

    yield make
    for e in made:
        await e.sf.aclose()
        await e.admin.aclose()
        e.db.conn.close()


async def convert_lead(running: RunningSandbox, lead_id: str) -> str:
    """Convert a lead as a Salesforce user would (the sandbox's control endpoint); the new contact's id."""
    async with httpx.AsyncClient(base_url=running.base_url, timeout=30) as client:
        reply = await client.post(f"/services/_sandbox/leads/{lead_id}/convert")
    assert reply.status_code == 200, reply.text
    return str(reply.json()["contactId"])


def pause() -> None:
    """Let the clock move on, so "later" is strictly later on both sides (millisecond timestamps)."""
    time.sleep(0.02)


class FakeClock:
    """The worker hooks' monotonic clock, moved by hand: the sync interval is tested without sleeping."""

    def __init__(self) -> None:
        self.now = 1_000.0

    def __call__(self) -> float:
        return self.now


def backdate(running: RunningSandbox, sf_ids: list[str], when: datetime) -> None:
    """Give records an earlier SystemModstamp and LastModifiedDate in the sandbox's own store: what a save that
    started at ``when`` but committed later looks like to the next query (through its control endpoint)."""
    stamp = when.isoformat()
    for sf_id in sf_ids:
        patch_salesforce_record(running, sf_id, {"SystemModstamp": stamp, "LastModifiedDate": stamp})


# ------------------------------------------------------------------------------------------------ first enable


async def test_first_enable_imports_the_last_24_hours_and_keeps_existing_local_tasks_local(make_env):
    e = await make_env()
    person = e.person()
    before = add_task(e.db, subject="Existing local task", due="2026-12-01", marketo_id=person["marketo_id"])
    fresh = await e.sf_create(Subject="Made in Salesforce today", WhoId=person["sfdc_contact_id"])

    result = await e.sync()

    assert result.first_enable
    all_theirs = await e.admin.query_all(
        soql(
            "SELECT Id, SystemModstamp, IsDeleted FROM Task WHERE OwnerId = {} AND TaskSubtype NOT IN {}",
            e.owner,
            ["Email", "Call", "ListEmail"],
        )
    )
    now = datetime.now(UTC)
    local = {t.sf_id: t for t in list_tasks(e.db, include_done=True)}
    recent = [r["Id"] for r in all_theirs if mapping.instant(r["SystemModstamp"]) > now - timedelta(hours=23)]
    older = [r["Id"] for r in all_theirs if mapping.instant(r["SystemModstamp"]) < now - timedelta(hours=25)]
    assert fresh in recent and older, "the seeded data should give both kinds"
    assert set(recent) <= set(local), "Tasks changed in the last 24 hours are imported"
    assert not set(older) & set(local), "older Tasks are not"
    imported = local[fresh]
    assert imported.marketo_id == person["marketo_id"] and imported.subject == "Made in Salesforce today"

    # The task that existed before the first sync is never pushed, even once edited.
    edit_task(e.db, before.id, subject="Existing local task, edited")
    again = await e.sync()
    assert not again.first_enable and again.created_in_salesforce == 0 and again.imported == 0
    kept = get_task(e.db, before.id)
    assert kept is not None and kept.sf_id is None and kept.push_allowed == 0
    assert await e.ours(before.id) == []


async def test_on_the_sandbox_with_no_seller_email_the_demo_sellers_reminders_are_imported(make_env):
    """The sandbox profile's demo seller is the owner of the first cached person (as for "my people"), so turning
    task sync on in the demo imports their recent reminders instead of the API user's (who has none)."""
    e = await make_env()
    env = {
        k: v for k, v in e.env.items() if k not in ("SIA_SELLER_EMAIL", "SIA_MARKETO_BASE_URL", "SIA_PROFILE")
    }
    settings = Settings(profile="sandbox", file_values={}, env=env, paths=e.settings.paths)
    assert settings.uses_sandbox and not settings.get("seller.email")
    email = (await e.admin.query_list(soql("SELECT Email FROM User WHERE Id = {}", e.owner)))[0]["Email"]
    upsert_people(e.db, [{"marketo_id": 1, "first_name": "Demo", "owner_id": e.owner, "owner_email": email}])
    fresh = await e.sf_create(Subject="Made in Salesforce today", WhoId=e.person()["sfdc_contact_id"])

    result = await sync_tasks(settings, e.db, e.sf)

    assert result.first_enable and result.imported >= 1
    local = {t.sf_id for t in list_tasks(e.db, include_done=True)}
    assert fresh in local
    owners = await e.admin.query_all(
        soql("SELECT OwnerId FROM Task WHERE Id IN {}", sorted(i for i in local if i))
    )
    assert {r["OwnerId"] for r in owners} == {e.owner}


# ------------------------------------------------------------------------------------------------ local → Salesforce


async def test_a_local_task_reaches_salesforce_once_with_every_field_and_its_changes_follow(make_env):
    e = await make_env()
    await e.sync()  # first enable
    person = e.person()
    task = add_task(
        e.db,
        subject="Send the proposal",
        due="2026-12-31",
        priority="high",
        details="Pricing for 40 seats",
        marketo_id=person["marketo_id"],
    )

    result = await e.sync()
    assert result.created_in_salesforce == 1 and not result.errors
    [record] = await e.ours(task.id)
    assert record["Subject"] == "Send the proposal"
    assert record["ActivityDate"] == "2026-12-31"
    assert record["Priority"] == "High" and record["Status"] == "Not Started"
    assert record["WhoId"] == person["sfdc_contact_id"] and record["OwnerId"] == e.owner
    assert record["Description"].startswith("Pricing for 40 seats")
    linked = get_task(e.db, task.id)
    assert linked is not None and linked.sf_id == record["Id"] and not linked.dirty

    # A second run has nothing to do: our own write is not taken for a Salesforce edit.
    quiet = await e.sync()
    assert not quiet.changed

    edit_task(
        e.db, task.id, subject="Send the revised proposal", due="2027-01-04", priority="normal", details=""
    )
    await e.sync()
    record = await e.sf_task(linked.sf_id)
    assert record is not None
    assert (record["Subject"], record["ActivityDate"], record["Priority"]) == (
        "Send the revised proposal",
        "2027-01-04",
        "Normal",
    )
    assert mapping.strip_marker(record["Description"]) == ""

    complete_task(e.db, task.id)
    await e.sync()
    record = await e.sf_task(linked.sf_id)
    assert record is not None and record["Status"] == "Completed" and record["IsClosed"]

    delete_task(e.db, task.id)
    result = await e.sync()
    assert result.deleted_in_salesforce == 1
    record = await e.sf_task(linked.sf_id)
    assert record is not None and record["IsDeleted"]
    assert get_task(e.db, task.id) is None
    assert await e.ours(task.id) == []


async def test_external_id_field_makes_creates_upserts_without_a_marker(make_env):
    e = await make_env(SIA_SALESFORCE_EXTERNAL_ID_FIELD="External_Id__c")
    await e.sync()
    task = add_task(e.db, subject="Upserted", due="2026-12-02", marketo_id=e.person()["marketo_id"])
    await e.sync()
    [record] = await e.ours(task.id)
    assert record["External_Id__c"] == task.id
    assert mapping.marker_task_id(record["Description"]) is None


async def test_a_converted_leads_tasks_go_to_its_contact(make_env):
    e = await make_env()
    await e.sync()
    person, other = e.person(kind="lead"), e.person(kind="lead", index=1)
    before = add_task(e.db, subject="Discovery call", due="2026-12-02", marketo_id=other["marketo_id"])
    await e.sync()
    [on_lead] = await e.ours(before.id)
    assert on_lead["WhoId"] == other["sfdc_lead_id"]

    for lead in (person, other):
        lead["contact"] = await convert_lead(e.running, lead["sfdc_lead_id"])
    task = add_task(e.db, subject="Welcome call", due="2026-12-03", marketo_id=person["marketo_id"])
    result = await e.sync()
    assert result.updated_locally == 1, "the conversion moved the other task to the contact"
    [record] = await e.ours(task.id)
    assert record["WhoId"] == person["contact"]
    synced = get_task(e.db, task.id)
    assert synced is not None and synced.sf_who_id == person["contact"]
    moved = get_task(e.db, before.id)
    assert moved is not None and moved.sf_who_id == other["contact"]
    assert moved.marketo_id == other["marketo_id"], "still about the same person"


async def test_due_dates_do_not_shift_with_the_time_zone(make_env):
    import os

    e = await make_env()
    await e.sync()
    previous = os.environ.get("TZ")
    os.environ["TZ"] = "Pacific/Kiritimati"  # UTC+14: a date computed through UTC would move a day
    time.tzset()
    try:
        task = add_task(
            e.db, subject="New year check-in", due="2026-12-31", marketo_id=e.person()["marketo_id"]
        )
        sf_id = await e.sf_create(Subject="From Salesforce", ActivityDate="2027-01-01")
        await e.sync()
        [record] = await e.ours(task.id)
        assert record["ActivityDate"] == "2026-12-31"
        imported = next(t for t in list_tasks(e.db, include_done=True) if t.sf_id == sf_id)
        assert imported.due_date == "2027-01-01"
    finally:
        if previous is None:
            os.environ.pop("TZ", None)
        else:
            os.environ["TZ"] = previous
        time.tzset()


# ------------------------------------------------------------------------------------------------ Salesforce → local


async def test_salesforce_changes_reach_the_local_task_after_one_task_sync_cycle(make_env):
    """A task-sync cycle is one task-sync run; the worker runs one every ``sync.interval_s`` (the injected clock
    moves one interval between worker cycles, so each worker cycle here is also a task-sync cycle)."""
    e = await make_env()
    person = e.person(index=1)
    clock = FakeClock()
    interval = float(e.settings.get("sync.interval_s"))

    async def one_cycle() -> dict[str, Any]:
        clock.now += interval
        return (await worker.run_once()).to_json()

    async with open_worker(e.settings, db=e.db, hooks=worker_hooks(e.settings, clock=clock)) as worker:
        await one_cycle()  # first enable
        sf_id = await e.sf_create(
            Subject="Prepare the QBR", ActivityDate="2026-12-10", WhoId=person["sfdc_contact_id"]
        )
        report = await one_cycle()
        assert report["tasks"]["imported"] == 1
        [task] = [t for t in list_tasks(e.db) if t.sf_id == sf_id]
        assert (task.subject, task.due_date, task.priority, task.status) == (
            "Prepare the QBR",
            "2026-12-10",
            "Normal",
            "open",
        )
        assert task.marketo_id == person["marketo_id"]

        await e.admin.update(
            "Task",
            sf_id,
            {
                "Subject": "Prepare the QBR deck",
                "ActivityDate": "2026-12-11",
                "Priority": "High",
                "Description": "x",
            },
        )
        await one_cycle()
        updated = get_task(e.db, task.id)
        assert updated is not None
        assert (updated.subject, updated.due_date, updated.priority, updated.details) == (
            "Prepare the QBR deck",
            "2026-12-11",
            "High",
            "x",
        )

        await e.admin.update("Task", sf_id, {"Status": "Completed"})
        await one_cycle()
        done = get_task(e.db, task.id)
        assert done is not None and done.status == "done"

        await e.admin.delete("Task", sf_id)
        report = await one_cycle()
        assert report["tasks"]["removed_locally"] == 1
        assert get_task(e.db, task.id) is None


async def test_the_worker_pulls_once_per_sync_interval_and_pushes_local_changes_on_its_next_cycle(make_env):
    """With the default ``sync.interval_s`` (60 s) and worker cycles a few seconds apart: a completion or delete
    made in Salesforce is not pulled (not even asked for) by worker cycles before the interval has passed since
    the last task-sync run, and is pulled by the first worker cycle after it; a task created or edited here goes
    out on the very next worker cycle, whatever the interval."""
    e = await make_env()
    interval = float(e.settings.get("sync.interval_s"))
    assert interval == 60, "the default interval"
    clock = FakeClock()
    person = e.person()
    async with open_worker(e.settings, db=e.db, hooks=worker_hooks(e.settings, clock=clock)) as worker:
        assert worker.salesforce is not None

        async def cycle_at(moment: float) -> dict[str, Any]:
            clock.now = moment
            return (await worker.run_once()).to_json()

        start = clock.now
        assert (await cycle_at(start))["tasks"]["first_enable"]

        # Local changes: pushed on the next worker cycle, seconds later.
        to_complete = add_task(
            e.db, subject="Complete me there", due="2026-12-05", marketo_id=person["marketo_id"]
        )
        to_delete = add_task(
            e.db, subject="Delete me there", due="2026-12-06", marketo_id=person["marketo_id"]
        )
        report = await cycle_at(start + 5)
        assert report["tasks"]["created_in_salesforce"] == 2
        edit_task(e.db, to_complete.id, subject="Complete me there, renamed")
        last_run = start + 10
        report = await cycle_at(last_run)
        assert report["tasks"]["updated_in_salesforce"] == 1
        [remote] = await e.ours(to_complete.id)
        assert remote["Subject"] == "Complete me there, renamed"
        [gone] = await e.ours(to_delete.id)

        # Salesforce-side changes wait for the interval.
        await e.admin.update("Task", remote["Id"], {"Status": "Completed"})
        await e.admin.delete("Task", gone["Id"])
        calls = worker.salesforce.calls.total
        for elapsed in (5, 30, interval - 5, interval - 0.001):
            report = await cycle_at(last_run + elapsed)
            assert "tasks" not in report, f"a task sync ran {elapsed} s after the last one"
        assert worker.salesforce.calls.total == calls, "no Salesforce call before the interval"
        waiting = get_task(e.db, to_complete.id)
        assert waiting is not None and waiting.status == "open" and get_task(e.db, to_delete.id) is not None

        report = await cycle_at(last_run + interval)
        assert (report["tasks"]["updated_locally"], report["tasks"]["removed_locally"]) == (1, 1)
        done = get_task(e.db, to_complete.id)
        assert done is not None and done.status == "done"
        assert get_task(e.db, to_delete.id) is None

        # Even a quiet run costs two calls (the delete log and one query): why it is not run every worker cycle.
        calls = worker.salesforce.calls.total
        report = await cycle_at(last_run + 2 * interval)
        assert "tasks" not in report  # it ran, found nothing new and reports nothing
        assert worker.salesforce.calls.total - calls == 2


# ------------------------------------------------------------------------------------------------ overlap window


async def test_a_salesforce_change_stamped_just_before_the_watermark_is_pulled_once(make_env):
    """Salesforce stamps SystemModstamp when a save starts, but other sessions see it only once it commits, so a
    change can appear after a run whose watermark is already past its stamp. The 5-minute overlap pulls it; pulling
    the overlap again imports nothing twice and does not overwrite local edits made since."""
    overlap = timedelta(minutes=5)  # as documented (README, sia_tui.tasks.sync)
    e = await make_env()
    person = e.person(index=2)
    old_id = await e.sf_create(Subject="Last saved hours ago", WhoId=person["sfdc_contact_id"])
    backdate(e.running, [old_id], datetime.now(UTC) - timedelta(hours=3))
    first = await e.sync()  # first enable: imports the seller's Tasks changed in the last 24 hours
    watermark = mapping.instant(first.watermark)
    assert watermark is not None
    late = watermark - timedelta(minutes=2)  # before the watermark, inside the overlap
    [edited] = [t for t in list_tasks(e.db) if t.sf_id == old_id]
    await e.admin.update("Task", str(edited.sf_id), {"Subject": "Renamed in Salesforce, committed late"})
    created = await e.sf_create(
        Subject="Created in Salesforce, committed late", WhoId=person["sfdc_contact_id"]
    )
    backdate(e.running, [str(edited.sf_id), created], late)

    result = await e.sync()

    assert (result.updated_locally, result.imported) == (1, 1) and not result.conflicts
    renamed = get_task(e.db, edited.id)
    assert renamed is not None and renamed.subject == "Renamed in Salesforce, committed late"
    [new] = [t for t in list_tasks(e.db, include_done=True) if t.sf_id == created]
    assert new.subject == "Created in Salesforce, committed late" and new.marketo_id == person["marketo_id"]

    # The next run pulls the same two records again (still inside its overlap) while both have local edits.
    assert mapping.instant(result.watermark) - overlap <= late
    edit_task(e.db, edited.id, subject="Renamed here afterwards")
    edit_task(e.db, new.id, priority="high")
    again = await e.sync()
    assert (again.imported, again.updated_locally, again.conflicts) == (0, 0, [])
    assert again.updated_in_salesforce == 2
    mine = get_task(e.db, edited.id)
    assert mine is not None and mine.subject == "Renamed here afterwards" and not mine.dirty
    remote = await e.sf_task(str(edited.sf_id))
    assert remote is not None and remote["Subject"] == "Renamed here afterwards"
    high = get_task(e.db, new.id)
    assert high is not None and high.priority == "High" and not high.dirty
    linked = [t.sf_id for t in list_tasks(e.db, include_done=True) if t.sf_id]
    assert len(linked) == len(set(linked)) and linked.count(created) == 1
    assert not (await e.sync()).changed


# ------------------------------------------------------------------------------------------------ conflicts


async def _linked(e: Env, subject: str) -> Task:
    task = add_task(e.db, subject=subject, due="2026-12-15", marketo_id=e.person()["marketo_id"])
    await e.sync()
    linked = get_task(e.db, task.id)
    assert linked is not None and linked.sf_id
    return linked


async def test_conflict_the_later_edit_wins_and_a_delete_beats_an_edit(make_env):
    e = await make_env()
    await e.sync()
    sf_later = await _linked(e, "Conflict A")
    local_later = await _linked(e, "Conflict B")
    deleted_there = await _linked(e, "Conflict C")
    deleted_here = await _linked(e, "Conflict D")

    edit_task(e.db, sf_later.id, subject="A edited here")
    pause()
    await e.admin.update("Task", str(sf_later.sf_id), {"Subject": "A edited in Salesforce"})

    await e.admin.update("Task", str(local_later.sf_id), {"Subject": "B edited in Salesforce"})
    pause()
    edit_task(e.db, local_later.id, subject="B edited here", priority="high")

    edit_task(e.db, deleted_there.id, subject="C edited here")
    await e.admin.delete("Task", str(deleted_there.sf_id))

    await e.admin.update("Task", str(deleted_here.sf_id), {"Subject": "D edited in Salesforce"})
    delete_task(e.db, deleted_here.id)

    result = await e.sync()

    winners = {c["task"]: c["winner"] for c in result.conflicts}
    assert winners == {
        sf_later.id: "salesforce",
        local_later.id: "local",
        deleted_there.id: "delete",
        deleted_here.id: "delete",
    }
    a = get_task(e.db, sf_later.id)
    assert a is not None and a.subject == "A edited in Salesforce" and not a.dirty
    b_remote = await e.sf_task(str(local_later.sf_id))
    assert b_remote is not None and (b_remote["Subject"], b_remote["Priority"]) == ("B edited here", "High")
    assert get_task(e.db, deleted_there.id) is None
    d_remote = await e.sf_task(str(deleted_here.sf_id))
    assert d_remote is not None and d_remote["IsDeleted"] and get_task(e.db, deleted_here.id) is None

    settled = await e.sync()
    assert not settled.conflicts and not settled.created_in_salesforce and not settled.updated_in_salesforce


async def test_a_salesforce_edit_during_the_push_is_not_lost(make_env):
    """Salesforce changed the task after our last look but the local edit is newer: local wins, and an
    "In Progress" status set there survives a local subject edit (only fields that differ are sent)."""
    e = await make_env()
    await e.sync()
    task = await _linked(e, "Status kept")
    await e.admin.update("Task", str(task.sf_id), {"Status": "In Progress"})
    pause()
    edit_task(e.db, task.id, subject="Status kept, renamed")
    await e.sync()
    record = await e.sf_task(str(task.sf_id))
    assert record is not None and record["Subject"] == "Status kept, renamed"
    assert record["Status"] == "In Progress"
    local = get_task(e.db, task.id)
    assert local is not None and local.status == "open"


def test_the_conflict_rule_salesforce_wins_a_tie():
    stamp = "2026-11-23T10:00:00.123+00:00"
    assert mapping.resolve_conflict(stamp, "2026-11-23T10:00:00.123+0000") == "salesforce"
    assert (
        mapping.resolve_conflict("2026-11-23T10:00:00.124+00:00", "2026-11-23T10:00:00.123+0000") == "local"
    )
    assert (
        mapping.resolve_conflict("2026-11-23T10:00:00.122+00:00", "2026-11-23T10:00:00.123+0000")
        == "salesforce"
    )
    assert mapping.resolve_conflict("", "2026-11-23T10:00:00.000+0000") == "salesforce"


def test_sync_is_off_by_default(tmp_path):
    from sia_tui.config import Paths

    settings = Settings("test", env={}, paths=Paths(tmp_path, tmp_path, tmp_path, tmp_path))
    assert settings.get("salesforce.sync_tasks") is False

    async def run() -> TaskSyncResult:
        return await sync_tasks(settings, None, None)  # type: ignore[arg-type]  # nothing is touched

    assert asyncio.run(run()).enabled is False


@pytest.mark.parametrize("days_away", [20, 45])
async def test_deletes_older_than_the_delete_log_are_still_found(make_env, days_away):
    """Away longer than Salesforce keeps deletes (15 days; 30 for replication): every linked task is checked."""
    from sia_tui.store.state import set_state
    from sia_tui.tasks.sync import WATERMARK_KEY

    e = await make_env()
    await e.sync()
    kept = await _linked(e, "Still there")
    purged = await _linked(e, "Purged from the recycle bin")
    # A record that is gone for good (recycle bin emptied): not even queryAll returns it.
    e.db.conn.execute("UPDATE tasks SET sf_id = '00T8Z0000009999AAA' WHERE id = ?", (purged.id,))
    set_state(e.db, WATERMARK_KEY, (datetime.now(UTC) - timedelta(days=days_away)).isoformat())

    result = await e.sync()

    assert result.removed_locally == 1
    assert get_task(e.db, purged.id) is None and get_task(e.db, kept.id) is not None
    assert mapping.instant(result.watermark) > datetime.now(UTC) - timedelta(minutes=5)
