"""The last grid fetched per person, in the local SQLite cache (table ``grid_cache``).

It lets the panel show something at once (marked with its age) while the fresh grid loads, and keeps the grid
readable offline. One row per person; saving replaces it. A damaged entry reads as "no cache", so it can never
block a fresh fetch.
"""

from __future__ import annotations

import json
import logging

import sqlite_utils

from sia_tui.grid.models import Grid, GridRow, iso, parse_iso
from sia_tui.store.db import transaction

log = logging.getLogger(__name__)


def save_grid(db: sqlite_utils.Database, grid: Grid) -> None:
    """Store ``grid`` as the person's cached grid (replacing the previous one)."""
    payload = json.dumps([row.to_record() for row in grid.rows], ensure_ascii=False, separators=(",", ":"))
    with transaction(db) as conn:
        conn.execute(
            "INSERT INTO grid_cache (marketo_id, fetched_at, rows, days, complete) VALUES (?, ?, ?, ?, ?) "
            "ON CONFLICT(marketo_id) DO UPDATE SET fetched_at = excluded.fetched_at, rows = excluded.rows, "
            "days = excluded.days, complete = excluded.complete",
            (int(grid.marketo_id), iso(grid.fetched_at), payload, int(grid.days), int(grid.complete)),
        )


def load_cached_grid(db: sqlite_utils.Database, marketo_id: int) -> Grid | None:
    """The person's cached grid, or None when there is none (or it cannot be read)."""
    found = db.conn.execute(
        "SELECT fetched_at, rows, days, complete FROM grid_cache WHERE marketo_id = ?", (int(marketo_id),)
    ).fetchone()
    if found is None:
        return None
    fetched_at, payload, days, complete = found
    try:
        rows = [GridRow.from_record(item) for item in json.loads(payload)]
        when = parse_iso(fetched_at)
    except (ValueError, TypeError, KeyError, AttributeError) as exc:
        log.warning("ignoring the damaged cached grid of lead %s: %s", marketo_id, exc)
        return None
    return Grid(int(marketo_id), when, rows, complete=bool(complete), error=None, days=int(days or 90))


def delete_cached_grid(db: sqlite_utils.Database, marketo_id: int) -> None:
    with transaction(db) as conn:
        conn.execute("DELETE FROM grid_cache WHERE marketo_id = ?", (int(marketo_id),))
