"""The inbox's bookkeeping in the records file: the position per folder, and each message that mattered.

Both are written in the transaction that acts on a message (:mod:`sia_tui.inbox.service`), so after a crash the
position and the effects agree: a message is either fully handled and behind the position, or not at all.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

import sqlite_utils

from sia_tui.clock import parse_time

_MESSAGE_COLUMNS = (
    "key",
    "account",
    "folder",
    "uidvalidity",
    "uid",
    "message_id",
    "received_at",
    "from_addr",
    "subject",
    "kind",
    "bounce_type",
    "status_code",
    "diagnostic",
    "recipient",
    "item_id",
    "marketo_id",
    "event_id",
    "matched_by",
    "reason",
    "text",
    "unsubscribe",
    "processed_at",
)


@dataclass(frozen=True)
class Position:
    uidvalidity: int
    last_uid: int
    updated_at: str


def get_position(db: sqlite_utils.Database, account: str, folder: str) -> Position | None:
    row = db.conn.execute(
        "SELECT uidvalidity, last_uid, updated_at FROM inbox_position WHERE account = ? AND folder = ?",
        (account, folder),
    ).fetchone()
    return Position(int(row[0]), int(row[1]), str(row[2])) if row else None


def set_position(
    db: sqlite_utils.Database, account: str, folder: str, uidvalidity: int, last_uid: int, at: datetime
) -> None:
    """Move the position (inside the caller's transaction); within one UIDVALIDITY it only ever moves forward."""
    db.conn.execute(
        "INSERT INTO inbox_position (account, folder, uidvalidity, last_uid, updated_at) VALUES (?, ?, ?, ?, ?) "
        "ON CONFLICT (account, folder) DO UPDATE SET "
        "last_uid = CASE WHEN inbox_position.uidvalidity = excluded.uidvalidity "
        "THEN max(inbox_position.last_uid, excluded.last_uid) ELSE excluded.last_uid END, "
        "uidvalidity = excluded.uidvalidity, updated_at = excluded.updated_at",
        (account, folder, int(uidvalidity), int(last_uid), at.isoformat(timespec="seconds")),
    )


def seen(db: sqlite_utils.Database, key: str) -> bool:
    return db.conn.execute("SELECT 1 FROM inbox_messages WHERE key = ?", (key,)).fetchone() is not None


def record_message(db: sqlite_utils.Database, values: dict[str, Any]) -> None:
    """Insert one row (inside the caller's transaction); a key seen before is left as it was."""
    row = {column: values.get(column) for column in _MESSAGE_COLUMNS}
    marks = ", ".join("?" * len(_MESSAGE_COLUMNS))
    db.conn.execute(
        f"INSERT OR IGNORE INTO inbox_messages ({', '.join(_MESSAGE_COLUMNS)}) VALUES ({marks})",
        [row[c] for c in _MESSAGE_COLUMNS],
    )


def _as_dict(row: Any) -> dict[str, Any]:
    return dict(zip(_MESSAGE_COLUMNS, row, strict=True))


def messages(
    db: sqlite_utils.Database,
    *,
    kinds: tuple[str, ...] = (),
    marketo_id: int | None = None,
    since: datetime | None = None,
    limit: int | None = 200,
) -> list[dict[str, Any]]:
    """Handled messages, newest first."""
    where: list[str] = []
    args: list[Any] = []
    if kinds:
        where.append(f"kind IN ({','.join('?' * len(kinds))})")
        args += list(kinds)
    if marketo_id is not None:
        where.append("marketo_id = ?")
        args.append(int(marketo_id))
    if since is not None:
        where.append("received_at >= ?")
        args.append(since.isoformat(timespec="seconds"))
    sql = f"SELECT {', '.join(_MESSAGE_COLUMNS)} FROM inbox_messages"
    if where:
        sql += " WHERE " + " AND ".join(where)
    sql += " ORDER BY received_at DESC, processed_at DESC"
    if limit is not None:
        sql += f" LIMIT {int(limit)}"
    return [_as_dict(r) for r in db.conn.execute(sql, args)]


def recent_replies(
    db: sqlite_utils.Database,
    *,
    marketo_id: int | None = None,
    since: datetime | None = None,
    limit: int | None = 50,
) -> list[dict[str, Any]]:
    """Replies to the seller's emails, newest first: for the Command Center and the grid's Sales tab.

    Each: ``{"received_at", "marketo_id", "from", "subject", "text", "email_item_id", "email_subject",
    "unsubscribe", "event_id", "logged"}`` — ``text`` is the newly written part of the reply (render it literally),
    ``unsubscribe`` true when it asked to stop emails (recorded as an opt-out), ``logged`` whether its
    "Replied to Sales Email" activity has reached Marketo yet.
    """
    rows = messages(db, kinds=("reply",), marketo_id=marketo_id, since=since, limit=limit)
    out: list[dict[str, Any]] = []
    for row in rows:
        subject_row = db.conn.execute(
            "SELECT json_extract(payload, '$.subject') FROM outbox WHERE id = ?", (row["item_id"],)
        ).fetchone()
        logged = db.conn.execute(
            "SELECT state FROM outbox_destinations WHERE item_id = ? AND destination = 'marketo'",
            (row["event_id"],),
        ).fetchone()
        out.append(
            {
                "received_at": row["received_at"],
                "marketo_id": row["marketo_id"],
                "from": row["from_addr"],
                "subject": row["subject"],
                "text": row["text"] or "",
                "email_item_id": row["item_id"],
                "email_subject": subject_row[0] if subject_row else None,
                "unsubscribe": bool(row["unsubscribe"]),
                "event_id": row["event_id"],
                "logged": bool(logged and logged[0] == "done"),
            }
        )
    return out


def earliest_sent_at(db: sqlite_utils.Database) -> datetime | None:
    """When sia-tui sent its first email (nothing before it can be an answer to one)."""
    row = db.conn.execute(
        "SELECT MIN(o.occurred_at) FROM outbox o JOIN outbox_destinations d ON d.item_id = o.id "
        "AND d.destination = 'smtp' WHERE o.kind = 'email' AND d.state IN ('done', 'sending', 'unknown')"
    ).fetchone()
    return parse_time(row[0]) if row and row[0] else None
