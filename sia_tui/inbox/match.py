"""Which email sia-tui sent an inbound message answers (or returns, for a bounce).

1. **Threading headers** (RFC 5322 §3.6.4): ``In-Reply-To`` first, then ``References`` from the newest id back,
   against the Message-IDs the outbox generated (``outbox_destinations.ref`` of the SMTP step; they are
   ``<sia-<outbox id>@<seller's domain>>``, so an id is recognised even while its send is still being settled).
   A bounce also offers the Message-ID of the original it returns (its ``message/rfc822`` or headers part, a
   Gmail ``X-Original-Message-ID``, or the copy after a qmail/Exim notice).
2. **Fallback**, when no id of ours is there (the sender's provider rewrote our Message-ID, as Outlook.com and
   Amazon SES do; a client that drops threading headers; an Exchange out-of-office without them):
   - a message *from an address we emailed* within :data:`FALLBACK_DAYS` days before it, whose subject without
     ``Re:``/``RE:``/``Fwd:``/``回覆:``/``Automatic reply:``-style prefixes equals that email's subject → the most
     recent such email;
   - a message whose whole subject is ``unsubscribe`` (what the ``List-Unsubscribe: <mailto:…?subject=unsubscribe>``
     header of every email we send makes a mail program write) from an address we ever emailed → an unsubscribe
     request for the most recent email to that address;
   - a bounce that names no original id, for an address we emailed within :data:`BOUNCE_FALLBACK_DAYS` days
     before it → the most recent email to that address.
"""

from __future__ import annotations

import json
import re
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import sqlite_utils

from sia_tui.clock import parse_time
from sia_tui.inbox import phrases as p
from sia_tui.inbox.classify import normalise_subject

FALLBACK_DAYS = 30
BOUNCE_FALLBACK_DAYS = 7
OUR_ID = re.compile(r"^<sia-([0-9a-f]{32})@[^<>\s]+>$")
#: Subjects of automatic answers, stripped before comparing with ours ("Automatic reply: Hello" answers "Hello").
_AUTO_PREFIX = re.compile(
    r"^\s*(?:(?:automatic|auto)[\s_-]*(?:reply|response)|auto|out\s+of\s+(?:the\s+)?office|"
    r"自動回覆|自動回復|自动回复|不在のお知らせ|自動応答|自動返信|undeliverable|undelivered)\s*[:：]\s*",
    re.IGNORECASE,
)


@dataclass(frozen=True)
class SentEmail:
    """An email sia-tui sent, as the inbox needs it."""

    item_id: str
    marketo_id: int
    subject: str
    message_id: str
    recipients: tuple[str, ...]  # To, CC, BCC (lower-case)
    to: tuple[str, ...]
    occurred_at: datetime | None
    person: dict[str, Any]
    seller: dict[str, Any]


@dataclass(frozen=True)
class Match:
    email: SentEmail
    by: str  # in-reply-to, references, returned-message, fallback-subject, fallback-unsubscribe, fallback-address


def subject_key(subject: str) -> str:
    """A subject as compared for the fallback: reply, forward and automatic-answer prefixes removed."""
    text = subject or ""
    for _ in range(4):
        stripped = _AUTO_PREFIX.sub("", p.SUBJECT_PREFIX.sub("", text))
        if stripped == text:
            break
        text = stripped
    return normalise_subject(text)


_EMAIL_COLUMNS = "o.id, o.marketo_id, o.payload, o.person, o.seller, o.occurred_at, d.ref"


def _email(row: Sequence[Any]) -> SentEmail:
    payload = json.loads(row[2] or "{}")
    to = tuple(str(a).lower() for a in payload.get("to") or [])
    everyone = to + tuple(str(a).lower() for a in [*(payload.get("cc") or []), *(payload.get("bcc") or [])])
    return SentEmail(
        item_id=str(row[0]),
        marketo_id=int(row[1]),
        subject=str(payload.get("subject") or ""),
        message_id=str(row[6] or ""),
        recipients=tuple(dict.fromkeys(everyone)),
        to=to,
        occurred_at=parse_time(row[5]),
        person=json.loads(row[3] or "{}"),
        seller=json.loads(row[4] or "{}"),
    )


def _emails_by_id(db: sqlite_utils.Database, ids: Sequence[str]) -> dict[str, SentEmail]:
    """Our emails among Message-IDs ``ids``: ``{message id: email}``."""
    wanted = [i for i in dict.fromkeys(ids) if i]
    if not wanted:
        return {}
    out: dict[str, SentEmail] = {}
    marks = ",".join("?" * len(wanted))
    for row in db.conn.execute(
        f"SELECT {_EMAIL_COLUMNS} FROM outbox o JOIN outbox_destinations d ON d.item_id = o.id "
        f"AND d.destination = 'smtp' WHERE o.kind = 'email' AND d.ref IN ({marks})",
        wanted,
    ):
        out[str(row[6])] = _email(row)
    by_pattern = {m.group(1): i for i in wanted if i not in out and (m := OUR_ID.match(i))}
    if by_pattern:
        marks = ",".join("?" * len(by_pattern))
        for row in db.conn.execute(
            f"SELECT {_EMAIL_COLUMNS} FROM outbox o JOIN outbox_destinations d ON d.item_id = o.id "
            f"AND d.destination = 'smtp' WHERE o.kind = 'email' AND o.id IN ({marks})",
            list(by_pattern),
        ):
            out[by_pattern[str(row[0])]] = _email(row)
    return out


def find_by_ids(db: sqlite_utils.Database, ids: Sequence[str], by: str) -> Match | None:
    """The first of ``ids`` (in order) that is one of our emails."""
    found = _emails_by_id(db, ids)
    for message_id in ids:
        if message_id in found:
            return Match(found[message_id], by)
    return None


def is_our_message_id(db: sqlite_utils.Database, message_id: str) -> bool:
    """``message_id`` is the Message-ID of an email sia-tui sent (a copy of it, e.g. a BCC to the seller)."""
    return bool(message_id) and bool(_emails_by_id(db, [message_id]))


def emails_to(
    db: sqlite_utils.Database, address: str, *, since: datetime | None, until: datetime | None
) -> list[SentEmail]:
    """Emails sent (or being settled) to ``address`` in the window, newest first."""
    key = (address or "").strip().lower()
    if not key:
        return []
    clauses = ["o.kind = 'email'", "d.state IN ('done', 'sending', 'unknown')"]
    args: list[Any] = []
    if since is not None:
        clauses.append("o.occurred_at >= ?")
        args.append(since.isoformat(timespec="microseconds"))
    if until is not None:
        clauses.append("o.occurred_at <= ?")
        args.append(until.isoformat(timespec="microseconds"))
    clauses.append(
        "EXISTS (SELECT 1 FROM json_each(o.payload, '$.to') WHERE lower(value) = ? UNION ALL "
        "SELECT 1 FROM json_each(o.payload, '$.cc') WHERE lower(value) = ? UNION ALL "
        "SELECT 1 FROM json_each(o.payload, '$.bcc') WHERE lower(value) = ?)"
    )
    args += [key, key, key]
    rows = db.conn.execute(
        f"SELECT {_EMAIL_COLUMNS} FROM outbox o JOIN outbox_destinations d ON d.item_id = o.id "
        f"AND d.destination = 'smtp' WHERE {' AND '.join(clauses)} ORDER BY o.occurred_at DESC, o.id LIMIT 500",
        args,
    ).fetchall()
    return [_email(r) for r in rows]


def _window(at: datetime, days: int) -> tuple[datetime, datetime]:
    # A little slack after ``at``: the answer's Date comes from the replier's clock.
    return at - timedelta(days=days), at + timedelta(hours=1)


def fallback_reply(db: sqlite_utils.Database, sender: str, subject: str, at: datetime) -> Match | None:
    """The latest email to ``sender`` within :data:`FALLBACK_DAYS` whose subject ``subject`` answers."""
    wanted = subject_key(subject)
    if not wanted:
        return None
    since, until = _window(at, FALLBACK_DAYS)
    for email in emails_to(db, sender, since=since, until=until):
        if subject_key(email.subject) == wanted:
            return Match(email, "fallback-subject")
    return None


def is_list_unsubscribe(subject: str) -> bool:
    """The subject a ``List-Unsubscribe`` mailto link produces (ours asks for ``subject=unsubscribe``)."""
    return " ".join((subject or "").split()).casefold() in ("unsubscribe", "unsubscribe me")


def fallback_unsubscribe(db: sqlite_utils.Database, sender: str, at: datetime) -> Match | None:
    found = emails_to(db, sender, since=None, until=at + timedelta(hours=1))
    return Match(found[0], "fallback-unsubscribe") if found else None


def fallback_bounce(db: sqlite_utils.Database, recipient: str, at: datetime) -> Match | None:
    since, until = _window(at, BOUNCE_FALLBACK_DAYS)
    found = emails_to(db, recipient, since=since, until=until)
    return Match(found[0], "fallback-address") if found else None
