"""The machine's Marketo budget ledger: window, calls in flight, calls today, crashed holders, priorities, pauses.

Time is injected (a fake timer for the window, a :class:`ManualClock` for the Marketo day), so nothing sleeps.
Two :class:`Ledger` objects on one file stand for two processes; one test uses a real process and SIGKILL.
"""

from __future__ import annotations

import math
import os
import signal
import subprocess
import sys
import textwrap
from datetime import UTC, datetime
from pathlib import Path

import pytest

from sia_tui.budget import holders
from sia_tui.budget.ledger import Blocked, Lease, Ledger, Limits, instance_key
from sia_tui.budget.purpose import PURPOSES, purpose, tag_for
from sia_tui.clock import ManualClock

INSTANCE = "123-ABC-456"
GRID = tag_for("grid")
SYNC = tag_for("sync")
FEED = tag_for("feed")
# Reserves off unless a test is about them: the window and in-flight rules alone.
PLAIN = Limits(
    max_calls=3, window_s=20.0, max_concurrency=10, margin_s=0.0, idle_reserve=0.0, busy_reserve=0.0
)


class FakeTimer:
    def __init__(self, start: float = 1_000_000.0) -> None:
        self.t = start

    def __call__(self) -> float:
        return self.t

    def advance(self, seconds: float) -> None:
        self.t += seconds


@pytest.fixture
def timer() -> FakeTimer:
    return FakeTimer()


@pytest.fixture
def clock() -> ManualClock:
    return ManualClock(datetime(2026, 3, 2, 15, 0, tzinfo=UTC))  # 09:00 in Chicago


@pytest.fixture
def path(tmp_path: Path) -> Path:
    return tmp_path / "state" / "marketo-budget.db"


@pytest.fixture
def ledger(path: Path, timer: FakeTimer, clock: ManualClock) -> Ledger:
    return Ledger(path, timer=timer, clock=clock)


def take(ledger: Ledger, tag=SYNC, limits: Limits = PLAIN, waiter: int | None = None) -> Lease | Blocked:
    return ledger.try_acquire(INSTANCE, limits, tag, lease_s=60.0, waiter=waiter)


def lease(outcome: Lease | Blocked) -> Lease:
    assert isinstance(outcome, Lease), outcome
    return outcome


def blocked(outcome: Lease | Blocked, reason: str) -> Blocked:
    assert isinstance(outcome, Blocked), outcome
    assert outcome.reason == reason, outcome
    return outcome


# ------------------------------------------------------------------------------------------------ window


def test_a_call_holds_its_place_in_the_window_until_window_after_its_reply(ledger, timer):
    first = lease(take(ledger))
    timer.advance(1)
    second = lease(take(ledger))
    third = lease(take(ledger))
    # All three are in flight: nothing can free a place before one of them replies.
    assert blocked(take(ledger), "in_flight").wait_s == math.inf
    timer.advance(4)
    ledger.release(first)  # replied at t+5
    ledger.release(second)
    ledger.release(third)
    wait = blocked(take(ledger), "window").wait_s
    assert wait == pytest.approx(20.0)  # the oldest reply leaves the window 20 s after it arrived
    timer.advance(19.9)
    blocked(take(ledger), "window")
    timer.advance(0.2)
    lease(take(ledger))


def test_the_window_is_the_machines_two_ledgers_on_one_file_share_it(path, timer, clock):
    tui = Ledger(path, timer=timer, clock=clock)
    worker = Ledger(path, timer=timer, clock=clock)
    lease(take(tui))
    lease(take(worker))
    lease(take(tui))
    blocked(take(worker), "in_flight")
    blocked(take(tui), "in_flight")


def test_calls_in_flight_are_capped_and_a_release_frees_a_place_at_once(ledger):
    limits = Limits(100, 20.0, 2, margin_s=0.0)
    a = lease(take(ledger, GRID, limits))
    lease(take(ledger, GRID, limits))
    blocked(take(ledger, GRID, limits), "in_flight")
    ledger.release(a)
    lease(take(ledger, GRID, limits))


def test_a_lease_past_its_expiry_is_closed(ledger, timer):
    limits = Limits(100, 20.0, 1, margin_s=0.0, idle_reserve=0.0)
    ledger.try_acquire(INSTANCE, limits, SYNC, lease_s=5.0)  # never released: a hung holder
    blocked(take(ledger, limits=limits), "in_flight")
    timer.advance(5.1)
    lease(take(ledger, limits=limits))


def test_rows_a_clock_jump_left_in_the_future_do_not_block_for_ever(ledger, timer):
    limits = Limits(1, 20.0, 1, margin_s=0.0)
    ledger.release(lease(take(ledger, limits=limits)))
    timer.advance(-3600)  # the wall clock went back an hour
    lease(take(ledger, limits=limits))


# ----------------------------------------------------------------------------------------------- the day


def test_calls_today_roll_over_at_midnight_us_central(ledger, clock, timer):
    limits = Limits(100, 1.0, 10, margin_s=0.0, idle_reserve=0.0)
    clock.set(datetime(2026, 3, 2, 5, 59, 59, tzinfo=UTC))  # 23:59:59 CST on 1 March
    for tag in (SYNC, SYNC, GRID):
        ledger.release(lease(take(ledger, tag, limits)))
    clock.set(datetime(2026, 3, 2, 6, 0, 1, tzinfo=UTC))  # 00:00:01 CST on 2 March
    timer.advance(2)
    ledger.release(lease(take(ledger, FEED, limits)))
    assert ledger.used(INSTANCE, "2026-03-01") == {**dict.fromkeys(PURPOSES, 0), "sync": 2, "grid": 1}
    assert ledger.used(INSTANCE, "2026-03-02") == {**dict.fromkeys(PURPOSES, 0), "feed": 1}


def test_in_summer_the_day_turns_at_05_00_utc(ledger, clock):
    limits = Limits(100, 1.0, 10, margin_s=0.0, idle_reserve=0.0)
    clock.set(datetime(2026, 7, 1, 4, 59, tzinfo=UTC))  # 23:59 CDT on 30 June
    assert lease(take(ledger, SYNC, limits)).day == "2026-06-30"
    clock.set(datetime(2026, 7, 1, 5, 0, tzinfo=UTC))
    assert lease(take(ledger, SYNC, limits)).day == "2026-07-01"


def test_a_refused_call_is_taken_off_the_days_count_but_keeps_its_place_in_the_window(ledger, clock):
    limits = Limits(1, 20.0, 10, margin_s=0.0)
    refused = lease(take(ledger, SYNC, limits))
    ledger.release(refused)
    ledger.uncount(refused)  # Marketo answered 606: not counted toward the quota
    assert ledger.used(INSTANCE, "2026-03-02")["sync"] == 0
    blocked(take(ledger, SYNC, limits), "window")


def test_other_instances_and_other_ledgers_keep_their_own_counts(ledger, tmp_path, timer, clock):
    ledger.try_acquire("999-XYZ-000", PLAIN, SYNC, lease_s=60)
    lease(take(ledger))
    assert ledger.used(INSTANCE, "2026-03-02")["sync"] == 1
    other = Ledger(tmp_path / "elsewhere.db", timer=timer, clock=clock)
    assert other.used(INSTANCE, "2026-03-02")["sync"] == 0


# ------------------------------------------------------------------------------------------------ crashes

HOLDER = textwrap.dedent(
    """
    import sys
    from sia_tui.budget.ledger import Ledger, Limits
    from sia_tui.budget.purpose import tag_for
    ledger = Ledger(sys.argv[1])
    got = ledger.try_acquire("123-ABC-456", Limits(100, 20.0, 1), tag_for("sync"), lease_s=3600.0)
    print(type(got).__name__, flush=True)
    sys.stdin.read()  # hold the lease until killed
    """
)


def test_a_process_killed_mid_call_never_leaks_its_place(path):
    limits = Limits(100, 20.0, 1, margin_s=0.0)
    holder = subprocess.Popen(
        [sys.executable, "-c", HOLDER, str(path)], stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True
    )
    try:
        assert holder.stdout is not None
        assert holder.stdout.readline().strip() == "Lease"
        here = Ledger(path)
        # The holder is alive and its call is in flight: its place is taken (the lease runs for an hour).
        blocked(here.try_acquire(INSTANCE, limits, GRID, lease_s=60), "in_flight")
        holder.send_signal(signal.SIGKILL)
        holder.wait(10)
        holders._seen.clear()  # forget the liveness seen a moment ago
        lease(here.try_acquire(INSTANCE, limits, GRID, lease_s=60))
    finally:
        if holder.poll() is None:
            holder.kill()
            holder.wait(10)


def test_a_pid_reused_by_another_process_is_not_taken_for_the_holder():
    pid, started = holders.me()
    assert holders.alive(pid, started)
    if started is not None:  # the start time is known (Linux): same pid, other start time = someone else
        assert not holders.alive(pid, str(int(started) + 1))


def test_an_unreadable_ledger_is_moved_aside_and_started_afresh(path, timer, clock):
    path.parent.mkdir(parents=True)
    path.write_bytes(b"this is not a database" * 100)
    ledger = Ledger(path, timer=timer, clock=clock)
    lease(take(ledger))
    assert list(path.parent.glob("marketo-budget.db.corrupt-*"))


# ---------------------------------------------------------------------------------------------- priorities


def test_background_work_waits_while_an_interactive_caller_waits(ledger):
    limits = Limits(100, 20.0, 2, margin_s=0.0, idle_reserve=0.0, background_floor=0.0)
    sync_a = lease(take(ledger, SYNC, limits))
    lease(take(ledger, GRID, limits))
    grid_waits = blocked(take(ledger, GRID, limits), "in_flight")  # the seller's next call must wait...
    assert grid_waits.waiter is not None
    ledger.release(sync_a)
    # ... and when a place frees, background work does not take it although it is free.
    blocked(take(ledger, SYNC, limits), "priority")
    lease(take(ledger, GRID, limits, waiter=grid_waits.waiter))
    # The seller is served: background work may go again once there is room.
    blocked(take(ledger, SYNC, limits), "in_flight")


def test_a_waiter_that_vanished_stops_holding_background_work_back(ledger, timer):
    limits = Limits(100, 20.0, 1, margin_s=0.0, background_floor=0.0)
    first = lease(take(ledger, SYNC, limits))
    blocked(take(ledger, GRID, limits), "in_flight")  # registers, then never looks again (its process died)
    ledger.release(first)
    blocked(take(ledger, SYNC, limits), "priority")
    timer.advance(2.5)
    lease(take(ledger, SYNC, limits))


def test_background_work_leaves_a_reserve_for_the_seller_and_more_while_one_is_active(ledger, timer):
    limits = Limits(10, 20.0, 10, margin_s=0.0, idle_reserve=0.1, busy_reserve=0.5, background_floor=0.0)
    for _ in range(9):
        ledger.release(lease(take(ledger, SYNC, limits)))
    blocked(take(ledger, SYNC, limits), "window")  # the tenth place is kept for a seller...
    ledger.release(lease(take(ledger, GRID, limits)))  # ... who gets it at once
    timer.advance(21)
    ledger.release(lease(take(ledger, GRID, limits)))
    # A seller is active (a call within the window): background work now keeps half of the window free.
    for _ in range(4):
        ledger.release(lease(take(ledger, SYNC, limits)))
    blocked(take(ledger, SYNC, limits), "window")
    for _ in range(5):
        ledger.release(lease(take(ledger, GRID, limits)))
    blocked(take(ledger, GRID, limits), "window")
    timer.advance(21)  # the seller went quiet: back to the small reserve
    for _ in range(9):
        ledger.release(lease(take(ledger, SYNC, limits)))
    blocked(take(ledger, SYNC, limits), "window")


def test_background_work_is_never_starved_by_sellers_who_keep_the_window_full(ledger, timer):
    # Sellers stepping through people (or a loop of `sia-tui grid`) keep a waiter registered all the time; the
    # sync, the feed and the outbox still get their floor of the window, and no more while a seller waits.
    limits = Limits(20, 1.0, 10, margin_s=0.0, background_floor=0.1)
    for _ in range(20):
        ledger.release(lease(take(ledger, GRID, limits)))
    seller = blocked(take(ledger, GRID, limits), "window")
    assert seller.waiter is not None
    timer.advance(1.1)  # the window moved on; the seller is still waiting (it looks again within a second)
    ledger.release(lease(take(ledger, SYNC, limits)))  # the floor: 10% of 20 calls
    ledger.release(lease(take(ledger, FEED, limits)))
    blocked(take(ledger, SYNC, limits), "priority")  # and no more while a seller waits
    lease(take(ledger, GRID, limits, waiter=seller.waiter))


def test_sellers_busy_all_day_leave_background_work_its_floor_of_the_window(ledger, timer):
    # Sellers' calls alone fill more than the half of the window that background work leaves them while they
    # are active; the sync and the outbox still get their floor, and no more.
    limits = Limits(20, 1.0, 10, margin_s=0.0, busy_reserve=0.5, background_floor=0.1)
    for _ in range(12):
        ledger.release(lease(take(ledger, GRID, limits)))
    ledger.release(lease(take(ledger, SYNC, limits)))
    ledger.release(lease(take(ledger, FEED, limits)))
    blocked(take(ledger, SYNC, limits), "window")


def test_background_work_keeps_one_call_in_flight_free_for_the_seller(ledger):
    limits = Limits(100, 20.0, 3, margin_s=0.0, idle_reserve=0.0)
    lease(take(ledger, SYNC, limits))
    lease(take(ledger, FEED, limits))
    blocked(take(ledger, SYNC, limits), "in_flight")
    lease(take(ledger, GRID, limits))


def test_the_purpose_decides_the_tag_and_can_be_made_interactive():
    from sia_tui.budget.purpose import current

    assert current().name == "other" and not current().interactive
    with purpose("grid"):
        assert current().interactive
        with purpose("outbox", interactive=True):
            assert current().name == "outbox" and current().interactive
        assert current().name == "grid"
    with purpose("sync"):
        assert not current().interactive
    with pytest.raises(ValueError, match="unknown Marketo call purpose"):
        with purpose("gird"):
            pass


# ------------------------------------------------------------------------------------------------ backing off


def test_a_pause_holds_every_process_back_and_ends_on_time(path, timer, clock):
    a = Ledger(path, timer=timer, clock=clock)
    b = Ledger(path, timer=timer, clock=clock)
    a.pause(INSTANCE, 3.0, "606")
    assert blocked(take(b, GRID), "paused").wait_s == pytest.approx(3.0)
    assert b.window_state(INSTANCE, 20.0).pause_code == "606"
    timer.advance(3.1)
    lease(take(b, GRID))


def test_a_607_stops_every_process_until_the_block_ends(path, timer, clock):
    from sia_tui.budget.day import next_reset

    a = Ledger(path, timer=timer, clock=clock)
    b = Ledger(path, timer=timer, clock=clock)
    a.block_quota(INSTANCE, next_reset(clock()))
    stopped = blocked(take(b, SYNC), "quota")
    assert stopped.wait_s == pytest.approx(600.0)  # ask again in 10 minutes (the reset is hours away)
    timer.advance(601)
    lease(take(b, SYNC))


def test_instance_keys_name_the_munchkin_id_or_the_host():
    assert instance_key("https://123-abc-456.mktorest.com") == "123-ABC-456"
    assert instance_key("https://123-ABC-456.mktorest.com/") == "123-ABC-456"
    assert instance_key("http://127.0.0.1:8123") == "127.0.0.1:8123"
    assert instance_key("HTTPS://Marketo.Example.com") == "marketo.example.com"


def test_ledger_lives_under_the_state_dir(monkeypatch, tmp_path):
    from sia_tui.budget.ledger import ledger_path

    monkeypatch.setenv("SIA_HOME", str(tmp_path))
    assert ledger_path() == tmp_path / "state" / "marketo-budget.db"
    assert os.path.basename(ledger_path()) == "marketo-budget.db"
