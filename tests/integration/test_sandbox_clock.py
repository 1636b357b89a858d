"""The sandbox clock is the one way to make time pass in tests: Marketo token lifetimes, the 20-second rate window,
bulk export timing, Salesforce sessions and query cursors all follow ``POST /_sandbox/clock``: nothing sleeps."""

from __future__ import annotations

from typing import Any

import httpx

from sia_sandbox.config import MARKETO_CLIENT_ID, MARKETO_CLIENT_SECRET
from sia_sandbox.server import RunningSandbox
from tests.conftest import MarketoHttp
from tests.integration.test_sandbox_salesforce import Sf, error


def move(sb: RunningSandbox, **body: Any) -> dict[str, Any]:
    reply = httpx.post(f"{sb.base_url}/_sandbox/clock", json=body)
    reply.raise_for_status()
    return reply.json()  # type: ignore[no-any-return]


def identity(sb: RunningSandbox) -> dict[str, Any]:
    reply = httpx.get(
        f"{sb.base_url}/identity/oauth/token",
        params={"grant_type": "client_credentials", "client_id": MARKETO_CLIENT_ID,
                "client_secret": MARKETO_CLIENT_SECRET},
    )  # fmt: skip
    reply.raise_for_status()
    return reply.json()  # type: ignore[no-any-return]


def code(body: dict[str, Any]) -> str | None:
    return body["errors"][0]["code"] if body.get("success") is False else None


def test_token_lifetimes_follow_the_clock(sandbox_factory):
    sb = sandbox_factory(people=20, clock_frozen=True)
    first = identity(sb)
    assert first["expires_in"] == 3599
    move(sb, advance_s=600)
    again = identity(sb)
    assert again["access_token"] == first["access_token"] and again["expires_in"] == 3000
    move(sb, advance_s=3000)
    mk = httpx.Client(base_url=sb.base_url, headers={"Authorization": f"Bearer {first['access_token']}"})
    assert code(mk.get("/rest/v1/activities/types.json").json()) == "602"
    assert identity(sb)["access_token"] != first["access_token"]
    mk.close()


def test_the_rate_window_slides_with_the_clock(sandbox_factory):
    sb = sandbox_factory(people=20, clock_frozen=True, rate_limit_calls=5)
    mk = MarketoHttp(sb)
    for _ in range(5):
        assert mk.get("/rest/v1/activities/types.json")["success"] is True
    assert code(mk.get("/rest/v1/activities/types.json")) == "606"
    assert code(mk.get("/rest/v1/activities/types.json")) == "606"  # time stands still: still 606
    move(sb, advance_s=19)
    assert code(mk.get("/rest/v1/activities/types.json")) == "606"
    move(sb, advance_s=1)
    assert mk.get("/rest/v1/activities/types.json")["success"] is True
    mk.close()


def test_bulk_jobs_run_on_the_clock_with_realistic_timing_and_no_waiting(sandbox_factory):
    sb = sandbox_factory(people=300, clock_frozen=True, bulk_queue_delay_s=15.0, bulk_rows_per_s=2500.0,
                         bulk_status_refresh_s=60.0)  # fmt: skip
    mk = MarketoHttp(sb)
    flt = {"createdAt": {"startAt": "2026-02-01T00:00:00Z", "endAt": "2026-03-02T00:00:00Z"}}
    export_id = mk.post("/bulk/v1/activities/export/create.json", {"filter": flt})["result"][0]["exportId"]
    assert mk.post(f"/bulk/v1/activities/export/{export_id}/enqueue.json")["result"][0]["status"] == "Queued"
    status = f"/bulk/v1/activities/export/{export_id}/status.json"
    for _ in range(3):  # polling does not make time pass
        assert mk.get(status)["result"][0]["status"] == "Queued"
    move(sb, advance_s=59)
    assert mk.get(status)["result"][0]["status"] == "Queued"  # done, but the status refreshes once a minute
    assert (
        mk.client.get(f"/bulk/v1/activities/export/{export_id}/file.json", headers=mk.headers).status_code
        == 404
    )
    move(sb, advance_s=1)
    job = mk.get(status)["result"][0]
    assert job["status"] == "Completed" and job["numberOfRecords"] > 1000
    assert job["startedAt"] == "2026-03-02T09:00:15Z"  # after the queue wait
    mk.close()


def test_salesforce_sessions_expire_on_the_clock(sandbox_factory):
    sb = sandbox_factory(people=20, clock_frozen=True, sf_session_ttl_s=600)
    token = httpx.post(
        f"{sb.base_url}/services/oauth2/token",
        data={
            "grant_type": "client_credentials",
            "client_id": "sandbox-sf-id",
            "client_secret": "sandbox-sf-secret",
        },
    ).json()["access_token"]
    headers = {"Authorization": f"Bearer {token}"}
    assert httpx.get(f"{sb.base_url}/services/data/v62.0/limits", headers=headers).status_code == 200
    move(sb, advance_s=601)
    expired = httpx.get(f"{sb.base_url}/services/data/v62.0/limits", headers=headers)
    assert expired.status_code == 401 and expired.json()[0]["errorCode"] == "INVALID_SESSION_ID"


def test_query_cursors_idle_out_after_15_minutes_on_the_clock(sandbox_factory):
    sb = sandbox_factory(people=800, clock_frozen=True, sf_session_ttl_s=7200)
    sf = Sf(sb.salesforce_url)
    try:
        first = sf.get(
            "query", params={"q": "SELECT Id FROM Lead"}, headers={"Sforce-Query-Options": "batchSize=200"}
        )
        assert first.json()["totalSize"] > 400  # three pages at least
        more = first.json()["nextRecordsUrl"]
        move(sb, advance_s=14 * 60)  # idle, but not for long enough: the next page still comes
        second = sf.http.get(more).json()
        assert second["records"] and not second["done"]
        move(sb, advance_s=15 * 60 + 1)  # now idle for longer than Salesforce keeps a cursor
        assert error(sf.http.get(second["nextRecordsUrl"])) == (400, "INVALID_QUERY_LOCATOR")
    finally:
        sf.close()


def test_a_frozen_clock_can_be_thawed_and_runs_on_from_where_it_stood(sandbox_factory):
    sb = sandbox_factory(people=20)
    running = httpx.get(f"{sb.base_url}/_sandbox/clock").json()
    assert running["frozen"] is False
    stood = move(sb, frozen=True, advance_s=3600)
    assert stood["frozen"] is True and stood["now_ms"] >= running["now_ms"] + 3_600_000
    thawed = move(sb, frozen=False)
    assert thawed["frozen"] is False and 0 <= thawed["now_ms"] - stood["now_ms"] < 5_000
