"""Keeping the contentless search indexes and the per-group counts in step with the people table."""

from __future__ import annotations

import random
import sqlite3

from sia_tui.store.db import migrate, open_db, transaction
from sia_tui.store.migrations import LEGACY_MIGRATIONS, RECORDS_MIGRATIONS
from sia_tui.store.people import (
    PeopleFilter,
    count_people,
    delete_people,
    get_person,
    rebuild_search_index,
    recount_people,
    upsert_people,
)
from sia_tui.store.people_search import matching_people, search_people
from tests.support.people_rows import person


def groups(db) -> dict[tuple[str, int, int], int]:
    return {
        (k, s, u): n
        for k, s, u, n in db.conn.execute(
            "SELECT owner_key, has_sf, unsubscribed, n FROM people_counts WHERE n"
        )
    }


def recounted(db) -> dict[tuple[str, int, int], int]:
    with transaction(db):
        recount_people(db.conn)
    return groups(db)


def index_snapshot(db, queries: list[str]) -> dict[str, set[int]]:
    return {q: matching_people(db, q) for q in queries}


def test_renaming_a_person_moves_them_in_the_index(db):
    upsert_people(db, [person(1, first_name="Martin", company="Globex")])
    assert matching_people(db, "martin") == {1}
    assert upsert_people(db, [person(1, first_name="Zoe", company="Initech")]) == (0, 1)
    assert matching_people(db, "martin") == set() and matching_people(db, "globex") == set()
    assert matching_people(db, "zoe") == {1} and matching_people(db, "nitec") == {1}


def test_a_change_outside_the_searched_fields_leaves_the_index_alone(db):
    upsert_people(db, [person(1, first_name="Martin")])
    changes = db.conn.total_changes
    upsert_people(db, [person(1, first_name="Martin", lead_score=90, unsubscribed=True)])
    assert db.conn.total_changes - changes == 1 + 2  # the row, and its count group moving (-1, +1)
    assert get_person(db, 1)["lead_score"] == 90
    assert matching_people(db, "martin") == {1}


def test_a_repeated_id_in_one_batch_keeps_the_last_row_once(db):
    assert upsert_people(db, [person(1, first_name="Ann"), person(1, first_name="Bea")]) == (1, 0)
    assert matching_people(db, "ann") == set()
    assert [p["marketo_id"] for p in search_people(db, "bea")] == [1]
    assert upsert_people(db, [{**person(2), "marketo_id": "2"}]) == (1, 0)  # ids given as text are numbers


def test_my_people_follow_an_owner_change(db):
    upsert_people(
        db, [person(1, first_name="Mara", owner_id="005A"), person(2, first_name="Mara", owner_id="005B")]
    )

    def mine(owner: str) -> list[object]:
        return [p["marketo_id"] for p in search_people(db, "mara", filters=PeopleFilter(owner_id=owner))]

    assert mine("005A") == [1] and mine("005B") == [2]
    upsert_people(db, [person(1, first_name="Mara", owner_id="005B")])
    assert mine("005A") == [] and mine("005B") == [1, 2]
    assert [p["marketo_id"] for p in search_people(db, "ara", filters=PeopleFilter(owner_id="005B"))] == [
        1,
        2,
    ]


def test_an_owner_key_collision_never_shows_someone_else_s_people(db, monkeypatch):
    from sia_tui.store import people, people_search

    monkeypatch.setattr(people, "owner_key", lambda owner: "same" if owner else None)
    monkeypatch.setattr(people_search, "owner_key", lambda owner: "same" if owner else None)
    upsert_people(
        db, [person(1, first_name="Mara", owner_id="005A"), person(2, first_name="Mara", owner_id="005B")]
    )
    for q in ("mara", "ara", "m"):
        assert [p["marketo_id"] for p in search_people(db, q, filters=PeopleFilter(owner_id="005A"))] == [1]


def test_deleting_removes_rows_index_entries_and_counts(db):
    upsert_people(db, [person(i, first_name="Mara") for i in range(1, 6)])
    assert delete_people(db, [2, 4, 4, 99]) == 2
    assert matching_people(db, "mara") == {1, 3, 5}
    assert count_people(db) == 3
    assert delete_people(db, []) == 0


def test_counts_follow_every_kind_of_change(db):
    rng = random.Random(5)
    for _ in range(30):
        batch = [
            person(
                rng.randint(1, 60),
                owner_id=rng.choice(["005A", "005B", None]),
                sfdc_lead_id=rng.choice([None, "00Q1"]),
                sfdc_contact_id=rng.choice([None, None, "0031"]),
                unsubscribed=rng.random() < 0.3,
            )
            for _ in range(rng.randint(1, 8))
        ]
        upsert_people(db, batch)
        delete_people(db, [rng.randint(1, 60) for _ in range(rng.randint(0, 3))])
        # Also a direct write, as a repair script might do: the triggers still keep count.
        db.conn.execute(
            "UPDATE people SET unsubscribed = 1 - unsubscribed WHERE marketo_id = ?", (rng.randint(1, 60),)
        )
    total = db.conn.execute("SELECT count(*) FROM people").fetchone()[0]
    assert count_people(db) == total
    assert groups(db) == recounted(db)
    for flt in (PeopleFilter(owner_id="005B"), PeopleFilter(has_salesforce_id=True, unsubscribed=False)):
        where, params = flt.sql()
        assert (
            count_people(db, flt)
            == db.conn.execute(f"SELECT count(*) FROM people p WHERE {where}", params).fetchone()[0]
        )


def test_the_index_after_many_updates_equals_a_rebuilt_one(db):
    rng = random.Random(9)
    words = ["Mara", "Martin", "株式会社サンプル", "商事", "Acme", "José", "wang", "王伟", "Omar"]
    for _ in range(40):
        upsert_people(
            db,
            [
                person(
                    rng.randint(1, 40),
                    first_name=rng.choice(words),
                    last_name=rng.choice(words),
                    company=rng.choice(words),
                    title=rng.choice([None, *words]),
                )
                for _ in range(5)
            ],
        )
        delete_people(db, [rng.randint(1, 40)])
    queries = ["ma", "mar", "martin", "サンプル", "商", "王", "jose", "acme", "omar", "ar"]
    incremental = index_snapshot(db, queries)
    with transaction(db):
        rebuild_search_index(db.conn)
    assert index_snapshot(db, queries) == incremental
    assert db.conn.execute("INSERT INTO people_words (people_words) VALUES ('integrity-check')").rowcount == 1


def test_upgrading_a_version_5_cache_rebuilds_search_and_counts(tmp_path):
    path = tmp_path / "old.db"
    conn = sqlite3.connect(path, isolation_level=None)
    for migration in LEGACY_MIGRATIONS[:5]:
        migration(conn)
    conn.execute("PRAGMA user_version = 5")
    conn.executemany(
        "INSERT INTO people (marketo_id, first_name, last_name, company, owner_id, unsubscribed) VALUES (?, ?, ?, ?, ?, ?)",
        [(1, "Martin", "Ruiz", "株式会社サンプル商事", "005A", 0), (2, "Ann", "Lee", "Acme", "005B", 1)],
    )
    conn.close()
    db = open_db(path)
    assert db.conn.execute("PRAGMA user_version").fetchone()[0] == len(RECORDS_MIGRATIONS)
    assert matching_people(db, "mart") == {1} and matching_people(db, "商事") == {1}
    assert count_people(db) == 2 and count_people(db, PeopleFilter(unsubscribed=True)) == 1
    tables = {r[0] for r in db.conn.execute("SELECT name FROM cache.sqlite_master")}
    assert "people_fts" not in tables and "people_grams" not in tables
    assert migrate(db.conn) == len(RECORDS_MIGRATIONS)  # nothing left to do
