"""Emails and calls through the outbox to the sandbox: sent once, logged once, blocked when they must be."""

from __future__ import annotations

import asyncio
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest

from sia_sandbox.server import RunningSandbox
from sia_tui.compliance.ledger import ledger_entries
from sia_tui.compliance.optouts import add_optout
from sia_tui.outbox.compose import prepare_call, prepare_email, seller_from_settings
from sia_tui.outbox.model import now_utc
from sia_tui.outbox.queue import (
    OutboxError,
    cancel_item,
    enqueue_call,
    enqueue_email,
    get_item,
    list_items,
    retry_item,
)
from sia_tui.outbox.worker import open_worker
from sia_tui.salesforce.ids import to_18
from sia_tui.store.people import upsert_people
from tests.support.outbox_env import (
    marketo_activities,
    open_cache,
    reachable,
    salesforce_tasks,
    sandbox_env,
    sandbox_seller_email,
    settings_for,
    sink_messages,
)

FAST = {"retry_base_s": 0.01, "retry_cap_s": 0.05, "reconcile_delay_s": 0.0, "hold_delay_s": 0.0}


@pytest.fixture
def env(running: RunningSandbox, tmp_path: Path) -> dict[str, str]:
    # A seller who is a Salesforce User, so Tasks get their OwnerId and reports carry no "no owner" warning.
    return sandbox_env(running, tmp_path / "home", SIA_SELLER_EMAIL=sandbox_seller_email(running))


def pick(people: list[dict[str, Any]], n: int, *, kind: str = "any", flagged_emails: set[str] | None = None):
    flagged_emails = flagged_emails or {p["email"].lower() for p in people if p["email"] and not reachable(p)}
    out = []
    for p in people:
        ok = reachable(p) and p["email"].lower() not in flagged_emails
        if kind == "contact" and not (ok and p["sfdc_contact_id"]):
            continue
        if kind == "lead" and not (ok and p["sfdc_lead_id"] and not p["sfdc_contact_id"]):
            continue
        if kind == "any" and not ok:
            continue
        if kind == "no_sfdc" and not (ok and not p["sfdc_lead_id"] and not p["sfdc_contact_id"]):
            continue
        if kind == "unsubscribed" and not p["unsubscribed"]:
            continue
        out.append(p)
        if len(out) == n:
            break
    assert len(out) == n, f"the sandbox has fewer than {n} {kind} people"
    return out


def queue_email(db, settings, person, **kw):
    kw.setdefault("subject", 'Hello {{first_name | default: "there"}}')
    kw.setdefault(
        "body", 'Hi {{first_name | default: "there"}}, a note for {{company_friendly}}.\n\n{{my_name}}'
    )
    draft = prepare_email(db, person["marketo_id"], seller=seller_from_settings(settings), **kw)
    return enqueue_email(db, draft)


def queue_call(db, settings, person, **kw):
    kw.setdefault("outcome", "Connected")
    draft = prepare_call(
        db,
        person["marketo_id"],
        seller=seller_from_settings(settings),
        outcomes=settings.get("calls.outcomes"),
        reasons=settings.get("calls.reasons"),
        **kw,
    )
    return enqueue_call(db, draft)


async def test_email_and_call_reach_every_destination_once(running, people, env):
    settings = settings_for(env)
    db = open_cache(settings, people)
    contact, lead = pick(people, 1, kind="contact")[0], pick(people, 1, kind="lead")[0]
    since = now_utc() - timedelta(minutes=5)
    email = queue_email(db, settings, contact, cc="boss@seller.example", bcc="crm@seller.example")
    call = queue_call(
        db, settings, lead, reason="Follow-up", duration_s=312, notes="Asked for pricing", status="no-answer"
    )
    assert (email.state, call.state) == ("queued", "queued")

    async with open_worker(settings, db=db, **FAST) as worker:
        report = await worker.run_once()
    assert report.to_json() == {
        "sent": 1, "logged_marketo": 2, "logged_salesforce": 2, "blocked": 0, "failed": 0, "pending": 0,
    }  # fmt: skip

    mail = sink_messages(running)[email.id]
    assert len(mail) == 1
    assert mail[0]["message_id"] == get_item(db, email.id).destinations["smtp"].ref
    assert mail[0]["subject"] == f"Hello {contact['first_name']}"
    assert mail[0]["to"] == [contact["email"]] and mail[0]["cc"] == ["boss@seller.example"]
    assert mail[0]["bcc"] == ["crm@seller.example"]

    activities = await marketo_activities(running, [contact["marketo_id"], lead["marketo_id"]], since)
    assert len(activities[email.id]) == len(activities[call.id]) == 1
    assert activities[email.id][0]["primaryAttributeValue"].endswith(f"(SIA-{email.id[:8]})")
    call_attrs = {a["name"]: a["value"] for a in activities[call.id][0]["attributes"]}
    assert call_attrs["Sales Call Status"] == "no answer" and int(call_attrs["Sales Call Duration"]) == 312
    assert activities[call.id][0]["primaryAttributeValue"] == "Connected"

    tasks = await salesforce_tasks(running, [contact["sfdc_contact_id"], lead["sfdc_lead_id"]])
    email_task, call_task = tasks[email.id][0], tasks[call.id][0]
    assert len(tasks[email.id]) == len(tasks[call.id]) == 1
    assert email_task["Subject"] == f"Email: Hello {contact['first_name']}"
    assert (email_task["TaskSubtype"], email_task["Type"], email_task["Status"]) == (
        "Email",
        "Email",
        "Completed",
    )
    assert email_task["WhoId"][:15] == contact["sfdc_contact_id"][:15]
    assert email_task["WhatId"] is not None  # a contact's Task is related to its opportunity or account
    assert email_task["ActivityDate"] == get_item(db, email.id).local_date
    assert call_task["WhatId"] is None  # a lead's Task cannot be related to a record
    assert (call_task["TaskSubtype"], call_task["CallType"], call_task["CallDisposition"]) == (
        "Call",
        "Outbound",
        "Connected",
    )
    assert call_task["CallDurationInSeconds"] == 312 and call_task["Subject"] == "Call: Connected / Follow-up"
    assert "Asked for pricing" in call_task["Description"]

    # A second run has nothing to do and writes nothing.
    async with open_worker(settings, db=db, **FAST) as worker:
        assert (await worker.run_once()).to_json()["sent"] == 0
    assert len(sink_messages(running)[email.id]) == 1


async def test_unsubscribed_and_opted_out_people_are_blocked_with_the_reason(running, people, env):
    settings = settings_for(env)
    db = open_cache(settings, people)
    unsubscribed = pick(people, 1, kind="unsubscribed")[0]
    opted_out = pick(people, 1, kind="any")[0]
    add_optout(db, marketo_id=opted_out["marketo_id"], email=opted_out["email"], reason="asked on the phone")
    blocked_by_cc = pick(people, 2, kind="any")[1]
    items = [
        queue_email(db, settings, unsubscribed),
        queue_email(db, settings, opted_out),
        queue_email(db, settings, blocked_by_cc, cc=unsubscribed["email"]),
    ]
    async with open_worker(settings, db=db, **FAST) as worker:
        report = await worker.run_once()
    assert report.blocked == 3 and report.sent == 0
    mail = sink_messages(running)
    for item in items:
        done = get_item(db, item.id)
        assert done.state == "blocked" and item.id not in mail
        assert {d.state for d in done.destinations.values()} == {"blocked"}  # not logged as sent anywhere
        [entry] = ledger_entries(db, item_id=item.id)
        assert entry["decision"] == "blocked"
    assert "unsubscribed" in get_item(db, items[0].id).explanation()
    assert ledger_entries(db, item_id=items[1].id)[0]["source"] == "local opt-out"
    assert "asked on the phone" in ledger_entries(db, item_id=items[1].id)[0]["reason"]
    assert unsubscribed["email"] in ledger_entries(db, item_id=items[2].id)[0]["reason"]


async def test_salesforce_skips_people_without_ids_and_follows_the_log_settings(running, people, env):
    no_sfdc = pick(people, 1, kind="no_sfdc")[0]
    lead = pick(people, 1, kind="lead")[0]
    settings = settings_for(env)
    db = open_cache(settings, people)
    call_no_id = queue_call(db, settings, no_sfdc)
    async with open_worker(settings, db=db, **FAST) as worker:
        await worker.run_once()
    done = get_item(db, call_no_id.id)
    assert done.state == "done"
    assert done.destinations["marketo"].state == "done"
    assert done.destinations["salesforce"].state == "skipped"
    # No Salesforce id, and (item 13) no Lead or Contact with their address either: skipped, saying so.
    assert done.destinations["salesforce"].reason == (
        f"not logged: no Salesforce Lead or Contact has the address {no_sfdc['email']}"
    )

    settings_off = settings_for({**env, "SIA_SALESFORCE_LOG_CALLS": "false"})
    call_off = queue_call(db, settings_off, lead)
    email_on = queue_email(db, settings_off, lead)
    async with open_worker(settings_off, db=db, **FAST) as worker:
        await worker.run_once()
    assert (
        get_item(db, call_off.id).destinations["salesforce"].reason
        == "not logged: salesforce.log_calls is off"
    )
    assert get_item(db, email_on.id).destinations["salesforce"].state == "done"


async def test_external_id_upsert_and_custom_outcome_fields(running, people, env):
    settings = settings_for(
        {
            **env,
            "SIA_SALESFORCE_EXTERNAL_ID_FIELD": "sia_activity_id__c",
            "SIA_SALESFORCE_CALL_OUTCOME_FIELD": "mktosales_call_outcome__c",
            "SIA_SALESFORCE_SUBJECT_TEMPLATE": "[SIA] {{activity_type}} - {{call_outcome}}",
        }
    )
    db = open_cache(settings, people)
    contact = pick(people, 2, kind="contact")[1]
    call = queue_call(db, settings, contact, outcome="meeting booked")
    async with open_worker(settings, db=db, **FAST) as worker:
        await worker.run_once()
    [task] = (await salesforce_tasks(running, [contact["sfdc_contact_id"]]))[call.id]
    assert task["sia_activity_id__c"] == call.id
    assert task["mktosales_call_outcome__c"] == "Meeting booked"
    assert task["Subject"] == "[SIA] Call - Meeting booked"


async def test_cancel_retry_and_dead_letter(running, people, env, tmp_path):
    person = pick(people, 3, kind="contact")[2]
    # An SMTP port where nothing listens: every send fails, so the email dead-letters after 2 attempts.
    settings = settings_for({**env, "SIA_SMTP_PORT": "1"})
    db = open_cache(settings, people)
    doomed = queue_email(db, settings, person)
    cancelled = queue_email(db, settings, person, subject="Never mind")
    assert cancel_item(db, cancelled.id[:8]).state == "cancelled"
    with pytest.raises(OutboxError, match="nothing left to cancel"):
        cancel_item(db, cancelled.id)
    async with open_worker(settings, db=db, max_attempts=2, **FAST) as worker:
        first = await worker.run_once()
        assert first.failed == 1 and get_item(db, doomed.id).state == "retrying"
        await asyncio.sleep(0.1)  # past the (tiny) backoff
        second = await worker.run_once()
    dead = get_item(db, doomed.id)
    assert second.failed == 1 and dead.state == "dead"
    assert "gave up after 2 attempts" in dead.destinations["smtp"].reason
    assert "Cannot connect to the SMTP server" in dead.explanation()
    assert get_item(db, cancelled.id).destinations["smtp"].state == "cancelled"
    assert doomed.id not in sink_messages(running) and cancelled.id not in sink_messages(running)

    # Retry once the SMTP server is right again: it goes out, exactly once; the cancelled one never does.
    assert retry_item(db, doomed.id).state == "queued"
    async with open_worker(settings_for(env), db=db, **FAST) as worker:
        report = await worker.run_once()
    assert report.sent == 1 and get_item(db, doomed.id).state == "done"
    assert len(sink_messages(running)[doomed.id]) == 1 and cancelled.id not in sink_messages(running)
    with pytest.raises(OutboxError, match="was cancelled"):
        retry_item(db, cancelled.id)


async def test_permanent_salesforce_refusal_is_dead_with_salesforces_words(running, people, env):
    settings = settings_for(env)
    db = open_cache(settings, people)
    person = dict(pick(people, 4, kind="lead")[3])
    person.update(sfdc_lead_id=to_18("00Q000000000042"))  # a well-formed id of no lead
    upsert_people(db, [person])
    call = queue_call(db, settings, person)
    async with open_worker(settings, db=db, **FAST) as worker:
        await worker.run_once()
    sf = get_item(db, call.id).destinations["salesforce"]
    assert sf.state == "dead" and "INVALID_CROSS_REFERENCE_KEY" in sf.reason
    assert get_item(db, call.id).destinations["marketo"].state == "done"
    assert [i.id for i in list_items(db, states=["dead"])] == [call.id]


async def test_record_only_logs_once_to_marketo_and_salesforce_and_sends_nothing(running, people, env):
    settings = settings_for(env)
    db = open_cache(settings, people)
    contact = pick(people, 5, kind="contact")[4]
    since = now_utc() - timedelta(minutes=5)
    item = queue_email(
        db,
        settings,
        contact,
        subject="Lunch with {{first_name}}",
        body="Sent from my phone.",
        record_only=True,
    )
    assert item.record_only and item.state == "queued"
    assert item.destinations["smtp"].state == "skipped"
    assert "recorded only" in item.destinations["smtp"].reason
    [entry] = ledger_entries(db, item_id=item.id)
    assert (entry["decision"], entry["source"]) == ("recorded", "record only")
    assert entry["email"] == contact["email"] and "outside sia-tui" in entry["reason"]

    async with open_worker(settings, db=db, **FAST) as worker:
        report = await worker.run_once()
    assert report.to_json() == {
        "sent": 0, "logged_marketo": 1, "logged_salesforce": 1, "blocked": 0, "failed": 0, "pending": 0,
    }  # fmt: skip
    done = get_item(db, item.id)
    assert done.state == "done"
    assert {name: d.state for name, d in done.destinations.items()} == {
        "smtp": "skipped",
        "marketo": "done",
        "salesforce": "done",
    }

    # A second run finds nothing to do; nothing reached the SMTP sink, and each system has the email once.
    async with open_worker(settings, db=db, **FAST) as worker:
        again = await worker.run_once()
    assert (again.sent, again.logged_marketo, again.logged_salesforce) == (0, 0, 0)
    assert item.id not in sink_messages(running)
    activities = (await marketo_activities(running, [contact["marketo_id"]], since))[item.id]
    assert len(activities) == 1
    attrs = {a["name"]: a["value"] for a in activities[0]["attributes"]}
    assert str(attrs["Recorded Only"]).lower() == "true"
    assert activities[0]["primaryAttributeValue"].startswith(f"Lunch with {contact['first_name']}")
    [task] = (await salesforce_tasks(running, [contact["sfdc_contact_id"]]))[item.id]
    assert (task["TaskSubtype"], task["Status"]) == ("Email", "Completed")
    assert task["Subject"] == f"Email: Lunch with {contact['first_name']}"
    # The ledger still holds the one "recorded" decision: no send-time check, nothing "allowed".
    assert [e["decision"] for e in ledger_entries(db, item_id=item.id)] == ["recorded"]
