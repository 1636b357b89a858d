"""Helpers for the inbox's integration tests: send emails through the outbox to a sandbox, have its demo recipients
answer on demand (``POST /_sandbox/mail/respond``), fetch those answers as raw bytes over IMAP, and point a profile
at any IMAP server (the sandbox's or a real Dovecot, from ``tests/support/imap_servers.py``)."""

from __future__ import annotations

import imaplib
from dataclasses import dataclass
from datetime import UTC, datetime
from email.message import EmailMessage
from email.utils import format_datetime, make_msgid
from typing import Any

import httpx
import sqlite_utils

from sia_sandbox.server import RunningSandbox
from sia_tui.config import Settings
from sia_tui.outbox import queue as q
from sia_tui.outbox.compose import prepare_email, seller_from_settings
from sia_tui.outbox.model import OutboxItem
from tests.support.imap_servers import ImapEndpoint

SUBJECT = "Quick question about {{company_friendly}}"


@dataclass(frozen=True)
class Sent:
    item: OutboxItem
    message_id: str
    person: dict[str, Any]


def imap_env(endpoint: ImapEndpoint, ca_file: str = "", **extra: str) -> dict[str, str]:
    """Environment variables that point a profile's ``imap.*`` at ``endpoint``'s plain port: the reader upgrades
    with STARTTLS where the server offers it (Dovecot does, trusting ``ca_file``), else stays plain on loopback."""
    env = {
        "SIA_IMAP_HOST": endpoint.host,
        "SIA_IMAP_PORT": str(endpoint.port),
        "SIA_IMAP_USERNAME": endpoint.username,
        "SIA_IMAP_PASSWORD": endpoint.password,
        "SIA_IMAP_TLS": "false",
        "SIA_IMAP_CA_FILE": ca_file,
    }
    env.update(extra)
    return env


def sandbox_imap_env(running: RunningSandbox, **extra: str) -> dict[str, str]:
    env = {
        "SIA_IMAP_HOST": running.imap_host,
        "SIA_IMAP_PORT": str(running.imap_port),
        "SIA_IMAP_USERNAME": running.imap_username,
        "SIA_IMAP_PASSWORD": running.imap_password,
        "SIA_IMAP_TLS": "false",
    }
    env.update(extra)
    return env


def unique_reachable(people: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """People who can be emailed and share their address with nobody (a flagged duplicate would block them)."""
    from collections import Counter

    from tests.support.outbox_env import reachable

    counts = Counter(str(p["email"]).lower() for p in people if p.get("email"))
    return [p for p in people if reachable(p) and counts[str(p["email"]).lower()] == 1]


def queue_emails(
    db: sqlite_utils.Database, settings: Settings, people: list[dict[str, Any]], subject: str = SUBJECT
) -> list[OutboxItem]:
    seller = seller_from_settings(settings)
    body = 'Hi {{first_name | default: "there"}},\n\nShall we talk?'
    return [
        q.enqueue_email(db, prepare_email(db, p["marketo_id"], subject=subject, body=body, seller=seller))
        for p in people
    ]


def sent(db: sqlite_utils.Database, items: list[OutboxItem], people: list[dict[str, Any]]) -> list[Sent]:
    """The emails as they went out (their Message-IDs), in order; every one must have been sent."""
    out = []
    for item, person in zip(items, people, strict=True):
        final = q.get_item(db, item.id)
        assert final is not None and final.destinations["smtp"].state == "done", final
        ref = final.destinations["smtp"].ref
        assert ref
        out.append(Sent(final, ref, person))
    return out


def respond(
    running: RunningSandbox, message_id: str, kind: str, variant: str | None = None
) -> dict[str, Any]:
    body: dict[str, Any] = {"message_id": message_id, "kind": kind}
    if variant:
        body["variant"] = variant
    reply = httpx.post(f"{running.base_url}/_sandbox/mail/respond", json=body, timeout=30)
    assert reply.status_code == 200, reply.text
    return dict(reply.json())


def responders_off(running: RunningSandbox) -> None:
    httpx.post(
        f"{running.base_url}/_sandbox/mail/responders", json={"enabled": False}, timeout=30
    ).raise_for_status()


def raw_messages(running: RunningSandbox, uids: list[int], mailbox: str = "INBOX") -> dict[int, bytes]:
    """Messages of the sandbox's mailbox as raw bytes (over IMAP, as any client reads them)."""
    client = imaplib.IMAP4(running.imap_host, running.imap_port, timeout=30)
    try:
        client.login(running.imap_username, running.imap_password)
        client.select(mailbox, readonly=True)
        out: dict[int, bytes] = {}
        for uid in uids:
            typ, data = client.uid("FETCH", str(uid), "(BODY.PEEK[])")
            assert typ == "OK", data
            literal = next(part for part in data if isinstance(part, tuple))
            out[uid] = bytes(literal[1])
        return out
    finally:
        client.logout()


def sink_raw(running: RunningSandbox, message_id: str) -> bytes:
    """The message with ``message_id`` as the SMTP sink received it (what a BCC to the seller would look like)."""
    for msg in httpx.get(f"{running.base_url}/_sandbox/mail", timeout=30).json():
        if msg.get("message_id") == message_id:
            return str(msg["raw"]).encode("utf-8")
    raise AssertionError(f"{message_id} is not in the sink")


# ----------------------------------------------------------------------------------------- odd messages


def _message(**headers: str) -> EmailMessage:
    msg = EmailMessage()
    for name, value in headers.items():
        msg[name.replace("_", "-")] = value
    return msg


def big_reply(to_message_id: str, sender: str, *, megabytes: int = 20) -> bytes:
    """A real reply to our email, carrying a ``megabytes`` MB attachment after its text."""
    msg = _message(
        From=sender, To="seller@example.com", Subject="Re: our proposal", Message_ID=make_msgid(domain="big.example"),
        In_Reply_To=to_message_id, References=to_message_id, Date=format_datetime(datetime.now(UTC)),
    )  # fmt: skip
    msg.set_content("Here is the signed contract, see attached.\n")
    msg.add_attachment(
        b"\0" * (megabytes * 1024 * 1024), maintype="application", subtype="pdf", filename="c.pdf"
    )
    return msg.as_bytes()


def latin1_reply(to_message_id: str, sender: str) -> bytes:
    """A reply whose Subject and From name are raw Latin-1 bytes (no RFC 2047 encoding)."""
    return (
        b"From: Ren\xe9e Dupr\xe9 <" + sender.encode() + b">\r\nTo: seller@example.com\r\n"
        b"Subject: Re: caf\xe9 cr\xe8me et r\xe9sum\xe9\r\nMessage-ID: <latin1-" + sender.encode() + b">\r\n"
        b"In-Reply-To: " + to_message_id.encode() + b"\r\nDate: " + format_datetime(datetime.now(UTC)).encode()
        + b"\r\nContent-Type: text/plain; charset=iso-8859-1\r\n\r\nTr\xe8s int\xe9ressant, parlons-en.\r\n"
    )  # fmt: skip


MALFORMED = b"\x00\x01garbage that is not a message \xff\xfe\r\n\r\n--no-headers-at-all--\r\n"


def foreign_bounce(recipient: str) -> bytes:
    """A delivery failure for a message sia-tui never sent (its Message-ID is someone else's)."""
    boundary = "FOREIGN"
    return (
        "Return-Path: <>\r\nFrom: MAILER-DAEMON@mx.elsewhere.example (Mail Delivery System)\r\n"
        "Subject: Undelivered Mail Returned to Sender\r\nAuto-Submitted: auto-replied\r\n"
        "Message-Id: <foreign-bounce-1@mx.elsewhere.example>\r\nMIME-Version: 1.0\r\n"
        f'Content-Type: multipart/report; report-type=delivery-status; boundary="{boundary}"\r\n\r\n'
        f"--{boundary}\r\nContent-Type: text/plain\r\n\r\nCould not deliver.\r\n"
        f"--{boundary}\r\nContent-Type: message/delivery-status\r\n\r\nReporting-MTA: dns; mx.elsewhere.example\r\n\r\n"
        f"Final-Recipient: rfc822; nobody-we-know@elsewhere.example\r\nAction: failed\r\nStatus: 5.1.1\r\n"
        f"Diagnostic-Code: smtp; 550 5.1.1 User unknown\r\n\r\n"
        f"--{boundary}\r\nContent-Type: text/rfc822-headers\r\n\r\nFrom: someone@elsewhere.example\r\n"
        f"To: nobody-we-know@elsewhere.example\r\nSubject: Hello\r\nMessage-ID: <not-ours-42@elsewhere.example>\r\n\r\n"
        f"--{boundary}--\r\n"
    ).encode()


def seller_reply(to_message_id: str, seller: str) -> bytes:
    """The seller answering in the thread from their own mail program (never a reply of the person)."""
    msg = _message(
        From=seller, To="someone@acme.example", Subject="Re: following up", Message_ID=make_msgid(domain="seller.example"),
        In_Reply_To=to_message_id, References=to_message_id, Date=format_datetime(datetime.now(UTC)),
    )  # fmt: skip
    msg.set_content("Just following up on my note below.\n")
    return msg.as_bytes()


# ------------------------------------------------------------------------------------------- read-back


async def marketo_inbox_activities(
    running: RunningSandbox, lead_ids: list[int], since: datetime
) -> dict[str, dict[str, list[dict[str, Any]]]]:
    """ "Replied to Sales Email" and "Sales Email Bounced" activities in Marketo: ``{kind: {outbox id: [...]}}``."""
    from sia_tui.outbox.activity_types import resolve_type_ids
    from sia_tui.outbox.records import activity_id_of
    from tests.support.outbox_env import marketo_for

    out: dict[str, dict[str, list[dict[str, Any]]]] = {"reply": {}, "bounce": {}}
    async with marketo_for(running) as marketo:
        types = await resolve_type_ids(marketo, auto_provision=False)
        kind_of = {types.reply: "reply", types.bounce: "bounce"}
        async for activity in marketo.iter_activities(
            [types.reply, types.bounce], since=since, lead_ids=sorted(set(lead_ids))
        ):
            key = activity_id_of(activity)
            kind = kind_of.get(int(activity.get("activityTypeId") or 0))
            if key and kind:
                out[kind].setdefault(key, []).append(activity)
    return out
