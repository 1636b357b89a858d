"""Migration r009 (the inbox) widens two CHECK constraints in place: the outbox's kinds and the ledger's decisions.
It must keep every row, keep refusing values nobody allowed, and compose with another branch widening the same
CHECK (the campaign kinds) in either order."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest

from sia_tui.store.db import connect, migrate
from sia_tui.store.migrations import RECORDS_MIGRATIONS, _widen_check


def _kinds_check(conn: sqlite3.Connection) -> str:
    sql = conn.execute("SELECT sql FROM sqlite_master WHERE name = 'outbox'").fetchone()[0]
    return sql[sql.index("CHECK (kind") :].split(")")[0]


def _insert_outbox(conn: sqlite3.Connection, item_id: str, kind: str) -> None:
    conn.execute(
        "INSERT INTO outbox (id, kind, marketo_id, payload, person, seller, local_date, occurred_at, created_at, "
        "updated_at) VALUES (?, ?, 1, '{}', '{}', '{}', '2026-03-02', 'x', 'x', 'x')",
        (item_id, kind),
    )


def test_new_kinds_and_decisions_are_accepted_and_unknown_ones_still_refused(tmp_path: Path) -> None:
    conn = connect(tmp_path / "records.db")
    migrate(conn, RECORDS_MIGRATIONS[:-1])
    _insert_outbox(conn, "a" * 32, "email")
    conn.execute(
        "INSERT INTO compliance_ledger (at, decision, reason, source) VALUES ('x', 'allowed', 'r', 's')"
    )
    migrate(conn, RECORDS_MIGRATIONS)
    _insert_outbox(conn, "b" * 32, "reply")
    _insert_outbox(conn, "c" * 32, "bounce")
    conn.execute(
        "INSERT INTO compliance_ledger (at, decision, reason, source) VALUES ('x', 'opted_out', 'r', 's')"
    )
    conn.execute(
        "INSERT INTO compliance_ledger (at, decision, reason, source) VALUES ('x', 'suppressed', 'r', 's')"
    )
    with pytest.raises(sqlite3.IntegrityError):
        _insert_outbox(conn, "d" * 32, "tweet")
    with pytest.raises(sqlite3.IntegrityError):
        conn.execute(
            "INSERT INTO compliance_ledger (at, decision, reason, source) VALUES ('x', 'maybe', 'r', 's')"
        )
    with pytest.raises(sqlite3.IntegrityError, match="append-only"):
        conn.execute("DELETE FROM compliance_ledger")
    assert [r[0] for r in conn.execute("SELECT kind FROM outbox ORDER BY id")] == ["email", "reply", "bounce"]
    assert conn.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
    assert conn.execute("SELECT bounce FROM outbox WHERE id = ?", ("a" * 32,)).fetchone()[0] is None


@pytest.mark.parametrize("campaigns_first", [True, False])
def test_widening_composes_with_another_branch_in_either_order(tmp_path: Path, campaigns_first: bool) -> None:
    conn = connect(tmp_path / "records.db")
    migrate(conn, RECORDS_MIGRATIONS[:-1])
    steps = [("campaign_add", "campaign_remove"), ("reply", "bounce")]
    for values in steps if campaigns_first else steps[::-1]:
        conn.execute("BEGIN IMMEDIATE")
        _widen_check(conn, "outbox", "kind", values)
        conn.execute("COMMIT")
    conn.execute("BEGIN IMMEDIATE")
    _widen_check(conn, "outbox", "kind", ("reply",))  # again: nothing changes
    conn.execute("COMMIT")
    check = _kinds_check(conn)
    for kind in ("email", "call", "campaign_add", "campaign_remove", "reply", "bounce"):
        assert f"'{kind}'" in check
        _insert_outbox(conn, kind.ljust(32, "0"), kind)
    assert check.count("'reply'") == 1
