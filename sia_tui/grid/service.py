"""One person's smart grid, for the person screen and ``sia-tui grid`` alike: the store at once, then a top-up.

    async for view in stream_grid(db, marketo_id, connect=..., reachable=..., clock=clock):
        show(view.grid, view.stage, view.problem)

1. **The store** (0 API calls): the person's stored activities of the last ``days`` days, shaped into rows, "as
   of" the feed's watermark (:mod:`sia_tui.store.activities`). Yielded before anything touches the network.
2. **The top-up**: each chain of the feed (≤ 10 type ids) is read on from the feed's persisted token, filtered to
   this person (purpose ``grid``: a seller is waiting). Every ``activities.json`` call walks ~300 of the whole
   instance's activities, so a fresh feed (one interval behind) costs one call per chain, sent at once: one
   round trip. The rows found are merged in (not stored: the next feed cycle stores them) and the grid is "as of"
   the top-up. A top-up stops after ``max_pages`` per chain when the feed is far behind (the app was closed for
   a while): the grid then says how far behind it is, and the sync catches up.
3. A TCP probe runs alongside (no quota): when Marketo cannot be reached the store is the grid, marked OFFLINE
   with its age; a failure after the client's retries shows the store with the reason.

This module is the one home of the rule "the store, topped up from Marketo, else the store marked with its age".
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any, Literal

import sqlite_utils

from sia_tui import budget
from sia_tui.clock import Clock, system_clock
from sia_tui.grid.catalog import GridType, types_from_json
from sia_tui.grid.models import Grid, GridRow, describe_age
from sia_tui.grid.shape import to_row
from sia_tui.i18n import N_, _
from sia_tui.net import ApiError
from sia_tui.store.activities import (
    FeedState,
    StoredActivity,
    covered_since,
    feed_state,
    grid_types_json,
    person_activities,
)

if TYPE_CHECKING:
    from sia_tui.marketo.client import MarketoClient

DEFAULT_DAYS = 90
#: Pages per chain a top-up reads before it leaves the rest to the sync (the person screen: a seller is waiting).
SCREEN_MAX_PAGES = 4
#: The same for ``sia-tui grid``, which a script may run with no sync going (still bounded: ~15,000 activities).
COMMAND_MAX_PAGES = 50
STALL_LIMIT = 3

Stage = Literal["store", "current", "offline", "error", "behind", "unfilled"]


@dataclass(frozen=True)
class GridView:
    """One step of :func:`stream_grid`.

    ``stage``: ``store`` (painted from the store, the top-up running), ``current`` (topped up: complete as of a
    moment ago), ``offline`` (Marketo unreachable: the store, with its age), ``error`` (the top-up failed:
    ``problem`` says why), ``behind`` (the feed is far behind; the top-up stopped after its pages), ``unfilled``
    (the activity store has never been filled: the sync fills it). ``history_complete`` is False while the
    person's history is still being read by the sync (a backfill running, or a person who just entered the cache).
    """

    grid: Grid
    stage: Stage
    problem: str | None = None
    api_calls: int = 0
    history_complete: bool = True
    first_paint_s: float | None = None

    @property
    def final(self) -> bool:
        return self.stage != "store"


@dataclass
class TopUp:
    rows: list[GridRow]
    complete: bool  # every chain read to the present
    as_of: datetime | None  # when the slowest chain asked for its last page (None unless complete)
    calls: int


# ------------------------------------------------------------------------------------------------ the store


def grid_types(db: sqlite_utils.Database) -> dict[int, GridType]:
    """The grid's activity types as the feed last resolved them (standard ones before any feed ran)."""
    return {t.id: t for t in types_from_json(grid_types_json(db))}


def shape(activity: StoredActivity, types: dict[int, GridType]) -> GridRow | None:
    grid_type = types.get(activity.type_id)
    if grid_type is None:
        return None
    record = {**activity.record, "marketoGUID": activity.guid, "activityTypeId": activity.type_id}
    return to_row(record, grid_type, activity.at)


def history_complete(db: sqlite_utils.Database, marketo_id: int, since: datetime) -> bool:
    """Does the store hold this person's whole history from ``since``? (Not while a backfill has not covered
    that far, nor for a person who entered the cache and whose history the next sync reads.)"""
    covered = covered_since(db)
    if covered is None or covered > since + timedelta(minutes=1):
        return False
    row = db.conn.execute("SELECT 1 FROM activity_newcomers WHERE marketo_id = ?", (int(marketo_id),))
    return row.fetchone() is None


StoreGrid = tuple[Grid, "FeedState | None", bool]


def grid_from_store(
    db: sqlite_utils.Database, marketo_id: int, *, days: int = DEFAULT_DAYS, clock: Clock = system_clock
) -> StoreGrid:
    """The person's grid from the store alone (0 API calls), the feed's state, and whether their history is whole."""
    now = clock()
    since = now - timedelta(days=days)
    types = grid_types(db)
    rows = [r for r in (shape(a, types) for a in person_activities(db, marketo_id, since)) if r]
    feed = feed_state(db)
    complete = history_complete(db, marketo_id, since)
    grid = Grid(
        int(marketo_id), now, rows, complete=complete, days=days, as_of=feed.watermark if feed else None
    )
    return grid, feed, complete


# ---------------------------------------------------------------------------------------------- the top-up


async def top_up(
    client: MarketoClient,
    marketo_id: int,
    feed: FeedState,
    types: dict[int, GridType],
    *,
    since: datetime,
    clock: Clock = system_clock,
    max_pages: int = SCREEN_MAX_PAGES,
) -> TopUp:
    """Read every feed chain on from its token, filtered to this person; see the module docstring."""
    before = client.calls.total

    async def chain(type_ids: Sequence[int], token: str) -> tuple[list[dict[str, Any]], datetime | None]:
        found: list[dict[str, Any]] = []
        stalls = 0
        for _page in range(max(1, max_pages)):
            asked = clock()
            page = await client.activity_page(type_ids, token, lead_ids=[int(marketo_id)])
            found.extend(page.records)
            if not page.more_result:
                return found, asked
            if page.next_page_token == token and not page.records:
                stalls += 1
                if stalls >= STALL_LIMIT:
                    break
            token = page.next_page_token or token
        return found, None

    with budget.purpose("grid"):  # the tasks copy the context: their calls are a seller's
        tasks = [asyncio.create_task(chain(c.types, c.token)) for c in feed.chains]
    try:
        results = await asyncio.gather(*tasks)
    finally:
        for task in tasks:
            if not task.done():
                task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
    rows: list[GridRow] = []
    for records, _asked in results:
        for record in records:
            row = to_row(record, types[int(record["activityTypeId"])]) if _known(record, types) else None
            if row is not None and row.date >= since:
                rows.append(row)
    finished = [asked for _records, asked in results]
    complete = all(a is not None for a in finished)
    as_of = min(a for a in finished if a is not None) if complete and finished else None
    return TopUp(rows, complete, as_of, client.calls.total - before)


def _known(record: dict[str, Any], types: dict[int, GridType]) -> bool:
    try:
        return int(record.get("activityTypeId")) in types  # type: ignore[arg-type]
    except (TypeError, ValueError):
        return False


# ------------------------------------------------------------------------------------------ the whole rule


Connect = Callable[[], Awaitable["MarketoClient"]]
Reachable = Callable[[], Awaitable[bool]]


async def stream_grid(
    db: sqlite_utils.Database,
    marketo_id: int,
    *,
    connect: Connect | None,
    reachable: Reachable | None = None,
    days: int = DEFAULT_DAYS,
    clock: Clock = system_clock,
    max_pages: int = SCREEN_MAX_PAGES,
    store: StoreGrid | None = None,
) -> AsyncIterator[GridView]:
    """The store's grid at once, then the topped-up one (or the store marked offline / with the error).

    ``connect`` gives the Marketo client (None: not configured, the store is all there is); ``reachable`` is a
    cheap probe (a TCP connect) raced against the top-up. Yields one ``store`` view, then one final view.
    ``store``: what :func:`grid_from_store` returned, when the caller has painted it already.
    """
    started = time.perf_counter()
    grid, feed, complete = store or grid_from_store(db, marketo_id, days=days, clock=clock)
    paint_s = time.perf_counter() - started
    if feed is None or not feed.chains:
        yield GridView(grid, "unfilled", _(UNFILLED), 0, False, paint_s)
        return
    yield GridView(grid, "store", None, 0, complete, paint_s)
    if connect is None:
        yield GridView(grid, "offline", _("Marketo is not configured."), 0, complete, paint_s)
        return
    since = grid.fetched_at - timedelta(days=days)
    types = grid_types(db)
    client: MarketoClient | None = None

    async def connect_and_top_up() -> TopUp:
        nonlocal client
        client = await connect()
        return await top_up(client, marketo_id, feed, types, since=since, clock=clock, max_pages=max_pages)

    probe = asyncio.ensure_future(reachable()) if reachable is not None else None
    work = asyncio.ensure_future(connect_and_top_up())
    try:
        waiting = {work} | ({probe} if probe is not None else set())
        done, _pending = await asyncio.wait(waiting, return_when=asyncio.FIRST_COMPLETED)
        if probe is not None and probe in done and not probe.result():
            yield GridView(grid, "offline", _("Marketo cannot be reached."), 0, complete, paint_s)
            return
        try:
            result = await work
        except ApiError as exc:
            offline = probe is not None and not await probe
            problem = _("Marketo cannot be reached.") if offline else str(exc)
            yield GridView(grid, "offline" if offline else "error", problem, 0, complete, paint_s)
            return
        except (
            Exception
        ) as exc:  # the client could not be built: not configured, a sandbox that would not start
            if client is not None:
                raise
            yield GridView(grid, "error", _sentence(exc), 0, complete, paint_s)
            return
        merged = replace(grid, rows=[*grid.rows, *result.rows])
        if not result.complete:
            text = _("The activity store is {age} behind Marketo; the sync is catching up.").format(
                age=_age(grid.as_of, grid.fetched_at)
            )
            yield GridView(merged, "behind", text, result.calls, complete, paint_s)
            return
        merged.as_of = result.as_of
        yield GridView(merged, "current", None, result.calls, complete, paint_s)
    finally:
        for task in (work, probe):
            if task is not None and not task.done():
                task.cancel()
                with contextlib.suppress(asyncio.CancelledError, Exception):
                    await task


UNFILLED = N_(
    "The activity store has not been filled yet: the sync fills it (in the app, or `sia-tui sync`)."
)


def _sentence(exc: BaseException) -> str:
    text = str(exc).strip()
    return text if text else type(exc).__name__


def _age(then: datetime | None, now: datetime) -> str:
    if then is None:
        return _("far")
    return describe_age(now - then)


async def load_grid(
    db: sqlite_utils.Database,
    marketo_id: int,
    *,
    connect: Connect | None,
    reachable: Reachable | None = None,
    days: int = DEFAULT_DAYS,
    clock: Clock = system_clock,
    max_pages: int = COMMAND_MAX_PAGES,
) -> GridView:
    """The final view of :func:`stream_grid` (``sia-tui grid``, scripts, benchmarks)."""
    last: GridView | None = None
    async for view in stream_grid(
        db,
        marketo_id,
        connect=connect,
        reachable=reachable,
        days=days,
        clock=clock,
        max_pages=max_pages,
    ):
        last = view
    assert last is not None
    return last
