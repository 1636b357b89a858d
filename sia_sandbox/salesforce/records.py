"""Salesforce records in SQLite: one generic table for every sObject, its recycle bin and external-id index.

Records live in ``sf_records`` (id, sObject type, JSON field values in wire form, system timestamps, soft-delete
flag) so every sObject behaves the same way: SystemModstamp moves on every write, deletes go to a recycle bin
that ``queryAll`` and ``/deleted/`` still see, and external-id fields are indexed in a side table for upserts.
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

from sia_sandbox.ids import canonical_id
from sia_sandbox.salesforce.schema import SCHEMA, SYSTEM_COLUMNS, SfField, SfObject

SCHEMA_SQL = """
CREATE TABLE IF NOT EXISTS sf_records (
    id TEXT PRIMARY KEY,
    sobject TEXT NOT NULL,
    data TEXT NOT NULL,
    email TEXT,
    created_date TEXT NOT NULL,
    last_modified_date TEXT NOT NULL,
    system_modstamp TEXT NOT NULL,
    is_deleted INTEGER NOT NULL DEFAULT 0,
    deleted_date TEXT
);
CREATE INDEX IF NOT EXISTS sf_records_modstamp ON sf_records (sobject, system_modstamp);
CREATE INDEX IF NOT EXISTS sf_records_email ON sf_records (sobject, email);
CREATE INDEX IF NOT EXISTS sf_records_deleted ON sf_records (sobject, deleted_date) WHERE is_deleted = 1;
CREATE TABLE IF NOT EXISTS sf_external_ids (
    sobject TEXT NOT NULL,
    field TEXT NOT NULL,
    value TEXT NOT NULL,
    id TEXT NOT NULL,
    PRIMARY KEY (sobject, field, value, id)
) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS sf_external_ids_by_id ON sf_external_ids (id);
CREATE TABLE IF NOT EXISTS sf_sessions (
    token TEXT PRIMARY KEY,
    user_id TEXT NOT NULL,
    issued_at REAL NOT NULL,
    expires_at REAL NOT NULL
);
CREATE TABLE IF NOT EXISTS sf_counters (prefix TEXT PRIMARY KEY, n INTEGER NOT NULL);
"""


SECONDARY_INDEXES = ("sf_records_modstamp", "sf_records_email", "sf_records_deleted")


def init_schema(db: sqlite3.Connection) -> None:
    """Create the Salesforce tables (idempotent: a persisted sandbox keeps its records)."""
    for statement in SCHEMA_SQL.split(";"):
        if statement.strip():
            db.execute(statement)


@contextmanager
def savepoint(db: sqlite3.Connection, name: str = "sf") -> Iterator[None]:
    """A transaction that nests: commits when outermost, rolls back to its start on error."""
    db.execute(f"SAVEPOINT {name}")
    try:
        yield
    except BaseException:
        db.execute(f"ROLLBACK TO {name}")
        db.execute(f"RELEASE {name}")
        raise
    db.execute(f"RELEASE {name}")


def _dumps(data: Mapping[str, Any]) -> str:
    return json.dumps(data, ensure_ascii=False, separators=(",", ":"))


def _email_key(data: Mapping[str, Any]) -> str | None:
    email = data.get("Email")
    return email.casefold() if isinstance(email, str) and email else None


RECORD_COLUMNS = (
    "id, sobject, data, created_date, last_modified_date, system_modstamp, is_deleted, deleted_date"
)


def row_to_record(row: Sequence[Any]) -> dict[str, Any]:
    """A full record (field name → wire value) from a ``RECORD_COLUMNS`` row."""
    record: dict[str, Any] = json.loads(row[2])
    record["Id"] = row[0]
    record["CreatedDate"] = row[3]
    record["LastModifiedDate"] = row[4]
    record["SystemModstamp"] = row[5]
    record["IsDeleted"] = bool(row[6])
    return record


@dataclass
class Stored:
    sobject: SfObject
    record: dict[str, Any]
    deleted_date: str | None

    @property
    def id(self) -> str:
        return str(self.record["Id"])

    @property
    def is_deleted(self) -> bool:
        return bool(self.record["IsDeleted"])


def get_record(db: sqlite3.Connection, raw_id: str) -> Stored | None:
    """The record with this 15- or 18-char id (deleted ones too), or None."""
    record_id = canonical_id(raw_id)
    if record_id is None:
        return None
    row = db.execute(f"SELECT {RECORD_COLUMNS} FROM sf_records WHERE id = ?", (record_id,)).fetchone()
    if row is None:
        return None
    obj = SCHEMA[row[1].lower()]
    return Stored(obj, row_to_record(row), row[7])


def get_records(db: sqlite3.Connection, ids: Sequence[str]) -> dict[str, Stored]:
    """Records by canonical id, fetched in chunks."""
    out: dict[str, Stored] = {}
    for start in range(0, len(ids), 500):
        chunk = list(ids[start : start + 500])
        marks = ",".join("?" * len(chunk))
        for row in db.execute(f"SELECT {RECORD_COLUMNS} FROM sf_records WHERE id IN ({marks})", chunk):
            out[row[0]] = Stored(SCHEMA[row[1].lower()], row_to_record(row), row[7])
    return out


def scan(
    db: sqlite3.Connection,
    obj: SfObject,
    *,
    include_deleted: bool,
    where: str = "",
    params: Sequence[Any] = (),
) -> Iterator[dict[str, Any]]:
    """Every record of ``obj`` in insertion order, narrowed by an optional SQL condition on the columns."""
    sql = f"SELECT {RECORD_COLUMNS} FROM sf_records WHERE sobject = ?"
    if not include_deleted:
        sql += " AND is_deleted = 0"
    if where:
        sql += f" AND ({where})"
    sql += " ORDER BY rowid"
    for row in db.execute(sql, (obj.name, *params)):
        yield row_to_record(row)


def _data_only(record: Mapping[str, Any]) -> dict[str, Any]:
    """The JSON part of a record: no system columns, no nulls (an absent field reads as null)."""
    return {k: v for k, v in record.items() if v is not None and k not in SYSTEM_COLUMNS}


def _sync_external_ids(
    db: sqlite3.Connection, obj: SfObject, record_id: str, data: Mapping[str, Any]
) -> None:
    db.execute("DELETE FROM sf_external_ids WHERE id = ?", (record_id,))
    for f in obj.external_id_fields:
        value = data.get(f.name)
        if value not in (None, ""):
            db.execute(
                "INSERT OR IGNORE INTO sf_external_ids (sobject, field, value, id) VALUES (?, ?, ?, ?)",
                (obj.name, f.name, str(value).lower(), record_id),
            )


def insert_record(
    db: sqlite3.Connection, obj: SfObject, record_id: str, data: Mapping[str, Any], now: str
) -> None:
    db.execute(
        "INSERT INTO sf_records (id, sobject, data, email, created_date, last_modified_date, system_modstamp) "
        "VALUES (?, ?, ?, ?, ?, ?, ?)",
        (record_id, obj.name, _dumps(_data_only(data)), _email_key(data), now, now, now),
    )
    _sync_external_ids(db, obj, record_id, data)


def update_record(
    db: sqlite3.Connection, obj: SfObject, record_id: str, data: Mapping[str, Any], now: str
) -> None:
    db.execute(
        "UPDATE sf_records SET data = ?, email = ?, last_modified_date = ?, system_modstamp = ? WHERE id = ?",
        (_dumps(_data_only(data)), _email_key(data), now, now, record_id),
    )
    _sync_external_ids(db, obj, record_id, data)


def overwrite_record(db: sqlite3.Connection, stored: Stored) -> None:
    """Write a record back exactly as given, its system stamps included: a change made behind the API's back (an
    admin, a trigger, a save that committed late), which moves no stamp by itself."""
    record = stored.record
    db.execute(
        "UPDATE sf_records SET data = ?, email = ?, created_date = ?, last_modified_date = ?, system_modstamp = ? "
        "WHERE id = ?",
        (
            _dumps(_data_only(record)), _email_key(record), record["CreatedDate"], record["LastModifiedDate"],
            record["SystemModstamp"], stored.id,
        ),
    )  # fmt: skip
    if not stored.is_deleted:
        _sync_external_ids(db, stored.sobject, stored.id, record)


def soft_delete(db: sqlite3.Connection, record_id: str, now: str) -> None:
    """To the recycle bin: still visible to queryAll and ``/deleted/``; the external id is freed."""
    db.execute(
        "UPDATE sf_records SET is_deleted = 1, deleted_date = ?, system_modstamp = ? WHERE id = ?",
        (now, now, record_id),
    )
    db.execute("DELETE FROM sf_external_ids WHERE id = ?", (record_id,))


def external_id_matches(db: sqlite3.Connection, obj: SfObject, f: SfField, value: str) -> list[str]:
    """Ids of live records whose external-id field equals ``value`` (case-insensitive, as Salesforce matches)."""
    rows = db.execute(
        "SELECT id FROM sf_external_ids WHERE sobject = ? AND field = ? AND value = ? ORDER BY id",
        (obj.name, f.name, value.lower()),
    ).fetchall()
    return [r[0] for r in rows]


def updated_ids(
    db: sqlite3.Connection, obj: SfObject, start: str, end: str, *, end_inclusive: bool
) -> list[str]:
    op = "<=" if end_inclusive else "<"
    rows = db.execute(
        f"SELECT id FROM sf_records WHERE sobject = ? AND is_deleted = 0 AND system_modstamp >= ? "
        f"AND system_modstamp {op} ? ORDER BY system_modstamp, id",
        (obj.name, start, end),
    )
    return [r[0] for r in rows]


def deleted_ids(
    db: sqlite3.Connection, obj: SfObject, start: str, end: str, *, end_inclusive: bool
) -> list[tuple[str, str]]:
    op = "<=" if end_inclusive else "<"
    rows = db.execute(
        f"SELECT id, deleted_date FROM sf_records WHERE sobject = ? AND is_deleted = 1 AND deleted_date >= ? "
        f"AND deleted_date {op} ? ORDER BY deleted_date, id",
        (obj.name, start, end),
    )
    return [(r[0], r[1]) for r in rows]
