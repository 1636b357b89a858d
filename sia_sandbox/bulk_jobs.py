"""Marketo Bulk Extract jobs, whatever they export: create / enqueue / status / file / cancel / list.

One implementation serves every export kind (``/bulk/v1/{kind}/export/...``: leads in marketo_bulk.py,
activities in marketo_bulk_activities.py); a kind only says how to validate a job, count its rows and write its
file. As Marketo documents (bulk-extract.md), the kinds share ONE queue and ONE quota:

- jobs move Created → Queued → Processing → Completed on a simulated timeline: a queue wait
  (``bulk_queue_delay_s``), at most two jobs processing at once across every kind, rows written at
  ``bulk_rows_per_s``; the status a client sees is refreshed only once per ``bulk_status_refresh_s`` (once a
  minute, like the real service), on one grid for every job;
- ≤10 jobs queued or processing (1029 "Too many jobs in queue"), 1029 "Job already queued";
- 500 MB of files a day (``bulk_daily_bytes``, reset at midnight US Central), counted over every kind: once spent,
  create and enqueue both answer 1029 "Export daily quota exceeded";
- the file: CSV/TSV/SSV with ``null`` for empty values, UTF-8 bytes served as ``text/csv; charset=ISO-8859-1`` (a
  known quirk clients must work around), Range support (206), a plain-text 404 until the job completes;
- with ``bulk_enabled`` off (a subscription without Bulk Extract) every create answers 1035.

Time is the sandbox clock (clock.py): advancing it moves jobs along without waiting.
"""

from __future__ import annotations

import hashlib
import json
import uuid
from datetime import timedelta
from typing import Any, Protocol

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from sia_sandbox.clock import parse_datetime
from sia_sandbox.datagen import iso_ms
from sia_sandbox.marketo_wire import MarketoError, batch_size, json_body, message, multi, ok, require_object
from sia_sandbox.paging import decode_leads_token, leads_token
from sia_sandbox.state import SandboxState, dumps

MAX_QUEUED = 10
MAX_PROCESSING = 2
MAX_RANGE_DAYS = 31
SEPARATORS = {"CSV": ",", "TSV": "\t", "SSV": ";"}
FILE_MEDIA = "text/csv; charset=ISO-8859-1"
ACTIVE = ("Queued", "Processing")
QUOTA_SPENT = "Export daily quota exceeded"


class ExportKind(Protocol):
    """What one kind of export adds to the shared machinery."""

    name: str  # the path segment (``leads``, ``activities``) and the ``export_jobs.kind`` value

    def parse(self, body: dict[str, Any]) -> dict[str, Any]:
        """The job definition to store from a create body (``fields``, ``filter``, ...); raises MarketoError."""
        ...

    def count(self, db: Any, job: dict[str, Any]) -> int:
        """How many rows the job will write (fixes its processing time when it starts)."""
        ...

    def write(self, db: Any, job: dict[str, Any], separator: str) -> tuple[int, bytes]:
        """The file (rows written, UTF-8 bytes with a header line) when the job completes."""
        ...


def date_range(key: str, value: Any) -> tuple[int, int]:
    """A ``{"startAt", "endAt"}`` filter as epoch ms, checked as Marketo does (both given, ≤ 31 days)."""
    if not isinstance(value, dict) or not value.get("startAt") or not value.get("endAt"):
        raise MarketoError("1003", f"{key} filter needs startAt and endAt")
    start, end = parse_datetime(str(value["startAt"])), parse_datetime(str(value["endAt"]))
    if start is None or end is None:
        raise MarketoError("1001", message("1001", value=value, type="datetime"))
    if end < start:
        raise MarketoError("1003", f"{key}.endAt is before startAt")
    if end - start > timedelta(days=MAX_RANGE_DAYS):
        raise MarketoError("1003", f"{key} date range exceeds {MAX_RANGE_DAYS} days")
    return int(start.timestamp() * 1000), int(end.timestamp() * 1000)


def cell(value: Any) -> str:
    """A CSV cell as Marketo writes it: ``null`` for empty, ``true``/``false`` for booleans."""
    if value is None or value == "":
        return "null"
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def routes(state: SandboxState, kinds: list[ExportKind]) -> list[Route]:
    cfg = state.config
    by_name = {kind.name: kind for kind in kinds}

    # -- the timeline (one queue for every kind) ------------------------------------------------------------

    def duration_ms(rows: int) -> int:
        return int(rows / max(cfg.bulk_rows_per_s, 1e-9) * 1000)

    def complete(db: Any, job: Any, definition: dict[str, Any], finish: int) -> None:
        kind = by_name[job["kind"]]
        count, data = kind.write(db, definition, SEPARATORS[job["format"]])
        db.execute("INSERT OR REPLACE INTO export_files VALUES (?, ?)", (job["export_id"], data))
        db.execute(
            "UPDATE export_jobs SET status = 'Completed', finished_ms = ?, rows = ?, file_size = ?, checksum = ? "
            "WHERE export_id = ?",
            (finish, count, len(data), "sha256:" + hashlib.sha256(data).hexdigest(), job["export_id"]),
        )

    def advance() -> None:
        """Move jobs along the simulated timeline up to now (FIFO across kinds, two processing slots)."""
        now = state.clock.now_ms()
        with state.tx() as db:
            jobs = db.execute(
                "SELECT * FROM export_jobs WHERE status IN ('Queued', 'Processing') ORDER BY queued_ms, created_ms"
            ).fetchall()
            finishes: list[int] = []
            for job in jobs:
                definition = json.loads(job["body"])
                if job["status"] == "Processing":
                    started, rows = job["started_ms"], job["rows"]
                else:
                    ready = job["queued_ms"] + int(cfg.bulk_queue_delay_s * 1000)
                    busy = sorted(f for f in finishes if f > ready)
                    started = ready if len(busy) < MAX_PROCESSING else max(ready, busy[-MAX_PROCESSING])
                    if started > now:
                        break  # FIFO: nobody behind it starts earlier
                    rows = by_name[job["kind"]].count(db, definition)
                    db.execute("UPDATE export_jobs SET status = 'Processing', started_ms = ?, rows = ? WHERE export_id = ?",
                               (started, rows, job["export_id"]))  # fmt: skip
                finish = started + duration_ms(rows)
                if finish <= now:
                    complete(db, job, definition, finish)
                finishes.append(finish)

    def visible(job: Any) -> dict[str, Any]:
        """The job as a client sees it: transitions show up only at status refresh ticks (once a minute)."""
        now = state.clock.now_ms()
        refresh = int(cfg.bulk_status_refresh_s * 1000)
        out: dict[str, Any] = {
            "exportId": job["export_id"],
            "format": job["format"],
            "createdAt": iso_ms(job["created_ms"]),
        }
        status = job["status"]
        if job["queued_ms"] is not None:
            out["queuedAt"] = iso_ms(job["queued_ms"])
        if status in ("Processing", "Completed"):
            # one refresh grid for every job, so a snapshot never shows more than two processing
            tick = now // refresh * refresh if refresh > 0 else now
            if job["finished_ms"] is not None and job["finished_ms"] <= tick:
                status = "Completed"
            elif job["started_ms"] is not None and job["started_ms"] <= tick:
                status = "Processing"
            else:
                status = "Queued"
            if status in ("Processing", "Completed"):
                out["startedAt"] = iso_ms(job["started_ms"])
            if status == "Completed":
                out["finishedAt"] = iso_ms(job["finished_ms"])
                out["numberOfRecords"] = job["rows"]
                out["fileSize"] = job["file_size"]
                out["fileChecksum"] = job["checksum"]
        elif status == "Cancelled" and job["started_ms"] is not None:
            out["startedAt"] = iso_ms(job["started_ms"])
        out["status"] = status
        return out

    def job_row(kind: ExportKind, export_id: str) -> Any:
        rows = state.query(
            "SELECT * FROM export_jobs WHERE export_id = ? AND kind = ?", (export_id, kind.name)
        )
        if not rows:
            raise MarketoError("1003", f"Export Id {export_id} not found")
        return rows[0]

    def day_start_ms() -> int:
        now = state.clock.now()
        local = now - timedelta(hours=6)  # the quota resets at midnight US Central
        start = local.replace(hour=0, minute=0, second=0, microsecond=0) + timedelta(hours=6)
        return int(start.timestamp() * 1000)

    def quota_spent() -> bool:
        """Today's files, every kind together, against the shared daily quota."""
        used = state.query(
            "SELECT COALESCE(SUM(file_size), 0) FROM export_jobs WHERE finished_ms >= ? AND finished_ms <= ?",
            (day_start_ms(), state.clock.now_ms()),
        )[0][0]
        return bool(used >= cfg.bulk_daily_bytes)

    # -- endpoints (one set per kind) ----------------------------------------------------------------------

    def endpoints(kind: ExportKind) -> list[Route]:
        def moved(job: Any, status: str, stamp_column: str) -> JSONResponse:
            """The job now in ``status`` (``stamp_column`` says since when), as the reply shows it."""
            with state.tx() as db:
                db.execute(f"UPDATE export_jobs SET status = ?, {stamp_column} = ? WHERE export_id = ?",
                           (status, state.clock.now_ms(), job["export_id"]))  # fmt: skip
            return ok([visible(job_row(kind, job["export_id"]))])

        async def create(request: Request) -> JSONResponse:
            body = require_object(await json_body(request))
            if not cfg.bulk_enabled:
                raise MarketoError("1035")
            fmt = str(body.get("format") or "CSV").upper()
            if fmt not in SEPARATORS:
                raise MarketoError("1003", f"Invalid format '{body.get('format')}'")
            headers = body.get("columnHeaderNames") or {}
            if not isinstance(headers, dict):
                raise MarketoError("1003", "columnHeaderNames must be an object")
            definition = kind.parse(body)
            definition["columnHeaderNames"] = headers
            advance()
            if quota_spent():
                raise MarketoError("1029", QUOTA_SPENT)
            export_id = str(uuid.uuid4())
            with state.tx() as db:
                db.execute(
                    "INSERT INTO export_jobs (export_id, body, status, format, created_ms, kind) "
                    "VALUES (?, ?, 'Created', ?, ?, ?)",
                    (export_id, dumps(definition), fmt, state.clock.now_ms(), kind.name),
                )
            return ok([visible(job_row(kind, export_id))])

        async def enqueue(request: Request) -> JSONResponse:
            advance()
            job = job_row(kind, request.path_params["export_id"])
            if job["status"] in ACTIVE:
                raise MarketoError("1029", "Job already queued")
            if job["status"] != "Created":
                raise MarketoError("1003", f"Job cannot be enqueued in status {job['status']}")
            active = state.query("SELECT COUNT(*) FROM export_jobs WHERE status IN ('Queued', 'Processing')")
            if active[0][0] >= MAX_QUEUED:
                raise MarketoError("1029", "Too many jobs in queue")
            if quota_spent():
                raise MarketoError("1029", QUOTA_SPENT)
            return moved(job, "Queued", "queued_ms")

        async def status(request: Request) -> JSONResponse:
            advance()
            return ok([visible(job_row(kind, request.path_params["export_id"]))])

        async def cancel(request: Request) -> JSONResponse:
            advance()
            job = job_row(kind, request.path_params["export_id"])
            if job["status"] not in ("Created", *ACTIVE):
                raise MarketoError("1003", f"Job cannot be cancelled in status {job['status']}")
            return moved(job, "Cancelled", "cancelled_ms")

        async def list_jobs(request: Request) -> JSONResponse:
            advance()
            wanted = {s.capitalize() for s in multi(request, "status")}
            wanted = {"Cancelled" if s == "Canceled" else s for s in wanted}
            size = batch_size(request)
            token = request.query_params.get("nextPageToken")
            offset = 0
            if token:
                decoded = decode_leads_token(token)
                if decoded is None:
                    raise MarketoError("1003", "Invalid nextPageToken")
                offset = decoded[0]
            since = state.clock.now_ms() - 7 * 86_400_000
            jobs = [
                visible(r)
                for r in state.query(
                    "SELECT * FROM export_jobs WHERE created_ms >= ? AND kind = ? ORDER BY created_ms",
                    (since, kind.name),
                )
            ]
            if wanted:
                jobs = [j for j in jobs if j["status"] in wanted]
            chunk = jobs[offset : offset + size]
            if offset + size < len(jobs):
                return ok(chunk, next_page_token=leads_token(offset + size), more_result=True)
            return ok(chunk)

        async def file(request: Request) -> Response:
            advance()
            rows = state.query(
                "SELECT * FROM export_jobs WHERE export_id = ? AND kind = ?",
                (request.path_params["export_id"], kind.name),
            )
            if not rows or visible(rows[0])["status"] != "Completed":
                return Response(
                    "Export job not found or not completed", status_code=404, media_type="text/plain"
                )
            blob = state.query("SELECT data FROM export_files WHERE export_id = ?", (rows[0]["export_id"],))
            data: bytes = blob[0][0] if blob else b""
            total = len(data)
            spec = request.headers.get("range")
            if not spec:
                return Response(data, media_type=FILE_MEDIA, headers={"Accept-Ranges": "bytes"})
            span = _parse_range(spec, total)
            if span is None:
                return Response(
                    b"", status_code=416, headers={"Content-Range": f"bytes */{total}"}, media_type=FILE_MEDIA
                )
            first, last = span
            return Response(
                data[first : last + 1],
                status_code=206,
                media_type=FILE_MEDIA,
                headers={"Content-Range": f"bytes {first}-{last}/{total}", "Accept-Ranges": "bytes"},
            )

        base = f"/bulk/v1/{kind.name}/export"
        return [
            Route(f"{base}/create.json", create, methods=["POST"]),
            Route(f"{base}.json", list_jobs, methods=["GET"]),
            Route(f"{base}/{{export_id}}/enqueue.json", enqueue, methods=["POST"]),
            Route(f"{base}/{{export_id}}/status.json", status, methods=["GET"]),
            Route(f"{base}/{{export_id}}/cancel.json", cancel, methods=["POST"]),
            Route(f"{base}/{{export_id}}/file.json", file, methods=["GET"]),
        ]

    return [route for kind in kinds for route in endpoints(kind)]


def _parse_range(spec: str, total: int) -> tuple[int, int] | None:
    """``bytes=a-b`` / ``bytes=a-`` / ``bytes=-n`` → inclusive (first, last); None if unsatisfiable."""
    unit, _, ranges = spec.partition("=")
    if unit.strip().lower() != "bytes" or "," in ranges:
        return None
    start_s, _, end_s = ranges.strip().partition("-")
    try:
        if start_s == "":
            length = int(end_s)
            if length <= 0:
                return None
            return max(0, total - length), total - 1
        first = int(start_s)
        last = int(end_s) if end_s else total - 1
    except ValueError:
        return None
    if first >= total or last < first:
        return None
    return first, min(last, total - 1)
