"""Marketo lead endpoints over HTTP: get by filter / id / list, describe, sync, delete, and their audit trail."""

from __future__ import annotations

import uuid
from collections import Counter

import pytest

from sia_sandbox.ids import is_valid_id18
from tests.conftest import SANDBOX_NOW, MarketoHttp


def error_code(body: dict) -> str | None:
    return body["errors"][0]["code"] if body.get("success") is False else None


def first_lead_with(marketo: MarketoHttp, field: str) -> dict:
    ids = ",".join(str(1001 + i) for i in range(300))
    result = marketo.get("/rest/v1/leads.json", filterType="id", filterValues=ids, fields=f"id,{field}")[
        "result"
    ]
    return next(r for r in result if r.get(field))


@pytest.mark.parametrize(
    "field", ["email", "sfdcLeadId", "sfdcContactId", "sfdcAccountId", "sfdcLeadOwnerId", "sfdcOpptyId"]
)
def test_every_filter_type_finds_the_lead(marketo: MarketoHttp, field):
    lead = first_lead_with(marketo, field)
    body = marketo.get(
        "/rest/v1/leads.json", filterType=field, filterValues=lead[field], fields=f"id,{field}"
    )
    assert body["success"] is True
    assert lead["id"] in [r["id"] for r in body["result"]]
    assert all(r[field].lower() == lead[field].lower() for r in body["result"])
    if field.startswith("sfdc"):
        assert is_valid_id18(lead[field])


def test_default_fields_absent_values_and_case_insensitive_email(marketo: MarketoHttp):
    body = marketo.get("/rest/v1/leads.json", filterType="id", filterValues="1001,1002,999999")
    assert [r["id"] for r in body["result"]] == [1001, 1002]
    assert set(body["result"][0]) <= {"id", "email", "updatedAt", "createdAt", "firstName", "lastName"}
    assert body["result"][0]["createdAt"].endswith("Z")
    lead = body["result"][0]
    upper = marketo.get("/rest/v1/leads.json", filterType="email", filterValues=lead["email"].upper())
    assert lead["id"] in [r["id"] for r in upper["result"]]
    # null fields are left out; clients read an absent field as null
    sparse = marketo.get(
        "/rest/v1/leads.json", filterType="id", filterValues="1001", fields="id,mobilePhone,company"
    )
    assert "mobilePhone" not in sparse["result"][0]
    none = marketo.get("/rest/v1/leads.json", filterType="email", filterValues="nobody@nowhere.example")
    assert none["result"] == [] and none["success"] is True


def test_filter_errors(marketo: MarketoHttp):
    assert error_code(marketo.get("/rest/v1/leads.json", filterType="firstName", filterValues="x")) == "1011"
    assert error_code(marketo.get("/rest/v1/leads.json", filterType="shoeSize", filterValues="x")) == "1006"
    assert (
        error_code(
            marketo.get("/rest/v1/leads.json", filterType="id", filterValues="1", fields="id,shoeSize")
        )
        == "1006"
    )
    too_many = ",".join(str(i) for i in range(301))
    assert error_code(marketo.get("/rest/v1/leads.json", filterType="id", filterValues=too_many)) == "1003"
    assert error_code(marketo.get("/rest/v1/leads.json", filterType="id")) == "701"
    assert (
        error_code(marketo.get("/rest/v1/leads.json", filterType="id", filterValues="1", batchSize=301))
        == "1003"
    )


def test_more_than_1000_matches_is_1003(sandbox_factory):
    big = sandbox_factory(people=1100)
    mk = MarketoHttp(big)
    body = mk.get("/rest/v1/leads.json", filterType="leadPartitionId", filterValues="1")
    assert error_code(body) == "1003"
    assert body["errors"][0]["message"] == "Too many results match the filter"
    mk.close()


def test_batch_size_and_next_page_token_walk_all_matches(marketo: MarketoHttp):
    owner = first_lead_with(marketo, "sfdcLeadOwnerId")["sfdcLeadOwnerId"]
    everything = marketo.get("/rest/v1/leads.json", filterType="sfdcLeadOwnerId", filterValues=owner)[
        "result"
    ]
    assert len(everything) > 5
    seen: list[int] = []
    token = None
    while True:
        params = {"filterType": "sfdcLeadOwnerId", "filterValues": owner, "batchSize": 4}
        if token:
            params["nextPageToken"] = token
        body = marketo.get("/rest/v1/leads.json", **params)
        seen += [r["id"] for r in body["result"]]
        token = body.get("nextPageToken")
        if not body.get("moreResult"):
            break
    assert seen == [r["id"] for r in everything]


def test_lead_by_id_and_owner_lookup_fields(marketo: MarketoHttp):
    body = marketo.get(
        "/rest/v1/lead/1003.json", fields="id,firstName,sfdcLeadOwnerId,leadOwnerEmailAddress,priority"
    )
    lead = body["result"][0]
    assert lead["id"] == 1003 and lead["sfdcLeadOwnerId"].startswith("005")
    assert lead["leadOwnerEmailAddress"].endswith("@sia-demo.example.com")
    assert 0 <= lead["priority"] <= 3
    assert marketo.get("/rest/v1/lead/999999.json")["result"] == []


def test_describe_and_describe2(marketo: MarketoHttp):
    fields = marketo.get("/rest/v1/leads/describe.json")["result"]
    names = {f["rest"]["name"] for f in fields}
    for name in (
        "email",
        "linkedInProfileUrl",
        "sfdcLeadId",
        "sfdcOpptyId",
        "unsubscribed",
        "leadSource",
        "priority",
    ):
        assert name in names
    email = next(f for f in fields if f["rest"]["name"] == "email")
    assert email["dataType"] == "email" and email["soap"]["name"] == "Email"
    d2 = marketo.get("/rest/v1/leads/describe2.json")["result"][0]
    assert ["sfdcLeadOwnerId"] in d2["searchableFields"]
    assert any(f["name"] == "createdAt" and f["updateable"] is False for f in d2["fields"])


def test_generated_people_look_real(marketo: MarketoHttp):
    ids = ",".join(str(1001 + i) for i in range(300))
    fields = "id,firstName,lastName,email,company,sfdcType,sfdcLeadOwnerId,externalSalesPersonId,unsubscribed,emailInvalid,createdAt"
    people = marketo.get("/rest/v1/leads.json", filterType="id", filterValues=ids, fields=fields)["result"]
    assert len(people) == 300
    text = " ".join(f"{p.get('lastName')}{p.get('firstName')} {p.get('company')}" for p in people)
    assert any("\u4e00" <= ch <= "\u9fff" for ch in text)  # Chinese (and kanji)
    assert any("\u30a0" <= ch <= "\u30ff" for ch in text)  # Japanese katakana (company names)
    owned = sum(1 for p in people if p.get("sfdcLeadOwnerId") or p.get("externalSalesPersonId"))
    assert 0.75 < owned / 300 < 0.95
    types = Counter(p.get("sfdcType") for p in people)
    assert types["Lead"] > 50 and types["Contact"] > 50
    assert any(p.get("unsubscribed") for p in people) and any(p.get("emailInvalid") for p in people)
    assert len({p["email"] for p in people}) < 300  # some duplicates by email
    assert any(p.get("firstName") == "[bold red]x[/]" for p in people)
    assert any("\x1b[2J" in (p.get("lastName") or "") for p in people)
    assert max(len(p.get("company") or "") for p in people) >= 200
    assert min(p["createdAt"] for p in people) < f"{SANDBOX_NOW.year - 2}"


def test_sync_create_update_and_skips(marketo: MarketoHttp):
    email = f"new.{uuid.uuid4().hex[:8]}@example.com"
    created = marketo.post("/rest/v1/leads.json", {"action": "createOnly", "lookupField": "email",
                                                   "input": [{"email": email, "firstName": "新", "lastName": "テスト"}]})  # fmt: skip
    lead_id = created["result"][0]["id"]
    assert created["result"][0]["status"] == "created"
    again = marketo.post("/rest/v1/leads.json", {"action": "createOnly", "input": [{"email": email}]})
    assert again["result"][0]["status"] == "skipped"
    assert again["result"][0]["reasons"][0]["code"] == "1005"
    missing = marketo.post(
        "/rest/v1/leads.json", {"action": "updateOnly", "input": [{"email": "ghost@nowhere.example"}]}
    )
    assert missing["result"][0]["reasons"][0]["code"] == "1004"
    body = marketo.post("/rest/v1/leads.json", {"input": [
        {"email": email, "title": "CTO", "unsubscribed": True},
        {"email": email, "shoeSize": 44},
        {"email": email, "leadScore": "lots"},
    ]})  # fmt: skip
    statuses = [(r["status"], (r.get("reasons") or [{}])[0].get("code")) for r in body["result"]]
    assert statuses == [("updated", None), ("skipped", "1006"), ("skipped", "1001")]
    lead = marketo.get(f"/rest/v1/lead/{lead_id}.json", fields="id,title,unsubscribed,firstName")["result"][0]
    assert lead == {"id": lead_id, "title": "CTO", "unsubscribed": True, "firstName": "新"}
    with_id = marketo.post("/rest/v1/leads.json", {"action": "updateOnly", "lookupField": "id",
                                                   "input": [{"id": lead_id, "title": "CEO"}]})  # fmt: skip
    assert with_id["result"][0] == {"id": lead_id, "status": "updated"}
    assert (
        error_code(marketo.post("/rest/v1/leads.json", {"lookupField": "id", "input": [{"id": lead_id}]}))
        == "1003"
    )
    assert error_code(marketo.post("/rest/v1/leads.json", {"input": [{"email": "x@y.z"}] * 301})) == "1003"


def test_duplicate_email_lookup_is_1007(marketo: MarketoHttp):
    ids = ",".join(str(1001 + i) for i in range(300))
    people = marketo.get("/rest/v1/leads.json", filterType="id", filterValues=ids, fields="id,email")[
        "result"
    ]
    counts = Counter(p["email"].lower() for p in people)
    duplicate = next(e for e, n in counts.items() if n > 1)
    body = marketo.post(
        "/rest/v1/leads.json", {"action": "updateOnly", "input": [{"email": duplicate, "city": "Osaka"}]}
    )
    assert body["result"][0]["reasons"][0]["code"] == "1007"


def test_a_lead_changed_through_the_api_appears_in_leadchanges(marketo: MarketoHttp):
    lead_id = 1010
    since = marketo.get("/rest/v1/activities/pagingtoken.json", sinceDatetime=SANDBOX_NOW.isoformat())[
        "nextPageToken"
    ]
    before = marketo.get(f"/rest/v1/lead/{lead_id}.json", fields="unsubscribed,sfdcLeadOwnerId")["result"][0]
    owners = marketo.get("/rest/v1/leads.json", filterType="id", filterValues="1001,1002,1003,1004,1005",
                         fields="sfdcLeadOwnerId")["result"]  # fmt: skip
    new_owner = next(
        o["sfdcLeadOwnerId"]
        for o in owners
        if o.get("sfdcLeadOwnerId") not in (None, before.get("sfdcLeadOwnerId"))
    )
    unsubscribed = not before.get("unsubscribed", False)
    marketo.post("/rest/v1/leads.json", {"action": "updateOnly", "lookupField": "id",
                                         "input": [{"id": lead_id, "unsubscribed": unsubscribed, "sfdcLeadOwnerId": new_owner}]})  # fmt: skip
    changes = []
    token = since
    for _ in range(20):
        body = marketo.get("/rest/v1/activities/leadchanges.json", nextPageToken=token,
                           fields="unsubscribed,sfdcLeadOwnerId,email")  # fmt: skip
        changes += body.get("result", [])
        token = body["nextPageToken"]
        if not body["moreResult"]:
            break
    mine = [c for c in changes if c["leadId"] == lead_id and c["activityTypeId"] == 13]
    names = {f["name"] for c in mine for f in c["fields"]}
    assert names == {"unsubscribed", "sfdcLeadOwnerId"}
    unsub = next(f for c in mine for f in c["fields"] if f["name"] == "unsubscribed")
    assert unsub["newValue"] == str(unsubscribed).lower()
    owner = next(f for c in mine for f in c["fields"] if f["name"] == "sfdcLeadOwnerId")
    assert owner["newValue"] == new_owner
    assert {a["name"] for a in mine[0]["attributes"]} >= {"Reason", "Source"}
    # the incremental pattern: fetch the changed people by id
    current = marketo.get(
        "/rest/v1/leads.json", filterType="id", filterValues=str(lead_id), fields="id,unsubscribed"
    )
    assert current["result"][0]["unsubscribed"] is unsubscribed


def test_delete_leads_and_deletedleads(marketo: MarketoHttp):
    email = f"gone.{uuid.uuid4().hex[:8]}@example.com"
    lead_id = marketo.post("/rest/v1/leads.json", {"input": [{"email": email, "lastName": "Gone"}]})[
        "result"
    ][0]["id"]
    since = marketo.get("/rest/v1/activities/pagingtoken.json", sinceDatetime=SANDBOX_NOW.isoformat())[
        "nextPageToken"
    ]
    body = marketo.post("/rest/v1/leads/delete.json", {"input": [{"id": lead_id}, {"id": 99999999}]})
    assert [r["status"] for r in body["result"]] == ["deleted", "skipped"]
    assert body["result"][1]["reasons"][0]["code"] == "1004"
    assert marketo.get(f"/rest/v1/lead/{lead_id}.json")["result"] == []
    deleted = []
    token = since
    for _ in range(20):
        page = marketo.get("/rest/v1/activities/deletedleads.json", nextPageToken=token)
        deleted += page.get("result", [])
        token = page["nextPageToken"]
        if not page["moreResult"]:
            break
    record = next(d for d in deleted if d["leadId"] == lead_id)
    assert record["activityTypeId"] == 37 and record["primaryAttributeValue"] == "Gone"


def test_static_lists(marketo: MarketoHttp):
    lists = marketo.get("/rest/v1/lists.json")["result"]
    assert len(lists) >= 2
    list_id = lists[0]["id"]
    page = marketo.get(f"/rest/v1/lists/{list_id}/leads.json", batchSize=5, fields="id,email")
    assert len(page["result"]) == 5 and page["moreResult"] is True
    nxt = marketo.get(
        f"/rest/v1/lists/{list_id}/leads.json", batchSize=5, nextPageToken=page["nextPageToken"]
    )
    assert nxt["result"][0]["id"] > page["result"][-1]["id"]
    member = page["result"][0]["id"]
    check = marketo.get(f"/rest/v1/lists/{list_id}/leads/ismember.json", id=f"{member},99999999")
    assert [r["status"] for r in check["result"]] == ["memberof", "skipped"]
    assert error_code(marketo.get("/rest/v1/lists/424242/leads.json")) == "1013"
    hot = next(x for x in lists if x["name"] == "Hot Prospects")
    members = marketo.get(f"/rest/v1/lists/{hot['id']}/leads.json")["result"]
    assert 1003 in [m["id"] for m in members]


def test_method_get_tunnels_the_way_real_clients_send_them(marketo: MarketoHttp):
    # _method=GET inside the form body (what marketorestpython sends for long filters)
    ids = ",".join(str(1001 + i) for i in range(250))
    form = marketo.client.post("/rest/v1/leads.json", data={"_method": "GET", "filterType": "id", "filterValues": ids,
                                                            "fields": ["id", "email"]}, headers=marketo.headers)  # fmt: skip
    assert len(form.json()["result"]) == 250
    # _method=GET in the query with a JSON body: ismember reads the ids from "input"
    member = marketo.client.post("/rest/v1/lists/1002/leads/ismember.json", params={"_method": "GET"},
                                 json={"input": [{"id": 1003}, {"id": 1001}]}, headers=marketo.headers)  # fmt: skip
    assert [r["status"] for r in member.json()["result"]] == ["memberof", "notmemberof"]


def test_delete_with_the_http_delete_verb(marketo: MarketoHttp):
    email = f"verb.{uuid.uuid4().hex[:8]}@example.com"
    lead_id = marketo.post("/rest/v1/leads.json", {"input": [{"email": email}]})["result"][0]["id"]
    reply = marketo.client.request(
        "DELETE", "/rest/v1/leads.json", json={"input": [{"id": lead_id}]}, headers=marketo.headers
    )
    assert reply.json()["result"] == [{"id": lead_id, "status": "deleted"}]
