from __future__ import annotations

import os
import sqlite3

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from sia_tui.store.db import StoreError, open_db
from sia_tui.store.migrations import CACHE_MIGRATIONS, RECORDS_MIGRATIONS
from sia_tui.store.people import (
    PeopleFilter,
    count_people,
    delete_people,
    get_person,
    to_json,
    upsert_people,
)
from sia_tui.store.people_search import search_people
from sia_tui.store.state import get_state, set_state
from tests.support.people_rows import person


def test_file_is_private_wal_and_migrated(tmp_path):
    path = tmp_path / "cache.db"
    d = open_db(path)
    assert (os.stat(path).st_mode & 0o777) == 0o600
    assert d.conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    assert d.conn.execute("PRAGMA user_version").fetchone()[0] == len(RECORDS_MIGRATIONS)
    assert d.conn.execute("PRAGMA cache.user_version").fetchone()[0] == len(CACHE_MIGRATIONS)
    assert (os.stat(tmp_path / "cache.cache.db").st_mode & 0o777) == 0o600
    assert int(d.conn.execute("PRAGMA busy_timeout").fetchone()[0]) >= 1000
    open_db(path)  # re-opening is idempotent


def test_corrupt_file_gives_one_clear_sentence(tmp_path):
    path = tmp_path / "cache.db"
    path.write_bytes(b"this is not a database" * 100)
    with pytest.raises(StoreError, match=r"cannot be read|damaged"):
        open_db(path)


def test_newer_schema_is_refused(tmp_path):
    path = tmp_path / "cache.db"
    open_db(path)
    conn = sqlite3.connect(path)
    conn.execute(f"PRAGMA user_version = {len(RECORDS_MIGRATIONS) + 5}")
    conn.close()
    with pytest.raises(StoreError, match="newer sia-tui"):
        open_db(path)


def test_upsert_counts_created_and_updated_and_keeps_duplicate_emails(db):
    assert upsert_people(db, [person(1), person(2, email="p1@example.com")]) == (2, 0)
    assert upsert_people(db, [person(1, title="CEO"), person(3)]) == (1, 1)
    assert get_person(db, 1)["title"] == "CEO"
    assert count_people(db) == 3
    assert delete_people(db, [2, 99]) == 1
    assert get_person(db, 2) is None
    assert search_people(db, "p1@example") == [get_person(db, 1)]


def test_search_prefix_substring_and_cjk(db):
    upsert_people(
        db,
        [
            person(1, first_name="花子", last_name="佐藤", company="株式会社日立製作所"),
            person(2, first_name="伟", last_name="王", company="阿里巴巴集团"),
            person(3, first_name="Wanda", last_name="Maximoff", company="Westview Ltd"),
            person(4, first_name="Ed", last_name="Wang", company="Acme"),
        ],
    )
    ids = lambda q: {p["marketo_id"] for p in search_people(db, q)}  # noqa: E731
    assert ids("wa") == {3, 4}  # prefix while typing
    assert ids("wan") == {3, 4}
    assert ids("日立") == {1}  # the middle of a Japanese company name, 2 characters
    assert ids("日立製作") == {1}
    assert ids("巴巴") == {2}
    assert ids("佐藤") == {1}
    assert ids("王") == {2}
    assert ids("view") == {3}  # substring, 3+ characters
    assert ids("ed wang") == {4}
    assert ids("zzz") == set()


def test_search_treats_fts_syntax_as_text(db):
    upsert_people(db, [person(1, last_name='O"Brien (NEAR) AND*')])
    for q in ['"', "AND", "NEAR(", "*", 'o"b', "a:b", "-x", "^"]:
        search_people(db, q)  # never raises
    assert {p["marketo_id"] for p in search_people(db, 'o"brien')} == {1}


def test_filters_and_sort(db):
    upsert_people(
        db,
        [
            person(1, last_name="B", unsubscribed=True, sfdc_lead_id="00Q1"),
            person(2, last_name="A", owner_id="005B"),
            person(3, last_name="C", sfdc_contact_id="0031"),
        ],
    )
    assert [p["marketo_id"] for p in search_people(db, sort="name")] == [2, 1, 3]
    assert [p["marketo_id"] for p in search_people(db, filters=PeopleFilter(owner_id="005A"))] == [1, 3]
    assert [p["marketo_id"] for p in search_people(db, filters=PeopleFilter(unsubscribed=True))] == [1]
    assert [p["marketo_id"] for p in search_people(db, filters=PeopleFilter(has_salesforce_id=True))] == [
        1,
        3,
    ]
    assert to_json(get_person(db, 1))["unsubscribed"] is True


@settings(max_examples=60, deadline=None)
@given(st.text(min_size=1, max_size=40))
def test_any_name_round_trips_byte_for_byte(tmp_path_factory, name):
    d = open_db(tmp_path_factory.mktemp("p") / "c.db")
    clean = name.replace("\x00", "")
    upsert_people(d, [person(7, first_name=clean, company=clean)])
    assert get_person(d, 7)["first_name"] == clean
    search_people(d, clean)  # any query text is safe


def test_state_round_trip(db):
    set_state(db, "paging_token", {"token": "ABC==", "window": 3})
    assert get_state(db, "paging_token") == {"token": "ABC==", "window": 3}
    assert get_state(db, "missing", 5) == 5


def test_migrations_carry_frozen_sql_never_live_code():
    """A migration that calls the app's code changes meaning when that code changes (issue 14.2)."""
    import ast
    import inspect

    from sia_tui.store import migrations

    tree = ast.parse(inspect.getsource(migrations))
    imported = {
        (node.module or "") if isinstance(node, ast.ImportFrom) else alias.name
        for node in ast.walk(tree)
        if isinstance(node, ast.Import | ast.ImportFrom)
        for alias in node.names
    }
    assert not {name for name in imported if name.startswith("sia_tui")}, imported
