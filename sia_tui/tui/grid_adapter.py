"""The TUI's single doorway to the grid service (sia_tui/grid/), so its contract is used in one place.

Contract (written in parallel): ``models.GridRow(tab, date, type, title, detail, activity_id)``,
``models.Grid(marketo_id, fetched_at, rows, complete, error)`` with ``by_tab`` and ``daily_counts``,
``models.TABS``; ``fetch.fetch_grid(client, marketo_id, days, now)`` yielding lists of rows as they arrive;
``cache.save_grid`` / ``cache.load_cached_grid``; ``scores`` for stars and flames.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterable
from datetime import datetime, timedelta
from typing import Any

from sia_tui.tui.clock import parse_time

GRID_DAYS = 90

TAB_LABELS: dict[str, str] = {
    "overview": "Overview",
    "interesting_moments": "Interesting Moments",
    "web": "Web Activity",
    "email": "Email",
    "sales": "Sales Activity",
}
DATA_TABS: tuple[str, ...] = ("interesting_moments", "web", "email", "sales")


def tabs() -> tuple[str, ...]:
    try:
        from sia_tui.grid.models import TABS

        return tuple(TABS)
    except ImportError:
        return tuple(TAB_LABELS)


def row_time(row: Any) -> datetime | None:
    return parse_time(getattr(row, "date", None))


def row_key(row: Any) -> Any:
    activity_id = getattr(row, "activity_id", None)
    if activity_id is not None:
        return ("id", getattr(row, "tab", None), activity_id)
    return ("row", row.tab, str(row.date), row.type, row.title, row.detail)


def merge_rows(*groups: Iterable[Any]) -> list[Any]:
    """Rows of several fetches as one list, newest first, each activity once (activities never change)."""
    seen: dict[Any, Any] = {}
    for group in groups:
        for row in group:
            seen.setdefault(row_key(row), row)
    return sorted(seen.values(), key=_sort_key, reverse=True)


def _sort_key(row: Any) -> tuple[float, str]:
    when = row_time(row)
    return (when.timestamp() if when else 0.0, str(getattr(row, "activity_id", "") or ""))


def rows_for_tab(rows: Iterable[Any], tab: str) -> list[Any]:
    return [r for r in rows if getattr(r, "tab", None) == tab]


def make_grid(
    marketo_id: int, fetched_at: datetime, rows: list[Any], complete: bool = True, error: str | None = None
) -> Any:
    from sia_tui.grid.models import Grid

    return Grid(marketo_id=marketo_id, fetched_at=fetched_at, rows=rows, complete=complete, error=error)


def daily_counts(rows: list[Any], now: datetime, days: int = GRID_DAYS) -> list[int]:
    """Activities per day over the last ``days`` days, oldest first (today last)."""
    counts = [0] * days
    today = now.date()
    for row in rows:
        when = row_time(row)
        if when is None:
            continue
        age = (today - when.astimezone(now.tzinfo).date()).days if now.tzinfo else (today - when.date()).days
        if 0 <= age < days:
            counts[days - 1 - age] += 1
    return counts


def fetch_rows(
    client: Any, marketo_id: int, now: datetime, days: int = GRID_DAYS
) -> AsyncIterator[list[Any]]:
    from sia_tui.grid.fetch import fetch_grid

    return fetch_grid(client, marketo_id, days=days, now=now)


def load_cached(db: Any, marketo_id: int) -> Any | None:
    from sia_tui.grid.cache import load_cached_grid

    return load_cached_grid(db, marketo_id)


def save(db: Any, grid: Any) -> None:
    from sia_tui.grid.cache import save_grid

    save_grid(db, grid)


def cutoff(now: datetime, days: int = GRID_DAYS) -> datetime:
    return now - timedelta(days=days)


def person_scores(person: dict[str, Any]) -> tuple[int | None, int | None]:
    """(stars, flames), each 0 to :data:`MAX_LEVEL`, or None where the lead carries no such score."""
    from sia_tui.grid import scores

    return scores.stars(person), scores.flames(person)


def max_level() -> int:
    from sia_tui.grid.scores import MAX_LEVEL

    return MAX_LEVEL
