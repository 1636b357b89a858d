"""The inbox reader against a real IMAP server and the sandbox's: the same test body runs on both (``imap_server``).

Emails go out through the outbox to a sandbox; its demo recipients answer every one on demand, in every shape the
sandbox knows (replies from Gmail- and Outlook-like clients, one whose Message-ID the provider rewrote, six kinds
of out-of-office, five hard and three soft bounces, an unsubscribe reply and a List-Unsubscribe mail). Those
answers, plus a 20 MB reply, a reply with raw Latin-1 headers, a malformed message, a bounce for a message we
never sent, a copy of our own email and the seller's own follow-up, are APPENDed to the mailbox under test, which
the reader then reads like any mailbox.
"""

from __future__ import annotations

import asyncio
from collections import Counter
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest

from sia_sandbox.server import RunningSandbox, start_sandbox
from sia_tui.compliance.ledger import ledger_entries
from sia_tui.compliance.salesforce_optouts import queue_row
from sia_tui.compliance.suppressions import list_suppressions
from sia_tui.inbox.hooks import check_inbox
from sia_tui.inbox.store import get_position, messages, recent_replies
from sia_tui.outbox import queue as q
from sia_tui.outbox.worker import open_worker
from tests.conftest import sandbox_config
from tests.support.imap_servers import ImapEndpoint
from tests.support.inbox_env import (
    MALFORMED,
    big_reply,
    foreign_bounce,
    imap_env,
    latin1_reply,
    queue_emails,
    raw_messages,
    respond,
    seller_reply,
    sent,
    sink_raw,
)
from tests.support.outbox_env import (
    SELLER_EMAIL,
    fetch_people,
    open_cache,
    reachable,
    sandbox_env,
    settings_for,
)
from tests.support.tls_files import TlsFiles

PLAN = [
    ("reply", "standard"), ("reply", "outlook"), ("reply", "in_reply_to_only"), ("reply", "rewritten_id"),
    ("reply", "different_address"),
    ("auto_reply", "auto_submitted"), ("auto_reply", "x_autoreply"), ("auto_reply", "precedence"),
    ("auto_reply", "exchange"), ("auto_reply", "apple"), ("auto_reply", "subject_only"),
    ("bounce", "postfix"), ("bounce", "gmail"), ("bounce", "exchange"), ("bounce", "qmail"), ("bounce", "exim"),
    ("soft_bounce", "mailbox_full"), ("soft_bounce", "over_quota"), ("soft_bounce", "expired"),
    ("unsubscribe_reply", "reply"), ("unsubscribe_reply", "list_unsubscribe"),
]  # fmt: skip


#: Arrival time of appended messages: the test sandbox's own clock starts in March 2026, but a mailbox is read from
#: the day before sia-tui's first email (sent now), by the server's arrival date.
def now() -> datetime:
    return datetime.now(UTC)


EXPECTED_KIND = {
    "reply": "reply", "auto_reply": "auto_reply", "bounce": "bounce", "soft_bounce": "bounce",
    "unsubscribe_reply": "reply",
}  # fmt: skip


@pytest.fixture
def source() -> Iterator[RunningSandbox]:
    """Marketo, Salesforce and the SMTP sink the emails go to, and whose demo recipients write the answers."""
    with start_sandbox(sandbox_config(people=150, now=None, mail_responders=False)) as running:
        yield running


async def _send(settings, db, running: RunningSandbox) -> None:
    async with open_worker(settings, db=db, mail_lookup_url=running.base_url, inbox=False) as worker:
        report = await worker.run_once()
        assert report.failed == 0, report.notes


def test_every_kind_of_answer_is_read_once_and_acted_on(
    source: RunningSandbox, imap_server: ImapEndpoint, imap_tls_files: TlsFiles, tmp_path: Path
) -> None:
    env = sandbox_env(source, tmp_path / "home", **imap_env(imap_server, imap_tls_files.cert))
    settings = settings_for(env)
    people = asyncio.run(fetch_people(source, 150))
    db = open_cache(settings, people)
    chosen = [p for p in people if reachable(p)][: len(PLAN)]
    items = queue_emails(db, settings, chosen)
    asyncio.run(_send(settings, db, source))
    emails = sent(db, items, chosen)

    answers = [
        respond(source, e.message_id, kind, variant) for e, (kind, variant) in zip(emails, PLAN, strict=True)
    ]
    raw = raw_messages(source, [a["uid"] for a in answers])
    appended: dict[int, tuple[str, object]] = {}
    for answer, email, (kind, variant) in zip(answers, emails, PLAN, strict=True):
        uid = imap_server.append(raw[answer["uid"]], when=now())
        appended[uid] = (f"{kind}/{variant}", email)
    extras = {
        "big": big_reply(emails[0].message_id, emails[0].person["email"]),
        "latin1": latin1_reply(emails[1].message_id, emails[1].person["email"]),
        "malformed": MALFORMED,
        "foreign-bounce": foreign_bounce("nobody-we-know@elsewhere.example"),
        "own-copy": sink_raw(source, emails[2].message_id),
        "seller": seller_reply(emails[3].message_id, SELLER_EMAIL),
    }
    for name, data in extras.items():
        appended[imap_server.append(data, when=now())] = (name, None)

    report = asyncio.run(check_inbox(settings, db))
    found = {m.uid: m for m in report.messages}
    assert set(found) == set(appended), report.to_json()
    for uid, (label, email) in appended.items():
        got = found[uid]
        if email is not None:
            kind = label.split("/")[0]
            expected = "unsubscribe" if label.endswith("list_unsubscribe") else EXPECTED_KIND[kind]
            assert got.kind == expected, (label, got)
            assert got.item_id == email.item.id, (label, got)  # matched to the right email
            if kind in ("bounce", "soft_bounce"):
                assert got.bounce_type == ("hard" if kind == "bounce" else "soft"), (label, got)
                assert got.status and got.diagnostic and got.recipient == email.person["email"].lower()
            if kind == "unsubscribe_reply":
                assert got.unsubscribe, (label, got)
            if label.endswith("rewritten_id"):
                assert got.matched_by == "fallback-subject"
    by_name = {label: found[uid] for uid, (label, email) in appended.items() if email is None}
    assert by_name["big"].kind == "reply" and "first part" in by_name["big"].reason
    assert by_name["latin1"].kind == "reply" and "café crème" in by_name["latin1"].subject
    assert (
        by_name["malformed"].kind == "skipped"
        and "not a readable email message" in by_name["malformed"].reason
    )
    assert by_name["foreign-bounce"].kind == "bounce" and by_name["foreign-bounce"].item_id is None
    assert "did not send" in by_name["foreign-bounce"].reason
    assert by_name["own-copy"].kind == "own" and by_name["seller"].kind == "own"

    assert (report.replies, report.unsubscribes, report.auto_replies) == (8, 2, 6)
    assert report.bounces == {"hard": 5, "soft": 3} and report.skipped == 2 and report.own == 2
    assert report.queued == 8 + 8  # one activity per reply and per bounce: out-of-office answers log nothing

    # What it changed: outbox items to log, bounced emails, opt-outs, suppressions, ledger entries.
    events = Counter(i.kind for i in q.list_items(db, limit=None) if i.kind in ("reply", "bounce"))
    assert events == {"reply": 8, "bounce": 8}
    states = Counter(q.get_item(db, e.item.id).state for e in emails)
    assert states["bounced"] == 8
    unsubscribed = [e for e, (kind, _) in zip(emails, PLAN, strict=True) if kind == "unsubscribe_reply"]
    hard = [e for e, (kind, _) in zip(emails, PLAN, strict=True) if kind == "bounce"]
    for e in unsubscribed:
        assert (
            queue_row(db, e.person["marketo_id"])["source"] == "reply"
        )  # pushed to Salesforce like any opt-out
    assert {s["email"].lower() for s in list_suppressions(db)} == {e.person["email"].lower() for e in hard}
    decisions = Counter(e["decision"] for e in ledger_entries(db, limit=None))
    assert decisions["opted_out"] == 2 and decisions["suppressed"] == 5
    assert len(recent_replies(db)) == 8

    # Nothing is read twice: a new session reads nothing; a new message is read alone.
    again = asyncio.run(check_inbox(settings, db))
    assert again.read == 0 and again.last_uid == max(appended)
    later = respond(source, emails[5].message_id, "reply", "standard")
    new_uid = imap_server.append(raw_messages(source, [later["uid"]])[later["uid"]], when=now())
    third = asyncio.run(check_inbox(settings, db))
    assert [(m.uid, m.kind, m.item_id) for m in third.messages] == [(new_uid, "reply", emails[5].item.id)]
    position = get_position(db, third.account, third.folder)
    assert position is not None and position.last_uid == new_uid

    # The next email to a hard-bounced or unsubscribed person is blocked, and the ledger says why.
    again_items = queue_emails(db, settings, [e.person for e in hard + unsubscribed])
    asyncio.run(_send_blocked(settings, db, source))
    for item, e in zip(again_items, hard + unsubscribed, strict=True):
        final = q.get_item(db, item.id)
        assert final.state == "blocked", final.to_json()
        [entry] = [x for x in ledger_entries(db, item_id=item.id) if x["decision"] == "blocked"]
        expected_source = "hard bounce" if e in hard else "local opt-out"
        assert entry["source"] == expected_source, entry
    db.conn.close()


async def _send_blocked(settings, db, running: RunningSandbox) -> None:
    async with open_worker(settings, db=db, mail_lookup_url=running.base_url, inbox=False) as worker:
        report = await worker.run_once()
        assert report.blocked == 7 and report.sent == 0, report.to_json()


def test_a_new_uidvalidity_reads_the_folder_again_without_acting_twice(
    source: RunningSandbox, imap_server: ImapEndpoint, imap_tls_files: TlsFiles, tmp_path: Path
) -> None:
    imap_server.create("Replies")
    env = sandbox_env(
        source, tmp_path / "home", **imap_env(imap_server, imap_tls_files.cert, SIA_IMAP_FOLDER="Replies")
    )
    settings = settings_for(env)
    people = asyncio.run(fetch_people(source, 40))
    db = open_cache(settings, people)
    chosen = [p for p in people if reachable(p)][:4]
    items = queue_emails(db, settings, chosen)
    asyncio.run(_send(settings, db, source))
    emails = sent(db, items, chosen)
    kinds = [("reply", "standard"), ("bounce", "postfix"), ("auto_reply", "apple"), ("reply", "outlook")]
    answers = [respond(source, e.message_id, k, v) for e, (k, v) in zip(emails, kinds, strict=True)]
    raw = raw_messages(source, [a["uid"] for a in answers])
    for answer in answers[:3]:
        imap_server.append(raw[answer["uid"]], mailbox="Replies", when=now())
    first = asyncio.run(check_inbox(settings, db))
    assert [m.kind for m in first.messages] == ["reply", "bounce", "auto_reply"]
    before = len(q.list_items(db, limit=None))

    # The folder is deleted and made again: the server gives it a new UIDVALIDITY and numbers UIDs from 1.
    client = imap_server.imaplib_client()
    assert client.delete("Replies")[0] == "OK" and client.create("Replies")[0] == "OK"
    client.logout()
    for answer in answers:
        imap_server.append(raw[answer["uid"]], mailbox="Replies", when=now())
    second = asyncio.run(check_inbox(settings, db))
    assert second.uidvalidity != first.uidvalidity
    assert any("UIDVALIDITY changed" in n for n in second.notes), second.notes
    assert [m.kind for m in second.messages] == ["duplicate", "duplicate", "duplicate", "reply"]
    assert len(q.list_items(db, limit=None)) == before + 1  # only the new reply's activity
    assert [r["kind"] for r in messages(db)].count("reply") == 2
    db.conn.close()
