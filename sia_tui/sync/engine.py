"""The sync's front door: one run (people: initial, resumed, ``--full`` or incremental; then the activity side)
and the watch loop.

    summary = await run_sync(settings)                  # what the CLI, the TUI and scripts call
    summary = await run_sync(settings, full=True)       # a fresh initial sync; the old cache stays until it ends

Which run happens:
- an unfinished initial sync in the cache (``people.initial``) is resumed where it stopped (``--full`` restarts it);
- a cache never fully synced (or built for another static list) gets an initial sync;
- otherwise an incremental sync.

Only one sync per cache runs at a time (:class:`~sia_tui.sync.lock.SyncLock`); a second one fails at once with
:class:`SyncBusyError`. Progress goes to an optional callback; nothing here draws or prints.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable
from datetime import timedelta
from pathlib import Path
from typing import Any, Literal

import sqlite_utils

from sia_tui import budget
from sia_tui.clock import Clock, system_clock
from sia_tui.i18n import ngettext
from sia_tui.marketo.client import MarketoClient
from sia_tui.net import AuthError, ValidationError
from sia_tui.store.activities import count_activities
from sia_tui.store.db import open_db, transaction
from sia_tui.store.people import count_people
from sia_tui.store.state import delete_state, get_state, set_state
from sia_tui.sync import plan
from sia_tui.sync.activity_sync import sync_activities
from sia_tui.sync.checkpoint import (
    CONFIG,
    FEED_KEYS,
    INITIAL,
    LAST_SUMMARY,
    LAST_SYNC_AT,
    SINCE,
    Reporter,
    Tally,
    iso,
    utc_now,
)
from sia_tui.sync.fields import resolve_fields
from sia_tui.sync.incremental import IncrementalRun, run_incremental
from sia_tui.sync.initial import (
    BulkUnavailableError,
    InitialRun,
    InitialState,
    bulk_windows,
    cancel_jobs,
    new_bulk_state,
    rest_state,
    run_bulk,
    run_list_rest,
    run_rest,
)
from sia_tui.sync.lock import SyncBusyError, SyncLock
from sia_tui.sync.progress import ProgressCallback, SyncProgress, SyncSummary
from sia_tui.sync.writer import sweep_generation

__all__ = [
    "EmptyReplacementError",
    "ProgressCallback",
    "Strategy",
    "SyncBusyError",
    "SyncProgress",
    "SyncSummary",
    "last_summary",
    "last_sync_at",
    "run_sync",
    "sync_with_client",
    "watch",
]

log = logging.getLogger("sia_tui.sync")

Strategy = Literal["auto", "rest", "bulk"]
#: The incremental feeds start this long before the newest Marketo timestamp the initial sync's probe saw (the
#: feeds replay what changed during the initial sync; re-applying a person is harmless).
SINCE_MARGIN = timedelta(hours=1)
STATUS_REFRESH_S = 60.0


class EmptyReplacementError(RuntimeError):
    """An initial or full sync read no people while the cache has some: the cache is kept, nothing replaced.

    Marketo answering "nobody" to a whole-database read is far likelier a fault (a wrong static list, a permission
    taken away, a broken proxy) than the truth, and emptying the cache would hide every person from the seller.
    ``allow_empty=True`` (``sia-tui sync --full --allow-empty``) accepts it when it is the truth.
    """


def last_sync_at(db: sqlite_utils.Database) -> str | None:
    """When the last successful sync ended (ISO-8601 UTC), or None before the first one."""
    value = get_state(db, LAST_SYNC_AT)
    return str(value) if value else None


def last_summary(db: sqlite_utils.Database) -> dict[str, Any] | None:
    value = get_state(db, LAST_SUMMARY)
    return dict(value) if isinstance(value, dict) else None


async def run_sync(
    settings: Any,
    *,
    db_path: str | Path | None = None,
    full: bool = False,
    progress: ProgressCallback | None = None,
    endpoints: Any = None,
    client: MarketoClient | None = None,
    strategy: Strategy = "auto",
    allow_empty: bool = False,
    activities: bool = True,
    clock: Clock = system_clock,
) -> SyncSummary:
    """One sync of this profile's cache (see the module docstring); raises SyncBusyError if one is running.

    ``endpoints`` (from :func:`sia_tui.connections.resolve`) or ``client`` say which Marketo to use; by default
    the profile's own. ``strategy`` forces REST paging or bulk extract for an initial sync. An initial or full
    sync that reads nobody while the cache has people raises :class:`EmptyReplacementError` and keeps the cache,
    unless ``allow_empty``. With ``activities`` (the default) the run goes on to the activity side: backfill when
    needed, then one cycle of the instance-wide activity feed (:mod:`sia_tui.sync.activity_sync`); ``clock`` is
    its "now".
    """
    path = Path(db_path) if db_path is not None else Path(settings.db_path)
    if db_path is None:
        settings.paths.ensure()
    list_id = int(settings.get("marketo.static_list_id") or 0)
    days = int(settings.get("grid.days"))
    with SyncLock(path):
        db = open_db(path)
        try:
            if client is not None:
                return await _people_then_activities(
                    db, client, full, progress, strategy, list_id, days, activities, clock, allow_empty
                )
            from sia_tui.connections import marketo_client

            async with marketo_client(settings, endpoints) as own:
                return await _people_then_activities(
                    db, own, full, progress, strategy, list_id, days, activities, clock, allow_empty
                )
        finally:
            db.conn.close()


async def _people_then_activities(
    db: sqlite_utils.Database,
    client: MarketoClient,
    full: bool,
    progress: ProgressCallback | None,
    strategy: Strategy,
    list_id: int,
    days: int,
    activities: bool,
    clock: Clock,
    allow_empty: bool,
) -> SyncSummary:
    """The people sync, then (with ``activities``) the activity side: newcomers need the people first."""
    before = count_activities(db)
    summary = await sync_with_client(
        db, client, full=full, progress=progress, strategy=strategy, list_id=list_id, allow_empty=allow_empty
    )
    if activities:
        side = await sync_activities(db, client, days=days, clock=clock, progress=progress, count_before=before)
        summary.activities = side.to_json()
        with transaction(db):
            set_state(db, LAST_SUMMARY, summary.as_dict())
    return summary


async def sync_with_client(
    db: sqlite_utils.Database,
    client: MarketoClient,
    *,
    full: bool = False,
    progress: ProgressCallback | None = None,
    strategy: Strategy = "auto",
    list_id: int = 0,
    allow_empty: bool = False,
) -> SyncSummary:
    """The run itself, on an open cache and client (the caller holds the lock); its calls count as ``sync``."""
    tally = Tally()
    reporter = Reporter(client, progress, tally)
    # "waiting for Marketo ..." goes to the progress line (stderr, the app's status), not only to the log.
    with budget.purpose("sync"), client.waits.listening(reporter.note):
        return await _sync(db, client, reporter, tally, full, strategy, list_id, allow_empty)


async def _sync(
    db: sqlite_utils.Database,
    client: MarketoClient,
    reporter: Reporter,
    tally: Tally,
    full: bool,
    strategy: Strategy,
    list_id: int,
    allow_empty: bool,
) -> SyncSummary:
    calls_before = client.calls.snapshot()
    raw = get_state(db, INITIAL)
    config = get_state(db, CONFIG) or {}
    resumed = False
    state: InitialState | None = None
    if raw and not full:
        state = InitialState.from_json(raw)
        resumed = True
    elif full or get_state(db, SINCE) is None or int(config.get("list_id") or 0) != list_id:
        if raw:
            await cancel_jobs(client, InitialState.from_json(raw))
        state = await _plan(
            client, reporter, kind="full" if full else "initial", strategy=strategy, list_id=list_id
        )
    if state is not None:
        summary = SyncSummary(kind="full" if state.kind == "full" else "initial", resumed=resumed)
        await _initial(
            db,
            client,
            state,
            tally,
            reporter,
            auto=strategy == "auto",
            resumed=resumed,
            allow_empty=allow_empty,
        )
        summary.strategy, summary.fell_back = state.strategy, state.fell_back
    else:
        summary = SyncSummary(kind="incremental")
        await _incremental(db, client, config, tally, reporter, list_id)
    summary.people = count_people(db)
    summary.created, summary.updated, summary.deleted = tally.created, tally.updated, tally.deleted
    summary.records_read = tally.read
    summary.unsubscribed = tally.unsubscribed
    summary.api_calls = reporter.api_calls
    summary.seconds = reporter.seconds()
    after = client.calls.snapshot()
    summary.calls_by_endpoint = {
        k: v - calls_before.get(k, 0) for k, v in after.items() if v != calls_before.get(k, 0)
    }
    with transaction(db):
        set_state(db, LAST_SYNC_AT, iso(utc_now()))
        set_state(db, LAST_SUMMARY, summary.as_dict())
    reporter.begin("done", message="done")
    return summary


# ------------------------------------------------------------------------------------------------- initial


async def _plan(
    client: MarketoClient, reporter: Reporter, *, kind: str, strategy: Strategy, list_id: int
) -> InitialState:
    reporter.begin("plan", message="sizing the Marketo instance")
    described = await client.describe_leads()
    names = [str((d.get("rest") or {}).get("name") or d.get("name") or "") for d in described]
    fields, linkedin = resolve_fields([n for n in names if n] or None)
    probe = await plan.probe(client)
    now = utc_now()
    since = min(now, probe.latest or now) - SINCE_MARGIN
    limiter = client.limiter
    rest = plan.estimate_rest(  # the sync is background work: it plans with the share of the budget it gets
        (probe.max_id - probe.min_id + 1) if not probe.empty else plan.CHUNK,
        limiter.background_calls,
        limiter.window_s,
        limiter.background_concurrency,
    )
    filters = bulk_windows(probe, since)
    timing = plan.BulkTiming(poll_s=max(client.bulk_poll_interval_s, STATUS_REFRESH_S))
    bulk = plan.estimate_bulk(probe.estimated_people, len(filters), timing)
    state = InitialState(
        kind=kind,
        marker=now.isoformat(timespec="microseconds"),
        started_at=iso(now),
        since=iso(since),
        strategy="rest",
        fields=fields,
        linkedin=linkedin,
        probe=probe.to_json(),
        estimated=probe.estimated_people,
        list_id=list_id,
        estimates={"rest": rest.to_json(), "bulk": bulk.to_json()},
    )
    if list_id:
        state.strategy = "list-bulk" if strategy == "bulk" else "list-rest"
        if state.strategy == "list-bulk":
            state.bulk = new_bulk_state([{"staticListId": list_id}])
        return state
    chosen = {"rest": rest, "bulk": bulk}[strategy] if strategy != "auto" else plan.choose(rest, bulk)
    state.strategy = chosen.strategy
    if chosen.strategy == "bulk":
        state.bulk = new_bulk_state(filters)
    else:
        state.rest = rest_state(probe)
    reporter.note(
        f"{probe.estimated_people:,} people in Marketo (estimated); {_describe(state.strategy)} "
        f"(≈{rest.seconds:.0f} s by REST paging, ≈{bulk.seconds:.0f} s by bulk extract)",
    )
    return state


def _describe(strategy: str) -> str:
    return {
        "rest": "reading by REST id ranges",
        "bulk": "reading by bulk extract",
        "list-rest": "reading the static list page by page",
        "list-bulk": "reading the static list by bulk extract",
    }.get(strategy, strategy)


async def _initial(
    db: sqlite_utils.Database,
    client: MarketoClient,
    state: InitialState,
    tally: Tally,
    reporter: Reporter,
    *,
    auto: bool,
    resumed: bool,
    allow_empty: bool = False,
) -> None:
    reporter.begin(
        "initial",
        total=state.estimated or None,
        message=_describe(state.strategy),
        resumed_from=state.read,
    )
    run = InitialRun(db, client, state, tally, reporter, client.limiter.max_concurrency)
    if not resumed:
        run.persist()
    while True:
        reporter.ceiling_rate = _ceiling(client, state.strategy)
        try:
            if state.strategy in ("bulk", "list-bulk"):
                await run_bulk(run)
            elif state.strategy == "list-rest":
                if auto and state.read == 0 and not state.list_done:
                    await _choose_for_list(run)
                    continue
                await run_list_rest(run)
            else:
                await run_rest(run)
            break
        except BulkUnavailableError as exc:
            log.info("%s; reading by REST paging instead", exc)
            await cancel_jobs(client, state)
            state.fell_back = str(exc)
            state.bulk = None
            if state.list_id:
                state.strategy = "list-rest"
            else:
                state.strategy = "rest"
                state.rest = rest_state(plan.Probe.from_json(state.probe))
            run.persist()
            reporter.ceiling_rate = _ceiling(client, state.strategy)
            reporter.note(f"{exc}; reading by REST paging instead")
    _refuse_empty_replacement(db, state, allow_empty)
    with transaction(db):
        tally.deleted += sweep_generation(db, state.marker)
        delete_state(db, INITIAL, *FEED_KEYS)
        set_state(db, SINCE, state.since)
        set_state(db, CONFIG, {"fields": state.fields, "linkedin": state.linkedin, "list_id": state.list_id})


def _refuse_empty_replacement(db: sqlite_utils.Database, state: InitialState, allow_empty: bool) -> None:
    """Before the sweep: nobody read while the cache has people is refused (see EmptyReplacementError)."""
    if allow_empty:
        return
    read = db.conn.execute("SELECT 1 FROM people WHERE synced_at = ? LIMIT 1", (state.marker,)).fetchone()
    cached = count_people(db)
    if read is not None or cached == 0:
        return
    with transaction(db):  # abandon this run: the next sync is an incremental one on the kept cache
        delete_state(db, INITIAL)
    raise EmptyReplacementError(
        ngettext(
            "Marketo returned nobody with a sales owner for this {kind} sync, while the cache holds {count:,} "
            "person; the cache was kept as it was. If Marketo really has nobody now, run "
            "`sia-tui sync --full --allow-empty` to empty it.",
            "Marketo returned nobody with a sales owner for this {kind} sync, while the cache holds {count:,} "
            "people; the cache was kept as it was. If Marketo really has nobody now, run "
            "`sia-tui sync --full --allow-empty` to empty it.",
            cached,
        ).format(kind=state.kind, count=cached)
    )


def _ceiling(client: MarketoClient, strategy: str) -> float | None:
    """The rate REST paging cannot outrun for long (None for bulk: its rows come in files)."""
    if strategy not in ("rest", "list-rest"):
        return None
    return plan.rest_ceiling_rate(client.limiter.background_calls, client.limiter.window_s)


async def _choose_for_list(run: InitialRun) -> None:
    """Read the list's first page, estimate the list's size from it, and keep paging or switch to bulk."""
    st = run.state
    began = time.monotonic()
    per_call = await run_list_rest(run, max_pages=1)
    if st.list_done:
        return
    probe = plan.Probe.from_json(st.probe)
    last_id = _last_id(run) or probe.max_id
    span = max(1, last_id - probe.min_id + 1)
    members = max(st.read, int(st.read * (probe.max_id - probe.min_id + 1) / span))
    rest_s = members / plan.CHUNK * max(per_call, time.monotonic() - began)
    bulk = plan.estimate_bulk(members, 1, plan.BulkTiming(poll_s=max(run.client.bulk_poll_interval_s, 60.0)))
    st.estimated = members
    st.estimates = {
        "list-rest": {"strategy": "list-rest", "seconds": round(rest_s, 1)},
        "list-bulk": bulk.to_json(),
    }
    run.reporter.total = members
    if bulk.seconds < rest_s and bulk.bulk_bytes < plan.BULK_DAILY_BYTES * 0.9:
        st.strategy = "list-bulk"
        st.bulk = new_bulk_state([{"staticListId": st.list_id}])
    run.persist()


def _last_id(run: InitialRun) -> int | None:
    row = run.db.conn.execute("SELECT MAX(marketo_id) FROM people WHERE synced_at = ?", (run.state.marker,))
    value = row.fetchone()[0]
    return int(value) if value is not None else None


# --------------------------------------------------------------------------------------------- incremental


async def _incremental(
    db: sqlite_utils.Database,
    client: MarketoClient,
    config: dict[str, Any],
    tally: Tally,
    reporter: Reporter,
    list_id: int,
) -> None:
    fields = list(config.get("fields") or [])
    linkedin = config.get("linkedin")
    if not fields:
        described = await client.describe_leads()
        names = [str((d.get("rest") or {}).get("name") or "") for d in described]
        fields, linkedin = resolve_fields([n for n in names if n] or None)
    run = IncrementalRun(
        db=db,
        client=client,
        fields=fields,
        linkedin=linkedin,
        marker=utc_now().isoformat(timespec="microseconds"),
        tally=tally,
        reporter=reporter,
        concurrency=client.limiter.max_concurrency,
        list_id=list_id,
    )
    await run_incremental(run)


# ------------------------------------------------------------------------------------------------- watching


async def watch(
    settings: Any,
    *,
    db_path: str | Path | None = None,
    full: bool = False,
    interval_s: float | None = None,
    progress: ProgressCallback | None = None,
    on_summary: Callable[[SyncSummary], None] | None = None,
    on_error: Callable[[BaseException], None] | None = None,
    stop: asyncio.Event | None = None,
    endpoints: Any = None,
    client: MarketoClient | None = None,
    max_runs: int | None = None,
    allow_empty: bool = False,
    activities: bool = True,
    clock: Clock = system_clock,
) -> int:
    """Sync, then again every ``interval_s`` (setting ``sync.interval_s``) until ``stop`` is set.

    A failed run is reported through ``on_error`` and retried at the next interval, except for errors a retry
    cannot fix (bad credentials, a refused request), which are raised. Returns the number of runs made.
    """
    interval = float(interval_s if interval_s is not None else settings.get("sync.interval_s"))
    stop = stop or asyncio.Event()
    runs = 0
    while not stop.is_set() and (max_runs is None or runs < max_runs):
        started = time.monotonic()
        try:
            summary = await run_sync(
                settings,
                db_path=db_path,
                full=full and runs == 0,
                progress=progress,
                endpoints=endpoints,
                client=client,
                allow_empty=allow_empty and runs == 0,
                activities=activities,
                clock=clock,
            )
        except (AuthError, ValidationError):
            raise
        except Exception as exc:  # reported; the next interval tries again
            if on_error is None:
                raise
            on_error(exc)
        else:
            if on_summary is not None:
                on_summary(summary)
        runs += 1
        if max_runs is not None and runs >= max_runs:
            break
        remaining = max(0.0, interval - (time.monotonic() - started))
        try:
            await asyncio.wait_for(stop.wait(), timeout=remaining)
        except TimeoutError:
            pass
    return runs
