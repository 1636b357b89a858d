"""Small persisted key/value state: sync watermarks, paging tokens, resume points."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

import sqlite_utils


def get_state(db: sqlite_utils.Database, key: str, default: Any = None) -> Any:
    row = db.conn.execute("SELECT value FROM sync_state WHERE key = ?", (key,)).fetchone()
    if row is None or row[0] is None:
        return default
    return json.loads(row[0])


def set_state(db: sqlite_utils.Database, key: str, value: Any) -> None:
    db.conn.execute(
        "INSERT INTO sync_state (key, value, updated_at) VALUES (?, ?, ?) "
        "ON CONFLICT(key) DO UPDATE SET value = excluded.value, updated_at = excluded.updated_at",
        (key, json.dumps(value), datetime.now(UTC).isoformat(timespec="seconds")),
    )


def delete_state(db: sqlite_utils.Database, *keys: str) -> None:
    for key in keys:
        db.conn.execute("DELETE FROM sync_state WHERE key = ?", (key,))


def state_updated_at(db: sqlite_utils.Database, key: str) -> str | None:
    row = db.conn.execute("SELECT updated_at FROM sync_state WHERE key = ?", (key,)).fetchone()
    return row[0] if row else None
