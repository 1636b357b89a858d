"""The compliance ledger: an append-only record of every send decision, its reason and where the status came from.

SQLite triggers refuse UPDATE and DELETE on the table, so an entry, once written, stays as it was written: the
ledger can show a regulator (or a seller) why each email was, or was not, sent.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any, Literal

import sqlite_utils

Decision = Literal["allowed", "blocked", "held", "recorded", "opted_out", "suppressed"]
#: ``opted_out``: a person asked not to be emailed (an unsubscribe request in a reply); ``suppressed``: an address
#: hard-bounced. Both name what blocks every later email to them, and when it started.
DECISIONS: tuple[str, ...] = ("allowed", "blocked", "held", "recorded", "opted_out", "suppressed")


def record_decision(
    db: sqlite_utils.Database,
    *,
    item_id: str | None,
    marketo_id: int | None,
    email: str | None,
    decision: Decision,
    reason: str,
    source: str,
    detail: dict[str, Any] | None = None,
    at: datetime | None = None,
) -> int:
    """Append one decision; returns its sequence number. Call inside the transaction that acts on it."""
    if decision not in DECISIONS:
        raise ValueError(f"unknown ledger decision {decision!r}")
    cursor = db.conn.execute(
        "INSERT INTO compliance_ledger (at, item_id, marketo_id, email, decision, reason, source, detail) "
        "VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
        (
            (at or datetime.now(UTC)).isoformat(timespec="milliseconds"),
            item_id,
            marketo_id,
            email,
            decision,
            reason,
            source,
            json.dumps(detail, ensure_ascii=False, sort_keys=True) if detail else None,
        ),
    )
    return int(cursor.lastrowid or 0)


def ledger_entries(
    db: sqlite_utils.Database,
    *,
    item_id: str | None = None,
    decision: str | None = None,
    limit: int | None = 200,
) -> list[dict[str, Any]]:
    """Newest first; filtered by item (id or a unique prefix) and/or decision."""
    where: list[str] = []
    args: list[Any] = []
    if item_id:
        where.append("item_id LIKE ?")
        args.append(item_id.replace("%", "").replace("_", "") + "%")
    if decision:
        where.append("decision = ?")
        args.append(decision)
    sql = (
        "SELECT seq, at, item_id, marketo_id, email, decision, reason, source, detail FROM compliance_ledger"
    )
    if where:
        sql += " WHERE " + " AND ".join(where)
    sql += " ORDER BY seq DESC"
    if limit is not None:
        sql += f" LIMIT {int(limit)}"
    out = []
    for row in db.conn.execute(sql, args):
        out.append(
            {
                "seq": row[0],
                "at": row[1],
                "item_id": row[2],
                "marketo_id": row[3],
                "email": row[4],
                "decision": row[5],
                "reason": row[6],
                "source": row[7],
                "detail": json.loads(row[8]) if row[8] else None,
            }
        )
    return out
