"""Opening the local SQLite cache: WAL, busy timeout, 0600 file mode and ``user_version`` migrations.

Every feature shares one database file per profile. Migrations are append-only: a released migration is never
edited, a new one is added to :data:`MIGRATIONS` (see :mod:`sia_tui.store.migrations`).
"""

from __future__ import annotations

import os
import sqlite3
from pathlib import Path

import sqlite_utils

from sia_tui.store.migrations import MIGRATIONS

BUSY_TIMEOUT_MS = 5000


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


def open_db(path: str | Path, *, check_same_thread: bool = True) -> sqlite_utils.Database:
    """Open (creating and migrating if needed) the cache at ``path``.

    A corrupt or locked file raises :class:`StoreError` with one clear sentence instead of a traceback.
    """
    try:
        conn = connect(path, check_same_thread=check_same_thread)
        quick = conn.execute("PRAGMA quick_check(1)").fetchone()[0]
        if quick != "ok":
            raise StoreError(
                f"The database {path} is damaged ({quick}). Move it aside and run `sia-tui sync`."
            )
        migrate(conn)
    except sqlite3.DatabaseError as exc:
        text = str(exc)
        if "locked" in text or "busy" in text:
            raise StoreError(
                f"The database {path} is locked by another process for more than {BUSY_TIMEOUT_MS // 1000} s."
            ) from None
        raise StoreError(
            f"The database {path} cannot be read ({text}). If it is damaged, move it aside and run `sia-tui sync`."
        ) from None
    return sqlite_utils.Database(conn)


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
