"""Searching and paging the people cache: ranked search while typing, sorted pages, and counts that stay fast at a
million people.

Ranking is by tiers, best first; each tier is one FTS5 query that excludes the tiers above it:

1. every query word is a whole name word            (``tanaka`` → Tanaka)
2. every query word starts a name word              (``tana`` → Tanaka, Tanabe)
3. ... starts a name or email word
4. ... starts a name, email or company word
5. ... starts a word of any field (title too)
6. ... or, for 1-2 character CJK words, occurs anywhere in a CJK run (``日立`` in 株式会社日立製作所)
7. substring matches of 3+ characters (trigram index, checked against the text), e.g. ``view`` in Westview

A tier of at most :data:`NAME_SORT_MAX` people is shown by name; a larger one in Marketo id order (ranking all of
a quarter of a million "m..." people would take hundreds of milliseconds and tell the seller nothing). Only the
rows a page shows are read, so a page costs about the same at any cache size. Exact word meaning:
:mod:`sia_tui.store.people_text`.
"""

from __future__ import annotations

import json
import sqlite3
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import sqlite_utils

from sia_tui.store.people import COLUMNS, PeopleFilter, SortKey
from sia_tui.store.people_text import (
    PIECES,
    PREFIX_INDEX_MAX,
    SEARCH_FIELDS,
    SUBSTRING_MIN,
    WORD_COLUMNS,
    PersonText,
    Query,
    hits,
    is_cjk,
    matches,
    owner_key,
    parse_query,
    person_text,
    word_match,
)

#: A tier with at most this many people is ordered by name; a larger one by Marketo id.
NAME_SORT_MAX = 500
#: When at most this many people match, they are found with two queries and ranked in one pass (instead of one
#: query per tier, each of which may have to intersect large doclists to find that its tier is small).
FEW_MAX = 1000
#: With search text and a sort other than relevance: up to this many matches are sorted by SQLite; up to
#: GATHERED_MAX the sort index is walked keeping the matching ids; beyond that the matches are dense enough for
#: walking the sort order and checking each row to be quick.
SORTED_MATCHES_MAX = 2000
GATHERED_MAX = 50_000
#: An owner with more people than this is filtered while walking a sort index instead of through its own index.
OWNER_INDEX_MAX = 5000

ORDER: dict[str, str] = {
    "name": "p.last_name COLLATE NOCASE, p.first_name COLLATE NOCASE, p.marketo_id",
    "company": "p.company COLLATE NOCASE, p.last_name COLLATE NOCASE, p.marketo_id",
    "updated": "p.marketo_updated_at DESC, p.marketo_id",
    "score": "p.lead_score DESC, p.marketo_id",
}


@dataclass(frozen=True)
class PeopleSlice:
    """Rows ``offset .. offset + len(rows)`` of a list, and whether any row follows them."""

    rows: list[dict[str, Any]]
    more: bool


@dataclass(frozen=True)
class MatchCount:
    """How many people match; ``exact`` is False when counting stopped at the cap (then there are more)."""

    n: int
    exact: bool


# ------------------------------------------------------------------------------------------------ tiers


def _phrase(text: str) -> str:
    return '"' + text.replace('"', '""') + '"'


#: A prefix matching more distinct words than this is left to FTS5's own prefix query.
EXPAND_MAX = 64


def _columns(columns: Sequence[str]) -> str:
    return "{" + " ".join(columns) + "}"


class _Words:
    """Builds the FTS5 expressions of tiers 1-6 over ``people_words`` for one query."""

    def __init__(self, conn: sqlite3.Connection) -> None:
        self.conn = conn
        self._expanded: dict[str, str | None] = {}

    def prefix(self, word: str) -> str | None:
        """``word*`` as an expression, or None when no word starts with it."""
        if len(word) <= PREFIX_INDEX_MAX:
            return _phrase(word) + "*"
        if word not in self._expanded:
            found = [
                r[0]
                for r in self.conn.execute(
                    "SELECT term FROM people_vocab WHERE term >= ? AND term < ? ORDER BY term LIMIT ?",
                    (word, word + "\U0010ffff", EXPAND_MAX + 1),
                )
            ]
            if not found:
                self._expanded[word] = None
            elif len(found) > EXPAND_MAX:
                self._expanded[word] = _phrase(word) + "*"
            else:
                self._expanded[word] = " OR ".join(_phrase(t) for t in found)
        return self._expanded[word]

    def expressions(self, query: Query) -> list[str | None]:
        """Tiers 1-6, each containing the one before; None for a tier that can match nobody."""
        if not query.word_searchable:
            return []
        ws = query.words
        groups: list[list[str | None]] = [[f"{_columns(WORD_COLUMNS[:1])} : {_phrase(w)}" for w in ws]]
        prefixes = {w: self.prefix(w) for w in ws}
        tiers = [WORD_COLUMNS[:n] for n in range(1, len(WORD_COLUMNS) + 1)]
        if any(len(w) <= 2 and is_cjk(w) for w in ws):
            tiers.append((*WORD_COLUMNS, PIECES))
        for columns in tiers:
            groups.append(
                [None if prefixes[w] is None else f"{_columns(columns)} : ({prefixes[w]})" for w in ws]
            )
        return [
            None if any(g is None for g in group) else " AND ".join(g for g in group if g) for group in groups
        ]


def substring_expression(query: Query) -> str | None:
    """Tier 7 over ``people_substr``, where quoted text is an exact substring match: the whole query, or every
    term when all have 3+ characters."""
    branches: list[str] = []
    if len(query.text) >= SUBSTRING_MIN:
        branches.append(_phrase(query.text))
    if len(query.terms) > 1 and all(len(t) >= SUBSTRING_MIN for t in query.terms):
        branches.append(" AND ".join(_phrase(t) for t in query.terms))
    if not branches:
        return None
    return branches[0] if len(branches) == 1 else " OR ".join(f"({b})" for b in branches)


class _Scope:
    """One query against one connection, with the filters applied."""

    def __init__(self, conn: sqlite3.Connection, query: Query, filters: PeopleFilter) -> None:
        self.conn = conn
        self.query = query
        self.filters = filters
        self.where, self.params = filters.sql()
        self._expressions: list[str | None] | None = None
        self.owner = owner_key(filters.owner_id) if filters.owner_id else None

    def words(self, expr: str) -> str:
        """A word index expression narrowed to the owner inside the index (the join filters exactly)."""
        return expr if self.owner is None else f'({expr}) AND owner : "{self.owner}"'

    def substrings(self, expr: str) -> str:
        """A trigram index expression over the text column, narrowed to the owner inside the index."""
        expr = f"document : ({expr})"
        return expr if self.owner is None else f'{expr} AND owner : "{self.owner}"'

    @property
    def word_expressions(self) -> list[str | None]:
        if self._expressions is None:
            self._expressions = _Words(self.conn).expressions(self.query)
        return self._expressions

    @property
    def words_union(self) -> str | None:
        """The last (widest) word tier: every person a word tier holds."""
        return next((e for e in reversed(self.word_expressions) if e is not None), None)


class _WordTier:
    def __init__(self, scope: _Scope, expr: str) -> None:
        self.scope = scope
        self.expr = expr

    def _sql(self, what: str) -> tuple[str, list[Any]]:
        s = self.scope
        expr = s.words(self.expr)
        if not s.filters.active:
            return f"SELECT {what} FROM people_words w WHERE people_words MATCH ?", [expr]
        return (
            f"SELECT {what} FROM people_words w JOIN people p ON p.marketo_id = w.rowid "
            f"WHERE people_words MATCH ? AND {s.where}",
            [expr, *s.params],
        )

    def ids(self, limit: int, offset: int = 0) -> list[int]:
        sql, params = self._sql("w.rowid")
        rows = self.scope.conn.execute(f"{sql} ORDER BY w.rowid LIMIT ? OFFSET ?", [*params, limit, offset])
        return [r[0] for r in rows]

    def count(self, cap: int | None = None) -> int:
        sql, params = self._sql("1")
        return int(
            self.scope.conn.execute(
                f"SELECT count(*) FROM ({sql} LIMIT ?)", [*params, -1 if cap is None else cap]
            ).fetchone()[0]
        )


class _SubstringTier(_WordTier):
    """Tier 7: substring matches in id order, without the people a word tier already holds."""

    def __init__(self, scope: _Scope, expr: str, words_expr: str | None) -> None:
        super().__init__(scope, expr)
        self.words_expr = words_expr

    def _sql(self, what: str) -> tuple[str, list[Any]]:
        s = self.scope
        what = what.replace("w.rowid", "f.rowid")
        sql = f"SELECT {what} FROM people_substr f"
        params: list[Any] = [s.substrings(self.expr)]
        if s.filters.active:
            sql += f" JOIN people p ON p.marketo_id = f.rowid WHERE people_substr MATCH ? AND {s.where}"
            params += s.params
        else:
            sql += " WHERE people_substr MATCH ?"
        if self.words_expr is not None:
            # Only reached once the word tiers ran out, so this set is at most an offset plus a page long.
            sql += " AND f.rowid NOT IN (SELECT rowid FROM people_words WHERE people_words MATCH ?)"
            params.append(s.words(self.words_expr))
        return sql, params

    def ids(self, limit: int, offset: int = 0) -> list[int]:
        sql, params = self._sql("f.rowid")
        rows = self.scope.conn.execute(f"{sql} ORDER BY f.rowid LIMIT ? OFFSET ?", [*params, limit, offset])
        return [r[0] for r in rows]


_Tier = _WordTier | _SubstringTier


def _tiers(scope: _Scope) -> list[_Tier]:
    tiers: list[_Tier] = []
    previous: str | None = None
    for expr in scope.word_expressions:
        if expr is None:
            continue
        tiers.append(_WordTier(scope, expr if previous is None else f"({expr}) NOT ({previous})"))
        previous = expr
    substring = substring_expression(scope.query)
    if substring is not None:
        tiers.append(_SubstringTier(scope, substring, previous))
    return tiers


# ------------------------------------------------------------------------------------------------ rows


def _ids_json(ids: Sequence[int]) -> str:
    return json.dumps(list(ids))


def _rows_by_id(conn: sqlite3.Connection, ids: Sequence[int]) -> list[dict[str, Any]]:
    """The people with these ids, in the order given."""
    if not ids:
        return []
    cols = ", ".join(COLUMNS)
    found = {
        row[0]: dict(zip(COLUMNS, row, strict=True))
        for row in conn.execute(
            f"SELECT {cols} FROM people WHERE marketo_id IN (SELECT value FROM json_each(?))",
            [_ids_json(ids)],
        )
    }
    return [found[i] for i in ids if i in found]


def _sorted_ids(
    conn: sqlite3.Connection, ids: Sequence[int], sort: str, limit: int, offset: int
) -> list[int]:
    return [
        r[0]
        for r in conn.execute(
            "SELECT p.marketo_id FROM people p WHERE p.marketo_id IN (SELECT value FROM json_each(?)) "
            f"ORDER BY {ORDER[sort]} LIMIT ? OFFSET ?",
            [_ids_json(ids), limit, offset],
        )
    ]


def _ranked_ids(scope: _Scope, offset: int, want: int) -> list[int]:
    few = _few_matches(scope, FEW_MAX)
    if few is not None:
        return _rank_few(scope, few)[offset : offset + want]
    out: list[int] = []
    skip = offset
    for tier in _tiers(scope):
        head = tier.ids(NAME_SORT_MAX + 1)
        if len(head) <= NAME_SORT_MAX:
            if skip >= len(head):
                skip -= len(head)
                continue
            taken = _sorted_ids(scope.conn, head, "name", want - len(out), skip)
        else:
            taken = tier.ids(want - len(out), skip)
            if not taken:
                skip -= tier.count()
                continue
        skip = 0
        out.extend(taken)
        if len(out) >= want:
            break
    return out


def _few_matches(scope: _Scope, cap: int) -> list[int] | None:
    """Every matching id in two queries (all word tiers at once, then tier 7), or None when more than ``cap``."""
    ids: list[int] = []
    union = scope.words_union
    if union is not None:
        ids = _WordTier(scope, union).ids(cap + 1)
        if len(ids) > cap:
            return None
    substring = substring_expression(scope.query)
    if substring is not None:
        # Tier 7 without the word tiers' people, removed here: they are all in hand (asking SQLite to leave them
        # out would evaluate the word tiers a second time).
        held = set(ids)
        ids += [i for i in _SubstringTier(scope, substring, None).ids(cap + 1) if i not in held]
    return None if len(ids) > cap else ids


def tier_of(query: Query, person: PersonText) -> int:
    """The tier (1-7, see the module docstring) a matching person is listed in: what the FTS tiers compute, for
    a handful of people in one pass."""
    if query.word_searchable:
        columns = person.words
        if all(w in columns[0] for w in query.words):
            return 1
        for tier in range(2, 6):
            if all(hits(w, columns[: tier - 1]) for w in query.words):
                return tier
        if word_match(query, person):
            return 6
    return 7


def _rank_few(scope: _Scope, ids: Sequence[int]) -> list[int]:
    """``ids`` in the tiers' order (by name inside a tier of at most NAME_SORT_MAX people, else by id)."""
    names = ("marketo_id", *SEARCH_FIELDS)
    cols = ", ".join(names)
    rows = scope.conn.execute(
        f"SELECT {cols} FROM people WHERE marketo_id IN (SELECT value FROM json_each(?))", [_ids_json(ids)]
    )
    tiers = {r[0]: tier_of(scope.query, person_text(dict(zip(names, r, strict=True)))) for r in rows}
    sizes = Counter(tiers.values())
    keys = json.dumps([[i, t, int(sizes[t] > NAME_SORT_MAX)] for i, t in tiers.items()])
    return [
        r[0]
        for r in scope.conn.execute(
            "SELECT p.marketo_id FROM json_each(?) j JOIN people p ON p.marketo_id = json_extract(j.value, '$[0]') "
            "ORDER BY json_extract(j.value, '$[1]'), "
            "CASE WHEN json_extract(j.value, '$[2]') THEN p.marketo_id ELSE 0 END, " + ORDER["name"],
            [keys],
        )
    ]


def _owner_index_ok(conn: sqlite3.Connection, filters: PeopleFilter) -> bool:
    """Whether the owner's own index is the better way in (few people: sorting them is quick)."""
    if not filters.owner_id:
        return True
    row = conn.execute(
        "SELECT coalesce(sum(n), 0) FROM people_counts WHERE owner_key = ?", [filters.owner_id]
    ).fetchone()
    return int(row[0]) <= OWNER_INDEX_MAX


def _sorted_page(
    conn: sqlite3.Connection, filters: PeopleFilter, sort: str, offset: int, want: int
) -> list[dict[str, Any]]:
    where, params = filters.sql()
    if sort != "name" and not _owner_index_ok(conn, filters):
        where = where.replace("p.owner_id = ?", "+p.owner_id = ?")
    cols = ", ".join(f"p.{c}" for c in COLUMNS)
    rows = conn.execute(
        f"SELECT {cols} FROM people p WHERE {where} ORDER BY {ORDER[sort]} LIMIT ? OFFSET ?",
        [*params, want, offset],
    )
    return [dict(zip(COLUMNS, r, strict=True)) for r in rows]


def _walk_sorted(
    scope: _Scope, sort: str, offset: int, want: int, keep: Callable[[Any], bool], cols: str
) -> list[int]:
    """Walk the sort order (with the filters) and keep the rows ``keep`` accepts, until a page is full."""
    where, params = scope.where, scope.params
    if sort != "name" and not _owner_index_ok(scope.conn, scope.filters):
        where = where.replace("p.owner_id = ?", "+p.owner_id = ?")
    cur = scope.conn.execute(f"SELECT {cols} FROM people p WHERE {where} ORDER BY {ORDER[sort]}", params)
    out: list[int] = []
    seen = 0
    try:
        while batch := cur.fetchmany(2048):
            for row in batch:
                if keep(row):
                    seen += 1
                    if seen > offset:
                        out.append(row[0])
                        if len(out) >= want:
                            return out
    finally:
        cur.close()
    return out


def _sorted_matches(scope: _Scope, sort: str, offset: int, want: int) -> list[int]:
    """A page of the matches in ``sort`` order, by the cheapest of three ways for how many people match."""
    every = _few_matches(scope, GATHERED_MAX)
    if every is not None and len(every) <= SORTED_MATCHES_MAX:
        return _sorted_ids(scope.conn, every, sort, want, offset)
    if every is not None:
        members = set(every)
        return _walk_sorted(scope, sort, offset, want, lambda row: row[0] in members, "p.marketo_id")
    # So many people match that the sort order is dense with them: check each row as it comes.
    names = ("marketo_id", *SEARCH_FIELDS)
    query = scope.query

    def keep(row: Any) -> bool:
        return matches(query, person_text(dict(zip(names, row, strict=True))))

    return _walk_sorted(scope, sort, offset, want, keep, ", ".join(f"p.{c}" for c in names))


# ------------------------------------------------------------------------------------------------ public


def list_people(
    db: sqlite_utils.Database,
    query: str = "",
    *,
    limit: int = 200,
    offset: int = 0,
    filters: PeopleFilter | None = None,
    sort: SortKey = "relevance",
) -> PeopleSlice:
    """Rows ``offset .. offset + limit`` of the people list for ``query`` (ranked by the tiers above when ``sort``
    is "relevance", else in that order), and whether more follow.

    Without search text "relevance" means by name. Query text is never parsed as FTS syntax.
    """
    conn = db.conn
    filters = filters or PeopleFilter()
    limit, offset = max(0, int(limit)), max(0, int(offset))
    want = limit + 1
    q = parse_query(query)
    if q.empty:
        rows = _sorted_page(conn, filters, "name" if sort == "relevance" else sort, offset, want)
        return PeopleSlice(rows[:limit], len(rows) > limit)
    if not q.searchable:
        return PeopleSlice([], False)
    scope = _Scope(conn, q, filters)
    if sort == "relevance" or sort not in ORDER:
        ids = _ranked_ids(scope, offset, want)
    else:
        ids = _sorted_matches(scope, sort, offset, want)
    return PeopleSlice(_rows_by_id(conn, ids[:limit]), len(ids) > limit)


def search_people(
    db: sqlite_utils.Database,
    query: str = "",
    *,
    limit: int = 50,
    offset: int = 0,
    filters: PeopleFilter | None = None,
    sort: SortKey = "relevance",
) -> list[dict[str, Any]]:
    """The best ``limit`` matches of ``query`` (see :func:`list_people`)."""
    return list_people(db, query, limit=limit, offset=offset, filters=filters, sort=sort).rows


def count_matching(
    db: sqlite_utils.Database, query: str = "", filters: PeopleFilter | None = None, *, cap: int = 1000
) -> MatchCount:
    """How many people match ``query`` and ``filters``. Without text the count is exact and instant (kept per
    group by triggers); with text it stops at ``cap`` so that it stays quick (``exact`` then False)."""
    from sia_tui.store.people import count_people

    filters = filters or PeopleFilter()
    q = parse_query(query)
    if q.empty:
        return MatchCount(count_people(db, filters), True)
    if not q.searchable:
        return MatchCount(0, True)
    few = _few_matches(_Scope(db.conn, q, filters), cap)
    return MatchCount(cap, False) if few is None else MatchCount(len(few), True)


def matching_people(db: sqlite_utils.Database, query: str) -> set[int]:
    """Every matching Marketo id through the indexes (all tiers, unordered): for checks and tests."""
    scope = _Scope(db.conn, parse_query(query), PeopleFilter())
    if scope.query.empty or not scope.query.searchable:
        return set()
    out: set[int] = set()
    for tier in _tiers(scope):
        out.update(tier.ids(1 << 62))
    return out
