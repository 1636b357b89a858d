"""People who engaged recently (opened, clicked, visited, filled a form, replied, had an interesting moment).

The one place the Command Center asks "who engaged lately?". The answer comes from the local activity store,
which the instance-wide feed keeps fresh for every cached person (not only those whose panel was opened), so
asking costs no Marketo call.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

import sqlite_utils

from sia_tui.grid.service import grid_types, shape
from sia_tui.store.activities import activities_between

#: Grid row types that mean the person did something (not what we did to them).
ENGAGED_TYPES: frozenset[str] = frozenset(
    {
        "Visit Webpage",
        "Fill Out Form",
        "Click Link",
        "Open Email",
        "Click Email",
        "Interesting Moment",
        "Open Sales Email",
        "Click Sales Email",
        "Receive Sales Email",
    }
)
DEFAULT_DAYS = 2


@dataclass(frozen=True)
class Engagement:
    marketo_id: int
    at: datetime  # the latest engagement
    type: str
    title: str
    count: int  # engagements in the period


def recent_engagement(
    db: sqlite_utils.Database, *, now: datetime, days: int = DEFAULT_DAYS, limit: int = 50
) -> list[Engagement]:
    """People with engagement in the last ``days`` days, most recent first."""
    types = grid_types(db)
    hits: dict[int, list[tuple[datetime, str, str]]] = {}
    for activity in activities_between(db, now - timedelta(days=days), now):
        row = shape(activity, types)
        if row is None or row.type not in ENGAGED_TYPES:
            continue
        hits.setdefault(activity.lead_id, []).append((row.date, row.type, row.title))
    found = [
        Engagement(marketo_id, *max(mine), count=len(mine)) for marketo_id, mine in hits.items()
    ]
    found.sort(key=lambda e: e.at, reverse=True)
    return found[:limit]
