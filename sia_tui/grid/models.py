"""The smart grid as plain data: one row per Marketo activity, grouped into MSIA's panel tabs.

Rows are immutable (activities never change once written), keyed by ``marketoGUID`` so that fetches, partial
batches and the cached copy can be merged without duplicates.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from typing import Any

#: The panel's tabs, in display order; "overview" is every row (plus the 90-day chart and stars & flames).
TABS: tuple[str, ...] = ("overview", "interesting_moments", "web", "email", "sales")
DATA_TABS: tuple[str, ...] = TABS[1:]


def parse_iso(value: str) -> datetime:
    """An ISO-8601 timestamp as an aware UTC datetime (``Z`` accepted, naive taken as UTC)."""
    text = value.strip()
    if text.endswith("Z"):
        text = text[:-1] + "+00:00"
    parsed = datetime.fromisoformat(text)
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=UTC)
    return parsed.astimezone(UTC)


def iso(value: datetime) -> str:
    """``2026-03-02T09:00:00Z``: whole seconds, UTC, as Marketo writes activity dates."""
    return value.astimezone(UTC).replace(microsecond=0).isoformat().replace("+00:00", "Z")


@dataclass(frozen=True)
class GridRow:
    tab: str  # one of DATA_TABS
    date: datetime  # aware UTC
    type: str  # "Open Email", "Visit Webpage", "Interesting Moment", "Send Sales Email", "Sales Call" ...
    title: str  # email name, page URL, moment description, sales email subject, call outcome ...
    detail: str  # short human detail: link clicked, device, call status and duration ...
    activity_id: str  # marketoGUID (the dedupe key)

    def to_json(self) -> dict[str, str]:
        """The public ``--json`` shape of a row."""
        return {
            "tab": self.tab,
            "date": iso(self.date),
            "type": self.type,
            "title": self.title,
            "detail": self.detail,
        }

    def to_record(self) -> dict[str, str]:
        """What the cache stores: the public shape plus the dedupe key."""
        return {**self.to_json(), "activity_id": self.activity_id}

    @classmethod
    def from_record(cls, raw: Mapping[str, Any]) -> GridRow:
        tab = str(raw["tab"])
        if tab not in DATA_TABS:
            raise ValueError(f"unknown grid tab {tab!r}")
        return cls(
            tab=tab,
            date=parse_iso(str(raw["date"])),
            type=str(raw.get("type") or ""),
            title=str(raw.get("title") or ""),
            detail=str(raw.get("detail") or ""),
            activity_id=str(raw.get("activity_id") or ""),
        )


def newest_first(rows: Iterable[GridRow]) -> list[GridRow]:
    """Newest first; ties broken by activity id (descending) so the order is stable between fetches."""
    return sorted(rows, key=lambda r: (r.date, _id_key(r.activity_id)), reverse=True)


def _id_key(activity_id: str) -> tuple[int, str]:
    return (int(activity_id), "") if activity_id.isdigit() else (-1, activity_id)


def merge_rows(*groups: Iterable[GridRow]) -> list[GridRow]:
    """Rows of several fetches as one list, each activity once, newest first."""
    seen: dict[str, GridRow] = {}
    for group in groups:
        for row in group:
            seen.setdefault(row.activity_id, row)
    return newest_first(seen.values())


@dataclass
class FetchStats:
    """What one grid fetch cost and how long it took (benchmarks, ``--json`` and the status line)."""

    calls: dict[str, int] = field(default_factory=dict)  # API calls per endpoint
    windows: int = 0
    chunks: int = 0
    pages: int = 0
    token_cache_hits: int = 0
    first_rows_s: float | None = None  # from the start of the fetch to the first non-empty batch
    duration_s: float | None = None

    @property
    def total_calls(self) -> int:
        return sum(self.calls.values())

    def record(self, endpoint: str) -> None:
        self.calls[endpoint] = self.calls.get(endpoint, 0) + 1

    def to_json(self) -> dict[str, Any]:
        return {
            "calls": self.total_calls,
            "calls_by_endpoint": dict(sorted(self.calls.items())),
            "windows": self.windows,
            "chunks": self.chunks,
            "pages": self.pages,
            "token_cache_hits": self.token_cache_hits,
            "first_rows_s": None if self.first_rows_s is None else round(self.first_rows_s, 4),
            "duration_s": None if self.duration_s is None else round(self.duration_s, 4),
        }


@dataclass
class Grid:
    """One person's grid: rows newest first; ``complete`` is False when the fetch stopped early (``error`` says
    why, in one sentence), in which case ``rows`` holds what had arrived."""

    marketo_id: int
    fetched_at: datetime
    rows: list[GridRow]
    complete: bool = True
    error: str | None = None
    stats: FetchStats | None = None
    days: int = 90  # the range covered: the ``days`` days before ``fetched_at``

    def __post_init__(self) -> None:
        self.rows = merge_rows(self.rows)

    def by_tab(self, tab: str) -> list[GridRow]:
        """The rows of one tab, newest first ("overview" = every row)."""
        if tab == "overview":
            return list(self.rows)
        if tab not in DATA_TABS:
            raise ValueError(f"unknown grid tab {tab!r}; expected one of {', '.join(TABS)}")
        return [r for r in self.rows if r.tab == tab]

    def counts(self) -> dict[str, int]:
        """Rows per data tab (every tab present, zero when empty)."""
        out = dict.fromkeys(DATA_TABS, 0)
        for row in self.rows:
            out[row.tab] = out.get(row.tab, 0) + 1
        return out

    def daily_counts(self, days: int = 90, now: datetime | None = None) -> list[int]:
        """Activities per UTC day over the last ``days`` days, oldest first and today last (the heat strip)."""
        if days < 1:
            return []
        today = (now or self.fetched_at).astimezone(UTC).date()
        first = today - timedelta(days=days - 1)
        counts = [0] * days
        for row in self.rows:
            day: date = row.date.astimezone(UTC).date()
            if first <= day <= today:
                counts[(day - first).days] += 1
        return counts

    def age(self, now: datetime | None = None) -> timedelta:
        return (now or datetime.now(UTC)) - self.fetched_at

    def to_json(self) -> dict[str, Any]:
        """The public ``grid --json`` shape."""
        return {
            "marketo_id": self.marketo_id,
            "fetched_at": iso(self.fetched_at),
            "rows": [r.to_json() for r in self.rows],
        }


def describe_age(age: timedelta) -> str:
    """``"3 min"``, ``"2 h 5 min"``, ``"4 days"``: how old a cached grid is, for people."""
    seconds = max(0, int(age.total_seconds()))
    if seconds < 60:
        return f"{seconds} s"
    minutes = seconds // 60
    if minutes < 60:
        return f"{minutes} min"
    hours, minutes = divmod(minutes, 60)
    if hours < 48:
        return f"{hours} h {minutes} min" if minutes else f"{hours} h"
    return f"{hours // 24} days"
