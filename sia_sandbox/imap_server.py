"""The sandbox's IMAP server: the demo seller's mailbox over IMAP4rev1 (RFC 3501), on the sandbox's event loop.

A faithful subset, worded like Dovecot 2.3 where it matters to clients: CAPABILITY, NOOP, LOGOUT, STARTTLS, LOGIN,
AUTHENTICATE PLAIN (with or without SASL-IR), SELECT / EXAMINE, CREATE / DELETE / LIST / LSUB / SUBSCRIBE /
UNSUBSCRIBE / STATUS, APPEND (literals both ways, LITERAL+), CHECK, CLOSE, UNSELECT, EXPUNGE, SEARCH, FETCH,
STORE and COPY (also as UID commands), UID EXPUNGE, IDLE, NAMESPACE, ID, ENABLE. Responses follow the RFC's
tagged / untagged / continuation rules; errors are ``BAD`` for what the grammar or state forbids and ``NO`` for
what the mailbox cannot do. UIDs, UIDVALIDITY and flags persist in the sandbox state (mailbox.py).

TLS: ``mode="implicit"`` wraps the port in TLS from the first byte (like port 993); ``mode="starttls"`` offers
STARTTLS and, like Dovecot's default, refuses plaintext logins before it unless the client is on loopback;
``mode="plain"`` is for loopback use without TLS material. ``before_read`` runs before the mailbox is looked at
(the responders deliver what is due then), and IDLE sessions also run it on a one-second tick.
"""

from __future__ import annotations

import asyncio
import base64
import binascii
import contextlib
import ipaddress
import logging
import re
import socket
import ssl
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

from sia_sandbox import imap_fetch, imap_search
from sia_sandbox.imap_wire import (
    Atom,
    ImapSyntaxError,
    LineTooLongError,
    LiteralTooBigError,
    SequenceSet,
    Token,
    as_bytes,
    as_text,
    astring,
    flag_list,
    parse_date_time,
    read_command,
    read_line,
    tokenize,
)
from sia_sandbox.mailbox import INBOX, SYSTEM_FLAGS, MailStore, canonical_name

log = logging.getLogger("sia_sandbox")

DELIMITER = "."
MAX_LINE = 1_000_000
MAX_LITERAL = 100 * 1024 * 1024
MAX_BAD_COMMANDS = 10
_TAG = re.compile(
    rb"[\x21\x23\x24\x26\x27\x2c-\x5a\x5e-\x7a\x7c\x7e]+"
)  # ASTRING-CHAR minus "+" and specials
_STATUS_ITEMS = ("MESSAGES", "RECENT", "UIDNEXT", "UIDVALIDITY", "UNSEEN")


@dataclass
class ImapSettings:
    username: str
    password: str
    mode: str = "plain"  # plain | implicit | starttls
    tls_context: ssl.SSLContext | None = None
    idle_tick_s: float = 1.0
    idle_keepalive_s: float = 120.0
    autologout_s: float = 1800.0  # RFC 3501 §5.4: at least 30 minutes


class _Bad(Exception):
    """Answer the current command ``BAD <text>``."""


class _No(Exception):
    """Answer the current command ``NO <text>``."""


class ImapServer:
    def __init__(
        self, store: MailStore, settings: ImapSettings, before_read: Callable[[], object] | None = None
    ) -> None:
        self.store = store
        self.settings = settings
        self._before_read = before_read
        self.sessions: set[Session] = set()
        self._server: asyncio.Server | None = None

    async def start(self, sock: socket.socket) -> ImapServer:
        ssl_ctx = self.settings.tls_context if self.settings.mode == "implicit" else None
        self._server = await asyncio.start_server(self._handle, sock=sock, ssl=ssl_ctx, limit=MAX_LINE + 1024)
        return self

    def before_read(self) -> None:
        """Deliver what is due (the responders); a failure there is logged, never the client's problem."""
        if self._before_read is None:
            return
        try:
            self._before_read()
        except Exception:
            log.exception("delivering due mail failed")

    def close(self) -> None:
        """Stop listening and end every session (clients see the connection close, as on a server restart)."""
        if self._server is not None:
            self._server.close()
        for session in list(self.sessions):
            session.close()

    async def wait_closed(self) -> None:
        if self._server is not None:
            await self._server.wait_closed()

    async def _handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        session = Session(self, reader, writer)
        self.sessions.add(session)
        try:
            await session.run()
        except (ConnectionError, ssl.SSLError, asyncio.IncompleteReadError, asyncio.CancelledError):
            pass  # the client went away, or the sandbox is stopping
        except Exception:  # one broken session must never take the server down
            log.exception("IMAP session failed")
        finally:
            self.sessions.discard(session)
            session.close()


def _is_loopback(writer: asyncio.StreamWriter) -> bool:
    peer = writer.get_extra_info("peername")
    if not peer:
        return False
    try:
        return ipaddress.ip_address(peer[0]).is_loopback
    except ValueError:
        return False


class Session:
    """One client connection: its state (not authenticated → authenticated → selected) and its view of the
    selected mailbox (sequence numbers change only when this session is told of an expunge)."""

    def __init__(
        self, server: ImapServer, reader: asyncio.StreamReader, writer: asyncio.StreamWriter
    ) -> None:
        self.server = server
        self.store = server.store
        self.settings = server.settings
        self.reader = reader
        self.writer = writer
        self.tls = server.settings.mode == "implicit"
        self.user: str | None = None
        self.selected: str | None = None
        self.readonly = False
        self.uids: list[int] = []  # this session's sequence numbers: uids[seq - 1]
        self.high_uid = 0
        self.recent: set[int] = set()
        self.bad_in_a_row = 0
        self.closed = False
        self._out: list[bytes] = []
        sock = writer.get_extra_info("socket")
        if sock is not None and sock.family in (socket.AF_INET, socket.AF_INET6):
            with contextlib.suppress(OSError):  # answers are written whole; no Nagle wait between commands
                sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)

    # ---------------------------------------------------------------------------------------------- I/O

    def write(self, data: bytes) -> None:
        """Queue output; ``flush`` sends it in one write (one TCP segment for a short answer)."""
        self._out.append(data)

    async def flush(self) -> None:
        if self._out:
            data, self._out = b"".join(self._out), []
            self.writer.write(data)
        await self.writer.drain()

    def close(self) -> None:
        if self.closed:
            return
        self.closed = True
        with contextlib.suppress(Exception):
            self.writer.close()

    async def _continue(self) -> None:
        self.write(b"+ OK\r\n")
        await self.flush()
        self._quick_ack()

    def _quick_ack(self) -> None:
        """Acknowledge the literal at once: clients write it and the CRLF ending the command separately, and
        with Nagle on their side the CRLF would wait for our delayed ACK (40 ms per APPEND on Linux)."""
        sock = self.writer.get_extra_info("socket")
        quickack = getattr(socket, "TCP_QUICKACK", None)
        if sock is not None and quickack is not None and sock.family in (socket.AF_INET, socket.AF_INET6):
            with contextlib.suppress(OSError):
                sock.setsockopt(socket.IPPROTO_TCP, quickack, 1)

    # ------------------------------------------------------------------------------------- capabilities

    def capabilities(self) -> str:
        caps = ["IMAP4rev1", "SASL-IR", "LITERAL+", "ID", "ENABLE", "IDLE"]
        if self.user is None:
            if self.settings.mode == "starttls" and not self.tls:
                caps.append("STARTTLS")
            if self._plaintext_refused():
                caps.append("LOGINDISABLED")
            else:
                caps.append("AUTH=PLAIN")
        else:
            caps += ["NAMESPACE", "UIDPLUS", "UNSELECT", "CHILDREN"]
        return " ".join(caps)

    def _plaintext_refused(self) -> bool:
        return self.settings.mode == "starttls" and not self.tls and not _is_loopback(self.writer)

    # ----------------------------------------------------------------------------------------- the loop

    async def run(self) -> None:
        self.write(f"* OK [CAPABILITY {self.capabilities()}] sia-sandbox IMAP ready.\r\n".encode())
        await self.flush()
        while not self.closed:
            try:
                parts = await asyncio.wait_for(
                    read_command(self.reader, self._continue, max_line=MAX_LINE, max_literal=MAX_LITERAL),
                    self.settings.autologout_s,
                )
            except TimeoutError:
                self.write(b"* BYE Disconnected for inactivity.\r\n")
                await self.flush()
                return
            except (LineTooLongError, LiteralTooBigError) as exc:
                self.write(f"* BYE {exc}.\r\n".encode())
                await self.flush()
                return
            if parts is None:
                return
            await self._command(parts)
            await self.flush()
            if self.bad_in_a_row >= MAX_BAD_COMMANDS:
                self.write(b"* BYE Too many invalid IMAP commands.\r\n")
                await self.flush()
                return

    async def _command(self, parts: list) -> None:  # type: ignore[type-arg]
        first = parts[0]
        tag_m = _TAG.match(first)
        if tag_m is None or first[tag_m.end() : tag_m.end() + 1] not in (b" ", b""):
            self.bad_in_a_row += 1
            self.write(b"* BAD Error in IMAP command received by server.\r\n")
            return
        tag = tag_m.group().decode()
        try:
            tokens = tokenize(parts)
        except ImapSyntaxError as exc:
            self._tagged(tag, "BAD", f"Error in IMAP command: {exc}.")
            self.bad_in_a_row += 1
            return
        args = tokens[1:]
        if not args or not isinstance(args[0], Atom):
            self._tagged(tag, "BAD", "Error in IMAP command received by server.")
            self.bad_in_a_row += 1
            return
        name = args[0].upper()
        args = args[1:]
        handler: Handler | None
        states: tuple[str, ...]
        if name == "UID":
            if not args or not isinstance(args[0], Atom):
                self._tagged(tag, "BAD", "Error in IMAP command UID: Missing command.")
                self.bad_in_a_row += 1
                return
            sub = args[0].upper()
            handler = _UID_COMMANDS.get(sub)
            label = f"UID {sub}"
            args = args[1:]
            if handler is None:
                self.bad_in_a_row += 1
                if self.user is None:
                    self._tagged(tag, "BAD", "Error in IMAP command received by server.")
                else:
                    self._tagged(tag, "BAD", f"Error in IMAP command {label}: Unknown command.")
                return
            states = ("selected",)
        else:
            label = name
            entry = _COMMANDS.get(name)
            if entry is None:
                self.bad_in_a_row += 1
                if self.user is None:
                    self._tagged(tag, "BAD", "Error in IMAP command received by server.")
                else:
                    self._tagged(tag, "BAD", f"Error in IMAP command {name}: Unknown command.")
                return
            handler, states = entry
        state = "nonauth" if self.user is None else ("selected" if self.selected else "auth")
        if state not in states:
            self.bad_in_a_row += 1
            if state == "nonauth":
                self._tagged(tag, "BAD", "Error in IMAP command received by server.")
            elif state == "auth" and "selected" in states:
                self._tagged(tag, "BAD", "No mailbox selected.")
            else:
                self._tagged(tag, "BAD", f"Error in IMAP command {label}: Not allowed now.")
            return
        assert handler is not None
        try:
            done = await handler(self, tag, args)
        except _Bad as exc:
            self.bad_in_a_row += 1
            self._tagged(tag, "BAD", f"Error in IMAP command {label}: {exc}.")
            return
        except ImapSyntaxError as exc:
            self.bad_in_a_row += 1
            self._tagged(tag, "BAD", f"Error in IMAP command {label}: {exc}.")
            return
        except _No as exc:
            self.bad_in_a_row = 0
            self._tagged(tag, "NO", str(exc))
            return
        self.bad_in_a_row = 0
        if done:
            self._tagged(tag, "OK", done)

    def _tagged(self, tag: str, status: str, text: str) -> None:
        self.write(f"{tag} {status} {text}\r\n".encode())

    # ------------------------------------------------------------------------------------- mailbox view

    def _sync(self, *, expunges: bool) -> None:
        """Tell the client what changed in the selected mailbox: expunges (when allowed now) and arrivals."""
        if self.selected is None:
            return
        current = self.store.uids(self.selected)
        if expunges:
            alive = set(current)
            for uid in [u for u in self.uids if u not in alive]:
                seq = self.uids.index(uid) + 1
                self.uids.pop(seq - 1)
                self.recent.discard(uid)
                self.write(b"* %d EXPUNGE\r\n" % seq)
        new = [u for u in current if u > self.high_uid]
        if new:
            self.uids.extend(new)
            self.high_uid = new[-1]
            if not self.readonly:
                floor = self.store.claim_recent(self.selected)
                self.recent.update(u for u in new if u > floor)
            self.write(b"* %d EXISTS\r\n" % len(self.uids))
            self.write(b"* %d RECENT\r\n" % len(self.recent))

    def _arrivals(self, *, uid: bool) -> None:
        """Before a command looks at messages: deliver what is due and announce it (EXISTS may come at any time;
        EXPUNGE not during FETCH, STORE or SEARCH by sequence number, RFC 3501 §7.4.1). Like Dovecot, a UID that
        arrived since the last command can be fetched at once."""
        self.server.before_read()
        self._sync(expunges=uid)

    def _mailbox(self, token: Token) -> str:
        return canonical_name(as_text(token, "mailbox name"))

    def _targets(self, set_text: Token, *, uid: bool) -> list[tuple[int, int]]:
        """``(seq, uid)`` pairs a sequence set or UID set names, in sequence order."""
        text = as_text(set_text, "set")
        try:
            wanted = SequenceSet.parse(text)
        except ImapSyntaxError:
            raise _Bad("Invalid uidset" if uid else "Invalid messageset") from None
        if uid:
            if not self.uids:
                return []
            largest = self.uids[-1] if self.uids else 0
            return [(i + 1, u) for i, u in enumerate(self.uids) if wanted.contains(u, largest)]
        count = len(self.uids)
        if count == 0 or wanted.max_number() > count:
            raise _Bad("Invalid messageset")
        return [(i + 1, u) for i, u in enumerate(self.uids) if wanted.contains(i + 1, count)]

    def _flags_arg(self, tokens: list[Token]) -> list[str]:
        flat: list[Token] = []
        for t in tokens:
            flat.extend(t if isinstance(t, list) else [t])
        flags = []
        for t in flat:
            if not isinstance(t, Atom):
                raise _Bad("Invalid flag")
            flag = str(t)
            if flag.startswith("\\"):
                known = next((f for f in SYSTEM_FLAGS if f.lower() == flag.lower()), None)
                if known is None:
                    raise _Bad(f"Invalid system flag {flag.upper()}")
                flag = known
            flags.append(flag)
        return flags

    # ------------------------------------------------------------------------------------ any state

    async def cmd_capability(self, tag: str, args: list[Token]) -> str:
        self.write(f"* CAPABILITY {self.capabilities()}\r\n".encode())
        return "Capability completed."

    async def cmd_noop(self, tag: str, args: list[Token]) -> str:
        if self.selected:
            self.server.before_read()
            self._sync(expunges=True)
        return "NOOP completed."

    async def cmd_logout(self, tag: str, args: list[Token]) -> None:
        self.write(b"* BYE Logging out\r\n")
        self._tagged(tag, "OK", "Logout completed.")
        await self.flush()
        self.close()

    async def cmd_id(self, tag: str, args: list[Token]) -> str:
        self.write(b'* ID ("name" "sia-sandbox")\r\n')
        return "ID completed."

    # ------------------------------------------------------------------------------ not authenticated

    async def cmd_starttls(self, tag: str, args: list[Token]) -> None:
        if self.settings.mode != "starttls" or self.tls or self.settings.tls_context is None:
            raise _Bad("TLS is already active." if self.tls else "STARTTLS is not offered")
        self._tagged(tag, "OK", "Begin TLS negotiation now.")
        await self.flush()
        await self.writer.start_tls(self.settings.tls_context)
        self.tls = True
        return None

    def _login_ok(self, user: str) -> str:
        self.user = user
        return f"[CAPABILITY {self.capabilities()}] Logged in"

    def _credentials_ok(self, user: str, password: str) -> bool:
        return user.casefold() == self.settings.username.casefold() and password == self.settings.password

    async def cmd_login(self, tag: str, args: list[Token]) -> str:
        if len(args) != 2:
            raise _Bad("Invalid arguments")
        if self._plaintext_refused():
            raise _No(
                "[PRIVACYREQUIRED] Plaintext authentication disallowed on non-secure (SSL/TLS) connections."
            )
        user, password = as_text(args[0], "user"), as_text(args[1], "password")
        if not self._credentials_ok(user, password):
            raise _No("[AUTHENTICATIONFAILED] Authentication failed.")
        return self._login_ok(user)

    async def cmd_authenticate(self, tag: str, args: list[Token]) -> str:
        if not args:
            raise _Bad("Missing mechanism")
        mechanism = as_text(args[0], "mechanism").upper()
        if mechanism != "PLAIN":
            raise _No("Unsupported authentication mechanism.")
        if self._plaintext_refused():
            raise _No(
                "[PRIVACYREQUIRED] Plaintext authentication disallowed on non-secure (SSL/TLS) connections."
            )
        if len(args) > 1:
            response = as_bytes(args[1], "initial response")
        else:
            self.write(b"+ \r\n")
            await self.flush()
            line = await read_line(self.reader, MAX_LINE)
            if line is None:
                self.close()
                return ""
            response = line.strip()
        if response == b"*":
            raise _Bad("Authentication aborted by client")
        try:
            decoded = b"" if response == b"=" else base64.b64decode(response, validate=True)
        except (binascii.Error, ValueError):
            raise _Bad("Invalid base64 data in continued response") from None
        fields = decoded.split(b"\0")
        if len(fields) != 3:
            raise _No("[AUTHENTICATIONFAILED] Authentication failed.")
        authzid, user_b, password_b = fields
        user, password = user_b.decode("utf-8", "replace"), password_b.decode("utf-8", "replace")
        if authzid and authzid.decode("utf-8", "replace").casefold() != user.casefold():
            raise _No("[AUTHORIZATIONFAILED] Authorization failed.")
        if not self._credentials_ok(user, password):
            raise _No("[AUTHENTICATIONFAILED] Authentication failed.")
        return self._login_ok(user)

    # ------------------------------------------------------------------------------------ authenticated

    async def cmd_select(self, tag: str, args: list[Token], *, readonly: bool = False) -> str:
        if len(args) != 1:
            raise _Bad("Invalid arguments")
        name = self._mailbox(args[0])
        if self.selected is not None:
            self.write(b"* OK [CLOSED] Previous mailbox closed.\r\n")
        self.selected = None
        self.server.before_read()
        info = self.store.info(name)
        if info is None:
            raise _No(f"Mailbox doesn't exist: {name}")
        self.uids = self.store.uids(name)
        self.high_uid = max(self.uids, default=0)
        floor = info.recent_floor if readonly else self.store.claim_recent(name)
        self.recent = {u for u in self.uids if u > floor}
        self.readonly = readonly
        self.selected = name
        meta = self.store.meta(name)
        first_unseen = next((i + 1 for i, u in enumerate(self.uids) if "\\Seen" not in meta[u].flags), None)
        self.write(b"* FLAGS " + flag_list(SYSTEM_FLAGS) + b"\r\n")
        if readonly:
            self.write(b"* OK [PERMANENTFLAGS ()] Read-only mailbox.\r\n")
        else:
            self.write(
                b"* OK [PERMANENTFLAGS " + flag_list((*SYSTEM_FLAGS, "\\*")) + b"] Flags permitted.\r\n"
            )
        self.write(b"* %d EXISTS\r\n" % len(self.uids))
        self.write(b"* %d RECENT\r\n" % len(self.recent))
        if first_unseen is not None:
            self.write(b"* OK [UNSEEN %d] First unseen.\r\n" % first_unseen)
        self.write(b"* OK [UIDVALIDITY %d] UIDs valid\r\n" % info.uidvalidity)
        self.write(b"* OK [UIDNEXT %d] Predicted next UID\r\n" % info.uidnext)
        return "[READ-ONLY] Examine completed." if readonly else "[READ-WRITE] Select completed."

    async def cmd_examine(self, tag: str, args: list[Token]) -> str:
        return await self.cmd_select(tag, args, readonly=True)

    async def cmd_create(self, tag: str, args: list[Token]) -> str:
        if len(args) != 1:
            raise _Bad("Invalid arguments")
        name = self._mailbox(args[0]).rstrip(DELIMITER)
        if not name:
            raise _No("Invalid mailbox name.")
        if self.store.info(name) is not None:
            raise _No("[ALREADYEXISTS] Mailbox already exists")
        self.store.create(name)
        return "Create completed."

    async def cmd_delete(self, tag: str, args: list[Token]) -> str:
        if len(args) != 1:
            raise _Bad("Invalid arguments")
        name = self._mailbox(args[0])
        if name == INBOX:
            raise _No("INBOX can't be deleted.")
        if self.store.info(name) is None:
            raise _No(f"[NONEXISTENT] Mailbox doesn't exist: {name}")
        if self.selected == name:
            self.selected = None
        self.store.delete(name)
        return "Delete completed."

    async def cmd_rename(self, tag: str, args: list[Token]) -> str:
        raise _No("[CANNOT] RENAME is not supported by the sandbox's IMAP server.")

    async def cmd_subscribe(self, tag: str, args: list[Token], *, on: bool = True) -> str:
        if len(args) != 1:
            raise _Bad("Invalid arguments")
        name = self._mailbox(args[0])
        if self.store.info(name) is None:
            raise _No(f"[NONEXISTENT] Mailbox doesn't exist: {name}")
        self.store.subscribe(name, on)
        return "Subscribe completed." if on else "Unsubscribe completed."

    async def cmd_unsubscribe(self, tag: str, args: list[Token]) -> str:
        return await self.cmd_subscribe(tag, args, on=False)

    async def cmd_list(self, tag: str, args: list[Token], *, lsub: bool = False) -> str:
        if len(args) != 2:
            raise _Bad("Invalid arguments")
        reference, pattern = as_text(args[0], "reference"), as_text(args[1], "pattern")
        word = "LSUB" if lsub else "LIST"
        if pattern == "":
            self.write(f'* {word} (\\Noselect) "{DELIMITER}" ""\r\n'.encode())
            return f"{word.title()} completed."
        regex = "^" + "".join(
            ".*" if ch == "*" else f"[^{re.escape(DELIMITER)}]*" if ch == "%" else re.escape(ch)
            for ch in reference + pattern
        ) + "$"  # fmt: skip
        names = self.store.subscribed() if lsub else self.store.names()
        everything = self.store.names()
        for name in names:
            # INBOX matches case-insensitively (RFC 3501 §5.1); every other name exactly.
            if not re.match(regex, name, re.IGNORECASE if name == INBOX else 0):
                continue
            children = any(other.startswith(name + DELIMITER) for other in everything)
            attrs = "\\HasChildren" if children else "\\HasNoChildren"
            self.write(f'* {word} ({attrs}) "{DELIMITER}" '.encode() + astring(name) + b"\r\n")
        return f"{word.title()} completed."

    async def cmd_lsub(self, tag: str, args: list[Token]) -> str:
        return await self.cmd_list(tag, args, lsub=True)

    async def cmd_namespace(self, tag: str, args: list[Token]) -> str:
        self.write(f'* NAMESPACE (("" "{DELIMITER}")) NIL NIL\r\n'.encode())
        return "Namespace completed."

    async def cmd_enable(self, tag: str, args: list[Token]) -> str:
        self.write(b"* ENABLED\r\n")  # none of the ENABLE-able extensions is implemented
        return "Enabled."

    async def cmd_status(self, tag: str, args: list[Token]) -> str:
        if len(args) != 2 or not isinstance(args[1], list) or not args[1]:
            raise _Bad("Invalid arguments")
        name = self._mailbox(args[0])
        wanted = [as_text(t, "status item").upper() for t in args[1]]
        for item in wanted:
            if item not in _STATUS_ITEMS:
                raise _Bad(f"Invalid status item {item}")
        self.server.before_read()
        info = self.store.info(name)
        if info is None:
            raise _No(f"Mailbox doesn't exist: {name}")
        meta = self.store.meta(name)
        values = {
            "MESSAGES": len(meta),
            "RECENT": sum(1 for u in meta if u > info.recent_floor),
            "UIDNEXT": info.uidnext,
            "UIDVALIDITY": info.uidvalidity,
            "UNSEEN": sum(1 for m in meta.values() if "\\Seen" not in m.flags),
        }
        body = " ".join(f"{item} {values[item]}" for item in wanted)
        self.write(b"* STATUS " + astring(name) + f" ({body})\r\n".encode())
        return "Status completed."

    async def cmd_append(self, tag: str, args: list[Token]) -> str:
        if len(args) < 2:
            raise _Bad("Invalid arguments")
        name = self._mailbox(args[0])
        message = args[-1]
        if not isinstance(message, bytes):
            raise _Bad("Missing message literal")
        middle = args[1:-1]
        flags: list[str] = []
        internal_ms: int | None = None
        if middle and isinstance(middle[0], list):
            flags = self._flags_arg([middle.pop(0)])
        if middle:
            try:
                when = parse_date_time(as_text(middle.pop(0), "date-time"))
            except ImapSyntaxError:
                raise _Bad("Invalid date-time") from None
            internal_ms = int(when.timestamp() * 1000)
        if middle:
            raise _Bad("Invalid arguments")
        if self.store.info(name) is None:
            raise _No(f"[TRYCREATE] Mailbox doesn't exist: {name}")
        uidvalidity, uid = self.store.append(name, message, flags=flags, internal_ms=internal_ms)
        self._sync(expunges=True)
        return f"[APPENDUID {uidvalidity} {uid}] Append completed."

    async def cmd_idle(self, tag: str, args: list[Token]) -> str:
        self.write(b"+ idling\r\n")
        await self.flush()
        wake = asyncio.Event()
        loop = asyncio.get_running_loop()

        def notify() -> None:
            with contextlib.suppress(RuntimeError):  # the loop is closing
                loop.call_soon_threadsafe(wake.set)

        self.store.add_listener(notify)
        line_task = asyncio.ensure_future(read_line(self.reader, MAX_LINE))
        quiet_s = 0.0
        try:
            while True:
                wake.clear()
                self.server.before_read()
                self._sync(expunges=True)
                await self.flush()
                wake_task = asyncio.ensure_future(wake.wait())
                done, _ = await asyncio.wait(
                    {line_task, wake_task},
                    timeout=self.settings.idle_tick_s,
                    return_when=asyncio.FIRST_COMPLETED,
                )
                wake_task.cancel()
                if line_task in done:
                    break
                quiet_s += self.settings.idle_tick_s if not done else 0.0
                if quiet_s >= self.settings.idle_keepalive_s:
                    quiet_s = 0.0
                    self.write(b"* OK Still here\r\n")
        finally:
            self.store.remove_listener(notify)
            if not line_task.done():
                line_task.cancel()
        line = line_task.result()
        if line is None:
            self.close()
            return ""
        if line.strip().upper() != b"DONE":
            raise _Bad("Expected DONE")
        self._sync(expunges=True)
        return "Idle completed."

    # ----------------------------------------------------------------------------------------- selected

    async def cmd_check(self, tag: str, args: list[Token]) -> str:
        self.server.before_read()
        self._sync(expunges=True)
        return "Check completed."

    async def cmd_close(self, tag: str, args: list[Token]) -> str:
        if self.selected and not self.readonly:
            meta = self.store.meta(self.selected)
            self.store.expunge(self.selected, [u for u, m in meta.items() if "\\Deleted" in m.flags])
        self.selected = None
        return "Close completed."

    async def cmd_unselect(self, tag: str, args: list[Token]) -> str:
        self.selected = None
        return "Unselect completed."

    async def _expunge(self, only: set[int] | None) -> str:
        assert self.selected is not None
        if self.readonly:
            raise _No("Mailbox is read-only.")
        meta = self.store.meta(self.selected)
        doomed = [u for u, m in meta.items() if "\\Deleted" in m.flags and (only is None or u in only)]
        self.store.expunge(self.selected, doomed)
        self._sync(expunges=True)
        return "Expunge completed."

    async def cmd_expunge(self, tag: str, args: list[Token]) -> str:
        return await self._expunge(None)

    async def cmd_uid_expunge(self, tag: str, args: list[Token]) -> str:
        if len(args) != 1:
            raise _Bad("Invalid arguments")
        return await self._expunge({u for _, u in self._targets(args[0], uid=True)})

    async def _search(self, args: list[Token], *, uid: bool) -> str:
        assert self.selected is not None
        try:
            predicate = imap_search.parse(args)
        except imap_search.BadCharsetError:
            raise _No("[BADCHARSET (US-ASCII UTF-8)] Unknown charset") from None
        self._arrivals(uid=uid)
        name = self.selected
        meta = self.store.meta(name)
        largest_uid = self.uids[-1] if self.uids else 0
        hits = []
        for i, u in enumerate(self.uids):
            m = meta.get(u)
            if m is None:
                continue
            candidate = imap_search.Candidate(
                seq=i + 1, meta=m, recent=u in self.recent, largest_seq=len(self.uids),
                largest_uid=largest_uid,
                _load_header=lambda u=u: self.store.header(name, u) or b"",  # type: ignore[misc]
                _load_raw=lambda u=u: self.store.raw(name, u) or b"",  # type: ignore[misc]
            )  # fmt: skip
            if predicate(candidate):
                hits.append(u if uid else i + 1)
        self.write(b"* SEARCH" + b"".join(b" %d" % h for h in hits) + b"\r\n")
        self._sync(expunges=uid)
        return "Search completed."

    async def cmd_search(self, tag: str, args: list[Token]) -> str:
        return await self._search(args, uid=False)

    async def cmd_uid_search(self, tag: str, args: list[Token]) -> str:
        return await self._search(args, uid=True)

    async def _fetch(self, args: list[Token], *, uid: bool) -> str:
        assert self.selected is not None
        if len(args) < 2:
            raise _Bad("Invalid arguments")
        items = imap_fetch.parse_items(args[1:])
        self._arrivals(uid=uid)
        targets = self._targets(args[0], uid=uid)
        name = self.selected
        meta = self.store.meta(name)
        wants_seen = not self.readonly and any(i.sets_seen for i in items)
        needs_raw = any(i.needs_raw for i in items)
        needs_header = any(i.needs_header for i in items)
        for seq, u in targets:
            m = meta.get(u)
            if m is None:
                continue  # expunged by another session; this one has not been told yet
            changed = False
            if wants_seen and "\\Seen" not in m.flags:
                flags = (*m.flags, "\\Seen")
                self.store.set_flags(name, {u: flags})
                m = type(m)(m.uid, flags, m.internal_ms, m.size)
                changed = True
            raw = self.store.raw(name, u) if needs_raw else None
            header = self.store.header(name, u) if needs_header else b""
            if raw is None and needs_raw:
                continue
            self.write(
                imap_fetch.render(
                    items,
                    seq=seq,
                    meta=m,
                    recent=u in self.recent,
                    header=header or b"",
                    raw=raw,
                    with_uid=uid,
                    flags_changed=changed,
                )
            )
            if needs_raw:
                await self.flush()
        self._sync(expunges=uid)
        return "Fetch completed."

    async def cmd_fetch(self, tag: str, args: list[Token]) -> str:
        return await self._fetch(args, uid=False)

    async def cmd_uid_fetch(self, tag: str, args: list[Token]) -> str:
        return await self._fetch(args, uid=True)

    async def _store(self, args: list[Token], *, uid: bool) -> str:
        assert self.selected is not None
        if len(args) < 3:
            raise _Bad("Invalid arguments")
        op = as_text(args[1], "store item").upper()
        m_op = re.fullmatch(r"([+-]?)FLAGS(\.SILENT)?", op)
        if m_op is None:
            raise _Bad(f"Invalid STORE item {op}")
        flags = self._flags_arg(args[2:])
        self._arrivals(uid=uid)
        targets = self._targets(args[0], uid=uid)
        if self.readonly:
            return "Store ignored with read-only mailbox."
        name = self.selected
        meta = self.store.meta(name)
        changes: dict[int, tuple[str, ...]] = {}
        for _, u in targets:
            m = meta.get(u)
            if m is None:
                continue
            current = list(m.flags)
            lowered = {f.lower() for f in flags}
            if m_op.group(1) == "+":
                new = current + [f for f in flags if f.lower() not in {c.lower() for c in current}]
            elif m_op.group(1) == "-":
                new = [c for c in current if c.lower() not in lowered]
            else:
                new = list(flags)
            changes[u] = tuple(new)
        self.store.set_flags(name, changes)
        if not m_op.group(2):
            for seq, u in targets:
                if u not in changes:
                    continue
                flags_out = (*changes[u], "\\Recent") if u in self.recent else changes[u]
                prefix = b"UID %d " % u if uid else b""
                self.write(b"* %d FETCH (" % seq + prefix + b"FLAGS " + flag_list(flags_out) + b")\r\n")
        self._sync(expunges=uid)
        return "Store completed."

    async def cmd_store(self, tag: str, args: list[Token]) -> str:
        return await self._store(args, uid=False)

    async def cmd_uid_store(self, tag: str, args: list[Token]) -> str:
        return await self._store(args, uid=True)

    async def _copy(self, args: list[Token], *, uid: bool) -> str:
        assert self.selected is not None
        if len(args) != 2:
            raise _Bad("Invalid arguments")
        self._arrivals(uid=uid)
        targets = self._targets(args[0], uid=uid)
        dest = self._mailbox(args[1])
        info = self.store.info(dest)
        if info is None:
            raise _No(f"[TRYCREATE] Mailbox doesn't exist: {dest}")
        meta = self.store.meta(self.selected)
        source, copied = [], []
        for _, u in targets:
            m = meta.get(u)
            raw = self.store.raw(self.selected, u) if m else None
            if m is None or raw is None:
                continue
            _, new_uid = self.store.append(dest, raw, flags=m.flags, internal_ms=m.internal_ms)
            source.append(u)
            copied.append(new_uid)
        self._sync(expunges=uid)
        if not copied:
            return "No messages found."
        return (
            f"[COPYUID {info.uidvalidity} {','.join(map(str, source))} {','.join(map(str, copied))}] "
            "Copy completed."
        )

    async def cmd_copy(self, tag: str, args: list[Token]) -> str:
        return await self._copy(args, uid=False)

    async def cmd_uid_copy(self, tag: str, args: list[Token]) -> str:
        return await self._copy(args, uid=True)


Handler = Callable[[Session, str, list[Token]], Awaitable[str | None]]
_ANY = ("nonauth", "auth", "selected")
_AUTH = ("auth", "selected")
_SEL = ("selected",)
_COMMANDS: dict[str, tuple[Handler, tuple[str, ...]]] = {
    "CAPABILITY": (Session.cmd_capability, _ANY),
    "NOOP": (Session.cmd_noop, _ANY),
    "LOGOUT": (Session.cmd_logout, _ANY),
    "ID": (Session.cmd_id, _ANY),
    "STARTTLS": (Session.cmd_starttls, ("nonauth",)),
    "LOGIN": (Session.cmd_login, ("nonauth",)),
    "AUTHENTICATE": (Session.cmd_authenticate, ("nonauth",)),
    "SELECT": (Session.cmd_select, _AUTH),
    "EXAMINE": (Session.cmd_examine, _AUTH),
    "CREATE": (Session.cmd_create, _AUTH),
    "DELETE": (Session.cmd_delete, _AUTH),
    "RENAME": (Session.cmd_rename, _AUTH),
    "SUBSCRIBE": (Session.cmd_subscribe, _AUTH),
    "UNSUBSCRIBE": (Session.cmd_unsubscribe, _AUTH),
    "LIST": (Session.cmd_list, _AUTH),
    "LSUB": (Session.cmd_lsub, _AUTH),
    "NAMESPACE": (Session.cmd_namespace, _AUTH),
    "ENABLE": (Session.cmd_enable, _AUTH),
    "STATUS": (Session.cmd_status, _AUTH),
    "APPEND": (Session.cmd_append, _AUTH),
    "IDLE": (Session.cmd_idle, _AUTH),
    "CHECK": (Session.cmd_check, _SEL),
    "CLOSE": (Session.cmd_close, _SEL),
    "UNSELECT": (Session.cmd_unselect, _SEL),
    "EXPUNGE": (Session.cmd_expunge, _SEL),
    "SEARCH": (Session.cmd_search, _SEL),
    "FETCH": (Session.cmd_fetch, _SEL),
    "STORE": (Session.cmd_store, _SEL),
    "COPY": (Session.cmd_copy, _SEL),
}
_UID_COMMANDS: dict[str, Handler] = {
    "SEARCH": Session.cmd_uid_search,
    "FETCH": Session.cmd_uid_fetch,
    "STORE": Session.cmd_uid_store,
    "COPY": Session.cmd_uid_copy,
    "EXPUNGE": Session.cmd_uid_expunge,
}
