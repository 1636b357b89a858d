"""Small persisted key/value state, kept in the file its namespace belongs to.

Keys under a durable namespace (:data:`RECORDS_NAMESPACES`: task-sync and opt-out push bookkeeping, campaigns,
the inbox position) live in the records file's ``records_state`` and survive a cache rebuild; every other key
(people-sync watermarks, paging tokens, the activity feed) lives in the cache's ``sync_state`` and goes with it.
The key alone decides, so no caller can put durable state where a rebuild would drop it.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

import sqlite_utils

#: Key prefixes whose state cannot be rebuilt from Marketo.
RECORDS_NAMESPACES = ("tasks.", "optouts.", "campaigns.", "inbox.", "outbox.")


def table_for(key: str) -> str:
    return "records_state" if key.startswith(RECORDS_NAMESPACES) else "sync_state"


def get_state(db: sqlite_utils.Database, key: str, default: Any = None) -> Any:
    row = db.conn.execute(f"SELECT value FROM {table_for(key)} WHERE key = ?", (key,)).fetchone()
    if row is None or row[0] is None:
        return default
    return json.loads(row[0])


def set_state(db: sqlite_utils.Database, key: str, value: Any) -> None:
    db.conn.execute(
        f"INSERT INTO {table_for(key)} (key, value, updated_at) VALUES (?, ?, ?) "
        "ON CONFLICT(key) DO UPDATE SET value = excluded.value, updated_at = excluded.updated_at",
        (key, json.dumps(value), datetime.now(UTC).isoformat(timespec="seconds")),
    )


def delete_state(db: sqlite_utils.Database, *keys: str) -> None:
    for key in keys:
        db.conn.execute(f"DELETE FROM {table_for(key)} WHERE key = ?", (key,))


def state_updated_at(db: sqlite_utils.Database, key: str) -> str | None:
    row = db.conn.execute(f"SELECT updated_at FROM {table_for(key)} WHERE key = ?", (key,)).fetchone()
    return row[0] if row else None
