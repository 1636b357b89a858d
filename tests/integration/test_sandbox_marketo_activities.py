"""Marketo activity endpoints over HTTP: types, paging tokens, paging through the instance, custom activity types and
records. (The cost model, tokens across restarts, the clock and activities on demand: test_sandbox_activity_stream.py.)"""

from __future__ import annotations

import uuid
from datetime import timedelta

import httpx

from tests.conftest import SANDBOX_NOW, MarketoHttp

BEHAVIOUR = "1,2,3,6,7,8,10,11,39,46"


def error_code(body: dict) -> str | None:
    return body["errors"][0]["code"] if body.get("success") is False else None


def walk(
    marketo: MarketoHttp, path: str, token: str, limit: int = 5000, **params
) -> tuple[list[dict], list[dict]]:
    """Every record from ``token`` to the present, plus the raw pages."""
    records, pages = [], []
    for _ in range(limit):
        body = marketo.get(path, nextPageToken=token, **params)
        assert body["success"] is True, body
        assert "nextPageToken" in body
        pages.append(body)
        records += body.get("result", [])
        token = body["nextPageToken"]
        if not body["moreResult"]:
            return records, pages
    raise AssertionError("paging never reached the present")


def since(marketo: MarketoHttp, days: float) -> str:
    start = SANDBOX_NOW - timedelta(days=days)
    return marketo.get(
        "/rest/v1/activities/pagingtoken.json", sinceDatetime=start.strftime("%Y-%m-%dT%H:%M:%S+00:00")
    )["nextPageToken"]


def test_types_include_the_standard_and_sales_types(marketo: MarketoHttp):
    types = {t["id"]: t for t in marketo.get("/rest/v1/activities/types.json")["result"]}
    for type_id in (1, 2, 3, 6, 7, 8, 9, 10, 11, 12, 13, 27, 37, 39, 40, 41, 45, 46, 48):
        assert type_id in types
    assert types[6]["primaryAttribute"] == {"name": "Mailing ID", "dataType": "integer"}
    assert {"name": "Webpage URL", "dataType": "string"} in types[1]["attributes"]
    assert types[46]["name"] == "Interesting Moment"


def test_paging_token_encodes_the_date(marketo: MarketoHttp):
    body = marketo.get("/rest/v1/activities/pagingtoken.json", sinceDatetime="2008-11-06T00:00:00Z")
    assert body == {
        "requestId": body["requestId"],
        "success": True,
        "nextPageToken": "GIYDAOBNGEYS2MBWKQYDAORQGA5DAMBOGAYDAKZQGAYDALBQ",
    }
    assert (
        error_code(marketo.get("/rest/v1/activities/pagingtoken.json", sinceDatetime="yesterday")) == "1001"
    )
    assert error_code(marketo.get("/rest/v1/activities/pagingtoken.json")) == "701"


def test_parameter_limits(marketo: MarketoHttp):
    token = since(marketo, 1)
    assert error_code(marketo.get("/rest/v1/activities.json", nextPageToken=token)) == "701"
    eleven = ",".join(str(i) for i in (1, 2, 3, 6, 7, 8, 9, 10, 11, 12, 13))
    assert (
        error_code(marketo.get("/rest/v1/activities.json", nextPageToken=token, activityTypeIds=eleven))
        == "1003"
    )
    leads = ",".join(str(1001 + i) for i in range(31))
    assert (
        error_code(
            marketo.get("/rest/v1/activities.json", nextPageToken=token, activityTypeIds="1", leadIds=leads)
        )
        == "1003"
    )
    assert (
        error_code(
            marketo.get("/rest/v1/activities.json", nextPageToken=token, activityTypeIds="1", batchSize=301)
        )
        == "1003"
    )
    assert (
        error_code(marketo.get("/rest/v1/activities.json", nextPageToken="garbage!", activityTypeIds="1"))
        == "1003"
    )
    assert error_code(marketo.get("/rest/v1/activities/leadchanges.json", nextPageToken=token)) == "701"
    assert (
        error_code(
            marketo.get("/rest/v1/activities/leadchanges.json", nextPageToken=token, fields="shoeSize")
        )
        == "1006"
    )


def test_a_hot_person_has_300_plus_activities_in_90_days_each_exactly_once_in_time_order(
    sandbox, marketo: MarketoHttp
):
    hot = httpx.get(sandbox.base_url + "/_sandbox/people/hot").json()
    assert len(hot) >= 3 and all(h["activities_90d"] >= 300 for h in hot)
    lead_id = hot[0]["id"]
    types = "1,2,3,6,7,10,11,39,40,46"
    records, pages = walk(marketo, "/rest/v1/activities.json", since(marketo, 90), activityTypeIds=types,
                          leadIds=str(lead_id), batchSize=5)  # fmt: skip
    assert len(records) >= 300
    guids = [r["marketoGUID"] for r in records]
    assert len(guids) == len(set(guids))
    keys = [(r["activityDate"], r["id"]) for r in records]
    assert keys == sorted(keys)
    assert all(r["leadId"] == lead_id for r in records)
    assert all(len(p.get("result", [])) <= 5 for p in pages)
    # batchSize cuts a page that walked past more matches; the next page resumes right after the last one returned
    assert any(len(p.get("result", [])) == 5 and p["moreResult"] for p in pages)
    # a second walk with another page size returns the very same activities
    again, _ = walk(marketo, "/rest/v1/activities.json", since(marketo, 90), activityTypeIds=types,
                    leadIds=str(lead_id), batchSize=300)  # fmt: skip
    assert [r["marketoGUID"] for r in again] == guids
    kinds = {r["activityTypeId"] for r in records}
    assert {1, 6, 7, 10, 46} <= kinds
    moment = next(r for r in records if r["activityTypeId"] == 46)
    assert moment["primaryAttributeValue"] and {a["name"] for a in moment["attributes"]} >= {"Type", "Source"}


def test_whole_instance_paging_returns_every_activity_once_with_empty_pages(marketo: MarketoHttp):
    records, _ = walk(marketo, "/rest/v1/activities.json", since(marketo, 30), activityTypeIds=BEHAVIOUR)
    ids = [r["marketoGUID"] for r in records]
    assert len(ids) > 300 and len(ids) == len(set(ids))
    keys = [(r["activityDate"], r["id"]) for r in records]
    assert keys == sorted(keys)
    # per-person walks of a few people agree with the whole-instance walk
    people = sorted({r["leadId"] for r in records})[:5]
    per_person, _ = walk(marketo, "/rest/v1/activities.json", since(marketo, 30), activityTypeIds=BEHAVIOUR,
                         leadIds=",".join(map(str, people)))  # fmt: skip
    assert sorted(r["marketoGUID"] for r in per_person) == sorted(
        r["marketoGUID"] for r in records if r["leadId"] in people
    )
    # a quiet person: slices of the instance with nothing of theirs still answer moreResult true with a token,
    # without "result"
    _, quiet_pages = walk(
        marketo, "/rest/v1/activities.json", since(marketo, 60), activityTypeIds="48", leadIds="1001"
    )
    empty = [p for p in quiet_pages if p["moreResult"] and not p.get("result")]
    assert empty and all("result" not in p for p in empty)
    assert quiet_pages[-1]["moreResult"] is False


def test_activity_records_have_the_real_shape(marketo: MarketoHttp):
    records, _ = walk(
        marketo, "/rest/v1/activities.json", since(marketo, 14), activityTypeIds="1,6,39", leadIds="1003"
    )
    visit = next(r for r in records if r["activityTypeId"] == 1)
    assert set(visit) >= {
        "id",
        "marketoGUID",
        "leadId",
        "activityDate",
        "activityTypeId",
        "primaryAttributeValue",
        "attributes",
    }
    assert visit["activityDate"].endswith("Z")
    assert all(a["value"] not in (None, "") for a in visit["attributes"])  # empty attributes are omitted
    send = next(r for r in records if r["activityTypeId"] == 6)
    assert isinstance(send["primaryAttributeValueId"], int) and "." in send["primaryAttributeValue"]
    sales = next(r for r in records if r["activityTypeId"] == 39)
    sent_by = next(a["value"] for a in sales["attributes"] if a["name"] == "Sent By")
    assert sent_by.endswith("@sia-demo.example.com")


def test_seeded_new_lead_and_change_records_in_leadchanges(marketo: MarketoHttp):
    records, _ = walk(
        marketo, "/rest/v1/activities/leadchanges.json", since(marketo, 40), fields="title,email"
    )
    assert {r["activityTypeId"] for r in records} <= {12, 13}
    changes = [r for r in records if r["activityTypeId"] == 13]
    assert changes and all(r["fields"] and r["fields"][0]["name"] in ("title", "email") for r in changes)
    assert len({r["marketoGUID"] for r in records}) == len(records)


def test_custom_activity_type_lifecycle_and_records(sandbox_factory):
    sb = sandbox_factory()
    mk = MarketoHttp(sb)
    base = "/rest/v1/activities/external"
    definition = {
        "apiName": "siaLoggedCall", "name": "Logged Call", "triggerName": "Logs Call", "filterName": "Logged Call",
        "description": "A call logged by a seller", "primaryAttribute": {"apiName": "subject", "name": "Subject", "dataType": "string"},
    }  # fmt: skip
    created = mk.post(f"{base}/type.json", definition)["result"][0]
    assert created["status"] == "draft" and created["id"] >= 100001
    assert error_code(mk.post(f"{base}/type.json", definition)) == "1036"
    attrs = {"attributes": [{"apiName": "durationSeconds", "name": "Duration", "dataType": "integer"},
                            {"apiName": "notes", "name": "Notes", "dataType": "text"}]}  # fmt: skip
    assert (
        len(mk.post(f"{base}/type/siaLoggedCall/attributes/create.json", attrs)["result"][0]["attributes"])
        == 2
    )
    type_id = created["id"]
    record = {"leadId": 1003, "activityDate": "2026-03-02T08:30:00+09:00", "activityTypeId": type_id,
              "primaryAttributeValue": "Intro call", "attributes": [{"apiName": "durationSeconds", "value": 300},
                                                                      {"name": "Notes", "value": "会議の予約 ✓"}]}  # fmt: skip
    # not approved yet: nothing can be written
    draft_only = mk.post(f"{base}.json", {"input": [record]})["result"][0]
    assert draft_only["status"] == "skipped"
    approved = mk.post(f"{base}/type/siaLoggedCall/approve.json")["result"][0]
    assert approved["status"] == "approved"
    assert type_id in [t["id"] for t in mk.get("/rest/v1/activities/types.json")["result"]]
    assert (
        mk.get(f"{base}/type/siaLoggedCall/describe.json")["result"][0]["primaryAttribute"]["apiName"]
        == "subject"
    )
    big = {**record, "attributes": [{"apiName": "notes", "value": "x" * 70_000}]}
    body = mk.post(f"{base}.json", {"input": [record, {**record, "leadId": 99999999}, big,
                                              {**record, "attributes": [{"apiName": "mood", "value": 1}]}]})  # fmt: skip
    results = body["result"]
    assert results[0]["status"] == "added" and results[0]["marketoGUID"] == str(results[0]["id"])
    assert [r["status"] for r in results[1:]] == ["skipped"] * 3
    assert [r["errors"][0]["code"] for r in results[1:]] == ["1004", "1049", "1006"]
    assert error_code(mk.post(f"{base}.json", {"input": [record] * 301})) == "1003"
    # written activities come back through activities.json with their type id
    token = mk.get("/rest/v1/activities/pagingtoken.json", sinceDatetime="2026-03-01T00:00:00Z")[
        "nextPageToken"
    ]
    back, _ = walk(mk, "/rest/v1/activities.json", token, activityTypeIds=str(type_id), leadIds="1003")
    assert len(back) == 1
    assert (
        back[0]["primaryAttributeValue"] == "Intro call" and back[0]["activityDate"] == "2026-03-01T23:30:00Z"
    )
    assert {"name": "Notes", "value": "会議の予約 ✓", "apiName": "notes"} in back[0]["attributes"]
    # limits: 20 attributes per type, 10 types
    many = {"attributes": [{"apiName": f"a{i}", "name": f"A{i}"} for i in range(19)]}
    assert error_code(mk.post(f"{base}/type/siaLoggedCall/attributes/create.json", many)) == "1028"
    for i in range(9):
        mk.post(f"{base}/type.json", {**definition, "apiName": f"extra{i}", "name": f"Extra {i}"})
    assert error_code(mk.post(f"{base}/type.json", {**definition, "apiName": "oneTooMany"})) == "1027"
    assert len(mk.get(f"{base}/types.json")["result"]) == 10
    mk.close()


def test_custom_activity_unknown_lead_is_skipped_not_failed(marketo: MarketoHttp):
    api_name = "t" + uuid.uuid4().hex[:10]
    body = marketo.post("/rest/v1/activities/external/type.json", {
        "apiName": api_name, "name": f"Test {api_name}", "triggerName": "Does test", "filterName": "Did test",
        "primaryAttribute": {"apiName": "what", "name": "What"},
    })  # fmt: skip
    if error_code(body) == "1027":  # the shared sandbox is full of types from other tests
        return
    type_id = body["result"][0]["id"]
    marketo.post(f"/rest/v1/activities/external/type/{api_name}/approve.json")
    result = marketo.post("/rest/v1/activities/external.json", {"input": [
        {"leadId": 424242424, "activityDate": "2026-03-02T09:00:00Z", "activityTypeId": type_id, "primaryAttributeValue": "x"}
    ]})  # fmt: skip
    assert result["success"] is True
    assert result["result"][0] == {
        "status": "skipped",
        "errors": [{"code": "1004", "message": "Lead not found"}],
    }


def test_list_scoped_activities_cover_only_members_exactly_once(marketo: MarketoHttp):
    members = {m["id"] for m in marketo.get("/rest/v1/lists/1001/leads.json")["result"]}
    records, _ = walk(
        marketo, "/rest/v1/activities.json", since(marketo, 20), activityTypeIds=BEHAVIOUR, listId=1001
    )
    assert records and {r["leadId"] for r in records} <= members
    assert len({r["marketoGUID"] for r in records}) == len(records)
    assert (
        error_code(
            marketo.get(
                "/rest/v1/activities.json", nextPageToken=since(marketo, 1), activityTypeIds="1", listId=4242
            )
        )
        == "1013"
    )


ALL_GRID_EMAIL_WEB = "1,2,3,6,7,8,9,10,11,27"
SALES = "39,40,41,45,46,48,155"


def test_every_person_has_activity_in_each_month_of_the_last_90_days(marketo: MarketoHttp):
    """However disengaged (or unsubscribed, or with a bouncing address), everyone has a 90-day history."""
    ids = list(range(1001, 1301))
    created = {}
    for i in range(0, len(ids), 300):
        body = marketo.get("/rest/v1/leads.json", filterType="id", filterValues=",".join(map(str, ids[i : i + 300])),
                           fields="id,createdAt")  # fmt: skip
        created.update({r["id"]: r["createdAt"] for r in body["result"]})
    start = SANDBOX_NOW - timedelta(days=90)
    old_enough = [i for i in ids if i in created and created[i] < start.strftime("%Y-%m-%dT%H:%M:%SZ")]
    assert len(old_enough) > 200
    months: dict[int, set[int]] = {i: set() for i in old_enough}
    # A read without leadIds costs what a filtered one does (each call walks 300 of the instance's activities) and
    # returns everyone's: one whole-instance read per type chunk covers all 300 people.
    for types in (ALL_GRID_EMAIL_WEB, SALES):
        records, _ = walk(marketo, "/rest/v1/activities.json", since(marketo, 90), activityTypeIds=types)
        for r in records:
            if r["leadId"] in months:
                day = (SANDBOX_NOW - _parse(r["activityDate"])).days
                months[r["leadId"]].add(min(2, max(0, day) // 30))
    without = {i: sorted(m) for i, m in months.items() if m != {0, 1, 2}}
    assert not without, f"people missing activity in some month (0 = latest): {without}"


def test_sellers_calls_are_native_received_sales_call_activities(marketo: MarketoHttp):
    types = {t["name"]: t for t in marketo.get("/rest/v1/activities/types.json")["result"]}
    call_type = types["Received Sales Call"]
    assert call_type["primaryAttribute"]["name"] == "Sales Call Subject"
    records, _ = walk(
        marketo, "/rest/v1/activities.json", since(marketo, 30), activityTypeIds=str(call_type["id"])
    )
    assert records, "no calls logged across the instance in 30 days"
    attributes = {a["name"]: a["value"] for a in records[0]["attributes"]}
    assert {"Sales Call Made By", "Sales Call Status", "Sales Call Duration"} <= set(attributes)
    assert "@" in attributes["Sales Call Made By"]


def test_nurture_touches_agree_between_whole_instance_and_per_person_scans(marketo: MarketoHttp):
    records, _ = walk(marketo, "/rest/v1/activities.json", since(marketo, 15), activityTypeIds="6,7,8,27")
    people = sorted({r["leadId"] for r in records})
    assert len(people) > 250  # a 14-day cycle reaches nearly everyone in 15 days
    sample = people[::10][:30]
    per_person, _ = walk(marketo, "/rest/v1/activities.json", since(marketo, 15), activityTypeIds="6,7,8,27",
                         leadIds=",".join(map(str, sample)))  # fmt: skip
    assert sorted(r["marketoGUID"] for r in per_person) == sorted(
        r["marketoGUID"] for r in records if r["leadId"] in sample
    )


def _parse(text: str):
    from datetime import datetime

    return datetime.strptime(text, "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=SANDBOX_NOW.tzinfo)
