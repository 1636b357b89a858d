"""Opt-outs collected in sia-tui: a seller records that a person asked not to be emailed.

They block sends exactly like Marketo's flags (product.md §5: the local suppression list is the union of every
source). Pushing them to Salesforce's opt-out field is the Salesforce side's job (``pushed_to_salesforce_at``).
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import UTC, datetime
from typing import Any

import sqlite_utils


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds")


def add_optout(
    db: sqlite_utils.Database, *, marketo_id: int | None, email: str | None, reason: str = ""
) -> dict[str, Any]:
    """Record an opt-out (by person, by address, or both). Recording the same one twice keeps one row."""
    if marketo_id is None and not (email or "").strip():
        raise ValueError("An opt-out needs a person or an email address.")
    address = (email or "").strip() or None
    existing = db.conn.execute(
        "SELECT rowid FROM optouts WHERE marketo_id IS ? AND COALESCE(lower(email), '') = COALESCE(lower(?), '')",
        (marketo_id, address),
    ).fetchone()
    if existing is None:
        db.conn.execute(
            "INSERT INTO optouts (marketo_id, email, reason, created_at) VALUES (?, ?, ?, ?)",
            (marketo_id, address, reason.strip() or None, _now()),
        )
    row = db.conn.execute(
        "SELECT rowid, marketo_id, email, reason, created_at, pushed_to_salesforce_at FROM optouts "
        "WHERE marketo_id IS ? AND COALESCE(lower(email), '') = COALESCE(lower(?), '')",
        (marketo_id, address),
    ).fetchone()
    return _row(row)


def _row(row: Any) -> dict[str, Any]:
    return {
        "id": row[0],
        "marketo_id": row[1],
        "email": row[2],
        "reason": row[3],
        "created_at": row[4],
        "pushed_to_salesforce_at": row[5],
    }


def list_optouts(db: sqlite_utils.Database) -> list[dict[str, Any]]:
    return [
        _row(r)
        for r in db.conn.execute(
            "SELECT rowid, marketo_id, email, reason, created_at, pushed_to_salesforce_at FROM optouts "
            "ORDER BY rowid"
        )
    ]


def matching_optouts(
    db: sqlite_utils.Database, marketo_ids: Iterable[int], emails: Iterable[str]
) -> list[dict[str, Any]]:
    """Opt-outs that name one of ``marketo_ids`` or one of ``emails`` (case-insensitive)."""
    ids = sorted({int(i) for i in marketo_ids})
    addresses = sorted({e.strip().lower() for e in emails if e and e.strip()})
    out: list[dict[str, Any]] = []
    seen: set[int] = set()
    for column, values in (("marketo_id", ids), ("lower(email)", addresses)):
        for start in range(0, len(values), 500):
            chunk = values[start : start + 500]
            marks = ",".join("?" * len(chunk))
            for r in db.conn.execute(
                "SELECT rowid, marketo_id, email, reason, created_at, pushed_to_salesforce_at FROM optouts "
                f"WHERE {column} IN ({marks})",
                chunk,
            ):
                if r[0] not in seen:
                    seen.add(r[0])
                    out.append(_row(r))
    return out
