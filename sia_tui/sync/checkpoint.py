"""The sync's persisted state (in the cache's ``sync_state`` table) and the running tally of one run.

Keys:
- ``people.initial``: the resume point of an unfinished initial sync (strategy, plan, finished pages/windows).
  Written in the same transaction as the people it accounts for, so a kill never loses or double-counts a page.
- ``people.since``: ISO time the incremental feed starts from (set when an initial sync completes).
- ``people.changes_token`` / ``people.deleted_token`` / ``people.list_token``: Marketo paging tokens of the
  incremental feeds (lead changes, deleted leads, and the static list's add/remove activities).
- ``people.config``: the read field list, LinkedIn field and static list id the cache was built with.
- ``people.last_sync_at`` / ``people.last_summary``: when the last successful run ended, and what it did.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from datetime import UTC, datetime

from sia_tui.marketo.client import MarketoClient
from sia_tui.sync.progress import Phase, ProgressCallback, SyncProgress

INITIAL = "people.initial"
SINCE = "people.since"
CHANGES_TOKEN = "people.changes_token"
DELETED_TOKEN = "people.deleted_token"
LIST_TOKEN = "people.list_token"
CONFIG = "people.config"
LAST_SYNC_AT = "people.last_sync_at"
LAST_SUMMARY = "people.last_summary"
ALL_KEYS = (INITIAL, SINCE, CHANGES_TOKEN, DELETED_TOKEN, LIST_TOKEN, CONFIG, LAST_SYNC_AT, LAST_SUMMARY)
FEED_KEYS = (CHANGES_TOKEN, DELETED_TOKEN, LIST_TOKEN)


def utc_now() -> datetime:
    return datetime.now(UTC)


def iso(moment: datetime) -> str:
    return moment.astimezone(UTC).isoformat(timespec="seconds")


@dataclass
class Tally:
    """Counts of one run (created/updated/deleted people, records read) plus the newest Marketo timestamp seen."""

    created: int = 0
    updated: int = 0
    deleted: int = 0
    kept: int = 0
    read: int = 0
    unsubscribed: int = 0  # cached people whose unsubscribed flag went 0 -> 1 (queued for Salesforce)
    latest: datetime | None = None

    def saw(self, moment: datetime | None) -> None:
        if moment is not None and (self.latest is None or moment > self.latest):
            self.latest = moment


@dataclass
class Reporter:
    """Turns counters into :class:`SyncProgress` callbacks, at most ~10 per second (and always the last one)."""

    client: MarketoClient
    callback: ProgressCallback | None
    tally: Tally
    calls_at_start: int = 0
    started: float = field(default_factory=time.monotonic)
    phase_started: float = field(default_factory=time.monotonic)
    phase: Phase = "plan"
    total: int | None = None
    done: int = 0
    resumed_from: int = 0
    ceiling_rate: float | None = None
    _last_emit: float = 0.0

    def __post_init__(self) -> None:
        self.calls_at_start = self.client.calls.total

    @property
    def api_calls(self) -> int:
        return self.client.calls.total - self.calls_at_start

    def begin(
        self,
        phase: Phase,
        total: int | None = None,
        message: str = "",
        *,
        resumed_from: int = 0,
    ) -> None:
        """A new phase; ``resumed_from`` records were read by an interrupted run this one continues."""
        self.phase, self.total, self.done = phase, total, resumed_from
        self.resumed_from, self.ceiling_rate = resumed_from, None
        self.phase_started = time.monotonic()
        self.emit(message, force=True)

    def advance(self, n: int, *, total: int | None = None, message: str = "") -> None:
        self.done += n
        if total is not None:
            self.total = total
        if self.total is not None and self.done > self.total:
            self.total = self.done
        self.emit(message)

    def note(self, message: str) -> None:
        """A message for the user (the plan chosen, a fallback), always delivered."""
        self.emit(message, force=True, note=True)

    def emit(self, message: str = "", *, force: bool = False, note: bool = False) -> None:
        if self.callback is None:
            return
        now = time.monotonic()
        if not force and now - self._last_emit < 0.1:
            return
        self._last_emit = now
        self.callback(
            SyncProgress(
                phase=self.phase,
                done=self.done,
                total=self.total,
                kept=self.tally.kept,
                api_calls=self.api_calls,
                elapsed_s=now - self.phase_started,
                message=message,
                note=note,
                resumed_from=self.resumed_from,
                ceiling_rate=self.ceiling_rate,
            )
        )

    def seconds(self) -> float:
        return time.monotonic() - self.started
