"""Marketo Bulk Lead Extract: create / enqueue / status / file / cancel / list.

Jobs move Created → Queued → Processing → Completed on a simulated timeline: a queue wait, at most two jobs
processing at once, rows written at ``bulk_rows_per_s``, and the status a client sees refreshed only once per
``bulk_status_refresh_s`` (once a minute, like the real service). Limits: ≤10 jobs queued or processing and
500 MB of files a day (1029), one filter per job, date ranges ≤31 days. The file is CSV/TSV/SSV with ``null`` for
empty values, UTF-8 bytes served as ``text/csv; charset=ISO-8859-1`` (a known quirk clients must work around),
with Range support (206) and a plain-text 404 until the job completes. With ``bulk_enabled`` off (a subscription
without Bulk Extract) every create answers 1035, so clients can prove their REST-paging fallback.
"""

from __future__ import annotations

import csv
import hashlib
import io
import json
import uuid
from datetime import timedelta
from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from sia_sandbox import lead_fields as lf
from sia_sandbox.activity_gen import iso
from sia_sandbox.marketo_activities import parse_datetime
from sia_sandbox.marketo_leads import lead_value, parse_fields
from sia_sandbox.marketo_wire import (
    MarketoError,
    batch_size,
    json_body,
    message,
    multi,
    ok,
    require_object,
)
from sia_sandbox.paging import decode_leads_token, leads_token
from sia_sandbox.state import SandboxState, dumps

MAX_QUEUED = 10
MAX_PROCESSING = 2
MAX_RANGE_DAYS = 31
SEPARATORS = {"CSV": ",", "TSV": "\t", "SSV": ";"}
FILE_MEDIA = "text/csv; charset=ISO-8859-1"
ACTIVE = ("Queued", "Processing")


def routes(state: SandboxState) -> list[Route]:
    cfg = state.config

    # -- the timeline ------------------------------------------------------------------------------------

    def selection(body: dict[str, Any]) -> tuple[str, list[Any]]:
        flt = body["filter"]
        if "createdAt" in flt or "updatedAt" in flt:
            key = "createdAt" if "createdAt" in flt else "updatedAt"
            column = "created_ms" if key == "createdAt" else "updated_ms"
            start = parse_datetime(flt[key]["startAt"])
            end = parse_datetime(flt[key]["endAt"])
            assert start is not None and end is not None
            return f"{column} >= ? AND {column} <= ?", [
                int(start.timestamp() * 1000),
                int(end.timestamp() * 1000),
            ]
        if "staticListId" in flt:
            return "id IN (SELECT lead_id FROM list_members WHERE list_id = ?)", [int(flt["staticListId"])]
        return (
            "id IN (SELECT m.lead_id FROM list_members m JOIN lists l ON l.id = m.list_id WHERE l.name = ?)",
            [str(flt["staticListName"])],
        )

    def duration_ms(rows: int) -> int:
        return int(rows / max(cfg.bulk_rows_per_s, 1e-9) * 1000)

    def write_file(db: Any, job: Any, body: dict[str, Any]) -> tuple[int, int, str]:
        fields = [lf.BY_NAME[name] for name in body["fields"]]
        headers = body.get("columnHeaderNames") or {}
        where, params = selection(body)
        out = io.StringIO()
        writer = csv.writer(out, delimiter=SEPARATORS[job["format"]], lineterminator="\n")
        writer.writerow([headers.get(f.name, f.name) for f in fields])
        count = 0
        for row in db.execute(f"SELECT * FROM leads WHERE {where} ORDER BY id", params):
            count += 1
            writer.writerow([_cell(lead_value(state, row, f)) for f in fields])
        data = out.getvalue().encode("utf-8")
        db.execute("INSERT OR REPLACE INTO export_files VALUES (?, ?)", (job["export_id"], data))
        return count, len(data), "sha256:" + hashlib.sha256(data).hexdigest()

    def advance() -> None:
        """Move jobs along the simulated timeline up to now (FIFO, two processing slots)."""
        now = state.clock.now_ms()
        with state.tx() as db:
            jobs = db.execute(
                "SELECT * FROM export_jobs WHERE status IN ('Queued', 'Processing') ORDER BY queued_ms, created_ms"
            ).fetchall()
            finishes: list[int] = []
            for job in jobs:
                body = json.loads(job["body"])
                if job["status"] == "Processing":
                    started, rows = job["started_ms"], job["rows"]
                else:
                    ready = job["queued_ms"] + int(cfg.bulk_queue_delay_s * 1000)
                    busy = sorted(f for f in finishes if f > ready)
                    started = ready if len(busy) < MAX_PROCESSING else max(ready, busy[-MAX_PROCESSING])
                    if started > now:
                        break  # FIFO: nobody behind it starts earlier
                    where, params = selection(body)
                    rows = db.execute(f"SELECT COUNT(*) FROM leads WHERE {where}", params).fetchone()[0]
                    db.execute("UPDATE export_jobs SET status = 'Processing', started_ms = ?, rows = ? WHERE export_id = ?",
                               (started, rows, job["export_id"]))  # fmt: skip
                finish = started + duration_ms(rows)
                if finish <= now:
                    count, size, checksum = write_file(db, job, body)
                    db.execute(
                        "UPDATE export_jobs SET status = 'Completed', finished_ms = ?, rows = ?, file_size = ?, "
                        "checksum = ? WHERE export_id = ?",
                        (finish, count, size, checksum, job["export_id"]),
                    )
                finishes.append(finish)

    def visible(job: Any) -> dict[str, Any]:
        """The job as a client sees it: transitions show up only at status refresh ticks (once a minute)."""
        now = state.clock.now_ms()
        refresh = int(cfg.bulk_status_refresh_s * 1000)
        out: dict[str, Any] = {
            "exportId": job["export_id"],
            "format": job["format"],
            "createdAt": iso(job["created_ms"]),
        }
        status = job["status"]
        if job["queued_ms"] is not None:
            out["queuedAt"] = iso(job["queued_ms"])
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
                out["startedAt"] = iso(job["started_ms"])
            if status == "Completed":
                out["finishedAt"] = iso(job["finished_ms"])
                out["numberOfRecords"] = job["rows"]
                out["fileSize"] = job["file_size"]
                out["fileChecksum"] = job["checksum"]
        elif status == "Cancelled" and job["started_ms"] is not None:
            out["startedAt"] = iso(job["started_ms"])
        out["status"] = status
        return out

    def job_row(export_id: str) -> Any:
        rows = state.query("SELECT * FROM export_jobs WHERE export_id = ?", (export_id,))
        if not rows:
            raise MarketoError("1003", f"Export Id {export_id} not found")
        return rows[0]

    def day_start_ms() -> int:
        now = state.clock.now()
        local = now - timedelta(hours=6)  # the quota resets at midnight US Central
        start = local.replace(hour=0, minute=0, second=0, microsecond=0) + timedelta(hours=6)
        return int(start.timestamp() * 1000)

    # -- endpoints ---------------------------------------------------------------------------------------

    async def create(request: Request) -> JSONResponse:
        body = require_object(await json_body(request))
        names = body.get("fields")
        if not names:
            raise MarketoError("701", message("701", name="fields"))
        if not isinstance(names, list):
            raise MarketoError("1003", "fields must be an array")
        fields = parse_fields([str(n) for n in names])
        fmt = str(body.get("format") or "CSV").upper()
        if fmt not in SEPARATORS:
            raise MarketoError("1003", f"Invalid format '{body.get('format')}'")
        headers = body.get("columnHeaderNames") or {}
        if not isinstance(headers, dict):
            raise MarketoError("1003", "columnHeaderNames must be an object")
        flt = body.get("filter")
        if not isinstance(flt, dict) or not flt:
            raise MarketoError("701", message("701", name="filter"))
        if len(flt) != 1:
            raise MarketoError("1003", "Only one filter type is allowed per export job")
        key, value = next(iter(flt.items()))
        if not cfg.bulk_enabled or key in ("smartListId", "smartListName"):
            raise MarketoError("1035")
        if key in ("createdAt", "updatedAt"):
            if not isinstance(value, dict) or not value.get("startAt") or not value.get("endAt"):
                raise MarketoError("1003", f"{key} filter needs startAt and endAt")
            start, end = parse_datetime(str(value["startAt"])), parse_datetime(str(value["endAt"]))
            if start is None or end is None:
                raise MarketoError("1001", message("1001", value=value, type="datetime"))
            if end < start:
                raise MarketoError("1003", f"{key}.endAt is before startAt")
            if end - start > timedelta(days=MAX_RANGE_DAYS):
                raise MarketoError("1003", f"{key} date range exceeds {MAX_RANGE_DAYS} days")
        elif key == "staticListId":
            try:
                list_id = int(value)
            except (TypeError, ValueError):
                raise MarketoError("1001", message("1001", value=value, type="integer")) from None
            if not state.query("SELECT 1 FROM lists WHERE id = ?", (list_id,)):
                raise MarketoError("1013", "List not found")
        elif key == "staticListName":
            if not state.query("SELECT 1 FROM lists WHERE name = ?", (str(value),)):
                raise MarketoError("1013", "List not found")
        else:
            raise MarketoError("1003", f"Invalid filter type '{key}'")
        export_id = str(uuid.uuid4())
        stored = {"fields": [f.name for f in fields], "columnHeaderNames": headers, "filter": flt}
        now = state.clock.now_ms()
        with state.tx() as db:
            db.execute(
                "INSERT INTO export_jobs (export_id, body, status, format, created_ms) VALUES (?, ?, 'Created', ?, ?)",
                (export_id, dumps(stored), fmt, now),
            )
        return ok([visible(job_row(export_id))])

    async def enqueue(request: Request) -> JSONResponse:
        advance()
        job = job_row(request.path_params["export_id"])
        if job["status"] in ACTIVE:
            raise MarketoError("1029", "Job already queued")
        if job["status"] != "Created":
            raise MarketoError("1003", f"Job cannot be enqueued in status {job['status']}")
        active = state.query("SELECT COUNT(*) FROM export_jobs WHERE status IN ('Queued', 'Processing')")[0][
            0
        ]
        if active >= MAX_QUEUED:
            raise MarketoError("1029", "Too many jobs in queue")
        used = state.query(
            "SELECT COALESCE(SUM(file_size), 0) FROM export_jobs WHERE finished_ms >= ?", (day_start_ms(),)
        )[0][0]
        if used >= cfg.bulk_daily_bytes:
            raise MarketoError("1029", "Export daily quota exceeded")
        with state.tx() as db:
            db.execute("UPDATE export_jobs SET status = 'Queued', queued_ms = ? WHERE export_id = ?",
                       (state.clock.now_ms(), job["export_id"]))  # fmt: skip
        return ok([visible(job_row(job["export_id"]))])

    async def status(request: Request) -> JSONResponse:
        advance()
        return ok([visible(job_row(request.path_params["export_id"]))])

    async def cancel(request: Request) -> JSONResponse:
        advance()
        job = job_row(request.path_params["export_id"])
        if job["status"] not in ("Created", *ACTIVE):
            raise MarketoError("1003", f"Job cannot be cancelled in status {job['status']}")
        with state.tx() as db:
            db.execute("UPDATE export_jobs SET status = 'Cancelled', cancelled_ms = ? WHERE export_id = ?",
                       (state.clock.now_ms(), job["export_id"]))  # fmt: skip
        return ok([visible(job_row(job["export_id"]))])

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
                "SELECT * FROM export_jobs WHERE created_ms >= ? ORDER BY created_ms", (since,)
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
            "SELECT * FROM export_jobs WHERE export_id = ?", (request.path_params["export_id"],)
        )
        if not rows or visible(rows[0])["status"] != "Completed":
            return Response("Export job not found or not completed", status_code=404, media_type="text/plain")
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

    return [
        Route("/bulk/v1/leads/export/create.json", create, methods=["POST"]),
        Route("/bulk/v1/leads/export.json", list_jobs, methods=["GET"]),
        Route("/bulk/v1/leads/export/{export_id}/enqueue.json", enqueue, methods=["POST"]),
        Route("/bulk/v1/leads/export/{export_id}/status.json", status, methods=["GET"]),
        Route("/bulk/v1/leads/export/{export_id}/cancel.json", cancel, methods=["POST"]),
        Route("/bulk/v1/leads/export/{export_id}/file.json", file, methods=["GET"]),
    ]


def _cell(value: Any) -> str:
    if value is None or value == "":
        return "null"
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


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
