"""What a handled message changes, all inside the transaction that records it (see :mod:`sia_tui.inbox.service`).

- a **reply**: a ``reply`` outbox item ("Replied to Sales Email" in Marketo, a Task in Salesforce with
  ``salesforce.log_replies``), and the person's campaign enrolments end (``end_on_reply``);
- an **unsubscribe request** (in a reply, or the bare ``List-Unsubscribe`` mail): the seller's opt-out with source
  ``reply`` — it blocks sends at once, is queued for Salesforce's opt-out field like any opt-out — a ledger entry
  (``opted_out``), and every enrolment of the person ends;
- a **bounce**: a ``bounce`` outbox item ("Sales Email Bounced" in Marketo), the email reads "bounced"; a hard one
  also suppresses the address (the send-time check refuses it, ledger entry ``suppressed``) and ends enrolments
  (``remove_on_bounce``).

Outbox ids are derived from the message (a reply) or the email and address (a bounce), so handling the same
thing again never queues it twice.
"""

from __future__ import annotations

import logging
import uuid
from datetime import datetime
from typing import Any

import sqlite_utils

from sia_tui.compliance.ledger import record_decision
from sia_tui.compliance.salesforce_optouts import record_seller_optout
from sia_tui.compliance.suppressions import add_suppression
from sia_tui.inbox.classify import Bounce
from sia_tui.inbox.enrolments import EnrolmentEnder
from sia_tui.inbox.match import SentEmail
from sia_tui.inbox.parse import Inbound
from sia_tui.outbox import queue as q
from sia_tui.outbox.model import BOUNCE, REPLY, iso

log = logging.getLogger("sia_tui.inbox")

SOURCE_REPLY = "reply"
SOURCE_BOUNCE = "bounce"
MAX_REPLY_TEXT = 2_000
_NAMESPACE = uuid.UUID("6f1d2c1e-5b8a-4c0e-9d61-3a7f1c0b2e44")


def event_id(kind: str, key: str) -> str:
    """The outbox id of an inbox event: the same message (or email and address) always gives the same id."""
    return uuid.uuid5(_NAMESPACE, f"{kind}:{key}").hex


def _activity_date(email: SentEmail, at: datetime) -> datetime:
    """An answer cannot come before the email it answers (a wrong clock on the sender's side)."""
    return max(at, email.occurred_at) if email.occurred_at is not None else at


def _person(email: SentEmail) -> dict[str, Any]:
    return {**email.person, "marketo_id": email.marketo_id}


def address_of(email: SentEmail) -> str:
    """The address we wrote to: the person's, else the first To."""
    own = str(email.person.get("email") or "").strip()
    return own or (email.to[0] if email.to else "")


def end_enrolments(
    db: sqlite_utils.Database,
    enders: list[EnrolmentEnder],
    *,
    reason: str,
    marketo_id: int | None,
    email: str | None,
    detail: str,
    now: datetime,
) -> tuple[int, list[str]]:
    """Call every registered ender in a savepoint: a failing one loses its own change, never the message's."""
    ended, problems = 0, []
    for index, ender in enumerate(enders):
        savepoint = f"inbox_end_{index}"
        db.conn.execute(f"SAVEPOINT {savepoint}")
        try:
            result = ender(db, reason=reason, marketo_id=marketo_id, email=email, detail=detail, now=now)
            ended += len(result or ())
            db.conn.execute(f"RELEASE {savepoint}")
        except Exception as exc:
            db.conn.execute(f"ROLLBACK TO {savepoint}")
            db.conn.execute(f"RELEASE {savepoint}")
            log.warning("ending campaign enrolments (%s) failed: %s", reason, exc)
            problems.append(f"campaign enrolments could not be ended: {exc}")
    return ended, problems


def log_reply(
    db: sqlite_utils.Database,
    *,
    key: str,
    msg: Inbound,
    email: SentEmail,
    text: str,
    phrase: str,
    at: datetime,
) -> str:
    """Queue the "Replied to Sales Email" activity (and Task); returns its outbox id."""
    item_id = event_id(REPLY, key)
    q.enqueue_inbox_event(
        db,
        kind=REPLY,
        item_id=item_id,
        person=_person(email),
        seller=email.seller,
        payload={
            "email_item_id": email.item_id,
            "email_subject": email.subject,
            "subject": msg.subject[:998],
            "received_by": msg.from_addr,
            "message_id": msg.message_id,
            "text": text[:MAX_REPLY_TEXT],
            "unsubscribe": bool(phrase),
            "phrase": phrase,
        },
        occurred_at=_activity_date(email, at),
        salesforce=True,
    )
    return item_id


def record_optout(
    db: sqlite_utils.Database, *, msg: Inbound, email: SentEmail, phrase: str, at: datetime
) -> str:
    """The person asked to stop emails: opt-out (source "reply"), queued for Salesforce, ledger entry."""
    address = address_of(email)
    when = at.date().isoformat()
    reason = f"asked to stop emails in a reply on {when}: “{phrase}”"
    record_seller_optout(db, email.marketo_id, reason, email=address or None, source=SOURCE_REPLY)
    record_decision(
        db,
        item_id=email.item_id,
        marketo_id=email.marketo_id,
        email=address or msg.from_addr,
        decision="opted_out",
        reason=(
            f"{msg.from_addr or address} asked to stop emails in a reply on {when} (“{phrase}”): recorded as an "
            "opt-out; sia-tui will not email this person or address again"
        ),
        source=SOURCE_REPLY,
        detail={
            "message_id": msg.message_id,
            "from": msg.from_addr,
            "phrase": phrase,
            "received_at": iso(at),
        },
    )
    return address


def log_bounce(
    db: sqlite_utils.Database, *, msg: Inbound, email: SentEmail, bounce: Bounce, recipient: str, at: datetime
) -> tuple[str, bool]:
    """Queue "Sales Email Bounced", mark the email bounced; a hard bounce suppresses the address.

    Returns (the bounce's outbox id, whether the address was newly suppressed)."""
    item_id = event_id(BOUNCE, f"{email.item_id}:{recipient.lower()}")
    details = {
        "type": bounce.severity,
        "status": bounce.status,
        "diagnostic": bounce.diagnostic,
        "recipient": recipient,
        "at": iso(at),
    }
    q.enqueue_inbox_event(
        db,
        kind=BOUNCE,
        item_id=item_id,
        person=_person(email),
        seller=email.seller,
        payload={
            "email_item_id": email.item_id,
            "email_subject": email.subject,
            "message_id": msg.message_id,
            **details,
            "why": bounce.why,
        },
        occurred_at=_activity_date(email, at),
        salesforce=False,
    )
    q.mark_bounced(db, email.item_id, details)
    newly = False
    if bounce.severity == "hard" and recipient:
        code = f" {bounce.status}" if bounce.status else ""
        reason = f"hard bounce{code} on {at.date().isoformat()}: {bounce.diagnostic or bounce.why}"[:500]
        person = email.marketo_id if recipient.lower() == address_of(email).lower() else None
        newly = add_suppression(
            db, email=recipient, reason=reason, marketo_id=person, status_code=bounce.status, item_id=email.item_id
        )  # fmt: skip
        if newly:
            record_decision(
                db,
                item_id=email.item_id,
                marketo_id=email.marketo_id,
                email=recipient,
                decision="suppressed",
                reason=(
                    f"{recipient} hard-bounced ({bounce.why}): sia-tui will not email this address again"
                )[:1000],
                source=SOURCE_BOUNCE,
                detail={
                    "message_id": msg.message_id,
                    "status": bounce.status,
                    "diagnostic": bounce.diagnostic,
                },
            )
    return item_id, newly
