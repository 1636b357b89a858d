"""The people cache: MSIA's 13 read-only fields plus owner and unsubscribe flags, with instant search.

People are written only by the sync; sia-tui never edits them. Search uses two FTS5 indexes kept in step with
the table here (not by triggers, because the short-query index needs Python to cut CJK text into bigrams).
"""

from __future__ import annotations

import re
import sqlite3
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Literal

import sqlite_utils

from sia_tui.store.db import transaction

#: The 13 fields MSIA syncs, in its order, as our column names.
MSIA_FIELDS: tuple[str, ...] = (
    "first_name",
    "last_name",
    "sfdc_contact_id",
    "sfdc_lead_id",
    "sfdc_account_id",
    "sfdc_opportunity_id",
    "marketo_id",
    "company",
    "title",
    "email",
    "phone",
    "linkedin_url",
    "source",
)

#: Keys of a person in ``--json`` output (the public contract).
JSON_KEYS: tuple[str, ...] = (
    "marketo_id",
    "first_name",
    "last_name",
    "email",
    "phone",
    "company",
    "title",
    "linkedin_url",
    "source",
    "sfdc_lead_id",
    "sfdc_contact_id",
    "sfdc_account_id",
    "sfdc_opportunity_id",
    "unsubscribed",
)

COLUMNS: tuple[str, ...] = (
    "marketo_id",
    "first_name",
    "last_name",
    "email",
    "phone",
    "company",
    "title",
    "linkedin_url",
    "source",
    "sfdc_lead_id",
    "sfdc_contact_id",
    "sfdc_account_id",
    "sfdc_opportunity_id",
    "sfdc_type",
    "owner_id",
    "owner_email",
    "unsubscribed",
    "marketing_suspended",
    "email_invalid",
    "black_listed",
    "lead_score",
    "priority",
    "urgency",
    "relative_score",
    "marketo_created_at",
    "marketo_updated_at",
    "synced_at",
)
FLAG_COLUMNS = ("unsubscribed", "marketing_suspended", "email_invalid", "black_listed")

SortKey = Literal["relevance", "name", "company", "updated", "score"]

_CJK = re.compile(r"[\u3040-\u30ff\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff\uac00-\ud7af\uff66-\uff9f]+")
_WORD = re.compile(r"\w+", re.UNICODE)


def display_name(person: dict[str, Any]) -> str:
    first = (person.get("first_name") or "").strip()
    last = (person.get("last_name") or "").strip()
    if _CJK.search(first + last):
        return f"{last} {first}".strip()
    return f"{first} {last}".strip()


def _grams(*texts: str | None) -> str:
    """Words (for prefix search) plus CJK unigrams and bigrams (for 1-2 character substring search)."""
    tokens: list[str] = []
    for text in texts:
        if not text:
            continue
        low = text.lower()
        tokens.extend(_WORD.findall(_CJK.sub(" ", low)))
        tokens.extend(low.replace("@", " ").replace(".", " ").split())
        for run in _CJK.findall(low):
            tokens.extend(run)
            tokens.extend(run[i : i + 2] for i in range(len(run) - 1))
    return " ".join(dict.fromkeys(t for t in tokens if t))


def _name_text(person: dict[str, Any]) -> str:
    first = person.get("first_name") or ""
    last = person.get("last_name") or ""
    return f"{first} {last} {last}{first}"


def _normalise(row: dict[str, Any], now: str) -> dict[str, Any]:
    out = {col: row.get(col) for col in COLUMNS}
    for flag in FLAG_COLUMNS:
        out[flag] = 1 if out[flag] else 0
    out["synced_at"] = row.get("synced_at") or now
    return out


def upsert_people(db: sqlite_utils.Database, rows: Iterable[dict[str, Any]]) -> tuple[int, int]:
    """Insert or replace people (by Marketo id) and their search entries; returns (created, updated)."""
    now = datetime.now(UTC).isoformat(timespec="seconds")
    batch = [_normalise(r, now) for r in rows]
    if not batch:
        return 0, 0
    conn = db.conn
    ids = [r["marketo_id"] for r in batch]
    with transaction(db):
        existing = _existing_ids(conn, ids)
        placeholders = ", ".join("?" for _ in COLUMNS)
        conn.executemany(
            f"INSERT OR REPLACE INTO people ({', '.join(COLUMNS)}) VALUES ({placeholders})",
            [tuple(r[c] for c in COLUMNS) for r in batch],
        )
        _reindex(conn, batch, existing)
    created = len({i for i in ids if i not in existing})
    return created, len(set(ids)) - created


def _existing_ids(conn: sqlite3.Connection, ids: Sequence[int]) -> set[int]:
    found: set[int] = set()
    for start in range(0, len(ids), 900):
        chunk = ids[start : start + 900]
        q = f"SELECT marketo_id FROM people WHERE marketo_id IN ({', '.join('?' for _ in chunk)})"
        found.update(r[0] for r in conn.execute(q, chunk))
    return found


def _reindex(conn: sqlite3.Connection, batch: list[dict[str, Any]], existing: set[int]) -> None:
    stale = [(i,) for i in existing]
    if stale:
        conn.executemany("DELETE FROM people_fts WHERE rowid = ?", stale)
        conn.executemany("DELETE FROM people_grams WHERE rowid = ?", stale)
    conn.executemany(
        "INSERT INTO people_fts (rowid, name, email, company, title) VALUES (?, ?, ?, ?, ?)",
        [(r["marketo_id"], _name_text(r), r["email"], r["company"], r["title"]) for r in batch],
    )
    conn.executemany(
        "INSERT INTO people_grams (rowid, grams) VALUES (?, ?)",
        [
            (r["marketo_id"], _grams(r["first_name"], r["last_name"], r["email"], r["company"], r["title"]))
            for r in batch
        ],
    )


def delete_people(db: sqlite_utils.Database, ids: Iterable[int]) -> int:
    id_list = [(int(i),) for i in ids]
    if not id_list:
        return 0
    conn = db.conn
    with transaction(db):
        before = conn.total_changes
        conn.executemany("DELETE FROM people WHERE marketo_id = ?", id_list)
        deleted = conn.total_changes - before
        conn.executemany("DELETE FROM people_fts WHERE rowid = ?", id_list)
        conn.executemany("DELETE FROM people_grams WHERE rowid = ?", id_list)
    return deleted


def get_person(db: sqlite_utils.Database, marketo_id: int) -> dict[str, Any] | None:
    cur = db.conn.execute(f"SELECT {', '.join(COLUMNS)} FROM people WHERE marketo_id = ?", (marketo_id,))
    row = cur.fetchone()
    return dict(zip(COLUMNS, row, strict=True)) if row else None


def to_json(person: dict[str, Any]) -> dict[str, Any]:
    out = {k: person.get(k) for k in JSON_KEYS}
    out["unsubscribed"] = bool(out["unsubscribed"])
    return out


@dataclass(frozen=True)
class PeopleFilter:
    owner_id: str | None = None  # "my people"
    has_salesforce_id: bool | None = None
    unsubscribed: bool | None = None

    def sql(self, alias: str = "p") -> tuple[str, list[Any]]:
        clauses: list[str] = []
        params: list[Any] = []
        if self.owner_id:
            clauses.append(f"{alias}.owner_id = ?")
            params.append(self.owner_id)
        if self.has_salesforce_id is not None:
            has = f"({alias}.sfdc_lead_id IS NOT NULL OR {alias}.sfdc_contact_id IS NOT NULL)"
            clauses.append(has if self.has_salesforce_id else f"NOT {has}")
        if self.unsubscribed is not None:
            clauses.append(f"{alias}.unsubscribed = ?")
            params.append(1 if self.unsubscribed else 0)
        return (" AND ".join(clauses) or "1"), params


_ORDER = {
    "name": "p.last_name COLLATE NOCASE, p.first_name COLLATE NOCASE, p.marketo_id",
    "company": "p.company COLLATE NOCASE, p.last_name COLLATE NOCASE, p.marketo_id",
    "updated": "p.marketo_updated_at DESC, p.marketo_id",
    "score": "p.lead_score DESC, p.marketo_id",
}


def _fts_phrase(text: str) -> str:
    return '"' + text.replace('"', '""') + '"'


def _match_expression(query: str) -> tuple[str, str] | None:
    """Pick the index and build a safe FTS5 expression (user text is always quoted, never parsed as syntax)."""
    terms = [t for t in query.lower().split() if t]
    if not terms:
        return None
    if all(len(t) >= 3 for t in terms):
        return "people_fts", " AND ".join(_fts_phrase(t) for t in terms)
    # A term under 3 characters cannot use trigrams: match every term as a word or CJK-gram prefix instead.
    return "people_grams", " AND ".join(_fts_phrase(t) + "*" for t in terms)


def search_people(
    db: sqlite_utils.Database,
    query: str = "",
    *,
    limit: int = 50,
    offset: int = 0,
    filters: PeopleFilter | None = None,
    sort: SortKey = "relevance",
) -> list[dict[str, Any]]:
    """People matching ``query`` (prefix while typing; substring in any script for 3+ characters), ranked."""
    filters = filters or PeopleFilter()
    where, params = filters.sql()
    cols = ", ".join(f"p.{c}" for c in COLUMNS)
    match = _match_expression(query.strip())
    if match is None:
        order = _ORDER.get(sort, _ORDER["name"])
        sql = f"SELECT {cols} FROM people p WHERE {where} ORDER BY {order} LIMIT ? OFFSET ?"
        rows = db.conn.execute(sql, [*params, limit, offset]).fetchall()
    else:
        table, expr = match
        order = "f.rank, p.last_name COLLATE NOCASE, p.marketo_id" if sort == "relevance" else _ORDER[sort]
        sql = (
            f"SELECT {cols} FROM {table} f JOIN people p ON p.marketo_id = f.rowid "
            f"WHERE {table} MATCH ? AND {where} ORDER BY {order} LIMIT ? OFFSET ?"
        )
        rows = db.conn.execute(sql, [expr, *params, limit, offset]).fetchall()
    return [dict(zip(COLUMNS, r, strict=True)) for r in rows]


def count_people(db: sqlite_utils.Database, filters: PeopleFilter | None = None) -> int:
    where, params = (filters or PeopleFilter()).sql()
    return int(db.conn.execute(f"SELECT count(*) FROM people p WHERE {where}", params).fetchone()[0])


def iter_all_people(db: sqlite_utils.Database) -> Iterator[dict[str, Any]]:
    cur = db.conn.execute(f"SELECT {', '.join(COLUMNS)} FROM people ORDER BY marketo_id")
    for row in cur:
        yield dict(zip(COLUMNS, row, strict=True))
