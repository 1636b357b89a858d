"""Opt-outs collected in sia-tui: a seller records that a person asked not to be emailed.

They block sends exactly like Marketo's flags (product.md §5: the local suppression list is the union of every
source). Pushing them to Salesforce's opt-out field is the Salesforce side's job (``pushed_to_salesforce_at``).
Addresses are matched on :func:`sia_tui.store.email_key.email_key` (stored in ``email_key``), never on SQLite's
ASCII-only ``lower()``.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import UTC, datetime
from typing import Any

import sqlite_utils

from sia_tui.store.email_key import email_key


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds")


def add_optout(
    db: sqlite_utils.Database, *, marketo_id: int | None, email: str | None, reason: str = ""
) -> dict[str, Any]:
    """Record an opt-out (by person, by address, or both). Recording the same one twice keeps one row."""
    if marketo_id is None and not (email or "").strip():
        raise ValueError("An opt-out needs a person or an email address.")
    address = (email or "").strip() or None
    key = email_key(address)
    existing = db.conn.execute(
        "SELECT rowid FROM optouts WHERE marketo_id IS ? AND email_key IS ?", (marketo_id, key)
    ).fetchone()
    if existing is None:
        db.conn.execute(
            "INSERT INTO optouts (marketo_id, email, email_key, reason, created_at) VALUES (?, ?, ?, ?, ?)",
            (marketo_id, address, key, reason.strip() or None, _now()),
        )
    row = db.conn.execute(
        "SELECT rowid, marketo_id, email, reason, created_at, pushed_to_salesforce_at FROM optouts "
        "WHERE marketo_id IS ? AND email_key IS ?",
        (marketo_id, key),
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
    """Opt-outs that name one of ``marketo_ids`` or one of ``emails`` (compared as :func:`email_key`)."""
    ids = sorted({int(i) for i in marketo_ids})
    addresses = sorted({k for k in (email_key(e) for e in emails) if k})
    out: list[dict[str, Any]] = []
    seen: set[int] = set()
    for column, values in (("marketo_id", ids), ("email_key", addresses)):
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


def describe_optout(optout: dict[str, Any]) -> str:
    """The ledger's sentence for an email stopped by this opt-out."""
    when = str(optout["created_at"])[:10]
    why = f": {optout['reason']}" if optout.get("reason") else ""
    return f"{optout['email'] or 'this person'} opted out in sia-tui on {when}{why}"
