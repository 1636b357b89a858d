"""People who engaged recently (opened, clicked, visited, filled a form, replied, had an interesting moment).

The one place the Command Center asks "who engaged lately?". Today the answer comes from the smart grids cached
on this machine (``grid_cache``: every person whose panel was opened, with the activity fetched then), so it only
knows people the seller looked at. When the instance-wide activity store arrives (DESIGN.md flow 2), this function
reads it instead and nothing else changes.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime, timedelta

import sqlite_utils

from sia_tui.clock import parse_time
from sia_tui.outbox.model import iso

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
    since = now - timedelta(days=days)
    found: list[Engagement] = []
    rows = db.conn.execute(
        "SELECT marketo_id, rows FROM grid_cache WHERE fetched_at >= ?", (iso(since)[:19],)
    ).fetchall()
    for marketo_id, payload in rows:
        try:
            items = json.loads(payload)
        except ValueError:
            continue
        hits = []
        for item in items:
            if not isinstance(item, dict) or item.get("type") not in ENGAGED_TYPES:
                continue
            when = parse_time(str(item.get("date") or "").replace("Z", "+00:00"))
            if when is not None and since <= when <= now:
                hits.append((when, str(item.get("type")), str(item.get("title") or "")))
        if hits:
            latest = max(hits)
            found.append(Engagement(int(marketo_id), latest[0], latest[1], latest[2], len(hits)))
    found.sort(key=lambda e: e.at, reverse=True)
    return found[:limit]
