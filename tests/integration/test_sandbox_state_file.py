"""``sandbox serve --state FILE`` keeps its state only in a file that is its own (issue 12, item 3).

Anything else (a text file, another program's database, a sia-tui profile's records or cache) is refused with a
sentence that says what the file is, and not one byte of it (nor a -wal/-shm beside it) is written.
"""

from __future__ import annotations

import hashlib
import sqlite3
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from sia_sandbox.state import open_state
from sia_tui.cli import main
from sia_tui.store import db as store_db
from tests.conftest import sandbox_config


@pytest.fixture(autouse=True)
def never_listen(monkeypatch):
    """A refusal happens before any socket is bound; if one is not, the command fails here instead of serving."""
    from sia_sandbox import server

    def refuse(host: str, port: int) -> None:
        raise OSError("this test never lets the sandbox listen")

    monkeypatch.setattr(server, "_bind", refuse)


def serve(capsys, state: Path) -> tuple[int, str]:
    code = main(["--headless", "sandbox", "serve", "--people", "20", "--state", str(state)])
    return code, capsys.readouterr().err


def snapshot(folder: Path) -> dict[str, str]:
    """Every file in ``folder`` with its content's digest (so new -wal/-shm files show up too)."""
    return {
        p.name: hashlib.sha256(p.read_bytes()).hexdigest() for p in sorted(folder.iterdir()) if p.is_file()
    }


def profile(folder: Path) -> tuple[Path, Path]:
    """A sia-tui profile's two files holding an opt-out and a cached person, closed again."""
    records = folder / "prod.db"
    db = store_db.open_db(records)
    db.conn.execute(
        "INSERT INTO optouts (email, marketo_id, reason, created_at) "
        "VALUES ('ada@example.com', 1001, 'asked', '2026-03-01T00:00:00Z')"
    )
    db.conn.execute("INSERT INTO people (marketo_id, email) VALUES (1001, 'ada@example.com')")
    db.conn.close()
    return records, store_db.cache_path_for(records)


def refused(capsys, path: Path, *phrases: str) -> None:
    before = snapshot(path.parent) if path.parent.is_dir() else {}
    code, err = serve(capsys, path)
    lines = [line for line in err.strip().splitlines() if line]
    assert code == 1 and len(lines) == 1 and lines[0].startswith("error: --state "), err
    assert "left untouched" in err and "unexpected" not in err
    for phrase in phrases:
        assert phrase in err, err
    assert snapshot(path.parent) == before


def test_a_text_file_is_refused_and_left_as_it_was(capsys, tmp_path):
    notes = tmp_path / "notes.txt"
    notes.write_text("my meeting notes\n", encoding="utf-8")
    refused(capsys, notes, "not a sandbox state file", "text")
    assert notes.read_text(encoding="utf-8") == "my meeting notes\n"


@pytest.mark.parametrize("which", ["records", "cache"])
def test_a_profiles_own_files_are_refused_naming_what_they_hold(capsys, tmp_path, which):
    records, cache = profile(tmp_path)
    if which == "records":
        refused(capsys, records, "records file", "opt-outs, compliance ledger, outbox and tasks")
    else:
        refused(capsys, cache, "cache", "people")
    db = store_db.open_db(records)
    try:
        assert db.conn.execute("SELECT count(*) FROM optouts").fetchone()[0] == 1
        assert db.conn.execute("SELECT count(*) FROM people").fetchone()[0] == 1
    finally:
        db.conn.close()


@pytest.mark.parametrize("which", ["records", "cache"])
def test_profile_files_from_before_the_marks_are_recognised_by_their_tables(capsys, tmp_path, which):
    records, cache = profile(tmp_path)
    for path in (records, cache):
        conn = sqlite3.connect(path)
        conn.execute("PRAGMA application_id = 0")
        conn.close()
    refused(
        capsys, records if which == "records" else cache, "records file" if which == "records" else "cache"
    )


def test_a_folder_and_another_programs_database_are_refused(capsys, tmp_path):
    code, err = serve(capsys, tmp_path)
    assert code == 1 and "is a folder" in err and "sandbox-state.db" in err
    other = tmp_path / "photos.sqlite"
    with sqlite3.connect(other) as conn:
        conn.execute("CREATE TABLE albums (id INTEGER PRIMARY KEY, name TEXT)")
        conn.execute("INSERT INTO albums (name) VALUES ('holiday')")
    conn.close()
    refused(capsys, other, "another program's SQLite database")
    with sqlite3.connect(other) as conn:
        conn.execute("PRAGMA application_id = 1234")
    conn.close()
    refused(capsys, other, "another program's SQLite database")


def test_the_sandboxs_own_state_new_empty_or_old_is_accepted(tmp_path):
    from sia_sandbox.state_file import check_state_file

    def regenerated(path: Path) -> bool:
        state = open_state(sandbox_config(people=20, state_path=str(path)))
        state.close()
        return state.regenerated

    state = tmp_path / "sandbox-state.db"
    assert regenerated(state)  # new: generated
    assert not regenerated(state)  # its own: reopened, not regenerated
    conn = sqlite3.connect(state)  # a state file written before the mark existed
    conn.execute("PRAGMA application_id = 0")
    conn.close()
    assert check_state_file(state) is True
    assert not regenerated(state)
    assert check_state_file(state) is False  # marked now
    empty = tmp_path / "empty.db"
    empty.touch()
    assert regenerated(empty)


def test_the_marks_are_one_contract_between_the_app_and_the_sandbox():
    from sia_sandbox import state_file

    assert store_db.RECORDS_APPLICATION_ID == state_file.PROFILE_RECORDS_APPLICATION_ID
    assert store_db.CACHE_APPLICATION_ID == state_file.PROFILE_CACHE_APPLICATION_ID
    assert (
        len(
            {
                store_db.RECORDS_APPLICATION_ID,
                store_db.CACHE_APPLICATION_ID,
                state_file.SANDBOX_APPLICATION_ID,
            }
        )
        == 3
    )


@settings(max_examples=50, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(content=st.binary(min_size=1, max_size=4096))
def test_any_other_file_is_refused_and_never_written(tmp_path, content):
    from sia_sandbox.state_file import StateFileError, check_state_file

    path = tmp_path / "any.bin"
    path.write_bytes(content)
    with pytest.raises(StateFileError):
        check_state_file(path)
    with pytest.raises(StateFileError):
        open_state(sandbox_config(people=5, state_path=str(path)))
    assert path.read_bytes() == content
    assert sorted(p.name for p in tmp_path.iterdir()) == ["any.bin"]
