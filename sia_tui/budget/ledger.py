"""The machine's ledger of Marketo calls: one small SQLite file every sia-tui process on the machine shares.

Marketo's limits are per instance (reference marketo-api.md §3: 100 calls per sliding 20 s, 10 in flight, a daily
quota reset at midnight US Central), so the TUI, ``worker``, ``sync --watch``, ``grid`` and any script must draw
from one budget. Each call is a row: taken (a lease) in one short ``BEGIN IMMEDIATE`` transaction when the
limits allow, closed when its reply arrives. A call occupies the window from the moment it is sent until
``window_s`` after its reply (the server counts it somewhere in between), so the machine can never exceed the
server's window whatever the latency.

- **Crashes never leak budget.** A lease carries its process's pid and start time and an expiry. When a limit
  blocks, leases of dead processes are closed (counted as ending now, which is the cautious end), and any lease
  past its expiry is closed too.
- **Interactive before background.** An interactive caller (a grid, a settings test) that must wait registers
  as a waiter; background callers take nothing while one is registered. Background calls also leave a reserve
  of the window (10%, or half while a seller has been active within the window) and one slot in flight, so a
  seller's next call rarely waits at all. Neither rule applies below a floor (10% of the window in background
  calls): sellers who keep the window busy all day never stop the sync, the feed or the outbox.
- **Everyone backs off together.** A 606/615 from the server (another integration is busy) pauses every process
  (``paused_until``); a 607 stops every process for a while (``blocked_until``) instead of each one asking.
- **Calls today** are counted per Marketo day and purpose (``sia-tui budget``); replies Marketo does not count
  (601/602/606/615/607) are taken off again.

Times in the window are wall-clock seconds (``timer``), the one clock all processes share; rows that a clock
jump left in the future are dropped. The day comes from ``clock`` (an injectable :data:`~sia_tui.clock.Clock`).
"""

from __future__ import annotations

import contextlib
import logging
import math
import sqlite3
import threading
import time
from collections import OrderedDict
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from urllib.parse import urlparse

from sia_tui.budget import holders
from sia_tui.budget.day import marketo_day
from sia_tui.budget.purpose import PURPOSES, Tag
from sia_tui.clock import Clock, system_clock

log = logging.getLogger(__name__)

LEDGER_FILE = "marketo-budget.db"
#: An interactive waiter that has not looked again for this long is gone (it polls at least every second).
WAITER_STALE_S = 2.0
#: Closed calls are kept this long (longer than Marketo's 20 s window), then deleted.
KEEP_DONE_S = 30.0
KEEP_DAYS = 8
PRUNE_EVERY_S = 1.0
#: A pause or block further ahead than this is a clock jump, not something the server asked for.
MAX_PAUSE_S = 120.0
MAX_BLOCK_S = 900.0
#: How long one 607 stops every process before one call asks Marketo again.
QUOTA_BLOCK_S = 600.0

SCHEMA = """
CREATE TABLE IF NOT EXISTS calls (
    id INTEGER PRIMARY KEY,
    instance TEXT NOT NULL,
    purpose TEXT NOT NULL,
    interactive INTEGER NOT NULL,
    pid INTEGER NOT NULL,
    pid_start TEXT,
    started REAL NOT NULL,
    expires REAL NOT NULL,
    done REAL,
    day TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS calls_by_instance_done ON calls (instance, done);
CREATE TABLE IF NOT EXISTS waiters (
    id INTEGER PRIMARY KEY,
    instance TEXT NOT NULL,
    pid INTEGER NOT NULL,
    seen REAL NOT NULL
);
CREATE INDEX IF NOT EXISTS waiters_by_instance ON waiters (instance, seen);
CREATE TABLE IF NOT EXISTS instances (
    instance TEXT PRIMARY KEY,
    paused_until REAL NOT NULL DEFAULT 0,
    pause_code TEXT,
    blocked_until REAL NOT NULL DEFAULT 0,
    last_interactive REAL NOT NULL DEFAULT 0,
    usage_day TEXT,
    usage_total INTEGER,
    usage_seen_at TEXT
);
CREATE TABLE IF NOT EXISTS daily (
    instance TEXT NOT NULL,
    day TEXT NOT NULL,
    purpose TEXT NOT NULL,
    calls INTEGER NOT NULL,
    PRIMARY KEY (instance, day, purpose)
);
"""


def instance_key(base_url: str) -> str:
    """The ledger's name for a Marketo instance: its Munchkin id for ``https://<munchkin>.mktorest.com``, else
    the lower-cased ``host[:port]`` (so every profile pointing at one instance shares one budget)."""
    text = base_url.strip().rstrip("/")
    parsed = urlparse(text if "://" in text else f"https://{text}")
    host = (parsed.hostname or text).lower()
    if host.endswith(".mktorest.com"):
        return host.split(".", 1)[0].upper()
    return host if parsed.port is None else f"{host}:{parsed.port}"


@dataclass(frozen=True)
class Limits:
    """One process's view of the instance's limits (``marketo.max_calls_per_20s`` and ``max_concurrency``)."""

    max_calls: int
    window_s: float
    max_concurrency: int
    margin_s: float = 0.05
    #: Share of the window background work leaves free at all times / while a seller is active.
    idle_reserve: float = 0.1
    busy_reserve: float = 0.5
    #: Share of the window background work may still use while sellers wait (it is never starved).
    background_floor: float = 0.1

    def background_floor_calls(self) -> int:
        return math.ceil(self.max_calls * self.background_floor) if self.max_calls > 1 else 0

    def background_calls(self, busy: bool) -> int:
        if self.max_calls <= 1:
            return self.max_calls
        reserve = math.ceil(self.max_calls * (self.busy_reserve if busy else self.idle_reserve))
        return max(1, self.max_calls - reserve)

    def background_concurrency(self) -> int:
        return self.max_concurrency - 1 if self.max_concurrency > 1 else 1


@dataclass
class Lease:
    """One call's place in the budget; closed by :meth:`Ledger.release`."""

    id: int
    instance: str
    purpose: str
    interactive: bool
    day: str


@dataclass(frozen=True)
class Blocked:
    """Why a call cannot go now, and how long until it is worth asking again (``inf``: when a call ends)."""

    reason: str  # paused | quota | window | in_flight | priority
    wait_s: float
    waiter: int | None = None  # the waiter row an interactive caller holds while it waits
    until: float = 0.0  # for "quota": the timer value the block ends at


@dataclass(frozen=True)
class WindowState:
    in_window: int
    in_flight: int
    paused_until: float
    pause_code: str | None
    blocked_until: float


class Ledger:
    """The shared ledger (see the module docstring). Thread-safe; every method is one short transaction."""

    def __init__(
        self,
        path: str | Path,
        *,
        timer: Callable[[], float] = time.time,
        clock: Clock = system_clock,
        busy_timeout_s: float = 0.25,
    ) -> None:
        self.path = str(path)
        self.timer = timer
        self.clock = clock
        self._busy_timeout_s = busy_timeout_s
        self._lock = threading.Lock()
        self._ensured: set[str] = set()
        self._last_prune = -math.inf
        self._db: sqlite3.Connection | None = self._open()

    # ------------------------------------------------------------------------------------------ opening

    def _connect(self) -> sqlite3.Connection:
        conn = sqlite3.connect(
            self.path, timeout=self._busy_timeout_s, isolation_level=None, check_same_thread=False
        )
        try:
            if self.path != ":memory:":
                conn.execute("PRAGMA journal_mode=WAL")
            # The ledger is rebuilt by time itself: no fsync per call (WAL stays consistent after a crash).
            conn.execute("PRAGMA synchronous=NORMAL")
            conn.executescript(SCHEMA)
        except BaseException:
            conn.close()
            raise
        return conn

    def _open(self) -> sqlite3.Connection:
        if self.path != ":memory:":
            Path(self.path).parent.mkdir(parents=True, exist_ok=True, mode=0o700)
        try:
            return self._connect()
        except sqlite3.DatabaseError as exc:
            if self.path == ":memory:" or "locked" in str(exc).lower():
                raise
            # Not a database any more: nothing in it is worth more than starting afresh (it only counts calls).
            aside = f"{self.path}.corrupt-{int(time.time())}"
            log.warning("the Marketo budget ledger %s is unreadable (%s); moved to %s", self.path, exc, aside)
            for suffix in ("", "-wal", "-shm"):
                with contextlib.suppress(OSError):
                    Path(self.path + suffix).rename(aside + suffix)
            return self._connect()

    def close(self) -> None:
        """Close the file; the ledger opens it again if it is used afterwards."""
        with self._lock:
            if self._db is not None:
                self._db.close()
                self._db = None

    @property
    def _conn(self) -> sqlite3.Connection:
        if self._db is None:
            self._db = self._open()
        return self._db

    @contextlib.contextmanager
    def _tx(self) -> Iterator[sqlite3.Connection]:
        with self._lock:
            conn = self._conn
            conn.execute("BEGIN IMMEDIATE")
            try:
                yield conn
            except BaseException:
                conn.execute("ROLLBACK")
                raise
            conn.execute("COMMIT")

    def _ensure(self, conn: sqlite3.Connection, instance: str) -> None:
        if instance not in self._ensured:
            conn.execute("INSERT OR IGNORE INTO instances (instance) VALUES (?)", (instance,))
            self._ensured.add(instance)

    # ------------------------------------------------------------------------------------------ calls

    def try_acquire(
        self,
        instance: str,
        limits: Limits,
        tag: Tag,
        *,
        lease_s: float,
        waiter: int | None = None,
    ) -> Lease | Blocked:
        """Take a lease for one call now, or say why not (see the module docstring for the rules)."""
        now = self.timer()
        with self._tx() as conn:
            self._ensure(conn, instance)
            if abs(now - self._last_prune) >= PRUNE_EVERY_S:  # abs: the clock may have gone back
                self._prune(conn, now)
            paused_until, blocked_until, last_interactive = conn.execute(
                "SELECT paused_until, blocked_until, last_interactive FROM instances WHERE instance = ?",
                (instance,),
            ).fetchone()
            if blocked_until > now:
                return Blocked("quota", blocked_until - now, self._drop_waiter(conn, waiter), blocked_until)
            if paused_until > now:
                return Blocked(
                    "paused", paused_until - now, self._keep_waiter(conn, instance, tag, waiter, now)
                )
            max_calls, max_flight = limits.max_calls, limits.max_concurrency
            horizon = now - limits.window_s - limits.margin_s
            if not tag.interactive:
                # Below its floor, background work takes any free place in the window; above it, it waits for
                # sellers who are waiting and leaves the reserve free.
                under_floor = (
                    self._background_in_window(conn, instance, horizon) < limits.background_floor_calls()
                )
                if not under_floor and conn.execute(
                    "SELECT 1 FROM waiters WHERE instance = ? AND seen > ? LIMIT 1",
                    (instance, now - WAITER_STALE_S),
                ).fetchone():
                    return Blocked("priority", math.inf)
                if not under_floor:
                    max_calls = limits.background_calls(busy=now - last_interactive < limits.window_s)
                max_flight = limits.background_concurrency()
            conn.execute(
                "UPDATE calls SET done = ? WHERE instance = ? AND done IS NULL AND expires < ?",
                (now, instance, now),
            )
            total, in_flight, oldest = self._window(conn, instance, horizon)
            if (
                (in_flight >= max_flight or total >= max_calls)
                and in_flight
                and self._reap(conn, instance, now)
            ):
                total, in_flight, oldest = self._window(conn, instance, horizon)
            if in_flight >= max_flight or total >= max_calls:
                kept = self._keep_waiter(conn, instance, tag, waiter, now)
                if in_flight >= max_flight or oldest is None:
                    return Blocked("in_flight", math.inf, kept)
                return Blocked("window", max(0.001, oldest + limits.window_s + limits.margin_s - now), kept)
            day = marketo_day(self.clock())
            pid, pid_start = holders.me()
            cursor = conn.execute(
                "INSERT INTO calls (instance, purpose, interactive, pid, pid_start, started, expires, day) "
                "VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                (instance, tag.name, int(tag.interactive), pid, pid_start, now, now + lease_s, day),
            )
            conn.execute(
                "INSERT INTO daily (instance, day, purpose, calls) VALUES (?, ?, ?, 1) "
                "ON CONFLICT (instance, day, purpose) DO UPDATE SET calls = calls + 1",
                (instance, day, tag.name),
            )
            if tag.interactive:
                conn.execute("UPDATE instances SET last_interactive = ? WHERE instance = ?", (now, instance))
            self._drop_waiter(conn, waiter)
            return Lease(int(cursor.lastrowid or 0), instance, tag.name, tag.interactive, day)

    @staticmethod
    def _window(conn: sqlite3.Connection, instance: str, horizon: float) -> tuple[int, int, float | None]:
        # Two index ranges (an OR of them would scan every row of the instance).
        in_flight, replied, oldest = conn.execute(
            "SELECT (SELECT COUNT(*) FROM calls WHERE instance = ? AND done IS NULL), "
            "(SELECT COUNT(*) FROM calls WHERE instance = ? AND done > ?), "
            "(SELECT MIN(done) FROM calls WHERE instance = ? AND done > ?)",
            (instance, instance, horizon, instance, horizon),
        ).fetchone()
        return int(in_flight) + int(replied), int(in_flight), oldest

    @staticmethod
    def _background_in_window(conn: sqlite3.Connection, instance: str, horizon: float) -> int:
        (count,) = conn.execute(
            "SELECT (SELECT COUNT(*) FROM calls WHERE instance = ? AND done IS NULL AND interactive = 0) + "
            "(SELECT COUNT(*) FROM calls WHERE instance = ? AND done > ? AND interactive = 0)",
            (instance, instance, horizon),
        ).fetchone()
        return int(count)

    @staticmethod
    def _reap(conn: sqlite3.Connection, instance: str, now: float) -> int:
        """Close the open leases of processes that are gone; how many were closed."""
        me = holders.me()
        closed = 0
        for pid, started in conn.execute(
            "SELECT DISTINCT pid, pid_start FROM calls WHERE instance = ? AND done IS NULL", (instance,)
        ).fetchall():
            if (pid, started) == me or holders.alive(pid, started):
                continue
            closed += conn.execute(
                "UPDATE calls SET done = ? WHERE instance = ? AND done IS NULL AND pid = ? AND pid_start IS ?",
                (now, instance, pid, started),
            ).rowcount
        if closed:
            log.info("closed %d Marketo call lease(s) left by processes that ended", closed)
        return closed

    @staticmethod
    def _keep_waiter(
        conn: sqlite3.Connection, instance: str, tag: Tag, waiter: int | None, now: float
    ) -> int | None:
        if not tag.interactive:
            return None
        if waiter is not None:
            if conn.execute("UPDATE waiters SET seen = ? WHERE id = ?", (now, waiter)).rowcount:
                return waiter
        cursor = conn.execute(
            "INSERT INTO waiters (instance, pid, seen) VALUES (?, ?, ?)", (instance, holders.me()[0], now)
        )
        return int(cursor.lastrowid or 0)

    @staticmethod
    def _drop_waiter(conn: sqlite3.Connection, waiter: int | None) -> None:
        if waiter is not None:
            conn.execute("DELETE FROM waiters WHERE id = ?", (waiter,))
        return None

    def forget_waiter(self, waiter: int) -> None:
        """An interactive caller gave up waiting (cancelled): background work may go again."""
        with self._tx() as conn:
            self._drop_waiter(conn, waiter)

    def _prune(self, conn: sqlite3.Connection, now: float) -> None:
        self._last_prune = now
        conn.execute(
            "DELETE FROM calls WHERE (done IS NOT NULL AND (done < ? OR done > ?)) OR started > ?",
            (now - KEEP_DONE_S, now + KEEP_DONE_S, now + KEEP_DONE_S),
        )
        conn.execute("DELETE FROM waiters WHERE seen < ? OR seen > ?", (now - 5 * WAITER_STALE_S, now + 60))
        conn.execute("UPDATE instances SET paused_until = 0 WHERE paused_until > ?", (now + MAX_PAUSE_S,))
        conn.execute("UPDATE instances SET blocked_until = 0 WHERE blocked_until > ?", (now + MAX_BLOCK_S,))
        oldest_day = marketo_day(self.clock() - timedelta(days=KEEP_DAYS))
        conn.execute("DELETE FROM daily WHERE day < ?", (oldest_day,))

    def release(self, lease: Lease) -> None:
        """The call's reply arrived (or it failed): it stays in the window for ``window_s`` from now."""
        now = self.timer()
        with self._tx() as conn:
            conn.execute("UPDATE calls SET done = MAX(COALESCE(done, 0), ?) WHERE id = ?", (now, lease.id))

    def uncount(self, lease: Lease) -> None:
        """Marketo did not count this call toward the daily quota (it answered 601/602/606/615/607)."""
        with self._tx() as conn:
            conn.execute(
                "UPDATE daily SET calls = calls - 1 WHERE instance = ? AND day = ? AND purpose = ? AND calls > 0",
                (lease.instance, lease.day, lease.purpose),
            )

    # ----------------------------------------------------------------------------------- backing off

    def pause(self, instance: str, seconds: float, code: str) -> None:
        """Marketo answered 606/615: every process holds its calls back for ``seconds``."""
        now = self.timer()
        with self._tx() as conn:
            self._ensure(conn, instance)
            conn.execute(
                "UPDATE instances SET paused_until = MAX(paused_until, ?), pause_code = ? WHERE instance = ?",
                (now + min(seconds, MAX_PAUSE_S), code, instance),
            )

    def block_quota(self, instance: str, resets_at: datetime) -> float:
        """Marketo answered 607: no process asks again until the reset or for :data:`QUOTA_BLOCK_S`, whichever
        comes first (an admin may raise the quota). Returns the timer value the block ends at."""
        now = self.timer()
        left = max(0.0, (resets_at - self.clock()).total_seconds())
        until = now + min(left, QUOTA_BLOCK_S)
        with self._tx() as conn:
            self._ensure(conn, instance)
            conn.execute(
                "UPDATE instances SET blocked_until = MAX(blocked_until, ?) WHERE instance = ?",
                (until, instance),
            )
        return until

    # ------------------------------------------------------------------------------------------ reading

    def used(self, instance: str, day: str) -> dict[str, int]:
        """Calls this machine made on Marketo day ``day``, per purpose (every purpose present, 0 if none)."""
        with self._lock:
            rows = self._conn.execute(
                "SELECT purpose, calls FROM daily WHERE instance = ? AND day = ?", (instance, day)
            ).fetchall()
        out = dict.fromkeys(PURPOSES, 0)
        for name, calls in rows:
            out[str(name)] = out.get(str(name), 0) + int(calls)
        return out

    def window_state(self, instance: str, window_s: float, margin_s: float = 0.05) -> WindowState:
        now = self.timer()
        with self._lock:
            total, in_flight, _ = self._window(self._conn, instance, now - window_s - margin_s)
            row = self._conn.execute(
                "SELECT paused_until, pause_code, blocked_until FROM instances WHERE instance = ?",
                (instance,),
            ).fetchone()
        paused, code, blocked = row if row else (0.0, None, 0.0)
        return WindowState(total, in_flight, float(paused), code, float(blocked))

    def note_instance_usage(self, instance: str, day: str, total: int, seen_at: datetime) -> None:
        """Remember the instance's own count (``stats/usage.json``) so the TUI can warn without asking."""
        with self._tx() as conn:
            self._ensure(conn, instance)
            conn.execute(
                "UPDATE instances SET usage_day = ?, usage_total = ?, usage_seen_at = ? WHERE instance = ?",
                (day, int(total), seen_at.isoformat(), instance),
            )

    def instance_usage(self, instance: str, day: str) -> tuple[int, str] | None:
        """The instance's own count for ``day`` as last read, and when; None if not read that day."""
        with self._lock:
            row = self._conn.execute(
                "SELECT usage_total, usage_seen_at FROM instances WHERE instance = ? AND usage_day = ?",
                (instance, day),
            ).fetchone()
        return None if row is None or row[0] is None else (int(row[0]), str(row[1]))

    def __repr__(self) -> str:
        return f"Ledger({self.path!r})"


# ------------------------------------------------------------------------------------------- per process

#: The ledgers this process has open, most recently used last. A process uses one (its state dir's); tests use
#: many, so the least recently used beyond a few are closed (and reopen if used again).
_ledgers: OrderedDict[str, Ledger] = OrderedDict()
_ledgers_lock = threading.Lock()
MAX_OPEN_LEDGERS = 4


def ledger_path() -> Path:
    """The machine's ledger: ``marketo-budget.db`` under the state dir (``SIA_HOME`` relocates it)."""
    from sia_tui.config import paths

    return paths().state_dir / LEDGER_FILE


def open_ledger(path: str | Path | None = None) -> Ledger:
    """The process's one :class:`Ledger` for ``path`` (default :func:`ledger_path`).

    If the state dir cannot hold it (read-only, full), the process falls back to a private in-memory ledger and
    says so in the log: it then limits itself alone, as before there was a shared budget.
    """
    key = str(path if path is not None else ledger_path())
    with _ledgers_lock:
        ledger = _ledgers.get(key)
        if ledger is not None:
            _ledgers.move_to_end(key)
        else:
            try:
                ledger = Ledger(key)
            except (OSError, sqlite3.Error) as exc:
                log.warning(
                    "cannot use the shared Marketo budget ledger %s (%s); this process limits itself",
                    key,
                    exc,
                )
                ledger = Ledger(":memory:")
            _ledgers[key] = ledger
            while len(_ledgers) > MAX_OPEN_LEDGERS:
                _ledgers.popitem(last=False)[1].close()
        return ledger
