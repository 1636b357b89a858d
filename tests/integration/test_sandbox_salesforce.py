"""The sandbox's Salesforce REST API over HTTP: OAuth, sessions, limits, describe, records, upserts, replication.

Each test talks to a real running sandbox (uvicorn on loopback) exactly as a client would, and checks the wire
behaviour the Salesforce client and sync rely on: status codes, error arrays, ids, timestamps and headers.
"""

from __future__ import annotations

import re
import time
from collections.abc import Iterator
from datetime import datetime, timedelta
from email.utils import format_datetime
from typing import Any
from urllib.parse import quote

import httpx
import pytest

from sia_sandbox import datagen
from sia_sandbox.config import SALESFORCE_CLIENT_ID, SALESFORCE_CLIENT_SECRET, SALESFORCE_REFRESH_TOKEN
from sia_sandbox.ids import to18
from tests.conftest import FAST, SANDBOX_NOW

VERSION = "v62.0"
SF_DATETIME = re.compile(r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}\+0000")


class Sf:
    """A minimal raw client: one session, paths relative to ``/services/data/vXX.X/``."""

    def __init__(self, base_url: str, version: str = VERSION) -> None:
        self.base_url = base_url
        self.version = version
        self.http = httpx.Client(base_url=base_url, timeout=15)
        reply = self.http.post(
            "/services/oauth2/token",
            data={
                "grant_type": "client_credentials",
                "client_id": SALESFORCE_CLIENT_ID,
                "client_secret": SALESFORCE_CLIENT_SECRET,
            },
        )
        reply.raise_for_status()
        self.token = reply.json()["access_token"]
        self.http.headers["Authorization"] = f"Bearer {self.token}"

    def call(self, method: str, path: str, **kw: Any) -> httpx.Response:
        return self.http.request(method, f"/services/data/{self.version}/{path}", **kw)

    def get(self, path: str, **kw: Any) -> httpx.Response:
        return self.call("GET", path, **kw)

    def records(self, soql: str, *, all_rows: bool = False) -> list[dict[str, Any]]:
        reply = self.get("queryAll" if all_rows else "query", params={"q": soql})
        assert reply.status_code == 200, reply.text
        body = reply.json()
        rows = list(body["records"])
        while not body["done"]:
            body = self.http.get(body["nextRecordsUrl"]).json()
            rows += body["records"]
        return rows

    def one(self, soql: str) -> dict[str, Any]:
        rows = self.records(soql)
        assert rows, soql
        return rows[0]

    def create(self, sobject: str, fields: dict[str, Any]) -> str:
        reply = self.call("POST", f"sobjects/{sobject}/", json=fields)
        assert reply.status_code == 201, reply.text
        return str(reply.json()["id"])

    def close(self) -> None:
        self.http.close()


def error(reply: httpx.Response) -> tuple[int, str]:
    body = reply.json()
    assert isinstance(body, list) and body, reply.text
    return reply.status_code, body[0]["errorCode"]


def usage(reply: httpx.Response) -> tuple[int, int]:
    m = re.fullmatch(r"api-usage=(\d+)/(\d+)", reply.headers["Sforce-Limit-Info"])
    assert m, reply.headers.get("Sforce-Limit-Info")
    return int(m.group(1)), int(m.group(2))


@pytest.fixture
def sf(sandbox: Any) -> Iterator[Sf]:
    """A session on the shared sandbox (data written by other tests stays there)."""
    client = Sf(sandbox.salesforce_url)
    yield client
    client.close()


@pytest.fixture
def pristine(sandbox_factory: Any) -> Iterator[Sf]:
    """A session on a private, freshly seeded sandbox, for checks on the generated data."""
    client = Sf(sandbox_factory().salesforce_url)
    yield client
    client.close()


@pytest.fixture
def lead(sf: Sf) -> dict[str, Any]:
    return sf.one("SELECT Id, Email, OwnerId FROM Lead WHERE IsConverted = false ORDER BY Id LIMIT 1")


@pytest.fixture
def contact(sf: Sf) -> dict[str, Any]:
    return sf.one("SELECT Id, AccountId FROM Contact WHERE AccountId != null ORDER BY Id LIMIT 1")


# -- OAuth ----------------------------------------------------------------------------------------------------


def test_client_credentials_token_response_looks_like_salesforce(sandbox: Any) -> None:
    reply = httpx.post(
        f"{sandbox.salesforce_url}/services/oauth2/token",
        data={"grant_type": "client_credentials"},
        auth=(SALESFORCE_CLIENT_ID, SALESFORCE_CLIENT_SECRET),  # HTTP Basic, as simple-salesforce sends it
    )
    assert reply.status_code == 200
    body = reply.json()
    assert body["instance_url"] == sandbox.salesforce_url
    assert body["token_type"] == "Bearer"
    assert "expires_in" not in body and "refresh_token" not in body
    assert isinstance(body["issued_at"], str) and body["issued_at"].isdigit() and len(body["issued_at"]) == 13
    assert body["access_token"].startswith("00D")
    assert re.fullmatch(r".*/id/00D\w{15}/005\w{15}", body["id"])


def test_refresh_token_grant_runs_as_a_sales_user(sandbox: Any) -> None:
    reply = httpx.post(
        f"{sandbox.salesforce_url}/services/oauth2/token",
        data={
            "grant_type": "refresh_token",
            "refresh_token": SALESFORCE_REFRESH_TOKEN,
            "client_id": SALESFORCE_CLIENT_ID,
        },
    )
    assert reply.status_code == 200, reply.text
    user_id = reply.json()["id"].rsplit("/", 1)[1]
    assert user_id in {u["Id"] for u in datagen.sales_users(FAST["seed"])}


@pytest.mark.parametrize(
    ("form", "code"),
    [
        (
            {"grant_type": "client_credentials", "client_id": SALESFORCE_CLIENT_ID, "client_secret": "wrong"},
            "invalid_client",
        ),
        ({"grant_type": "password", "username": "u", "password": "p"}, "unsupported_grant_type"),
        (
            {"grant_type": "refresh_token", "refresh_token": "stale", "client_id": SALESFORCE_CLIENT_ID},
            "invalid_grant",
        ),
        ({}, "unsupported_grant_type"),
    ],
)
def test_token_errors_are_oauth_json(sandbox: Any, form: dict[str, str], code: str) -> None:
    reply = httpx.post(f"{sandbox.salesforce_url}/services/oauth2/token", data=form)
    assert reply.status_code == 400
    assert reply.json()["error"] == code
    assert reply.json()["error_description"]


def test_revoked_token_stops_working(sandbox: Any) -> None:
    client = Sf(sandbox.salesforce_url)
    assert client.get("limits").status_code == 200
    assert client.http.post("/services/oauth2/revoke", data={"token": client.token}).status_code == 200
    assert error(client.get("limits")) == (401, "INVALID_SESSION_ID")
    assert (
        client.http.post("/services/oauth2/revoke", data={"token": "nope"}).json()["error"] == "invalid_token"
    )
    client.close()


@pytest.mark.parametrize("header", [None, "Bearer not-a-session", "Basic abc"])
def test_missing_or_unknown_session_is_invalid_session_id(sandbox: Any, header: str | None) -> None:
    headers = {"Authorization": header} if header else {}
    reply = httpx.get(f"{sandbox.salesforce_url}/services/data/{VERSION}/limits", headers=headers)
    assert reply.json() == [{"message": "Session expired or invalid", "errorCode": "INVALID_SESSION_ID"}]
    assert reply.status_code == 401


def test_session_expires_after_its_lifetime(sandbox_factory: Any) -> None:
    running = sandbox_factory(people=20, sf_session_ttl_s=1, clock_frozen=True)
    client = Sf(running.salesforce_url)
    assert client.get("limits").status_code == 200
    httpx.post(f"{running.base_url}/_sandbox/clock", json={"advance_s": 1.2}).raise_for_status()
    assert error(client.get("limits")) == (401, "INVALID_SESSION_ID")
    assert Sf(running.salesforce_url).get("limits").status_code == 200  # a new token works again
    client.close()


def test_daily_limit_refuses_with_request_limit_exceeded(sandbox_factory: Any) -> None:
    running = sandbox_factory(people=20, sf_daily_limit=5)
    client = Sf(running.salesforce_url)
    seen = [usage(client.get("limits"))[0] for _ in range(5)]
    assert seen == [1, 2, 3, 4, 5]
    refused = client.get("query", params={"q": "SELECT Id FROM Task"})
    assert error(refused) == (403, "REQUEST_LIMIT_EXCEEDED")
    assert refused.json()[0]["message"] == "TotalRequests Limit exceeded."
    assert usage(refused) == (5, 5)
    versions = httpx.get(f"{running.salesforce_url}/services/data/")
    assert versions.status_code == 200  # the versions list never counts
    client.close()


# -- discovery ------------------------------------------------------------------------------------------------


def test_versions_need_no_session_and_carry_no_limit_header(sandbox: Any) -> None:
    for path in ("/services/data/", "/services/data"):
        reply = httpx.get(sandbox.salesforce_url + path)
        assert reply.status_code == 200
        assert "Sforce-Limit-Info" not in reply.headers
        versions = {v["version"]: v for v in reply.json()}
        assert versions["62.0"] == {"label": "Winter '25", "url": "/services/data/v62.0", "version": "62.0"}
        assert "59.0" in versions  # simple-salesforce's default


def test_resources_limits_and_usage_header(sandbox: Any, sf: Sf) -> None:
    resources = sf.get("")
    assert resources.json()["query"] == f"/services/data/{VERSION}/query"
    before = usage(resources)[0]
    limits = sf.get("limits/")
    used, allowed = usage(limits)
    assert used == before + 1 and allowed == sandbox.config.sf_daily_limit
    assert limits.json()["DailyApiRequests"] == {"Max": allowed, "Remaining": allowed - used}
    assert error(sf.call("GET", "nope")) == (404, "NOT_FOUND")
    assert error(sf.http.get("/services/data/v19.0/limits")) == (404, "NOT_FOUND")


def test_describe_task_lists_custom_and_external_id_fields(sf: Sf) -> None:
    describe = sf.get("sobjects/Task/describe").json()
    fields = {f["name"]: f for f in describe["fields"]}
    assert describe["keyPrefix"] == "00T"
    for name in ("mktosales_call_outcome__c", "mktosales_call_reason__c", "sia_activity_id__c"):
        assert fields[name]["custom"] is True
    assert (
        fields["sia_activity_id__c"]["externalId"] is True and fields["sia_activity_id__c"]["unique"] is True
    )
    assert fields["Subject"]["length"] == 255
    assert fields["TaskSubtype"]["updateable"] is False
    assert (
        fields["WhoId"]["referenceTo"] == ["Contact", "Lead"] and fields["WhoId"]["relationshipName"] == "Who"
    )
    statuses = [p["value"] for p in fields["Status"]["picklistValues"]]
    assert statuses == ["Not Started", "In Progress", "Completed", "Waiting on someone else", "Deferred"]
    lead_fields = {f["name"] for f in sf.get("sobjects/Lead/describe/").json()["fields"]}
    assert {"HasOptedOutOfEmail", "IsConverted", "ConvertedContactId", "Email", "Company"} <= lead_fields


def test_global_describe_and_sobject_metadata(sf: Sf) -> None:
    names = {o["name"] for o in sf.get("sobjects").json()["sobjects"]}
    assert {"Task", "Lead", "Contact", "Account", "Opportunity", "User", "TaskStatus"} <= names
    meta = sf.get("sobjects/Contact/").json()
    assert meta["objectDescribe"]["name"] == "Contact" and meta["recentItems"]
    assert error(sf.get("sobjects/Widget__c/describe")) == (404, "NOT_FOUND")


# -- seeded data ----------------------------------------------------------------------------------------------


def test_seeded_records_match_the_marketo_people(pristine: Sf) -> None:
    sf = pristine
    people = list(datagen.iter_people(FAST["seed"], FAST["people"], SANDBOX_NOW))
    leads = {
        r["Id"]: r
        for r in sf.records(
            "SELECT Id, Email, OwnerId, HasOptedOutOfEmail FROM Lead WHERE IsConverted = false"
        )
    }
    contacts = {
        r["Id"]: r for r in sf.records("SELECT Id, Email, AccountId, HasOptedOutOfEmail FROM Contact")
    }
    accounts = {r["Id"] for r in sf.records("SELECT Id FROM Account")}
    opps = {r["Id"] for r in sf.records("SELECT Id FROM Opportunity")}
    users = {r["Id"] for r in sf.records("SELECT Id FROM User")}
    for p in people:
        if p["sfdcLeadId"]:
            lead = leads[p["sfdcLeadId"]]
            assert lead["Email"] == p["email"]
            assert lead["HasOptedOutOfEmail"] == p["unsubscribed"]
            assert lead["OwnerId"] in users
            if p["sfdcLeadOwnerId"]:
                assert lead["OwnerId"] == p["sfdcLeadOwnerId"]
        if p["sfdcContactId"]:
            assert contacts[p["sfdcContactId"]]["Email"] == p["email"]
            assert contacts[p["sfdcContactId"]]["AccountId"] == p["sfdcAccountId"] in accounts
        if p["sfdcOpptyId"]:
            assert p["sfdcOpptyId"] in opps
    assert len(leads) == sum(1 for p in people if p["sfdcLeadId"])
    assert len(contacts) == sum(1 for p in people if p["sfdcContactId"])


def test_converted_leads_point_at_their_contact_and_refuse_updates(pristine: Sf) -> None:
    sf = pristine
    converted = sf.records("SELECT Id, Email, ConvertedContactId, Status FROM Lead WHERE IsConverted = true")
    assert converted
    first = converted[0]
    assert first["Status"] == "Closed - Converted"
    contact = sf.get(f"sobjects/Contact/{first['ConvertedContactId']}").json()
    assert contact["Email"] == first["Email"]
    refused = sf.call("PATCH", f"sobjects/Lead/{first['Id']}", json={"HasOptedOutOfEmail": True})
    assert error(refused) == (400, "CANNOT_UPDATE_CONVERTED_LEAD")
    assert (
        sf.call("PATCH", f"sobjects/Contact/{contact['Id']}", json={"HasOptedOutOfEmail": True}).status_code
        == 204
    )
    assert (
        sf.get(f"sobjects/Contact/{contact['Id']}", params={"fields": "HasOptedOutOfEmail"}).json()[
            "HasOptedOutOfEmail"
        ]
        is True
    )


def test_seeded_reminder_tasks_belong_to_sales_users(pristine: Sf) -> None:
    sf = pristine
    tasks = sf.records(
        "SELECT Id, Status, Priority, ActivityDate, OwnerId, WhoId FROM Task WHERE TaskSubtype = 'Task'"
    )
    assert tasks
    owners = {u["Id"] for u in datagen.sales_users(FAST["seed"])}
    assert {t["Status"] for t in tasks} <= {"Not Started", "Completed"}
    assert {t["Priority"] for t in tasks} <= {"Normal", "High"}
    assert all(
        t["OwnerId"] in owners and t["WhoId"] and re.fullmatch(r"\d{4}-\d{2}-\d{2}", t["ActivityDate"])
        for t in tasks
    )
    statuses = sf.records("SELECT MasterLabel, IsClosed FROM TaskStatus ORDER BY SortOrder")
    assert [(s["MasterLabel"], s["IsClosed"]) for s in statuses][2] == ("Completed", True)


# -- records --------------------------------------------------------------------------------------------------


def test_task_lifecycle_with_15_and_18_char_ids(sf: Sf, lead: dict[str, Any]) -> None:
    reply = sf.call(
        "POST",
        "sobjects/Task/",
        json={
            "Subject": "Call",
            "WhoId": lead["Id"][:15],
            "ActivityDate": "2026-05-01",
            "TaskSubtype": "Call",
        },
    )
    assert reply.status_code == 201
    body = reply.json()
    assert body["success"] is True and body["errors"] == []
    task_id = body["id"]
    assert len(task_id) == 18 and task_id.startswith("00T") and to18(task_id[:15]) == task_id
    assert reply.headers["Location"] == f"/services/data/{VERSION}/sobjects/Task/{task_id}"

    for form in (task_id, task_id[:15], task_id.lower(), task_id.upper()):
        got = sf.get(f"sobjects/Task/{form}")
        assert got.status_code == 200, form
        assert got.json()["Id"] == task_id
    record = sf.get(f"sobjects/Task/{task_id}").json()
    assert record["attributes"] == {
        "type": "Task",
        "url": f"/services/data/{VERSION}/sobjects/Task/{task_id}",
    }
    assert record["WhoId"] == lead["Id"]  # stored as the 18-char id
    assert (record["Status"], record["Priority"], record["IsClosed"]) == ("Not Started", "Normal", False)
    assert record["OwnerId"].startswith("005") and record["CreatedById"] == record["LastModifiedById"]
    assert SF_DATETIME.fullmatch(record["CreatedDate"]) and record["ActivityDate"] == "2026-05-01"

    time.sleep(0.01)
    assert sf.call("PATCH", f"sobjects/Task/{task_id[:15]}", json={"Status": "Completed"}).status_code == 204
    done = sf.get(
        f"sobjects/Task/{task_id}",
        params={"fields": "Status,IsClosed,CompletedDateTime,SystemModstamp,LastModifiedDate"},
    ).json()
    assert set(done) == {
        "attributes",
        "Status",
        "IsClosed",
        "CompletedDateTime",
        "SystemModstamp",
        "LastModifiedDate",
    }
    assert done["IsClosed"] is True and SF_DATETIME.fullmatch(done["CompletedDateTime"])
    assert (
        done["SystemModstamp"] > record["SystemModstamp"]
        and done["LastModifiedDate"] == done["SystemModstamp"]
    )

    reopened = sf.call("POST", f"sobjects/Task/{task_id}?_HttpMethod=PATCH", json={"Status": "In Progress"})
    assert reopened.status_code == 204
    assert sf.get(f"sobjects/Task/{task_id}").json()["CompletedDateTime"] is None

    assert sf.call("DELETE", f"sobjects/Task/{task_id}").status_code == 204
    assert error(sf.get(f"sobjects/Task/{task_id}")) == (404, "ENTITY_IS_DELETED")
    assert error(sf.call("DELETE", f"sobjects/Task/{task_id}")) == (404, "ENTITY_IS_DELETED")
    assert sf.records(f"SELECT Id FROM Task WHERE Id = '{task_id}'") == []
    gone = sf.records(f"SELECT Id, IsDeleted FROM Task WHERE Id = '{task_id}'", all_rows=True)
    assert gone == [{"attributes": record["attributes"], "Id": task_id, "IsDeleted": True}]


def test_get_unknown_or_wrong_type_ids(sf: Sf, lead: dict[str, Any]) -> None:
    assert error(sf.get(f"sobjects/Task/{lead['Id']}")) == (404, "NOT_FOUND")
    assert error(sf.get("sobjects/Task/00T8Z0000099999")) == (404, "NOT_FOUND")
    missing = sf.get("sobjects/Task/garbage")
    assert error(missing) == (404, "NOT_FOUND")
    assert "garbage" in missing.json()[0]["message"]
    assert error(sf.get(f"sobjects/Lead/{lead['Id']}", params={"fields": "Email,Nope"})) == (
        400,
        "INVALID_FIELD",
    )
    assert error(sf.call("PUT", f"sobjects/Lead/{lead['Id']}", json={})) == (405, "METHOD_NOT_ALLOWED")


def test_create_rejections(sf: Sf, lead: dict[str, Any], contact: dict[str, Any]) -> None:
    cases: list[tuple[str, dict[str, Any], str, list[str] | None]] = [
        ("Task", {"Id": "00T000000000001", "Subject": "x"}, "INVALID_FIELD", None),
        ("Task", {"Bogus__c": 1}, "INVALID_FIELD", None),
        ("Task", {"Status": "Done"}, "INVALID_OR_NULL_FOR_RESTRICTED_PICKLIST", ["Status"]),
        ("Task", {"Priority": "Urgent"}, "INVALID_OR_NULL_FOR_RESTRICTED_PICKLIST", ["Priority"]),
        ("Task", {"TaskSubtype": "Fax"}, "INVALID_OR_NULL_FOR_RESTRICTED_PICKLIST", ["TaskSubtype"]),
        ("Task", {"Type": "Lunch"}, "INVALID_OR_NULL_FOR_RESTRICTED_PICKLIST", ["Type"]),
        ("Task", {"Subject": "x" * 256}, "STRING_TOO_LONG", ["Subject"]),
        ("Task", {"WhoId": "not-an-id"}, "MALFORMED_ID", ["WhoId"]),
        ("Task", {"WhoId": contact["AccountId"]}, "FIELD_INTEGRITY_EXCEPTION", ["WhoId"]),
        ("Task", {"WhoId": "00Q8Z0000077777"}, "INVALID_CROSS_REFERENCE_KEY", ["WhoId"]),
        (
            "Task",
            {"WhoId": lead["Id"], "WhatId": contact["AccountId"]},
            "FIELD_INTEGRITY_EXCEPTION",
            ["WhatId"],
        ),
        ("Task", {"OwnerId": lead["Id"]}, "FIELD_INTEGRITY_EXCEPTION", ["OwnerId"]),
        ("Task", {"IsClosed": True}, "INVALID_FIELD_FOR_INSERT_UPDATE", ["IsClosed"]),
        ("Task", {"ActivityDate": "05/01/2026"}, "JSON_PARSER_ERROR", None),
        ("Task", {"ReminderDateTime": "tomorrow"}, "JSON_PARSER_ERROR", None),
        ("Task", {"IsReminderSet": "maybe"}, "JSON_PARSER_ERROR", None),
        ("Lead", {"Company": "Acme"}, "REQUIRED_FIELD_MISSING", ["LastName"]),
        (
            "Lead",
            {"LastName": "X", "Company": "Acme", "Email": "not an email"},
            "INVALID_EMAIL_ADDRESS",
            ["Email"],
        ),
        ("User", {"LastName": "X"}, "INVALID_TYPE_FOR_OPERATION", None),
    ]
    for sobject, body, code, fields in cases:
        reply = sf.call("POST", f"sobjects/{sobject}/", json=body)
        assert error(reply) == (400, code), (body, reply.text)
        if fields is not None:
            assert reply.json()[0]["fields"] == fields, body
    assert sf.call("POST", "sobjects/Task/", json={"Id": "x"}).json()[0]["message"] == (
        "The Id field should not be specified in the sobject data."
    )


def test_malformed_json_and_wrong_shapes(sf: Sf) -> None:
    for body in (b"{not json", b"", b"[1, 2]"):
        reply = sf.call("POST", "sobjects/Task/", content=body, headers={"Content-Type": "application/json"})
        assert error(reply) == (400, "JSON_PARSER_ERROR"), body
        assert "Sforce-Limit-Info" in reply.headers


def test_update_rules(sf: Sf, contact: dict[str, Any]) -> None:
    task_id = sf.create("Task", {"Subject": "Follow up", "WhoId": contact["Id"], "TaskSubtype": "Task"})
    task = sf.get(f"sobjects/Task/{task_id}").json()
    assert task["AccountId"] == contact["AccountId"]  # derived from the contact
    assert error(sf.call("PATCH", f"sobjects/Task/{task_id}", json={"TaskSubtype": "Call"})) == (
        400,
        "INVALID_FIELD_FOR_INSERT_UPDATE",
    )
    assert error(sf.call("PATCH", f"sobjects/Task/{task_id}", json={"Status": None})) == (
        400,
        "REQUIRED_FIELD_MISSING",
    )
    assert (
        sf.call(
            "PATCH", f"sobjects/Task/{task_id}", json={"Subject": None, "Description": "é" * 5}
        ).status_code
        == 204
    )
    after = sf.get(f"sobjects/Task/{task_id}").json()
    assert after["Subject"] is None and after["Description"] == "ééééé"


def test_if_unmodified_since_guards_against_lost_updates(sf: Sf) -> None:
    task_id = sf.create("Task", {"Subject": "Guarded"})
    modified = datetime.strptime(
        sf.get(f"sobjects/Task/{task_id}").json()["LastModifiedDate"], "%Y-%m-%dT%H:%M:%S.%f%z"
    )
    stale = format_datetime(modified - timedelta(seconds=5), usegmt=True)
    fresh = format_datetime(modified + timedelta(seconds=5), usegmt=True)
    assert error(
        sf.call(
            "PATCH", f"sobjects/Task/{task_id}", json={"Subject": "x"}, headers={"If-Unmodified-Since": stale}
        )
    ) == (
        412,
        "PRECONDITION_FAILED",
    )
    ok = sf.call(
        "PATCH", f"sobjects/Task/{task_id}", json={"Subject": "y"}, headers={"If-Unmodified-Since": fresh}
    )
    assert ok.status_code == 204


# -- upsert by external id ------------------------------------------------------------------------------------


def test_upsert_creates_then_updates_case_insensitively(sf: Sf, lead: dict[str, Any]) -> None:
    created = sf.call(
        "PATCH",
        "sobjects/Task/sia_activity_id__c/act-100",
        json={"Subject": "Email: hi", "WhoId": lead["Id"]},
    )
    assert created.status_code == 201
    assert created.json()["created"] is True and created.json()["success"] is True
    task_id = created.json()["id"]
    updated = sf.call("PATCH", "sobjects/Task/sia_activity_id__c/ACT-100", json={"Status": "Completed"})
    assert updated.status_code == 200
    assert updated.json() == {"id": task_id, "success": True, "errors": [], "created": False}
    assert sf.get(f"sobjects/Task/{task_id}").json()["sia_activity_id__c"] == "act-100"
    assert sf.get("sobjects/Task/sia_activity_id__c/act-100").json()["Id"] == task_id
    old_api = sf.http.patch(
        "/services/data/v45.0/sobjects/Task/sia_activity_id__c/act-100", json={"Priority": "High"}
    )
    assert old_api.status_code == 204
    assert sf.records("SELECT Id FROM Task WHERE sia_activity_id__c = 'act-100'") == [
        {
            "attributes": {"type": "Task", "url": f"/services/data/{VERSION}/sobjects/Task/{task_id}"},
            "Id": task_id,
        }
    ]


def test_unique_external_id_refuses_duplicates(sf: Sf) -> None:
    sf.create("Task", {"Subject": "a", "sia_activity_id__c": "dup-1"})
    reply = sf.call("POST", "sobjects/Task/", json={"Subject": "b", "sia_activity_id__c": "DUP-1"})
    assert error(reply) == (400, "DUPLICATE_VALUE")


def test_upsert_with_several_matches_answers_300(sf: Sf) -> None:
    first = sf.create("Task", {"Subject": "a", "External_Id__c": "shared"})
    second = sf.create("Task", {"Subject": "b", "External_Id__c": "shared"})
    reply = sf.call("PATCH", "sobjects/Task/External_Id__c/shared", json={"Subject": "c"})
    assert reply.status_code == 300
    assert sorted(reply.json()) == sorted(
        f"/services/data/{VERSION}/sobjects/Task/{i}" for i in (first, second)
    )
    assert sf.get("sobjects/Task/External_Id__c/shared").status_code == 300


def test_upsert_on_a_field_that_is_not_an_external_id(sf: Sf) -> None:
    reply = sf.call("PATCH", "sobjects/Task/Subject/hello", json={"Status": "Completed"})
    assert error(reply) == (404, "NOT_FOUND")
    assert "Subject" in reply.json()[0]["message"]
    assert error(sf.get("sobjects/Task/sia_activity_id__c/never-made")) == (404, "NOT_FOUND")


def test_deleted_record_frees_its_external_id(sf: Sf) -> None:
    first = sf.call("PATCH", "sobjects/Task/sia_activity_id__c/act-recycle", json={"Subject": "x"}).json()[
        "id"
    ]
    assert sf.call("DELETE", "sobjects/Task/sia_activity_id__c/act-recycle").status_code == 204
    again = sf.call("PATCH", "sobjects/Task/sia_activity_id__c/act-recycle", json={"Subject": "y"})
    assert again.status_code == 201 and again.json()["id"] != first


# -- replication ----------------------------------------------------------------------------------------------


def _window(start: datetime, end: datetime) -> str:
    # simple-salesforce's encoding: ISO-8601 with +00:00, percent-encoded
    return f"start={quote(start.isoformat(timespec='seconds'), safe='')}&end={quote(end.isoformat(timespec='seconds'), safe='')}"


def test_updated_and_deleted_report_changes_in_the_window(sandbox: Any, sf: Sf) -> None:
    clock_now = sandbox_now(sf)
    start = clock_now - timedelta(minutes=2)
    kept = sf.create("Task", {"Subject": "kept"})
    dropped = sf.create("Task", {"Subject": "dropped"})
    assert sf.call("DELETE", f"sobjects/Task/{dropped}").status_code == 204
    window = _window(start, clock_now + timedelta(minutes=5))

    updated = sf.get(f"sobjects/Task/updated/?{window}").json()
    assert kept in updated["ids"] and dropped not in updated["ids"]
    assert (
        SF_DATETIME.fullmatch(updated["latestDateCovered"])
        and updated["latestDateCovered"][17:23] == "00.000"
    )

    deleted = sf.get(f"sobjects/Task/deleted/?{window}").json()
    deleted_ids = {d["id"]: d["deletedDate"] for d in deleted["deletedRecords"]}
    assert dropped in deleted_ids and kept not in deleted_ids
    assert SF_DATETIME.fullmatch(deleted_ids[dropped])
    assert deleted["earliestDateAvailable"] < deleted["latestDateCovered"]

    past = _window(start - timedelta(days=1), start - timedelta(hours=23))
    assert sf.get(f"sobjects/Task/updated/?{past}").json()["ids"] == []


@pytest.mark.parametrize(
    ("start_offset", "end_offset", "code"),
    [
        (timedelta(minutes=5), timedelta(0), "INVALID_REPLICATION_DATE"),
        (timedelta(0), timedelta(0), "INVALID_REPLICATION_DATE"),
        (timedelta(days=-31), timedelta(0), "INVALID_REPLICATION_DATE"),
    ],
)
def test_replication_window_is_validated(
    sf: Sf, start_offset: timedelta, end_offset: timedelta, code: str
) -> None:
    now = sandbox_now(sf)
    window = _window(now + start_offset, now + end_offset)
    assert error(sf.get(f"sobjects/Task/updated/?{window}")) == (400, code)
    assert error(sf.get(f"sobjects/Task/deleted/?{window}")) == (400, code)


def test_replication_needs_valid_dates(sf: Sf) -> None:
    assert sf.get("sobjects/Task/updated/", params={"start": "yesterday", "end": "today"}).status_code == 400
    assert sf.get("sobjects/Task/updated/").status_code == 400


def sandbox_now(sf: Sf) -> datetime:
    """The sandbox clock, read from a fresh record's CreatedDate (it starts at NOW and runs)."""
    task_id = sf.create("Task", {"Subject": "clock probe"})
    created = sf.get(f"sobjects/Task/{task_id}").json()["CreatedDate"]
    return datetime.strptime(created, "%Y-%m-%dT%H:%M:%S.%f%z")


@pytest.mark.parametrize(
    ("sobject", "required", "change"),
    [
        ("Account", {"Name": "Crud Account"}, {"Phone": "+1 555 0100", "Industry": "Retail"}),
        (
            "Opportunity",
            {"Name": "Crud Deal", "StageName": "Prospecting", "CloseDate": "2026-06-30"},
            {"StageName": "Qualification", "Amount": 1200.5},
        ),
        (
            "Lead",
            {"LastName": "Crud", "Company": "Crud Co"},
            {"Title": "CTO", "Status": "Working - Contacted"},
        ),
        (
            "Contact",
            {"LastName": "Crud", "FirstName": "Ann"},
            {"Title": "VP Sales", "Email": "ann@crud.example.com"},
        ),
    ],
)
def test_crud_with_description_on_people_accounts_and_opportunities(
    sf: Sf, sobject: str, required: dict[str, Any], change: dict[str, Any]
) -> None:
    described = sf.get(f"sobjects/{sobject}/describe").json()
    field = next(f for f in described["fields"] if f["name"] == "Description")
    assert field["type"] == "textarea" and field["createable"] and field["updateable"]
    record_id = sf.create(sobject, {**required, "Description": "Met at the trade fair.\n会議で会った"})
    assert record_id.startswith(described["keyPrefix"]) and len(record_id) == 18
    created = sf.get(f"sobjects/{sobject}/{record_id}")
    assert created.status_code == 200
    assert created.json()["Description"] == "Met at the trade fair.\n会議で会った"
    assert {k: created.json()[k] for k in required} == required
    patched = sf.call(
        "PATCH", f"sobjects/{sobject}/{record_id}", json={**change, "Description": "Call back."}
    )
    assert patched.status_code == 204 and patched.content == b""
    after = sf.get(
        f"sobjects/{sobject}/{record_id}", params={"fields": ",".join([*change, "Description"])}
    ).json()
    assert {k: after[k] for k in change} == change and after["Description"] == "Call back."
    found = sf.records(f"SELECT Id, Description FROM {sobject} WHERE Id = '{record_id}'")
    assert [(r["Id"], r["Description"]) for r in found] == [(record_id, "Call back.")]
    assert sf.call("DELETE", f"sobjects/{sobject}/{record_id}").status_code == 204
    # In the recycle bin: ENTITY_IS_DELETED; an id that never existed: NOT_FOUND.
    assert error(sf.get(f"sobjects/{sobject}/{record_id}")) == (404, "ENTITY_IS_DELETED")
    assert sf.records(f"SELECT Id FROM {sobject} WHERE Id = '{record_id}'") == []
    never = described["keyPrefix"] + "8Z0000099999"
    assert error(sf.get(f"sobjects/{sobject}/{never}")) == (404, "NOT_FOUND")
    assert error(sf.call("PATCH", f"sobjects/{sobject}/{never}", json={"Description": "x"}))[0] == 404


@pytest.mark.parametrize(
    ("kind", "status", "code"),
    [
        ("608", 503, "SERVER_UNAVAILABLE"),
        ("611", 500, "UNKNOWN_EXCEPTION"),
        ("713", 503, "SERVER_UNAVAILABLE"),
    ],
)
def test_marketo_transient_fault_kinds_answer_in_salesforce_form(
    sandbox: Any, kind: str, status: int, code: str
) -> None:
    httpx.post(f"{sandbox.base_url}/_sandbox/faults", json={"rate": 1.0, "kinds": [kind]}).raise_for_status()
    reply = httpx.get(f"{sandbox.salesforce_url}/services/data/{VERSION}/sobjects/Lead/describe")
    token = httpx.post(
        f"{sandbox.salesforce_url}/services/oauth2/token",
        data={
            "grant_type": "client_credentials",
            "client_id": SALESFORCE_CLIENT_ID,
            "client_secret": SALESFORCE_CLIENT_SECRET,
        },
    )
    httpx.post(f"{sandbox.base_url}/_sandbox/faults", json={"rate": 0.0}).raise_for_status()
    assert error(reply) == (status, code)
    assert token.status_code == 200 and token.json()["access_token"]  # token endpoints never answer these
