"""Building the RFC 5322 message for one outbox email, with a Message-ID derived from its idempotency key.

The Message-ID is a pure function of the outbox item id, so every attempt to send one item carries the same id:
a resend after a crash is recognisable as the same message (receivers such as Gmail show one copy of two messages
with one Message-ID), and the SMTP sink of the sandbox can be asked whether it already has it.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from datetime import datetime
from email.message import EmailMessage
from email.utils import format_datetime, formataddr

from sia_tui.i18n import _

MAX_SUBJECT_CHARS = 998  # RFC 5322 line length
MAX_BODY_BYTES = 256 * 1024
MAX_RECIPIENTS = 50
_EMAIL_RE = re.compile(r"^[^@\s<>(),;:\"\[\]\\]+@[^@\s<>(),;:\"\[\]\\]+\.[^@\s<>(),;:\"\[\]\\]+$")


class AddressError(ValueError):
    """An email address is not usable; the message says which and why."""


def valid_address(address: str) -> bool:
    return bool(_EMAIL_RE.match(address.strip())) and len(address) <= 254


def parse_address_list(raw: str | Sequence[str] | None, what: str) -> list[str]:
    """``"a@x.com, b@y.com"`` or a list → clean addresses; a bad one raises :class:`AddressError`."""
    if raw is None:
        return []
    items = raw.replace(";", ",").split(",") if isinstance(raw, str) else list(raw)
    out: list[str] = []
    for item in items:
        text = str(item).strip()
        if not text:
            continue
        if "<" in text and text.endswith(">"):
            text = text[text.rindex("<") + 1 : -1].strip()
        if not valid_address(text):
            raise AddressError(
                _("{what} address {address!r} is not a valid email address.").format(what=what, address=text)
            )
        if text.lower() not in {o.lower() for o in out}:
            out.append(text)
    return out


def domain_of(address: str) -> str:
    return address.rsplit("@", 1)[1].lower() if "@" in address else "sia-tui.invalid"


def message_id_for(activity_id: str, sender: str) -> str:
    """``<sia-{activity id}@{sender's domain}>``: the same for every attempt to send one outbox item."""
    return f"<sia-{activity_id}@{domain_of(sender)}>"


def build_message(
    *,
    activity_id: str,
    sender_email: str,
    sender_name: str,
    to: Sequence[str],
    cc: Sequence[str],
    subject: str,
    body: str,
    date: datetime,
    in_reply_to: str | None = None,
    references: Sequence[str] = (),
) -> EmailMessage:
    """A plain-text message. BCC recipients are envelope-only (never in the headers).

    ``in_reply_to`` / ``references`` (Message-IDs) put a follow-up in the thread of earlier emails (RFC 5322
    §3.6.4): campaign follow-ups reply to the enrolment's previous email and list every earlier one.
    """
    msg = EmailMessage()
    msg["From"] = formataddr((sender_name, sender_email)) if sender_name else sender_email
    msg["To"] = ", ".join(to)
    if cc:
        msg["Cc"] = ", ".join(cc)
    msg["Subject"] = subject
    msg["Date"] = format_datetime(date)
    msg["Message-ID"] = message_id_for(activity_id, sender_email)
    msg["X-Sia-Activity-Id"] = activity_id
    if in_reply_to:
        msg["In-Reply-To"] = in_reply_to
    thread = [ref for ref in references if ref]
    if thread:
        msg["References"] = " ".join(thread)
    # RFC 2369 / 8058: a way to opt out that works without any web page (product.md §5, mailbox-provider rules).
    msg["List-Unsubscribe"] = f"<mailto:{sender_email}?subject=unsubscribe>"
    msg.set_content(body if body.endswith("\n") else body + "\n")
    return msg


def envelope_recipients(to: Sequence[str], cc: Sequence[str], bcc: Sequence[str]) -> list[str]:
    seen: dict[str, str] = {}
    for address in [*to, *cc, *bcc]:
        seen.setdefault(address.lower(), address)
    return list(seen.values())


def needs_smtputf8(addresses: Sequence[str]) -> bool:
    return any(not a.isascii() for a in addresses)
