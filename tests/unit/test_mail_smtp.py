"""SMTP failures sorted by what they mean for a resend, against a real (local aiosmtpd) server."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime

import pytest
from aiosmtpd.smtp import SMTP

from sia_tui.mail.message import build_message
from sia_tui.mail.smtp import (
    SmtpConfig,
    SmtpOutcomeUnknownError,
    SmtpPermanentError,
    SmtpSender,
    SmtpTransientError,
    starttls_mode,
)


class Handler:
    def __init__(self, mode: str) -> None:
        self.mode = mode
        self.received: list[bytes] = []

    async def handle_RCPT(self, server, session, envelope, address, options):
        if self.mode == "refuse" or address.startswith("bounce"):
            return "550 5.1.1 No such user"
        if self.mode == "defer":
            return "451 4.3.0 Try again later"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server, session, envelope):
        self.received.append(envelope.original_content or envelope.content)
        if self.mode == "hangup":
            server.transport.close()  # accepted, but the reply never reaches the client
        return "250 Message accepted"


async def serve(mode: str):
    handler = Handler(mode)
    loop = asyncio.get_running_loop()
    server = await loop.create_server(lambda: SMTP(handler, enable_SMTPUTF8=True), "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    return server, handler, SmtpConfig("127.0.0.1", port, starttls=False, timeout_s=5)


def message(to="ada@acme.example"):
    return build_message(
        activity_id="a" * 32,
        sender_email="sam@seller.example",
        sender_name="Sam",
        to=[to],
        cc=[],
        subject="Hi",
        body="Hello",
        date=datetime(2026, 3, 2, tzinfo=UTC),
    )


async def test_sends_and_reuses_one_connection():
    server, handler, cfg = await serve("ok")
    try:
        async with SmtpSender(cfg) as sender:
            await sender.send(message(), "sam@seller.example", ["ada@acme.example", "bcc@acme.example"])
            await sender.send(message(), "sam@seller.example", ["ada@acme.example"])
        assert len(handler.received) == 2
        assert b"Message-ID: <sia-" + b"a" * 32 in handler.received[0]
    finally:
        server.close()


@pytest.mark.parametrize(
    ("mode", "error"),
    [("refuse", SmtpPermanentError), ("defer", SmtpTransientError), ("hangup", SmtpOutcomeUnknownError)],
)
async def test_failures_are_classified(mode, error):
    server, handler, cfg = await serve(mode)
    try:
        async with SmtpSender(cfg) as sender:
            with pytest.raises(error):
                await sender.send(message(), "sam@seller.example", ["ada@acme.example"])
        # Only the hang-up case may have delivered it: exactly the case reported as "outcome unknown".
        assert len(handler.received) == (1 if mode == "hangup" else 0)
    finally:
        server.close()


async def test_partly_refused_recipients_send_nothing():
    server, handler, cfg = await serve("ok")
    try:
        async with SmtpSender(cfg) as sender:
            with pytest.raises(SmtpPermanentError, match=r"bounce@acme\.example"):
                await sender.send(
                    message(), "sam@seller.example", ["ada@acme.example", "bounce@acme.example"]
                )
        assert handler.received == []
    finally:
        server.close()


async def test_unreachable_server_is_transient():
    server, _, cfg = await serve("ok")
    server.close()
    await server.wait_closed()
    async with SmtpSender(cfg) as sender:
        with pytest.raises(SmtpTransientError, match="Cannot connect"):
            await sender.send(message(), "sam@seller.example", ["ada@acme.example"])


async def test_starttls_on_is_satisfied_by_a_plain_loopback_server():
    """smtp.starttls defaults to on; a loopback server without STARTTLS (the sandbox sink without TLS material)
    still gets the mail, since nothing leaves the machine (issue 12 item 15)."""
    server, handler, cfg = await serve("ok")
    try:
        async with SmtpSender(SmtpConfig(cfg.host, cfg.port, starttls=True, timeout_s=5)) as sender:
            await sender.send(message(), "sam@seller.example", ["ada@acme.example"])
        assert len(handler.received) == 1
    finally:
        server.close()


@pytest.mark.parametrize(
    ("host", "starttls", "mode"),
    [
        ("127.0.0.1", True, None),
        ("localhost", True, None),
        ("::1", True, None),
        ("[::1]", True, None),
        ("127.0.0.1", False, False),
        ("smtp.example.com", True, True),
        ("10.0.0.5", True, True),
        ("localhost.example.com", True, True),
        ("smtp.example.com", False, False),
    ],
)
def test_starttls_is_required_everywhere_but_loopback(host, starttls, mode):
    assert starttls_mode(host, starttls) is mode


class _NoStarttls:
    def supports_extension(self, name: str) -> bool:
        return False


@pytest.mark.parametrize(("host", "ok"), [("smtp.example.com", False), ("127.0.0.1", True)])
async def test_settings_test_refuses_a_remote_server_without_starttls(host, ok):
    from sia_tui.connection_checks import _smtp_starttls
    from sia_tui.connections import Endpoints

    endpoints = Endpoints(
        marketo_url="", marketo_client_id="", marketo_client_secret="", salesforce_url="",
        salesforce_client_id="", salesforce_client_secret="", salesforce_refresh_token="", smtp_host=host,
        smtp_port=587, smtp_username="", smtp_password="", smtp_starttls=True, sandbox=False,
    )  # fmt: skip
    check = await _smtp_starttls(_NoStarttls(), endpoints, implicit_tls=False)
    assert check["ok"] is ok and "does not offer STARTTLS" in check["detail"]
