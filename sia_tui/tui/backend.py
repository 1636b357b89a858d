"""What the TUI needs from the rest of sia-tui, behind one object the app owns (and tests can configure).

UI-free on purpose (no Textual import): it opens the cache, resolves the endpoints (which may start the embedded
sandbox, so it runs off the UI thread), builds the Marketo client lazily (never at import or start-up time) and
tells whether Marketo is reachable at all, so an offline seller gets the cached grid in well under a second
instead of waiting for the client's retries to run out.
"""

from __future__ import annotations

import asyncio
import threading
from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING, Any

from sia_tui.config import Settings
from sia_tui.tui.clock import Clock, system_clock
from sia_tui.tui.people_source import PeopleReader

if TYPE_CHECKING:
    import sqlite_utils

    from sia_tui.connections import Endpoints
    from sia_tui.marketo.client import MarketoClient

PROBE_TIMEOUT_S = 3.0
INTERACTIVE_RETRIES = 3
INTERACTIVE_BACKOFF_S = (0.25, 2.0)  # base, cap


@dataclass
class Backend:
    settings: Settings
    clock: Clock = system_clock
    endpoints: Endpoints | None = None  # None: resolved on first use (starts the embedded sandbox if needed)
    db_path: str | None = None
    _db: Any = None
    _reader: PeopleReader | None = None
    _marketo: MarketoClient | None = None
    _marketo_lock: asyncio.Lock | None = None
    _resolve_lock: threading.Lock = field(default_factory=threading.Lock)
    _open_lock: threading.Lock = field(default_factory=threading.Lock)
    _injected: bool = False

    def __post_init__(self) -> None:
        self._injected = self.endpoints is not None

    # ------------------------------------------------------------------------------------------ cache

    @property
    def path(self) -> str:
        """The records file; the cache sits beside it."""
        return self.db_path or str(self.settings.db_path)

    @property
    def cache_path(self) -> str:
        from sia_tui.store.db import cache_path_for

        return str(cache_path_for(self.path))

    def open_cache(self) -> None:
        """Open (create, check, migrate) the records file and the cache; blocking: the app calls it on a worker thread.

        ``open_db`` runs ``PRAGMA quick_check``, which reads the whole file (about 1 s per GB), so it must not sit
        between the seller and the first paint.
        """
        with self._open_lock:  # the UI thread may need the cache while the worker is still opening it
            if self._db is None:
                from sia_tui.store.db import open_db

                self._db = open_db(self.path, check_same_thread=False)

    @property
    def db(self) -> sqlite_utils.Database:
        """The UI thread's connection (small reads and the grid cache)."""
        if self._db is None:
            self.open_cache()
        return self._db

    @property
    def reader(self) -> PeopleReader:
        """The list's connection, used from worker threads."""
        if self._reader is None:
            # No open_db here: searches start only once the file is known to be current (see PeopleScreen).
            self._reader = PeopleReader(self.cache_path)
        return self._reader

    def person(self, marketo_id: int) -> dict[str, Any] | None:
        """The cached person, with ``local_optout`` (the opt-out a seller recorded in sia-tui, or None)."""
        from sia_tui.store.people import get_person

        person = get_person(self.db, marketo_id)
        if person is not None:
            person["local_optout"] = self.local_optout(person)
        return person

    def last_sync(self) -> datetime | None:
        """When the last successful sync of this profile ended (any process's), or None."""
        from sia_tui.clock import parse_time
        from sia_tui.sync.engine import last_sync_at

        return parse_time(last_sync_at(self.db))

    def local_optout(self, person: dict[str, Any]) -> dict[str, Any] | None:
        from sia_tui.compliance.optouts import matching_optouts

        email = str(person.get("email") or "")
        found = matching_optouts(self.db, [int(person["marketo_id"])], [email] if email else [])
        if not found:
            return None
        first = min(found, key=lambda o: str(o.get("created_at") or ""))
        return {"reason": first.get("reason") or "", "created_at": first.get("created_at") or ""}

    def people_count(self) -> int:
        from sia_tui.store.people import count_people

        return count_people(self.db)

    @property
    def sandbox(self) -> bool:
        if self.endpoints is not None:
            return bool(self.endpoints.sandbox)
        return self.settings.uses_sandbox

    def seller_email(self) -> str:
        return str(self.settings.get("seller.email") or "")

    def my_owner_id(self) -> tuple[str | None, str]:
        """The owner id behind "my people" and the email it was found by (runs on a worker thread).

        On the sandbox with no ``seller.email`` the demo seller is the owner of the first cached person, so
        the filter shows something real; elsewhere an unset email means nobody.
        """
        email = self.seller_email()
        if not email and self.sandbox:
            from sia_tui.store.people import demo_owner_email

            with self.reader._conn_lock:
                email = demo_owner_email(self.reader._database()) or ""
        return (self.reader.owner_id_for(email) if email else None), email

    # ------------------------------------------------------------------------------------------ network

    def resolve_endpoints(self) -> Endpoints:
        """Blocking (may start the embedded sandbox): call from a thread."""
        with self._resolve_lock:
            if self.endpoints is None:
                from sia_tui.connections import resolve

                self.endpoints = resolve(self.settings)
            return self.endpoints

    async def marketo(self) -> MarketoClient:
        """The app's Marketo client for the grid, built on first use in the UI's event loop."""
        if self._marketo_lock is None:
            self._marketo_lock = asyncio.Lock()
        async with self._marketo_lock:
            if self._marketo is None:
                from sia_tui.connections import marketo_client
                from sia_tui.marketo.session import RetryPolicy

                endpoints = await asyncio.to_thread(self.resolve_endpoints)
                client = marketo_client(self.settings, endpoints)
                # A seller is looking at the panel: fail within seconds and offer retry, instead of the
                # background default (8 retries, backoff up to 30 s) that suits syncs.
                client.session.policy = RetryPolicy(INTERACTIVE_RETRIES, *INTERACTIVE_BACKOFF_S)
                self._marketo = client
            return self._marketo

    def quota_percent(self) -> float | None:
        """Today's share of ``marketo.daily_quota`` spent, from the machine's budget ledger (no API call; blocking,
        so the app calls it on a worker thread). None until the endpoints are known: this never starts the
        embedded sandbox just to answer."""
        endpoints = self.endpoints
        if endpoints is None or not endpoints.marketo_url:
            return None
        from sia_tui.budget import open_ledger
        from sia_tui.budget.report import quota_use
        from sia_tui.connections import marketo_instance

        quota = int(self.settings.get("marketo.daily_quota"))
        use = quota_use(open_ledger(), marketo_instance(self.settings, endpoints), quota, self.clock())
        return use.percent

    async def reachable(self, timeout_s: float = PROBE_TIMEOUT_S) -> bool:
        """Can we open a TCP connection to Marketo at all? (Not an API call: costs no quota.)"""
        from sia_tui.grid.reach import tcp_reachable

        endpoints = await asyncio.to_thread(self.resolve_endpoints)
        return await tcp_reachable(endpoints.marketo_url, timeout_s)

    def use_settings(self, settings: Settings, *, connections_changed: bool) -> MarketoClient | None:
        """Adopt reloaded settings. When a connection changed, endpoints are resolved afresh and the grid's
        Marketo client is rebuilt on next use; the old client is returned for the caller to close.

        Endpoints injected at start (tests, screenshots) stay while the profile still runs on the sandbox.
        """
        self.settings = settings
        if not connections_changed:
            return None
        with self._resolve_lock:
            if not (self._injected and settings.uses_sandbox):
                self.endpoints = None
                self._injected = False
        client, self._marketo = self._marketo, None
        return client

    async def aclose(self) -> None:
        client, self._marketo = self._marketo, None
        if client is not None:
            await client.aclose()
        self.close_db()

    def close_db(self) -> None:
        if self._reader is not None:
            self._reader.close()
            self._reader = None
        if self._db is not None:
            self._db.conn.close()
            self._db = None
