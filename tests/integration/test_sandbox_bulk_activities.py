"""Marketo Bulk Activity Extract over HTTP: the job and its file as Adobe documents them, the ≤31-day rule, and the
queue and 500 MB daily quota it shares with Bulk Lead Extract. Private sandboxes; time moves by the clock."""

from __future__ import annotations

import csv
import hashlib
import io
import json
from datetime import timedelta
from typing import Any

import httpx

from sia_sandbox.server import RunningSandbox
from tests.conftest import SANDBOX_NOW, MarketoHttp
from tests.support.sandbox_control import hot_ids

BASE = "/bulk/v1/activities/export"
LEADS = "/bulk/v1/leads/export"
HEADER = [
    "marketoGUID",
    "leadId",
    "activityDate",
    "activityTypeId",
    "campaignId",
    "primaryAttributeValueId",
    "primaryAttributeValue",
    "attributes",
]


def code(body: dict[str, Any]) -> str | None:
    return body["errors"][0]["code"] if body.get("success") is False else None


def window(start: str, end: str, **extra: Any) -> dict[str, Any]:
    return {"filter": {"createdAt": {"startAt": start, "endAt": end}, **extra}}


def create(mk: MarketoHttp, body: dict[str, Any], base: str = BASE) -> str:
    reply = mk.post(f"{base}/create.json", body)
    assert reply["success"] is True, reply
    assert reply["result"][0]["status"] == "Created"
    return str(reply["result"][0]["exportId"])


def run(mk: MarketoHttp, export_id: str, base: str = BASE) -> tuple[dict[str, Any], bytes]:
    """Enqueue a job, let sandbox time pass until it completes (fast test timing: a second or two), fetch its file."""
    assert mk.post(f"{base}/{export_id}/enqueue.json")["success"] is True
    job = mk.get(f"{base}/{export_id}/status.json")["result"][0]
    for _ in range(10):
        if job["status"] == "Completed":
            break
        move(mk.running, 1)
        job = mk.get(f"{base}/{export_id}/status.json")["result"][0]
    assert job["status"] == "Completed", job
    reply = mk.client.get(f"{base}/{export_id}/file.json", headers=mk.headers)
    assert reply.status_code == 200
    return job, reply.content


def rows_of(data: bytes) -> list[dict[str, str]]:
    return list(csv.DictReader(io.StringIO(data.decode("utf-8"))))


def move(sb: RunningSandbox, seconds: float) -> None:
    httpx.post(f"{sb.base_url}/_sandbox/clock", json={"advance_s": seconds}).raise_for_status()


def test_an_activity_export_from_create_to_file(sandbox_factory):
    sb = sandbox_factory(people=200, clock_frozen=True, rate_limit_calls=100_000)
    mk = MarketoHttp(sb)
    export_id = create(mk, window("2026-02-20T00:00:00Z", "2026-03-02T00:00:00Z", activityTypeIds=[1, 6, 46]))
    job, data = run(mk, export_id)
    assert job["fileChecksum"] == "sha256:" + hashlib.sha256(data).hexdigest() and job["fileSize"] == len(
        data
    )
    reply = mk.client.get(f"{BASE}/{export_id}/file.json", headers=mk.headers)
    assert reply.headers["content-type"] == "text/csv; charset=ISO-8859-1"  # as the real service serves it
    assert data.decode("utf-8").splitlines()[0] == ",".join(HEADER)
    rows = rows_of(data)
    assert len(rows) == job["numberOfRecords"] > 100
    assert {r["activityTypeId"] for r in rows} == {"1", "6", "46"}
    assert all("2026-02-20T00:00:00Z" <= r["activityDate"] <= "2026-03-02T00:00:00Z" for r in rows)
    assert [(r["activityDate"], int(r["marketoGUID"])) for r in rows] == sorted(
        (r["activityDate"], int(r["marketoGUID"])) for r in rows
    )
    visit = next(r for r in rows if r["activityTypeId"] == "1")
    attributes = json.loads(visit["attributes"])
    assert isinstance(attributes, dict) and attributes["Webpage URL"].startswith("/")
    assert visit["campaignId"] == "null"  # empty values are the literal null
    send = next(r for r in rows if r["activityTypeId"] == "6")
    assert send["campaignId"] != "null" and isinstance(json.loads(send["attributes"])["Campaign Run ID"], int)
    # Range → 206, and the parts make the whole
    part = mk.client.get(f"{BASE}/{export_id}/file.json", headers={**mk.headers, "Range": "bytes=0-999"})
    assert part.status_code == 206 and part.headers["content-range"] == f"bytes 0-999/{len(data)}"
    rest = mk.client.get(f"{BASE}/{export_id}/file.json", headers={**mk.headers, "Range": "bytes=1000-"})
    assert part.content + rest.content == data
    # listed with the activity jobs, not with the lead jobs; the other kind's paths do not know it
    assert export_id in [j["exportId"] for j in mk.get(f"{BASE}.json", status="Completed")["result"]]
    assert export_id not in [j["exportId"] for j in mk.get(f"{LEADS}.json")["result"]]
    assert code(mk.get(f"{LEADS}/{export_id}/status.json")) == "1003"
    # fields: a subset in the order asked, with renamed headers; actionResult on request
    export_id = create(mk, {**window("2026-02-28T00:00:00Z", "2026-03-01T00:00:00Z"),
                            "fields": ["leadId", "activityTypeId", "actionResult"], "format": "TSV",
                            "columnHeaderNames": {"leadId": "Person"}})  # fmt: skip
    _, data = run(mk, export_id)
    lines = data.decode("utf-8").splitlines()
    assert lines[0] == "Person\tactivityTypeId\tactionResult" and lines[1].endswith("\tsucceeded")
    mk.close()


def test_the_filter_rules(sandbox_factory):
    sb = sandbox_factory(people=50, clock_frozen=True)
    mk = MarketoHttp(sb)
    path = f"{BASE}/create.json"
    assert code(mk.post(path, {"filter": {"activityTypeIds": [1]}})) == "701"  # createdAt is required
    assert code(mk.post(path, {})) == "701"
    assert code(mk.post(path, window("2026-01-01T00:00:00Z", "2026-02-01T00:00:01Z"))) == "1003"  # > 31 days
    assert create(mk, window("2026-01-01T00:00:00Z", "2026-02-01T00:00:00Z"))  # exactly 31 days is fine
    assert code(mk.post(path, window("2026-02-01T00:00:00Z", "2026-01-01T00:00:00Z"))) == "1003"
    assert (
        code(mk.post(path, window("2026-02-01T00:00:00Z", "2026-02-02T00:00:00Z", leadIds=[1003]))) == "1003"
    )
    assert (
        code(mk.post(path, window("2026-02-01T00:00:00Z", "2026-02-02T00:00:00Z", activityTypeIds=[37])))
        == "1003"
    )
    assert (
        code(mk.post(path, {**window("2026-02-01T00:00:00Z", "2026-02-02T00:00:00Z"), "fields": ["email"]}))
        == "1006"
    )
    just_ids = window("2026-02-01T00:00:00Z", "2026-02-02T00:00:00Z", primaryAttributeValueIds=[3001])
    assert code(mk.post(path, just_ids)) == "1003"  # only with activityTypeIds
    forms = window("2026-02-01T00:00:00Z", "2026-03-01T00:00:00Z", activityTypeIds=[2],
                   primaryAttributeValueIds=list(range(3001, 3052)))  # fmt: skip
    assert code(mk.post(path, forms)) == "1003"  # ≤ 50
    forms["filter"]["primaryAttributeValueIds"] = [3002]
    _, data = run(mk, create(mk, forms))
    assert {(r["activityTypeId"], r["primaryAttributeValueId"]) for r in rows_of(data)} <= {("2", "3002")}
    assert code(mk.get(f"{BASE}/not-a-job/status.json")) == "1003"
    mk.close()


def test_no_bulk_subscription_answers_1035(sandbox_factory):
    sb = sandbox_factory(people=20, bulk_enabled=False)
    mk = MarketoHttp(sb)
    assert (
        code(mk.post(f"{BASE}/create.json", window("2026-02-01T00:00:00Z", "2026-02-02T00:00:00Z"))) == "1035"
    )
    mk.close()


def test_lead_and_activity_jobs_share_one_queue_of_ten_and_two_processing_slots(sandbox_factory):
    sb = sandbox_factory(people=300, clock_frozen=True, rate_limit_calls=100_000, bulk_queue_delay_s=5.0,
                         bulk_rows_per_s=100.0, bulk_status_refresh_s=1.0)  # fmt: skip
    mk = MarketoHttp(sb)
    leads = {"fields": ["id", "email"], "filter": {"staticListId": 1003}}
    jobs = [(LEADS, create(mk, leads, LEADS)) for _ in range(5)]
    jobs += [(BASE, create(mk, window("2026-02-25T00:00:00Z", "2026-03-01T00:00:00Z"))) for _ in range(6)]
    for base, export_id in jobs[:10]:
        assert mk.post(f"{base}/{export_id}/enqueue.json")["success"] is True
    base, eleventh = jobs[10]
    refused = mk.post(f"{base}/{eleventh}/enqueue.json")
    assert code(refused) == "1029" and refused["errors"][0]["message"] == "Too many jobs in queue"
    assert code(mk.post(f"{jobs[0][0]}/{jobs[0][1]}/enqueue.json")) == "1029"  # Job already queued
    completed: set[str] = set()
    processing: set[str] = set()
    for _ in range(400):  # ~7 minutes of sandbox time, one second a step, without sleeping
        snapshot = {j["exportId"]: j["status"] for j in mk.get(f"{LEADS}.json")["result"]}
        snapshot |= {j["exportId"]: j["status"] for j in mk.get(f"{BASE}.json")["result"]}
        states = [snapshot[export_id] for _, export_id in jobs[:10]]
        assert states.count("Processing") <= 2, states
        processing |= {
            export_id for (_, export_id), s in zip(jobs, states, strict=False) if s == "Processing"
        }
        completed |= {export_id for (_, export_id), s in zip(jobs, states, strict=False) if s == "Completed"}
        if len(completed) == 10:
            break
        move(sb, 1)
    assert len(completed) == 10
    assert {b for b, export_id in jobs[:10] if export_id in processing} == {
        LEADS,
        BASE,
    }  # both kinds took slots
    assert mk.post(f"{base}/{eleventh}/enqueue.json")["success"] is True  # the queue has room again
    mk.close()


def test_the_500_mb_daily_quota_is_shared_with_lead_extracts(sandbox_factory):
    sb = sandbox_factory(people=100, clock_frozen=True, bulk_daily_bytes=20_000)
    mk = MarketoHttp(sb)
    lead_job = create(mk, {"fields": ["id", "email", "firstName", "lastName"], "filter": {"staticListId": 1003}},
                      LEADS)  # fmt: skip
    run(mk, lead_job, LEADS)
    activity_job = create(mk, window("2026-02-27T00:00:00Z", "2026-03-01T00:00:00Z"))
    job, _ = run(mk, activity_job)  # the lead file alone is under the quota: this one may start
    assert job["fileSize"] > 20_000
    # now both kinds are refused, at create and at enqueue, until midnight US Central
    for base, body in ((BASE, window("2026-02-01T00:00:00Z", "2026-02-02T00:00:00Z")),
                       (LEADS, {"fields": ["id"], "filter": {"staticListId": 1003}})):  # fmt: skip
        refused = mk.post(f"{base}/create.json", body)
        assert code(refused) == "1029" and refused["errors"][0]["message"] == "Export daily quota exceeded"
    # the next Marketo day (midnight US Central = 06:00 UTC) has a fresh quota
    move(sb, (timedelta(hours=21) + timedelta(minutes=1)).total_seconds())
    mk.close()
    mk = MarketoHttp(sb)
    assert create(mk, window("2026-02-01T00:00:00Z", "2026-02-02T00:00:00Z"))
    mk.close()


def test_a_naive_full_read_of_a_person_equals_the_bulk_extract_filtered_to_them(sandbox_factory):
    sb = sandbox_factory(people=150, clock_frozen=True, rate_limit_calls=100_000)
    mk = MarketoHttp(sb)
    lead = hot_ids(sb)[1]
    since = SANDBOX_NOW - timedelta(days=90)
    type_ids = sorted(t["id"] for t in mk.get("/rest/v1/activities/types.json")["result"] if t["id"] != 37)
    token = mk.get(
        "/rest/v1/activities/pagingtoken.json", sinceDatetime=since.strftime("%Y-%m-%dT%H:%M:%SZ")
    )["nextPageToken"]
    naive: dict[str, dict[str, Any]] = {}
    for i in range(0, len(type_ids), 10):
        page_token = token
        while True:
            body = mk.get("/rest/v1/activities.json", nextPageToken=page_token, leadIds=str(lead),
                          activityTypeIds=",".join(map(str, type_ids[i : i + 10])))  # fmt: skip
            naive.update({r["marketoGUID"]: r for r in body.get("result", [])})
            page_token = body["nextPageToken"]
            if not body["moreResult"]:
                break
    assert len(naive) >= 300
    extracted: dict[str, dict[str, str]] = {}
    start = since
    while start < SANDBOX_NOW:  # ≤ 31-day windows back to back, as a backfill would cut them
        end = min(start + timedelta(days=31), SANDBOX_NOW)
        body = window(
            start.strftime("%Y-%m-%dT%H:%M:%SZ"), (end - timedelta(seconds=1)).strftime("%Y-%m-%dT%H:%M:%SZ")
        )
        _, data = run(mk, create(mk, body))
        extracted.update({r["marketoGUID"]: r for r in rows_of(data) if r["leadId"] == str(lead)})
        start = end
    assert set(extracted) == set(naive)
    for guid, row in extracted.items():
        record = naive[guid]
        assert (row["activityDate"], int(row["activityTypeId"])) == (
            record["activityDate"],
            record["activityTypeId"],
        )
        assert row["primaryAttributeValue"] == str(record.get("primaryAttributeValue", "null"))
        assert json.loads(row["attributes"]) == {a["name"]: a["value"] for a in record["attributes"]} or (
            row["attributes"] == "null" and not record["attributes"]
        )
    mk.close()
