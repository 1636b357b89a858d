"""Writing what Marketo returned into the cache: each batch in one transaction, together with its resume point.

Every batch is compared with what the cache holds, so the summary's ``updated`` counts people whose stored values
really changed, unchanged people only get their ``synced_at`` stamped (no search re-index), and a person whose
``unsubscribed`` flag went from 0 to 1 is queued for Salesforce (:func:`queue_for_salesforce`, records file)
in a transaction committed *before* the one that stores the flag (cache file): the two files commit separately,
so after a crash between them the next run sees the same 0 -> 1 change and queues it again (idempotently)
instead of never seeing it.

``synced_at`` doubles as the *generation* of an initial (or ``--full``) sync: every row the run writes gets the run's
marker, and :func:`sweep_generation` removes everyone else in the final transaction. Until then the previous cache
stays complete and searchable.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import Any

import sqlite_utils

from sia_tui.store.db import transaction
from sia_tui.store.optout_queue import queue_for_salesforce
from sia_tui.store.people import COLUMNS, delete_people, upsert_people
from sia_tui.store.state import set_state
from sia_tui.sync.checkpoint import Tally
from sia_tui.sync.fields import has_sales_owner, latest_timestamp, lead_id, to_row

_COMPARED = tuple(c for c in COLUMNS if c != "synced_at")
_SQL_CHUNK = 900


def _existing(db: sqlite_utils.Database, ids: Sequence[int]) -> dict[int, dict[str, Any]]:
    out: dict[int, dict[str, Any]] = {}
    cols = ", ".join(COLUMNS)
    for start in range(0, len(ids), _SQL_CHUNK):
        chunk = list(ids[start : start + _SQL_CHUNK])
        marks = ", ".join("?" for _ in chunk)
        for row in db.conn.execute(f"SELECT {cols} FROM people WHERE marketo_id IN ({marks})", chunk):
            record = dict(zip(COLUMNS, row, strict=True))
            out[record["marketo_id"]] = record
    return out


def _touch(db: sqlite_utils.Database, ids: Sequence[int], marker: str) -> None:
    db.conn.executemany("UPDATE people SET synced_at = ? WHERE marketo_id = ?", [(marker, i) for i in ids])


def apply_records(
    db: sqlite_utils.Database,
    records: Iterable[Mapping[str, Any]],
    *,
    linkedin: str | None,
    marker: str,
    tally: Tally,
    asked: Iterable[int] | None = None,
    members: set[int] | None = None,
    remove_ownerless: bool = False,
    state: Mapping[str, Any] | None = None,
) -> int:
    """Store the people among ``records`` that have a sales owner; returns how many were kept.

    ``asked``: the ids these records were fetched for (incremental sync); an asked id that did not come back no
    longer exists in Marketo and is removed. ``members``: when syncing a static list, only these ids may stay.
    ``remove_ownerless``: remove cached people who no longer have an owner (incremental sync; an initial sync
    leaves them to the final sweep so the old cache stays whole until the end). ``state``: sync_state keys written
    in the same transaction (the resume point this batch completes).
    """
    rows: list[dict[str, Any]] = []
    dropped: list[int] = []
    returned: set[int] = set()
    for record in records:
        marketo_id = lead_id(record)
        if marketo_id is None:
            continue
        returned.add(marketo_id)
        tally.read += 1
        tally.saw(latest_timestamp(record))
        if has_sales_owner(record) and (members is None or marketo_id in members):
            rows.append(to_row(record, linkedin, marker))
        else:
            dropped.append(marketo_id)
    gone = [i for i in dict.fromkeys(asked or ()) if i not in returned]
    # Only the sync writes people and one sync runs at a time (SyncLock), so reading before the write is safe.
    before = _existing(db, [r["marketo_id"] for r in rows])
    changed = [r for r in rows if _differs(before.get(r["marketo_id"]), r)]
    unchanged = [r["marketo_id"] for r in rows if not _differs(before.get(r["marketo_id"]), r)]
    newly_unsubscribed = [
        r["marketo_id"]
        for r in changed
        if r["unsubscribed"] and r["marketo_id"] in before and not before[r["marketo_id"]]["unsubscribed"]
    ]
    if newly_unsubscribed:
        with transaction(db):
            queue_for_salesforce(db, newly_unsubscribed, "marketo")
    with transaction(db):
        upsert_people(db, changed)
        _touch(db, unchanged, marker)
        doomed = [*gone, *(dropped if remove_ownerless else [])]
        deleted = delete_people(db, doomed) if doomed else 0
        for key, value in (state or {}).items():
            set_state(db, key, value)
    created = sum(1 for r in changed if r["marketo_id"] not in before)
    tally.created += created
    tally.updated += len(changed) - created
    tally.deleted += deleted
    tally.kept += len(rows)
    tally.unsubscribed += len(newly_unsubscribed)
    return len(rows)


def _differs(old: Mapping[str, Any] | None, new: Mapping[str, Any]) -> bool:
    if old is None:
        return True
    return any(old.get(c) != new.get(c) for c in _COMPARED)


def remove_people(
    db: sqlite_utils.Database, ids: Iterable[int], *, tally: Tally, state: Mapping[str, Any] | None = None
) -> None:
    """Remove people (deleted in Marketo), writing ``state`` in the same transaction."""
    with transaction(db):
        tally.deleted += delete_people(db, ids)
        for key, value in (state or {}).items():
            set_state(db, key, value)


def sweep_generation(db: sqlite_utils.Database, marker: str) -> int:
    """Remove everyone an initial sync did not write (call inside the run's final transaction)."""
    ids = [r[0] for r in db.conn.execute("SELECT marketo_id FROM people WHERE synced_at IS NOT ?", (marker,))]
    return delete_people(db, ids)
