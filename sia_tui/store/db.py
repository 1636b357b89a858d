"""Opening a profile's two SQLite files: WAL, busy timeout, 0600 file mode and ``user_version`` migrations.

A profile keeps what cannot be rebuilt apart from what can (DESIGN: "no repair, resync or cache rebuild ever
touches the latter"):

- the **records** file ``<profile>.db``: opt-outs, the compliance ledger, the outbox, reminder tasks and the
  queue of opt-outs bound for Salesforce. Never deleted or rebuilt by sia-tui, and never by advice it prints.
- the **cache** file ``<profile>.cache.db``: people, their search index, sync watermarks, the smart grid's data.
  Everything in it comes from Marketo; deleting it and running ``sia-tui sync`` rebuilds it.

:func:`open_db` opens the records file with the cache attached as schema ``cache``, so every feature keeps one
connection and unqualified table names reach either file. A transaction that writes both is atomic per file, not
across them: writers order their steps so that a crash in between repeats work instead of losing it (the people
sync queues an opt-out for Salesforce before it stores the flag). :func:`open_cache` opens the cache alone.

Never touch a database file outside SQLite once a connection to it may exist in this process: on POSIX,
closing *any* descriptor of a file drops every lock the process holds on it, which breaks WAL's locking (another
process then deletes the ``-wal`` the first one still writes to). The raw header check therefore runs only
before this process has opened the file with SQLite (see :data:`_opened`).

Integrity: ``PRAGMA quick_check`` reads the whole file (about 1 s for a million cached people), too slow for every
start. :func:`open_db` therefore always does the cheap checks (SQLite header, a file no shorter than its header
says, a readable schema) and the full check only when it is cheap (a small file), when the last session did not
close cleanly (its write-ahead log is still there), or when asked (``integrity="full"``, :func:`check_integrity`).
A damaged file raises :class:`StoreError` before anything is written to it.
"""

from __future__ import annotations

import os
import sqlite3
import threading
from collections.abc import Sequence
from pathlib import Path
from typing import Literal

import sqlite_utils

from sia_tui.i18n import _
from sia_tui.store.migrations import CACHE_MIGRATIONS, LEGACY_VERSION, RECORDS_MIGRATIONS, Migration
from sia_tui.store.people import rebuild_stale_search_index
from sia_tui.store.txn import transaction

__all__ = ["StoreError", "cache_path_for", "connect", "open_cache", "open_db", "open_file", "store_error", "transaction"]

BUSY_TIMEOUT_MS = 5000
#: Files up to this size get the full integrity check at every open (it takes well under 0.1 s).
FULL_CHECK_MAX_BYTES = 64 * 1024 * 1024
SQLITE_MAGIC = b"SQLite format 3\x00"
CACHE_SCHEMA = "cache"

Integrity = Literal["auto", "full", "quick"]
Kind = Literal["records", "cache"]

#: SQLite ``application_id`` marks (header bytes 68-71) that say which file is which, so that tools, and the
#: sandbox's ``serve --state`` (which refuses to wipe them), recognise a profile's files without guessing.
RECORDS_APPLICATION_ID = 0x53494152  # "SIAR"
CACHE_APPLICATION_ID = 0x53494143  # "SIAC"


class StoreError(RuntimeError):
    """The local database cannot be used; the message says why and what to do."""


#: How many open connections of this process have each file (by real path). While a file is here, nothing may
#: open it with ``open()``: closing that descriptor would drop the locks SQLite holds on it.
_open_counts: dict[str, int] = {}
_opened_lock = threading.Lock()


def _key(path: str | Path) -> str:
    return os.path.realpath(path)


def _register(path: str | Path) -> None:
    with _opened_lock:
        key = _key(path)
        _open_counts[key] = _open_counts.get(key, 0) + 1


def _unregister(paths: list[str]) -> None:
    with _opened_lock:
        for key in paths:
            left = _open_counts.get(key, 0) - 1
            if left > 0:
                _open_counts[key] = left
            else:
                _open_counts.pop(key, None)


def opened_by_this_process(path: str | Path) -> bool:
    with _opened_lock:
        return _key(path) in _open_counts


class TrackedConnection(sqlite3.Connection):
    """A connection that tells :func:`opened_by_this_process` when it closes (one never closed counts forever)."""

    _files: list[str]

    def close(self) -> None:
        files, self._files = getattr(self, "_files", []), []
        super().close()
        _unregister(files)


def cache_path_for(records_path: str | Path) -> Path:
    """``prod.db`` → ``prod.cache.db``: the cache always sits beside its records file."""
    p = Path(records_path)
    return p.with_name(f"{p.stem}.cache{p.suffix or '.db'}")


def _create_private(path: Path) -> None:
    """Create the file with mode 0600 before SQLite opens it, so it is never world-readable, even briefly."""
    try:
        path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
        if path.exists():
            return
        try:
            fd = os.open(path, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o600)
        except FileExistsError:  # another process created it a moment ago
            return
        os.close(fd)
    except PermissionError:
        raise StoreError(
            _(
                "sia-tui may not create {path}: its folder is read-only. Check the folder's permissions, or set "
                "SIA_HOME to a writable folder."
            ).format(path=path)
        ) from None


def connect(
    path: str | Path, *, check_same_thread: bool = True, attach_cache: str | Path | None = None
) -> sqlite3.Connection:
    """A configured connection (no checks, no migrations); ``attach_cache``: the cache file to attach."""
    if str(path) != ":memory:":
        _create_private(Path(path))
        _register(path)
    conn = sqlite3.connect(
        str(path),
        timeout=BUSY_TIMEOUT_MS / 1000,
        isolation_level=None,
        check_same_thread=check_same_thread,
        factory=TrackedConnection,
    )
    assert isinstance(conn, TrackedConnection)
    conn._files = [_key(path)] if str(path) != ":memory:" else []
    conn.execute(f"PRAGMA busy_timeout = {BUSY_TIMEOUT_MS}")
    conn.execute("PRAGMA journal_mode = WAL")
    conn.execute("PRAGMA synchronous = NORMAL")
    conn.execute("PRAGMA foreign_keys = ON")
    conn.execute("PRAGMA temp_store = MEMORY")
    if attach_cache is not None:
        _attach(conn, attach_cache)
    return conn


def migrate(conn: sqlite3.Connection, migrations: Sequence[Migration] = RECORDS_MIGRATIONS) -> int:
    """Apply pending migrations, each in its own transaction; returns the schema version."""
    version = conn.execute("PRAGMA user_version").fetchone()[0]
    if version > len(migrations):
        raise StoreError(
            _(
                "This database was written by a newer sia-tui (schema {version}, this one knows {known}). "
                "Upgrade sia-tui."
            ).format(version=version, known=len(migrations))
        )
    for number, migration in enumerate(migrations[version:], start=version + 1):
        conn.execute("BEGIN IMMEDIATE")
        try:
            migration(conn)
            conn.execute(f"PRAGMA user_version = {number}")
            conn.execute("COMMIT")
        except BaseException:
            conn.execute("ROLLBACK")
            raise
    return len(migrations)


def _damaged(path: str | Path, why: str, kind: Kind = "records") -> StoreError:
    if kind == "cache":
        return StoreError(
            _(
                "The cache {path} is damaged ({why}); sia-tui left it untouched. It holds only what comes from "
                "Marketo: delete it and run `sia-tui sync` to rebuild it (your opt-outs, ledger, outbox and tasks "
                "are in {records} and are kept)."
            ).format(path=path, why=why, records=records_path_of(path))
        )
    return StoreError(
        _(
            "The records file {path} is damaged ({why}); sia-tui left it untouched. It holds your opt-outs, "
            "compliance ledger, outbox and tasks, which cannot be rebuilt: do not delete it; copy it somewhere safe "
            "and restore it from a backup, or recover what SQLite can with `sqlite3 FILE .recover`."
        ).format(path=path, why=why)
    )


def records_path_of(cache_path: str | Path) -> Path:
    p = Path(cache_path)
    stem = p.stem[: -len(".cache")] if p.stem.endswith(".cache") else p.stem
    return p.with_name(f"{stem}{p.suffix or '.db'}")


def check_header(path: str | Path, kind: Kind = "records") -> None:
    """Refuse a file that is not SQLite, or shorter than its own header says (truncated), without opening it.

    Skipped once this process has the file open in SQLite (reading it with ``open()`` would drop SQLite's locks).
    """
    p = Path(path)
    if opened_by_this_process(p):
        return
    try:
        size = p.stat().st_size
    except FileNotFoundError:
        return
    if p.is_dir():
        raise StoreError(
            _("{path} is a folder, not a database file; move it away or choose another SIA_HOME.").format(path=path)
        )
    if size == 0:
        return  # a new, empty database
    try:
        fd = os.open(p, os.O_RDONLY)
    except PermissionError:
        raise StoreError(
            _("sia-tui may not read {path}: check the file's owner and permissions.").format(path=path)
        ) from None
    try:
        header = os.pread(fd, 100, 0)
    finally:
        os.close(fd)
    if len(header) < 100 or not header.startswith(SQLITE_MAGIC):
        raise _damaged(path, "it is not an SQLite database", kind)
    page_size = int.from_bytes(header[16:18], "big")
    page_size = 65536 if page_size == 1 else page_size
    pages = int.from_bytes(header[28:32], "big")
    # The page count in the header is only valid when the "version valid for" number equals the change counter.
    if header[92:96] == header[24:28] and pages and size < pages * page_size:
        raise _damaged(path, f"it is truncated: {size:,} of {pages * page_size:,} bytes", kind)


def check_integrity(db_or_path: sqlite_utils.Database | str | Path) -> str | None:
    """Run SQLite's full ``quick_check`` (reads every page); None when the file is sound, else what is wrong.

    For ``doctor``-style commands or a background thread: at a million people it takes about a second.
    """
    if isinstance(db_or_path, sqlite_utils.Database):
        rows = db_or_path.conn.execute("PRAGMA quick_check(5)").fetchall()
    else:
        check_header(db_or_path)
        conn = sqlite3.connect(f"file:{db_or_path}?mode=ro", uri=True, timeout=BUSY_TIMEOUT_MS / 1000)
        try:
            rows = conn.execute("PRAGMA quick_check(5)").fetchall()
        except sqlite3.DatabaseError as exc:
            return str(exc)
        finally:
            conn.close()
    lines = [line.strip(" *") for r in rows for line in str(r[0]).splitlines()]
    problems = [line for line in lines if line and not line.startswith("in database")]
    if problems == ["ok"]:
        return None
    more = len(problems) - 1
    return problems[0] + (f", and {more} more problem{'s' if more > 1 else ''}" if more else "")


def _wants_full_check(path: str | Path, integrity: Integrity) -> bool:
    if integrity != "auto" or str(path) == ":memory:":
        return integrity == "full"
    p = Path(path)
    try:
        if p.stat().st_size <= FULL_CHECK_MAX_BYTES:
            return True
    except FileNotFoundError:
        return True
    wal = Path(f"{p}-wal")
    # SQLite removes the log when the last connection closes; one left behind means a crash or a kill (or another
    # process has the cache open right now, when the check is merely unnecessary).
    return wal.exists() and wal.stat().st_size > 0


def open_file(
    path: str | Path, *, kind: Kind, check_same_thread: bool = True, integrity: Integrity = "auto"
) -> sqlite_utils.Database:
    """Open (creating and migrating if needed) one file of a profile, alone (no attached cache)."""
    migrations = CACHE_MIGRATIONS if kind == "cache" else RECORDS_MIGRATIONS
    try:
        if str(path) != ":memory:":
            check_header(path, kind)
        full = _wants_full_check(path, integrity)
        conn = connect(path, check_same_thread=check_same_thread)
        try:
            conn.execute("SELECT count(*) FROM sqlite_master").fetchone()
            if full:
                problem = check_integrity(sqlite_utils.Database(conn))
                if problem is not None:
                    raise _damaged(path, problem, kind)
            migrate(conn, migrations)
            if kind == "cache":
                rebuild_stale_search_index(conn)
            _mark(conn, CACHE_APPLICATION_ID if kind == "cache" else RECORDS_APPLICATION_ID)
        except BaseException:
            conn.close()
            raise
    except sqlite3.DatabaseError as exc:
        raise store_error(path, exc, kind) from None
    return sqlite_utils.Database(conn)


def _mark(conn: sqlite3.Connection, application_id: int) -> None:
    """Write the file's kind into its header once (files from before the marks get it at their next open)."""
    if conn.execute("PRAGMA application_id").fetchone()[0] != application_id:
        conn.execute(f"PRAGMA application_id = {application_id}")


def open_db(
    path: str | Path,
    *,
    check_same_thread: bool = True,
    integrity: Integrity = "auto",
    cache_path: str | Path | None = None,
) -> sqlite_utils.Database:
    """Open a profile: its records file at ``path`` with its cache (beside it unless given) attached.

    Both files are created, checked and migrated as needed, each on its own. On the returned connection
    unqualified table names reach either file (people, outbox ...). ``integrity``: "auto" (cheap checks, plus the
    full one when cheap or after an unclean shutdown), "full" or "quick" (cheap checks only). A damaged or locked
    file raises :class:`StoreError` with one clear sentence naming which file it is and what to do, and is never
    written to.
    """
    records = Path(path)
    cache = Path(cache_path) if cache_path is not None else cache_path_for(records)
    _split_legacy(records, cache)
    open_file(cache, kind="cache", check_same_thread=check_same_thread, integrity=integrity).conn.close()
    db = open_file(records, kind="records", check_same_thread=check_same_thread, integrity=integrity)
    try:
        _attach(db.conn, cache)
    except sqlite3.DatabaseError as exc:
        db.conn.close()
        raise store_error(cache, exc, "cache") from None
    return db


def open_cache(
    path: str | Path, *, check_same_thread: bool = True, integrity: Integrity = "quick"
) -> sqlite_utils.Database:
    """The cache alone, for long writers (people sync) and readers that need nothing else (people search)."""
    return open_file(path, kind="cache", check_same_thread=check_same_thread, integrity=integrity)


def _attach(conn: sqlite3.Connection, cache: str | Path) -> None:
    _register(cache)
    if isinstance(conn, TrackedConnection):
        conn._files.append(_key(cache))
    conn.execute(f"ATTACH DATABASE ? AS {CACHE_SCHEMA}", (str(cache),))
    conn.execute(f"PRAGMA {CACHE_SCHEMA}.journal_mode = WAL")
    conn.execute(f"PRAGMA {CACHE_SCHEMA}.synchronous = NORMAL")


def _split_legacy(records: Path, cache: Path) -> None:
    """Before this layout one file held everything: copy it whole as the cache, once, before either is migrated.

    Each file's own migration then drops what belongs to the other (records keep the outbox, the cache keeps the
    people), so a seller with a million cached people does not wait for a full resync. ``VACUUM INTO`` copies a
    consistent snapshot through SQLite; the copy is renamed into place only when complete, so a crash or a second
    process starting at the same moment leaves either no cache (the split runs again) or a whole one.
    """
    if cache.exists() or not records.exists() or records.stat().st_size == 0:
        return
    try:
        check_header(records)
        conn = connect(records)
        try:
            version = conn.execute("PRAGMA user_version").fetchone()[0]
            if not 0 < version <= LEGACY_VERSION or cache.exists():
                return
            tmp = cache.with_name(f"{cache.name}.split-{os.getpid()}")
            tmp.unlink(missing_ok=True)
            conn.execute("VACUUM INTO ?", (str(tmp),))
        finally:
            conn.close()
    except sqlite3.DatabaseError as exc:
        raise store_error(records, exc) from None
    os.chmod(tmp, 0o600)
    try:
        os.link(tmp, cache)  # fails if another process put its copy there first
    except FileExistsError:
        pass
    finally:
        tmp.unlink(missing_ok=True)


def store_error(path: str | Path, exc: sqlite3.DatabaseError, kind: Kind = "records") -> StoreError:
    """One sentence for an SQLite error met while using a profile's files (damaged, locked, read-only ...).

    ``path`` is the file, or the profile's data folder when the failing statement may have been on either file.
    Only an answer that says the file's content is bad calls it damaged: a lock, a permission, a full disk or a
    missing folder never does (their advice would be wrong and alarming).
    """
    text = str(exc)
    lowered = text.lower()
    where = (
        _("sia-tui's data in {path}").format(path=path)
        if Path(path).is_dir()
        else _("The database {path}").format(path=path)
    )
    if "locked" in lowered or "busy" in lowered:
        return StoreError(
            _(
                "{where} is locked by another process (another sia-tui, its worker or a sqlite3 shell) for more "
                "than {seconds} s; try again when it has finished."
            ).format(where=where, seconds=f"{BUSY_TIMEOUT_MS / 1000:g}")
        )
    if "readonly" in lowered or "read-only" in lowered or "read only" in lowered:
        return StoreError(
            _("sia-tui may not write to {path} (read-only file or folder); check its permissions.").format(
                path=path
            )
        )
    if "unable to open" in lowered or "cantopen" in lowered:
        return StoreError(
            _("sia-tui cannot open {path}: check that its folder exists and is writable.").format(path=path)
        )
    if "disk is full" in lowered or "database or disk is full" in lowered:
        return StoreError(
            _("The disk holding {path} is full; free some space and try again.").format(path=path)
        )
    if "disk i/o error" in lowered:
        return StoreError(
            _(
                "The disk holding {path} failed a read or write (disk I/O error): check that the folder is "
                "writable and the disk is healthy, then try again."
            ).format(path=path)
        )
    if "malformed" in lowered or "not a database" in lowered or "corrupt" in lowered:
        return _damaged(path, text, kind)
    return StoreError(_("{where} cannot be used ({reason}).").format(where=where, reason=text))
