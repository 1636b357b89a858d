"""Reading a range of the instance's activity history into the store: the first fill, newcomers, new types.

One backfill at a time, its whole plan and progress in one JSON document (``activities.backfill``) rewritten in
the same transaction as every page or file batch it accounts for, so a run killed at any moment (even SIGKILL)
resumes where it stopped and never loses a page (a page stored twice is harmless: rows are keyed by
``marketoGUID``). Kinds:

- ``full``: every cached person, ``[now - grid.days, now]``, the grid's types (the first fill, or after
  ``grid.days`` grew);
- ``newcomers``: people who entered the cache (a trigger queues them, migration c009), from the oldest one's
  Marketo ``createdAt`` (never more than ``grid.days`` back: a lead created this morning costs a morning) to now.
  One read serves every newcomer of the run, however many: with ≤ 30 of them its calls carry ``leadIds`` (smaller
  pages), else it reads the instance and keeps theirs;
- ``types``: a grid type that appeared in ``types.json`` (a custom sales type), over the store's range.

Strategies (:mod:`sia_tui.sync.activity_plan` chooses):

- ``rest``: the range cut into windows, each started from its own date-based paging token; each (window, type
  chunk) is a chain of ``activities.json`` pages, chains read at once within the budget's background share; a
  chain ends when Marketo says there is no more or a page reaches past its window;
- ``bulk``: one Bulk Activity Extract job per ≤ 31-day window (all the grid's types; no lead filter exists), ≤ 10
  of ours queued, polled no faster than Marketo refreshes the status; files are read in batches. When Marketo
  refuses bulk (1035, 603, or 1029 "Export daily quota exceeded") the unfinished windows are read by REST instead.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import tempfile
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from datetime import datetime
from typing import Any

import sqlite_utils

from sia_tui.clock import parse_time
from sia_tui.i18n import _
from sia_tui.marketo.bulk import ExportCorruptedError, bulk_unavailable, export_gone, iter_csv_rows
from sia_tui.marketo.client import MarketoClient
from sia_tui.marketo.models import ExportJob
from sia_tui.net import ApiError, OutcomeUnknownError, TransientError
from sia_tui.store.activities import BACKFILL, add_activities
from sia_tui.store.db import transaction
from sia_tui.store.state import delete_state, get_state, set_state
from sia_tui.sync import activity_plan, plan

log = logging.getLogger("sia_tui.sync")

MAX_LEAD_IDS = 30
ROWS_PER_TXN = 2000
MAX_JOB_FAILURES = 3
STALL_LIMIT = 3

Progress = Callable[[int, str], None]  # (pages or rows just stored, message)


class BulkUnavailableError(Exception):
    """Bulk extract cannot be used now; ``str(e)`` says why."""


@dataclass
class Backfill:
    """See the module docstring. Times are ISO UTC; ``end`` None: up to the present."""

    kind: str
    strategy: str
    start: str
    end: str | None
    types: list[int]
    chunks: list[list[int]]
    leads: list[int] | None = None
    newcomer_mark: int | None = None
    windows: list[dict[str, Any]] = field(default_factory=list)
    estimates: dict[str, Any] = field(default_factory=dict)
    fell_back: str | None = None
    stored: int = 0
    pages: int = 0
    started_at: str = ""

    def to_json(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_json(cls, raw: dict[str, Any]) -> Backfill:
        known = set(cls.__dataclass_fields__)
        return cls(**{k: v for k, v in raw.items() if k in known})

    @property
    def start_time(self) -> datetime:
        moment = parse_time(self.start)
        assert moment is not None
        return moment

    @property
    def end_time(self) -> datetime | None:
        return parse_time(self.end)

    @property
    def done(self) -> bool:
        if self.strategy == "bulk":
            return all(w["done"] for w in self.windows)
        return all(all(w["done"]) for w in self.windows)

    @property
    def progress(self) -> tuple[int, int]:
        """(finished, total) windows or chains."""
        if self.strategy == "bulk":
            return sum(1 for w in self.windows if w["done"]), len(self.windows)
        chains = [d for w in self.windows for d in w["done"]]
        return sum(1 for d in chains if d), len(chains)


def rest_windows(
    start: datetime, end: datetime | None, count: int, chunks: int, now: datetime
) -> list[dict[str, Any]]:
    """``count`` windows over [start, end], each with a token slot per chunk; with ``end`` None the range reaches
    the present (the last window reads until Marketo says there is no more; it is cut at ``now`` for sizing)."""
    stop = end or now
    count = max(1, count)
    step = (stop - start) / count
    spans: list[tuple[datetime, datetime | None]] = [
        (start + step * i, start + step * (i + 1)) for i in range(count)
    ]
    spans[-1] = (spans[-1][0], end)
    return [
        {
            "start": a.isoformat(),
            "end": b.isoformat() if b else None,
            "tokens": [None] * chunks,
            "done": [False] * chunks,
        }
        for a, b in spans
    ]


def bulk_windows(start: datetime, end: datetime) -> list[dict[str, Any]]:
    return [
        {"start": a.isoformat(), "end": b.isoformat(), "job": None, "done": False, "failures": 0}
        for a, b in activity_plan.bulk_windows(start, end)
    ]


def load(db: sqlite_utils.Database) -> Backfill | None:
    raw = get_state(db, BACKFILL)
    return Backfill.from_json(raw) if isinstance(raw, dict) else None


def save(db: sqlite_utils.Database, backfill: Backfill) -> None:
    set_state(db, BACKFILL, backfill.to_json())


def persist(db: sqlite_utils.Database, backfill: Backfill) -> None:
    with transaction(db):
        save(db, backfill)


def finish(db: sqlite_utils.Database) -> None:
    delete_state(db, BACKFILL)


@dataclass
class BackfillRun:
    db: sqlite_utils.Database
    client: MarketoClient
    backfill: Backfill
    floor: datetime  # nothing older than this is stored (now - grid.days)
    concurrency: int
    progress: Progress | None = None

    @property
    def lead_set(self) -> set[int] | None:
        return set(self.backfill.leads) if self.backfill.leads is not None else None

    def store(self, records: list[dict[str, Any]], types: list[int], checkpoint: bool) -> int:
        """Store a batch; with ``checkpoint`` the (already advanced) plan goes in the same transaction."""
        with transaction(self.db):
            added = add_activities(
                self.db,
                records,
                source="newcomer" if self.backfill.kind == "newcomers" else "backfill",
                since=self.floor,
                type_ids=types,
                lead_ids=self.lead_set,
            )
            self.backfill.stored += added
            if checkpoint:
                save(self.db, self.backfill)
        return added

    def report(self, n: int, message: str) -> None:
        if self.progress is not None:
            self.progress(n, message)


async def run(run: BackfillRun) -> None:
    """Run the backfill to its end (resuming where a previous run stopped); see the module docstring."""
    bf = run.backfill
    while not bf.done:
        if bf.strategy == "bulk":
            try:
                await run_bulk(run)
            except BulkUnavailableError as exc:
                log.info("%s; reading the activity history by REST instead", exc)
                await _cancel_jobs(run)
                _fall_back_to_rest(run, str(exc))
        else:
            await run_rest(run)


# ------------------------------------------------------------------------------------------------------ REST


async def run_rest(run: BackfillRun) -> None:
    bf = run.backfill
    gate = asyncio.Semaphore(max(1, run.concurrency))
    starts: dict[int, asyncio.Future[str]] = {}

    async def start_token(index: int) -> str:
        window = bf.windows[index]
        if window.get("token"):
            return str(window["token"])
        if index not in starts:

            async def fetch() -> str:
                moment = parse_time(window["start"])
                assert moment is not None
                token = await run.client.paging_token(moment)
                window["token"] = token
                return token

            starts[index] = asyncio.ensure_future(fetch())
        return await asyncio.shield(starts[index])

    async def chain(index: int, chunk: int) -> None:
        window = bf.windows[index]
        types = bf.chunks[chunk]
        end = parse_time(window.get("end"))
        leads = bf.leads if bf.leads is not None and len(bf.leads) <= MAX_LEAD_IDS else None
        async with gate:
            token = window["tokens"][chunk] or await start_token(index)
            stalls = 0
            while True:
                page = await run.client.activity_page(types, token, lead_ids=leads)
                dates = [d for d in (parse_time(r.get("activityDate")) for r in page.records) if d]
                past_end = end is not None and bool(dates) and max(dates) >= end
                finished = not page.more_result or past_end
                if page.next_page_token == token and not page.records and not finished:
                    stalls += 1
                    if stalls >= STALL_LIMIT:
                        raise TransientError(
                            _("Marketo's activity paging stopped advancing during the backfill."), api="marketo"
                        )
                else:
                    stalls = 0
                window["tokens"][chunk] = page.next_page_token
                window["done"][chunk] = finished
                bf.pages += 1
                added = run.store(page.records, types, checkpoint=True)
                run.report(added, _rest_message(bf))
                if finished:
                    return
                token = page.next_page_token or token

    jobs = [
        asyncio.ensure_future(chain(i, c))
        for i, window in enumerate(bf.windows)
        for c in range(len(bf.chunks))
        if not window["done"][c]
    ]
    try:
        await asyncio.gather(*jobs)
    finally:
        for job in jobs:
            job.cancel()
        await asyncio.gather(*jobs, return_exceptions=True)
        for future in starts.values():
            future.cancel()


def _rest_message(bf: Backfill) -> str:
    done, total = bf.progress
    return f"activity history: {bf.pages:,} pages read, {done} of {total} chains done"


# ------------------------------------------------------------------------------------------------------ bulk


async def run_bulk(run: BackfillRun) -> None:
    """Export jobs for every window not yet stored, polled no faster than Marketo refreshes the status."""
    bf = run.backfill
    client = run.client
    poll_s = max(0.0, client.bulk_poll_interval_s)
    downloads: dict[int, asyncio.Task[None]] = {}

    async def start_job(index: int) -> None:
        window = bf.windows[index]
        start, end = parse_time(window["start"]), parse_time(window["end"])
        assert start is not None and end is not None
        try:
            job = await client.create_activity_export((start, end), bf.types)
        except OutcomeUnknownError:
            return  # at most an idle "Created" job is left behind; the next round creates it again
        except ApiError as exc:
            _raise_if_unavailable(exc)
            raise
        window["job"] = job.export_id
        persist(run.db, bf)
        await enqueue(index)

    async def enqueue(index: int) -> None:
        try:
            await client.enqueue_activity_export(bf.windows[index]["job"])
        except OutcomeUnknownError:
            return  # the next poll shows whether it was queued
        except ApiError as exc:
            _raise_if_unavailable(exc)
            if exc.code == "1029" and "too many" in str(exc).lower():
                return  # the queue is full (other integrations too): try again at the next poll
            raise

    async def fetch(index: int, job: ExportJob) -> None:
        for attempt in (1, 2):
            with tempfile.TemporaryFile(prefix="sia-activities-") as spool:
                try:
                    await client.download_activity_export(job, spool)
                except TransientError as exc:
                    if attempt == 1 and isinstance(exc, ExportCorruptedError):
                        continue
                    raise
                _store_file(run, index, spool)
                return

    resumed = any(w["job"] for w in bf.windows if not w["done"])
    try:
        while True:
            open_windows = [i for i, w in enumerate(bf.windows) if not w["done"]]
            waiting = [i for i in open_windows if bf.windows[i]["job"] and i not in downloads]
            pending = [i for i in open_windows if not bf.windows[i]["job"]]
            for index in pending[: max(0, plan.BULK_MAX_QUEUED - len(waiting))]:
                await start_job(index)
                if bf.windows[index]["job"]:
                    waiting.append(index)
            for index in [i for i, t in downloads.items() if t.done()]:
                downloads.pop(index).result()  # re-raises a failed download
            if not any(not w["done"] for w in bf.windows):
                return
            if waiting and not resumed:
                await asyncio.sleep(poll_s if poll_s > 0 else 0.02)
            resumed = False
            statuses = await asyncio.gather(*(_status(client, bf.windows[i]["job"]) for i in waiting))
            for index, job in zip(waiting, statuses, strict=True):
                window = bf.windows[index]
                if job is None or job.status in ("Failed", "Canceled", "Cancelled"):
                    window["failures"] = int(window.get("failures") or 0) + 1
                    if window["failures"] >= MAX_JOB_FAILURES:
                        reason = job.error_msg if job is not None else _("the job disappeared")
                        raise ApiError(
                            _("Marketo's bulk activity export for {day} failed {count} times ({reason}).").format(
                                day=window["start"][:10], count=MAX_JOB_FAILURES, reason=reason
                            ),
                            api="marketo",
                        )
                    window["job"] = None
                    persist(run.db, bf)
                elif job.status == "Created":
                    await enqueue(index)
                elif job.status == "Completed":
                    downloads[index] = asyncio.ensure_future(fetch(index, job))
            if not waiting and downloads:
                await asyncio.wait(list(downloads.values()), return_when=asyncio.FIRST_COMPLETED)
    finally:
        for task in downloads.values():
            task.cancel()
        if downloads:
            await asyncio.gather(*downloads.values(), return_exceptions=True)


async def _status(client: MarketoClient, export_id: str) -> ExportJob | None:
    try:
        return await client.activity_export_status(export_id)
    except ApiError as exc:
        if export_gone(exc):
            return None  # expired or unknown: export it again
        raise


def _raise_if_unavailable(exc: ApiError) -> None:
    if bulk_unavailable(exc):
        raise BulkUnavailableError(_("bulk activity extract unavailable: {error}").format(error=exc)) from exc


def _store_file(run: BackfillRun, index: int, spool: Any) -> None:
    bf = run.backfill
    batch: list[dict[str, Any]] = []
    rows = 0
    for row in iter_csv_rows(spool):
        batch.append(row)
        rows += 1
        if len(batch) >= ROWS_PER_TXN:
            run.report(run.store(batch, bf.types, checkpoint=False), _bulk_message(bf))
            batch = []
    window = bf.windows[index]
    window["done"], window["job"], window["rows"] = True, None, rows
    run.report(run.store(batch, bf.types, checkpoint=True), _bulk_message(bf))


def _bulk_message(bf: Backfill) -> str:
    done, total = bf.progress
    return f"activity history by bulk extract: {done} of {total} windows stored"


async def _cancel_jobs(run: BackfillRun) -> None:
    for window in run.backfill.windows:
        if window.get("job") and not window["done"]:
            with contextlib.suppress(ApiError):
                await run.client.cancel_activity_export(window["job"])


def _fall_back_to_rest(run: BackfillRun, reason: str) -> None:
    """Read the windows bulk left unfinished by REST paging (one REST window each)."""
    bf = run.backfill
    windows: list[dict[str, Any]] = []
    for window in bf.windows:
        if window["done"]:
            continue
        windows.append(
            {
                "start": window["start"],
                "end": window["end"] if window is not bf.windows[-1] else None,
                "tokens": [None] * len(bf.chunks),
                "done": [False] * len(bf.chunks),
            }
        )
    bf.strategy, bf.windows, bf.fell_back = "rest", windows, reason
    persist(run.db, bf)
