"""The activity side of every sync run: keep the local activity store whole and fresh (DESIGN, data flow 2).

    summary = await sync_activities(db, client, days=90)     # run_sync calls it after the people sync

One run, in order (each step persisted, so a run killed anywhere resumes where it stopped):

1. the grid's types from ``types.json`` (cached a day by the client), kept for shaping rows without a call;
2. the first time: the feed's chains are started from a date token :data:`FEED_MARGIN` before now, then a
   **backfill** reads the last ``grid.days`` days of the whole instance (REST or bulk, chosen by
   :mod:`sia_tui.sync.activity_plan`; :mod:`sia_tui.sync.activity_backfill`); later runs backfill what is missing:
   older days when ``grid.days`` grew, a grid type that appeared, and **newcomers** (people who entered the cache);
3. one **feed** cycle (:mod:`sia_tui.sync.activity_feed`): every chain read from its token to the present;
4. activities older than ``grid.days`` are pruned.

Calls count against the machine's Marketo budget as ``feed`` (background: a seller's grid goes first).
"""

from __future__ import annotations

import time
from dataclasses import asdict, dataclass
from datetime import datetime, timedelta
from typing import Any, Literal

import sqlite_utils

from sia_tui import budget
from sia_tui.clock import Clock, parse_time, system_clock
from sia_tui.grid.catalog import chunk_types, resolve_types, type_to_json
from sia_tui.i18n import _
from sia_tui.marketo.client import MarketoClient
from sia_tui.store.activities import (
    COVERED_SINCE,
    LAST_SUMMARY,
    TYPES,
    clear_newcomers,
    count_activities,
    covered_since,
    feed_state,
    last_newcomer_seq,
    newcomers,
    prune,
    save_feed_state,
    store_time,
)
from sia_tui.store.db import transaction
from sia_tui.store.state import get_state, set_state
from sia_tui.sync import activity_backfill as backfills
from sia_tui.sync import activity_feed, activity_plan
from sia_tui.sync.activity_backfill import Backfill, BackfillRun
from sia_tui.sync.checkpoint import Reporter, Tally
from sia_tui.sync.progress import ProgressCallback

#: The feed starts this long before the first backfill's end, so the two overlap (a page read twice is harmless).
FEED_MARGIN = timedelta(minutes=10)
#: A newcomer's history starts at their Marketo createdAt, less this (Marketo and our clocks may differ a little).
CREATED_MARGIN = timedelta(hours=1)
VOLUME = "activities.volume"
VOLUME_MAX_AGE = timedelta(days=7)
MAX_BACKFILLS_PER_RUN = 4

Strategy = Literal["auto", "rest", "bulk"]


@dataclass
class ActivitySummary:
    """The activity side of one sync run. ``to_json`` is ``sync --json``'s ``"activities"`` object."""

    added: int = 0  # activities stored that the store did not hold
    removed: int = 0  # activities dropped: older than grid.days, or of people who left the cache
    api_calls: int = 0
    as_of: str | None = None  # the feed's watermark after the run (ISO UTC)
    backfill: str | None = None  # "rest" | "bulk": a backfill ran (or went on) in this run
    newcomers: int = 0  # people whose history was read because they entered the cache
    seconds: float = 0.0

    def to_json(self) -> dict[str, Any]:
        return {
            "added": self.added,
            "removed": self.removed,
            "api_calls": self.api_calls,
            "as_of": self.as_of,
            "backfill": self.backfill,
            "newcomers": self.newcomers,
        }

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


async def sync_activities(
    db: sqlite_utils.Database,
    client: MarketoClient,
    *,
    days: int = 90,
    clock: Clock = system_clock,
    progress: ProgressCallback | None = None,
    strategy: Strategy = "auto",
    count_before: int | None = None,
) -> ActivitySummary:
    """One run of the activity side (see the module docstring); the caller holds the sync lock.

    ``count_before``: the store's size before this sync run began (so people who left count as removed)."""
    with budget.purpose("feed"):
        return await _run(
            db,
            client,
            days=days,
            clock=clock,
            progress=progress,
            strategy=strategy,
            count_before=count_before,
        )


async def _run(
    db: sqlite_utils.Database,
    client: MarketoClient,
    *,
    days: int,
    clock: Clock,
    progress: ProgressCallback | None,
    strategy: Strategy,
    count_before: int | None,
) -> ActivitySummary:
    started = time.monotonic()
    summary = ActivitySummary()
    before = count_activities(db) if count_before is None else count_before
    reporter = Reporter(client, progress, Tally())
    reporter.begin("activities", message="activity feed")
    now = clock()
    floor = now - timedelta(days=days)
    types = resolve_types(await client.activity_types())
    chunks = [list(c) for c in chunk_types(types)]
    with transaction(db):
        set_state(db, TYPES, [type_to_json(t) for t in types])
    feed = feed_state(db)
    if feed is None or not feed.chains:
        token = await client.paging_token(now - FEED_MARGIN)
        feed = activity_feed.new_feed(chunks, token, now - FEED_MARGIN)
        with transaction(db):
            save_feed_state(db, feed)
    for _round in range(MAX_BACKFILLS_PER_RUN):
        backfill = backfills.load(db) or await _next_backfill(db, client, types, chunks, now, floor, strategy)
        if backfill is None:
            break
        summary.backfill = backfill.strategy
        reporter.note(_describe(backfill))
        run = BackfillRun(
            db,
            client,
            backfill,
            floor,
            max(1, client.limiter.background_concurrency),
            lambda n, message: reporter.advance(n, message=message),
        )
        stored_before = backfill.stored
        await backfills.run(run)
        summary.added += backfill.stored - stored_before
        summary.backfill = backfill.strategy
        if backfill.kind == "newcomers":
            summary.newcomers += len(backfill.leads or [])
        _complete(db, backfill, chunks)
        feed = feed_state(db) or feed
    reporter.begin("activities", message="activity feed")
    result = await activity_feed.cycle(db, client, feed, floor=floor, clock=clock)
    summary.added += result.added
    with transaction(db):
        prune(db, floor)
    after = count_activities(db)
    summary.removed = max(0, before + summary.added - after)
    watermark = feed.watermark
    summary.as_of = store_time(watermark) if watermark else None
    summary.api_calls = reporter.api_calls
    summary.seconds = time.monotonic() - started
    with transaction(db):
        set_state(db, LAST_SUMMARY, summary.as_dict())
    return summary


def _describe(backfill: Backfill) -> str:
    """The plan chosen, for the progress notes (one sentence)."""
    since = backfill.start[:10]
    if backfill.kind == "newcomers":
        what = _("reading the history of {count} people new to the cache since {since}").format(
            count=len(backfill.leads or []), since=since
        )
    elif backfill.kind == "types":
        what = _("reading the history of new activity types since {since}").format(since=since)
    else:
        what = _("reading the activity history since {since}").format(since=since)
    how = _("by bulk extract") if backfill.strategy == "bulk" else _("by REST paging")
    rest = backfill.estimates.get("rest", {})
    bulk = backfill.estimates.get("bulk", {})
    text = f"{what} {how}"
    if rest and bulk:
        text += " " + _("(≈{rest} s by REST paging, ≈{bulk} s by bulk extract)").format(
            rest=round(rest.get("seconds", 0)), bulk=round(bulk.get("seconds", 0))
        )
    if backfill.fell_back:
        text += f"; {backfill.fell_back}"
    return text


def _complete(db: sqlite_utils.Database, backfill: Backfill, chunks: list[list[int]]) -> None:
    """What a finished backfill makes true, in one transaction with forgetting its plan."""
    with transaction(db):
        if backfill.kind == "full":
            known = covered_since(db)
            start = backfill.start_time
            set_state(db, COVERED_SINCE, store_time(min(start, known) if known else start))
            if backfill.newcomer_mark is not None:
                clear_newcomers(db, up_to_seq=backfill.newcomer_mark)
        elif backfill.kind == "newcomers":
            clear_newcomers(db, ids=backfill.leads or [])
        elif backfill.kind == "types":
            feed = feed_state(db)
            if feed is not None and activity_feed.rechunk(feed, chunks):
                save_feed_state(db, feed)
        backfills.finish(db)


async def _next_backfill(
    db: sqlite_utils.Database,
    client: MarketoClient,
    types: list[Any],
    chunks: list[list[int]],
    now: datetime,
    floor: datetime,
    strategy: Strategy,
) -> Backfill | None:
    """The backfill this store needs next, planned and saved; None when it needs none."""
    covered = covered_since(db)
    type_ids = [t.id for t in types]
    if covered is None or covered > floor + timedelta(minutes=1):
        end = None if covered is None else covered
        return await _plan(
            db, client, "full", floor, end, type_ids, chunks, None, last_newcomer_seq(db), now, strategy
        )
    feed = feed_state(db)
    fed = {t for c in feed.chains for t in c.types} if feed else set()
    new_types = [t for t in type_ids if t not in fed]
    if new_types:
        new_chunks = [c for c in (list(x) for x in chunk_types([t for t in types if t.id in new_types])) if c]
        return await _plan(db, client, "types", floor, None, new_types, new_chunks, None, None, now, strategy)
    arrived = newcomers(db)
    if arrived:
        created = [n.created_at for n in arrived]
        earliest = floor if any(c is None for c in created) else min(c for c in created if c) - CREATED_MARGIN
        start = max(floor, earliest)
        leads = [n.marketo_id for n in arrived]
        return await _plan(db, client, "newcomers", start, None, type_ids, chunks, leads, None, now, strategy)
    return None


async def _plan(
    db: sqlite_utils.Database,
    client: MarketoClient,
    kind: str,
    start: datetime,
    end: datetime | None,
    type_ids: list[int],
    chunks: list[list[int]],
    leads: list[int] | None,
    mark: int | None,
    now: datetime,
    strategy: Strategy,
) -> Backfill:
    volume = await _volume(db, client, chunks[0], now)
    rows = volume.rows(start, end or now)
    limiter = client.limiter
    filtered = leads is not None and len(leads) <= backfills.MAX_LEAD_IDS
    rest_count = 1 if filtered else max(1, limiter.background_concurrency // max(1, len(chunks)))
    rest = activity_plan.estimate_rest(
        rows,
        len(chunks),
        rest_count,
        limiter.background_calls,
        limiter.window_s,
        limiter.background_concurrency,
    )
    bulk_spans = backfills.bulk_windows(start, end or now)
    bulk = activity_plan.estimate_bulk(rows, len(bulk_spans), max(client.bulk_poll_interval_s, 60.0))
    chosen = (
        {"rest": rest, "bulk": bulk}[strategy] if strategy != "auto" else activity_plan.choose(rest, bulk)
    )
    backfill = Backfill(
        kind=kind,
        strategy=chosen.strategy,
        start=start.isoformat(),
        end=end.isoformat() if end else None,
        types=list(type_ids),
        chunks=[list(c) for c in chunks],
        leads=list(leads) if leads is not None else None,
        newcomer_mark=mark,
        estimates={"rest": rest.to_json(), "bulk": bulk.to_json(), "per_day": round(volume.per_day, 1)},
        started_at=now.isoformat(),
    )
    if chosen.strategy == "bulk":
        backfill.windows = bulk_spans
    else:
        backfill.windows = backfills.rest_windows(start, end, rest_count, len(chunks), now)
    backfills.persist(db, backfill)
    return backfill


async def _volume(
    db: sqlite_utils.Database, client: MarketoClient, first_chunk: list[int], now: datetime
) -> activity_plan.Volume:
    """The instance's activity rate, measured at most once a week (two calls)."""
    raw = get_state(db, VOLUME)
    if isinstance(raw, dict):
        measured = parse_time(raw.get("measured_at"))
        if measured is not None and now - measured < VOLUME_MAX_AGE and raw.get("per_day"):
            return activity_plan.Volume(float(raw["per_day"]), str(raw["measured_at"]))
    volume = await activity_plan.probe(client, first_chunk, now)
    with transaction(db):
        set_state(db, VOLUME, {"per_day": volume.per_day, "measured_at": volume.measured_at})
    return volume
