"""The seller's mailbox behind the sandbox's IMAP server, kept in the sandbox state file.

Messages are stored as the exact bytes they arrived with (8-bit and non-UTF-8 headers included). Each mailbox has
a UIDVALIDITY, fixed when it is created and kept across restarts from ``--state``, and a UIDNEXT that only grows,
so a UID is never given to a second message, even after an expunge (RFC 3501 §2.3.1.1). A mailbox deleted and
created again gets a new, larger UIDVALIDITY. ``\\Recent`` follows RFC 3501: a message is recent for the first
session that selects its mailbox read-write after it arrived.

Every change bumps ``version`` and calls the listeners (the IMAP server wakes IDLE sessions with them), from
whichever thread made the change.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass

from sia_sandbox.state import SandboxState

INBOX = "INBOX"
SYSTEM_FLAGS = ("\\Answered", "\\Flagged", "\\Deleted", "\\Seen", "\\Draft")

_SCHEMA = """
CREATE TABLE IF NOT EXISTS imap_mailboxes (
    name TEXT PRIMARY KEY, uidvalidity INTEGER NOT NULL, uidnext INTEGER NOT NULL,
    recent_floor INTEGER NOT NULL DEFAULT 0, subscribed INTEGER NOT NULL DEFAULT 1
);
CREATE TABLE IF NOT EXISTS imap_messages (
    id INTEGER PRIMARY KEY, mailbox TEXT NOT NULL, uid INTEGER NOT NULL, internal_ms INTEGER NOT NULL,
    flags TEXT NOT NULL, size INTEGER NOT NULL, header BLOB NOT NULL, raw BLOB NOT NULL,
    UNIQUE (mailbox, uid)
);
"""


@dataclass(frozen=True)
class MailboxInfo:
    name: str
    uidvalidity: int
    uidnext: int
    recent_floor: int


@dataclass(frozen=True)
class MessageMeta:
    uid: int
    flags: tuple[str, ...]
    internal_ms: int
    size: int


def split_header(raw: bytes) -> bytes:
    """The header block including the blank line that ends it (the whole message if it has no body)."""
    if raw.startswith((b"\r\n", b"\n")):
        return raw[: 2 if raw.startswith(b"\r\n") else 1]
    ends = [(at, len(sep)) for sep in (b"\r\n\r\n", b"\n\n") if (at := raw.find(sep)) >= 0]
    if not ends:
        return raw
    at, size = min(ends)
    return raw[: at + size]


def canonical_name(name: str) -> str:
    """INBOX is case-insensitive (RFC 3501 §5.1); every other name is kept as given."""
    return INBOX if name.upper() == INBOX else name


class MailStore:
    def __init__(self, state: SandboxState) -> None:
        self.state = state
        self.version = 0
        self._listeners: list[Callable[[], None]] = []
        self._listeners_lock = threading.Lock()
        with state.tx() as db:
            db.executescript(_SCHEMA)
        if self.info(INBOX) is None:
            self.create(INBOX)

    # ------------------------------------------------------------------------------------------ listeners

    def add_listener(self, callback: Callable[[], None]) -> None:
        with self._listeners_lock:
            self._listeners.append(callback)

    def remove_listener(self, callback: Callable[[], None]) -> None:
        with self._listeners_lock:
            if callback in self._listeners:
                self._listeners.remove(callback)

    def _changed(self) -> None:
        self.version += 1
        with self._listeners_lock:
            listeners = list(self._listeners)
        for callback in listeners:
            callback()

    # ---------------------------------------------------------------------------------------- mailboxes

    def info(self, name: str) -> MailboxInfo | None:
        rows = self.state.query(
            "SELECT name, uidvalidity, uidnext, recent_floor FROM imap_mailboxes WHERE name = ?",
            (canonical_name(name),),
        )
        if not rows:
            return None
        r = rows[0]
        return MailboxInfo(r["name"], r["uidvalidity"], r["uidnext"], r["recent_floor"])

    def names(self) -> list[str]:
        return [r["name"] for r in self.state.query("SELECT name FROM imap_mailboxes ORDER BY name")]

    def create(self, name: str) -> MailboxInfo:
        name = canonical_name(name)
        with self.state.tx() as db:
            row = db.execute("SELECT value FROM meta WHERE key = 'imap_last_uidvalidity'").fetchone()
            last = int(row[0]) if row else 0
            # Real time, not the sandbox clock: a fixed demo clock would hand a re-created mailbox the same value.
            uidvalidity = max(int(time.time()), last + 1)
            db.execute("INSERT OR REPLACE INTO meta VALUES ('imap_last_uidvalidity', ?)", (str(uidvalidity),))
            db.execute(
                "INSERT INTO imap_mailboxes (name, uidvalidity, uidnext) VALUES (?, ?, 1)",
                (name, uidvalidity),
            )
        self._changed()
        info = self.info(name)
        assert info is not None
        return info

    def delete(self, name: str) -> None:
        name = canonical_name(name)
        with self.state.tx() as db:
            db.execute("DELETE FROM imap_messages WHERE mailbox = ?", (name,))
            db.execute("DELETE FROM imap_mailboxes WHERE name = ?", (name,))
        self._changed()

    def subscribe(self, name: str, on: bool) -> None:
        with self.state.tx() as db:
            db.execute(
                "UPDATE imap_mailboxes SET subscribed = ? WHERE name = ?", (int(on), canonical_name(name))
            )

    def subscribed(self) -> list[str]:
        return [
            r["name"]
            for r in self.state.query("SELECT name FROM imap_mailboxes WHERE subscribed = 1 ORDER BY name")
        ]

    # ----------------------------------------------------------------------------------------- messages

    def append(
        self, name: str, raw: bytes, *, flags: Iterable[str] = (), internal_ms: int | None = None
    ) -> tuple[int, int]:
        """Store ``raw`` as the next UID of mailbox ``name``; returns ``(uidvalidity, uid)``."""
        name = canonical_name(name)
        when = self.state.clock.now_ms() if internal_ms is None else internal_ms
        with self.state.tx() as db:
            row = db.execute(
                "SELECT uidvalidity, uidnext FROM imap_mailboxes WHERE name = ?", (name,)
            ).fetchone()
            if row is None:
                raise KeyError(name)
            uidvalidity, uid = int(row[0]), int(row[1])
            db.execute("UPDATE imap_mailboxes SET uidnext = ? WHERE name = ?", (uid + 1, name))
            db.execute(
                "INSERT INTO imap_messages (mailbox, uid, internal_ms, flags, size, header, raw) "
                "VALUES (?, ?, ?, ?, ?, ?, ?)",
                (name, uid, when, _flags_text(flags), len(raw), split_header(raw), raw),
            )
        self._changed()
        return uidvalidity, uid

    def uids(self, name: str) -> list[int]:
        rows = self.state.query(
            "SELECT uid FROM imap_messages WHERE mailbox = ? ORDER BY uid", (canonical_name(name),)
        )
        return [r[0] for r in rows]

    def meta(self, name: str) -> dict[int, MessageMeta]:
        rows = self.state.query(
            "SELECT uid, flags, internal_ms, size FROM imap_messages WHERE mailbox = ? ORDER BY uid",
            (canonical_name(name),),
        )
        return {r[0]: MessageMeta(r[0], _flags_tuple(r[1]), r[2], r[3]) for r in rows}

    def header(self, name: str, uid: int) -> bytes | None:
        rows = self.state.query(
            "SELECT header FROM imap_messages WHERE mailbox = ? AND uid = ?", (canonical_name(name), uid)
        )
        return bytes(rows[0][0]) if rows else None

    def raw(self, name: str, uid: int) -> bytes | None:
        rows = self.state.query(
            "SELECT raw FROM imap_messages WHERE mailbox = ? AND uid = ?", (canonical_name(name), uid)
        )
        return bytes(rows[0][0]) if rows else None

    def set_flags(self, name: str, changes: Mapping[int, Iterable[str]]) -> None:
        if not changes:
            return
        name = canonical_name(name)
        with self.state.tx() as db:
            db.executemany(
                "UPDATE imap_messages SET flags = ? WHERE mailbox = ? AND uid = ?",
                [(_flags_text(flags), name, uid) for uid, flags in changes.items()],
            )
        self._changed()

    def expunge(self, name: str, uids: Iterable[int]) -> None:
        name = canonical_name(name)
        gone = list(uids)
        if not gone:
            return
        with self.state.tx() as db:
            db.executemany(
                "DELETE FROM imap_messages WHERE mailbox = ? AND uid = ?", [(name, u) for u in gone]
            )
        self._changed()

    def claim_recent(self, name: str) -> int:
        """Mark every message up to now as announced; returns the previous floor (UIDs above it are recent
        for the caller)."""
        name = canonical_name(name)
        with self.state.tx() as db:
            row = db.execute(
                "SELECT recent_floor, uidnext FROM imap_mailboxes WHERE name = ?", (name,)
            ).fetchone()
            if row is None:
                return 0
            db.execute("UPDATE imap_mailboxes SET recent_floor = ? WHERE name = ?", (int(row[1]) - 1, name))
        return int(row[0])


def _flags_text(flags: Iterable[str]) -> str:
    seen: list[str] = []
    for flag in flags:
        if flag.lower() == "\\recent":
            continue
        if flag.lower() not in (f.lower() for f in seen):
            seen.append(flag)
    return " ".join(seen)


def _flags_tuple(text: str) -> tuple[str, ...]:
    return tuple(text.split()) if text else ()


def mail_store(state: SandboxState) -> MailStore:
    """The state's one mail store (created on first use)."""
    return state.extension("mail_store", MailStore)
