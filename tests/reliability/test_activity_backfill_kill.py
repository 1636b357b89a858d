"""A real ``sia-tui sync`` killed with SIGKILL in the middle of the activity backfill: the next run resumes it where
it stopped (it does not read again what the killed one stored) and the store then holds, for every cached person,
exactly the activities a naive full read of their 90 days returns (issue 13, acceptance)."""

from __future__ import annotations

import asyncio
import json
import os
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest

from sia_sandbox.config import MARKETO_CLIENT_ID, MARKETO_CLIENT_SECRET
from sia_tui.clock import fixed_clock
from sia_tui.store.db import open_db
from sia_tui.sync.activity_sync import sync_activities
from sia_tui.sync.engine import sync_with_client
from tests.conftest import SANDBOX_NOW
from tests.support.activity_store import cached_ids, differences, fast_client, naive_reads, stored

PROFILE = "crm"
ACTIVITIES = "GET /rest/v1/activities.json"
NOW_TEXT = SANDBOX_NOW.isoformat().replace("+00:00", "Z")


def env_for(home: Path, running: Any) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("SIA_")}
    env.update(
        SIA_HOME=str(home),
        SIA_PROFILE=PROFILE,
        SIA_NOW=NOW_TEXT,  # the sandbox's frozen clock: the sync's "now"
        SIA_MARKETO_BASE_URL=running.marketo_url,
        SIA_MARKETO_CLIENT_ID=MARKETO_CLIENT_ID,
        SIA_MARKETO_CLIENT_SECRET=MARKETO_CLIENT_SECRET,
        SIA_MARKETO_MAX_CALLS_PER_20S="100",
        SIA_MARKETO_MAX_CONCURRENCY="1",  # one page at a time: the backfill lasts long enough to be killed
        PYTHON_KEYRING_BACKEND="keyring.backends.null.Keyring",
    )
    return env


def backfill_state(cache: Path) -> dict[str, Any] | None:
    if not cache.exists():
        return None
    try:
        with sqlite3.connect(f"file:{cache}?mode=ro", uri=True, timeout=5) as conn:
            row = conn.execute("SELECT value FROM sync_state WHERE key = 'activities.backfill'").fetchone()
    except sqlite3.Error:
        return None
    return json.loads(row[0]) if row and row[0] else None


def activity_calls(running: Any) -> int:
    return int(running.state.stats.snapshot()["requests"].get("marketo", {}).get(ACTIVITIES, 0))


async def whole_backfill(running: Any, path: Path) -> tuple[str | None, int]:
    """A whole backfill of this (frozen, so unchanging) instance, in-process: its strategy and activities calls."""
    reference = open_db(path)
    try:
        async with fast_client(running, max_concurrency=1) as client:
            await sync_with_client(reference, client)
            before = client.calls.snapshot().get(ACTIVITIES, 0)
            summary = await sync_activities(
                reference, client, clock=fixed_clock(SANDBOX_NOW), strategy="rest"
            )
            return summary.backfill, client.calls.snapshot().get(ACTIVITIES, 0) - before
    finally:
        reference.conn.close()


async def naive_differences(running: Any, db: Any) -> tuple[dict[int, tuple[int, int]], int]:
    leads = cached_ids(db)
    async with fast_client(running) as client:
        expected = await naive_reads(client, leads, SANDBOX_NOW)
    return differences(expected, stored(db, leads, SANDBOX_NOW)), sum(len(v) for v in expected.values())


@pytest.mark.soak
def test_a_backfill_killed_with_sigkill_resumes_and_the_store_equals_a_naive_read(sandbox_factory, tmp_path):
    running = sandbox_factory(
        people=200, clock_frozen=True, latency_ms=25, rate_limit_calls=100_000, daily_quota=10_000_000
    )
    strategy, whole = asyncio.run(whole_backfill(running, tmp_path / "reference.db"))
    assert strategy == "rest" and whole > 20

    home = tmp_path / "home"
    env = env_for(home, running)
    cache = home / "data" / f"{PROFILE}.cache.db"
    cmd = [sys.executable, "-m", "sia_tui", "--headless", "sync", "--json"]
    first = subprocess.Popen(cmd, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    pages_at_kill = 0
    try:
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline and first.poll() is None:
            state = backfill_state(cache)
            if state and state.get("strategy") == "rest" and state.get("pages", 0) >= 8:
                pages_at_kill = int(state["pages"])
                break
            time.sleep(0.02)
        assert first.poll() is None, first.communicate()
        first.send_signal(signal.SIGKILL)
    finally:
        first.wait(10)
    assert first.returncode == -signal.SIGKILL and pages_at_kill >= 8
    killed_state = backfill_state(cache)
    assert killed_state is not None and killed_state["pages"] >= pages_at_kill  # committed with its rows

    calls_before = activity_calls(running)
    rerun = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=300)
    assert rerun.returncode == 0, rerun.stderr
    out = json.loads(rerun.stdout)
    assert out["activities"]["backfill"] == "rest"
    rerun_calls = activity_calls(running) - calls_before
    # The re-run reads only what the killed run had not stored (+ the feed's cycle and the odd page re-read).
    assert rerun_calls <= whole - killed_state["pages"] + 4, (rerun_calls, whole, killed_state["pages"])

    db = open_db(home / "data" / f"{PROFILE}.db")
    try:
        assert backfill_state(cache) is None
        missing, total = asyncio.run(naive_differences(running, db))
        assert missing == {} and total > 1000
    finally:
        db.conn.close()
