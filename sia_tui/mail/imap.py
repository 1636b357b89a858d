"""Reading the seller's mailbox over IMAP (IMAPClient, BSD-licensed), read-only and without marking anything read.

:class:`ImapReader` is synchronous, as IMAPClient is; the inbox service runs it in a thread. It only ever EXAMINEs
the folder (read-only) and fetches with ``BODY.PEEK``, so the seller's ``\\Seen`` flags and the mailbox stay as
they were. Every failure becomes an :class:`ImapError` whose text is one sentence naming the setting to fix, never
a traceback and never the password.

TLS: ``imap.tls`` on means TLS from the first byte (port 993). Off, the session is upgraded with STARTTLS when the
server offers it; a server that offers no STARTTLS is refused unless it is on this machine (loopback), the same
rule ``smtp.starttls`` follows.
"""

from __future__ import annotations

import imaplib
import socket
import ssl
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime
from typing import Any

from sia_tui.i18n import _
from sia_tui.mail.smtp import is_loopback_host

#: Messages are read up to this many bytes; the rest (attachments) is never downloaded.
READ_LIMIT_BYTES = 1024 * 1024
FETCH_CHUNK = 20
SEARCH_MONTHS = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")


class ImapError(Exception):
    """Reading the mailbox failed; ``str(e)`` is one sentence for the seller (no secrets)."""


class ImapLoginError(ImapError):
    """The server refused the user name or password."""


class ImapFolderError(ImapError):
    """The folder (``imap.folder``) cannot be opened."""


@dataclass(frozen=True)
class ImapConfig:
    host: str
    port: int
    username: str
    password: str
    tls: bool = True
    folder: str = "INBOX"
    ca_file: str = ""
    timeout_s: float = 15.0

    @property
    def account(self) -> str:
        """Names the mailbox in the inbox position: another user or server starts its own position. The port is
        left out: the built-in sandbox serves the same mailbox on a new port in every process."""
        return f"{self.username}@{self.host}"

    @property
    def configured(self) -> bool:
        return bool(self.host and self.username)


@dataclass(frozen=True)
class FolderState:
    uidvalidity: int
    uidnext: int
    exists: int


@dataclass(frozen=True)
class FetchedMessage:
    uid: int
    size: int  # RFC822.SIZE: the whole message
    internal_date: datetime | None
    data: bytes  # the message, or its first READ_LIMIT_BYTES
    truncated: bool


def _tls_context(ca_file: str) -> ssl.SSLContext:
    try:
        return ssl.create_default_context(cafile=ca_file or None)
    except (OSError, ssl.SSLError) as exc:
        raise ImapError(
            _("imap.ca_file {path!r} cannot be used ({error}): give the PEM file of the certificate to trust.").format(
                path=ca_file, error=exc
            )
        ) from None


def _describe(config: ImapConfig, exc: BaseException) -> str:
    """What a failed connection means, in one sentence naming the setting to fix."""
    host, port = config.host, config.port
    text = str(exc).lower()
    if (
        isinstance(exc, socket.gaierror)
        or "name or service not known" in text
        or "nodename nor servname" in text
    ):
        return _("The host name {host!r} cannot be resolved (DNS): check imap.host.").format(host=host)
    if isinstance(exc, ConnectionRefusedError) or "refused" in text:
        return _("Nothing is listening on {host}:{port} (connection refused): check imap.port (993 for TLS).").format(
            host=host, port=port
        )
    if isinstance(exc, ssl.SSLCertVerificationError) or "certificate" in text:
        return _(
            "The TLS certificate of {host}:{port} is not trusted ({error}): a self-signed server needs imap.ca_file."
        ).format(host=host, port=port, error=exc)
    if isinstance(exc, ssl.SSLError) or "ssl" in text or "tls" in text or "wrong version" in text:
        return _("The TLS handshake with {host}:{port} failed ({error}): check imap.port and imap.tls.").format(
            host=host, port=port, error=exc
        )
    if isinstance(exc, TimeoutError | socket.timeout) or "timed out" in text:
        return _("No answer from {host}:{port} within {seconds:.0f} s: the port may be wrong or blocked.").format(
            host=host, port=port, seconds=config.timeout_s
        )
    return _("The IMAP session with {host}:{port} failed ({error}).").format(
        host=host, port=port, error=exc or type(exc).__name__
    )


def imap_date(day: date) -> str:
    """``02-Mar-2026``: IMAP's date form for SEARCH SINCE (month names are always English)."""
    return f"{day.day:02d}-{SEARCH_MONTHS[day.month - 1]}-{day.year}"


class ImapReader:
    """One IMAP session on one folder. Use as a context manager, or call :meth:`connect` / :meth:`close`."""

    def __init__(self, config: ImapConfig, *, client_factory: Callable[..., Any] | None = None) -> None:
        self.config = config
        self._factory = client_factory
        self._client: Any = None
        self.capabilities: tuple[str, ...] = ()
        self.encrypted = False

    # ------------------------------------------------------------------------------------------ session

    @property
    def connected(self) -> bool:
        return self._client is not None

    def connect(self) -> None:
        from imapclient import IMAPClient
        from imapclient.exceptions import IMAPClientError, LoginError

        cfg = self.config
        if not cfg.configured:
            raise ImapError(
                _("No mailbox is configured: set imap.host and imap.username (imap.password as a secret).")
            )
        factory = self._factory or IMAPClient
        context = _tls_context(cfg.ca_file) if cfg.tls or not is_loopback_host(cfg.host) else None
        try:
            client = factory(cfg.host, port=cfg.port, ssl=cfg.tls, ssl_context=context, timeout=cfg.timeout_s)
        except (OSError, ssl.SSLError, IMAPClientError, imaplib.IMAP4.error) as exc:
            raise ImapError(_describe(cfg, exc)) from None
        self._client = client
        try:
            client.normalise_times = False  # aware datetimes, not the machine's local time
            self.encrypted = cfg.tls
            if not cfg.tls:
                caps = {c.decode("ascii", "replace").upper() for c in client.capabilities()}
                if "STARTTLS" in caps:
                    client.starttls(context or _tls_context(cfg.ca_file))
                    self.encrypted = True
                elif not is_loopback_host(cfg.host):
                    raise ImapError(
                        _(
                            "{host}:{port} offers no STARTTLS and imap.tls is off: the password would travel "
                            "unencrypted. Turn imap.tls on and use the server's TLS port (usually 993)."
                        ).format(host=cfg.host, port=cfg.port)
                    )
            try:
                client.login(cfg.username, cfg.password)
            except LoginError as exc:
                detail = " ".join(str(exc).split())[:160]
                raise ImapLoginError(
                    _(
                        "The server refused the login for {user!r} ({detail}): check imap.username and "
                        "imap.password (Gmail and Microsoft 365 need an app password or OAuth; see the README)."
                    ).format(user=cfg.username, detail=detail)
                ) from None
            self.capabilities = tuple(
                sorted(c.decode("ascii", "replace").upper() for c in client.capabilities())
            )
        except ImapError:
            self.close()
            raise
        except (OSError, ssl.SSLError, IMAPClientError, imaplib.IMAP4.error) as exc:
            self.close()
            raise ImapError(_describe(cfg, exc)) from None

    def close(self) -> None:
        client, self._client = self._client, None
        if client is None:
            return
        try:
            client.logout()
        except Exception:  # the session is going away either way
            try:
                client.shutdown()
            except Exception:
                pass

    def __enter__(self) -> ImapReader:
        self.connect()
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def _call(self, what: str, fn: Callable[[], Any]) -> Any:
        from imapclient.exceptions import IMAPClientError

        if self._client is None:
            raise ImapError(_("The IMAP session is closed."))
        try:
            return fn()
        except ImapError:
            raise
        except (OSError, ssl.SSLError, IMAPClientError, imaplib.IMAP4.error) as exc:
            self.close()  # a half-read answer leaves the session unusable: the next pass reconnects
            raise ImapError(
                _("{command} failed on {host}: {error}").format(
                    command=what, host=self.config.host, error=" ".join(str(exc).split())[:200]
                )
            ) from None

    # ------------------------------------------------------------------------------------------ reading

    def examine(self) -> FolderState:
        """Open the folder read-only (EXAMINE); its UIDVALIDITY, UIDNEXT and message count."""
        from imapclient.exceptions import IMAPClientError

        folder = self.config.folder
        if self._client is None:
            raise ImapError(_("The IMAP session is closed."))
        try:
            info = self._client.select_folder(folder, readonly=True)
        except (OSError, ssl.SSLError, imaplib.IMAP4.abort) as exc:
            self.close()  # the session broke (IMAPClient's abort error is an imaplib abort too)
            raise ImapError(_describe(self.config, exc)) from None
        except (IMAPClientError, imaplib.IMAP4.error) as exc:  # the server said NO / BAD to this folder
            raise ImapFolderError(
                _("The folder {folder!r} cannot be opened on {host} ({error}): check imap.folder.").format(
                    folder=folder, host=self.config.host, error=" ".join(str(exc).split())[:120]
                )
            ) from None
        uidvalidity = int(info.get(b"UIDVALIDITY") or 0)
        exists = int(info.get(b"EXISTS") or 0)
        uidnext = int(info.get(b"UIDNEXT") or 0)
        if not uidvalidity:
            raise ImapFolderError(
                _("The server gave no UIDVALIDITY for {folder!r}; it cannot be read reliably.").format(folder=folder)
            )
        return FolderState(uidvalidity, uidnext, exists)

    def uids_after(self, last_uid: int) -> list[int]:
        """UIDs greater than ``last_uid`` (``n:*`` always includes the highest UID, so it is filtered)."""
        found = self._call("UID SEARCH", lambda: self._client.search(["UID", f"{int(last_uid) + 1}:*"]))
        return sorted(int(u) for u in found if int(u) > last_uid)

    def uids_since(self, day: date) -> list[int]:
        """UIDs of messages that arrived on or after ``day`` (the server's arrival date, day-granular)."""
        found = self._call("UID SEARCH", lambda: self._client.search(["SINCE", imap_date(day)]))
        return sorted(int(u) for u in found)

    def fetch(self, uids: Sequence[int], *, limit_bytes: int = READ_LIMIT_BYTES) -> list[FetchedMessage]:
        """The messages (at most ``limit_bytes`` of each), in UID order; a UID that vanished meanwhile is left out."""
        out: list[FetchedMessage] = []
        wanted = sorted(int(u) for u in uids)
        for start in range(0, len(wanted), FETCH_CHUNK):
            chunk = wanted[start : start + FETCH_CHUNK]
            items = [b"RFC822.SIZE", b"INTERNALDATE", f"BODY.PEEK[]<0.{int(limit_bytes)}>".encode()]
            answer = self._call("UID FETCH", lambda c=chunk, i=items: self._client.fetch(c, i))  # type: ignore[misc]
            for uid in chunk:
                record = answer.get(uid)
                if not record:
                    continue
                data = _body_of(record)
                if data is None:
                    continue
                size = int(record.get(b"RFC822.SIZE") or len(data))
                out.append(
                    FetchedMessage(
                        uid=uid,
                        size=size,
                        internal_date=_aware(record.get(b"INTERNALDATE")),
                        data=data,
                        truncated=size > len(data),
                    )
                )
        return out

    def noop(self) -> None:
        self._call("NOOP", lambda: self._client.noop())


def _body_of(record: dict[bytes, Any]) -> bytes | None:
    for key, value in record.items():
        if (
            isinstance(key, bytes)
            and key.upper().startswith(b"BODY[]")
            and isinstance(value, bytes | bytearray)
        ):
            return bytes(value)
    return None


def _aware(value: Any) -> datetime | None:
    if not isinstance(value, datetime):
        return None
    return (value if value.tzinfo else value.replace(tzinfo=UTC)).astimezone(UTC)


def chunked(values: Iterable[int], size: int) -> list[list[int]]:
    items = list(values)
    return [items[i : i + size] for i in range(0, len(items), size)]
