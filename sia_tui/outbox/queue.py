"""The outbox tables: queueing, reading, retry/cancel, and every state change the worker makes.

Each function that changes state is one SQLite transaction (``BEGIN IMMEDIATE``), and each destination moves only
from the state the caller expects (``WHERE state = ...``), so the worker, a CLI ``outbox cancel`` and the TUI can
touch the same rows without a lost update.
"""

from __future__ import annotations

import random
import uuid
from collections.abc import Iterable, Mapping, Sequence
from datetime import datetime, timedelta
from typing import Any

import sqlite_utils

from sia_tui.compliance.ledger import record_decision
from sia_tui.compliance.optouts import describe_optout, matching_optouts
from sia_tui.compliance.suppressions import describe_suppression, matching_suppressions
from sia_tui.i18n import N_, _
from sia_tui.outbox import throttle
from sia_tui.outbox.compose import CallDraft, EmailDraft
from sia_tui.outbox.model import (
    BLOCKED,
    CAMPAIGN_KINDS,
    DEAD,
    DESTINATIONS,
    DONE,
    INBOX_KINDS,
    ITEM_STATES,
    OPEN_ITEM_STATES,
    OPEN_STATES,
    PENDING,
    SENDING,
    SKIPPED,
    UNKNOWN,
    DestinationState,
    OutboxItem,
    dumps,
    iso,
    loads,
    now_utc,
    summarise,
)
from sia_tui.store.db import transaction

_ITEM_COLUMNS = (
    "id, kind, marketo_id, record_only, payload, person, seller, local_date, occurred_at, state, created_at, "
    "updated_at, cancelled_at, send_at"
)
#: What reads select: the columns an insert writes, plus those other steps fill in later.
_READ_COLUMNS = _ITEM_COLUMNS + ", bounce"
_DEST_COLUMNS = (
    "item_id, destination, state, attempts, next_attempt_at, last_error, reason, ref, request, done_at, "
    "held_reason"
)
_OPEN_SQL = ", ".join(f"'{s}'" for s in OPEN_ITEM_STATES)

# Fixed reasons stored in English (SQLite rows are data): shown in the seller's language by
# :func:`sia_tui.outbox.model.shown_reason`, which looks them up in the catalogue.
RECORD_ONLY_REASON = N_("the seller sent this email outside sia-tui; it is only logged")
CANCELLED_REASON = N_("cancelled by the seller")
CANCELLED_FROM_COMMAND_CENTER = N_("cancelled from the Command Center")
BLOCKED_NOT_LOGGED_REASON = N_("not logged: the email was blocked")
STOPPED_NOTE = N_("the worker stopped during this write; checking whether it happened")


class OutboxError(ValueError):
    """An outbox operation was refused (unknown id, wrong state); the message is one sentence."""


def new_id() -> str:
    return uuid.uuid4().hex


def local_today(now: datetime | None = None) -> str:
    return (now or now_utc()).astimezone().date().isoformat()


# ------------------------------------------------------------------------------------------------- enqueue


def _insert(
    db: sqlite_utils.Database,
    *,
    kind: str,
    marketo_id: int,
    record_only: bool,
    payload: dict[str, Any],
    person: dict[str, Any],
    seller: dict[str, Any],
    destinations: Mapping[str, tuple[str, str | None]],
    item_id: str | None = None,
    send_at: datetime | None = None,
    now: datetime | None = None,
) -> OutboxItem:
    moment = now or now_utc()
    stamp = iso(moment)
    key = item_id or new_id()
    scheduled = iso(send_at) if send_at is not None else None
    with transaction(db) as conn:
        conn.execute(
            f"INSERT INTO outbox ({_ITEM_COLUMNS}) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, 'queued', ?, ?, NULL, ?)",
            (
                key,
                kind,
                int(marketo_id),
                int(record_only),
                dumps(payload),
                dumps(person),
                dumps(seller),
                local_today(moment),
                stamp,
                stamp,
                stamp,
                scheduled,
            ),
        )
        for name, (state, reason) in destinations.items():
            due_at = scheduled if (name == "smtp" and scheduled and state == PENDING) else stamp
            conn.execute(
                "INSERT INTO outbox_destinations (item_id, destination, state, next_attempt_at, reason, "
                "updated_at, done_at) VALUES (?, ?, ?, ?, ?, ?, ?)",
                (key, name, state, due_at, reason, stamp, stamp if state not in OPEN_STATES else None),
            )
        if kind == "email" and record_only:
            record_decision(
                db,
                item_id=key,
                marketo_id=int(marketo_id),
                email=", ".join(payload.get("to") or []),
                decision="recorded",
                reason=RECORD_ONLY_REASON,
                source="record only",
                at=moment,
            )
        _refresh(conn, [key], now=moment)
    item = get_item(db, key)
    assert item is not None
    return item


def enqueue_email(
    db: sqlite_utils.Database,
    draft: EmailDraft,
    *,
    item_id: str | None = None,
    send_at: datetime | None = None,
    now: datetime | None = None,
) -> OutboxItem:
    """Queue an email (durably, before anything leaves the machine); returns the stored item.

    ``item_id``: the idempotency key (a new one by default; a caller that must not queue twice passes its own, and
    a second call with it fails on the primary key). ``send_at``: send no earlier than this moment (a scheduled
    email: state ``scheduled`` until then, cancellable until it goes); it still passes the send-time compliance
    check and the send rate when it comes due. ``now``: the clock (default :func:`now_utc`).
    """
    if send_at is not None and draft.record_only:
        raise OutboxError(_("An email recorded as sent elsewhere cannot be scheduled."))
    smtp = (
        (SKIPPED, "recorded only: the seller sent it outside sia-tui")
        if draft.record_only
        else (PENDING, None)
    )
    return _insert(
        db,
        kind="email",
        marketo_id=int(draft.person["marketo_id"]),
        record_only=draft.record_only,
        payload=draft.payload(),
        person=draft.person,
        seller=draft.seller.to_json(),
        destinations={"smtp": smtp, "marketo": (PENDING, None), "salesforce": (PENDING, None)},
        item_id=item_id,
        send_at=send_at,
        now=now,
    )


def enqueue_call(
    db: sqlite_utils.Database, draft: CallDraft, *, item_id: str | None = None, now: datetime | None = None
) -> OutboxItem:
    return _insert(
        db,
        kind="call",
        marketo_id=int(draft.person["marketo_id"]),
        record_only=False,
        payload=draft.payload(),
        person=draft.person,
        seller=draft.seller.to_json(),
        destinations={"marketo": (PENDING, None), "salesforce": (PENDING, None)},
        item_id=item_id,
        now=now,
    )


def enqueue_activity(
    db: sqlite_utils.Database,
    *,
    kind: str,
    person: dict[str, Any],
    seller: dict[str, Any],
    payload: dict[str, Any],
    item_id: str,
) -> OutboxItem:
    """A Marketo-only activity (``campaign_add`` / ``campaign_remove``), logged exactly once like an email's.

    ``item_id`` is the caller's idempotency key (e.g. derived from the enrolment); the caller inserts it in the
    same transaction as the change it records, so the activity exists if and only if that change happened.
    """
    if kind not in CAMPAIGN_KINDS:
        raise OutboxError(_("{kind!r} is not an activity-only outbox kind.").format(kind=kind))
    return _insert(
        db,
        kind=kind,
        marketo_id=int(person["marketo_id"]),
        record_only=False,
        payload=payload,
        person=person,
        seller=seller,
        destinations={"marketo": (PENDING, None)},
        item_id=item_id,
    )


def enqueue_inbox_event(
    db: sqlite_utils.Database,
    *,
    kind: str,
    item_id: str,
    person: dict[str, Any],
    seller: dict[str, Any],
    payload: dict[str, Any],
    occurred_at: datetime,
    salesforce: bool,
) -> OutboxItem | None:
    """A reply or bounce the inbox found, to be logged exactly once like an email (None if ``item_id`` exists).

    ``item_id`` is the inbox's idempotency key (derived from the message); the inbox inserts it in the transaction
    that records the message as read, so the activity exists if and only if the message was handled.
    ``occurred_at`` (when the reply or bounce arrived) becomes the activity's date.
    """
    if kind not in INBOX_KINDS:
        raise OutboxError(_("{kind!r} is not an inbox outbox kind.").format(kind=kind))
    if db.conn.execute("SELECT 1 FROM outbox WHERE id = ?", (item_id,)).fetchone() is not None:
        return None
    destinations: dict[str, tuple[str, str | None]] = {"marketo": (PENDING, None)}
    if salesforce:
        destinations["salesforce"] = (PENDING, None)
    with transaction(db) as conn:
        _insert(
            db,
            kind=kind,
            marketo_id=int(person["marketo_id"]),
            record_only=False,
            payload=payload,
            person=person,
            seller=seller,
            destinations=destinations,
            item_id=item_id,
        )
        conn.execute(
            "UPDATE outbox SET occurred_at = ?, local_date = ? WHERE id = ?",
            (iso(occurred_at), occurred_at.astimezone().date().isoformat(), item_id),
        )
    return get_item(db, item_id)


def mark_bounced(db: sqlite_utils.Database, item_id: str, bounce: dict[str, Any]) -> bool:
    """The email ``item_id`` came back: it reads "bounced" with ``bounce``; a hard bounce is never replaced by a
    later soft one. False when there is no such email."""
    with transaction(db) as conn:
        row = conn.execute("SELECT bounce FROM outbox WHERE id = ? AND kind = 'email'", (item_id,)).fetchone()
        if row is None:
            return False
        current = loads(row[0])
        if current and current.get("type") == "hard" and bounce.get("type") != "hard":
            return True
        conn.execute("UPDATE outbox SET bounce = ? WHERE id = ?", (dumps(bounce), item_id))
        _refresh(conn, [item_id])
    return True


# ---------------------------------------------------------------------------------------------------- read


def _item(row: Sequence[Any], dests: dict[str, DestinationState]) -> OutboxItem:
    return OutboxItem(
        id=row[0],
        kind=row[1],
        marketo_id=row[2],
        record_only=bool(row[3]),
        payload=loads(row[4]) or {},
        person=loads(row[5]) or {},
        seller=loads(row[6]) or {},
        local_date=row[7],
        occurred_at=row[8],
        state=row[9],
        created_at=row[10],
        updated_at=row[11],
        cancelled_at=row[12],
        send_at=row[13],
        destinations=dests,
        bounce=loads(row[14]) if len(row) > 14 else None,
    )


def _dest(row: Sequence[Any]) -> DestinationState:
    return DestinationState(
        name=row[1],
        state=row[2],
        attempts=row[3],
        next_attempt_at=row[4],
        last_error=row[5],
        reason=row[6],
        ref=row[7],
        request=loads(row[8]),
        done_at=row[9],
        held_reason=row[10],
    )


def _destinations(db: sqlite_utils.Database, ids: Sequence[str]) -> dict[str, dict[str, DestinationState]]:
    out: dict[str, dict[str, DestinationState]] = {}
    for start in range(0, len(ids), 500):
        chunk = list(ids[start : start + 500])
        marks = ",".join("?" * len(chunk))
        for row in db.conn.execute(
            f"SELECT {_DEST_COLUMNS} FROM outbox_destinations WHERE item_id IN ({marks})", chunk
        ):
            out.setdefault(row[0], {})[row[1]] = _dest(row)
    order = {name: i for i, name in enumerate(DESTINATIONS)}
    return {k: dict(sorted(v.items(), key=lambda kv: order[kv[0]])) for k, v in out.items()}


def resolve_id(db: sqlite_utils.Database, prefix: str) -> str:
    text = prefix.strip().lower()
    if len(text) < 4 or not all(c in "0123456789abcdef" for c in text):
        raise OutboxError(
            _("{prefix!r} is not an outbox id (use at least the first 4 characters shown).").format(prefix=prefix)
        )
    rows = db.conn.execute("SELECT id FROM outbox WHERE id LIKE ? LIMIT 2", (text + "%",)).fetchall()
    if not rows:
        raise OutboxError(_("No outbox item has an id starting with {prefix!r}.").format(prefix=prefix))
    if len(rows) > 1:
        raise OutboxError(_("Several outbox items start with {prefix!r}; give more characters.").format(prefix=prefix))
    return str(rows[0][0])


def get_item(db: sqlite_utils.Database, item_id: str) -> OutboxItem | None:
    row = db.conn.execute(f"SELECT {_READ_COLUMNS} FROM outbox WHERE id = ?", (item_id,)).fetchone()
    if row is None:
        return None
    return _item(row, _destinations(db, [item_id]).get(item_id, {}))


def list_items(
    db: sqlite_utils.Database,
    *,
    states: Iterable[str] | None = None,
    marketo_id: int | None = None,
    limit: int | None = 200,
) -> list[OutboxItem]:
    """Newest first."""
    where: list[str] = []
    args: list[Any] = []
    wanted = list(states or [])
    if wanted:
        where.append(f"state IN ({','.join('?' * len(wanted))})")
        args.extend(wanted)
    if marketo_id is not None:
        where.append("marketo_id = ?")
        args.append(int(marketo_id))
    sql = f"SELECT {_READ_COLUMNS} FROM outbox"
    if where:
        sql += " WHERE " + " AND ".join(where)
    sql += " ORDER BY created_at DESC, id"
    if limit is not None:
        sql += f" LIMIT {int(limit)}"
    rows = db.conn.execute(sql, args).fetchall()
    dests = _destinations(db, [r[0] for r in rows])
    return [_item(r, dests.get(r[0], {})) for r in rows]


def counts(db: sqlite_utils.Database) -> dict[str, int]:
    """Items per summary state (every state of :data:`ITEM_STATES`, zero included)."""
    out = dict.fromkeys(ITEM_STATES, 0)
    for state, n in db.conn.execute("SELECT state, COUNT(*) FROM outbox GROUP BY state"):
        out[state] = n
    return out


def open_count(db: sqlite_utils.Database) -> int:
    """Items with something left to do (scheduled ones included)."""
    row = db.conn.execute(f"SELECT COUNT(*) FROM outbox WHERE state IN ({_OPEN_SQL})").fetchone()
    return int(row[0])


def next_due_at(db: sqlite_utils.Database) -> str | None:
    """When the worker next has something to do (a logging destination waiting for its email does not count)."""
    row = db.conn.execute(
        "SELECT MIN(d.next_attempt_at) FROM outbox_destinations d WHERE d.state IN ('pending', 'unknown') "
        "AND NOT EXISTS (SELECT 1 FROM outbox_destinations s WHERE s.item_id = d.item_id AND "
        "s.destination = 'smtp' AND s.state NOT IN ('done', 'skipped') AND d.destination != 'smtp')"
    ).fetchone()
    return row[0] if row else None


# ----------------------------------------------------------------------------------------- retry / cancel


def retry_item(db: sqlite_utils.Database, item_id: str) -> OutboxItem:
    """Dead, blocked or waiting destinations go back to pending, due now, with a fresh attempt count."""
    key = resolve_id(db, item_id)
    moment = now_utc()
    stamp = iso(moment)
    with transaction(db) as conn:
        item = conn.execute("SELECT cancelled_at, send_at FROM outbox WHERE id = ?", (key,)).fetchone()
        if item[0] is not None:
            raise OutboxError(_("Outbox item {id} was cancelled; queue a new one instead.").format(id=key[:8]))
        # A scheduled email keeps its time: "retry" never sends it early.
        due_at = item[1] if item[1] and item[1] > stamp else stamp
        cur = conn.execute(
            "UPDATE outbox_destinations SET state = 'pending', attempts = 0, "
            "next_attempt_at = CASE WHEN destination = 'smtp' THEN ? ELSE ? END, last_error = NULL, "
            "reason = NULL, held_reason = NULL, updated_at = ? "
            "WHERE item_id = ? AND state IN ('dead', 'blocked', 'pending')",
            (due_at, stamp, stamp, key),
        )
        if cur.rowcount == 0:
            raise OutboxError(
                _("Outbox item {id} has nothing to retry (it is done or being sent).").format(id=key[:8])
            )
        _refresh(conn, [key], now=moment)
    item_now = get_item(db, key)
    assert item_now is not None
    return item_now


def cancel_item(
    db: sqlite_utils.Database, item_id: str, *, reason: str = CANCELLED_REASON
) -> OutboxItem:
    """Stop what has not happened yet. Refused while a write is in flight or in doubt (it may have happened)."""
    key = resolve_id(db, item_id)
    stamp = iso(now_utc())
    with transaction(db) as conn:
        busy = conn.execute(
            "SELECT destination FROM outbox_destinations WHERE item_id = ? AND state IN ('sending', 'unknown')",
            (key,),
        ).fetchall()
        if busy:
            raise OutboxError(
                _(
                    "Outbox item {id} is being delivered to {destinations} right now; "
                    "try again once the worker has settled it."
                ).format(id=key[:8], destinations=", ".join(r[0] for r in busy))
            )
        cur = conn.execute(
            "UPDATE outbox_destinations SET state = 'cancelled', reason = ?, updated_at = ? "
            "WHERE item_id = ? AND state IN ('pending', 'dead')",
            (reason, stamp, key),
        )
        if cur.rowcount == 0:
            raise OutboxError(_("Outbox item {id} has nothing left to cancel.").format(id=key[:8]))
        conn.execute("UPDATE outbox SET cancelled_at = ?, updated_at = ? WHERE id = ?", (stamp, stamp, key))
        _refresh(conn, [key])
    item_now = get_item(db, key)
    assert item_now is not None
    return item_now


# --------------------------------------------------------------------------------------- worker transitions


def _refresh(conn: Any, ids: Iterable[str], *, now: datetime | None = None) -> None:
    """Recompute the summary ``state`` of items (inside the caller's transaction)."""
    keys = list(dict.fromkeys(ids))
    stamp = iso(now or now_utc())
    for start in range(0, len(keys), 500):
        chunk = keys[start : start + 500]
        marks = ",".join("?" * len(chunk))
        dests: dict[str, dict[str, tuple[str, int, str | None]]] = {}
        for item_id, name, state, attempts, error in conn.execute(
            "SELECT item_id, destination, state, attempts, last_error FROM outbox_destinations "
            f"WHERE item_id IN ({marks})",
            chunk,
        ):
            dests.setdefault(item_id, {})[name] = (state, attempts, error)
        cancelled: set[str] = set()
        scheduled: set[str] = set()
        bounced: set[str] = set()
        for item_id, cancelled_at, send_at, bounce in conn.execute(
            f"SELECT id, cancelled_at, send_at, bounce FROM outbox WHERE id IN ({marks})", chunk
        ):
            if cancelled_at is not None:
                cancelled.add(item_id)
            if send_at is not None:
                scheduled.add(item_id)
            if bounce is not None:
                bounced.add(item_id)
        for item_id in chunk:
            summary = summarise(item_id in cancelled, dests.get(item_id, {}), scheduled=item_id in scheduled)
            if summary == "done" and item_id in bounced:
                summary = "bounced"  # an email that went out and came back
            conn.execute(
                "UPDATE outbox SET state = ?, updated_at = ? WHERE id = ? AND state != ?",
                (summary, stamp, item_id, summary),
            )


def recover_inflight(db: sqlite_utils.Database, *, now: datetime | None = None) -> int:
    """At worker start (lock held): a write still marked ``sending`` was cut by a crash; its outcome is unknown."""
    stamp = iso(now or now_utc())
    with transaction(db) as conn:
        ids = [r[0] for r in conn.execute("SELECT item_id FROM outbox_destinations WHERE state = 'sending'")]
        conn.execute(
            "UPDATE outbox_destinations SET state = 'unknown', next_attempt_at = ?, updated_at = ?, "
            "last_error = COALESCE(last_error, ?) WHERE state = 'sending'",
            (stamp, stamp, STOPPED_NOTE),
        )
        _refresh(conn, ids, now=now)
    return len(ids)


def due(
    db: sqlite_utils.Database,
    destination: str,
    states: Sequence[str],
    *,
    now: datetime,
    limit: int,
) -> list[tuple[OutboxItem, DestinationState]]:
    """Items whose ``destination`` is in ``states`` and due; logging waits until the email itself went out."""
    marks = ",".join("?" * len(states))
    rows = db.conn.execute(
        f"SELECT d.item_id FROM outbox_destinations d JOIN outbox o ON o.id = d.item_id "
        f"WHERE d.destination = ? AND d.state IN ({marks}) AND d.next_attempt_at <= ? "
        "AND NOT EXISTS (SELECT 1 FROM outbox_destinations s WHERE s.item_id = d.item_id AND "
        "s.destination = 'smtp' AND s.state NOT IN ('done', 'skipped') AND d.destination != 'smtp') "
        "ORDER BY d.next_attempt_at, o.created_at, o.id LIMIT ?",
        (destination, *states, iso(now), int(limit)),
    ).fetchall()
    ids = [r[0] for r in rows]
    if not ids:
        return []
    dests = _destinations(db, ids)
    marks = ",".join("?" * len(ids))
    items = {
        r[0]: _item(r, dests.get(r[0], {}))
        for r in db.conn.execute(f"SELECT {_READ_COLUMNS} FROM outbox WHERE id IN ({marks})", ids)
    }
    return [(items[i], items[i].destinations[destination]) for i in ids if i in items]


def waiting_for_rate(db: sqlite_utils.Database, *, now: datetime) -> list[OutboxItem]:
    """Emails the send rate decides about now, in queue order: due ones and those it already holds back (so a
    new plan keeps the earlier ones first and its times stay true). Scheduled emails not yet due are not here."""
    rows = db.conn.execute(
        "SELECT d.item_id FROM outbox_destinations d JOIN outbox o ON o.id = d.item_id "
        "WHERE d.destination = 'smtp' AND d.state = 'pending' AND (d.next_attempt_at <= ? OR d.held_reason IS NOT NULL) "
        "ORDER BY o.created_at, o.id",
        (iso(now),),
    ).fetchall()
    ids = [r[0] for r in rows]
    if not ids:
        return []
    dests = _destinations(db, ids)
    out: list[OutboxItem] = []
    for start in range(0, len(ids), 500):
        chunk = ids[start : start + 500]
        marks = ",".join("?" * len(chunk))
        found = {
            r[0]: _item(r, dests.get(r[0], {}))
            for r in db.conn.execute(f"SELECT {_READ_COLUMNS} FROM outbox WHERE id IN ({marks})", chunk)
        }
        out.extend(found[i] for i in chunk if i in found)
    return out


def _set(
    conn: Any,
    destination: str,
    item_id: str,
    from_states: Sequence[str],
    **values: Any,
) -> bool:
    values.setdefault("updated_at", iso(now_utc()))
    assignments = ", ".join(f"{k} = ?" for k in values)
    marks = ",".join("?" * len(from_states))
    cur = conn.execute(
        f"UPDATE outbox_destinations SET {assignments} WHERE item_id = ? AND destination = ? "
        f"AND state IN ({marks})",
        (*values.values(), item_id, destination, *from_states),
    )
    return bool(cur.rowcount)


def mark_sending(
    db: sqlite_utils.Database,
    destination: str,
    requests: Mapping[str, dict[str, Any]],
    *,
    occurred_at: datetime | None = None,
    now: datetime | None = None,
) -> list[str]:
    """pending → sending (attempts + 1), freezing each request at its first attempt. Returns the ids moved."""
    stamp = iso(now or now_utc())
    moved: list[str] = []
    with transaction(db) as conn:
        for item_id, request in requests.items():
            cur = conn.execute(
                "UPDATE outbox_destinations SET state = 'sending', attempts = attempts + 1, held_reason = NULL, "
                "request = COALESCE(request, ?), first_attempt_at = COALESCE(first_attempt_at, ?), updated_at = ? "
                "WHERE item_id = ? AND destination = ? AND state = 'pending'",
                (dumps(request), stamp, stamp, item_id, destination),
            )
            if cur.rowcount:
                moved.append(item_id)
                if occurred_at is not None:
                    conn.execute(
                        "UPDATE outbox SET occurred_at = ?, local_date = ? WHERE id = ?",
                        (iso(occurred_at), occurred_at.astimezone().date().isoformat(), item_id),
                    )
        _refresh(conn, moved, now=now)
    return moved


def mark_done(
    db: sqlite_utils.Database,
    destination: str,
    refs: Mapping[str, str | None],
    notes: Mapping[str, str] | None = None,
    *,
    now: datetime | None = None,
) -> int:
    """Delivered; ``notes`` keeps a sentence the seller should still see (e.g. a possible duplicate)."""
    stamp = iso(now or now_utc())
    n = 0
    with transaction(db) as conn:
        for item_id, ref in refs.items():
            n += _set(
                conn,
                destination,
                item_id,
                (SENDING, UNKNOWN, PENDING),
                state=DONE,
                ref=ref,
                done_at=stamp,
                last_error=None,
                held_reason=None,
                reason=(notes or {}).get(item_id),
                next_attempt_at=stamp,
                updated_at=stamp,
            )
        _refresh(conn, refs, now=now)
    return n



def _wait(
    db: sqlite_utils.Database,
    destination: str,
    ids: Iterable[str],
    from_states: tuple[str, ...],
    delay_s: float,
    now: datetime | None,
    **fields: Any,
) -> None:
    """Items in ``from_states`` at ``destination`` wait ``delay_s`` before their next attempt, with ``fields`` set."""
    moment = now or now_utc()
    due_at = iso(moment + timedelta(seconds=delay_s))
    keys = list(ids)
    with transaction(db) as conn:
        for item_id in keys:
            _set(conn, destination, item_id, from_states, next_attempt_at=due_at, updated_at=iso(moment), **fields)
        _refresh(conn, keys, now=moment)


def mark_unknown(
    db: sqlite_utils.Database,
    destination: str,
    ids: Iterable[str],
    error: str,
    *,
    delay_s: float,
    now: datetime | None = None,
) -> None:
    _wait(db, destination, ids, (SENDING,), delay_s, now, state=UNKNOWN, last_error=error)


def defer_unknown(
    db: sqlite_utils.Database,
    destination: str,
    ids: Iterable[str],
    error: str,
    *,
    delay_s: float,
    now: datetime | None = None,
) -> None:
    """The lookup itself failed: stay in doubt (never re-send blindly) and look again later."""
    _wait(db, destination, ids, (UNKNOWN,), delay_s, now, last_error=error)


def mark_not_applied(
    db: sqlite_utils.Database,
    destination: str,
    ids: Iterable[str],
    note: str | None,
    *,
    now: datetime | None = None,
) -> None:
    """unknown → pending, due now: the lookup showed the write never happened, so it is safe to send it."""
    stamp = iso(now or now_utc())
    keys = list(ids)
    with transaction(db) as conn:
        for item_id in keys:
            _set(
                conn, destination, item_id, (UNKNOWN,), state=PENDING, next_attempt_at=stamp, last_error=note,
                updated_at=stamp,
            )  # fmt: skip
        _refresh(conn, keys, now=now)


def backoff_s(attempts: int, base_s: float, cap_s: float) -> float:
    """Exponential with jitter: base·2^(n-1), capped, times 0.5–1 so retries spread out."""
    raw = min(cap_s, base_s * (2 ** max(0, attempts - 1)))
    return raw * random.uniform(0.5, 1.0)


def mark_failed(
    db: sqlite_utils.Database,
    destination: str,
    failures: Mapping[str, str],
    *,
    permanent: bool = False,
    max_attempts: int,
    base_s: float,
    cap_s: float,
    from_states: Sequence[str] = (SENDING,),
    now: datetime | None = None,
) -> tuple[list[str], list[str]]:
    """A failed attempt: back to pending with backoff, or dead (with the reason) when permanent or out of attempts.

    Returns (retrying ids, dead ids)."""
    moment = now or now_utc()
    stamp = iso(moment)
    retrying: list[str] = []
    dead: list[str] = []
    with transaction(db) as conn:
        for item_id, error in failures.items():
            row = conn.execute(
                "SELECT attempts FROM outbox_destinations WHERE item_id = ? AND destination = ?",
                (item_id, destination),
            ).fetchone()
            attempts = int(row[0]) if row else 0
            if permanent or attempts >= max_attempts:
                reason = (
                    error
                    if permanent
                    else _("gave up after {count} attempts; last error: {error}").format(count=attempts, error=error)
                )
                if _set(
                    conn, destination, item_id, from_states, state=DEAD, reason=reason, last_error=error,
                    held_reason=None, updated_at=stamp,
                ):  # fmt: skip
                    dead.append(item_id)
            else:
                due_at = iso(moment + timedelta(seconds=backoff_s(attempts, base_s, cap_s)))
                if _set(
                    conn,
                    destination,
                    item_id,
                    from_states,
                    state=PENDING,
                    last_error=error,
                    held_reason=None,
                    next_attempt_at=due_at,
                    updated_at=stamp,
                ):
                    retrying.append(item_id)
        _refresh(conn, failures, now=moment)
    return retrying, dead


def hold(
    db: sqlite_utils.Database,
    destination: str,
    ids: Iterable[str],
    error: str,
    *,
    delay_s: float,
    now: datetime | None = None,
) -> None:
    """Not attempted (a precondition failed, e.g. Marketo unreachable for the unsubscribe check): wait, no attempt."""
    _wait(db, destination, ids, (PENDING,), delay_s, now, last_error=error, held_reason=None)


def hold_until(
    db: sqlite_utils.Database,
    destination: str,
    until: Mapping[str, tuple[datetime, str]],
    *,
    now: datetime | None = None,
) -> None:
    """Not an error: each item waits until its own moment, for the reason given (the send rate), no attempt used."""
    moment = now or now_utc()
    with transaction(db) as conn:
        for item_id, (when, why) in until.items():
            _set(
                conn, destination, item_id, (PENDING,), held_reason=why, next_attempt_at=iso(when),
                updated_at=iso(moment),
            )  # fmt: skip
        _refresh(conn, until, now=moment)


def mark_skipped(
    db: sqlite_utils.Database, destination: str, reasons: Mapping[str, str], *, now: datetime | None = None
) -> None:
    stamp = iso(now or now_utc())
    with transaction(db) as conn:
        for item_id, reason in reasons.items():
            _set(
                conn,
                destination,
                item_id,
                (PENDING,),
                state=SKIPPED,
                reason=reason,
                done_at=stamp,
                last_error=None,
                held_reason=None,
                updated_at=stamp,
            )
        _refresh(conn, reasons, now=now)


def _block(
    db: sqlite_utils.Database,
    item_id: str,
    *,
    reason: str,
    source: str,
    marketo_id: int,
    email: str,
    detail: dict[str, Any] | None,
    now: datetime,
) -> bool:
    """Inside the caller's transaction: smtp pending → blocked, logging destinations too, and the ledger entry."""
    stamp = iso(now)
    moved = _set(
        db.conn, "smtp", item_id, (PENDING,), state=BLOCKED, reason=reason, done_at=stamp, last_error=None,
        held_reason=None, updated_at=stamp,
    )  # fmt: skip
    if moved:
        for other in ("marketo", "salesforce"):
            _set(
                db.conn,
                other,
                item_id,
                (PENDING,),
                state=BLOCKED,
                reason=BLOCKED_NOT_LOGGED_REASON,
                done_at=stamp,
                updated_at=stamp,
            )
        record_decision(
            db,
            item_id=item_id,
            marketo_id=marketo_id,
            email=email,
            decision="blocked",
            reason=reason,
            source=source,
            detail=detail,
            at=now,
        )
    _refresh(db.conn, [item_id], now=now)
    return moved


def mark_blocked(
    db: sqlite_utils.Database,
    item_id: str,
    *,
    reason: str,
    source: str,
    marketo_id: int,
    email: str,
    detail: dict[str, Any] | None,
    now: datetime | None = None,
) -> bool:
    """Compliance said no: nothing is sent and nothing is logged as sent; the ledger says why, in one transaction."""
    with transaction(db):
        return _block(
            db, item_id, reason=reason, source=source, marketo_id=marketo_id, email=email, detail=detail,
            now=now or now_utc(),
        )  # fmt: skip


#: What :func:`start_send` did: the email may go now, it is gone (cancelled or taken meanwhile), a local opt-out
#: recorded meanwhile blocked it, or the send rate has no room for it now.
STARTED, GONE, OPTED_OUT, THROTTLED = "started", "gone", "opted out", "throttled"


def start_send(
    db: sqlite_utils.Database,
    item_id: str,
    *,
    request: dict[str, Any],
    occurred_at: datetime,
    reason: str,
    source: str,
    marketo_id: int,
    email: str,
    detail: dict[str, Any] | None,
    addresses: Sequence[str] = (),
    rate: throttle.SendRate | None = None,
    now: datetime | None = None,
) -> str:
    """The check allowed it: in one transaction, re-check local opt-outs for ``marketo_id`` and every address, and
    hard-bounced addresses (one recorded since the check blocks it here, with its ledger entry), check the send rate, then write the ledger
    entry, count the send and move smtp pending → sending. Returns :data:`STARTED`, :data:`GONE`,
    :data:`OPTED_OUT` or :data:`THROTTLED`; only :data:`STARTED` may be followed by the send."""
    moment = now or now_utc()
    stamp = iso(moment)
    with transaction(db) as conn:
        state = conn.execute(
            "SELECT state FROM outbox_destinations WHERE item_id = ? AND destination = 'smtp'", (item_id,)
        ).fetchone()
        if state is None or state[0] != PENDING:
            return GONE
        hits = matching_optouts(db, [marketo_id], addresses)
        if hits:
            why = describe_optout(hits[0]) + _(" (recorded while this email waited to be sent)")
            _block(
                db, item_id, reason=why, source="local opt-out", marketo_id=marketo_id, email=email,
                detail={**(detail or {}), "optout_id": hits[0]["id"], "rechecked": "when marked sending"},
                now=moment,
            )  # fmt: skip
            return OPTED_OUT
        gone = matching_suppressions(db, addresses)
        if gone:
            why = describe_suppression(gone[0]) + _(" (recorded while this email waited to be sent)")
            _block(
                db, item_id, reason=why, source="hard bounce", marketo_id=marketo_id, email=email,
                detail={**(detail or {}), "suppressed": gone[0]["email"], "rechecked": "when marked sending"},
                now=moment,
            )  # fmt: skip
            return OPTED_OUT
        if rate is not None and throttle.capacity(conn, rate, moment) < 1:
            return THROTTLED
        cur = conn.execute(
            "UPDATE outbox_destinations SET state = 'sending', attempts = attempts + 1, request = ?, "
            "held_reason = NULL, first_attempt_at = COALESCE(first_attempt_at, ?), updated_at = ? "
            "WHERE item_id = ? AND destination = 'smtp' AND state = 'pending'",
            (dumps(request), stamp, stamp, item_id),
        )
        if not cur.rowcount:
            return GONE
        conn.execute(
            "UPDATE outbox SET occurred_at = ?, local_date = ? WHERE id = ?",
            (iso(occurred_at), occurred_at.astimezone().date().isoformat(), item_id),
        )
        record_decision(
            db,
            item_id=item_id,
            marketo_id=marketo_id,
            email=email,
            decision="allowed",
            reason=reason,
            source=source,
            detail=detail,
            at=moment,
        )
        throttle.record_send(conn, item_id, moment)
        _refresh(conn, [item_id], now=moment)
    return STARTED


def note_held(
    db: sqlite_utils.Database,
    items: Sequence[OutboxItem],
    reason: str,
    source: str,
    *,
    delay_s: float,
    now: datetime | None = None,
    emails: Mapping[str, str] | None = None,
) -> None:
    """Marketo could not be asked: the emails wait. The ledger notes it once per item (not every retry)."""
    moment = now or now_utc()
    hold(db, "smtp", [i.id for i in items], reason, delay_s=delay_s, now=moment)
    with transaction(db):
        for item in items:
            last = db.conn.execute(
                "SELECT decision FROM compliance_ledger WHERE item_id = ? ORDER BY seq DESC LIMIT 1",
                (item.id,),
            ).fetchone()
            if last is None or last[0] != "held":
                record_decision(
                    db,
                    item_id=item.id,
                    marketo_id=item.marketo_id,
                    email=(emails or {}).get(item.id) or ", ".join(item.payload.get("to") or []),
                    decision="held",
                    reason=reason,
                    source=source,
                    at=moment,
                )
