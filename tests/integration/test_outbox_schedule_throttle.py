"""Scheduled sends and the per-seller send rate, with an injected clock (no waiting) and the sandbox's SMTP sink
(issue 15: "Scheduled send for any email: --send-at" and "Throttles")."""

from __future__ import annotations

import os
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from sia_sandbox.server import RunningSandbox
from sia_tui.clock import ManualClock
from sia_tui.clock import require_time as parse_iso
from sia_tui.mail.smtp import SmtpConfig
from sia_tui.outbox import throttle
from sia_tui.outbox.compose import prepare_email, seller_from_settings
from sia_tui.outbox.queue import cancel_item, counts, enqueue_email, get_item, list_items
from sia_tui.outbox.worker import OutboxWorker, WorkerConfig
from sia_tui.store.db import open_db
from tests.integration.test_outbox import pick
from tests.support.outbox_env import open_cache, sandbox_env, settings_for, sink_messages

START = datetime.now(UTC).replace(microsecond=0)


@pytest.fixture
def env(running: RunningSandbox, tmp_path: Path) -> dict[str, str]:
    return sandbox_env(running, tmp_path / "home")


def smtp_of(running: RunningSandbox) -> SmtpConfig:
    return SmtpConfig(running.smtp_host, running.smtp_port, "", "", False)


def mail_only_worker(db, running: RunningSandbox, clock: ManualClock, rate: throttle.SendRate | None) -> OutboxWorker:
    """A worker that only sends mail (no Marketo or Salesforce to log to: their destinations wait), checking the
    cached flags (the live check is the subject of other tests)."""
    config = WorkerConfig(unsubscribe_check=False, send_rate=rate, hold_delay_s=3600.0)
    return OutboxWorker(db, config=config, marketo=None, salesforce=None, smtp=smtp_of(running), clock=clock)


def queue(db, settings, people: list[dict[str, Any]], count: int, clock: ManualClock, **kw: Any) -> list[Any]:
    seller = seller_from_settings(settings)
    items = []
    for index in range(count):
        person = people[index % len(people)]
        draft = prepare_email(db, person["marketo_id"], subject=f"Note {index}", body="Hello", seller=seller)
        items.append(enqueue_email(db, draft, now=clock(), **kw))
        clock.advance(milliseconds=1)  # queued one after another, as a seller (or a campaign) does
    return items


def sent_times(db) -> list[datetime]:
    return [parse_iso(r[0]) for r in db.conn.execute("SELECT at FROM outbox_send_log ORDER BY at")]


# ------------------------------------------------------------------------------------------------ throttle


async def test_a_burst_of_100_goes_out_at_the_configured_rate_and_nothing_is_lost(running, people, env):
    settings = settings_for(env)
    db = open_cache(settings, people)
    clock = ManualClock(START)
    rate = throttle.SendRate(per_window=25, window_s=45, per_day=1000, zone=UTC)
    items = queue(db, settings, pick(people, 50), 100, clock)
    worker = mail_only_worker(db, running, clock, rate)
    clock.set(START + timedelta(seconds=1))

    report = await worker.run_once()
    assert report.sent == 25 and report.extra["throttled"] == 75
    assert {i.id for i in items[:25]} == {r[0] for r in db.conn.execute("SELECT item_id FROM outbox_send_log")}
    waiting = get_item(db, items[30].id).destinations["smtp"]
    assert waiting.held and "25 emails per 45 s" in waiting.held_reason
    assert parse_iso(waiting.next_attempt_at) == START + timedelta(seconds=46)  # when it will go
    last = get_item(db, items[99].id).destinations["smtp"]
    assert parse_iso(last.next_attempt_at) == START + timedelta(seconds=136)
    assert "held until" in get_item(db, items[99].id).explanation()
    # One more queued while the rest wait goes after them, and the earlier ones keep their times.
    clock.advance(seconds=2)
    items += queue(db, settings, pick(people, 1), 1, clock)
    await worker.run_once()
    assert parse_iso(get_item(db, items[100].id).destinations["smtp"].next_attempt_at) == START + timedelta(
        seconds=181
    )
    assert parse_iso(get_item(db, items[30].id).destinations["smtp"].next_attempt_at) == START + timedelta(
        seconds=46
    )

    for _step in range(60):  # five-second steps: three more windows' worth, and then some
        clock.advance(seconds=5)
        await worker.run_once()
    times = sent_times(db)
    assert len(times) == 101
    for i in range(len(times) - 25):
        assert times[i + 25] - times[i] >= timedelta(seconds=45)  # any 45 s hold at most 25 sends
    assert times[-1] - times[0] <= timedelta(seconds=4 * 45 + 5)  # 101 emails: five windows, the rate used
    mail = sink_messages(running)
    assert all(len(mail.get(i.id, [])) == 1 for i in items)  # each exactly once
    assert all(get_item(db, i.id).destinations["smtp"].state == "done" for i in items)


async def test_the_send_rate_is_shared_by_every_worker_of_the_profile(running, people, env):
    """The count lives in the records file: a second worker (another process, another connection) sees it."""
    settings = settings_for(env)
    db = open_cache(settings, people)
    clock = ManualClock(START)
    rate = throttle.SendRate(per_window=5, window_s=60, per_day=1000, zone=UTC)
    items = queue(db, settings, pick(people, 10), 10, clock)
    assert (await mail_only_worker(db, running, clock, rate).run_once()).sent == 5

    other = open_db(settings.db_path)
    try:
        second = mail_only_worker(other, running, clock, rate)
        clock.advance(seconds=30)
        assert (await second.run_once()).sent == 0
        clock.advance(seconds=31)
        assert (await second.run_once()).sent == 5
    finally:
        other.conn.close()
    assert all(get_item(db, i.id).destinations["smtp"].state == "done" for i in items)


async def test_the_daily_cap_holds_the_rest_until_the_sellers_midnight(running, people, env):
    settings = settings_for(env)
    db = open_cache(settings, people)
    tokyo = ZoneInfo("Asia/Tokyo")
    clock = ManualClock(datetime(2026, 12, 8, 23, 50, tzinfo=tokyo))
    rate = throttle.SendRate(per_window=0, window_s=45, per_day=6, zone=tokyo)
    items = queue(db, settings, pick(people, 8), 8, clock)
    worker = mail_only_worker(db, running, clock, rate)

    assert (await worker.run_once()).sent == 6
    held = get_item(db, items[7].id).destinations["smtp"]
    assert "daily cap of 6" in held.held_reason
    assert parse_iso(held.next_attempt_at) == datetime(2026, 12, 9, 0, 0, tzinfo=tokyo)
    clock.advance(minutes=9)
    assert (await worker.run_once()).sent == 0
    clock.advance(minutes=1)
    assert (await worker.run_once()).sent == 2


# ---------------------------------------------------------------------------------------------- scheduled


async def test_a_scheduled_email_goes_at_its_time_not_before(running, people, env):
    settings = settings_for(env)
    db = open_cache(settings, people)
    clock = ManualClock(START)
    at = START + timedelta(hours=2)
    [scheduled] = queue(db, settings, pick(people, 1), 1, clock, send_at=at)
    [cancelled] = queue(db, settings, pick(people, 2)[1:], 1, clock, send_at=at)
    [now_one] = queue(db, settings, pick(people, 3)[2:], 1, clock)
    assert scheduled.state == "scheduled" and scheduled.send_at is not None
    assert {i.id for i in list_items(db, states=["scheduled"])} == {scheduled.id, cancelled.id}
    assert "scheduled for" in scheduled.explanation()
    worker = mail_only_worker(db, running, clock, None)

    await worker.run_once()
    mail = sink_messages(running)
    assert now_one.id in mail and scheduled.id not in mail
    assert cancel_item(db, cancelled.id).state == "cancelled"  # cancellable until it goes

    clock.set(at - timedelta(seconds=1))
    await worker.run_once()
    assert scheduled.id not in sink_messages(running)
    assert get_item(db, scheduled.id).state == "scheduled"

    clock.set(at)
    await worker.run_once()
    mail = sink_messages(running)
    assert len(mail[scheduled.id]) == 1 and cancelled.id not in mail
    done = get_item(db, scheduled.id)
    assert done.destinations["smtp"].state == "done" and parse_iso(done.occurred_at) == at
    assert counts(db)["scheduled"] == 0


def test_send_at_from_the_command_line_honours_sia_now(cli, people, running, monkeypatch):
    """`email --send-at` in the seller's zone; `worker --once` under SIA_NOW sends it at its time, not before."""
    tokyo = ZoneInfo("Asia/Tokyo")
    now = datetime.now(UTC).replace(second=0, microsecond=0) + timedelta(minutes=5)
    at = (now + timedelta(hours=1)).astimezone(tokyo)
    monkeypatch.setenv("SIA_SELLER_TIMEZONE", "Asia/Tokyo")
    monkeypatch.setenv("SIA_NOW", now.isoformat())
    person = pick(people, 1, kind="any")[0]

    code, item, err = cli("email", str(person["marketo_id"]), "--subject", "Later", "--body", "Hi",
                          "--send-at", at.strftime("%Y-%m-%d %H:%M"), "--json")  # fmt: skip
    assert code == 0, err
    assert item["state"] == "scheduled" and parse_iso(item["send_at"]) == at
    code, table, said = cli("outbox", "show", item["id"])
    assert f"scheduled for {at.strftime('%Y-%m-%d %H:%M:%S')} Asia/Tokyo" in said
    assert said.splitlines()[0].endswith(": scheduled") and "pending" in table

    monkeypatch.setenv("SIA_NOW", (at - timedelta(minutes=1)).isoformat())
    assert cli("worker", "--once", "--json")[1]["sent"] == 0
    monkeypatch.setenv("SIA_NOW", at.isoformat())
    assert cli("worker", "--once", "--json")[1]["sent"] == 1
    assert len(sink_messages(running)[item["id"]]) == 1

    code, _, err = cli("email", str(person["marketo_id"]), "--subject", "x", "--body", "y",
                       "--send-at", "2020-01-01 09:00")  # fmt: skip
    assert code == 1 and "already passed" in err and "Nothing was queued" in err
    assert os.environ["SIA_SELLER_TIMEZONE"] == "Asia/Tokyo"
