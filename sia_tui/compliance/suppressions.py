"""Addresses sia-tui no longer emails because they hard-bounced (table ``email_suppressions``, records file).

A hard bounce (the address does not exist or cannot receive mail, see :mod:`sia_tui.inbox.classify`) blocks every
later email to that address at the send-time check, exactly like an opt-out, until an admin removes it. It is kept
apart from opt-outs on purpose: a bounce is not a request to stop, so it is never written to Salesforce's opt-out
field. Addresses compare as :func:`sia_tui.store.email_key.email_key`.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import UTC, datetime
from typing import Any

import sqlite_utils

from sia_tui.store.email_key import email_key

SOURCE_BOUNCE = "bounce"
_COLUMNS = "email_key, email, marketo_id, source, reason, status_code, item_id, created_at"


def address_key(address: str | None) -> str:
    """The form addresses are compared in: :func:`sia_tui.store.email_key.email_key` ("" for none)."""
    return email_key(address) or ""


def describe_suppression(row: dict[str, Any]) -> str:
    """Why an email to this address is blocked, in one sentence (the send-time check and the ledger use it)."""
    code = f" ({row['status_code']})" if row.get("status_code") else ""
    return f"{row['email']} hard-bounced on {str(row['created_at'])[:10]}{code}: sia-tui no longer emails this address"


def add_suppression(
    db: sqlite_utils.Database,
    *,
    email: str,
    reason: str,
    marketo_id: int | None = None,
    status_code: str = "",
    item_id: str | None = None,
    source: str = SOURCE_BOUNCE,
    at: datetime | None = None,
) -> bool:
    """Suppress ``email``; True when it is new (an address suppressed once stays as first recorded)."""
    key = address_key(email)
    if not key:
        raise ValueError("A suppression needs an email address.")
    cur = db.conn.execute(
        f"INSERT OR IGNORE INTO email_suppressions ({_COLUMNS}) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
        (
            key,
            email.strip(),
            marketo_id,
            source,
            reason,
            status_code or None,
            item_id,
            (at or datetime.now(UTC)).isoformat(timespec="seconds"),
        ),
    )
    return bool(cur.rowcount)


def _row(row: Any) -> dict[str, Any]:
    keys = ("email_key", "email", "marketo_id", "source", "reason", "status_code", "item_id", "created_at")
    return dict(zip(keys, row, strict=True))


def matching_suppressions(db: sqlite_utils.Database, emails: Iterable[str]) -> list[dict[str, Any]]:
    """Suppressions of any of ``emails``."""
    keys = sorted({k for k in (address_key(e) for e in emails) if k})
    out: list[dict[str, Any]] = []
    for start in range(0, len(keys), 500):
        chunk = keys[start : start + 500]
        marks = ",".join("?" * len(chunk))
        out += [
            _row(r)
            for r in db.conn.execute(
                f"SELECT {_COLUMNS} FROM email_suppressions WHERE email_key IN ({marks})", chunk
            )
        ]
    return out


def list_suppressions(db: sqlite_utils.Database) -> list[dict[str, Any]]:
    return [
        _row(r) for r in db.conn.execute(f"SELECT {_COLUMNS} FROM email_suppressions ORDER BY created_at")
    ]
