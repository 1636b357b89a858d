"""Reading the people cache for the list: pages, counts and "latest query wins" without Textual.

The list never holds all rows: it asks for pages of :data:`PAGE_SIZE` from SQLite (``list_people`` with an
offset) as the viewport needs them. Searches run on a worker thread with their own connection; a newer search
interrupts the SQLite statement of an older one (``sqlite3.Connection.interrupt``), so typing fast never queues
stale queries behind each other.
"""

from __future__ import annotations

import sqlite3
import threading
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

from sia_tui.i18n import _, pgettext

if (
    TYPE_CHECKING
):  # the store pulls in sqlite_utils (~0.15 s): imported on the worker thread, after first paint
    from sia_tui.store.people import PeopleFilter, SortKey

PAGE_SIZE = 200

SORTS: tuple[SortKey, ...] = ("relevance", "name", "company", "updated", "score")


def sort_label(sort: str) -> str:
    """A sort as the filter bar and the palette name it, in the UI's language."""
    labels = {
        "relevance": pgettext("sort", "relevance"),
        "name": pgettext("sort", "name"),
        "company": pgettext("sort", "company"),
        "updated": pgettext("sort", "updated"),
        "score": pgettext("sort", "score"),
    }
    return labels.get(sort, sort)


#: Tri-state filters cycle any -> yes -> no.
TRI_STATES: tuple[bool | None, ...] = (None, True, False)


@dataclass(frozen=True)
class PeopleQuery:
    """What the seller asked for: the text, the filters and the sort."""

    text: str = ""
    mine: bool = False
    has_salesforce_id: bool | None = None
    unsubscribed: bool | None = None
    sort: SortKey = "name"

    def effective_sort(self) -> SortKey:
        """Relevance only means something with a query; without one the list is by name."""
        if self.sort == "relevance" and not self.text.strip():
            return "name"
        return self.sort

    def with_text(self, text: str) -> PeopleQuery:
        return replace(self, text=text)

    def next_sort(self) -> PeopleQuery:
        return replace(self, sort=SORTS[(SORTS.index(self.sort) + 1) % len(SORTS)])

    def cycle(self, name: str) -> PeopleQuery:
        current = getattr(self, name)
        value = TRI_STATES[(TRI_STATES.index(current) + 1) % len(TRI_STATES)]
        if name == "has_salesforce_id":
            return replace(self, has_salesforce_id=value)
        if name == "unsubscribed":
            return replace(self, unsubscribed=value)
        raise ValueError(f"not a tri-state filter: {name}")

    @property
    def is_default(self) -> bool:
        return self == PeopleQuery(sort=self.sort) and not self.text

    def describe_filters(self) -> list[str]:
        """The filters in words, in the UI's language; the first is whose people (mine or all)."""
        out = [_("my people") if self.mine else _("all people")]
        if self.has_salesforce_id is not None:
            out.append(_("has Salesforce id") if self.has_salesforce_id else _("no Salesforce id"))
        if self.unsubscribed is not None:
            out.append(_("unsubscribed") if self.unsubscribed else _("subscribed"))
        return out


@dataclass
class PeoplePage:
    """One answer from the cache: rows ``offset .. offset+len(rows)`` of ``query``."""

    generation: int
    query: PeopleQuery
    offset: int
    rows: list[dict[str, Any]]
    more: bool  # rows exist beyond this page
    total: int | None = None  # exact count when cheap to know (no search text), else None
    elapsed_ms: float = 0.0
    provisional: bool = False  # a quick unranked first screenful; the ranked page follows
    ranked: bool = True  # False for the quick, unranked first page of a search


@dataclass
class PeopleReader:
    """A read-only connection for list queries, used from one worker thread at a time."""

    path: Path | str
    _conn_lock: threading.Lock = field(default_factory=threading.Lock)
    _db: Any = None
    _owner_ids: dict[str, str | None] = field(default_factory=dict)

    def _database(self) -> Any:
        """A plain connection to the cache: the app opened (checked, migrated) it with ``open_db`` before any search."""
        if self._db is None:
            import sqlite_utils

            from sia_tui.store.db import connect

            self._db = sqlite_utils.Database(connect(self.path, check_same_thread=False))
        return self._db

    def interrupt(self) -> None:
        """Abort whatever statement is running (a newer query wins); safe from any thread."""
        db = self._db
        if db is not None:
            db.conn.interrupt()

    def close(self) -> None:
        with self._conn_lock:
            if self._db is not None:
                self._db.conn.close()
                self._db = None

    def owner_id_for(self, email: str) -> str | None:
        """The Marketo/SFDC owner id of the seller with this email (as the people rows carry it)."""
        key = email.strip().lower()
        if not key:
            return None
        if key not in self._owner_ids:
            with self._conn_lock:
                row = (
                    self._database()
                    .conn.execute(
                        "SELECT owner_id FROM people WHERE owner_email = ? COLLATE NOCASE "
                        "AND owner_id IS NOT NULL LIMIT 1",
                        (key,),
                    )
                    .fetchone()
                )
            self._owner_ids[key] = str(row[0]) if row else None
        return self._owner_ids[key]

    def filters_for(self, query: PeopleQuery, owner_id: str | None) -> PeopleFilter:
        from sia_tui.store.people import PeopleFilter

        return PeopleFilter(
            owner_id=owner_id if query.mine else None,
            has_salesforce_id=query.has_salesforce_id,
            unsubscribed=query.unsubscribed,
        )

    def page(
        self,
        generation: int,
        query: PeopleQuery,
        offset: int,
        *,
        owner_id: str | None = None,
        with_total: bool = False,
        limit: int = PAGE_SIZE,
    ) -> PeoplePage:
        """Rows ``offset..offset+limit`` (plus whether more exist); raises ``sqlite3.OperationalError`` when
        interrupted by a newer query."""
        import time

        from sia_tui.store.people import count_people
        from sia_tui.store.people_search import list_people

        started = time.perf_counter()
        filters = self.filters_for(query, owner_id)
        if query.mine and owner_id is None:
            # "My people" for a seller the cache does not know: nobody, rather than everybody.
            return PeoplePage(generation, query, offset, [], False, 0)
        with self._conn_lock:
            db = self._database()
            found = list_people(
                db, query.text, limit=limit, offset=offset, filters=filters, sort=query.effective_sort()
            )
            total: int | None = None
            if with_total and not query.text.strip():
                total = count_people(db, filters)
        rows, more = found.rows, found.more
        if total is None and not more:
            total = offset + len(rows)
        elapsed = (time.perf_counter() - started) * 1000
        return PeoplePage(generation, query, offset, rows, more, total, elapsed)

    def quick_page(
        self, generation: int, query: PeopleQuery, *, owner_id: str | None = None
    ) -> PeoplePage | None:
        """The first screenful of matches, at once; None when there is no search text.

        The store answers a page in a few milliseconds at any cache size (``list_people``), so this is the first
        page itself, in the list's order: the page that follows it is the same and the list does not jump.
        """
        import time

        from sia_tui.store.people_search import list_people

        if not query.text.strip() or (query.mine and owner_id is None):
            return None
        started = time.perf_counter()
        with self._conn_lock:
            found = list_people(
                self._database(),
                query.text,
                limit=PAGE_SIZE,
                filters=self.filters_for(query, owner_id),
                sort=query.effective_sort(),
            )
        elapsed = (time.perf_counter() - started) * 1000
        return PeoplePage(
            generation,
            query,
            0,
            found.rows,
            False,
            None if found.more else len(found.rows),
            elapsed,
            provisional=found.more,
            ranked=False,
        )

    def count(self, query: PeopleQuery, *, owner_id: str | None = None) -> int | None:
        """How many people the list holds without search text (kept per filter group by the store: instant);
        None with search text."""
        from sia_tui.store.people import count_people

        if query.text.strip():
            return None
        if query.mine and owner_id is None:
            return 0
        with self._conn_lock:
            return count_people(self._database(), self.filters_for(query, owner_id))


def schema_is_current(path: Path | str) -> bool:
    """True when the cache file exists and needs no migration (so searches may start before the full open)."""
    import sqlite3

    from sia_tui.store.migrations import CACHE_MIGRATIONS

    if not Path(path).exists():
        return False
    try:
        conn = sqlite3.connect(f"file:{path}?mode=ro", uri=True, timeout=1)
        try:
            return int(conn.execute("PRAGMA user_version").fetchone()[0]) == len(CACHE_MIGRATIONS)
        finally:
            conn.close()
    except sqlite3.Error:
        return False


def is_interrupted(exc: BaseException) -> bool:
    return isinstance(exc, sqlite3.OperationalError) and "interrupt" in str(exc).lower()
