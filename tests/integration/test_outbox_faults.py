"""The outbox under lost replies, dropped connections, crashes mid-send and an unreachable Marketo."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest

from sia_sandbox import config as sb
from sia_sandbox.server import RunningSandbox, start_sandbox
from sia_tui.compliance.ledger import ledger_entries
from sia_tui.mail.message import build_message
from sia_tui.mail.smtp import SmtpConfig, SmtpSender
from sia_tui.marketo.client import MarketoClient
from sia_tui.outbox import queue as q
from sia_tui.outbox.model import now_utc
from sia_tui.outbox.worker import OutboxWorker, WorkerConfig, open_worker
from tests.conftest import sandbox_config
from tests.integration.test_outbox import FAST, pick, queue_call, queue_email
from tests.support.outbox_env import (
    fault_count,
    fetch_people,
    marketo_activities,
    open_cache,
    salesforce_tasks,
    sandbox_env,
    set_faults,
    settings_for,
    sink_messages,
)


@pytest.fixture(scope="module")
def running() -> Iterator[RunningSandbox]:
    config = sandbox_config(
        now=None,
        rate_limit_calls=100_000,
        daily_quota=10_000_000,
        sf_daily_limit=10_000_000,
        slow_fault_s=0.05,
    )
    with start_sandbox(config) as sandbox:
        yield sandbox


@pytest.fixture(scope="module")
def people(running: RunningSandbox) -> list[dict[str, Any]]:
    return asyncio.run(fetch_people(running, 300))


@pytest.fixture
def env(running: RunningSandbox, tmp_path: Path) -> Iterator[dict[str, str]]:
    yield sandbox_env(running, tmp_path / "home")
    set_faults(running, 0.0)


async def drain(worker: OutboxWorker, db: Any, rounds: int = 80) -> None:
    for _ in range(rounds):
        await worker.run_once()
        if q.open_count(db) == 0:
            return
        await asyncio.sleep(0.05)
    raise AssertionError(f"the outbox did not drain: {q.counts(db)}")


@pytest.mark.parametrize("external_id_field", ["", "sia_activity_id__c"])
async def test_lost_replies_never_duplicate_or_lose_anything(running, people, env, external_id_field):
    settings = settings_for({**env, "SIA_SALESFORCE_EXTERNAL_ID_FIELD": external_id_field})
    db = open_cache(settings, people)
    since = now_utc() - timedelta(minutes=5)
    targets = pick(people, 40, kind="any")
    with_sf = [p for p in targets if p["sfdc_lead_id"] or p["sfdc_contact_id"]]
    emails = [queue_email(db, settings, p) for p in targets[:12]]
    calls = [queue_call(db, settings, p, duration_s=60) for p in targets]
    # Every third request is cut: half after the server applied it (commit-then-drop), half before.
    set_faults(running, 0.35, ["commit_drop", "drop"])
    before = fault_count(running, "commit_drop")
    async with open_worker(settings, db=db, **FAST) as worker:
        await drain(worker, db)
    set_faults(running, 0.0)
    assert fault_count(running, "commit_drop") > before

    mail = sink_messages(running)
    activities = await marketo_activities(running, [p["marketo_id"] for p in targets], since)
    tasks = await salesforce_tasks(running, [p["sfdc_contact_id"] or p["sfdc_lead_id"] for p in with_sf])
    for item in emails:
        assert len(mail[item.id]) == 1
    for item in emails + calls:
        assert len(activities.get(item.id, [])) == 1, item.id
        person = next(p for p in targets if p["marketo_id"] == item.marketo_id)
        expected = 1 if (person["sfdc_lead_id"] or person["sfdc_contact_id"]) else 0
        assert len(tasks.get(item.id, [])) == expected, item.id
        assert q.get_item(db, item.id).state == "done"


async def test_marketo_unreachable_means_the_email_waits_then_goes_once(running, people, env):
    settings = settings_for(env)
    db = open_cache(settings, people)
    person = pick(people, 5, kind="any")[4]
    item = queue_email(db, settings, person)
    smtp = SmtpConfig(running.smtp_host, running.smtp_port, starttls=False)
    config = WorkerConfig(hold_delay_s=0.0, reconcile_delay_s=0.0)
    nowhere = MarketoClient(
        "http://127.0.0.1:1", sb.MARKETO_CLIENT_ID, sb.MARKETO_CLIENT_SECRET, max_retries=0
    )
    async with nowhere:
        worker = OutboxWorker(db, config=config, marketo=nowhere, salesforce=None, smtp=smtp)
        report = await worker.run_once()
    assert report.sent == 0 and item.id not in sink_messages(running)
    waiting = q.get_item(db, item.id)
    assert waiting.state == "queued" and "never sent unchecked" in waiting.explanation()
    assert [e["decision"] for e in ledger_entries(db, item_id=item.id)] == ["held"]

    async with open_worker(settings, db=db, **FAST) as worker:
        report = await worker.run_once()
    assert report.sent == 1 and len(sink_messages(running)[item.id]) == 1
    assert [e["decision"] for e in ledger_entries(db, item_id=item.id)] == ["allowed", "held"]


async def _crash_mid_send(db: Any, running: RunningSandbox, item: Any, *, delivered: bool) -> str:
    """What a worker does up to a SIGKILL: ledger + 'sending' committed, and maybe the server took the message."""
    occurred = now_utc()
    message = build_message(
        activity_id=item.id,
        sender_email=item.seller["email"],
        sender_name=item.seller["name"],
        to=item.payload["to"],
        cc=[],
        subject=item.payload["subject"],
        body=item.payload["body"],
        date=occurred,
    )
    assert q.start_send(
        db, item.id, request={"message_id": message["Message-ID"]}, occurred_at=occurred, reason="ok",
        source="test", marketo_id=item.marketo_id, email=item.payload["to"][0], detail=None,
    )  # fmt: skip
    if delivered:
        async with SmtpSender(SmtpConfig(running.smtp_host, running.smtp_port, starttls=False)) as sender:
            await sender.send(message, item.seller["email"], item.payload["to"])
    return str(message["Message-ID"])


@pytest.mark.parametrize("delivered", [True, False])
async def test_a_send_cut_by_a_crash_is_settled_exactly_with_the_sandbox_mail_list(
    running, people, env, delivered
):
    settings = settings_for(env)
    db = open_cache(settings, people)
    item = queue_email(db, settings, pick(people, 6, kind="any")[5 if delivered else 4])
    message_id = await _crash_mid_send(db, running, item, delivered=delivered)
    async with open_worker(settings, db=db, mail_lookup_url=running.base_url, **FAST) as worker:
        report = await worker.run_once()
    assert len(sink_messages(running)[item.id]) == 1
    assert report.sent == (0 if delivered else 1)
    done = q.get_item(db, item.id)
    assert done.state == "done" and done.destinations["smtp"].ref == message_id


async def test_without_a_mail_lookup_an_interrupted_send_is_resent_with_the_same_message_id(
    running, people, env
):
    """The documented SMTP window: real SMTP has no lookup, so the duplicate (if any) shares the Message-ID."""
    settings = settings_for(env)
    db = open_cache(settings, people)
    item = queue_email(db, settings, pick(people, 8, kind="any")[7])
    await _crash_mid_send(db, running, item, delivered=True)
    async with open_worker(settings, db=db, **FAST) as worker:
        await worker.run_once()
    copies = sink_messages(running)[item.id]
    assert len(copies) == 2 and copies[0]["message_id"] == copies[1]["message_id"]
    done = q.get_item(db, item.id)
    assert done.state == "done" and "may see it twice" in done.explanation()
