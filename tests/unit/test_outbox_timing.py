"""Time in the outbox, without waiting for it: reading --send-at, the send rate's plan, the worker's rhythm.

Issue 15 (scheduled sends, throttles) and issue 14.5 / 12.5 (a wake-up during a cycle is kept; a failing cycle
backs off instead of looping)."""

from __future__ import annotations

import asyncio
import sqlite3
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given
from hypothesis import strategies as st

from sia_tui.clock import ManualClock, ZoneError, zone
from sia_tui.outbox import throttle
from sia_tui.outbox.compose import OutboxInputError
from sia_tui.outbox.model import iso
from sia_tui.outbox.schedule import parse_send_at
from sia_tui.outbox.worker import FAILURE_BACKOFF_CAP_S, OutboxWorker, WorkerConfig, next_delay_s
from sia_tui.store.db import open_db

NOW = datetime(2026, 12, 7, 23, 30, tzinfo=UTC)
PARIS = ZoneInfo("Europe/Paris")


# ----------------------------------------------------------------------------------------------- --send-at


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("2026-12-08 09:00", datetime(2026, 12, 8, 8, 0, tzinfo=UTC)),  # the seller's zone (Paris, UTC+1)
        ("2026-12-08T09:00", datetime(2026, 12, 8, 8, 0, tzinfo=UTC)),
        ("2026-12-08 09:00 Asia/Tokyo", datetime(2026, 12, 8, 0, 0, tzinfo=UTC)),
        ("2026-12-08 09:00 UTC", datetime(2026, 12, 8, 9, 0, tzinfo=UTC)),
        ("2026-12-08T09:00+09:00", datetime(2026, 12, 8, 0, 0, tzinfo=UTC)),
        ("2026-12-08T09:00:00Z", datetime(2026, 12, 8, 9, 0, tzinfo=UTC)),
        ("2026-07-01 09:00", datetime(2026, 7, 1, 7, 0, tzinfo=UTC)),  # summer time: UTC+2
    ],
)
def test_send_at_is_read_in_the_sellers_zone_unless_it_names_one(text, expected):
    now = NOW if expected > NOW else datetime(2026, 6, 1, tzinfo=UTC)
    assert parse_send_at(text, PARIS, now) == expected


@pytest.mark.parametrize(
    ("text", "words"),
    [
        ("", "empty"),
        ("tomorrow morning", "not a send time"),
        ("2026-12-07 09:00", "already passed"),
        ("2026-03-29 02:30", "does not exist in Europe/Paris"),  # skipped by the spring change
        ("2026-12-08 09:00 Mars/Olympus", "not a time zone name"),
        ("2026-12-08T09:00+09:00 Asia/Tokyo", "not both"),
        ("2062-12-08 09:00", "more than a year ahead"),
    ],
)
def test_a_send_time_that_cannot_be_meant_is_refused_in_one_sentence(text, words):
    now = datetime(2026, 3, 1, tzinfo=UTC) if "2026-03-29" in text else NOW
    with pytest.raises(OutboxInputError) as caught:
        parse_send_at(text, PARIS, now)
    assert words in str(caught.value)


def test_seller_timezone_names_and_the_system_default():
    assert zone("Asia/Tokyo") == ZoneInfo("Asia/Tokyo")
    assert zone("") is not None  # this machine's zone
    with pytest.raises(ZoneError):
        zone("Nowhere/Special")


# ------------------------------------------------------------------------------------------------ throttle


def _log(times: list[datetime]) -> sqlite3.Connection:
    conn = sqlite3.connect(":memory:")
    conn.execute("CREATE TABLE outbox_send_log (at TEXT NOT NULL, item_id TEXT NOT NULL)")
    for index, moment in enumerate(times):
        conn.execute("INSERT INTO outbox_send_log VALUES (?, ?)", (iso(moment), f"i{index}"))
    return conn


def test_the_plan_spaces_a_burst_by_the_window():
    rate = throttle.SendRate(per_window=25, window_s=45, per_day=1000)
    conn = _log([NOW] * 25)  # a full window just went
    plan = throttle.plan(conn, rate, NOW, 60)
    assert [t for t, _ in plan[:25]] == [NOW + timedelta(seconds=45)] * 25
    assert [t for t, _ in plan[25:50]] == [NOW + timedelta(seconds=90)] * 25
    assert plan[59][0] == NOW + timedelta(seconds=135)
    assert all("25 emails per 45 s" in why for _, why in plan)
    assert throttle.capacity(conn, rate, NOW) == 0
    assert throttle.capacity(conn, rate, NOW + timedelta(seconds=45)) == 25


def test_the_daily_cap_waits_for_the_sellers_midnight():
    tokyo = ZoneInfo("Asia/Tokyo")
    now = datetime(2026, 12, 8, 23, 0, tzinfo=tokyo)
    rate = throttle.SendRate(per_window=0, window_s=45, per_day=3, zone=tokyo)
    conn = _log([now - timedelta(hours=2)] * 3)
    assert throttle.capacity(conn, rate, now) == 0
    [(when, why)] = throttle.plan(conn, rate, now, 1)
    assert when == datetime(2026, 12, 9, 0, 0, tzinfo=tokyo) and "daily cap of 3" in why
    assert throttle.capacity(conn, rate, datetime(2026, 12, 9, 0, 0, tzinfo=tokyo)) == 3


@given(
    per_window=st.integers(1, 30),
    window_s=st.integers(1, 120),
    per_day=st.integers(0, 200),
    burst=st.integers(1, 150),
)
def test_a_planned_burst_never_breaks_either_limit(per_window, window_s, per_day, burst):
    rate = throttle.SendRate(per_window=per_window, window_s=window_s, per_day=per_day, zone=PARIS)
    times = [t for t, _ in throttle.plan(_log([]), rate, NOW, burst)]
    assert times == sorted(times) and times[0] == NOW
    for i in range(len(times) - per_window):
        assert times[i + per_window] - times[i] >= timedelta(seconds=window_s)
    if per_day:
        days: dict[object, int] = {}
        for t in times:
            days[t.astimezone(PARIS).date()] = days.get(t.astimezone(PARIS).date(), 0) + 1
        assert max(days.values()) <= per_day


# -------------------------------------------------------------------------------------------- the rhythm


def test_a_failing_cycle_backs_off_up_to_five_minutes():
    delays = [next_delay_s(failures=n, poll_s=0.2, next_due_at=None, now=NOW) for n in range(1, 13)]
    assert delays[:4] == [1.0, 2.0, 4.0, 8.0] and delays[-1] == FAILURE_BACKOFF_CAP_S
    # What "bounded" means: while every cycle fails, at most 6 cycles (so 6 Marketo checks) in the first minute.
    elapsed, cycles = 0.0, 0
    for delay in delays:
        if elapsed >= 60:
            break
        cycles += 1
        elapsed += delay
    assert cycles <= 6
    # Healthy: until the next item is due, at most poll_s.
    due = iso(NOW + timedelta(seconds=2))
    assert next_delay_s(failures=0, poll_s=5.0, next_due_at=due, now=NOW) == 2.0
    assert next_delay_s(failures=0, poll_s=5.0, next_due_at=None, now=NOW) == 5.0


def _worker(tmp_path, **kwargs) -> OutboxWorker:
    return OutboxWorker(
        open_db(tmp_path / "w.db"), config=WorkerConfig(), marketo=None, salesforce=None, smtp=None, **kwargs
    )


async def test_a_cycle_that_fails_does_not_repeat_at_the_poll_rate(tmp_path):
    calls = 0

    class Failing(OutboxWorker):
        async def run_once(self):  # type: ignore[override]
            nonlocal calls
            calls += 1
            raise RuntimeError("a fault this worker cannot get past")

    worker = Failing(
        open_db(tmp_path / "f.db"), config=WorkerConfig(), marketo=None, salesforce=None, smtp=None
    )
    stop = asyncio.Event()
    asyncio.get_running_loop().call_later(0.5, stop.set)
    await asyncio.wait_for(worker.run_forever(stop, poll_s=0.01), timeout=10)
    # Before: the next cycle followed after poll_s (0.01 s), ~50 failing cycles (each a Marketo call) in 0.5 s.
    assert calls == 1 and worker.failures == 1


async def test_a_wake_up_during_a_cycle_is_not_lost(tmp_path):
    """The app wakes the worker after queueing; if that happens while a cycle runs, the next cycle starts at once."""
    cycles = 0
    stop = asyncio.Event()

    async def queued_during_the_cycle(worker: OutboxWorker) -> None:
        nonlocal cycles
        cycles += 1
        if cycles == 1:
            worker.wake()  # e.g. the compose screen queued an email just now
        else:
            stop.set()

    worker = _worker(tmp_path, hooks=[queued_during_the_cycle])
    # With poll_s an hour, only the wake-up can start the second cycle before the timeout.
    await asyncio.wait_for(worker.run_forever(stop, poll_s=3600), timeout=20)
    assert cycles == 2


def test_the_worker_reads_time_from_its_clock(tmp_path):
    clock = ManualClock(NOW)
    worker = _worker(tmp_path, clock=clock)
    assert worker.clock() == NOW
    clock.advance(hours=1)
    assert worker.clock() == NOW + timedelta(hours=1)
