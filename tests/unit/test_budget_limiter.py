"""The async side of the budget: limits hold across "processes" (two ledgers on one file, each on its own thread
and event loop), the seller's call is served before queued background calls, and a 607 stops everyone.

Windows are a fraction of a second so the only waiting is the limiter's own.
"""

from __future__ import annotations

import asyncio
import threading
import time
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path

import pytest

from sia_tui import budget
from sia_tui.budget.day import next_reset
from sia_tui.budget.ledger import Ledger
from sia_tui.budget.limiter import SharedLimiter
from sia_tui.net import QuotaExhaustedError

INSTANCE = "123-ABC-456"


def limiter(path: Path, max_calls: int, window_s: float, max_concurrency: int) -> SharedLimiter:
    return SharedLimiter(Ledger(path), INSTANCE, max_calls, window_s, max_concurrency, margin_s=0.0)


def test_two_processes_never_exceed_the_window_or_the_calls_in_flight_together(tmp_path):
    path = tmp_path / "ledger.db"
    max_calls, window_s, max_flight = 8, 0.3, 3
    calls: list[tuple[float, float]] = []  # (sent, replied), wall clock
    lock = threading.Lock()
    busy = [0, 0]  # in flight now, most ever

    def process(n_calls: int) -> None:
        own = limiter(path, max_calls, window_s, max_flight)

        async def one() -> None:
            with budget.purpose("grid"):  # interactive: the limits alone, no background reserve
                async with own.slot():
                    sent = time.time()
                    with lock:
                        busy[0] += 1
                        busy[1] = max(busy[1], busy[0])
                    await asyncio.sleep(0.01)
                    with lock:
                        busy[0] -= 1
                    calls.append((sent, time.time()))

        async def main() -> None:
            await asyncio.gather(*(one() for _ in range(n_calls)))

        asyncio.run(main())

    threads = [threading.Thread(target=process, args=(12,)) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(30)
    assert len(calls) == 24
    assert busy[1] <= max_flight
    # When each call was sent, the calls before it still in the window (in flight, or replied < window ago).
    for sent, _ in calls:
        held = [1 for s, r in calls if s < sent and r > sent - window_s]
        assert len(held) < max_calls


async def test_the_sellers_call_goes_before_background_calls_that_were_waiting(tmp_path):
    own = limiter(tmp_path / "ledger.db", 3, 0.3, 10)
    own.limits = replace(own.limits, idle_reserve=0.0, busy_reserve=0.0, background_floor=0.0)  # the waiter rule alone
    order: list[str] = []
    window_full = asyncio.Event()

    async def background(name: str) -> None:
        with budget.purpose("sync"):
            for _ in range(3):
                async with own.slot():
                    order.append(name)
                    if len(order) == 3:
                        window_full.set()
                    await asyncio.sleep(0.01)

    async def seller() -> None:
        with budget.purpose("grid"):
            async with own.slot():
                order.append("SELLER")

    workers = [asyncio.create_task(background(f"sync{i}")) for i in range(4)]
    await window_full.wait()  # the other background calls now wait for the window to move on
    asked = len(order)
    await seller()
    await asyncio.gather(*workers)
    # When the window moved on, the seller's call went first although background calls had waited longer.
    assert order.index("SELLER") == asked
    assert len(order) == 13


async def test_a_seller_who_gives_up_waiting_stops_holding_background_work_back(tmp_path):
    path = tmp_path / "ledger.db"
    own = limiter(path, 100, 0.5, 1)
    with budget.purpose("sync"):
        first = await own.acquire()
    with budget.purpose("grid"):
        waiting = asyncio.create_task(own.acquire())
        await asyncio.sleep(0.05)
    waiting.cancel()
    with pytest.raises(asyncio.CancelledError):
        await waiting
    own.release(first)
    with budget.purpose("sync"):
        got = await asyncio.wait_for(own.acquire(), 1.0)  # not blocked behind a waiter that left
    own.release(got)


async def test_after_a_607_every_process_fails_at_once_without_asking_marketo(tmp_path):
    path = tmp_path / "ledger.db"
    one, other = limiter(path, 10, 1.0, 2), limiter(path, 10, 1.0, 2)
    one.quota_exhausted(next_reset(datetime.now(UTC)))
    started = time.monotonic()
    with pytest.raises(QuotaExhaustedError) as info:
        await other.acquire()
    assert time.monotonic() - started < 0.5
    assert info.value.code == "607" and info.value.resets_at is not None
    assert "midnight US Central" in str(info.value)


async def test_a_pause_asked_by_one_process_holds_the_other_back(tmp_path):
    path = tmp_path / "ledger.db"
    one, other = limiter(path, 10, 1.0, 2), limiter(path, 10, 1.0, 2)
    one.pause(0.2, "615")
    started = time.monotonic()
    with budget.purpose("grid"):
        async with other.slot():
            pass
    assert time.monotonic() - started >= 0.18


def test_one_limiter_per_instance_and_ledger_in_a_process_and_settings_apply_in_place(tmp_path):
    ledger = Ledger(tmp_path / "ledger.db")
    a = budget.shared_limiter(INSTANCE, 50, 20.0, 5, ledger=ledger)
    b = budget.shared_limiter(INSTANCE, 80, 20.0, 8, ledger=ledger)
    assert a is b and (a.max_calls, a.max_concurrency) == (80, 8)
    assert budget.shared_limiter("OTHER", 50, 20.0, 5, ledger=ledger) is not a
    with pytest.raises(ValueError):
        a.configure(0, 20.0, 5)
