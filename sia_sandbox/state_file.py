"""Which file the sandbox may keep its state in: its own, a new one, or an empty one. Never anything else.

A state file the sandbox does not recognise is regenerated from scratch (every table dropped), so pointing
``sandbox serve --state`` at the wrong file would destroy it: a text file, another program's database, or a
sia-tui profile (its opt-outs, compliance ledger and outbox cannot be rebuilt). :func:`check_state_file` decides
before anything opens the file for writing, and never writes to a file that is not ours.

Sandbox state files are marked unmistakably: SQLite's ``application_id`` header field holds
:data:`SANDBOX_APPLICATION_ID`. sia-tui's profile files carry their own ids (written by ``sia_tui.store.db``; the
numbers are a file-format contract, repeated here because the sandbox imports nothing of the app). Files from
before the marks existed are recognised by their tables, read through SQLite in read-only, immutable mode.
"""

from __future__ import annotations

import os
import sqlite3
import threading
from pathlib import Path
from typing import Literal
from urllib.parse import quote

SQLITE_MAGIC = b"SQLite format 3\x00"
SANDBOX_APPLICATION_ID = 0x53494153  # "SIAS"
#: Written into a profile's records file (opt-outs, ledger, outbox, tasks) by sia_tui.store.db.
PROFILE_RECORDS_APPLICATION_ID = 0x53494152  # "SIAR"
#: Written into a profile's cache file (people, search index, grid) by sia_tui.store.db.
PROFILE_CACHE_APPLICATION_ID = 0x53494143  # "SIAC"

#: Tables only a profile's records file has (before application ids, and before the records/cache split).
PROFILE_RECORD_TABLES = frozenset(
    {"outbox", "outbox_destinations", "compliance_ledger", "optouts", "tasks", "salesforce_optout_queue"}
)
PROFILE_CACHE_TABLES = frozenset({"people", "people_fts", "sync_state", "grid_cache"})

Kind = Literal["folder", "not_sqlite", "profile_records", "profile_cache", "other_sqlite", "unreadable"]

_DESCRIPTIONS: dict[str, str] = {
    "folder": "{path} is a folder, not a file; give a file inside it, e.g. {path}/sandbox-state.db",
    "not_sqlite": "{path} is not a sandbox state file (it is not an SQLite database: a text or other file)",
    "profile_records": (
        "{path} is a sia-tui profile's records file (its opt-outs, compliance ledger, outbox and tasks)"
    ),
    "profile_cache": "{path} is a sia-tui profile's cache (its people, search index and smart grid)",
    "other_sqlite": "{path} is an SQLite database of something else, not a sandbox state file",
    "unreadable": "{path} cannot be read to check what it is ({reason})",
}


class StateFileError(ValueError):
    """The file cannot hold sandbox state. ``kind`` says what it is; the file was not written to."""

    def __init__(self, kind: Kind, path: str, reason: str = "") -> None:
        self.kind = kind
        self.path = path
        self.reason = reason
        what = _DESCRIPTIONS[kind].format(path=path, reason=reason)
        super().__init__(
            f"{what}; the sandbox would replace its contents, so it was left untouched. Give a new file name, or "
            "a file an earlier `sandbox serve --state` created."
        )


#: State files this process has open (by real path): their header is not read again with ``open()``, whose close
#: would drop the POSIX locks SQLite holds on them.
_open_here: set[str] = set()
_open_lock = threading.Lock()


def opened(path: str) -> None:
    with _open_lock:
        _open_here.add(os.path.realpath(path))


def closed(path: str) -> None:
    with _open_lock:
        _open_here.discard(os.path.realpath(path))


def check_state_file(path: str | os.PathLike[str]) -> bool:
    """Raise :class:`StateFileError` unless ``path`` may hold sandbox state; True when it must be marked ours.

    Accepted: a missing or empty file (True: new), a file marked as sandbox state (False), and an unmarked one
    whose tables are a sandbox state's (True: from before the mark). Nothing is written here.
    """
    p = Path(path)
    key = os.path.realpath(p)
    with _open_lock:
        if key in _open_here:
            return False
    if p.is_dir():
        raise StateFileError("folder", str(p))
    try:
        size = p.stat().st_size
    except FileNotFoundError:
        return True
    except OSError as exc:
        raise StateFileError("unreadable", str(p), exc.strerror or str(exc)) from None
    if size == 0:
        return True
    try:
        fd = os.open(p, os.O_RDONLY)
    except OSError as exc:
        raise StateFileError("unreadable", str(p), exc.strerror or str(exc)) from None
    try:
        header = os.pread(fd, 100, 0)
    finally:
        os.close(fd)
    if len(header) < 100 or not header.startswith(SQLITE_MAGIC):
        raise StateFileError("not_sqlite", str(p))
    application_id = int.from_bytes(header[68:72], "big")
    if application_id == SANDBOX_APPLICATION_ID:
        return False
    if application_id == PROFILE_RECORDS_APPLICATION_ID:
        raise StateFileError("profile_records", str(p))
    if application_id == PROFILE_CACHE_APPLICATION_ID:
        raise StateFileError("profile_cache", str(p))
    if application_id != 0:
        raise StateFileError("other_sqlite", str(p))
    return _check_unmarked(p)


def _check_unmarked(path: Path) -> bool:
    """An SQLite file without an application id: a sandbox state from before the mark, or refused."""
    uri = f"file:{quote(str(path.resolve()))}?mode=ro&immutable=1"
    try:
        conn = sqlite3.connect(uri, uri=True)
        try:
            tables = {row[0] for row in conn.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
            meta: dict[str, str] = {}
            if "meta" in tables:
                meta = {str(k): str(v) for k, v in conn.execute("SELECT key, value FROM meta")}
        finally:
            conn.close()
    except sqlite3.Error as exc:
        raise StateFileError("unreadable", str(path), str(exc)) from None
    if tables & PROFILE_RECORD_TABLES:
        raise StateFileError("profile_records", str(path))
    if tables & PROFILE_CACHE_TABLES:
        raise StateFileError("profile_cache", str(path))
    if {"meta", "leads"} <= tables and "schema_version" in meta and "seed" in meta:
        return True
    if not tables:
        return True  # an SQLite file with nothing in it: nothing to lose
    raise StateFileError("other_sqlite", str(path))
