"""The smart grid as plain data: one row per Marketo activity, grouped into MSIA's panel tabs.

Rows are immutable (activities never change once written), keyed by ``marketoGUID`` so that the store's rows and
a top-up's can be merged without duplicates. The one implementation of merging and of the per-day heat strip
(the seller's local days) for every front end.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta, tzinfo
from typing import Any

#: The panel's tabs, in display order; "overview" is every row (plus the 90-day chart and stars & flames).
TABS: tuple[str, ...] = ("overview", "interesting_moments", "web", "email", "sales")
DATA_TABS: tuple[str, ...] = TABS[1:]


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
            "activity_id": self.activity_id,
        }


def newest_first(rows: Iterable[GridRow]) -> list[GridRow]:
    """Newest first; ties broken by activity id (descending, numerically when numeric) so the order is stable."""
    return sorted(rows, key=lambda r: (r.date, _id_key(r.activity_id)), reverse=True)


def _id_key(activity_id: str) -> tuple[int, str]:
    return (int(activity_id), "") if activity_id.isdigit() else (-1, activity_id)


def merge_rows(*groups: Iterable[GridRow]) -> list[GridRow]:
    """Rows of several reads (the store, a top-up) as one list, each activity (``marketoGUID``) once, newest first.

    The first copy of an activity wins: activities never change once written."""
    seen: dict[str, GridRow] = {}
    for group in groups:
        for row in group:
            seen.setdefault(row.activity_id, row)
    return newest_first(seen.values())


def local_zone() -> tzinfo:
    """This machine's time zone: the seller's day, unless a front end says otherwise."""
    return datetime.now().astimezone().tzinfo or UTC


def daily_counts(
    rows: Iterable[GridRow], now: datetime, days: int = 90, tz: tzinfo | None = None
) -> list[int]:
    """Activities per day over the last ``days`` days, oldest first and today last (the heat strip).

    Days are the seller's local calendar days (``tz``, default this machine's zone), so an email opened at
    08:00 in Tokyo counts on that Tokyo day, whatever its UTC date."""
    if days < 1:
        return []
    zone = tz or local_zone()
    today = now.astimezone(zone).date()
    first = today - timedelta(days=days - 1)
    counts = [0] * days
    for row in rows:
        day: date = row.date.astimezone(zone).date()
        if first <= day <= today:
            counts[(day - first).days] += 1
    return counts


@dataclass
class Grid:
    """One person's grid at ``fetched_at`` (the "now" its ``days`` count back from): rows newest first.

    ``as_of``: every activity up to this moment is in ``rows`` (the feed's watermark, or the end of this open's
    top-up); None when the activity store has never been filled. ``complete`` is False when the person's history
    is not all there (a backfill still running, or a top-up that stopped early; ``error`` says why)."""

    marketo_id: int
    fetched_at: datetime
    rows: list[GridRow]
    complete: bool = True
    error: str | None = None
    days: int = 90
    as_of: datetime | None = None

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

    def daily_counts(
        self, days: int = 90, now: datetime | None = None, tz: tzinfo | None = None
    ) -> list[int]:
        """See :func:`daily_counts` (the seller's local days)."""
        return daily_counts(self.rows, now or self.fetched_at, days, tz)

    def age(self, now: datetime | None = None) -> timedelta | None:
        """How old ``as_of`` is (None when the store never had this grid)."""
        if self.as_of is None:
            return None
        return (now or self.fetched_at) - self.as_of

    def to_json(self) -> dict[str, Any]:
        """The public ``grid --json`` shape."""
        return {
            "marketo_id": self.marketo_id,
            "fetched_at": iso(self.fetched_at),
            "as_of": iso(self.as_of) if self.as_of is not None else None,
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
