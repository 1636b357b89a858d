"""Marketo Bulk Lead Extract over HTTP: job lifecycle and timing, queue limits, filters, the file and its quirks."""

from __future__ import annotations

import csv
import hashlib
import io
import time

import httpx

from tests.conftest import MarketoHttp

CREATED = {"createdAt": {"startAt": "2025-12-01T00:00:00Z", "endAt": "2025-12-31T00:00:00Z"}}
FIELDS = ["id", "firstName", "lastName", "email", "company", "mobilePhone", "unsubscribed", "sfdcLeadOwnerId"]


def error_code(body: dict) -> str | None:
    return body["errors"][0]["code"] if body.get("success") is False else None


def create(mk: MarketoHttp, flt: dict | None = None, **extra) -> str:
    body = mk.post(
        "/bulk/v1/leads/export/create.json",
        {"fields": FIELDS, "format": "CSV", "filter": flt or CREATED, **extra},
    )
    assert body["success"] is True, body
    job = body["result"][0]
    assert job["status"] == "Created"
    return job["exportId"]


def status(mk: MarketoHttp, export_id: str) -> dict:
    return mk.get(f"/bulk/v1/leads/export/{export_id}/status.json")["result"][0]


def wait_completed(mk: MarketoHttp, export_id: str, timeout: float = 10) -> dict:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        job = status(mk, export_id)
        if job["status"] == "Completed":
            return job
        time.sleep(0.05)
    raise AssertionError(f"job {export_id} did not complete: {job}")


def test_export_lifecycle_and_file(marketo: MarketoHttp):
    export_id = create(marketo, columnHeaderNames={"id": "Marketo Id", "email": "Email Address"})
    queued = marketo.post(f"/bulk/v1/leads/export/{export_id}/enqueue.json")["result"][0]
    assert queued["status"] in ("Queued", "Processing", "Completed") and "queuedAt" in queued
    assert error_code(marketo.post(f"/bulk/v1/leads/export/{export_id}/enqueue.json")) in ("1029", "1003")
    job = wait_completed(marketo, export_id)
    assert job["fileChecksum"].startswith("sha256:") and job["numberOfRecords"] > 0
    reply = marketo.client.get(f"/bulk/v1/leads/export/{export_id}/file.json", headers=marketo.headers)
    assert reply.status_code == 200
    assert reply.headers["content-type"] == "text/csv; charset=ISO-8859-1"  # the real service's quirk
    data = reply.content
    assert len(data) == job["fileSize"]
    assert job["fileChecksum"] == "sha256:" + hashlib.sha256(data).hexdigest()
    rows = list(csv.reader(io.StringIO(data.decode("utf-8"))))
    assert rows[0] == [
        "Marketo Id",
        "firstName",
        "lastName",
        "Email Address",
        "company",
        "mobilePhone",
        "unsubscribed",
        "sfdcLeadOwnerId",
    ]
    assert len(rows) - 1 == job["numberOfRecords"]
    assert all(r[5] == "null" for r in rows[1:])  # empty values are the literal null
    assert {r[6] for r in rows[1:]} <= {"true", "false"}
    # Range requests
    part = marketo.client.get(f"/bulk/v1/leads/export/{export_id}/file.json",
                              headers={**marketo.headers, "Range": "bytes=0-99"})  # fmt: skip
    assert part.status_code == 206
    assert part.headers["content-range"] == f"bytes 0-99/{len(data)}"
    assert part.content == data[:100]
    tail = marketo.client.get(
        f"/bulk/v1/leads/export/{export_id}/file.json", headers={**marketo.headers, "Range": "bytes=100-"}
    )
    assert part.content + tail.content == data
    listed = marketo.get("/bulk/v1/leads/export.json", status="Completed")["result"]
    assert export_id in [j["exportId"] for j in listed]


def test_cjk_bytes_are_utf8_despite_the_content_type(marketo: MarketoHttp):
    export_id = create(marketo, {"staticListId": 1003})
    marketo.post(f"/bulk/v1/leads/export/{export_id}/enqueue.json")
    wait_completed(marketo, export_id)
    data = marketo.client.get(f"/bulk/v1/leads/export/{export_id}/file.json", headers=marketo.headers).content
    text = data.decode("utf-8")
    assert any("\u4e00" <= ch <= "\u9fff" for ch in text)


def move(sb, seconds: float) -> None:
    httpx.post(f"{sb.base_url}/_sandbox/clock", json={"advance_s": seconds}).raise_for_status()


def test_realistic_timing_queue_limits_and_cancel(sandbox_factory):
    # The clock stands still unless moved: each step below is a quarter second of sandbox time, no sleeping.
    sb = sandbox_factory(
        bulk_queue_delay_s=1.0, bulk_rows_per_s=10, bulk_status_refresh_s=0.25, clock_frozen=True
    )
    mk = MarketoHttp(sb)
    ids = [create(mk) for _ in range(11)]
    for export_id in ids[:10]:
        assert mk.post(f"/bulk/v1/leads/export/{export_id}/enqueue.json")["success"] is True
    too_many = mk.post(f"/bulk/v1/leads/export/{ids[10]}/enqueue.json")
    assert error_code(too_many) == "1029" and too_many["errors"][0]["message"] == "Too many jobs in queue"
    # before completion the file is a plain-text 404
    early = mk.client.get(f"/bulk/v1/leads/export/{ids[0]}/file.json", headers=mk.headers)
    assert early.status_code == 404 and early.headers["content-type"].startswith("text/plain")
    seen_processing: set[str] = set()
    for _ in range(40):
        listed = {
            j["exportId"]: j["status"] for j in mk.get("/bulk/v1/leads/export.json")["result"]
        }  # one snapshot
        states = [listed[i] for i in ids[:10]]
        assert states.count("Processing") <= 2
        seen_processing |= {i for i, s in zip(ids, states, strict=False) if s == "Processing"}
        if states[0] == "Completed":
            break
        move(sb, 0.25)
    assert ids[0] in seen_processing
    assert status(mk, ids[0])["status"] == "Completed"
    cancelled = mk.post(f"/bulk/v1/leads/export/{ids[9]}/cancel.json")["result"][0]
    assert cancelled["status"] == "Cancelled"
    assert error_code(mk.post(f"/bulk/v1/leads/export/{ids[0]}/cancel.json")) == "1003"
    assert mk.post(f"/bulk/v1/leads/export/{ids[10]}/enqueue.json")["success"] is True  # a slot was freed
    mk.close()


def test_status_changes_show_only_at_refresh_ticks(sandbox_factory):
    sb = sandbox_factory(
        bulk_queue_delay_s=0.0, bulk_rows_per_s=1_000_000, bulk_status_refresh_s=1.0, clock_frozen=True
    )
    mk = MarketoHttp(sb)
    move(sb, 0.5)  # off the minute's tick
    export_id = create(mk)
    mk.post(f"/bulk/v1/leads/export/{export_id}/enqueue.json")
    move(sb, 0.1)
    assert status(mk, export_id)["status"] == "Queued"  # done already, but not visible before the next tick
    move(sb, 0.5)
    assert status(mk, export_id)["status"] == "Completed"
    mk.close()


def test_daily_export_quota(sandbox_factory):
    sb = sandbox_factory(bulk_daily_bytes=100)
    mk = MarketoHttp(sb)
    first = create(mk)
    second = create(mk)
    mk.post(f"/bulk/v1/leads/export/{first}/enqueue.json")
    wait_completed(mk, first)
    # Once the day's quota is spent, Marketo refuses both new jobs and enqueues (bulk-extract.md)
    refused = mk.post(f"/bulk/v1/leads/export/{second}/enqueue.json")
    assert error_code(refused) == "1029" and refused["errors"][0]["message"] == "Export daily quota exceeded"
    refused = mk.post("/bulk/v1/leads/export/create.json", {"fields": FIELDS, "filter": CREATED})
    assert error_code(refused) == "1029" and refused["errors"][0]["message"] == "Export daily quota exceeded"
    mk.close()


def test_filter_rules(marketo: MarketoHttp):
    path = "/bulk/v1/leads/export/create.json"
    long_range = {"createdAt": {"startAt": "2025-01-01T00:00:00Z", "endAt": "2025-03-01T00:00:00Z"}}
    assert error_code(marketo.post(path, {"fields": FIELDS, "filter": long_range})) == "1003"
    two = {**CREATED, "staticListId": 1001}
    assert error_code(marketo.post(path, {"fields": FIELDS, "filter": two})) == "1003"
    assert error_code(marketo.post(path, {"fields": FIELDS, "filter": {"smartListId": 7}})) == "1035"
    assert error_code(marketo.post(path, {"fields": ["id", "shoeSize"], "filter": CREATED})) == "1006"
    assert error_code(marketo.post(path, {"filter": CREATED})) == "701"
    assert error_code(marketo.post(path, {"fields": FIELDS, "filter": {"staticListId": 777}})) == "1013"
    updated = {"updatedAt": {"startAt": "2026-02-01T00:00:00Z", "endAt": "2026-03-02T00:00:00Z"}}
    assert marketo.post(path, {"fields": FIELDS, "format": "TSV", "filter": updated})["success"] is True
    assert error_code(marketo.get("/bulk/v1/leads/export/nope/status.json")) == "1003"
