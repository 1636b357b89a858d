"""One sandbox's Salesforce org at run time: its state file, clock and lock, and its daily API allocation.

Every handler module works through an :class:`Org`, so they share one transaction rule (a whole write request is
one transaction; composite subrequests run inside it) and one view of the time (the sandbox clock).
"""

from __future__ import annotations

import sqlite3
from collections import deque
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime

from sia_sandbox.config import SandboxConfig
from sia_sandbox.salesforce.records import savepoint
from sia_sandbox.salesforce.validation import WriteContext
from sia_sandbox.state import SandboxState


class ApiUsage:
    """API calls in the rolling last 24 hours, in one-minute buckets (Salesforce's daily allocation)."""

    def __init__(self) -> None:
        self.buckets: deque[list[int]] = deque()  # [minute, count]
        self.total = 0

    def _prune(self, minute: int) -> None:
        while self.buckets and self.buckets[0][0] <= minute - 24 * 60:
            self.total -= self.buckets.popleft()[1]

    def used(self, now: datetime) -> int:
        self._prune(int(now.timestamp() // 60))
        return self.total

    def add(self, now: datetime, n: int = 1) -> None:
        minute = int(now.timestamp() // 60)
        self._prune(minute)
        if self.buckets and self.buckets[-1][0] == minute:
            self.buckets[-1][1] += n
        else:
            self.buckets.append([minute, n])
        self.total += n


class Org:
    def __init__(self, state: SandboxState) -> None:
        self.state = state
        self.db: sqlite3.Connection = state.db
        self.lock = state.lock
        self.usage = ApiUsage()

    @property
    def config(self) -> SandboxConfig:
        return self.state.config

    def now(self) -> datetime:
        return self.state.clock.now()

    def context(self, user_id: str) -> WriteContext:
        """Who writes, and when (the sandbox clock's now)."""
        return WriteContext(self.db, self.now(), user_id)

    @contextmanager
    def write(self) -> Iterator[None]:
        """One transaction for a whole write request; composite subrequests run inside it."""
        with savepoint(self.db, "sf_request"):
            yield
        if self.db.in_transaction:
            self.db.commit()

    def limit_header(self) -> dict[str, str]:
        return {"Sforce-Limit-Info": f"api-usage={self.usage.used(self.now())}/{self.config.sf_daily_limit}"}
