"""The SMTP sink: accepts any message (and any AUTH) and stores it in the state file for /_sandbox/mail.

It runs as an asyncio server on the same event loop as the HTTP app, so it needs no thread of its own. Given a TLS
context (the sandbox's ``--tls-cert``/``--tls-key``) it offers STARTTLS, as a submission server on port 587 does;
``on_message`` hears of every accepted message (the demo recipients' responders schedule their answers with it).
"""

from __future__ import annotations

import asyncio
import email
import email.policy
import json
import logging
import socket
import ssl
from collections.abc import Callable
from email.message import EmailMessage
from email.utils import getaddresses
from typing import Any

from aiosmtpd.smtp import SMTP, AuthResult, Envelope, LoginPassword, Session

from sia_sandbox.state import SandboxState, dumps

log = logging.getLogger("sia_sandbox")


def parse_message(raw: bytes, mail_from: str | None, rcpt_tos: list[str]) -> dict[str, Any]:
    """What a test (or a curious user) wants to see of a received message."""
    msg = email.message_from_bytes(raw, policy=email.policy.default)
    assert isinstance(msg, EmailMessage)
    to = [addr for _, addr in getaddresses(msg.get_all("To", []))]
    cc = [addr for _, addr in getaddresses(msg.get_all("Cc", []))]
    visible = {a.lower() for a in to + cc}
    text = html = None
    for part in msg.walk() if msg.is_multipart() else [msg]:
        if part.is_multipart() or part.get_content_disposition() == "attachment":
            continue
        ctype = part.get_content_type()
        if ctype == "text/plain" and text is None:
            text = part.get_content()
        elif ctype == "text/html" and html is None:
            html = part.get_content()
    return {
        "mail_from": mail_from,
        "rcpt_tos": rcpt_tos,
        "from": str(msg.get("From", "")),
        "to": to,
        "cc": cc,
        "bcc": [r for r in rcpt_tos if r.lower() not in visible],
        "subject": str(msg.get("Subject", "")),
        "message_id": str(msg.get("Message-ID", "")) or None,
        "date": str(msg.get("Date", "")) or None,
        "headers": [[k, str(v)] for k, v in msg.items()],
        "text": text,
        "html": html,
        "raw": raw.decode("utf-8", "replace"),
    }


#: Called with (sink row id, parsed message, raw bytes, envelope sender, envelope recipients).
OnMessage = Callable[[int, dict[str, Any], bytes, str | None, list[str]], None]


class _Handler:
    def __init__(self, state: SandboxState, on_message: OnMessage | None = None) -> None:
        self.state = state
        self.on_message = on_message

    async def handle_DATA(self, server: SMTP, session: Session, envelope: Envelope) -> str:
        raw = envelope.original_content or (
            envelope.content if isinstance(envelope.content, bytes) else str(envelope.content or "").encode()
        )
        parsed = parse_message(raw, envelope.mail_from, list(envelope.rcpt_tos))
        with self.state.tx() as db:
            cursor = db.execute(
                "INSERT INTO mail (received_ms, mail_from, rcpt_tos, message) VALUES (?, ?, ?, ?)",
                (self.state.clock.now_ms(), envelope.mail_from, json.dumps(envelope.rcpt_tos), dumps(parsed)),
            )
            row_id = int(cursor.lastrowid or 0)
        if self.on_message is not None:
            try:
                self.on_message(row_id, parsed, raw, envelope.mail_from, list(envelope.rcpt_tos))
            except Exception:  # the message is stored: a responder's trouble must not refuse the mail
                log.exception("mail responders failed on message %s", parsed.get("message_id"))
        return "250 Message accepted for delivery"


def _accept_any(
    server: SMTP, session: Session, envelope: Envelope, mechanism: str, auth_data: Any
) -> AuthResult:
    login = auth_data.login if isinstance(auth_data, LoginPassword) else None
    return AuthResult(success=True, auth_data=login)


async def start_smtp(
    state: SandboxState,
    sock: socket.socket,
    *,
    tls_context: ssl.SSLContext | None = None,
    on_message: OnMessage | None = None,
) -> asyncio.AbstractServer:
    handler = _Handler(state, on_message)
    loop = asyncio.get_running_loop()

    def factory() -> SMTP:
        return SMTP(
            handler,
            hostname="sia-sandbox",
            enable_SMTPUTF8=True,
            authenticator=_accept_any,
            auth_require_tls=False,
            auth_required=False,
            tls_context=tls_context,
        )

    return await loop.create_server(factory, sock=sock)


def messages(state: SandboxState) -> list[dict[str, Any]]:
    rows = state.query("SELECT id, received_ms, message FROM mail ORDER BY id")
    out = []
    for row in rows:
        item = json.loads(row["message"])
        item["id"] = row["id"]
        item["received_ms"] = row["received_ms"]
        out.append(item)
    return out
