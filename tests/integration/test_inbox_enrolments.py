"""The hook campaigns register to end enrolments (``register_enrolment_ender``): called inside the transaction that
records the message — ``replied`` for a reply, ``unsubscribed`` for an unsubscribe request, ``bounced`` for a hard
bounce, never for an out-of-office or a soft bounce — and a failing one never costs the reply.

The ender here stands in for the campaigns service (not merged yet) with the same signature; it writes to a table
of the records file, so the test also sees that its change commits with the message, or not at all."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest
import sqlite_utils

from sia_sandbox.server import RunningSandbox, start_sandbox
from sia_tui.inbox.enrolments import register_enrolment_ender, registered_enders, unregister_enrolment_ender
from sia_tui.inbox.hooks import check_inbox
from sia_tui.outbox.worker import open_worker
from tests.conftest import sandbox_config
from tests.support.inbox_env import queue_emails, respond, sandbox_imap_env, sent
from tests.support.outbox_env import fetch_people, open_cache, reachable, sandbox_env, settings_for


@pytest.fixture
def source() -> Iterator[RunningSandbox]:
    with start_sandbox(sandbox_config(people=40, now=None, mail_responders=False)) as running:
        yield running


def ender(
    db: sqlite_utils.Database,
    *,
    reason: str,
    marketo_id: int | None = None,
    email: str | None = None,
    detail: str | None = None,
    now: datetime | None = None,
) -> list[Any]:
    assert db.conn.in_transaction  # inside the message's transaction
    db.conn.execute(
        "INSERT INTO test_ended (reason, marketo_id, email, detail) VALUES (?, ?, ?, ?)",
        (reason, marketo_id, email, detail),
    )
    return [object()]


def broken(db: sqlite_utils.Database, **_: Any) -> list[Any]:
    db.conn.execute("INSERT INTO test_ended (reason) VALUES ('half-done')")
    raise RuntimeError("campaigns are being migrated")


def test_enrolments_end_for_replies_unsubscribes_and_hard_bounces_only(
    source: RunningSandbox, tmp_path: Path
) -> None:
    env = sandbox_env(source, tmp_path / "home", **sandbox_imap_env(source))
    settings = settings_for(env)
    people = asyncio.run(fetch_people(source, 40))
    db = open_cache(settings, people)
    db.conn.execute("CREATE TABLE test_ended (reason TEXT, marketo_id INTEGER, email TEXT, detail TEXT)")
    chosen = [p for p in people if reachable(p)][:6]
    items = queue_emails(db, settings, chosen)

    async def send() -> None:
        async with open_worker(settings, db=db, mail_lookup_url=source.base_url, inbox=False) as worker:
            await worker.run_once()

    asyncio.run(send())
    emails = sent(db, items, chosen)
    plan = [("reply", "standard"), ("unsubscribe_reply", "reply"), ("bounce", "exchange"),
            ("soft_bounce", "over_quota"), ("auto_reply", "apple"), ("reply", "outlook")]  # fmt: skip
    for email, (kind, variant) in zip(emails[:5], plan, strict=False):
        respond(source, email.message_id, kind, variant)

    register_enrolment_ender(ender)
    register_enrolment_ender(ender)  # once is enough
    assert registered_enders().count(ender) == 1
    try:
        report = asyncio.run(check_inbox(settings, db))
        respond(source, emails[5].message_id, "reply", "outlook")
        register_enrolment_ender(broken)
        later = asyncio.run(check_inbox(settings, db))
    finally:
        unregister_enrolment_ender(ender)
        unregister_enrolment_ender(broken)
    ended = db.conn.execute("SELECT reason, marketo_id, email FROM test_ended ORDER BY rowid").fetchall()
    assert ended == [
        ("replied", emails[0].person["marketo_id"], None),
        ("unsubscribed", emails[1].person["marketo_id"], None),
        ("bounced", emails[2].person["marketo_id"], emails[2].person["email"].lower()),
        ("replied", emails[5].person["marketo_id"], None),  # the broken ender's own write was rolled back
    ]
    assert report.ended_enrolments == 3 and [m.ended for m in report.messages] == [1, 1, 1, 0, 0]
    [reply] = later.messages
    assert reply.kind == "reply" and reply.events and reply.ended == 1
    assert "campaign enrolments could not be ended: campaigns are being migrated" in reply.reason
    db.conn.close()
