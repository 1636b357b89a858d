"""Everything a running sandbox remembers: the SQLite file, the clock, limit and quota counters, tokens, stats.

The SQLite file holds the people (``leads``), activities written through the API, lists, custom activity types,
bulk export jobs, received mail and the Salesforce helper's tables. With ``state_path`` set, a restart with the
same file keeps every API write and does not regenerate (the file remembers the seed, size and anchor time it was
generated for; asking for a different seed or size regenerates it). Generated behaviour (web visits, email
opens, ...) is never stored: it is recomputed from (seed, lead id, hour) when read, so a million people start in
seconds.

Salesforce side: ``sia_sandbox.salesforce.seeding.seed_salesforce(db, people, users, now)`` is called once when
the data is generated, with this ``sqlite3.Connection``, a single-pass *iterator* of the people dicts (see
datagen.py; up to a million, so never materialise it as a list), the sales users and the anchor time. Its tables
(salesforce/records.py) live in the same file. API-specific runtime state goes in ``SandboxState.ext``.
"""

from __future__ import annotations

import atexit
import contextlib
import json
import logging
import os
import random
import sqlite3
import tempfile
import threading
import time
from collections import Counter, deque
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any, TypeVar

from sia_sandbox import datagen
from sia_sandbox.clock import Clock, parse_datetime
from sia_sandbox.config import SandboxConfig
from sia_sandbox.lead_fields import STORED, sql_type
from sia_sandbox.salesforce.records import init_schema as init_salesforce_schema
from sia_sandbox.salesforce.seeding import seed_salesforce
from sia_sandbox.state_file import SANDBOX_APPLICATION_ID, check_state_file, closed, opened

log = logging.getLogger("sia_sandbox")
_T = TypeVar("_T")

SCHEMA_VERSION = 3
BATCH = 20_000

# seed_flags bits: immutable facts about a generated person that shape its generated behaviour
FLAG_SEEDED = 1
FLAG_EMAIL_INVALID = 2
FLAG_UNSUBSCRIBED = 4
FLAG_HAS_OWNER = 8

LEAD_COLUMNS: tuple[str, ...] = ("id", *(f.name for f in STORED), "created_ms", "updated_ms")
_SCHEMA = f"""
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT);
CREATE TABLE IF NOT EXISTS leads (
    id INTEGER PRIMARY KEY,
    {", ".join(f'"{f.name}" {sql_type(f)}' for f in STORED)},
    created_ms INTEGER NOT NULL,
    updated_ms INTEGER NOT NULL,
    seed_updated_ms INTEGER,
    seed_flags INTEGER NOT NULL DEFAULT 0
);
CREATE TABLE IF NOT EXISTS activities (
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    id INTEGER NOT NULL UNIQUE,
    lead_id INTEGER NOT NULL,
    ms INTEGER NOT NULL,
    type_id INTEGER NOT NULL,
    payload TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS activities_ms ON activities (ms);
CREATE INDEX IF NOT EXISTS activities_lead_ms ON activities (lead_id, ms);
CREATE TABLE IF NOT EXISTS lists (
    id INTEGER PRIMARY KEY, name TEXT NOT NULL, description TEXT, program_name TEXT,
    created_ms INTEGER NOT NULL, updated_ms INTEGER NOT NULL
);
CREATE TABLE IF NOT EXISTS list_members (
    list_id INTEGER NOT NULL, lead_id INTEGER NOT NULL, PRIMARY KEY (list_id, lead_id)
) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS list_members_lead ON list_members (lead_id);
CREATE TABLE IF NOT EXISTS custom_activity_types (
    api_name TEXT PRIMARY KEY, id INTEGER NOT NULL UNIQUE, status TEXT NOT NULL,
    approved TEXT, draft TEXT, created_ms INTEGER NOT NULL, updated_ms INTEGER NOT NULL
);
CREATE TABLE IF NOT EXISTS export_jobs (
    export_id TEXT PRIMARY KEY, body TEXT NOT NULL, status TEXT NOT NULL, format TEXT NOT NULL,
    created_ms INTEGER NOT NULL, queued_ms INTEGER, started_ms INTEGER, finished_ms INTEGER,
    cancelled_ms INTEGER, rows INTEGER, file_size INTEGER, checksum TEXT, error TEXT,
    kind TEXT NOT NULL DEFAULT 'leads'
);
CREATE TABLE IF NOT EXISTS export_files (export_id TEXT PRIMARY KEY, data BLOB NOT NULL);
CREATE TABLE IF NOT EXISTS mail (
    id INTEGER PRIMARY KEY AUTOINCREMENT, received_ms INTEGER NOT NULL, mail_from TEXT, rcpt_tos TEXT,
    message TEXT NOT NULL
);
"""
_LEAD_INDEXES = """
CREATE INDEX IF NOT EXISTS leads_email ON leads (email COLLATE NOCASE);
CREATE INDEX IF NOT EXISTS leads_sfdc_lead ON leads ("sfdcLeadId");
CREATE INDEX IF NOT EXISTS leads_sfdc_contact ON leads ("sfdcContactId");
CREATE INDEX IF NOT EXISTS leads_sfdc_account ON leads ("sfdcAccountId");
CREATE INDEX IF NOT EXISTS leads_sfdc_oppty ON leads ("sfdcOpptyId");
CREATE INDEX IF NOT EXISTS leads_sfdc_owner ON leads ("sfdcLeadOwnerId");
CREATE INDEX IF NOT EXISTS leads_external_sp ON leads ("externalSalesPersonId");
CREATE INDEX IF NOT EXISTS leads_created ON leads (created_ms);
CREATE INDEX IF NOT EXISTS leads_updated ON leads (updated_ms);
CREATE INDEX IF NOT EXISTS leads_seed_updated ON leads (seed_updated_ms);
"""

#: Seeded static lists: (id, name, description, program, stride, cap). Members: every ``stride``-th person.
SEED_LISTS: tuple[tuple[int, str, str, str, int, int], ...] = (
    (
        1001,
        "Webinar Attendees – AI in Sales",
        "Attended the AI in Sales webinar",
        "Webinar 2026 – AI in Sales",
        9,
        3000,
    ),
    (1002, "Hot Prospects", "Hand-picked by marketing for sales follow-up", "Sales Handoff", 41, 500),
    (
        1003,
        "Newsletter – APAC (中文 / 日本語)",
        "Subscribers of the APAC newsletter",
        "APAC Newsletter",
        4,
        9000,
    ),
)


class MarketoLimits:
    """Marketo's per-instance limits: calls per sliding window (606), calls in flight (615), daily quota (607).

    The window slides on the sandbox clock, so advancing the clock (``POST /_sandbox/clock``) empties it."""

    def __init__(self, config: SandboxConfig, clock: Clock) -> None:
        self.config = config
        self.clock = clock
        self.window: deque[float] = deque()
        self.in_flight = 0
        self.daily: Counter[str] = Counter()

    def day_key(self) -> str:
        # Marketo's quota resets at midnight US Central (CST, UTC-6).
        return (self.clock.now() - timedelta(hours=6)).strftime("%Y-%m-%d")

    def check(self) -> str | None:
        """The error code refusing a call now, or None (and the call is counted)."""
        now = self.clock.seconds()
        if self.daily[self.day_key()] >= self.config.daily_quota:
            return "607"
        horizon = now - self.config.rate_limit_window_s
        while self.window and self.window[0] <= horizon:
            self.window.popleft()
        if len(self.window) >= self.config.rate_limit_calls:
            return "606"
        if self.in_flight >= self.config.max_concurrency:
            return "615"
        self.window.append(now)
        self.daily[self.day_key()] += 1
        return None

    def snapshot(self) -> dict[str, Any]:
        horizon = self.clock.seconds() - self.config.rate_limit_window_s
        return {
            "calls_in_window": sum(1 for t in self.window if t > horizon),
            "in_flight": self.in_flight,
            "daily_used": self.daily[self.day_key()],
            "daily_quota": self.config.daily_quota,
            "day": self.day_key(),
        }


@dataclass
class Token:
    value: str
    client_id: str
    expires_at: float  # deadline in sandbox-clock seconds


class TokenRegistry:
    """Marketo identity: the same token (with less life left) until it expires, then a new one. Lifetimes run on
    the sandbox clock, so advancing it by ``token_ttl_s`` makes every token answer 602."""

    def __init__(self, ttl_s: int, clock: Clock) -> None:
        self.ttl_s = ttl_s
        self.clock = clock
        self.by_client: dict[str, Token] = {}
        self.by_value: dict[str, Token] = {}

    def remaining_s(self, token: Token) -> float:
        return token.expires_at - self.clock.seconds()

    def issue(self, client_id: str, scope_suffix: str = "int") -> Token:
        import uuid

        current = self.by_client.get(client_id)
        if current is not None and self.remaining_s(current) > 0:
            return current
        token = Token(f"{uuid.uuid4()}:{scope_suffix}", client_id, self.clock.seconds() + self.ttl_s)
        self.by_client[client_id] = token
        self.by_value[token.value] = token
        if len(self.by_value) > 10_000:  # forget the oldest expired tokens
            for value in list(self.by_value)[:5_000]:
                self.by_value.pop(value, None)
        return token

    def check(self, value: str | None) -> str | None:
        """None if the token is good, else "601" (missing/unknown) or "602" (expired)."""
        if not value:
            return "601"
        token = self.by_value.get(value)
        if token is None:
            return "601"
        if self.remaining_s(token) <= 0:
            return "602"
        return None

    def expire_all(self) -> None:
        now = self.clock.seconds()
        for token in self.by_value.values():
            token.expires_at = now - 1


class Stats:
    """Requests per API and endpoint, error codes returned, faults injected (GET /_sandbox/stats)."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.reset()

    def reset(self) -> None:
        self.requests: dict[str, Counter[str]] = {"marketo": Counter(), "salesforce": Counter()}
        self.errors: Counter[str] = Counter()
        self.faults: Counter[str] = Counter()
        self.started = time.monotonic()

    def request(self, api: str, endpoint: str) -> None:
        with self.lock:
            self.requests.setdefault(api, Counter())[endpoint] += 1

    def error(self, code: str) -> None:
        with self.lock:
            self.errors[code] += 1

    def fault(self, kind: str) -> None:
        with self.lock:
            self.faults[kind] += 1

    def snapshot(self) -> dict[str, Any]:
        with self.lock:
            return {
                "requests": {api: dict(c) for api, c in self.requests.items()},
                "totals": {api: sum(c.values()) for api, c in self.requests.items()},
                "errors": dict(self.errors),
                "faults": dict(self.faults),
                "uptime_s": round(time.monotonic() - self.started, 3),
            }


@dataclass
class FaultSettings:
    """What ``POST /_sandbox/faults`` changes while the sandbox runs; ``reset`` goes back to its config."""

    rate: float
    kinds: list[str]
    rng: random.Random
    slow_s: float
    latency_ms: int = 0

    @classmethod
    def from_config(cls, config: SandboxConfig) -> FaultSettings:
        settings = cls(rate=0.0, kinds=[], rng=random.Random(config.seed * 7919 + 17), slow_s=0.0)
        settings.reset(config)
        return settings

    def reset(self, config: SandboxConfig) -> None:
        """As the sandbox started: its configured rate, kinds, slow-fault hold and latency (the rng goes on)."""
        self.rate = config.fault_rate
        self.kinds = config.kinds()
        self.slow_s = config.slow_fault_s
        self.latency_ms = config.latency_ms

    def pick(self) -> str | None:
        if self.rate <= 0 or not self.kinds:
            return None
        if self.rng.random() >= self.rate:
            return None
        return self.rng.choice(self.kinds)


@dataclass
class SandboxState:
    config: SandboxConfig
    db: sqlite3.Connection
    path: str
    temporary: bool
    clock: Clock
    people: int  # generated people (ids FIRST_LEAD_ID ..)
    seed: int
    users: list[dict[str, Any]]
    hot_ids: list[int]
    limits: MarketoLimits
    tokens: TokenRegistry
    stats: Stats
    faults: FaultSettings
    startup_s: float
    regenerated: bool
    anchor: datetime  # the "now" the data was generated around
    lock: threading.RLock = field(default_factory=threading.RLock)
    write_gen: int = 0  # bumped by every write that can change what a read returns
    ext: dict[str, Any] = field(default_factory=dict)
    users_by_id: dict[str, dict[str, Any]] = field(default_factory=dict)
    users_by_email: dict[str, dict[str, Any]] = field(default_factory=dict)
    closed: bool = False

    def __post_init__(self) -> None:
        self.users_by_id = {u["Id"]: u for u in self.users}
        self.users_by_email = {u["Email"].lower(): u for u in self.users}
        if self.temporary:  # a process that exits without stop() still removes its temporary state
            atexit.register(self.close)

    @contextlib.contextmanager
    def tx(self) -> Iterator[sqlite3.Connection]:
        """A write transaction on the state file (serialised with the SMTP sink and test threads)."""
        with self.lock:
            try:
                yield self.db
                self.db.commit()
            except BaseException:
                self.db.rollback()
                raise
        self.write_gen += 1

    def query(self, sql: str, params: Any = ()) -> list[sqlite3.Row]:
        with self.lock:
            return self.db.execute(sql, params).fetchall()

    def extension(self, name: str, make: Callable[[SandboxState], _T]) -> _T:
        """The state's one ``name`` helper (the mail store, the responders …), made by ``make`` on first use."""
        with self.lock:
            found = self.ext.get(name)
            if found is None:
                found = self.ext[name] = make(self)
            return found  # type: ignore[no-any-return]

    def owner_of(self, row: Any) -> dict[str, Any] | None:
        owner_id = row["sfdcLeadOwnerId"]
        if owner_id and owner_id in self.users_by_id:
            return self.users_by_id[owner_id]
        sp = row["externalSalesPersonId"]
        if sp:
            return self.users_by_email.get(str(sp).lower())
        return None

    def save_clock(self) -> None:
        """Remember the clock in the state file: a restart resumes from here (never earlier), so writes stay in
        time order and paging tokens stay in the past."""
        with self.lock, contextlib.suppress(sqlite3.Error):
            self.db.execute("INSERT OR REPLACE INTO meta VALUES ('clock_ms', ?)", (str(self.clock.now_ms()),))
            self.db.commit()

    def close(self) -> None:
        if self.closed:
            return
        self.save_clock()
        self.closed = True
        with self.lock:
            self.db.close()
        closed(self.path)
        if self.temporary:
            for suffix in ("", "-wal", "-shm"):
                with contextlib.suppress(OSError):
                    os.unlink(self.path + suffix)
            with contextlib.suppress(OSError):
                os.rmdir(os.path.dirname(self.path))


def _connect(path: str) -> sqlite3.Connection:
    db = sqlite3.connect(path, check_same_thread=False)
    db.row_factory = sqlite3.Row
    db.execute("PRAGMA journal_mode=WAL")
    db.execute("PRAGMA synchronous=NORMAL")
    db.execute("PRAGMA busy_timeout=5000")
    db.execute("PRAGMA cache_size=-65536")
    return db


def _resume_clock(anchor: datetime, config: SandboxConfig, meta: dict[str, str]) -> Clock:
    """The clock, resumed where the state file left it: time never runs backwards across restarts, so what was
    written (and every paging token handed out) stays in the past."""
    saved_ms = int(meta["clock_ms"]) if meta.get("clock_ms", "").isdigit() else None
    if config.now is not None:
        start = anchor
        if saved_ms is not None:
            start = max(anchor, datetime.fromtimestamp(saved_ms / 1000, UTC))
        return Clock(start, fixed=True, frozen=config.clock_frozen)
    offset = max(0, saved_ms - int(time.time() * 1000)) if saved_ms is not None else 0
    return Clock(anchor, fixed=False, offset_ms=offset, frozen=config.clock_frozen)


def _add_missing_columns(db: sqlite3.Connection) -> None:
    """Columns newer code added to tables a kept state file already has."""
    columns = {r[1] for r in db.execute("PRAGMA table_info(export_jobs)")}
    if "kind" not in columns:
        db.execute("ALTER TABLE export_jobs ADD COLUMN kind TEXT NOT NULL DEFAULT 'leads'")
        db.commit()


def _read_meta(db: sqlite3.Connection) -> dict[str, str]:
    try:
        return {r[0]: r[1] for r in db.execute("SELECT key, value FROM meta")}
    except sqlite3.Error:
        return {}


def _wipe(db: sqlite3.Connection) -> None:
    tables = [
        r[0]
        for r in db.execute("SELECT name FROM sqlite_master WHERE type='table' AND name NOT LIKE 'sqlite_%'")
    ]
    for name in tables:
        db.execute(f'DROP TABLE IF EXISTS "{name}"')
    db.commit()


def _lead_row(p: dict[str, Any]) -> tuple[Any, ...]:
    created_ms = _parse_ms(p["createdAt"])
    updated_ms = _parse_ms(p["updatedAt"])
    flags = FLAG_SEEDED
    if p["emailInvalid"]:
        flags |= FLAG_EMAIL_INVALID
    if p["unsubscribed"]:
        flags |= FLAG_UNSUBSCRIBED
    if p["sfdcLeadOwnerId"] or p["externalSalesPersonId"]:
        flags |= FLAG_HAS_OWNER
    values: list[Any] = [p["id"]]
    for f in STORED:
        v = p.get(f.name)
        values.append(int(v) if isinstance(v, bool) else v)
    values += [created_ms, updated_ms, updated_ms if updated_ms > created_ms else None, flags]
    return tuple(values)


def _parse_ms(text: str) -> int:
    parsed = parse_datetime(text)
    if parsed is None:
        raise ValueError(f"not a date-time: {text!r}")
    return int(parsed.timestamp() * 1000)


def _init_salesforce_schema(db: sqlite3.Connection) -> None:
    init_salesforce_schema(db)
    db.commit()


def _generate(db: sqlite3.Connection, config: SandboxConfig, anchor: datetime) -> None:
    db.executescript(_SCHEMA)
    users = datagen.sales_users(config.seed)
    hot = set(datagen.hot_lead_ids(config.people, config.hot_people))
    placeholders = ", ".join("?" for _ in range(len(LEAD_COLUMNS) + 2))
    columns = ", ".join(f'"{c}"' for c in LEAD_COLUMNS)
    insert = f"INSERT INTO leads ({columns}, seed_updated_ms, seed_flags) VALUES ({placeholders})"

    def stream() -> Iterator[dict[str, Any]]:
        batch: list[dict[str, Any]] = []
        for person in datagen.iter_people(config.seed, config.people, anchor, hot_count=config.hot_people):
            batch.append(person)
            if len(batch) >= BATCH:
                db.executemany(insert, [_lead_row(p) for p in batch])
                yield from batch
                batch = []
        if batch:
            db.executemany(insert, [_lead_row(p) for p in batch])
            yield from batch

    people = stream()
    _init_salesforce_schema(db)
    seed_salesforce(db, people, users, anchor)
    for _ in people:  # whatever the seeder did not consume still has to be stored
        pass
    db.commit()
    db.executescript(_LEAD_INDEXES)
    anchor_ms = int(anchor.timestamp() * 1000)
    first = datagen.FIRST_LEAD_ID
    for list_id, name, description, program, stride, cap in SEED_LISTS:
        db.execute(
            "INSERT INTO lists (id, name, description, program_name, created_ms, updated_ms) VALUES (?, ?, ?, ?, ?, ?)",
            (list_id, name, description, program, anchor_ms - 200 * 86_400_000, anchor_ms - 3 * 86_400_000),
        )
        offset = config.seed % stride
        members = list(range(first + offset, first + config.people, stride))[:cap]
        if list_id == 1002:
            members = sorted(set(members) | hot)
        db.executemany("INSERT OR IGNORE INTO list_members VALUES (?, ?)", [(list_id, m) for m in members])
    meta = {
        "schema_version": str(SCHEMA_VERSION),
        "seed": str(config.seed),
        "people": str(config.people),
        "hot_people": str(config.hot_people),
        "anchor": anchor.isoformat(),
        "generated_at": datetime.now(UTC).isoformat(),
    }
    db.executemany("INSERT OR REPLACE INTO meta VALUES (?, ?)", list(meta.items()))
    db.commit()


def open_state(config: SandboxConfig) -> SandboxState:
    """Open (or create and fill) the state file for ``config``."""
    started = time.perf_counter()
    temporary = config.state_path is None
    if temporary:
        path = os.path.join(tempfile.mkdtemp(prefix="sia-sandbox-"), "state.db")
    else:
        path = os.path.abspath(os.path.expanduser(str(config.state_path)))
        # Refuses (StateFileError, nothing written) anything that is not a sandbox state: wiping it is below.
        check_state_file(path)
        os.makedirs(os.path.dirname(path), exist_ok=True)
    try:
        db = _connect(path)
        meta = _read_meta(db)
    except sqlite3.DatabaseError:  # our own state, damaged: start over rather than refuse to run
        log.warning("sandbox state %s is unreadable; regenerating it", path)
        for suffix in ("", "-wal", "-shm"):
            with contextlib.suppress(OSError):
                os.unlink(path + suffix)
        db = _connect(path)
        meta = {}
    db.execute(
        f"PRAGMA application_id = {SANDBOX_APPLICATION_ID}"
    )  # marked ours before anything is generated
    opened(path)
    wanted_anchor = config.now.astimezone(UTC).replace(microsecond=0) if config.now else None
    reuse = (
        meta.get("schema_version") == str(SCHEMA_VERSION)
        and meta.get("seed") == str(config.seed)
        and meta.get("people") == str(config.people)
        and meta.get("hot_people") == str(config.hot_people)
        and (wanted_anchor is None or meta.get("anchor") == wanted_anchor.isoformat())
    )
    if reuse:
        anchor = datetime.fromisoformat(meta["anchor"])
        db.executescript(_SCHEMA)  # tables added by newer code
        _add_missing_columns(db)
        _init_salesforce_schema(db)
    else:
        if meta:
            log.warning("sandbox state %s was generated for other settings; regenerating it", path)
        _wipe(db)
        anchor = wanted_anchor or datagen.default_now()
        # One big load: no durability needed until it is done (meta is written last, so a crash regenerates).
        db.execute("PRAGMA journal_mode=MEMORY")
        db.execute("PRAGMA synchronous=OFF")
        _generate(db, config, anchor)
        db.execute("PRAGMA journal_mode=WAL")
        db.execute("PRAGMA synchronous=NORMAL")
    if not temporary:
        with contextlib.suppress(OSError):
            os.chmod(path, 0o600)
    clock = _resume_clock(anchor, config, meta if reuse else {})
    return SandboxState(
        config=config,
        db=db,
        path=path,
        temporary=temporary,
        clock=clock,
        people=config.people,
        seed=config.seed,
        users=datagen.sales_users(config.seed),
        hot_ids=datagen.hot_lead_ids(config.people, config.hot_people),
        limits=MarketoLimits(config, clock),
        tokens=TokenRegistry(config.token_ttl_s, clock),
        stats=Stats(),
        faults=FaultSettings.from_config(config),
        startup_s=time.perf_counter() - started,
        regenerated=not reuse,
        anchor=anchor,
    )


def dumps(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False, separators=(",", ":"))
