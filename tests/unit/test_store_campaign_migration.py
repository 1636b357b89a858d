"""Migration r009 on a records file that already has an outbox: every row and destination is kept (a table
rebuild would cascade-delete the destinations), the two campaign kinds are accepted, anything else is still
refused, and a column another migration added to ``outbox`` survives."""

from __future__ import annotations

import sqlite3

import pytest

from sia_tui.store.db import connect, migrate
from sia_tui.store.migrations import RECORDS_MIGRATIONS


def records_before_campaigns(path) -> sqlite3.Connection:
    """A records file at the schema just before the campaigns migration (the last one), with one outbox item."""
    conn = connect(path)
    migrate(conn, RECORDS_MIGRATIONS[:-1])
    conn.execute(
        "INSERT INTO outbox (id, kind, marketo_id, payload, person, seller, local_date, occurred_at, state, "
        "created_at, updated_at) VALUES ('a1', 'email', 1, '{}', '{}', '{}', '2026-11-02', 'x', 'queued', 'x', 'x')"
    )
    conn.execute(
        "INSERT INTO outbox_destinations (item_id, destination, state, next_attempt_at, updated_at) "
        "VALUES ('a1', 'smtp', 'pending', 'x', 'x')"
    )
    return conn


@pytest.mark.parametrize("extra_column", [False, True])
def test_r009_keeps_the_outbox_and_accepts_the_campaign_kinds(tmp_path, extra_column):
    conn = records_before_campaigns(tmp_path / "r.db")
    if extra_column:  # e.g. the scheduled sends' not-before column, added by an earlier migration
        if not any(r[1] == "send_at" for r in conn.execute("PRAGMA table_info(outbox)")):
            conn.execute("ALTER TABLE outbox ADD COLUMN send_at TEXT")
        conn.execute("UPDATE outbox SET send_at = '2026-12-08T00:00:00+00:00'")
    assert migrate(conn, RECORDS_MIGRATIONS) == len(RECORDS_MIGRATIONS)
    assert conn.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
    assert conn.execute("SELECT id, kind FROM outbox").fetchall() == [("a1", "email")]
    assert conn.execute("SELECT item_id, destination FROM outbox_destinations").fetchall() == [("a1", "smtp")]
    if extra_column:
        assert conn.execute("SELECT send_at FROM outbox").fetchone()[0] == "2026-12-08T00:00:00+00:00"
    for kind in ("campaign_add", "campaign_remove", "call"):
        conn.execute(
            "INSERT INTO outbox (id, kind, marketo_id, payload, person, seller, local_date, occurred_at, state, "
            f"created_at, updated_at) VALUES ('{kind}', '{kind}', 1, '{{}}', '{{}}', '{{}}', 'd', 'x', 'queued', "
            "'x', 'x')"
        )
    with pytest.raises(sqlite3.IntegrityError, match="CHECK"):
        conn.execute(
            "INSERT INTO outbox (id, kind, marketo_id, payload, person, seller, local_date, occurred_at, state, "
            "created_at, updated_at) VALUES ('z', 'fax', 1, '{}', '{}', '{}', 'd', 'x', 'queued', 'x', 'x')"
        )
    tables = {r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
    assert {"campaigns", "campaign_enrolments", "campaign_tasks"} <= tables
    conn.close()
    again = connect(tmp_path / "r.db")  # a fresh connection reads the changed schema
    assert migrate(again, RECORDS_MIGRATIONS) == len(RECORDS_MIGRATIONS)
    assert again.execute("SELECT COUNT(*) FROM outbox").fetchone()[0] == 4
    again.close()
