"""Fresh grid, or the cached one when Marketo cannot give it: the rule the headless ``grid`` command follows.

A fresh, complete grid replaces the cached one. When Marketo is unreachable (a TCP probe answers that in
milliseconds, so nobody waits for the client's retries) or the fetch fails, the cached grid is returned with the
reason, so the caller can show it marked with its age; with no cache, the reason is all there is.
"""

from __future__ import annotations

import asyncio
import contextlib
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import TYPE_CHECKING

import sqlite_utils

from sia_tui.grid.cache import load_cached_grid, save_grid
from sia_tui.grid.fetch import DEFAULT_DAYS, load_grid
from sia_tui.grid.models import Grid
from sia_tui.grid.reach import PROBE_TIMEOUT_S, tcp_reachable

if TYPE_CHECKING:
    from sia_tui.marketo.client import MarketoClient


@dataclass
class GridOutcome:
    grid: Grid | None  # what to show: the fresh grid, else the cached one, else None
    fresh: bool  # True when ``grid`` was just fetched from Marketo
    problem: str | None = None  # why no fresh grid (one sentence), None when fresh
    offline: bool = False  # the problem is that Marketo cannot be reached at all


def within(grid: Grid, days: int) -> Grid:
    """``grid`` cut to the last ``days`` days before it was fetched (a 90-day cache asked for 30 days)."""
    if days >= grid.days:
        return grid
    since = grid.fetched_at - timedelta(days=days)
    rows = [r for r in grid.rows if r.date >= since]
    return Grid(grid.marketo_id, grid.fetched_at, rows, grid.complete, grid.error, grid.stats, days)


def fallback(
    db: sqlite_utils.Database, marketo_id: int, days: int, problem: str, offline: bool
) -> GridOutcome:
    cached = load_cached_grid(db, marketo_id)
    return GridOutcome(
        within(cached, days) if cached else None, fresh=False, problem=problem, offline=offline
    )


async def refresh_grid(
    db: sqlite_utils.Database,
    client: MarketoClient,
    marketo_id: int,
    *,
    days: int = DEFAULT_DAYS,
    now: datetime | None = None,
    probe_url: str | None = None,
    probe_timeout_s: float = PROBE_TIMEOUT_S,
) -> GridOutcome:
    """Fetch the grid (saving it when complete); fall back to the cache as the module docstring says."""
    fetch = asyncio.create_task(load_grid(client, marketo_id, days=days, now=now))
    probe = asyncio.create_task(tcp_reachable(probe_url or client.base_url, probe_timeout_s))
    try:
        done, _ = await asyncio.wait({fetch, probe}, return_when=asyncio.FIRST_COMPLETED)
        if probe in done and not probe.result():
            fetch.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await fetch
            return fallback(db, marketo_id, days, f"Marketo cannot be reached at {client.base_url}.", True)
        grid = await fetch
    finally:
        for task in (fetch, probe):
            if not task.done():
                task.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await task
    if not grid.complete:
        reachable = await tcp_reachable(probe_url or client.base_url, probe_timeout_s)
        return fallback(db, marketo_id, days, grid.error or "The grid fetch stopped early.", not reachable)
    save_grid(db, grid)
    return GridOutcome(grid, fresh=True)
