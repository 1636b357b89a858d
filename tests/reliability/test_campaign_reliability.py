"""Campaign steps and the Add / Removed activities stay exactly-once when the worker is killed: 60 people in a
two-email campaign, run over two days of ``SIA_NOW`` by a real `sia-tui --headless worker` process killed with
SIGKILL at random moments each day, with 20 % injected faults (commit-then-drop weighted up). Each person gets each
email exactly once and has "Add to Sales Campaign" and "Removed from Sales Campaign" once each in Marketo.
"""

from __future__ import annotations

import asyncio
import os
import signal
import sqlite3
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from sia_sandbox.config import FAULT_KINDS
from sia_sandbox.server import RunningSandbox, start_sandbox
from sia_tui.campaigns.enrolment import enrol
from sia_tui.campaigns.store import create_campaign, enrolments_of
from sia_tui.outbox import queue as q
from sia_tui.outbox.compose import seller_from_settings
from sia_tui.store.db import open_db
from tests.conftest import sandbox_config
from tests.support.campaign_env import campaign_activities
from tests.support.outbox_env import (
    fetch_people,
    open_cache,
    reachable,
    sandbox_env,
    set_faults,
    settings_for,
    sink_messages,
)
from tests.support.reliability import seeded_rng

PEOPLE, KILLS_PER_DAY, BATCH = 60, 4, 5
KINDS = [*FAULT_KINDS, *["commit_drop"] * 4]
ROOT = Path(__file__).resolve().parents[2]
MONDAY = datetime(2026, 11, 2, 10, 0, tzinfo=UTC)
CAMPAIGN = """
name = "Kill me"
timezone = "UTC"
send_window = "08:00-18:00"
[[steps]]
day = 1
type = "auto_email"
subject = 'Hello {{first_name | default: "there"}}'
body = "Hi."
[[steps]]
day = 2
type = "auto_email"
subject = 'Re: Hello {{first_name | default: "there"}}'
body = "Following up."
"""


@pytest.fixture
def running() -> Iterator[RunningSandbox]:
    config = sandbox_config(
        people=300, now=None, rate_limit_calls=100_000, daily_quota=10_000_000, sf_daily_limit=10_000_000,
        slow_fault_s=0.05, latency_ms=120,
    )  # fmt: skip
    with start_sandbox(config) as sandbox:
        yield sandbox


def _worker(env: dict[str, str], base_url: str, log: Path, now: datetime) -> subprocess.Popen[bytes]:
    args = [
        sys.executable, "-m", "sia_tui", "--headless", "worker", "--poll-s", "0.2", "--retry-base-s", "0.1",
        "--retry-cap-s", "1", "--reconcile-delay-s", "0", "--hold-s", "0.1", "--max-attempts", "100",
        "--sandbox-mail-url", base_url, "--batch-size", str(BATCH),
    ]  # fmt: skip
    with open(log, "ab") as out:
        return subprocess.Popen(
            args, env={**os.environ, **env, "SIA_NOW": now.isoformat()}, cwd=ROOT, stdout=out, stderr=out
        )


def _settled(db_path: Path, *, ended: bool) -> bool:
    """Nothing open in the outbox, no enrolment waiting for an email, and (for the last day) all of them ended."""
    conn = sqlite3.connect(db_path)
    try:
        open_items = conn.execute(
            "SELECT COUNT(*) FROM outbox WHERE state IN ('queued', 'sending', 'retrying')"
        )
        waiting = conn.execute("SELECT COUNT(*) FROM campaign_enrolments WHERE waiting_on IS NOT NULL")
        active = conn.execute("SELECT COUNT(*) FROM campaign_enrolments WHERE state = 'active'")
        return (
            not open_items.fetchone()[0]
            and not waiting.fetchone()[0]
            and not (ended and active.fetchone()[0])
        )
    finally:
        conn.close()


def _progress(db_path: Path) -> tuple[object, ...]:
    """What the worker has done so far: states, attempts and steps (the stamps cannot tell: ``SIA_NOW`` is fixed)."""
    conn = sqlite3.connect(db_path)
    try:
        return (
            *conn.execute("SELECT state, SUM(attempts), COUNT(*) FROM outbox_destinations GROUP BY state"),
            *conn.execute(
                "SELECT state, step, waiting_on IS NULL, COUNT(*) FROM campaign_enrolments "
                "GROUP BY state, step, waiting_on IS NULL"
            ),
        )
    finally:
        conn.close()


#: A worker whose database has not changed for this long has nothing due at its fixed ``SIA_NOW`` (what is left
#: waits for a backoff) or sits in a client backoff of its own: either way the next minute is what moves it.
IDLE_S = 2.5
#: How long a fresh worker (a new interpreter, on a busy machine) may take to change anything at all.
START_S = 20.0


def _run_day(env, running, log, moment, rng, *, ended: bool) -> None:
    """Kill the worker a few times that day, then let it finish. ``SIA_NOW`` is a fixed moment, so a retry that
    waits (backoff) comes due only when the clock moves: each restart moves it on by a minute, as a rehearsal does.
    A restart comes as soon as the worker stops making progress, not after a fixed wait."""
    for _ in range(KILLS_PER_DAY):
        proc = _worker(env, running.base_url, log, moment)
        time.sleep(rng.uniform(1.0, 3.0))
        proc.send_signal(signal.SIGKILL)
        proc.wait()
    db_path = Path(env["SIA_HOME"]) / "data" / "test.db"
    for minute in range(1, 61):
        proc = _worker(env, running.base_url, log, moment + timedelta(minutes=minute))
        try:
            last, changed, quiet_s = _progress(db_path), time.monotonic(), START_S
            while not _settled(db_path, ended=ended) and time.monotonic() - changed < quiet_s:
                assert proc.poll() is None, log.read_text(errors="replace")[-3000:]
                time.sleep(0.1)  # polling another process's progress, not waiting for test time
                now = _progress(db_path)
                if now != last:
                    last, changed, quiet_s = now, time.monotonic(), IDLE_S
        finally:
            proc.send_signal(signal.SIGTERM)
            proc.wait(timeout=30)
        if _settled(db_path, ended=ended):
            return
    raise AssertionError(log.read_text(errors="replace")[-3000:])


@pytest.mark.soak
def test_campaign_steps_and_activities_exactly_once_under_faults_and_sigkill(running, tmp_path, monkeypatch):
    monkeypatch.setenv("SIA_NOW", MONDAY.isoformat())  # the outbox items enrolment queues are stamped by it too
    rng = seeded_rng()
    env = sandbox_env(running, tmp_path / "home")
    settings = settings_for(env)
    people = asyncio.run(fetch_people(running, 300))
    emails = Counter(str(p["email"] or "").lower() for p in people)
    chosen = [p for p in people if reachable(p) and emails[p["email"].lower()] == 1][:PEOPLE]
    assert len(chosen) == PEOPLE
    db = open_cache(settings, people)
    assert settings.db_path == Path(env["SIA_HOME"]) / "data" / "test.db"
    record = create_campaign(db, CAMPAIGN, seller=seller_from_settings(settings), now=MONDAY)
    assert {o.state for o in enrol(db, record.id, [p["marketo_id"] for p in chosen], now=MONDAY)} == {
        "enrolled"
    }
    db.conn.close()

    set_faults(running, 0.2, KINDS, slow_s=0.05)
    log = tmp_path / "worker.log"
    _run_day(env, running, log, MONDAY, rng, ended=False)
    _run_day(env, running, log, MONDAY + timedelta(days=1), rng, ended=True)
    set_faults(running, 0.0)

    db = open_db(settings.db_path)
    assert q.open_count(db) == 0
    assert {e.end_reason for e in enrolments_of(db, record.id)} == {"completed"}
    ours = [i for i in q.list_items(db, limit=None) if i.kind == "email"]
    assert len(ours) == 2 * PEOPLE
    mail = sink_messages(running)
    for item in ours:
        assert len(mail.get(item.id, [])) == 1, item.id
    per_person = Counter(i.marketo_id for i in ours)
    assert set(per_person.values()) == {2}
    found = asyncio.run(campaign_activities(running, [p["marketo_id"] for p in chosen], MONDAY))
    assert found["add"] == Counter({p["marketo_id"]: 1 for p in chosen})
    assert found["remove"] == Counter({p["marketo_id"]: 1 for p in chosen})
    interrupted = sum(
        int(line.split()[1])
        for line in log.read_text(errors="replace").splitlines()
        if line.startswith("settling ")
    )
    print(f"\ncampaign reliability: {PEOPLE} people, {2 * KILLS_PER_DAY} SIGKILLs ({interrupted} writes cut)")
