"""One pass over the seller's mailbox: read what arrived since the last pass, classify it, act on it, once.

A pass (:func:`run_pass`) EXAMINEs the folder read-only, reads every message with a UID above the stored position
(``inbox_position``: UIDVALIDITY + last UID), and handles them in UID order. Each message is handled in **one
SQLite transaction** that writes what it causes (outbox items for Marketo/Salesforce, an opt-out, a suppression,
ledger entries, ended campaign enrolments), a row in ``inbox_messages`` and the new position. So a crash or
SIGKILL at any instant leaves either all of it or none of it, and the next pass resumes at the first message not
handled: nothing is read twice, nothing is skipped. Delivery to Marketo and Salesforce is the outbox worker's,
with its exactly-once guarantees.

- First pass on a folder (or after its UIDVALIDITY changed): reading starts at the day before sia-tui's first
  email (nothing older can answer one), or at the end of the folder when none was ever sent. A message handled
  before is recognised by its Message-ID (``inbox_messages.key``), so a UIDVALIDITY reset re-reads without acting
  twice.
- A message that cannot be read (no headers, broken MIME that hides everything, an error in our own code) is
  recorded with the reason and the pass goes on; it stays in the mailbox untouched (nothing is ever deleted,
  moved or marked read). Only the first :data:`~sia_tui.mail.imap.READ_LIMIT_BYTES` of a large message are read.
- IMAP trouble (network, login) stops the pass where it is; the next one resumes there.
- Messages sia-tui sent itself (our Message-ID, e.g. a BCC to the seller) and the seller's own messages never
  count as replies.
"""

from __future__ import annotations

import asyncio
import logging
import sqlite3
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import sqlite_utils

from sia_tui.clock import Clock, system_clock
from sia_tui.inbox import effects, match
from sia_tui.inbox.classify import Classification, classify
from sia_tui.inbox.enrolments import BOUNCED, REPLIED, UNSUBSCRIBED, EnrolmentEnder, registered_enders
from sia_tui.inbox.match import Match, SentEmail
from sia_tui.inbox.parse import Inbound, normalise_message_id, parse_message
from sia_tui.inbox.store import earliest_sent_at, get_position, record_message, seen, set_position
from sia_tui.mail.imap import FetchedMessage, FolderState, ImapError, ImapReader
from sia_tui.store.db import transaction

log = logging.getLogger("sia_tui.inbox")

#: At most this many messages per pass; the next pass (the next worker cycle) goes on from there.
PASS_LIMIT = 200
MAX_STORED_TEXT = 2_000

KINDS = ("reply", "unsubscribe", "auto_reply", "bounce", "delay", "own", "unrelated", "duplicate", "skipped")


@dataclass
class Found:
    """What one message was and what was done (``inbox check --json`` lists these under ``messages``)."""

    uid: int
    kind: str
    from_addr: str = ""
    subject: str = ""
    item_id: str | None = None  # our email it answers
    marketo_id: int | None = None
    matched_by: str | None = None
    bounce_type: str | None = None
    status: str | None = None
    diagnostic: str | None = None
    recipient: str | None = None
    unsubscribe: str | None = None
    events: list[str] = field(default_factory=list)  # outbox ids queued for Marketo / Salesforce
    ended: int = 0  # campaign enrolments it ended
    reason: str = ""

    def to_json(self) -> dict[str, Any]:
        out = asdict(self)
        out["from"] = out.pop("from_addr")
        return out


@dataclass
class InboxReport:
    """What one pass found (``sia-tui inbox check --json``)."""

    account: str = ""
    folder: str = ""
    uidvalidity: int | None = None
    last_uid: int | None = None
    read: int = 0
    replies: int = 0
    unsubscribes: int = 0
    auto_replies: int = 0
    bounces: dict[str, int] = field(default_factory=lambda: {"hard": 0, "soft": 0})
    delays: int = 0
    own: int = 0
    unrelated: int = 0
    duplicates: int = 0
    skipped: int = 0
    queued: int = 0  # activities queued for Marketo / Salesforce
    ended_enrolments: int = 0
    more: bool = False  # stopped at PASS_LIMIT: the next pass goes on
    notes: list[str] = field(default_factory=list)
    messages: list[Found] = field(default_factory=list)

    def add(self, found: Found) -> None:
        self.messages.append(found)
        self.read += 1
        self.queued += len(found.events)
        self.ended_enrolments += found.ended
        if found.kind == "reply":
            self.replies += 1
            if found.unsubscribe:
                self.unsubscribes += 1
        elif found.kind == "unsubscribe":
            self.unsubscribes += 1
        elif found.kind == "auto_reply":
            self.auto_replies += 1
        elif found.kind == "bounce" and found.item_id and found.bounce_type in self.bounces:
            self.bounces[found.bounce_type] += 1
        elif found.kind == "bounce":
            self.skipped += 1
        elif found.kind == "delay":
            self.delays += 1
        elif found.kind == "own":
            self.own += 1
        elif found.kind == "unrelated":
            self.unrelated += 1
        elif found.kind == "duplicate":
            self.duplicates += 1
        else:
            self.skipped += 1

    def note(self, text: str) -> None:
        if text not in self.notes:
            self.notes.append(text)

    @property
    def changed(self) -> bool:
        """Something was read, or something went wrong worth showing."""
        return bool(self.read or self.notes)

    def to_json(self) -> dict[str, Any]:
        out = asdict(self)
        out["messages"] = [m.to_json() for m in self.messages]
        return out

    def summary(self) -> str:
        """``read 4 · replies 2 · unsubscribe requests 1 · hard bounces 1`` (counts after labels: no plurals)."""
        parts = [f"read {self.read}"]
        for label, n in (
            ("replies", self.replies),
            ("unsubscribe requests", self.unsubscribes),
            ("out-of-office", self.auto_replies),
            ("hard bounces", self.bounces["hard"]),
            ("soft bounces", self.bounces["soft"]),
            ("skipped", self.skipped),
            ("campaign enrolments ended", self.ended_enrolments),
        ):
            if n:
                parts.append(f"{label} {n}")
        return " · ".join(parts)


@dataclass(frozen=True)
class Context:
    """Everything a message is handled against (the same for a whole pass)."""

    account: str
    folder: str
    uidvalidity: int
    own_addresses: frozenset[str]
    enders: Sequence[EnrolmentEnder]
    clock: Clock


# --------------------------------------------------------------------------------------------- one message


def _received_at(msg: Inbound, fetched: FetchedMessage, now: datetime) -> datetime:
    """When it arrived: the Date header unless it is far from the server's arrival time (a wrong clock)."""
    arrived = fetched.internal_date
    stated = msg.date
    if stated is not None and arrived is not None and abs(stated - arrived) > timedelta(days=2):
        stated = None
    moment = stated or arrived or now
    return min(moment, now + timedelta(minutes=5))


def _row(
    found: Found, ctx: Context, fetched: FetchedMessage, msg: Inbound, at: datetime, **extra: Any
) -> dict:
    return {
        "key": msg.key,
        "account": ctx.account,
        "folder": ctx.folder,
        "uidvalidity": ctx.uidvalidity,
        "uid": fetched.uid,
        "message_id": msg.message_id or None,
        "received_at": at.astimezone(UTC).isoformat(timespec="seconds"),
        "from_addr": msg.from_addr or None,
        "subject": msg.subject[:500] or None,
        "kind": found.kind,
        "bounce_type": found.bounce_type,
        "status_code": found.status,
        "diagnostic": (found.diagnostic or "")[:500] or None,
        "recipient": found.recipient,
        "item_id": found.item_id,
        "marketo_id": found.marketo_id,
        "event_id": found.events[0] if found.events else None,
        "matched_by": found.matched_by,
        "reason": found.reason,
        "unsubscribe": found.unsubscribe,
        "processed_at": ctx.clock().astimezone(UTC).isoformat(timespec="seconds"),
        **extra,
    }


def _find(db: sqlite_utils.Database, groups: Sequence[tuple[str, Sequence[str]]]) -> Match | None:
    for label, ids in groups:
        found = match.find_by_ids(db, [i for i in ids if i], label)
        if found is not None:
            return found
    return None


def _thread_groups(msg: Inbound) -> list[tuple[str, Sequence[str]]]:
    return [("in-reply-to", msg.in_reply_to), ("references", tuple(reversed(msg.references)))]


def _own(db: sqlite_utils.Database, msg: Inbound, ctx: Context) -> str:
    if msg.has_header("x-sia-activity-id") or match.is_our_message_id(db, msg.message_id):
        return "sia-tui sent this message itself (a copy of our email), so it is not a reply"
    if msg.from_addr and msg.from_addr in ctx.own_addresses:
        return f"written by you ({msg.from_addr}), not by the person you emailed"
    return ""


def _matched(found: Found, m: Match) -> None:
    found.item_id, found.marketo_id, found.matched_by = m.email.item_id, m.email.marketo_id, m.by


def _handle_bounce(
    db: sqlite_utils.Database, msg: Inbound, cls: Classification, found: Found, at: datetime, ctx: Context
) -> bool:
    """Returns whether to keep a row for it."""
    original = normalise_message_id(msg.dsn_message.get("x-original-message-id", ""))
    m = _find(db, [("returned-message", (*msg.returned_ids, original)), *_thread_groups(msg)])
    if cls.kind == "delay":
        if m is None:
            found.kind, found.reason = (
                "unrelated",
                "a delivery delay notice for a message sia-tui did not send",
            )
            return False
        _matched(found, m)
        found.reason = "a delay notice: the mail system is still trying to deliver it; nothing is logged"
        return True
    first = cls.bounces[0]
    if m is None and first.recipient:
        m = match.fallback_bounce(db, first.recipient, at)
    if m is None:
        found.recipient = first.recipient or None
        found.bounce_type, found.status, found.diagnostic = (
            first.severity,
            first.status or None,
            first.diagnostic,
        )
        found.reason = "a bounce for a message sia-tui did not send (or sent long ago): nothing is logged"
        return True
    _matched(found, m)
    notes: list[str] = []
    for bounce in cls.bounces:
        recipient = bounce.recipient or effects.address_of(m.email)
        event, suppressed = effects.log_bounce(
            db, msg=msg, email=m.email, bounce=bounce, recipient=recipient, at=at
        )
        found.events.append(event)
        if bounce.severity == "hard":
            notes.append(
                f"{recipient} blocked from now on" if suppressed else f"{recipient} was already blocked"
            )
            person = m.email.marketo_id if recipient.lower() == effects.address_of(m.email).lower() else None
            ended, problems = effects.end_enrolments(
                db, list(ctx.enders), reason=BOUNCED, marketo_id=person, email=recipient,
                detail=f"hard bounce {bounce.status}".strip(), now=ctx.clock(),
            )  # fmt: skip
            notes += problems
            found.ended += ended
    if found.ended:
        notes.append(f"{found.ended} campaign enrolment(s) ended")
    found.recipient = first.recipient or effects.address_of(m.email)
    found.bounce_type, found.status, found.diagnostic = first.severity, first.status or None, first.diagnostic
    found.reason = "; ".join(
        [f"{first.severity} bounce ({first.why}): logged as Sales Email Bounced", *notes]
    )
    return True


def _handle_person(
    db: sqlite_utils.Database, msg: Inbound, cls: Classification, found: Found, at: datetime, ctx: Context
) -> bool:
    m = _find(db, _thread_groups(msg))
    if m is None and msg.from_addr:
        if match.is_list_unsubscribe(msg.subject):
            m = match.fallback_unsubscribe(db, msg.from_addr, at)
        if m is None:
            m = match.fallback_reply(db, msg.from_addr, msg.subject, at)
    if cls.kind == "auto_reply":
        if m is None:
            found.kind, found.reason = (
                "unrelated",
                f"an automatic answer ({cls.signal}) to mail sia-tui did not send",
            )
            return False
        _matched(found, m)
        found.reason = (
            f"an automatic answer ({cls.signal}): not a reply, so nothing is logged and nothing ends"
        )
        return True
    if m is None:
        found.kind, found.reason = "unrelated", "not an answer to an email sia-tui sent"
        return False
    _matched(found, m)
    found.recipient = msg.from_addr or None
    email: SentEmail = m.email
    if m.by == "fallback-unsubscribe":
        found.kind, found.unsubscribe = "unsubscribe", msg.subject.strip() or "unsubscribe"
        effects.record_optout(db, msg=msg, email=email, phrase=found.unsubscribe, at=at)
        ended, problems = effects.end_enrolments(
            db, list(ctx.enders), reason=UNSUBSCRIBED, marketo_id=email.marketo_id, email=None,
            detail="unsubscribe request", now=ctx.clock(),
        )  # fmt: skip
        found.ended = ended
        found.reason = "; ".join(
            ["an unsubscribe request (List-Unsubscribe): recorded as an opt-out, not as a reply", *problems]
            + ([f"{ended} campaign enrolment(s) ended"] if ended else [])
        )
        return True
    own_subject = match.subject_key(msg.subject) == match.subject_key(email.subject)
    phrase = cls.unsubscribe or ("" if own_subject else cls.subject_unsubscribe)
    found.kind, found.unsubscribe = "reply", phrase or None
    found.events.append(
        effects.log_reply(db, key=msg.key, msg=msg, email=email, text=cls.new_text, phrase=phrase, at=at)
    )
    notes = ["logged as Replied to Sales Email"]
    if phrase:
        effects.record_optout(db, msg=msg, email=email, phrase=phrase, at=at)
        notes.append("it asks to stop emails: recorded as an opt-out")
    ended, problems = effects.end_enrolments(
        db, list(ctx.enders), reason=UNSUBSCRIBED if phrase else REPLIED, marketo_id=email.marketo_id, email=None,
        detail="unsubscribe request in a reply" if phrase else "replied", now=ctx.clock(),
    )  # fmt: skip
    found.ended = ended
    if ended:
        notes.append(f"{ended} campaign enrolment(s) ended")
    found.reason = "; ".join(notes + problems)
    return True


def _handle(db: sqlite_utils.Database, fetched: FetchedMessage, msg: Inbound, ctx: Context) -> Found:
    now = ctx.clock()
    at = _received_at(msg, fetched, now)
    found = Found(uid=fetched.uid, kind="skipped", from_addr=msg.from_addr, subject=msg.subject[:300])
    if seen(db, msg.key):
        found.kind, found.reason = "duplicate", "handled before (the same Message-ID): nothing is done twice"
        return found
    if not msg.has_headers:
        found.reason = "not a readable email message: " + "; ".join(msg.problems[:3])
        record_message(db, _row(found, ctx, fetched, msg, at))
        return found
    own = _own(db, msg, ctx)
    if own:
        found.kind, found.reason = "own", own
        return found
    cls = classify(msg)
    found.kind = cls.kind  # "message" becomes reply / unsubscribe / unrelated below
    if cls.kind in ("bounce", "delay"):
        keep = _handle_bounce(db, msg, cls, found, at, ctx)
    else:
        keep = _handle_person(db, msg, cls, found, at, ctx)
    if msg.truncated and keep:
        found.reason += f" (only the first part of this {fetched.size:,}-byte message was read)"
    if keep:
        text = cls.new_text[:MAX_STORED_TEXT] if found.kind == "reply" else None
        record_message(db, _row(found, ctx, fetched, msg, at, text=text))
    return found


def handle_message(db: sqlite_utils.Database, fetched: FetchedMessage, ctx: Context) -> Found:
    """Handle one fetched message in one transaction with the position; never raises for a bad message."""
    msg = parse_message(fetched.data, size=fetched.size, truncated=fetched.truncated)
    try:
        with transaction(db):
            position = get_position(db, ctx.account, ctx.folder)
            if position and position.uidvalidity == ctx.uidvalidity and fetched.uid <= position.last_uid:
                return Found(uid=fetched.uid, kind="duplicate", reason="already read by another pass")
            found = _handle(db, fetched, msg, ctx)
            set_position(db, ctx.account, ctx.folder, ctx.uidvalidity, fetched.uid, ctx.clock())
            return found
    except sqlite3.OperationalError:
        raise  # busy or read-only: not the message's fault, so it is not skipped; the next pass tries again
    except Exception as exc:  # a bug of ours with this message: record it and go on, never lose the pass
        log.exception("inbox: message UID %s could not be handled", fetched.uid)
        found = Found(
            uid=fetched.uid,
            kind="skipped",
            from_addr=msg.from_addr,
            subject=msg.subject[:300],
            reason=f"could not be handled ({type(exc).__name__}: {str(exc)[:200]}); it stays in the mailbox",
        )
        with transaction(db):
            now = ctx.clock()
            record_message(db, _row(found, ctx, fetched, msg, _received_at(msg, fetched, now)))
            set_position(db, ctx.account, ctx.folder, ctx.uidvalidity, fetched.uid, now)
        return found


# ------------------------------------------------------------------------------------------------- a pass


def _start_uid(reader: ImapReader, first: datetime | None, state: FolderState) -> tuple[int, str]:
    """Where a folder read for the first time (or after a UIDVALIDITY change) starts, given when sia-tui sent its
    first email; and a note saying so."""
    if first is None:
        last = state.uidnext - 1 if state.uidnext else max(reader.uids_after(0) or [0])
        return max(0, last), "sia-tui has sent no email yet: only mail arriving from now on is read"
    since = reader.uids_since((first - timedelta(days=1)).date())
    if since:
        return min(since) - 1, f"reading mail from {(first - timedelta(days=1)).date().isoformat()} on"
    last = state.uidnext - 1 if state.uidnext else max(reader.uids_after(0) or [0])
    return max(0, last), "nothing arrived since sia-tui's first email"


async def run_pass(
    db: sqlite_utils.Database,
    reader: ImapReader,
    *,
    own_addresses: Sequence[str] = (),
    enders: Sequence[EnrolmentEnder] | None = None,
    clock: Clock = system_clock,
    limit: int = PASS_LIMIT,
    on_found: Callable[[Found], None] | None = None,
) -> InboxReport:
    """Read and handle what is new in ``reader``'s folder (connecting it when needed).

    IMAP calls run in a thread (IMAPClient is synchronous); the database is used on the caller's thread only.
    Raises :class:`~sia_tui.mail.imap.ImapError` when the mailbox cannot be reached or opened; a failure after
    some messages were handled ends the pass with a note instead (they stay handled).
    """
    cfg = reader.config
    report = InboxReport(account=cfg.account, folder=cfg.folder)
    if not reader.connected:
        await asyncio.to_thread(reader.connect)
    state = await asyncio.to_thread(reader.examine)
    report.uidvalidity = state.uidvalidity
    position = get_position(db, cfg.account, cfg.folder)
    if position is None or position.uidvalidity != state.uidvalidity:
        start, why = await asyncio.to_thread(_start_uid, reader, earliest_sent_at(db), state)
        if position is not None:
            why = (
                f"the folder's UIDVALIDITY changed ({position.uidvalidity} → {state.uidvalidity}): it is read again, "
                f"{why}; messages already handled are recognised by their Message-ID"
            )
        with transaction(db):
            set_position(db, cfg.account, cfg.folder, state.uidvalidity, start, clock())
        report.note(why)
        position = get_position(db, cfg.account, cfg.folder)
    assert position is not None
    report.last_uid = position.last_uid
    if state.uidnext and position.last_uid >= state.uidnext - 1:
        return report  # nothing new (one round trip)
    uids = await asyncio.to_thread(reader.uids_after, position.last_uid)
    if len(uids) > limit:
        uids, report.more = uids[:limit], True
    ctx = Context(
        account=cfg.account,
        folder=cfg.folder,
        uidvalidity=state.uidvalidity,
        own_addresses=frozenset(a.strip().lower() for a in own_addresses if a and "@" in a),
        enders=list(registered_enders() if enders is None else enders),
        clock=clock,
    )
    step = 20
    for start in range(0, len(uids), step):
        try:
            fetched = await asyncio.to_thread(reader.fetch, uids[start : start + step])
        except ImapError as exc:
            report.note(f"reading stopped: {exc}")
            break
        for message in fetched:
            try:
                found = handle_message(db, message, ctx)
            except sqlite3.OperationalError as exc:  # the records file is busy or read-only: try again later
                report.note(
                    f"reading stopped at UID {message.uid}: the records file could not be written ({exc})"
                )
                return report
            report.add(found)
            report.last_uid = max(report.last_uid or 0, message.uid)
            if on_found is not None:
                on_found(found)
    return report
