"""``/_sandbox/mail/*`` and ``/_sandbox/mailbox``: the demo recipients' answers and the seller's mailbox.

- ``POST /_sandbox/mail/respond`` ``{"message_id": "<...>", "kind": "reply" | "auto_reply" | "bounce" |
  "soft_bounce" | "unsubscribe_reply"}`` (optional ``"variant"``, ``"recipient"``): one answer lands in the INBOX
  now; 404 when no message with that Message-ID reached the SMTP sink.
- ``GET/POST /_sandbox/mail/responders``: ``{"enabled": bool, "rates": {kind: share}}``; disabled, nothing is
  scheduled and answers already scheduled wait (on-demand answers still arrive).
- ``GET /_sandbox/mail/responses``: every scheduled or delivered answer (delivers what is due first).
- ``POST /_sandbox/mail/deliver``: deliver what is due by the sandbox clock now (the "tick").
- ``GET /_sandbox/mailbox?mailbox=INBOX``: the messages in a mailbox (uid, flags, date, size, subject, from).
"""

from __future__ import annotations

import email
import email.policy

from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from sia_sandbox import mail_compose
from sia_sandbox.control_wire import json_object
from sia_sandbox.imap_message import fields
from sia_sandbox.mailbox import INBOX, mail_store
from sia_sandbox.responders import KINDS, UnknownMessageError, responders_of
from sia_sandbox.state import SandboxState

_NOT_AN_OBJECT = "body must be a JSON object"


def _bad(text: str, status: int = 400) -> JSONResponse:
    return JSONResponse({"error": text}, status_code=status)


def routes(state: SandboxState) -> list[Route]:
    responders = responders_of(state)
    store = mail_store(state)

    async def respond(request: Request) -> JSONResponse:
        body = await json_object(request, invalid=_NOT_AN_OBJECT)
        message_id, kind = body.get("message_id"), body.get("kind")
        if not isinstance(message_id, str) or not message_id.strip():
            return _bad('message_id must be the Message-ID of a sent email, e.g. "<id@host>"')
        if kind not in KINDS:
            return _bad(f"kind must be one of {', '.join(KINDS)}")
        variant, recipient = body.get("variant"), body.get("recipient")
        if variant is not None and variant not in mail_compose.VARIANTS[kind]:
            return _bad(f"variant for {kind} must be one of {', '.join(mail_compose.VARIANTS[kind])}")
        if recipient is not None and not isinstance(recipient, str):
            return _bad("recipient must be an email address")
        try:
            result = responders.respond(message_id, kind, variant=variant, recipient=recipient)
        except UnknownMessageError as exc:
            return _bad(str(exc), 404)
        except ValueError as exc:
            return _bad(str(exc))
        return JSONResponse(result)

    async def settings(request: Request) -> JSONResponse:
        if request.method == "POST":
            body = await json_object(request, invalid=_NOT_AN_OBJECT)
            enabled = body.get("enabled")
            if enabled is not None and not isinstance(enabled, bool):
                return _bad("enabled must be true or false")
            rates = body.get("rates")
            if rates is not None:
                if not isinstance(rates, dict) or any(k not in KINDS for k in rates):
                    return _bad(f"rates must map kinds ({', '.join(KINDS)}) to shares between 0 and 1")
                if any(
                    not isinstance(v, (int, float)) or isinstance(v, bool) or not 0 <= v <= 1
                    for v in rates.values()
                ):
                    return _bad("each rate must be a number between 0 and 1")
                if sum({**responders.rates, **rates}.values()) > 1:
                    return _bad("the rates add up to more than 1")
            responders.configure(enabled=enabled, rates={k: float(v) for k, v in (rates or {}).items()})
        return JSONResponse(responders.settings())

    async def responses(request: Request) -> JSONResponse:
        return JSONResponse(responders.listing())

    async def deliver(request: Request) -> JSONResponse:
        return JSONResponse({"delivered": responders.deliver_due()})

    async def mailbox(request: Request) -> JSONResponse:
        name = request.query_params.get("mailbox", INBOX)
        responders.deliver_due()
        if store.info(name) is None:
            return _bad(f"no mailbox named {name!r}", 404)
        out = []
        for uid, meta in store.meta(name).items():
            header = store.header(name, uid) or b""
            parsed = email.message_from_bytes(header, policy=email.policy.default)
            out.append({
                "uid": uid, "flags": list(meta.flags), "internal_ms": meta.internal_ms, "size": meta.size,
                "subject": str(parsed.get("Subject", "")), "from": str(parsed.get("From", "")),
                "message_id": str(parsed.get("Message-ID", "")) or None,
                "header_names": [f.name for f in fields(header)],
            })  # fmt: skip
        info = store.info(name)
        assert info is not None
        return JSONResponse(
            {"mailbox": info.name, "uidvalidity": info.uidvalidity, "uidnext": info.uidnext, "messages": out}
        )

    return [
        Route("/_sandbox/mail/respond", respond, methods=["POST"]),
        Route("/_sandbox/mail/responders", settings, methods=["GET", "POST"]),
        Route("/_sandbox/mail/responses", responses, methods=["GET"]),
        Route("/_sandbox/mail/deliver", deliver, methods=["POST"]),
        Route("/_sandbox/mailbox", mailbox, methods=["GET"]),
    ]
