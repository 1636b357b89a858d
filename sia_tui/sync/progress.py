"""What a running sync tells its front end, and what it reports when it ends.

The sync never draws anything: it calls a :data:`ProgressCallback` with :class:`SyncProgress` snapshots (the CLI
turns them into a Rich progress bar, the TUI into its status line).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import asdict, dataclass, field, replace
from typing import Any, Literal

Phase = Literal["plan", "initial", "changes", "deletes", "swap", "activities", "done"]
Kind = Literal["initial", "full", "incremental"]


@dataclass(frozen=True)
class SyncProgress:
    """A snapshot: ``done`` Marketo records read out of about ``total`` (None while unknown)."""

    phase: Phase
    done: int
    total: int | None
    kept: int  # people with a sales owner written to the cache so far
    api_calls: int
    elapsed_s: float
    message: str = ""
    note: bool = False  # ``message`` is worth showing the user (the plan chosen, a fallback)
    #: Records read before this run began (a resumed sync): they do not count towards the rate.
    resumed_from: int = 0
    #: The fastest this phase can read for long (REST paging: the limiter's calls per window × records per call).
    ceiling_rate: float | None = None

    @property
    def rate(self) -> float:
        """Records read per second since the phase began (in this run)."""
        return max(0, self.done - self.resumed_from) / self.elapsed_s if self.elapsed_s > 0 else 0.0

    @property
    def eta_s(self) -> float | None:
        """Seconds to go, or None while unknown.

        REST paging reads a whole window's budget of calls in its first seconds and then waits for the window to
        slide, so the rate seen early on is far above what the rest of the sync can sustain: it is capped at the
        ceiling.
        """
        rate = self.rate
        if self.ceiling_rate:
            rate = min(rate, self.ceiling_rate)
        if self.total is None or rate <= 0:
            return None
        return max(0.0, (self.total - self.done) / rate)

    def live(self, since_s: float) -> tuple[float, float | None]:
        """(rate, ETA) ``since_s`` seconds after this snapshot, for displays that redraw between snapshots.

        No snapshot arrives while the limiter holds calls back, so the ETA counts down from the one last reported
        (REST paging then reads a whole window's budget at once); once that runs out it is estimated afresh.
        """
        later = replace(self, elapsed_s=self.elapsed_s + max(0.0, since_s))
        if self.eta_s is not None and self.eta_s - since_s > 0:
            return later.rate, self.eta_s - since_s
        return later.rate, later.eta_s


ProgressCallback = Callable[[SyncProgress], None]


@dataclass
class SyncSummary:
    """The outcome of one sync run. ``to_json`` is the CLI's ``--json`` contract."""

    kind: Kind
    strategy: str | None = None  # "bulk" | "rest" | "list-bulk" | "list-rest" for initial syncs
    people: int = 0  # people in the cache afterwards
    created: int = 0
    updated: int = 0
    deleted: int = 0
    api_calls: int = 0
    seconds: float = 0.0
    records_read: int = 0  # Marketo records read (owner-gated or not)
    unsubscribed: int = 0  # cached people newly unsubscribed in Marketo (queued for Salesforce)
    resumed: bool = False  # an interrupted initial sync was continued, not restarted
    fell_back: str | None = None  # why bulk extract was abandoned for REST paging, if it was
    calls_by_endpoint: dict[str, int] = field(default_factory=dict)
    #: The activity side of the run (``ActivitySummary.to_json()``), None when it did not run.
    activities: dict[str, Any] | None = None

    def to_json(self) -> dict[str, Any]:
        """People counts and the people side's calls and seconds; the activity side under ``"activities"``."""
        out: dict[str, Any] = {
            "people": self.people,
            "created": self.created,
            "updated": self.updated,
            "deleted": self.deleted,
            "api_calls": self.api_calls,
            "seconds": round(self.seconds, 3),
        }
        if self.activities is not None:
            out["activities"] = dict(self.activities)
        return out

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)

    def get(self, key: str, default: Any = None) -> Any:
        return getattr(self, key, default)
