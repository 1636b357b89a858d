"""Unsubscribes written to Salesforce (issue 7): Marketo-observed ones (end to end: an unsubscribe in Marketo, one
incremental people sync, one worker cycle; and from a queue row, as the people sync writes it) and seller opt-outs
reach the Lead/Contact opt-out field within one worker cycle; re-subscribes are never pushed."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
import sqlite_utils

from sia_sandbox.server import RunningSandbox
from sia_tui.compliance.ledger import ledger_entries
from sia_tui.compliance.optouts import add_optout
from sia_tui.compliance.salesforce_optout_push import push_optouts
from sia_tui.compliance.salesforce_optouts import queue_for_salesforce, queue_row, record_seller_optout
from sia_tui.config import Settings
from sia_tui.outbox.compose import prepare_email, seller_from_settings
from sia_tui.outbox.queue import enqueue_email, get_item
from sia_tui.outbox.worker import OutboxWorker, open_worker
from sia_tui.salesforce.client import SalesforceClient
from sia_tui.store.people import get_person, upsert_people
from sia_tui.sync.engine import run_sync
from sia_tui.tasks.hooks import worker_hooks
from tests.conftest import MarketoHttp
from tests.integration.test_task_sync import convert_lead, fast_client
from tests.support.outbox_env import fetch_people, open_cache, reachable, sandbox_env, settings_for

FIELD = "HasOptedOutOfEmail"


@dataclass
class Env:
    running: RunningSandbox
    settings: Settings
    db: sqlite_utils.Database
    people: list[dict[str, Any]]
    admin: SalesforceClient

    def pick(self, kind: str, n: int = 1, *, skip: int = 0) -> list[dict[str, Any]]:
        """People still subscribed, known in Salesforce by a contact or by a lead only."""
        key = "sfdc_contact_id" if kind == "contact" else "sfdc_lead_id"
        found = [
            p
            for p in self.people
            if p[key] and not p["unsubscribed"] and (kind == "contact" or not p["sfdc_contact_id"])
        ]
        return found[skip : skip + n]

    async def opted_out(self, record_id: str) -> bool:
        sobject = "Lead" if record_id.startswith("00Q") else "Contact"
        return bool((await self.admin.get(sobject, record_id, [FIELD]))[FIELD])

    def writes(self) -> int:
        """Composite PATCH calls (record updates) the sandbox has served."""
        stats = httpx.get(f"{self.running.base_url}/_sandbox/stats", timeout=30).json()
        return sum(
            n
            for key, n in stats["requests"]["salesforce"].items()
            if key.startswith("PATCH") and "composite/sobjects" in key
        )

    async def cycle(self, worker: OutboxWorker) -> dict[str, Any]:
        return (await worker.run_once()).to_json()


@pytest.fixture
async def make_env(
    sandbox_factory: Callable[..., RunningSandbox], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> AsyncIterator[Callable[..., Any]]:
    made: list[Env] = []

    async def make(**extra: str) -> Env:
        running = sandbox_factory()
        env = sandbox_env(running, tmp_path / f"home{len(made)}", **extra)
        monkeypatch.setenv("SIA_HOME", env["SIA_HOME"])
        settings = settings_for(env)
        people = await fetch_people(running, 300)
        e = Env(running, settings, open_cache(settings, people), people, fast_client(running))
        made.append(e)
        return e

    yield make
    for e in made:
        await e.admin.aclose()
        e.db.conn.close()


async def test_a_marketo_unsubscribe_and_a_seller_optout_reach_salesforce_after_one_worker_cycle(make_env):
    e = await make_env()
    [unsubscribed] = e.pick("contact")
    [asked] = e.pick("lead")
    assert not await e.opted_out(unsubscribed["sfdc_contact_id"])
    assert not await e.opted_out(asked["sfdc_lead_id"])
    queue_for_salesforce(e.db, [unsubscribed["marketo_id"]], "marketo")  # what the people sync writes
    record_seller_optout(e.db, asked["marketo_id"], reason="asked on the phone")

    async with open_worker(e.settings, db=e.db, hooks=worker_hooks(e.settings)) as worker:
        report = await e.cycle(worker)
        assert sorted(report["optouts"]["pushed"]) == sorted(
            [unsubscribed["marketo_id"], asked["marketo_id"]]
        )
        assert await e.opted_out(unsubscribed["sfdc_contact_id"])
        assert await e.opted_out(asked["sfdc_lead_id"])
        row = queue_row(e.db, asked["marketo_id"])
        assert row is not None and row["pushed_at"] and row["last_error"] is None
        seller_row = e.db.conn.execute(
            "SELECT reason, pushed_to_salesforce_at FROM optouts WHERE marketo_id = ?", (asked["marketo_id"],)
        ).fetchone()
        assert seller_row[0] == "asked on the phone" and seller_row[1]

        writes = e.writes()
        quiet = await e.cycle(worker)
        assert "optouts" not in quiet and e.writes() == writes, "nothing is written twice"


async def test_an_unsubscribe_in_marketo_reaches_salesforce_after_one_sync_and_one_worker_cycle(make_env):
    """End to end: a person unsubscribes in Marketo; one incremental people sync sees it and queues it; the next
    worker cycle blocks the email already waiting for them (the compliance ledger says why) and sets the Contact's
    opt-out field."""
    e = await make_env()
    initial = await run_sync(e.settings)  # the profile's own people sync, as `sia-tui sync` runs it
    assert initial.kind == "initial"
    flagged = {p["email"].lower() for p in e.people if p["email"] and not reachable(p)}
    person = next(
        p
        for p in e.pick("contact", 300)
        if reachable(p) and p["email"].lower() not in flagged and get_person(e.db, p["marketo_id"])
    )
    contact = person["sfdc_contact_id"]
    assert not await e.opted_out(contact)
    draft = prepare_email(
        e.db,
        person["marketo_id"],
        subject="Following up",
        body="Hi {{first_name}}, a short note.",
        seller=seller_from_settings(e.settings),
    )
    email = enqueue_email(e.db, draft)  # written before the unsubscribe, not sent yet

    api = MarketoHttp(e.running)
    try:
        api.post(
            "/rest/v1/leads.json",
            {
                "action": "updateOnly",
                "lookupField": "id",
                "input": [{"id": person["marketo_id"], "unsubscribed": True}],
            },
        )
    finally:
        api.close()

    summary = await run_sync(e.settings)
    assert summary.kind == "incremental" and summary.unsubscribed == 1
    cached = get_person(e.db, person["marketo_id"])
    assert cached is not None and cached["unsubscribed"] == 1
    queued = queue_row(e.db, person["marketo_id"])
    assert queued is not None and queued["source"] == "marketo" and queued["pushed_at"] is None
    assert not await e.opted_out(contact), "nothing is written to Salesforce by the sync itself"

    async with open_worker(e.settings, db=e.db, hooks=worker_hooks(e.settings), hold_delay_s=0.0) as worker:
        report = await e.cycle(worker)

    assert report["optouts"]["pushed"] == [person["marketo_id"]]
    assert report["optouts"]["records_updated"] == [contact]
    assert await e.opted_out(contact)
    pushed = queue_row(e.db, person["marketo_id"])
    assert pushed is not None and pushed["pushed_at"] and pushed["last_error"] is None
    blocked = get_item(e.db, email.id)
    assert blocked is not None and blocked.state == "blocked" and report["blocked"] == 1
    [entry] = ledger_entries(e.db, item_id=email.id)
    assert entry["decision"] == "blocked" and entry["marketo_id"] == person["marketo_id"]
    assert "unsubscribed" in entry["reason"]


async def test_a_converted_leads_contact_gets_the_optout(make_env):
    e = await make_env()
    [person] = e.pick("lead")
    contact = await convert_lead(e.running, person["sfdc_lead_id"])
    record_seller_optout(e.db, person["marketo_id"])
    result = await push_optouts(e.settings, e.db, e.admin)
    assert result.pushed == [person["marketo_id"]] and not result.failed
    assert result.records_updated == [contact]
    assert await e.opted_out(contact)


async def test_failures_are_kept_with_their_error_and_tried_again(make_env):
    e = await make_env()
    good, broken = e.pick("contact", 2)
    no_record = next(p for p in e.people if not p["sfdc_lead_id"] and not p["sfdc_contact_id"])
    await e.admin.delete("Contact", broken["sfdc_contact_id"])
    queue_for_salesforce(e.db, [good["marketo_id"], broken["marketo_id"], no_record["marketo_id"]])

    first = await push_optouts(e.settings, e.db, e.admin)
    assert first.pushed == [good["marketo_id"]]
    assert "ENTITY_IS_DELETED" in first.failed[broken["marketo_id"]]
    assert "no Salesforce lead or contact id" in first.waiting[no_record["marketo_id"]]
    row = queue_row(e.db, broken["marketo_id"])
    assert row is not None and row["pushed_at"] is None and row["attempts"] == 1
    assert "ENTITY_IS_DELETED" in row["last_error"]

    # The sync later links the person to a live contact: the next push succeeds.
    [other] = e.pick("contact", skip=5)
    upsert_people(e.db, [{**broken, "sfdc_contact_id": other["sfdc_contact_id"]}])
    second = await push_optouts(e.settings, e.db, e.admin)
    assert second.pushed == [broken["marketo_id"]]
    row = queue_row(e.db, broken["marketo_id"])
    assert row is not None and row["pushed_at"] and row["attempts"] == 2 and row["last_error"] is None
    assert await e.opted_out(other["sfdc_contact_id"])


async def test_a_resubscribe_is_never_pushed(make_env):
    e = await make_env()
    [person] = e.pick("contact")
    queue_for_salesforce(e.db, [person["marketo_id"]])
    await push_optouts(e.settings, e.db, e.admin)
    assert await e.opted_out(person["sfdc_contact_id"])

    # Marketo re-subscribes the person; Salesforce's field is cleared there by an admin.
    upsert_people(e.db, [{**person, "unsubscribed": False}])
    assert queue_for_salesforce(e.db, [person["marketo_id"]]) == 0
    await e.admin.update("Contact", person["sfdc_contact_id"], {FIELD: False})
    writes = e.writes()
    async with open_worker(e.settings, db=e.db, hooks=worker_hooks(e.settings, min_interval_s=0)) as worker:
        report = await e.cycle(worker)
    assert "optouts" not in report and e.writes() == writes
    assert not await e.opted_out(person["sfdc_contact_id"]), "the re-subscribe stands: nothing was pushed"


async def test_many_optouts_go_in_batches_of_200_with_per_record_results(make_env):
    e = await make_env()
    ids = [p["marketo_id"] for p in e.people]
    queue_for_salesforce(e.db, ids)
    leads = {p["sfdc_lead_id"] for p in e.people if p["sfdc_lead_id"]}
    contacts = {p["sfdc_contact_id"] for p in e.people if p["sfdc_contact_id"]}
    writes = e.writes()
    result = await push_optouts(e.settings, e.db, e.admin)
    assert e.writes() - writes == -(-len(leads) // 200) + -(-len(contacts) // 200)
    known = {p["marketo_id"] for p in e.people if p["sfdc_lead_id"] or p["sfdc_contact_id"]}
    assert set(result.pushed) == known and set(result.waiting) == set(ids) - known
    assert set(result.records_updated) == leads | contacts


async def test_an_address_only_optout_is_found_by_email(make_env):
    e = await make_env()
    [person] = e.pick("contact", skip=3)
    add_optout(e.db, marketo_id=None, email=person["email"].upper(), reason="wrote to support")
    result = await push_optouts(e.settings, e.db, e.admin)
    assert result.emails_pushed == [person["email"].upper()]
    assert await e.opted_out(person["sfdc_contact_id"])
    assert e.db.conn.execute("SELECT pushed_to_salesforce_at FROM optouts").fetchone()[0]


async def test_a_custom_optout_field_is_used(make_env):
    e = await make_env(SIA_SALESFORCE_OPTOUT_FIELD="DoNotCall")
    [person] = e.pick("contact", skip=4)
    queue_for_salesforce(e.db, [person["marketo_id"]])
    await push_optouts(e.settings, e.db, e.admin)
    record = await e.admin.get("Contact", person["sfdc_contact_id"], ["DoNotCall", FIELD])
    assert record["DoNotCall"] is True and record[FIELD] is False
