"""A damaged file is one clear sentence that names the file and tells the truth about it, and is never written to;
the full integrity check runs when it is cheap, after an unclean shutdown, or when asked.

Damage to the cache (people, rebuilt from Marketo) advises deleting it and syncing; damage to the records file
(opt-outs, ledger, outbox, tasks: not rebuildable) never does."""

from __future__ import annotations

import hashlib
import shutil
import sqlite3

import pytest

from sia_tui.store import db as store_db
from sia_tui.store.db import StoreError, cache_path_for, check_integrity, open_db
from sia_tui.store.people import upsert_people


def fill(path, n: int = 3000) -> None:
    d = open_db(path)
    upsert_people(
        d,
        [
            {
                "marketo_id": i,
                "first_name": f"Name{i}",
                "last_name": f"Last{i}",
                "company": "Acme " * 20,
                "title": "x" * 200,
            }
            for i in range(1, n + 1)
        ],
    )
    d.conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    d.conn.close()


def digest(path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def one_sentence(exc: StoreError) -> str:
    text = str(exc)
    assert "\n" not in text and "Traceback" not in text
    return text


def test_a_file_that_is_not_sqlite_is_refused_and_left_as_it_was(tmp_path):
    path = tmp_path / "cache.db"
    path.write_bytes(b"\x00garbage that is not a database" * 500)
    before = digest(path)
    with pytest.raises(StoreError) as err:
        open_db(path)
    assert "not an SQLite database" in one_sentence(err.value)
    assert digest(path) == before
    assert not (tmp_path / "cache.db-wal").exists()


def test_a_truncated_cache_is_refused_and_left_as_it_was(tmp_path):
    path = tmp_path / "sandbox.db"
    fill(path)
    cache = cache_path_for(path)
    data = cache.read_bytes()
    cache.write_bytes(data[: len(data) // 2])
    before = digest(cache)
    for integrity in ("auto", "quick", "full"):
        with pytest.raises(StoreError) as err:
            open_db(path, integrity=integrity)  # type: ignore[arg-type]
        text = one_sentence(err.value)
        assert "truncated" in text and str(cache) in text and "run `sia-tui sync`" in text
        assert f"{path} and are kept" in text
    assert digest(cache) == before


def test_a_damaged_records_file_is_never_called_rebuildable(tmp_path):
    path = tmp_path / "sandbox.db"
    fill(path)
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 2] if len(data) > 8192 else b"not sqlite" * 50)
    before = digest(path)
    with pytest.raises(StoreError) as err:
        open_db(path)
    text = one_sentence(err.value)
    assert str(path) in text and "cannot be rebuilt" in text and "do not delete it" in text
    assert "sia-tui sync" not in text and "delete it and" not in text
    assert digest(path) == before


def test_an_empty_file_becomes_a_new_cache(tmp_path):
    path = tmp_path / "cache.db"
    path.touch()
    assert open_db(path).conn.execute("SELECT count(*) FROM people").fetchone()[0] == 0


def damage_a_page_in_the_middle(path) -> None:
    conn = sqlite3.connect(path)
    page_size = conn.execute("PRAGMA page_size").fetchone()[0]
    root = conn.execute("SELECT rootpage FROM sqlite_master WHERE name = 'ix_people_last_name'").fetchone()[0]
    conn.close()
    with open(path, "r+b") as fh:
        fh.seek((root - 1) * page_size)
        fh.write(b"\xff" * page_size)


def test_the_full_check_finds_damage_inside_the_file(tmp_path):
    path = tmp_path / "sandbox.db"
    fill(path)
    cache = cache_path_for(path)
    damage_a_page_in_the_middle(cache)
    before = digest(cache)
    assert check_integrity(cache) is not None
    with pytest.raises(StoreError) as err:
        open_db(path)  # small file: the full check runs at every open
    assert "damaged" in one_sentence(err.value)
    assert digest(cache) == before


def test_a_large_cache_skips_the_full_check_unless_asked_or_after_a_crash(tmp_path, monkeypatch):
    monkeypatch.setattr(store_db, "FULL_CHECK_MAX_BYTES", 0)  # every file counts as large
    path = tmp_path / "cache.db"
    fill(path)
    checks: list[str] = []
    real = store_db.check_integrity

    def counting(target):  # type: ignore[no-untyped-def]
        checks.append("full")
        return real(target)

    monkeypatch.setattr(store_db, "check_integrity", counting)
    open_db(path).conn.close()
    assert checks == []  # a clean shutdown left no log: start-up reads no more than the header and schema
    open_db(path, integrity="full").conn.close()
    assert checks == ["full", "full"]  # the cache and the records file

    # A crash: the write-ahead log is left behind (copied while a connection still holds it).
    live = open_db(path)
    upsert_people(live, [{"marketo_id": 99999, "first_name": "After"}])
    crashed = tmp_path / "crashed"
    crashed.mkdir()
    shutil.copy(path, crashed / "cache.db")
    for suffix in ("", "-wal"):
        shutil.copy(f"{cache_path_for(path)}{suffix}", crashed / f"cache.cache.db{suffix}")
    live.conn.close()
    checks.clear()
    reopened = open_db(crashed / "cache.db")
    assert checks == ["full"]  # only the cache was left with a log
    assert (
        reopened.conn.execute("SELECT first_name FROM people WHERE marketo_id = 99999").fetchone()[0]
        == "After"
    )


def test_damage_met_later_is_one_sentence_too(tmp_path, monkeypatch):
    monkeypatch.setattr(store_db, "FULL_CHECK_MAX_BYTES", 0)
    path = tmp_path / "cache.db"
    fill(path)
    damage_a_page_in_the_middle(cache_path_for(path))
    d = open_db(path)  # large and cleanly closed: opens at once, damage unseen so far
    with pytest.raises(sqlite3.DatabaseError) as err:
        d.conn.execute(
            "SELECT count(*) FROM people INDEXED BY ix_people_last_name WHERE last_name > ''"
        ).fetchone()
    assert "damaged" in one_sentence(store_db.store_error(cache_path_for(path), err.value, "cache"))
    assert check_integrity(d) is not None


def test_the_compliance_ledger_is_append_only(tmp_path):
    from sia_tui.compliance.ledger import ledger_entries, record_decision
    from sia_tui.store.db import transaction

    path = tmp_path / "cache.db"
    d = open_db(path)
    with transaction(d):
        first = record_decision(
            d, item_id="a" * 32, marketo_id=1001, email="ann@example.com", decision="blocked",
            reason="Marketo has ann@example.com as unsubscribed", source="marketo live check",
        )  # fmt: skip
    before = ledger_entries(d)
    assert [e["seq"] for e in before] == [first] and before[0]["decision"] == "blocked"

    attempts = [
        ("UPDATE compliance_ledger SET decision = 'allowed' WHERE seq = ?", (first,)),
        ("UPDATE compliance_ledger SET reason = ''", ()),
        ("DELETE FROM compliance_ledger WHERE seq = ?", (first,)),
        ("DELETE FROM compliance_ledger", ()),
        (  # a REPLACE deletes the old row first: refused as well
            "INSERT OR REPLACE INTO compliance_ledger (seq, at, item_id, marketo_id, email, decision, reason, "
            "source) VALUES (?, '2026-01-01T00:00:00', ?, 1001, 'ann@example.com', 'allowed', 'edited', 'x')",
            (first, "a" * 32),
        ),
    ]
    for sql, args in attempts:
        with pytest.raises(sqlite3.DatabaseError, match="the compliance ledger is append-only"):
            d.conn.execute(sql, args)
    with pytest.raises(sqlite3.DatabaseError, match="append-only"):
        d.table("compliance_ledger").delete(first)
    assert ledger_entries(d) == before

    # Appending still works, and the refusal is part of the file: any other connection meets it too.
    with transaction(d):
        second = record_decision(
            d, item_id="b" * 32, marketo_id=1002, email="bo@example.com", decision="allowed",
            reason="no unsubscribe flag in Marketo", source="marketo live check",
        )  # fmt: skip
    d.conn.close()
    other = sqlite3.connect(path)
    try:
        for sql, args in attempts:  # REPLACE too, though plain connections fire no delete trigger for it
            with pytest.raises(sqlite3.DatabaseError, match="append-only"):
                other.execute(sql, args)
        rows = other.execute("SELECT seq, decision, reason FROM compliance_ledger ORDER BY seq").fetchall()
    finally:
        other.close()
    assert rows == [
        (first, "blocked", "Marketo has ann@example.com as unsubscribed"),
        (second, "allowed", "no unsubscribe flag in Marketo"),
    ]
