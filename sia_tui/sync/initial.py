"""The initial sync: every person with a sales owner, read by REST id ranges, bulk extract or a static list.

The whole plan and its progress live in one JSON document (sync_state ``people.initial``), rewritten in the same
transaction as each batch of people it accounts for. A run killed at any moment (even by SIGKILL) therefore resumes
from the last finished page, chunk or export job, and never loses or double-counts one:

- ``rest``: :class:`~sia_tui.sync.rest_scan.IdScan` (chunks of 300 ids done);
- ``bulk``: one export job per ≤31-day ``createdAt`` window (or one for the static list): the export ids of jobs in
  flight (a re-run polls them instead of exporting again) and the windows already stored;
- ``list-rest``: the static list's ``nextPageToken`` after the last stored page.

Bulk extract is abandoned for REST paging when the instance refuses it (1035 unsupported filter, 603 no
permission, 1029 export quota spent); the reason is kept in ``fell_back`` and reported.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import tempfile
import time
from dataclasses import asdict, dataclass, field
from datetime import datetime, timedelta
from typing import Any

import sqlite_utils

from sia_tui.clock import parse_time
from sia_tui.i18n import _
from sia_tui.marketo.bulk import (
    ExportCorruptedError,
    ExportFilter,
    bulk_unavailable,
    export_gone,
    iter_csv_rows,
)
from sia_tui.marketo.client import MarketoClient
from sia_tui.marketo.models import ExportJob
from sia_tui.net import ApiError, OutcomeUnknownError, TransientError
from sia_tui.store.db import transaction
from sia_tui.store.state import set_state
from sia_tui.sync import plan
from sia_tui.sync.checkpoint import INITIAL, Reporter, Tally
from sia_tui.sync.rest_scan import IdScan, scan
from sia_tui.sync.writer import apply_records

log = logging.getLogger("sia_tui.sync")

#: Marketo refuses bulk extract for this subscription or user: page through REST instead.
BULK_ROWS_PER_TXN = 2000
MAX_JOB_FAILURES = 3
#: Windows start this long before the oldest createdAt the probe saw, so the first window normally holds nobody;
#: when it does hold people, the scan reaches 31 days further back, and again, until a window is empty (the probe
#: samples ids, and ids need not follow createdAt).
HISTORY_MARGIN = timedelta(days=32)
LIST_LEADS_PATH = "/rest/v1/lists/{list_id}/leads.json"


class BulkUnavailableError(Exception):
    """Bulk extract cannot be used on this instance; ``str(e)`` says why."""


@dataclass
class InitialState:
    """The resume point of one initial (or ``--full``) sync; see the module docstring."""

    kind: str  # "initial" | "full"
    marker: str  # the generation: synced_at of every row this run writes
    started_at: str
    since: str  # where the incremental feeds start once this run completes
    strategy: str  # "rest" | "bulk" | "list-rest" | "list-bulk"
    fields: list[str]
    linkedin: str | None
    probe: dict[str, Any]
    estimated: int = 0
    list_id: int = 0
    estimates: dict[str, Any] = field(default_factory=dict)
    rest: dict[str, Any] | None = None
    bulk: dict[str, Any] | None = None
    list_token: str | None = None
    list_done: bool = False
    fell_back: str | None = None
    read: int = 0  # Marketo records read by every process of this run so far
    kept: int = 0

    def to_json(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_json(cls, raw: dict[str, Any]) -> InitialState:
        known = set(cls.__dataclass_fields__)
        return cls(**{k: v for k, v in raw.items() if k in known})


@dataclass
class InitialRun:
    """What the strategies share: the cache, the client, counters and the state they advance."""

    db: sqlite_utils.Database
    client: MarketoClient
    state: InitialState
    tally: Tally
    reporter: Reporter
    concurrency: int

    def save(self) -> dict[str, Any]:
        return {INITIAL: self.state.to_json()}

    def store(self, records: list[dict[str, Any]], *, checkpoint: bool) -> None:
        """Store one batch; with ``checkpoint`` the (already advanced) state is written in the same transaction."""
        self.state.read += len(records)
        kept = apply_records(
            self.db,
            records,
            linkedin=self.state.linkedin,
            marker=self.state.marker,
            tally=self.tally,
            state=self.save() if checkpoint else None,
        )
        self.state.kept += kept
        self.reporter.advance(len(records))

    def persist(self) -> None:
        with transaction(self.db):
            set_state(self.db, INITIAL, self.state.to_json())


# ------------------------------------------------------------------------------------------------- planning


def bulk_windows(probe: plan.Probe, since: datetime) -> list[dict[str, Any]]:
    """createdAt filters covering the instance's history, the last one reaching up to 31 days past ``since``.

    The last window is stretched to its full 31 days (a window in the future costs nothing), so people created
    while the jobs run are in it too, whatever the clocks say.
    """
    end = max(since, probe.latest or since) + timedelta(days=1)
    oldest = probe.oldest or end - timedelta(days=1)
    spans = plan.windows(oldest - HISTORY_MARGIN, end)
    last_start = spans[-1][0]
    spans[-1] = (last_start, last_start + timedelta(days=plan.BULK_WINDOW_DAYS))
    return [ExportFilter.created_at(a, b).body for a, b in spans]


def new_bulk_state(filters: list[dict[str, Any]]) -> dict[str, Any]:
    return {"filters": filters, "done": [], "jobs": {}, "rows": {}, "failures": {}}


def filter_key(body: dict[str, Any]) -> str:
    (name, value), *_ = body.items()
    if isinstance(value, dict):
        return f"{name}:{value.get('startAt')}"
    return f"{name}:{value}"


def rest_state(probe: plan.Probe) -> dict[str, Any]:
    start = probe.min_id if not probe.empty else 1
    return IdScan(start_id=start, target_max=probe.max_id).to_json()


# ---------------------------------------------------------------------------------------------- strategies


async def run_rest(run: InitialRun) -> None:
    st = run.state
    if st.rest is None:
        st.rest = rest_state(plan.Probe.from_json(st.probe))
    ids = IdScan(**st.rest)

    def on_chunk(records: list[dict[str, Any]], scan_state: IdScan) -> None:
        st.rest = scan_state.to_json()
        run.store(records, checkpoint=True)

    await scan(run.client, st.fields, ids, on_chunk, concurrency=run.concurrency + 2)


async def run_list_rest(run: InitialRun, *, max_pages: int | None = None) -> float:
    """Page through the static list (sequential: each page's token comes from the last). Returns s per call."""
    st = run.state
    path = LIST_LEADS_PATH.format(list_id=st.list_id)
    pages = 0
    spent = 0.0
    while not st.list_done and (max_pages is None or pages < max_pages):
        began = time.monotonic()
        envelope = await run.client.session.get(
            path, {"fields": st.fields, "batchSize": plan.CHUNK, "nextPageToken": st.list_token}
        )
        spent += time.monotonic() - began
        pages += 1
        records = [_with_nulls(r, st.fields) for r in envelope.result]
        if envelope.more_result and envelope.next_page_token and envelope.next_page_token != st.list_token:
            st.list_token = envelope.next_page_token
        else:
            st.list_done = True
        run.store(records, checkpoint=True)
    return spent / max(pages, 1)


def _with_nulls(record: dict[str, Any], fields: list[str]) -> dict[str, Any]:
    for name in fields:
        record.setdefault(name, None)
    return record


async def run_bulk(run: InitialRun) -> None:
    """Export jobs for every filter not yet stored: ≤10 of ours queued at once, polled no faster than allowed."""
    st = run.state
    assert st.bulk is not None
    client = run.client
    poll_s = max(0.0, client.bulk_poll_interval_s)
    jobs: dict[str, str] = st.bulk["jobs"]  # filter key → export id, for jobs created and not yet stored
    done: list[str] = st.bulk["done"]
    failures: dict[str, int] = st.bulk["failures"]
    downloads: dict[str, asyncio.Task[None]] = {}

    def bodies() -> dict[str, dict[str, Any]]:
        return {filter_key(b): b for b in st.bulk["filters"]}  # type: ignore[index]

    async def start_job(key: str) -> None:
        try:
            job = await client.create_lead_export(st.fields, ExportFilter(bodies()[key]))
        except OutcomeUnknownError:
            return  # a lost reply leaves at most an idle "Created" job behind; the next round creates it again
        except ApiError as exc:
            _raise_if_unavailable(exc)
            raise
        jobs[key] = job.export_id
        run.persist()
        await enqueue(key)

    async def enqueue(key: str) -> bool:
        try:
            await client.enqueue_lead_export(jobs[key])
        except OutcomeUnknownError:
            return False  # the next poll shows whether it was queued ("Created" → enqueued again)
        except ApiError as exc:
            _raise_if_unavailable(exc)
            if exc.code == "1029" and "too many" in str(exc).lower():
                return False  # the queue is full (other integrations too): try again at the next poll
            raise
        return True

    async def fetch(key: str, job: ExportJob) -> None:
        for attempt in (1, 2):
            with tempfile.TemporaryFile(prefix="sia-sync-") as spool:
                try:
                    await client.download_lead_export(job, spool)
                except TransientError as exc:
                    if attempt == 1 and isinstance(exc, ExportCorruptedError):
                        continue
                    raise
                _store_file(run, key, spool)
                return

    resumed = bool(jobs)  # jobs of an interrupted run may be done already: poll them at once
    try:
        while True:
            pending = [k for k in bodies() if k not in done and k not in jobs]
            waiting = [k for k in jobs if k not in downloads]
            for key in pending[: max(0, plan.BULK_MAX_QUEUED - len(waiting))]:
                await start_job(key)
                waiting.append(key)
            for key in [k for k, t in downloads.items() if t.done()]:
                downloads.pop(key).result()  # re-raises a failed download
            if not waiting and not downloads:
                if _extend_history(st):
                    run.persist()
                    continue
                return
            if waiting and not resumed:
                await _sleep_until_poll(poll_s)
            resumed = False
            statuses = await asyncio.gather(*(_status(client, jobs[k]) for k in waiting))
            for key, job in zip(waiting, statuses, strict=True):
                if job is None or job.status in ("Failed", "Canceled", "Cancelled"):
                    failures[key] = failures.get(key, 0) + 1
                    if failures[key] >= MAX_JOB_FAILURES:
                        reason = job.error_msg if job is not None else _("the job disappeared")
                        raise ApiError(
                            _("Marketo's bulk export for {key} failed {count} times ({reason}).").format(
                                key=key, count=MAX_JOB_FAILURES, reason=reason
                            ),
                            api="marketo",
                        )
                    jobs.pop(key)
                    run.persist()
                elif job.status == "Created":
                    await enqueue(key)
                elif job.status == "Completed":
                    downloads[key] = asyncio.ensure_future(fetch(key, job))
            if not waiting and downloads:
                await asyncio.wait(list(downloads.values()), return_when=asyncio.FIRST_COMPLETED)
    finally:
        for task in downloads.values():
            task.cancel()
        if downloads:
            await asyncio.gather(*downloads.values(), return_exceptions=True)


async def _sleep_until_poll(poll_s: float) -> None:
    """Wait one poll interval (downloads keep running meanwhile)."""
    if poll_s <= 0:
        await asyncio.sleep(0.02)
        return
    await asyncio.sleep(poll_s)


async def _status(client: MarketoClient, export_id: str) -> ExportJob | None:
    try:
        return await client.lead_export_status(export_id)
    except ApiError as exc:
        if export_gone(exc):
            return None  # expired or unknown: export it again
        raise


def _raise_if_unavailable(exc: ApiError) -> None:
    if bulk_unavailable(exc):
        raise BulkUnavailableError(_("bulk extract unavailable: {error}").format(error=exc)) from exc


def _store_file(run: InitialRun, key: str, spool: Any) -> None:
    st = run.state
    assert st.bulk is not None
    batch: list[dict[str, Any]] = []
    rows = 0
    for row in iter_csv_rows(spool):
        batch.append(row)
        rows += 1
        if len(batch) >= BULK_ROWS_PER_TXN:
            run.store(batch, checkpoint=False)
            batch = []
    st.bulk["jobs"].pop(key, None)
    st.bulk["done"].append(key)
    st.bulk["rows"][key] = rows
    run.store(batch, checkpoint=True)


def _extend_history(st: InitialState) -> bool:
    """When the oldest createdAt window still held people, add the 31 days before it; True if added."""
    assert st.bulk is not None
    filters = st.bulk["filters"]
    if not filters or "createdAt" not in filters[0]:
        return False
    first = filters[0]
    if not st.bulk["rows"].get(filter_key(first)):
        return False
    start = parse_time(first["createdAt"]["startAt"])
    assert start is not None
    filters.insert(0, ExportFilter.created_at(start - timedelta(days=plan.BULK_WINDOW_DAYS), start).body)
    return True


async def cancel_jobs(client: MarketoClient, st: InitialState) -> None:
    """Best effort: free the export queue from jobs a fallback made useless."""
    if st.bulk is None:
        return
    for export_id in list(st.bulk["jobs"].values()):
        with contextlib.suppress(ApiError):
            await client.cancel_lead_export(export_id)
    st.bulk["jobs"].clear()
