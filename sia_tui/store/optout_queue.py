"""The queue of unsubscribes bound for Salesforce (records file, table ``salesforce_optout_queue``).

It lives in the store because the people sync fills it (a 0 -> 1 change of Marketo's unsubscribed flag) and the
compliance service drains it; neither service should import the other.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import UTC, datetime

import sqlite_utils


def queue_for_salesforce(
    db: sqlite_utils.Database, marketo_ids: Iterable[int], source: str = "marketo"
) -> int:
    """Queue people whose opt-out must reach Salesforce; returns how many were newly queued (idempotent)."""
    ids = sorted({int(i) for i in marketo_ids})
    if not ids:
        return 0
    now = datetime.now(UTC).isoformat(timespec="seconds")
    before = db.conn.total_changes
    db.conn.executemany(
        "INSERT OR IGNORE INTO salesforce_optout_queue (marketo_id, source, queued_at) VALUES (?, ?, ?)",
        [(i, source, now) for i in ids],
    )
    return db.conn.total_changes - before
