"""``BEGIN IMMEDIATE`` ... ``COMMIT`` for the store's autocommit connections (a module of its own so that every
store module can use it without importing the file-opening code)."""

from __future__ import annotations

import sqlite3

import sqlite_utils


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
