"""Sending one message over SMTP (aiosmtplib), with failures sorted by what they mean for a resend.

SMTP has no way to ask a server "did you get message X?", so each failure is classified by where it happened:

- before the DATA command's final reply (connect, EHLO, AUTH, MAIL, RCPT, a 4xx/5xx reply to DATA): the message
  was certainly not accepted → :class:`SmtpTransientError` (retry later) or :class:`SmtpPermanentError` (5xx: the
  server refused it; retrying will not help);
- the connection dropped or timed out while waiting for the reply to the message body: the server may have
  accepted it → :class:`SmtpOutcomeUnknownError`. The outbox then decides (see :mod:`sia_tui.outbox.worker`).

:class:`SandboxMailLookup` answers "was it delivered?" for the sandbox's SMTP sink only; real servers have no such
lookup, which is why the outbox documents an at-most-one-duplicate window for real SMTP.
"""

from __future__ import annotations

import asyncio
import ipaddress
import os
from collections.abc import Sequence
from dataclasses import dataclass
from email.message import EmailMessage
from email.policy import SMTP as SMTP_POLICY
from email.policy import SMTPUTF8 as SMTPUTF8_POLICY
from types import TracebackType
from typing import Protocol

import aiosmtplib
import httpx

from sia_tui.i18n import _
from sia_tui.mail.message import needs_smtputf8


class SmtpError(Exception):
    """A send failed; ``str(e)`` is one sentence for the seller (no secrets)."""


class SmtpTransientError(SmtpError):
    """Not delivered; worth trying again later (server busy, network down, 4xx reply)."""


class SmtpPermanentError(SmtpError):
    """The server refused the message (5xx); sending it again will fail the same way."""


class SmtpOutcomeUnknownError(SmtpError):
    """The connection was lost after the whole message went out: the server may or may not have accepted it."""


def is_loopback_host(host: str) -> bool:
    """``localhost`` or a loopback address: traffic to it never leaves this machine."""
    name = host.strip().strip("[]").rstrip(".").lower()
    if name == "localhost" or name.endswith(".localhost"):
        return True
    try:
        return ipaddress.ip_address(name).is_loopback
    except ValueError:
        return False


def starttls_mode(host: str, starttls: bool) -> bool | None:
    """What ``smtp.starttls`` means for this host: True = STARTTLS required, False = never, None = when offered.

    On loopback a server without STARTTLS (the sandbox's SMTP sink run without TLS material) is used as it is:
    the mail and the password never leave this machine, the same exception plain ``http://`` gets for loopback.
    Anywhere else ``smtp.starttls`` on means the session is encrypted or nothing is sent."""
    if not starttls:
        return False
    return None if is_loopback_host(host) else True


def ca_file_path(ca_file: str) -> str | None:
    """``smtp.ca_file`` as a readable path (None when unset); a clear sentence when it cannot be read."""
    if not ca_file:
        return None
    path = os.path.expanduser(ca_file)
    if not os.access(path, os.R_OK):
        raise SmtpTransientError(
            _("smtp.ca_file {path!r} cannot be read: give the PEM file of the certificate to trust.").format(
                path=ca_file
            )
        )
    return path


@dataclass(frozen=True)
class SmtpConfig:
    host: str
    port: int
    username: str = ""
    password: str = ""
    starttls: bool = True
    timeout_s: float = 30.0
    ca_file: str = ""  # PEM certificate(s) to trust instead of the system's (a self-signed server, e.g. the sandbox)

    @property
    def implicit_tls(self) -> bool:
        return self.port == 465


class SmtpSender:
    """One SMTP connection reused for a batch of messages: ``async with SmtpSender(cfg) as s: await s.send(...)``."""

    def __init__(self, config: SmtpConfig) -> None:
        self.config = config
        self._client: aiosmtplib.SMTP | None = None
        self.sent = 0

    async def __aenter__(self) -> SmtpSender:
        return self

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        await self.close()

    async def close(self) -> None:
        client, self._client = self._client, None
        if client is not None and client.is_connected:
            try:
                await asyncio.wait_for(client.quit(), timeout=5)
            except Exception:
                client.close()

    async def _connect(self) -> aiosmtplib.SMTP:
        if self._client is not None and self._client.is_connected:
            return self._client
        cfg = self.config
        if not cfg.host:
            raise SmtpTransientError(_("No SMTP server is configured: set smtp.host and smtp.port."))
        ca_bundle = ca_file_path(cfg.ca_file)
        client = aiosmtplib.SMTP(
            hostname=cfg.host,
            port=cfg.port,
            use_tls=cfg.implicit_tls,
            start_tls=(starttls_mode(cfg.host, cfg.starttls) if not cfg.implicit_tls else False),
            username=cfg.username or None,
            password=cfg.password or None,
            timeout=cfg.timeout_s,
            cert_bundle=ca_bundle,
        )
        try:
            await client.connect()
        except aiosmtplib.SMTPAuthenticationError as exc:
            raise SmtpTransientError(
                _(
                    "The SMTP server {host}:{port} refused the login ({code}); check smtp.username and the password."
                ).format(host=cfg.host, port=cfg.port, code=exc.code)
            ) from None
        except (aiosmtplib.SMTPException, OSError) as exc:
            raise SmtpTransientError(
                _("Cannot connect to the SMTP server {host}:{port} ({error}).").format(
                    host=cfg.host, port=cfg.port, error=_short(exc)
                )
            ) from None
        self._client = client
        return client

    async def send(self, message: EmailMessage, sender: str, recipients: Sequence[str]) -> str:
        """Send ``message`` to ``recipients``; returns the server's reply to the message (often a queue id)."""
        client = await self._connect()
        utf8 = needs_smtputf8([sender, *recipients])
        options = ["SMTPUTF8"] if utf8 and client.supports_extension("smtputf8") else []
        if utf8 and not options:
            raise SmtpPermanentError(_("The SMTP server does not accept non-ASCII addresses (no SMTPUTF8)."))
        raw = message.as_bytes(policy=SMTPUTF8_POLICY if options else SMTP_POLICY)
        try:
            await client.mail(sender, options=options, encoding="utf-8" if options else "ascii")
            refused: dict[str, str] = {}
            for rcpt in recipients:
                try:
                    await client.rcpt(rcpt, encoding="utf-8" if options else "ascii")
                except aiosmtplib.SMTPRecipientRefused as exc:
                    refused[rcpt] = f"{exc.code} {exc.message}"
                    if exc.code < 500:
                        await self._reset(client)
                        raise SmtpTransientError(
                            _("The SMTP server deferred recipient {address} ({code} {message}); trying later.").format(
                                address=rcpt, code=exc.code, message=exc.message
                            )
                        ) from None
            if len(refused) == len(recipients):
                await self._reset(client)
                raise SmtpPermanentError(
                    _("The SMTP server refused every recipient: {refusals}").format(
                        refusals="; ".join(f"{k}: {v}" for k, v in refused.items())
                    )
                )
            if refused:
                await self._reset(client)
                raise SmtpPermanentError(
                    _("The SMTP server refused some recipients, so nothing was sent: {refusals}").format(
                        refusals="; ".join(f"{k}: {v}" for k, v in refused.items())
                    )
                )
        except SmtpError:
            raise
        except aiosmtplib.SMTPResponseException as exc:
            await self._reset(client)
            kind = SmtpPermanentError if exc.code >= 500 else SmtpTransientError
            raise kind(
                _("The SMTP server refused the sender ({code} {message}).").format(code=exc.code, message=exc.message)
            ) from None
        except (aiosmtplib.SMTPException, OSError) as exc:
            self._drop()
            raise SmtpTransientError(
                _("The SMTP connection failed before sending ({error}).").format(error=_short(exc))
            ) from None
        try:
            reply = await client.data(raw)
        except aiosmtplib.SMTPResponseException as exc:
            await self._reset(client)
            kind = SmtpPermanentError if exc.code >= 500 else SmtpTransientError
            raise kind(
                _("The SMTP server did not accept the message ({code} {message}).").format(
                    code=exc.code, message=exc.message
                )
            ) from None
        except (aiosmtplib.SMTPException, OSError) as exc:
            self._drop()
            raise SmtpOutcomeUnknownError(
                _(
                    "The SMTP connection was lost while the server was taking the message ({error}); it may "
                    "have been accepted."
                ).format(error=_short(exc))
            ) from None
        self.sent += 1
        return reply.message

    async def _reset(self, client: aiosmtplib.SMTP) -> None:
        try:
            await client.rset()
        except Exception:
            self._drop()

    def _drop(self) -> None:
        client, self._client = self._client, None
        if client is not None:
            client.close()


def _short(exc: BaseException) -> str:
    text = str(exc).strip() or type(exc).__name__
    return text if len(text) <= 160 else text[:157] + "..."


# ----------------------------------------------------------------------------------------------- lookup


class MailLookup(Protocol):
    """Answers whether a message with this Message-ID reached the server (only the sandbox sink can)."""

    async def delivered(self, message_ids: Sequence[str]) -> set[str]: ...


class SandboxMailLookup:
    """Reads ``GET {base_url}/_sandbox/mail`` (the sandbox's SMTP sink) to settle in-doubt sends exactly."""

    def __init__(self, base_url: str, *, http: httpx.AsyncClient | None = None) -> None:
        self.base_url = base_url.rstrip("/")
        self._http = http

    async def delivered(self, message_ids: Sequence[str]) -> set[str]:
        wanted = {m.strip() for m in message_ids}
        if not wanted:
            return set()
        client = self._http or httpx.AsyncClient(timeout=30)
        try:
            reply = await client.get(f"{self.base_url}/_sandbox/mail")
            reply.raise_for_status()
            found = {str(m.get("message_id") or "").strip() for m in reply.json()}
        except (httpx.HTTPError, ValueError) as exc:
            raise SmtpTransientError(
                _("Cannot read the sandbox's mail list ({error}).").format(error=_short(exc))
            ) from None
        finally:
            if self._http is None:
                await client.aclose()
        return wanted & found
