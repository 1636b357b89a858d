"""The queue of unsubscribes to write to Salesforce (Marketo-observed ones; see migration m005).

The people sync calls :func:`queue_for_salesforce` inside the transaction that stores a person whose
``unsubscribed`` flag went from 0 to 1, so the push can never be lost between the two. Re-queuing a person that is
already queued or pushed changes nothing: re-subscribes are not pushed (as in MSIA), and one push is enough.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import UTC, datetime

import sqlite_utils


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds")


def queue_for_salesforce(db: sqlite_utils.Database, marketo_ids: Iterable[int], source: str = "marketo") -> int:
    """Queue people whose opt-out must reach Salesforce; returns how many were newly queued."""
    ids = sorted({int(i) for i in marketo_ids})
    if not ids:
        return 0
    now = _now()
    before = db.conn.total_changes
    db.conn.executemany(
        "INSERT OR IGNORE INTO salesforce_optout_queue (marketo_id, source, queued_at) VALUES (?, ?, ?)",
        [(i, source, now) for i in ids],
    )
    return db.conn.total_changes - before
