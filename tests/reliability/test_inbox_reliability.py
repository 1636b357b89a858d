"""Acceptance (issue 16): 40 emails go out through the outbox; the sandbox's demo recipients answer with 10
replies, 5 out-of-office notices, 5 hard and 3 soft bounces and 2 "unsubscribe me" replies (responders off, each
answer made on demand). With 20 % injected faults (commit-then-drop included) the worker — a real
``sia-tui --headless worker`` process — is SIGKILLed twice while it reads the inbox and logs what it found, then
runs to the end. Marketo then holds exactly 12 "Replied to Sales Email" (the 10 replies and the 2 unsubscribe
replies) and 8 "Sales Email Bounced", each once; no out-of-office is counted as a reply; and the next email to the
2 unsubscribers and the 5 hard-bounced addresses is blocked, with ledger entries saying why.
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

import pytest

from sia_sandbox.config import FAULT_KINDS
from sia_sandbox.server import RunningSandbox, start_sandbox
from sia_tui.compliance.ledger import ledger_entries
from sia_tui.inbox.store import messages
from sia_tui.outbox import queue as q
from sia_tui.outbox.model import now_utc
from sia_tui.store.db import open_db
from tests.conftest import sandbox_config
from tests.support.inbox_env import (
    marketo_inbox_activities,
    queue_emails,
    respond,
    sandbox_imap_env,
    sent,
)
from tests.support.outbox_env import (
    fault_count,
    fetch_people,
    open_cache,
    reachable,
    salesforce_tasks,
    sandbox_env,
    set_faults,
    settings_for,
)
from tests.support.reliability import seeded_rng

ROOT = Path(__file__).resolve().parents[2]
KINDS = [*FAULT_KINDS, *["commit_drop"] * 4]
PLAN = ["reply"] * 10 + ["auto_reply"] * 5 + ["bounce"] * 5 + ["soft_bounce"] * 3 + ["unsubscribe_reply"] * 2


@pytest.fixture
def running() -> Iterator[RunningSandbox]:
    config = sandbox_config(
        people=400, now=None, rate_limit_calls=100_000, daily_quota=10_000_000, sf_daily_limit=10_000_000,
        slow_fault_s=0.05, latency_ms=20, mail_responders=False,
    )  # fmt: skip
    with start_sandbox(config) as sandbox:
        yield sandbox


def _worker(env: dict[str, str], base_url: str, log: Path) -> subprocess.Popen[bytes]:
    args = [
        sys.executable, "-m", "sia_tui", "--headless", "worker", "--poll-s", "0.2", "--retry-base-s", "0.1",
        "--retry-cap-s", "1", "--reconcile-delay-s", "0", "--hold-s", "0.1", "--max-attempts", "100",
        "--sandbox-mail-url", base_url, "--batch-size", "5",
    ]  # fmt: skip
    with open(log, "ab") as out:
        return subprocess.Popen(args, env={**os.environ, **env}, cwd=ROOT, stdout=out, stderr=out)


def _wait(what: str, done, proc: subprocess.Popen[bytes], log: Path, timeout_s: float = 90) -> None:  # type: ignore[no-untyped-def]
    deadline = time.monotonic() + timeout_s
    while not done():
        assert proc.poll() is None, log.read_text(errors="replace")[-3000:]
        assert time.monotonic() < deadline, f"{what}: timed out\n" + log.read_text(errors="replace")[-3000:]
        time.sleep(0.2)  # waiting for another process, not for test time to pass


def _db_value(db_path: Path, fn):  # type: ignore[no-untyped-def]
    db = open_db(db_path)
    try:
        return fn(db)
    finally:
        db.conn.close()


@pytest.mark.soak
def test_replies_and_bounces_are_logged_exactly_once_under_faults_and_sigkill(
    running: RunningSandbox, tmp_path: Path
) -> None:
    rng = seeded_rng()
    env = sandbox_env(running, tmp_path / "home", **sandbox_imap_env(running))
    settings = settings_for(env)
    people = asyncio.run(fetch_people(running, 400))
    addresses = [p["email"].lower() for p in people if p["email"]]
    unique = [p for p in people if reachable(p) and addresses.count(p["email"].lower()) == 1]
    chosen = rng.sample(unique, len(PLAN) + 15)  # 40 emails: 25 get an answer, 15 none
    db = open_cache(settings, people)
    since = now_utc() - timedelta(minutes=5)
    items = queue_emails(db, settings, chosen)
    db.conn.close()
    log = tmp_path / "worker.log"
    set_faults(running, 0.2, KINDS, slow_s=0.05)

    # The 40 emails go out (faults and all); the worker is stopped cleanly once they have.
    proc = _worker(env, running.base_url, log)
    _wait(
        "sending",
        lambda: _db_value(settings.db_path, lambda d: all(
            q.get_item(d, i.id).destinations["smtp"].state == "done" for i in items
        )),
        proc, log,
    )  # fmt: skip
    proc.send_signal(signal.SIGTERM)
    proc.wait(timeout=30)

    db = open_db(settings.db_path)
    emails = sent(db, items, chosen)
    db.conn.close()
    answered = list(zip(emails, PLAN, strict=False))
    for (
        email,
        kind,
    ) in answered:  # each in the shape the sandbox's seed picks; unsubscribes as threaded replies
        respond(running, email.message_id, kind, "reply" if kind == "unsubscribe_reply" else None)

    # Two SIGKILLs: one while the inbox is being read (some answers handled, not all), one while what it found
    # is being logged to Marketo (some activities written, not all); then a worker that runs to the end.
    def handled(d) -> int:  # type: ignore[no-untyped-def]
        return len(messages(d, limit=None))

    def logging_midway(d) -> bool:  # type: ignore[no-untyped-def]
        states = [
            r[0]
            for r in d.conn.execute(
                "SELECT d.state FROM outbox_destinations d JOIN outbox o ON o.id = d.item_id "
                "WHERE o.kind IN ('reply', 'bounce') AND d.destination = 'marketo'"
            )
        ]
        return bool(states) and any(s == "done" for s in states) and not all(s == "done" for s in states)

    kills: list[str] = []
    for when, moment in (
        ("reading", lambda d: 0 < handled(d) < len(answered)),
        ("logging", logging_midway),
    ):
        proc = _worker(env, running.base_url, log)
        deadline = time.monotonic() + 10 + rng.uniform(0, 1)
        while time.monotonic() < deadline and not _db_value(settings.db_path, moment):
            time.sleep(0.005)  # polling another process's progress, not waiting for test time
        state = _db_value(settings.db_path, lambda d: (handled(d), q.counts(d)))
        proc.send_signal(signal.SIGKILL)
        proc.wait()
        kills.append(f"{when}: {state[0]} answers handled, outbox {state[1]}")
    proc = _worker(env, running.base_url, log)
    try:
        _wait(
            "inbox and logging",
            lambda: _db_value(
                settings.db_path, lambda d: len(messages(d, limit=None)) == len(answered) and q.open_count(d) == 0
            ),
            proc, log, timeout_s=120,
        )  # fmt: skip
    finally:
        proc.send_signal(signal.SIGTERM)
        proc.wait(timeout=30)
    set_faults(running, 0.0)
    assert (
        fault_count(running, "commit_drop") > 0
    )  # replies written, their answers lost: the case that counts

    by_kind = {kind: [e for e, k in answered if k == kind] for kind in set(PLAN)}
    activities = asyncio.run(
        marketo_inbox_activities(running, [e.person["marketo_id"] for e in emails], since)
    )
    db = open_db(settings.db_path)
    try:
        events = {i.id: i for i in q.list_items(db, limit=None) if i.kind in ("reply", "bounce")}
        # Exactly once in Marketo: 12 replies (10 + the 2 unsubscribe replies), 8 bounces.
        assert len(activities["reply"]) == 12, activities["reply"].keys()
        assert len(activities["bounce"]) == 8
        assert all(len(v) == 1 for kind in activities.values() for v in kind.values())
        assert set(activities["reply"]) | set(activities["bounce"]) == set(events)
        replied_emails = {events[k].payload["email_item_id"] for k in activities["reply"]}
        assert replied_emails == {e.item.id for e in by_kind["reply"] + by_kind["unsubscribe_reply"]}
        bounced_emails = {events[k].payload["email_item_id"] for k in activities["bounce"]}
        assert bounced_emails == {e.item.id for e in by_kind["bounce"] + by_kind["soft_bounce"]}
        # No out-of-office counted as a reply.
        assert not replied_emails & {e.item.id for e in by_kind["auto_reply"]}
        kinds = [m["kind"] for m in messages(db, limit=None)]
        assert kinds.count("auto_reply") == 5 and kinds.count("reply") == 12 and kinds.count("bounce") == 8
        # Replies reach Salesforce as Tasks, once each (for people with a Salesforce id).
        who = [e.person.get("sfdc_contact_id") or e.person.get("sfdc_lead_id") for e in emails]
        tasks = asyncio.run(salesforce_tasks(running, [w for w in who if w]))
        for key in activities["reply"]:
            person = events[key].person
            has_sf = bool(person.get("sfdc_contact_id") or person.get("sfdc_lead_id"))
            assert len(tasks.get(key, [])) == (1 if has_sf else 0), key
            if has_sf:
                assert tasks[key][0]["Type"] == "Reply" and tasks[key][0]["Subject"].startswith("Reply: ")
        # Every email that bounced reads "bounced".
        for e in by_kind["bounce"] + by_kind["soft_bounce"]:
            assert q.get_item(db, e.item.id).state == "bounced"

        # The next email to the unsubscribers and the hard-bounced addresses is blocked, with the reason.
        blocked_people = [e.person for e in by_kind["unsubscribe_reply"] + by_kind["bounce"]]
        again = queue_emails(db, settings, blocked_people)
        recorded = {
            (e["decision"], str(e["email"]).lower())
            for e in ledger_entries(db, limit=None)
            if e["decision"] in ("opted_out", "suppressed")
        }
        assert recorded == {
            ("opted_out", e.person["email"].lower()) for e in by_kind["unsubscribe_reply"]
        } | {("suppressed", e.person["email"].lower()) for e in by_kind["bounce"]}
    finally:
        db.conn.close()
    once = subprocess.run(
        [sys.executable, "-m", "sia_tui", "--headless", "worker", "--once", "--json"],
        env={**os.environ, **env}, cwd=ROOT, capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    assert once.returncode == 0, once.stderr
    db = open_db(settings.db_path)
    try:
        for item, person in zip(again, blocked_people, strict=True):
            final = q.get_item(db, item.id)
            assert final.state == "blocked", final.to_json()
            [entry] = [x for x in ledger_entries(db, item_id=item.id) if x["decision"] == "blocked"]
            unsubscribed = person in [e.person for e in by_kind["unsubscribe_reply"]]
            assert entry["source"] == ("local opt-out" if unsubscribed else "hard bounce"), entry
    finally:
        db.conn.close()
    interrupted = sum(
        int(line.split()[1])
        for line in log.read_text(errors="replace").splitlines()
        if line.startswith("settling ")
    )
    print(f"\ninbox reliability: 40 emails, 25 answers, 2 SIGKILLs ({interrupted} writes cut mid-flight)")
    for line in kills:
        print("  killed while " + line)
