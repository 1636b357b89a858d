"""Several processes on one profile share one database: nobody ends up on a private copy (issue 12.1).

On POSIX, closing *any* descriptor of a file drops every lock the process holds on it. SQLite's WAL keeps a shared
lock on the database file for as long as a connection is open; without it, the next process to close believes it
is the last one, checkpoints and deletes the ``-wal`` while the first process keeps writing into the deleted file.
"""

from __future__ import annotations

import os
import sqlite3
import subprocess
import sys
from pathlib import Path

from sia_tui.store.db import cache_path_for, open_db

WRITE = """
import sys
from sia_tui.store.db import open_db
db = open_db(sys.argv[1])
db.conn.execute("INSERT INTO optouts (email, reason, created_at) VALUES (?, 'cli', '2026-12-07T00:00:00Z')",
                (sys.argv[2],))
db.conn.close()
"""

COUNT = """
import sys, sqlite3
conn = sqlite3.connect(sys.argv[1])
print(conn.execute("SELECT group_concat(email, ',') FROM (SELECT email FROM optouts ORDER BY email)").fetchone()[0])
"""


def run(script: str, *args: str) -> str:
    done = subprocess.run([sys.executable, "-c", script, *args], capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    return done.stdout.strip()


def deleted_database_files() -> list[str]:
    """Files this process still holds open although they were deleted (a private copy of the log)."""
    found = []
    for fd in os.listdir("/proc/self/fd"):
        try:
            target = os.readlink(f"/proc/self/fd/{fd}")
        except OSError:
            continue
        if target.endswith(" (deleted)") and (".db-wal" in target or ".db-shm" in target):
            found.append(target)
    return found


def test_opening_a_profile_twice_in_one_process_keeps_its_locks(tmp_path: Path):
    path = tmp_path / "sandbox.db"
    app = open_db(path)  # the app's connection, open for the whole session
    app.conn.execute("INSERT INTO optouts (email, reason, created_at) VALUES ('a@example.com', 'app', 'x')")
    open_db(path).conn.close()  # the app opens the profile again (a screen, the worker, a check)
    run(WRITE, str(path), "b@example.com")  # a headless command writes and exits
    app.conn.execute("INSERT INTO optouts (email, reason, created_at) VALUES ('c@example.com', 'app', 'x')")

    assert deleted_database_files() == []
    # A third process sees every write: the app's, before and after the command's, and the command's.
    assert run(COUNT, str(path)) == "a@example.com,b@example.com,c@example.com"
    app.conn.close()
    for file in (path, cache_path_for(path)):
        assert sqlite3.connect(file).execute("PRAGMA integrity_check").fetchone()[0] == "ok"
