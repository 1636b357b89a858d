"""The ``/_sandbox/*`` control endpoints tests use instead of the sandbox's tables: who the sales users are, the
people as stored with their owners, faults back to how the sandbox started, the Marketo day, Salesforce records
read and changed behind the API's back, and every token and session ended at once."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import httpx
import pytest

from tests.conftest import MarketoHttp
from tests.integration.test_sandbox_salesforce import VERSION, Sf, error
from tests.support.sandbox_control import (
    advance_clock,
    marketo_day,
    patch_salesforce_record,
    reset_faults,
    sales_users,
    salesforce_records,
    sandbox_leads,
    sandbox_now,
    set_faults,
)


def test_users_are_the_sales_users_the_salesforce_api_knows(sandbox: Any) -> None:
    users = sales_users(sandbox)
    assert len(users) >= 10 and all(u["Id"].startswith("005") and "@" in u["Email"] for u in users)
    sf = Sf(sandbox.salesforce_url)
    try:
        known = {r["Id"]: r["Email"] for r in sf.records("SELECT Id, Email FROM User")}
    finally:
        sf.close()
    assert {u["Id"]: u["Email"] for u in users}.items() <= known.items()


def test_leads_are_the_people_as_stored_with_their_owners(sandbox: Any) -> None:
    everyone = sandbox_leads(sandbox)
    owned = sandbox_leads(sandbox, owned=True)
    assert len(everyone) >= 300 and 0 < len(owned) < len(everyone)
    assert [p["id"] for p in everyone] == sorted(p["id"] for p in everyone)
    users = {u["Id"]: u["Email"] for u in sales_users(sandbox)}
    for person in owned:
        assert person["sfdcLeadOwnerId"] or person["externalSalesPersonId"]
        if person["owner"] is not None:
            assert users[person["owner"]["Id"]] == person["owner"]["Email"]
    assert all(isinstance(p["unsubscribed"], bool) for p in everyone)
    # The same values the Marketo API serves for those people.
    api = MarketoHttp(sandbox)
    try:
        served = api.get(
            "/rest/v1/leads.json", filterType="id", filterValues=",".join(str(p["id"]) for p in owned[:20]),
            fields="id,email,unsubscribed,createdAt,updatedAt",
        )["result"]  # fmt: skip
    finally:
        api.close()
    by_id = {p["id"]: p for p in owned}
    for lead in served:
        stored = by_id[lead["id"]]
        assert (stored["email"], stored["unsubscribed"]) == (lead["email"], lead["unsubscribed"])
        assert (stored["createdAt"], stored["updatedAt"]) == (lead["createdAt"], lead["updatedAt"])
    members = sandbox_leads(sandbox, list_id=1002)
    assert members and {p["id"] for p in members} < {p["id"] for p in everyone}


def test_leads_refuse_a_list_id_that_is_not_a_number(sandbox: Any) -> None:
    reply = httpx.get(f"{sandbox.base_url}/_sandbox/leads", params={"list_id": "x"})
    assert (reply.status_code, reply.json()) == (400, {"error": "list_id must be a list id (a whole number)"})


def test_faults_reset_goes_back_to_how_the_sandbox_started(sandbox_factory: Any) -> None:
    running = sandbox_factory(people=20, fault_rate=0.1, fault_kinds=["606"], latency_ms=5)
    started = httpx.get(f"{running.base_url}/_sandbox/faults").json()
    assert started == {"rate": 0.1, "kinds": ["606"], "slow_s": 0.3, "latency_ms": 5}
    set_faults(running, 1.0, ["drop", "slow"], slow_s=2.0, latency_ms=40)
    assert httpx.get(f"{running.base_url}/_sandbox/faults").json()["latency_ms"] == 40
    reset_faults(running)
    assert httpx.get(f"{running.base_url}/_sandbox/faults").json() == started


def test_stats_name_the_marketo_day_the_calls_count_under(sandbox_factory: Any) -> None:
    running = sandbox_factory(people=20, clock_frozen=True)  # 2026-03-02 09:00 UTC: 03:00 in US Central
    assert marketo_day(running) == "2026-03-02"
    advance_clock(running, 21 * 3600)  # 06:00 UTC the next day: still 00:00 US Central, a new Marketo day
    assert marketo_day(running) == "2026-03-03"


def test_a_patched_record_keeps_its_given_stamps_and_leaves_the_updated_window(sandbox: Any) -> None:
    sf = Sf(sandbox.salesforce_url)
    try:
        reply = sf.call(
            "POST", "sobjects/Task", json={"Subject": "Backdated by a test", "Status": "Completed"}
        )
        task_id = reply.json()["id"]
        now = sandbox_now(sandbox)
        window = {
            "start": (now - timedelta(minutes=5)).isoformat(),
            "end": (now + timedelta(minutes=2)).isoformat(),
        }
        assert task_id in sf.get("sobjects/Task/updated", params=window).json()["ids"]

        before = (now - timedelta(hours=3)).replace(microsecond=0)
        patched = patch_salesforce_record(
            sandbox, task_id, {"SystemModstamp": before.isoformat(), "LastModifiedDate": before.isoformat(),
                               "Description": "changed behind the API's back", "IsClosed": False},
        )  # fmt: skip
        stamp = before.strftime("%Y-%m-%dT%H:%M:%S.000+0000")
        assert (patched["SystemModstamp"], patched["LastModifiedDate"]) == (stamp, stamp)
        assert patched["IsClosed"] is False  # read-only through the API, written as given here
        assert task_id not in sf.get("sobjects/Task/updated", params=window).json()["ids"]
        read = sf.get(f"sobjects/Task/{task_id}").json()
        assert (read["SystemModstamp"], read["Description"]) == (stamp, "changed behind the API's back")
        assert task_id in {r["Id"] for r in salesforce_records(sandbox, "Task")}
    finally:
        sf.close()


@pytest.mark.parametrize(
    ("record_id", "body", "status", "said"),
    [
        ("00T8Z0000000NOPE", {"Subject": "x"}, 404, "no record with id 00T8Z0000000NOPE"),
        (None, {"Nope__c": 1}, 400, "Task has no field 'Nope__c'"),
        (None, {"Id": "00T000000000001AAA"}, 400, "Id cannot be changed here"),
        (None, {"SystemModstamp": "yesterday"}, 400, "SystemModstamp must be an ISO time"),
        (None, {"CallDurationInSeconds": "long"}, 400, "CallDurationInSeconds: Cannot deserialize"),
    ],
)
def test_a_patch_the_sandbox_cannot_apply_is_refused_with_a_sentence(
    sandbox: Any, record_id: str | None, body: dict[str, Any], status: int, said: str
) -> None:
    if record_id is None:
        record_id = salesforce_records(sandbox, "Task")[0]["Id"]
    reply = httpx.patch(f"{sandbox.base_url}/_sandbox/salesforce/records/{record_id}", json=body)
    assert reply.status_code == status and reply.json()["error"].startswith(said)


def test_salesforce_records_refuse_an_unknown_sobject(sandbox: Any) -> None:
    reply = httpx.get(f"{sandbox.base_url}/_sandbox/salesforce/records", params={"sobject": "Widget"})
    assert reply.status_code == 400 and "Widget" in reply.json()["error"]


def test_expiring_tokens_ends_marketo_tokens_and_salesforce_sessions(sandbox_factory: Any) -> None:
    running = sandbox_factory(people=20)
    sf = Sf(running.salesforce_url)
    api = MarketoHttp(running)
    try:
        assert sf.get("limits").status_code == 200
        httpx.post(f"{running.base_url}/_sandbox/tokens/expire").raise_for_status()
        assert error(sf.get("limits")) == (401, "INVALID_SESSION_ID")
        refused = api.client.get("/rest/v1/leads/describe.json", headers=api.headers).json()
        assert refused["errors"][0]["code"] == "602"
        assert Sf(running.salesforce_url).get("limits").status_code == 200  # a new login works
        assert httpx.get(f"{running.salesforce_url}/services/data/{VERSION}/limits").status_code == 401
    finally:
        sf.close()
        api.close()
