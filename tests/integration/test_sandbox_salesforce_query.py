"""The sandbox's Salesforce query and batch APIs over HTTP: SOQL, ``nextRecordsUrl`` paging, sObject Collections
and Composite, with Salesforce's per-record results and all-or-none rollbacks."""

from __future__ import annotations

import re
import uuid
from collections.abc import Iterator
from typing import Any

import pytest

from tests.integration.test_sandbox_salesforce import VERSION, Sf, error, usage


@pytest.fixture
def sf(sandbox: Any) -> Iterator[Sf]:
    client = Sf(sandbox.salesforce_url)
    yield client
    client.close()


@pytest.fixture
def marked_tasks(sf: Sf) -> tuple[str, list[str]]:
    """450 new Tasks sharing a unique Subject (more than two pages at the smallest batch size)."""
    marker = f"paging {uuid.uuid4().hex[:8]}"
    ids: list[str] = []
    for start in range(0, 450, 200):
        records = [
            {"attributes": {"type": "Task"}, "Subject": marker, "CallDurationInSeconds": n}
            for n in range(start, min(450, start + 200))
        ]
        results = sf.call("POST", "composite/sobjects", json={"records": records}).json()
        assert all(r["success"] for r in results)
        ids += [r["id"] for r in results]
    return marker, ids


@pytest.fixture
def contact(sf: Sf) -> dict[str, Any]:
    return sf.one("SELECT Id, Email, AccountId FROM Contact WHERE Email != null ORDER BY Id LIMIT 1")


def q(sf: Sf, soql: str, *, endpoint: str = "query", batch: int | None = None) -> Any:
    headers = {"Sforce-Query-Options": f"batchSize={batch}"} if batch else {}
    return sf.get(endpoint, params={"q": soql}, headers=headers)


# -- SOQL over HTTP -------------------------------------------------------------------------------------------


def test_query_returns_records_with_attributes_and_relationships(sf: Sf) -> None:
    body = q(
        sf, "SELECT Id, Subject, Who.Type, Who.Name, Owner.Email FROM Task WHERE WhoId != null LIMIT 2"
    ).json()
    assert body["totalSize"] == 2 and body["done"] is True and "nextRecordsUrl" not in body
    record = body["records"][0]
    assert record["attributes"]["type"] == "Task"
    assert record["attributes"]["url"] == f"/services/data/{VERSION}/sobjects/Task/{record['Id']}"
    assert list(record) == ["attributes", "Id", "Subject", "Who", "Owner"]
    assert record["Who"]["Type"] in ("Lead", "Contact") and record["Who"]["Name"]
    assert record["Who"]["attributes"]["type"] == "Name"
    assert record["Owner"]["attributes"]["type"] == "User" and record["Owner"]["Email"].endswith(
        ".example.com"
    )


def test_count_query(sf: Sf) -> None:
    total = q(sf, "SELECT COUNT() FROM Lead").json()
    assert total["records"] == [] and total["done"] is True
    converted = q(sf, "SELECT COUNT() FROM Lead WHERE IsConverted = true").json()["totalSize"]
    open_leads = q(sf, "SELECT COUNT() FROM Lead WHERE IsConverted = false").json()["totalSize"]
    assert total["totalSize"] == converted + open_leads > 0


@pytest.mark.parametrize(
    ("soql", "code"),
    [
        ("SELECT Id FROM Task WHERE", "MALFORMED_QUERY"),
        ("SELECT Id FROM Task WHERE Subject = 'a' AND Status = 'b' OR Priority = 'c'", "MALFORMED_QUERY"),
        ("SELECT Id Subject FROM Task", "MALFORMED_QUERY"),
        ("SELECT Nope__c FROM Task", "INVALID_FIELD"),
        ("SELECT Id FROM Task WHERE SystemModstamp > 2026-01-01", "INVALID_FIELD"),
        ("SELECT Id FROM Nope", "INVALID_TYPE"),
        ("SELECT Id FROM Task WHERE WhoId = 'xyz'", "INVALID_QUERY_FILTER_OPERATOR"),
    ],
)
def test_bad_soql_is_refused_with_salesforce_codes(sf: Sf, soql: str, code: str) -> None:
    reply = q(sf, soql)
    assert error(reply) == (400, code)
    assert "ERROR at Row:1:Column:" in reply.json()[0]["message"]
    assert set(reply.json()[0]) == {"message", "errorCode"}


def test_missing_query_string(sf: Sf) -> None:
    assert error(sf.get("query/")) == (400, "MALFORMED_QUERY")


def test_ids_compare_in_15_and_18_char_forms_and_emails_case_insensitively(
    sf: Sf, contact: dict[str, Any]
) -> None:
    full = contact["Id"]
    for form in (full, full[:15], full.lower()):
        rows = sf.records(f"SELECT Id FROM Contact WHERE Id = '{form}'")
        assert [r["Id"] for r in rows] == [full], form
    rows = sf.records(f"SELECT Id FROM Contact WHERE Email = '{contact['Email'].upper()}'")
    assert full in [r["Id"] for r in rows]
    no_email = q(sf, "SELECT COUNT() FROM Contact WHERE Email = null").json()["totalSize"]
    assert q(sf, "SELECT COUNT() FROM Contact WHERE Email = ''").json()["totalSize"] == no_email
    assert [
        r["Id"] for r in sf.records(f"SELECT Id FROM Contact WHERE Id IN ('{full[:15]}', '001000000000000')")
    ] == [full]


def test_watermark_queries_accept_every_datetime_form(sf: Sf) -> None:
    created = sf.create("Task", {"Subject": "watermark probe"})
    stamp = sf.get(f"sobjects/Task/{created}").json()["SystemModstamp"]  # e.g. 2026-03-18T09:00:03.123+0000
    before = stamp[:19] + "Z"
    results = []
    for literal in (before, stamp, stamp.replace("+0000", "+00:00"), before.replace("Z", ".000Z")):
        rows = sf.records(
            f"SELECT Id, SystemModstamp FROM Task WHERE SystemModstamp >= {literal} ORDER BY SystemModstamp, Id"
        )
        results.append(created in [r["Id"] for r in rows])
    assert results == [True, True, True, True]
    later = sf.records(f"SELECT Id FROM Task WHERE SystemModstamp > {stamp}")
    assert created not in [r["Id"] for r in later]


def test_order_by_limit_offset(sf: Sf) -> None:
    ordered = sf.records("SELECT Id, Email FROM Contact WHERE Email != null ORDER BY Email DESC, Id")
    emails = [r["Email"].casefold() for r in ordered]
    assert emails == sorted(emails, reverse=True)
    window = sf.records(
        "SELECT Id, Email FROM Contact WHERE Email != null ORDER BY Email DESC, Id LIMIT 5 OFFSET 3"
    )
    assert [r["Id"] for r in window] == [r["Id"] for r in ordered[3:8]]


# -- paging ---------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("endpoint", ["query", "queryAll"])
def test_paging_with_next_records_url_returns_every_row_exactly_once(
    sf: Sf, marked_tasks: tuple[str, list[str]], endpoint: str
) -> None:
    marker, created = marked_tasks
    soql = f"SELECT Id, CallDurationInSeconds FROM Task WHERE Subject = '{marker}' ORDER BY CallDurationInSeconds"
    body = q(sf, soql, endpoint=endpoint, batch=200).json()
    assert body["totalSize"] == 450 and body["done"] is False and len(body["records"]) == 200
    assert re.fullmatch(rf"/services/data/{VERSION}/{endpoint}/01g\w{{15}}-200", body["nextRecordsUrl"])
    seen = [r["Id"] for r in body["records"]]
    pages = 1
    while not body["done"]:
        page = sf.http.get(body["nextRecordsUrl"])
        assert page.status_code == 200 and "Sforce-Limit-Info" in page.headers
        body = page.json()
        assert body["totalSize"] == 450
        seen += [r["Id"] for r in body["records"]]
        pages += 1
    assert pages == 3 and "nextRecordsUrl" not in body
    assert seen == created  # every row once, in ORDER BY order


def test_a_page_can_be_fetched_again_and_bad_locators_fail(
    sf: Sf, marked_tasks: tuple[str, list[str]]
) -> None:
    body = q(sf, f"SELECT Id FROM Task WHERE Subject = '{marked_tasks[0]}'", batch=200).json()
    again_a = sf.http.get(body["nextRecordsUrl"]).json()["records"]
    again_b = sf.http.get(body["nextRecordsUrl"]).json()["records"]
    assert again_a == again_b and len(again_a) == 200
    assert error(sf.get("query/01gXXXXXXXXXXXXXXX-200")) == (400, "INVALID_QUERY_LOCATOR")
    assert error(
        sf.get(body["nextRecordsUrl"].rsplit("/", 1)[1].replace("-200", "-9999").join(["query/", ""]))
    ) == (
        400,
        "INVALID_QUERY_LOCATOR",
    )


def test_batch_size_is_clamped_to_200_and_defaults_to_2000(
    sf: Sf, marked_tasks: tuple[str, list[str]]
) -> None:
    soql = f"SELECT Id FROM Task WHERE Subject = '{marked_tasks[0]}'"
    assert len(q(sf, soql, batch=10).json()["records"]) == 200
    default = q(sf, soql).json()
    assert default["done"] is True and len(default["records"]) == default["totalSize"] == 450


def test_limit_bounds_the_total_across_pages(sf: Sf, marked_tasks: tuple[str, list[str]]) -> None:
    soql = f"SELECT Id FROM Task WHERE Subject = '{marked_tasks[0]}' ORDER BY Id LIMIT 250"
    body = q(sf, soql, batch=200).json()
    assert body["totalSize"] == 250 and body["done"] is False
    rest = sf.http.get(body["nextRecordsUrl"]).json()
    assert rest["done"] is True and len(rest["records"]) == 50 and "nextRecordsUrl" not in rest


def test_query_all_sees_the_recycle_bin(sf: Sf) -> None:
    doomed = sf.create("Task", {"Subject": "soon deleted"})
    sf.call("DELETE", f"sobjects/Task/{doomed}")
    visible = sf.records("SELECT Id FROM Task WHERE IsDeleted = true")
    assert visible == []
    binned = sf.records("SELECT Id, IsDeleted FROM Task WHERE IsDeleted = true", all_rows=True)
    assert doomed in [r["Id"] for r in binned]


# -- sObject Collections ------------------------------------------------------------------------------------------


def test_collection_create_reports_each_record_in_order_as_one_api_call(
    sf: Sf, contact: dict[str, Any]
) -> None:
    before = usage(sf.get("limits"))[0]
    records = [
        {"attributes": {"type": "Task"}, "Subject": "ok 1", "WhoId": contact["Id"]},
        {"attributes": {"type": "Task"}, "Subject": "bad", "Status": "Finished"},
        {"attributes": {"type": "Task"}, "Subject": "ok 2", "Id": "00T000000000000"},
        {"attributes": {"type": "Lead"}, "LastName": "Nakamura", "Company": "株式会社テスト"},
        {"Subject": "no type"},
    ]
    reply = sf.call("POST", "composite/sobjects", json={"allOrNone": False, "records": records})
    assert reply.status_code == 200
    assert usage(reply)[0] == before + 1  # the whole batch is one API call
    results = reply.json()
    assert [r["success"] for r in results] == [True, False, False, True, False]
    assert results[1]["errors"] == [
        {
            "statusCode": "INVALID_OR_NULL_FOR_RESTRICTED_PICKLIST",
            "message": "Status: bad value for restricted picklist field: Finished",
            "fields": ["Status"],
        }
    ]
    assert results[2]["errors"][0]["statusCode"] == "INVALID_FIELD"
    assert results[4]["errors"][0]["statusCode"] == "INVALID_TYPE"
    assert results[0]["id"].startswith("00T") and results[3]["id"].startswith("00Q")
    assert sf.get(f"sobjects/Lead/{results[3]['id']}").json()["Company"] == "株式会社テスト"


def test_collection_all_or_none_rolls_everything_back(sf: Sf) -> None:
    marker = "all-or-none probe"
    records = [
        {"attributes": {"type": "Task"}, "Subject": marker},
        {"attributes": {"type": "Task"}, "Subject": marker, "Priority": "Whenever"},
    ]
    results = sf.call("POST", "composite/sobjects", json={"allOrNone": True, "records": records}).json()
    assert [r["success"] for r in results] == [False, False]
    assert results[0]["errors"][0]["statusCode"] == "ALL_OR_NONE_OPERATION_ROLLED_BACK"
    assert results[1]["errors"][0]["statusCode"] == "INVALID_OR_NULL_FOR_RESTRICTED_PICKLIST"
    assert "id" not in results[0]
    assert sf.records(f"SELECT Id FROM Task WHERE Subject = '{marker}'") == []


def test_collection_limits_and_malformed_bodies(sf: Sf) -> None:
    too_many = [{"attributes": {"type": "Task"}, "Subject": str(i)} for i in range(201)]
    assert error(sf.call("POST", "composite/sobjects", json={"records": too_many})) == (
        400,
        "EXCEEDED_ID_LIMIT",
    )
    assert error(sf.call("POST", "composite/sobjects", content=b"{oops")) == (400, "JSON_PARSER_ERROR")
    assert error(sf.call("POST", "composite/sobjects", json={"records": "nope"})) == (
        400,
        "JSON_PARSER_ERROR",
    )


def test_collection_update_delete_and_retrieve(sf: Sf) -> None:
    created = sf.call(
        "POST",
        "composite/sobjects",
        json={"records": [{"attributes": {"type": "Task"}, "Subject": f"batch {i}"} for i in range(3)]},
    ).json()
    a, b, c = (r["id"] for r in created)
    assert sf.call("DELETE", f"sobjects/Task/{c}").status_code == 204

    updates = [
        {"attributes": {"type": "Task"}, "id": a, "Status": "Completed"},
        {"attributes": {"type": "Task"}, "id": b[:15], "Priority": "Nope"},
        {"attributes": {"type": "Task"}, "id": c, "Subject": "too late"},
        {"attributes": {"type": "Task"}, "Subject": "no id"},
        {"attributes": {"type": "Task"}, "id": "garbage", "Subject": "x"},
    ]
    results = sf.call("PATCH", "composite/sobjects", json={"records": updates}).json()
    assert [r["success"] for r in results] == [True, False, False, False, False]
    assert [r["errors"][0]["statusCode"] for r in results[1:]] == [
        "INVALID_OR_NULL_FOR_RESTRICTED_PICKLIST",
        "ENTITY_IS_DELETED",
        "MISSING_ARGUMENT",
        "MALFORMED_ID",
    ]
    assert results[0]["id"] == a

    retrieved = sf.get(
        "composite/sobjects/Task", params={"ids": f"{a},{b[:15]},{c}", "fields": "Id,Status,Priority"}
    )
    assert retrieved.json() == [
        {
            "attributes": {"type": "Task", "url": f"/services/data/{VERSION}/sobjects/Task/{a}"},
            "Id": a,
            "Status": "Completed",
            "Priority": "Normal",
        },
        {
            "attributes": {"type": "Task", "url": f"/services/data/{VERSION}/sobjects/Task/{b}"},
            "Id": b,
            "Status": "Not Started",
            "Priority": "Normal",
        },
        None,
    ]
    posted = sf.call("POST", "composite/sobjects/Task", json={"ids": [a], "fields": ["Subject"]}).json()
    assert posted[0]["Subject"] == "batch 0"

    deleted = sf.call("DELETE", "composite/sobjects", params={"ids": f"{a},{c},00T8Z00000ZZZZZ"}).json()
    assert [(r.get("id"), r["success"]) for r in deleted] == [
        (a, True),
        (c, False),
        (deleted[2]["id"], False),
    ]
    assert deleted[1]["errors"][0]["statusCode"] == "ENTITY_IS_DELETED"

    all_or_none = sf.call(
        "DELETE", "composite/sobjects", params={"ids": f"{b},{c}", "allOrNone": "true"}
    ).json()
    assert [r["success"] for r in all_or_none] == [False, False]
    assert all_or_none[0] == {
        "id": b,
        "success": False,
        "errors": [
            {
                "statusCode": "ALL_OR_NONE_OPERATION_ROLLED_BACK",
                "message": "Record rolled back because not all records were valid and the request was using AllOrNone header",
                "fields": [],
            }
        ],
    }
    assert sf.get(f"sobjects/Task/{b}").status_code == 200  # rolled back: still there


def test_collection_upsert_by_external_id(sf: Sf) -> None:
    def record(ext: str, **fields: Any) -> dict[str, Any]:
        return {"attributes": {"type": "Task"}, "sia_activity_id__c": ext, **fields}

    first = sf.call(
        "PATCH",
        "composite/sobjects/Task/sia_activity_id__c",
        json={"records": [record("bulk-1", Subject="one")]},
    ).json()
    assert first[0]["created"] is True and first[0]["success"] is True
    mixed = sf.call(
        "PATCH",
        "composite/sobjects/Task/sia_activity_id__c",
        json={
            "records": [
                record("BULK-1", Status="Completed"),
                record("bulk-2", Subject="two"),
                record("bulk-3", Type="Lunch"),
                {"attributes": {"type": "Task"}, "Subject": "no external id"},
            ]
        },
    ).json()
    assert [(r["success"], r.get("created")) for r in mixed] == [
        (True, False),
        (True, True),
        (False, None),
        (False, None),
    ]
    assert mixed[0]["id"] == first[0]["id"]
    assert sf.get(f"sobjects/Task/{first[0]['id']}").json()["Status"] == "Completed"
    not_external = sf.call("PATCH", "composite/sobjects/Task/Subject", json={"records": [record("x")]})
    assert error(not_external) == (404, "NOT_FOUND")


# -- Composite ------------------------------------------------------------------------------------------------


def test_composite_chains_subrequests_with_references(sf: Sf, contact: dict[str, Any]) -> None:
    body = {
        "allOrNone": False,
        "compositeRequest": [
            {
                "method": "GET",
                "url": f"/services/data/{VERSION}/query?q=SELECT+Id+FROM+Contact+WHERE+Id+%3D+%27{contact['Id']}%27",
                "referenceId": "who",
            },
            {
                "method": "POST",
                "url": f"/services/data/{VERSION}/sobjects/Task",
                "referenceId": "task",
                "body": {"Subject": "Call", "WhoId": "@{who.records[0].Id}"},
            },
            {
                "method": "GET",
                "url": f"/services/data/{VERSION}/sobjects/Task/@{{task.id}}?fields=WhoId",
                "referenceId": "read",
            },
            {
                "method": "PATCH",
                "url": f"/services/data/{VERSION}/sobjects/Task/@{{task.id}}",
                "referenceId": "bad",
                "body": {"Status": "?"},
            },
            {
                "method": "GET",
                "url": f"/services/data/{VERSION}/sobjects/Task/@{{bad.id}}",
                "referenceId": "after",
            },
        ],
    }
    before = usage(sf.get("limits"))[0]
    reply = sf.call("POST", "composite", json=body)
    assert reply.status_code == 200 and usage(reply)[0] == before + 1
    responses = {r["referenceId"]: r for r in reply.json()["compositeResponse"]}
    assert responses["task"]["httpStatusCode"] == 201
    task_id = responses["task"]["body"]["id"]
    assert responses["task"]["httpHeaders"]["Location"].endswith(task_id)
    assert responses["read"]["body"]["WhoId"] == contact["Id"]
    assert responses["bad"]["httpStatusCode"] == 400
    assert responses["bad"]["body"][0]["errorCode"] == "INVALID_OR_NULL_FOR_RESTRICTED_PICKLIST"
    assert responses["after"]["body"][0]["errorCode"] == "PROCESSING_HALTED"
    assert sf.get(f"sobjects/Task/{task_id}").status_code == 200  # allOrNone false: the create stands


def test_composite_all_or_none_rolls_back_and_halts(sf: Sf) -> None:
    body = {
        "allOrNone": True,
        "compositeRequest": [
            {
                "method": "POST",
                "url": f"/services/data/{VERSION}/sobjects/Task",
                "referenceId": "a",
                "body": {"Subject": "composite rollback"},
            },
            {
                "method": "POST",
                "url": f"/services/data/{VERSION}/sobjects/Task",
                "referenceId": "b",
                "body": {"Nope": 1},
            },
            {"method": "GET", "url": f"/services/data/{VERSION}/limits", "referenceId": "c"},
        ],
    }
    responses = sf.call("POST", "composite", json=body).json()["compositeResponse"]
    assert [r["httpStatusCode"] for r in responses] == [400, 400, 400]
    assert [r["body"][0]["errorCode"] for r in responses] == [
        "PROCESSING_HALTED",
        "INVALID_FIELD",
        "PROCESSING_HALTED",
    ]
    assert sf.records("SELECT Id FROM Task WHERE Subject = 'composite rollback'") == []
    too_many = {
        "compositeRequest": [
            {"method": "GET", "url": f"/services/data/{VERSION}/limits", "referenceId": f"r{i}"}
            for i in range(26)
        ]
    }
    assert sf.call("POST", "composite", json=too_many).status_code == 400
