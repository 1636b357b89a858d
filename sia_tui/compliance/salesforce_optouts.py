"""The queue of unsubscribes to write to Salesforce: Marketo-observed ones and seller opt-outs (migration m005).

The people sync calls :func:`~sia_tui.store.optout_queue.queue_for_salesforce` (committed before it stores a
person whose ``unsubscribed`` flag went from 0 to 1, so the push can never be lost between the two). Re-queuing a person that is
already queued or pushed changes nothing: re-subscribes are not pushed (as in MSIA), and one push is enough.
A seller's opt-out (:func:`record_seller_optout`) is queued here too, and queued again if it was pushed before.
:mod:`sia_tui.compliance.salesforce_optout_push` writes the queue to Salesforce; a failure keeps the row pending
with its error, for the next worker cycle.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from datetime import UTC, datetime
from typing import Any

import sqlite_utils

from sia_tui.compliance.optouts import add_optout
from sia_tui.store.db import transaction
from sia_tui.store.optout_queue import queue_for_salesforce


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds")


def record_seller_optout(
    db: sqlite_utils.Database,
    marketo_id: int,
    reason: str = "",
    *,
    email: str | None = None,
    source: str = "seller",
) -> dict[str, Any]:
    """A seller records that this person asked not to be emailed (the TUI action and ``sia-tui optout``), or the
    inbox found the request in a reply (``source="reply"``; ``email``: the address we wrote to, used when the
    person is not in the cache).

    The opt-out blocks sends at once (person and address, see :mod:`sia_tui.compliance.optouts`) and is queued
    for the Salesforce opt-out field; the worker writes it within one cycle. Recording it again for someone whose
    opt-out already reached Salesforce queues it again (an admin may have cleared the field since): it only ever
    sets the opt-out, never clears it.
    """
    row = db.conn.execute("SELECT email FROM people WHERE marketo_id = ?", (int(marketo_id),)).fetchone()
    if row is None and not email:
        raise ValueError(f"No person with Marketo id {marketo_id} in the local cache; run `sia-tui sync`.")
    address = row[0] if row is not None and row[0] else email
    with transaction(db):
        optout = add_optout(db, marketo_id=int(marketo_id), email=address, reason=reason)
        _queue_again(db, [int(marketo_id)], source)
    return {**optout, "salesforce": queue_row(db, int(marketo_id))}


def _queue_again(db: sqlite_utils.Database, marketo_ids: Sequence[int], source: str) -> None:
    """Queue, or re-queue an already pushed row (a new explicit opt-out must reach Salesforce again)."""
    now = _now()
    queue_for_salesforce(db, marketo_ids, source)
    db.conn.executemany(
        "UPDATE salesforce_optout_queue SET pushed_at = NULL, attempts = 0, last_error = NULL, source = ?, "
        "queued_at = ? WHERE marketo_id = ? AND pushed_at IS NOT NULL",
        [(source, now, int(i)) for i in marketo_ids],
    )


def adopt_seller_optouts(db: sqlite_utils.Database) -> None:
    """Queue the seller opt-outs (``optouts`` rows with a person) that have not reached Salesforce yet.

    A row already covered by a push made after it was recorded is simply marked as pushed.
    """
    with transaction(db):
        db.conn.execute(
            "UPDATE optouts SET pushed_to_salesforce_at = (SELECT q.pushed_at FROM salesforce_optout_queue q "
            "WHERE q.marketo_id = optouts.marketo_id) WHERE pushed_to_salesforce_at IS NULL AND marketo_id IN "
            "(SELECT q.marketo_id FROM salesforce_optout_queue q WHERE q.pushed_at IS NOT NULL "
            "AND q.pushed_at >= optouts.created_at)"
        )
        ids = [
            int(r[0])
            for r in db.conn.execute(
                "SELECT DISTINCT marketo_id FROM optouts WHERE marketo_id IS NOT NULL "
                "AND pushed_to_salesforce_at IS NULL"
            )
        ]
        if ids:
            _queue_again(db, ids, "seller")


def queue_row(db: sqlite_utils.Database, marketo_id: int) -> dict[str, Any] | None:
    row = db.conn.execute(
        "SELECT marketo_id, source, queued_at, pushed_at, attempts, last_error FROM salesforce_optout_queue "
        "WHERE marketo_id = ?",
        (int(marketo_id),),
    ).fetchone()
    return _queue_dict(row) if row else None


def _queue_dict(row: Sequence[Any]) -> dict[str, Any]:
    keys = ("marketo_id", "source", "queued_at", "pushed_at", "attempts", "last_error")
    return dict(zip(keys, row, strict=True))


def pending_queue(db: sqlite_utils.Database) -> list[dict[str, Any]]:
    """Queued opt-outs not yet in Salesforce, oldest first."""
    return [
        _queue_dict(r)
        for r in db.conn.execute(
            "SELECT marketo_id, source, queued_at, pushed_at, attempts, last_error FROM salesforce_optout_queue "
            "WHERE pushed_at IS NULL ORDER BY queued_at, marketo_id"
        )
    ]


#: records_state key: ``{optouts rowid: last error}`` for address-only opt-outs that could not be written yet.
EMAIL_ERRORS_KEY = "optouts.salesforce.email_errors"


def has_new_work(db: sqlite_utils.Database) -> bool:
    """Something never tried yet: a queued opt-out with no attempt, or a seller opt-out not queued or tried."""
    row = db.conn.execute(
        "SELECT EXISTS (SELECT 1 FROM salesforce_optout_queue WHERE pushed_at IS NULL AND attempts = 0) "
        "OR EXISTS (SELECT 1 FROM optouts WHERE pushed_to_salesforce_at IS NULL AND marketo_id IS NOT NULL AND "
        "marketo_id NOT IN (SELECT marketo_id FROM salesforce_optout_queue WHERE pushed_at IS NULL)) "
        "OR EXISTS (SELECT 1 FROM optouts WHERE pushed_to_salesforce_at IS NULL AND marketo_id IS NULL AND "
        "CAST(rowid AS TEXT) NOT IN (SELECT key FROM json_each(COALESCE((SELECT value FROM records_state "
        "WHERE key = ?), '{}'))))",
        (EMAIL_ERRORS_KEY,),
    ).fetchone()
    return bool(row[0])


def mark_pushed(db: sqlite_utils.Database, marketo_ids: Iterable[int]) -> None:
    """These people's opt-out is in Salesforce now (their seller opt-out rows too)."""
    ids = sorted({int(i) for i in marketo_ids})
    if not ids:
        return
    now = _now()
    with transaction(db):
        db.conn.executemany(
            "UPDATE salesforce_optout_queue SET pushed_at = ?, attempts = attempts + 1, last_error = NULL "
            "WHERE marketo_id = ?",
            [(now, i) for i in ids],
        )
        db.conn.executemany(
            "UPDATE optouts SET pushed_to_salesforce_at = ? WHERE marketo_id = ? AND pushed_to_salesforce_at IS NULL",
            [(now, i) for i in ids],
        )


def mark_failed(db: sqlite_utils.Database, errors: Mapping[int, str]) -> None:
    """Keep the error; the row stays pending and is tried again next cycle."""
    if not errors:
        return
    with transaction(db):
        db.conn.executemany(
            "UPDATE salesforce_optout_queue SET attempts = attempts + 1, last_error = ? WHERE marketo_id = ?",
            [(text, int(i)) for i, text in errors.items()],
        )


def has_pending(db: sqlite_utils.Database) -> bool:
    """Any opt-out (queued, or a seller's not queued yet) that has not reached Salesforce."""
    row = db.conn.execute(
        "SELECT EXISTS (SELECT 1 FROM salesforce_optout_queue WHERE pushed_at IS NULL) "
        "OR EXISTS (SELECT 1 FROM optouts WHERE pushed_to_salesforce_at IS NULL)"
    ).fetchone()
    return bool(row[0])
