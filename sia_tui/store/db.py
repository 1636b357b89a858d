"""Opening the local SQLite cache: WAL, busy timeout, 0600 file mode and ``user_version`` migrations.

Every feature shares one database file per profile. Migrations are append-only: a released migration is never
edited, a new one is added to :data:`MIGRATIONS` (see :mod:`sia_tui.store.migrations`).

Integrity: ``PRAGMA quick_check`` reads the whole file (about 1 s for a million cached people), too slow for every
start. :func:`open_db` therefore always does the cheap checks (SQLite header, a file no shorter than its header
says, a readable schema) and the full check only when it is cheap (a small file), when the last session did not
close cleanly (its write-ahead log is still there), or when asked (``integrity="full"``, :func:`check_integrity`).
A damaged file raises :class:`StoreError` before anything is written to it.
"""

from __future__ import annotations

import os
import sqlite3
from pathlib import Path
from typing import Literal

import sqlite_utils

from sia_tui.store.migrations import MIGRATIONS

BUSY_TIMEOUT_MS = 5000
#: Files up to this size get the full integrity check at every open (it takes well under 0.1 s).
FULL_CHECK_MAX_BYTES = 64 * 1024 * 1024
SQLITE_MAGIC = b"SQLite format 3\x00"

Integrity = Literal["auto", "full", "quick"]


class StoreError(RuntimeError):
    """The local database cannot be used; the message says why and what to do."""


def _create_private(path: Path) -> None:
    """Create the file with mode 0600 before SQLite opens it, so it is never world-readable, even briefly."""
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    if not path.exists():
        fd = os.open(path, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o600)
        os.close(fd)


def connect(path: str | Path, *, check_same_thread: bool = True) -> sqlite3.Connection:
    if str(path) != ":memory:":
        _create_private(Path(path))
    conn = sqlite3.connect(
        str(path), timeout=BUSY_TIMEOUT_MS / 1000, isolation_level=None, check_same_thread=check_same_thread
    )
    conn.execute(f"PRAGMA busy_timeout = {BUSY_TIMEOUT_MS}")
    conn.execute("PRAGMA journal_mode = WAL")
    conn.execute("PRAGMA synchronous = NORMAL")
    conn.execute("PRAGMA foreign_keys = ON")
    conn.execute("PRAGMA temp_store = MEMORY")
    return conn


def migrate(conn: sqlite3.Connection) -> int:
    """Apply pending migrations, each in its own transaction; returns the schema version."""
    version = conn.execute("PRAGMA user_version").fetchone()[0]
    if version > len(MIGRATIONS):
        raise StoreError(
            f"This database was written by a newer sia-tui (schema {version}, this one knows {len(MIGRATIONS)}). "
            "Upgrade sia-tui."
        )
    for number, migration in enumerate(MIGRATIONS[version:], start=version + 1):
        conn.execute("BEGIN IMMEDIATE")
        try:
            migration(conn)
            conn.execute(f"PRAGMA user_version = {number}")
            conn.execute("COMMIT")
        except BaseException:
            conn.execute("ROLLBACK")
            raise
    return len(MIGRATIONS)


def _damaged(path: str | Path, why: str) -> StoreError:
    return StoreError(
        f"The database {path} is damaged ({why}); sia-tui left it untouched. "
        "Move it aside and run `sia-tui sync` to rebuild the cache."
    )


def check_header(path: str | Path) -> None:
    """Refuse a file that is not SQLite, or shorter than its own header says (truncated), without opening it."""
    p = Path(path)
    try:
        size = p.stat().st_size
    except FileNotFoundError:
        return
    if size == 0:
        return  # a new, empty database
    with open(p, "rb") as fh:
        header = fh.read(100)
    if len(header) < 100 or not header.startswith(SQLITE_MAGIC):
        raise _damaged(path, "it is not an SQLite database")
    page_size = int.from_bytes(header[16:18], "big")
    page_size = 65536 if page_size == 1 else page_size
    pages = int.from_bytes(header[28:32], "big")
    # The page count in the header is only valid when the "version valid for" number equals the change counter.
    if header[92:96] == header[24:28] and pages and size < pages * page_size:
        raise _damaged(path, f"it is truncated: {size:,} of {pages * page_size:,} bytes")


def check_integrity(db_or_path: sqlite_utils.Database | str | Path) -> str | None:
    """Run SQLite's full ``quick_check`` (reads every page); None when the file is sound, else what is wrong.

    For ``doctor``-style commands or a background thread: at a million people it takes about a second.
    """
    if isinstance(db_or_path, sqlite_utils.Database):
        rows = db_or_path.conn.execute("PRAGMA quick_check(5)").fetchall()
    else:
        check_header(db_or_path)
        conn = sqlite3.connect(f"file:{db_or_path}?mode=ro", uri=True, timeout=BUSY_TIMEOUT_MS / 1000)
        try:
            rows = conn.execute("PRAGMA quick_check(5)").fetchall()
        except sqlite3.DatabaseError as exc:
            return str(exc)
        finally:
            conn.close()
    lines = [line.strip(" *") for r in rows for line in str(r[0]).splitlines()]
    problems = [line for line in lines if line and not line.startswith("in database")]
    if problems == ["ok"]:
        return None
    more = len(problems) - 1
    return problems[0] + (f", and {more} more problem{'s' if more > 1 else ''}" if more else "")


def _wants_full_check(path: str | Path, integrity: Integrity) -> bool:
    if integrity != "auto" or str(path) == ":memory:":
        return integrity == "full"
    p = Path(path)
    try:
        if p.stat().st_size <= FULL_CHECK_MAX_BYTES:
            return True
    except FileNotFoundError:
        return True
    wal = Path(f"{p}-wal")
    # SQLite removes the log when the last connection closes; one left behind means a crash or a kill (or another
    # process has the cache open right now, when the check is merely unnecessary).
    return wal.exists() and wal.stat().st_size > 0


def open_db(
    path: str | Path, *, check_same_thread: bool = True, integrity: Integrity = "auto"
) -> sqlite_utils.Database:
    """Open (creating and migrating if needed) the cache at ``path``.

    ``integrity``: "auto" (cheap checks, plus the full one when cheap or after an unclean shutdown), "full" or
    "quick" (cheap checks only). A corrupt or locked file raises :class:`StoreError` with one clear sentence
    instead of a traceback, and is never written to.
    """
    try:
        if str(path) != ":memory:":
            check_header(path)
        full = _wants_full_check(path, integrity)
        conn = connect(path, check_same_thread=check_same_thread)
        try:
            conn.execute("SELECT count(*) FROM sqlite_master").fetchone()
            if full:
                problem = check_integrity(sqlite_utils.Database(conn))
                if problem is not None:
                    raise _damaged(path, problem)
            migrate(conn)
        except BaseException:
            conn.close()
            raise
    except sqlite3.DatabaseError as exc:
        raise store_error(path, exc) from None
    return sqlite_utils.Database(conn)


def store_error(path: str | Path, exc: sqlite3.DatabaseError) -> StoreError:
    """One sentence for an SQLite error met while using the cache (damaged, locked, full disk ...)."""
    text = str(exc)
    if "locked" in text or "busy" in text:
        return StoreError(
            f"The database {path} is locked by another process for more than {BUSY_TIMEOUT_MS // 1000} s."
        )
    if "malformed" in text or "not a database" in text or "corrupt" in text:
        return _damaged(path, text)
    return StoreError(
        f"The database {path} cannot be read ({text}). If it is damaged, move it aside and run `sia-tui sync`."
    )


def transaction(db: sqlite_utils.Database) -> _Txn:
    return _Txn(db.conn)


class _Txn:
    """``BEGIN IMMEDIATE`` … ``COMMIT`` for autocommit connections (nested use is a no-op)."""

    def __init__(self, conn: sqlite3.Connection) -> None:
        self.conn = conn
        self.outer = False

    def __enter__(self) -> sqlite3.Connection:
        if not self.conn.in_transaction:
            self.conn.execute("BEGIN IMMEDIATE")
            self.outer = True
        return self.conn

    def __exit__(self, exc_type: object, exc: object, tb: object) -> None:
        if not self.outer:
            return
        if exc_type is None:
            self.conn.execute("COMMIT")
        else:
            self.conn.execute("ROLLBACK")
