"""What a running sync tells its front end, and what it reports when it ends.

The sync never draws anything: it calls a :data:`ProgressCallback` with :class:`SyncProgress` snapshots (the CLI
turns them into a Rich progress bar, the TUI into its status line).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from typing import Any, Literal

Phase = Literal["plan", "initial", "changes", "deletes", "swap", "done"]
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

    @property
    def rate(self) -> float:
        """Records read per second since the phase began."""
        return self.done / self.elapsed_s if self.elapsed_s > 0 else 0.0

    @property
    def eta_s(self) -> float | None:
        if self.total is None or self.rate <= 0:
            return None
        return max(0.0, (self.total - self.done) / self.rate)


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

    def to_json(self) -> dict[str, Any]:
        return {
            "people": self.people,
            "created": self.created,
            "updated": self.updated,
            "deleted": self.deleted,
            "api_calls": self.api_calls,
            "seconds": round(self.seconds, 3),
        }

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)

    def get(self, key: str, default: Any = None) -> Any:
        return getattr(self, key, default)
