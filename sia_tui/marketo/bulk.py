"""Bulk Lead and Activity Extract: create → enqueue → poll (no faster than Marketo refreshes the status) →
download → rows. Both kinds share the job calls (``/bulk/v1/{leads|activities}/export/...``), one queue and one
500 MB/day quota on Marketo's side.

The file is fetched in ``Range`` chunks into a temporary file; a chunk that breaks mid-way resumes from the last
byte received, not from the start. The whole file's SHA-256 is checked against ``fileChecksum``. Marketo labels
the file ISO-8859-1 while the bytes are UTF-8 (reference §11), so the header is ignored and the bytes decoded as
UTF-8. Empty values are the literal ``null`` and become ``None``.
"""

from __future__ import annotations

import asyncio
import csv
import hashlib
import io
import logging
import re
import tempfile
import time
from collections.abc import AsyncIterator, Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import IO, Any, Literal

import httpx

from sia_tui.i18n import _
from sia_tui.marketo.models import ExportJob, format_datetime
from sia_tui.marketo.session import MarketoSession, RetryableReply
from sia_tui.net import ApiError, OutcomeUnknownError, TransientError, ValidationError

log = logging.getLogger("sia_tui.marketo")

BASE = "/bulk/v1/leads/export"
ACTIVITIES_BASE = "/bulk/v1/activities/export"
Kind = Literal["leads", "activities"]
MAX_RANGE_DAYS = 31
DEFAULT_CHUNK_BYTES = 8 * 1024 * 1024
STATUS_REFRESH_S = 60.0  # "The status updates only once every 60 seconds. Do not poll more frequently."
_CONTENT_RANGE = re.compile(r"bytes\s+(\d+)-(\d+)/(\d+|\*)")


class ExportCorruptedError(TransientError):
    """A downloaded export whose checksum does not match: worth downloading once more (told by type, not by
    its message, which is in the seller's language)."""


class NoExportJobError(TransientError):
    """Marketo answered a bulk export call without an export job (an expired or unknown export id)."""


#: Answers meaning this subscription cannot use bulk extract (no bulk API, no permission); 1029 also when the
#: 500 MB/day export quota is spent.
BULK_UNAVAILABLE_CODES = frozenset({"1035", "603"})


def bulk_unavailable(exc: ApiError) -> bool:
    """Bulk extract cannot be used now: the lead and the activity backfills fall back to REST paging."""
    return exc.code in BULK_UNAVAILABLE_CODES or (exc.code == "1029" and "quota" in str(exc).lower())


def export_gone(exc: ApiError) -> bool:
    """The export job expired or is unknown to Marketo: export it again."""
    return exc.code in ("1003", "610") or isinstance(exc, NoExportJobError)


@dataclass(frozen=True)
class ExportFilter:
    """Exactly one bulk-extract filter. Build it with one of the class methods."""

    body: dict[str, Any]

    @classmethod
    def created_at(cls, start: datetime, end: datetime) -> ExportFilter:
        return cls({"createdAt": _window(start, end)})

    @classmethod
    def updated_at(cls, start: datetime, end: datetime) -> ExportFilter:
        return cls({"updatedAt": _window(start, end)})

    @classmethod
    def static_list_id(cls, list_id: int) -> ExportFilter:
        return cls({"staticListId": int(list_id)})

    @classmethod
    def static_list_name(cls, name: str) -> ExportFilter:
        return cls({"staticListName": name})

    @classmethod
    def smart_list_id(cls, list_id: int) -> ExportFilter:
        return cls({"smartListId": int(list_id)})


def _window(start: datetime, end: datetime) -> dict[str, str]:
    if end <= start:
        raise ValidationError(_("A bulk export date filter must end after it starts."), api="marketo")
    if end - start > timedelta(days=MAX_RANGE_DAYS):
        raise ValidationError(
            _("A bulk export date filter spans at most {days} days; split it with split_date_range().").format(
                days=MAX_RANGE_DAYS
            ),
            api="marketo",
        )
    return {"startAt": format_datetime(start), "endAt": format_datetime(end)}


def split_date_range(
    start: datetime, end: datetime, days: int = MAX_RANGE_DAYS
) -> list[tuple[datetime, datetime]]:
    """Consecutive windows of at most ``days`` covering [start, end) (one export job each)."""
    windows = []
    cursor = start
    while cursor < end:
        stop = min(cursor + timedelta(days=days), end)
        windows.append((cursor, stop))
        cursor = stop
    return windows


def base(kind: Kind) -> str:
    return ACTIVITIES_BASE if kind == "activities" else BASE


def _job(envelope_first: Mapping[str, Any] | None, what: str) -> ExportJob:
    if not envelope_first or not envelope_first.get("exportId"):
        raise NoExportJobError(
            _("Marketo answered the bulk export {what} without an export job.").format(what=what), api="marketo"
        )
    return ExportJob.parse(envelope_first)


async def create(
    session: MarketoSession,
    fields: Sequence[str],
    export_filter: ExportFilter,
    *,
    column_header_names: Mapping[str, str] | None = None,
) -> ExportJob:
    if not fields:
        raise ValidationError(_("A bulk lead export needs at least one field."), api="marketo")
    body: dict[str, Any] = {"fields": list(fields), "format": "CSV", "filter": export_filter.body}
    if column_header_names:
        body["columnHeaderNames"] = dict(column_header_names)
    # A duplicate job left in "Created" costs nothing, so a lost reply is simply retried.
    for attempt in range(1, 4):
        try:
            envelope = await session.post(f"{BASE}/create.json", json=body, idempotent=True)
            return _job(envelope.first, "create")
        except OutcomeUnknownError:
            if attempt == 3:
                raise
    raise AssertionError("unreachable")


async def create_activities(
    session: MarketoSession,
    created_at: tuple[datetime, datetime],
    activity_type_ids: Sequence[int] | None = None,
    *,
    fields: Sequence[str] | None = None,
) -> ExportJob:
    """A Bulk Activity Extract job: activities created in ``[start, end]`` (≤ 31 days), of these types (every
    type when None). There is no lead filter: the file holds the whole instance's activities of the range."""
    flt: dict[str, Any] = {"createdAt": _window(*created_at)}
    if activity_type_ids:
        flt["activityTypeIds"] = [int(t) for t in activity_type_ids]
    body: dict[str, Any] = {"format": "CSV", "filter": flt}
    if fields:
        body["fields"] = list(fields)
    for attempt in range(1, 4):
        try:
            envelope = await session.post(f"{ACTIVITIES_BASE}/create.json", json=body, idempotent=True)
            return _job(envelope.first, "create")
        except OutcomeUnknownError:
            if attempt == 3:
                raise
    raise AssertionError("unreachable")


async def status(session: MarketoSession, export_id: str, kind: Kind = "leads") -> ExportJob:
    envelope = await session.get(f"{base(kind)}/{export_id}/status.json")
    return _job(envelope.first, "status")


async def enqueue(session: MarketoSession, export_id: str, kind: Kind = "leads") -> ExportJob:
    path = f"{base(kind)}/{export_id}/enqueue.json"
    try:
        envelope = await session.post(path, idempotent=True)
        return _job(envelope.first, "enqueue")
    except OutcomeUnknownError:
        job = await status(session, export_id, kind)
        if job.status != "Created":
            return job
        envelope = await session.post(path, idempotent=True)
        return _job(envelope.first, "enqueue")
    except ApiError as exc:
        if exc.code == "1029" and "already" in str(exc).lower():
            return await status(session, export_id, kind)
        raise


async def cancel(session: MarketoSession, export_id: str, kind: Kind = "leads") -> ExportJob:
    envelope = await session.post(f"{base(kind)}/{export_id}/cancel.json", idempotent=True)
    return _job(envelope.first, "cancel")


async def wait(
    session: MarketoSession,
    export_id: str,
    *,
    poll_interval_s: float = STATUS_REFRESH_S,
    timeout_s: float | None = None,
    on_status: Callable[[ExportJob], None] | None = None,
) -> ExportJob:
    """Poll until the job finishes, never faster than ``poll_interval_s``; Failed/Cancelled raise ApiError."""
    started = time.monotonic()
    while True:
        await asyncio.sleep(poll_interval_s)
        job = await status(session, export_id)
        if on_status is not None:
            on_status(job)
        if job.status == "Completed":
            return job
        if job.status == "Failed":
            raise ApiError(
                _("Marketo's bulk lead export {id} failed: {reason}.").format(
                    id=export_id, reason=job.error_msg or _("no reason given")
                ),
                api="marketo",
                endpoint="GET /bulk/v1/leads/export/{exportId}/status.json",
            )
        if job.status in ("Canceled", "Cancelled"):
            raise ApiError(_("Marketo's bulk lead export {id} was cancelled.").format(id=export_id), api="marketo")
        if timeout_s is not None and time.monotonic() - started > timeout_s:
            raise TransientError(
                _("Marketo's bulk lead export {id} was still {status} after {seconds:.0f} s.").format(
                    id=export_id, status=job.status, seconds=timeout_s
                ),
                api="marketo",
            )


async def download(
    session: MarketoSession,
    job: ExportJob,
    dest: IO[bytes],
    *,
    chunk_bytes: int = DEFAULT_CHUNK_BYTES,
    max_retries: int | None = None,
    kind: Kind = "leads",
) -> int:
    """Write the job's file to ``dest`` by Range chunks, resuming broken chunks; verify its checksum.

    Returns the number of bytes written. A failure that makes no progress ``max_retries`` times in a row raises
    :class:`TransientError`.
    """
    path = f"{base(kind)}/{job.export_id}/file.json"
    retries_allowed = session.policy.max_retries if max_retries is None else max_retries
    total = job.file_size
    pos = 0
    digest = hashlib.sha256()
    delays = session.policy.delays()
    failures = 0
    while total is None or pos < total:
        end = pos + chunk_bytes - 1
        if total is not None:
            end = min(end, total - 1)
        before = pos
        try:
            async with session.stream(path, headers={"Range": f"bytes={pos}-{end}"}) as response:
                skip = pos if response.status_code == 200 else 0  # Range ignored: the whole file came back
                async for data in response.aiter_bytes():
                    if skip:
                        dropped = min(skip, len(data))
                        data, skip = data[dropped:], skip - dropped
                        if not data:
                            continue
                    dest.write(data)
                    digest.update(data)
                    pos += len(data)
                total = _total_from(response, total, pos)
        except (httpx.TransportError, RetryableReply) as exc:
            failures = 0 if pos > before else failures + 1
            if failures > retries_allowed:
                raise TransientError(
                    _("Downloading Marketo's bulk export {id} kept failing at byte {pos} ({error}).").format(
                        id=job.export_id, pos=pos, error=_describe(exc)
                    ),
                    api="marketo",
                    endpoint=f"GET {base(kind)}/{{exportId}}/file.json",
                ) from None
            delay = next(delays)
            log.info(
                "Bulk export %s broke at byte %d (%s); resuming in %.2f s",
                job.export_id,
                pos,
                _describe(exc),
                delay,
            )
            await asyncio.sleep(delay)
            continue
        failures = 0
        if pos == before:  # an empty answer: nothing more to fetch
            break
    _verify(job, digest.hexdigest())
    return pos


def _total_from(response: httpx.Response, known: int | None, pos: int) -> int | None:
    if known is not None:
        return known
    match = _CONTENT_RANGE.search(response.headers.get("content-range", ""))
    if match and match.group(3) != "*":
        return int(match.group(3))
    if response.status_code == 200:
        return pos
    return None


def _describe(exc: BaseException) -> str:
    if isinstance(exc, RetryableReply):
        return f"Marketo answered {exc.code}"
    return f"connection {type(exc).__name__}"


def _verify(job: ExportJob, hex_digest: str) -> None:
    expected = (job.file_checksum or "").strip()
    if not expected:
        return
    algorithm, _sep, value = expected.partition(":")
    if not value:
        algorithm, value = "sha256", algorithm
    if algorithm.lower() != "sha256":
        log.info("Bulk export %s has a %s checksum; not verified", job.export_id, algorithm)
        return
    if value.lower() != hex_digest:
        raise ExportCorruptedError(
            _("Marketo's bulk export {id} arrived corrupted: its SHA-256 does not match fileChecksum.").format(
                id=job.export_id
            ),
            api="marketo",
        )


def iter_csv_rows(fileobj: IO[bytes]) -> Iterator[dict[str, str | None]]:
    """Rows of a downloaded export as dicts keyed by the header; literal ``null`` → None; always UTF-8."""
    fileobj.seek(0)
    text = io.TextIOWrapper(fileobj, encoding="utf-8-sig", errors="strict", newline="")
    try:
        reader = csv.reader(text)
        header = next(reader, None)
        if header is None:
            return
        for row in reader:
            if not row:
                continue
            yield {
                name: (None if value == "null" else value) for name, value in zip(header, row, strict=False)
            }
    except UnicodeDecodeError as exc:
        raise ValidationError(
            _("Marketo's bulk export file is not valid UTF-8 (byte {pos}); it cannot be read safely.").format(
                pos=exc.start
            ),
            api="marketo",
        ) from None
    finally:
        text.detach()


async def export_leads(
    session: MarketoSession,
    fields: Sequence[str],
    export_filter: ExportFilter,
    *,
    column_header_names: Mapping[str, str] | None = None,
    poll_interval_s: float = STATUS_REFRESH_S,
    timeout_s: float | None = None,
    chunk_bytes: int = DEFAULT_CHUNK_BYTES,
    on_status: Callable[[ExportJob], None] | None = None,
) -> AsyncIterator[dict[str, str | None]]:
    """Run one bulk lead export end to end and yield its rows."""
    job = await create(session, fields, export_filter, column_header_names=column_header_names)
    if on_status is not None:
        on_status(job)
    job = await enqueue(session, job.export_id)
    if on_status is not None:
        on_status(job)
    job = await wait(
        session, job.export_id, poll_interval_s=poll_interval_s, timeout_s=timeout_s, on_status=on_status
    )
    with tempfile.TemporaryFile(prefix="sia-export-") as spool:
        try:
            await download(session, job, spool, chunk_bytes=chunk_bytes)
        except TransientError as exc:
            if not isinstance(exc, ExportCorruptedError):
                raise
            log.info("Bulk export %s failed its checksum; downloading it once more", job.export_id)
            spool.seek(0)
            spool.truncate()
            await download(session, job, spool, chunk_bytes=chunk_bytes)
        for n, row in enumerate(iter_csv_rows(spool), start=1):
            yield row
            if n % 2000 == 0:
                await asyncio.sleep(0)
