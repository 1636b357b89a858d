"""The people cache: MSIA's 13 read-only fields plus owner and unsubscribe flags, with instant search.

People are written only by the sync (through :func:`upsert_people` and :func:`delete_people`); sia-tui never edits
them. Two contentless FTS5 indexes are kept in step here, in the same transaction as the rows (not by triggers:
the word index needs Python to fold text and cut CJK into pieces, see :mod:`sia_tui.store.people_text`):

- ``people_words``: words per field (columns name, email, company, title), CJK pieces and the owner key
  (``ascii`` tokenizer over pre-cut words, prefix indexes for 1-3 character prefixes, ``detail=column`` for
  column filters): prefix search while typing, ranked by field.
- ``people_substr``: trigrams of the folded fields (``detail=full``, so a quoted query is an exact substring
  match): substrings of 3+ characters in any script.
- ``people_vocab``: the distinct words too long for the prefix indexes, so a longer prefix becomes an OR of a few
  exact words (FTS5 would otherwise merge every matching doclist before returning the first row). A word whose
  people are gone stays listed: it matches nobody and costs a few bytes.

Both are contentless (they store no copy of the text): removing a person's entries needs the text that was
indexed, which is recomputed from the row still in ``people``. So write people only through this module, and
a change to :mod:`~sia_tui.store.people_text` ships with a migration that calls :func:`rebuild_search_index`.
Counts per (owner, has Salesforce id, unsubscribed) are kept by triggers in ``people_counts``.

Searching and paging live in :mod:`sia_tui.store.people_search`.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any, Literal

import sqlite_utils

from sia_tui.store.email_key import email_key
from sia_tui.store.people_text import PREFIX_INDEX_MAX, SEARCH_FIELDS, has_cjk, owner_key, person_text
from sia_tui.store.txn import transaction

if TYPE_CHECKING:
    pass

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

#: What a write stores: the columns plus ``email_key``, the folded address the send-time check matches on.
_WRITTEN = (*COLUMNS, "email_key")
_UPSERT = (
    f"INSERT INTO people ({', '.join(_WRITTEN)}) VALUES ({', '.join('?' for _ in _WRITTEN)}) "
    "ON CONFLICT(marketo_id) DO UPDATE SET "
    + ", ".join(f"{c} = excluded.{c}" for c in _WRITTEN if c != "marketo_id")
)
_CHUNK = 900  # ids per IN (...) query, under SQLite's variable limit on every build
#: What the search indexes are built from: a change to any other column never touches them.
INDEXED_FIELDS = (*SEARCH_FIELDS, "owner_id")


def display_name(person: dict[str, Any]) -> str:
    first = (person.get("first_name") or "").strip()
    last = (person.get("last_name") or "").strip()
    if has_cjk(first + last):
        return f"{last} {first}".strip()
    return f"{first} {last}".strip()


def _normalise(row: dict[str, Any], now: str) -> dict[str, Any]:
    out = {col: row.get(col) for col in COLUMNS}
    out["marketo_id"] = int(row["marketo_id"])
    for flag in FLAG_COLUMNS:
        out[flag] = 1 if out[flag] else 0
    out["synced_at"] = row.get("synced_at") or now
    return out


def _search_key(person: dict[str, Any]) -> tuple[Any, ...]:
    return tuple(person.get(f) for f in INDEXED_FIELDS)


def upsert_people(db: sqlite_utils.Database, rows: Iterable[dict[str, Any]]) -> tuple[int, int]:
    """Insert or update people (by Marketo id) and their search entries; returns (created, updated).

    The last row wins when an id repeats. Search entries are rewritten only for people whose name, email,
    company or title changed, so an incremental sync of score or flag changes costs one row write each.
    """
    now = datetime.now(UTC).isoformat(timespec="seconds")
    batch: dict[int, dict[str, Any]] = {}
    for row in rows:
        person = _normalise(row, now)
        batch[person["marketo_id"]] = person
    if not batch:
        return 0, 0
    conn = db.conn
    with transaction(db):
        before = _search_rows(conn, list(batch))
        conn.executemany(_UPSERT, [(*(p[c] for c in COLUMNS), email_key(p["email"])) for p in batch.values()])
        changed = [i for i, p in batch.items() if i not in before or _search_key(before[i]) != _search_key(p)]
        _unindex(conn, [before[i] for i in changed if i in before])
        _index(conn, [batch[i] for i in changed])
    created = sum(1 for i in batch if i not in before)
    return created, len(batch) - created


def _search_rows(conn: sqlite3.Connection, ids: Sequence[int]) -> dict[int, dict[str, Any]]:
    """The indexed fields of those of ``ids`` that exist, as stored now."""
    cols = ("marketo_id", *INDEXED_FIELDS)
    found: dict[int, dict[str, Any]] = {}
    for start in range(0, len(ids), _CHUNK):
        chunk = ids[start : start + _CHUNK]
        q = f"SELECT {', '.join(cols)} FROM people WHERE marketo_id IN ({', '.join('?' for _ in chunk)})"
        for row in conn.execute(q, chunk):
            found[row[0]] = dict(zip(cols, row, strict=True))
    return found


_WORDS_COLUMNS = "name, email, company, title, pieces, owner"


def _entries(people: Sequence[dict[str, Any]]) -> list[tuple[tuple[Any, ...], tuple[Any, ...], set[str]]]:
    """Per person: the word index row, the trigram index row and the long words: exactly what the indexes hold."""
    out = []
    for p in people:
        text = person_text(p)
        owner = owner_key(p.get("owner_id")) or ""
        long_words = {w for column in text.words[:4] for w in column if len(w) > PREFIX_INDEX_MAX}
        out.append(
            ((p["marketo_id"], *text.columns, owner), (p["marketo_id"], text.document, owner), long_words)
        )
    return out


def _index(conn: sqlite3.Connection, people: Sequence[dict[str, Any]]) -> None:
    entries = _entries(people)
    conn.executemany(
        f"INSERT INTO people_words (rowid, {_WORDS_COLUMNS}) VALUES (?, ?, ?, ?, ?, ?, ?)",
        [e[0] for e in entries],
    )
    conn.executemany(
        "INSERT INTO people_substr (rowid, document, owner) VALUES (?, ?, ?)", [e[1] for e in entries]
    )
    vocab = set().union(*(e[2] for e in entries)) if entries else set()
    conn.executemany("INSERT OR IGNORE INTO people_vocab (term) VALUES (?)", [(v,) for v in vocab])


def _unindex(conn: sqlite3.Connection, people: Sequence[dict[str, Any]]) -> None:
    """Remove index entries: a contentless FTS5 table forgets a row only when told exactly what it indexed."""
    entries = _entries(people)
    conn.executemany(
        f"INSERT INTO people_words (people_words, rowid, {_WORDS_COLUMNS}) VALUES ('delete', ?, ?, ?, ?, ?, ?, ?)",
        [e[0] for e in entries],
    )
    conn.executemany(
        "INSERT INTO people_substr (people_substr, rowid, document, owner) VALUES ('delete', ?, ?, ?)",
        [e[1] for e in entries],
    )


def delete_people(db: sqlite_utils.Database, ids: Iterable[int]) -> int:
    """Remove people and their search entries; returns how many existed."""
    id_list = list(dict.fromkeys(int(i) for i in ids))
    if not id_list:
        return 0
    conn = db.conn
    with transaction(db):
        before = _search_rows(conn, id_list)
        conn.executemany("DELETE FROM people WHERE marketo_id = ?", [(i,) for i in before])
        _unindex(conn, list(before.values()))
    return len(before)


def rebuild_search_index(conn: sqlite3.Connection, *, batch: int = 20_000) -> None:
    """Re-create both search indexes from the people table (inside the caller's transaction)."""
    conn.execute("INSERT INTO people_words (people_words) VALUES ('delete-all')")
    conn.execute("INSERT INTO people_substr (people_substr) VALUES ('delete-all')")
    conn.execute("DELETE FROM people_vocab")
    cols = ("marketo_id", *INDEXED_FIELDS)
    last = None
    while True:
        q = f"SELECT {', '.join(cols)} FROM people"
        rows = conn.execute(
            q + (" WHERE marketo_id > ?" if last is not None else "") + " ORDER BY marketo_id LIMIT ?",
            (last, batch) if last is not None else (batch,),
        ).fetchall()
        if not rows:
            break
        _index(conn, [dict(zip(cols, r, strict=True)) for r in rows])
        last = rows[-1][0]
    conn.execute("INSERT INTO people_words (people_words) VALUES ('optimize')")
    conn.execute("INSERT INTO people_substr (people_substr) VALUES ('optimize')")


STALE_INDEX_KEY = "people.search_index_stale"


def rebuild_stale_search_index(conn: sqlite3.Connection) -> bool:
    """Fill the search index when a migration flagged it (m006 on a cache that already held people)."""
    if conn.execute("SELECT 1 FROM sync_state WHERE key = ?", (STALE_INDEX_KEY,)).fetchone() is None:
        return False
    conn.execute("BEGIN IMMEDIATE")
    try:
        rebuild_search_index(conn)
        conn.execute("DELETE FROM sync_state WHERE key = ?", (STALE_INDEX_KEY,))
        conn.execute("COMMIT")
    except BaseException:
        conn.execute("ROLLBACK")
        raise
    return True


def recount_people(conn: sqlite3.Connection) -> None:
    """Re-create ``people_counts`` from the table (the triggers keep it right afterwards)."""
    conn.execute("DELETE FROM people_counts")
    conn.execute(
        "INSERT INTO people_counts (owner_key, has_sf, unsubscribed, n) "
        "SELECT coalesce(owner_id, ''), (sfdc_lead_id IS NOT NULL OR sfdc_contact_id IS NOT NULL), "
        "unsubscribed != 0, count(*) FROM people GROUP BY 1, 2, 3"
    )


def demo_owner_email(db: sqlite_utils.Database) -> str | None:
    """The sandbox's demo seller when no ``seller.email`` is set: the owner of the first cached person, so that
    "my people" and the seller's reminder tasks show something real with no setup."""
    row = db.conn.execute(
        "SELECT owner_email FROM people WHERE owner_email IS NOT NULL AND owner_id IS NOT NULL "
        "ORDER BY marketo_id LIMIT 1"
    ).fetchone()
    return str(row[0]) if row else None


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

    @property
    def active(self) -> bool:
        return bool(self.owner_id) or self.has_salesforce_id is not None or self.unsubscribed is not None

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

    def counts_sql(self) -> tuple[str, list[Any]]:
        """The same filter over ``people_counts`` (one row per owner / Salesforce id / unsubscribed group)."""
        clauses: list[str] = []
        params: list[Any] = []
        if self.owner_id:
            clauses.append("owner_key = ?")
            params.append(self.owner_id)
        if self.has_salesforce_id is not None:
            clauses.append("has_sf = ?")
            params.append(1 if self.has_salesforce_id else 0)
        if self.unsubscribed is not None:
            clauses.append("unsubscribed = ?")
            params.append(1 if self.unsubscribed else 0)
        return (" AND ".join(clauses) or "1"), params


def count_people(db: sqlite_utils.Database, filters: PeopleFilter | None = None) -> int:
    """How many cached people pass ``filters``: read from ``people_counts``, so instant at any size."""
    where, params = (filters or PeopleFilter()).counts_sql()
    row = db.conn.execute(f"SELECT coalesce(sum(n), 0) FROM people_counts WHERE {where}", params).fetchone()
    return int(row[0])


def iter_all_people(db: sqlite_utils.Database) -> Iterator[dict[str, Any]]:
    cur = db.conn.execute(f"SELECT {', '.join(COLUMNS)} FROM people ORDER BY marketo_id")
    for row in cur:
        yield dict(zip(COLUMNS, row, strict=True))
