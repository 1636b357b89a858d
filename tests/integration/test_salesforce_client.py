"""The Salesforce client against the sandbox over real HTTP: auth, CRUD, collections, SOQL, replication, check."""

from __future__ import annotations

import logging
import uuid
from datetime import UTC, date, datetime, timedelta, timezone

import pytest

from sia_sandbox.config import SALESFORCE_CLIENT_ID, SALESFORCE_CLIENT_SECRET, SALESFORCE_REFRESH_TOKEN
from sia_tui.net import AuthError, NotFoundError, ValidationError
from sia_tui.salesforce.client import (
    MultipleMatchesError,
    PreconditionFailedError,
    SalesforceClient,
)
from sia_tui.salesforce.ids import same_id, to_18
from sia_tui.salesforce.soql import format_date, format_datetime, parse_date, parse_datetime, quote_like, soql
from tests.support.sandbox_control import sandbox_now

FAST = {"backoff_base_s": 0.01, "backoff_cap_s": 0.05}


def client(sb, **kw) -> SalesforceClient:
    return SalesforceClient(
        sb.salesforce_url, SALESFORCE_CLIENT_ID, SALESFORCE_CLIENT_SECRET, **{**FAST, **kw}
    )


def marker() -> str:
    return "sia-test-" + uuid.uuid4().hex[:12]


# ------------------------------------------------------------------------------------------------ auth


async def test_client_credentials_login_counts_calls_and_reads_limit_info(sandbox):
    async with client(sandbox) as sf:
        rows = await sf.query_list("SELECT Id, Name FROM User LIMIT 3")
        await sf.describe("Task")
        assert rows and all(len(r["Id"]) == 18 for r in rows)
        assert sf.instance_url == sandbox.salesforce_url  # from the token reply
        assert sf.limit_info is not None and sf.limit_info.max > 0 and sf.limit_info.used >= 2
        assert sf.calls.snapshot() == {"query": 1, "sobjects/Task/describe": 1}
        assert sf.auth_calls.snapshot() == {"oauth2/token": 1}  # token calls are counted apart


async def test_refresh_token_flow(sandbox):
    async with SalesforceClient(
        sandbox.salesforce_url, SALESFORCE_CLIENT_ID, refresh_token=SALESFORCE_REFRESH_TOKEN, **FAST
    ) as sf:
        assert sf.grant_type == "refresh_token"
        assert await sf.query_list("SELECT Id FROM User LIMIT 1")


async def test_a_revoked_refresh_token_says_what_to_do_without_showing_it(sandbox):
    stale = "5Aep861stale-refresh-token-value"
    async with SalesforceClient(
        sandbox.salesforce_url, SALESFORCE_CLIENT_ID, refresh_token=stale, **FAST
    ) as sf:
        with pytest.raises(AuthError) as info:
            await sf.query_list("SELECT Id FROM User")
    assert info.value.code == "invalid_grant" and "authorise sia-tui again" in str(info.value)
    assert stale not in str(info.value) and stale not in repr(info.value)


async def test_a_bad_secret_is_an_auth_error_and_the_secret_never_shows(sandbox, caplog):
    caplog.set_level(logging.DEBUG)
    secret = "wrong-secret-value-123"
    async with SalesforceClient(sandbox.salesforce_url, SALESFORCE_CLIENT_ID, secret, **FAST) as sf:
        with pytest.raises(AuthError) as info:
            await sf.query_list("SELECT Id FROM User")
        items = await sf.check()
    assert info.value.code == "invalid_client" and "salesforce.client_id" in str(info.value)
    assert [(i.name, i.ok) for i in items] == [("token", False)]
    for text in (str(info.value), repr(info.value), caplog.text, items[0].message):
        assert secret not in text


async def test_the_access_token_never_appears_in_errors_or_logs(sandbox, caplog):
    caplog.set_level(logging.DEBUG)
    async with client(sandbox) as sf:
        token = await sf.authenticate()
        errors = []
        for call in (
            sf.query_list(f"SELECT Id FROM Task WHERE Subject = '{token}' AND Bogus__c = 1"),
            sf.get("Task", "00T000000000000AAA"),
            sf.update("Task", "00T000000000000AAA", {"Subject": token}),
        ):
            with pytest.raises((ValidationError, NotFoundError)) as info:
                await call
            errors.append(info.value)
    assert token and len(token) > 20
    for err in errors:
        assert token not in str(err) and token not in repr(err)
    assert "INVALID_FIELD" in str(errors[0]) and errors[1].code in {"NOT_FOUND", "ENTITY_IS_DELETED", "404"}
    assert token not in caplog.text and SALESFORCE_CLIENT_SECRET not in caplog.text


# ------------------------------------------------------------------------------------------------ records


async def test_crud_round_trip_with_15_char_ids_and_unshifted_dates(sandbox):
    # 23:30 on 29 March in UTC+13 is the 29th for the seller, whatever UTC says.
    due_local = datetime(2026, 3, 29, 23, 30, tzinfo=timezone(timedelta(hours=13)))
    remind = datetime(2026, 3, 29, 9, 15, tzinfo=timezone(timedelta(hours=-7)))
    async with client(sandbox) as sf:
        task_id = await sf.create(
            "Task",
            {
                "Subject": "Call back",
                "ActivityDate": format_date(due_local),
                "ReminderDateTime": format_datetime(remind),
                "IsReminderSet": True,
                "Status": "Not Started",
            },
        )
        assert len(task_id) == 18 and task_id.startswith("00T") and to_18(task_id[:15]) == task_id
        got = await sf.get("Task", task_id[:15], ["Id", "Subject", "ActivityDate", "ReminderDateTime"])
        assert same_id(got["Id"], task_id[:15]) and got["Id"] == task_id
        assert got["ActivityDate"] == "2026-03-29" and parse_date(got["ActivityDate"]) == date(2026, 3, 29)
        assert got["ReminderDateTime"].endswith("+0000")  # Salesforce's wire format
        assert parse_datetime(got["ReminderDateTime"]) == remind.astimezone(UTC)
        await sf.update("Task", task_id, {"Status": "Completed", "Description": None})
        assert (await sf.get("Task", task_id.lower()))["Status"] == "Completed"  # 18-char ids: any case
        assert await sf.delete("Task", task_id) is True
        assert await sf.delete("Task", task_id) is False  # already gone: idempotent
        with pytest.raises(NotFoundError):
            await sf.get("Task", task_id)
        deleted = await sf.query_all(soql("SELECT Id, IsDeleted FROM Task WHERE Id = {}", task_id[:15]))
        assert [(r["Id"], r["IsDeleted"]) for r in deleted] == [(task_id, True)]


async def test_upsert_by_external_id_created_then_updated(sandbox):
    ext = marker()
    async with client(sandbox) as sf:
        first = await sf.upsert("Task", "sia_activity_id__c", ext, {"Subject": "Email: hello"})
        again = await sf.upsert("Task", "sia_activity_id__c", ext, {"Subject": "Email: hello (edited)"})
        assert first.created is True and again.created is False and first.id == again.id
        rows = await sf.query_list(soql("SELECT Id, Subject FROM Task WHERE sia_activity_id__c = {}", ext))
        assert rows == [
            {"attributes": rows[0]["attributes"], "Id": first.id, "Subject": "Email: hello (edited)"}
        ]
        got = await sf.get_by_external("Task", "sia_activity_id__c", ext, ["Subject"])
        assert got["Subject"] == "Email: hello (edited)"


async def test_upsert_on_an_ambiguous_external_id_names_the_matches(sandbox):
    ext = marker()
    async with client(sandbox) as sf:
        a = await sf.create("Task", {"Subject": "one", "External_Id__c": ext})
        b = await sf.create("Task", {"Subject": "two", "External_Id__c": ext})
        with pytest.raises(MultipleMatchesError) as info:
            await sf.upsert("Task", "External_Id__c", ext, {"Subject": "three"})
        assert info.value.http_status == 300 and sorted(info.value.ids) == sorted([a, b])
        with pytest.raises(MultipleMatchesError):
            await sf.get_by_external("Task", "External_Id__c", ext)
        with pytest.raises(NotFoundError):  # Subject is not an external id
            await sf.upsert("Task", "Subject", "x", {"Status": "Completed"})


async def test_conditional_update_refuses_to_overwrite_a_newer_edit(sandbox):
    async with client(sandbox) as sf:
        tid = await sf.create("Task", {"Subject": "conditional"})
        modified = parse_datetime((await sf.get("Task", tid, ["LastModifiedDate"]))["LastModifiedDate"])
        assert modified is not None
        with pytest.raises(PreconditionFailedError) as info:
            await sf.update(
                "Task", tid, {"Subject": "stale"}, if_unmodified_since=modified - timedelta(minutes=5)
            )
        assert info.value.http_status == 412
        await sf.update(
            "Task", tid, {"Subject": "fresh"}, if_unmodified_since=modified + timedelta(minutes=5)
        )
        assert (await sf.get("Task", tid, ["Subject"]))["Subject"] == "fresh"


# ------------------------------------------------------------------------------------------------ collections


async def test_a_collection_maps_one_bad_record_back_to_its_item(sandbox):
    items = [{"Subject": f"ok {i}"} for i in range(3)]
    items.insert(1, {"Subject": "bad", "Priority": "Urgent!!"})
    async with client(sandbox) as sf:
        results = await sf.create_many("Task", items)
    assert [r.item for r in results] == items
    assert [r.success for r in results] == [True, False, True, True]
    assert results[1].id is None and results[1].codes == ("INVALID_OR_NULL_FOR_RESTRICTED_PICKLIST",)
    assert "Priority" in results[1].error
    assert all(r.id and r.id.startswith("00T") and len(r.id) == 18 for r in results if r.success)


async def test_all_or_none_rolls_back_the_whole_batch(sandbox):
    ext = marker()
    items = [{"Subject": f"aon {i}", "sia_activity_id__c": f"{ext}-{i}"} for i in range(3)]
    items[2]["Priority"] = "Urgent!!"
    async with client(sandbox) as sf:
        results = await sf.create_many("Task", items, all_or_none=True)
        assert not any(r.success for r in results)
        assert results[0].codes == ("ALL_OR_NONE_OPERATION_ROLLED_BACK",)
        assert results[2].codes == ("INVALID_OR_NULL_FOR_RESTRICTED_PICKLIST",)
        assert (
            await sf.query_list(soql("SELECT Id FROM Task WHERE sia_activity_id__c LIKE {}", ext + "%")) == []
        )


async def test_collections_are_cut_into_batches_of_200(sandbox):
    ext = marker()
    records = [{"Subject": f"bulk {i}", "sia_activity_id__c": f"{ext}-{i}"} for i in range(450)]
    async with client(sandbox) as sf:
        results = await sf.upsert_many("Task", "sia_activity_id__c", records)
        assert len(results) == 450 and all(r.success and r.created for r in results)
        assert [r.item for r in results] == records
        assert sf.calls.snapshot()["composite/sobjects"] == 3
        again = await sf.upsert_many("Task", "sia_activity_id__c", records[:10])
        assert all(r.success and r.created is False for r in again)
        ids = [r.id for r in results if r.id]
        updated = await sf.update_many("Task", [{"Id": i[:15], "Status": "Completed"} for i in ids[:250]])
        assert all(u.success and u.id == i for u, i in zip(updated, ids, strict=False))
        fetched = await sf.retrieve_many("Task", [*ids[:3], "00T000000000000AAA"], ["Subject", "Status"])
        assert [f and f["Status"] for f in fetched] == ["Completed"] * 3 + [None]
        deleted = await sf.delete_many(ids)
        assert len(deleted) == 450 and all(d.success for d in deleted)
        assert sf.calls.snapshot()["composite/sobjects"] == 3 + 1 + 2 + 1 + 3
        again_deleted = await sf.delete_many(ids[:5])  # a resent delete finds them gone: still a success
        assert all(d.success for d in again_deleted)
        strict = await sf.delete_many(ids[:1], missing_ok=False)
        assert strict[0].codes == ("ENTITY_IS_DELETED",)


# ------------------------------------------------------------------------------------------------ queries


async def test_hostile_text_in_a_query_is_a_value_not_syntax(sandbox):
    subject = "O'Brien \\ \"quotes\" 100% _x_\nline2' OR Subject != '"
    async with client(sandbox) as sf:
        tid = await sf.create("Task", {"Subject": subject})
        exact = await sf.query_list(soql("SELECT Id, Subject FROM Task WHERE Subject = {}", subject))
        assert [(r["Id"], r["Subject"]) for r in exact] == [(tid, subject)]
        like = await sf.query_list(
            f"SELECT Id FROM Task WHERE Subject LIKE {quote_like('100% _x_', contains=True)}"
        )
        assert [r["Id"] for r in like] == [tid]


async def test_query_paging_returns_every_record_exactly_once(sandbox_factory):
    sb = sandbox_factory(people=800)
    async with client(sb) as sf:
        total = await sf.count("SELECT COUNT() FROM Lead")
        pages = [
            page async for page in sf.query_pages("SELECT Id, Email FROM Lead ORDER BY Id", batch_size=200)
        ]
        assert sf.calls.snapshot() == {"query": 1 + len(pages)}
    ids = [r["Id"] for page in pages for r in page]
    assert total > 400 and len(pages) == -(-total // 200)
    assert len(ids) == len(set(ids)) == total


async def test_bad_soql_is_a_validation_error_with_the_code(sandbox):
    async with client(sandbox) as sf:
        with pytest.raises(ValidationError) as info:
            await sf.query_list("SELEKT Id FROM Task")
    assert info.value.code == "MALFORMED_QUERY" and info.value.http_status == 400
    assert "\n" not in str(info.value) and "SELEKT" in str(info.value)


async def test_updated_and_deleted_replication(sandbox):
    async with client(sandbox) as sf:
        now = sandbox_now(sandbox)  # the sandbox runs on a fixed clock
        start = now - timedelta(minutes=5)
        kept = await sf.create("Task", {"Subject": "replicate me"})
        gone = await sf.create("Task", {"Subject": "delete me"})
        await sf.delete("Task", gone)
        end = now + timedelta(minutes=2)
        updated = await sf.updated("Task", start, end)
        deleted = await sf.deleted("Task", start, end)
    assert kept in updated.ids and all(len(i) == 18 for i in updated.ids)
    assert gone in [d.id for d in deleted.records]
    record = next(d for d in deleted.records if d.id == gone)
    assert record.deleted_date is not None and record.deleted_date.tzinfo is not None
    assert updated.latest_date_covered is not None and not deleted.lost_deletes_since(start)


# ------------------------------------------------------------------------------------------------ settings test


async def test_check_reports_each_item_precisely(sandbox):
    async with client(sandbox) as sf:
        items = await sf.check(external_id_field="sia_activity_id__c")
    by_name = {i.name: i for i in items}
    assert list(by_name) == [
        "token",
        "api_version",
        "task_access",
        "task_external_id",
        "lead_optout",
        "contact_optout",
        "api_usage",
    ]
    assert all(i.ok for i in items), [(i.name, i.message) for i in items]
    assert (
        by_name["api_usage"].data["remaining"] > 0
        and "daily API requests left" in by_name["api_usage"].message
    )
    assert "Lead.HasOptedOutOfEmail is writable" in by_name["lead_optout"].message


async def test_check_names_an_api_version_the_org_does_not_serve(sandbox):
    async with client(sandbox, api_version="v20.0") as sf:
        items = await sf.check()
    by_name = {i.name: i for i in items}
    assert by_name["token"].ok
    assert not by_name["api_version"].ok and "does not serve API v20.0" in by_name["api_version"].message
    assert not by_name["task_access"].ok  # nothing can be described through a version that is not served
    assert not by_name["lead_optout"].ok and not by_name["contact_optout"].ok


async def test_check_reports_a_spent_daily_allocation(sandbox_factory):
    sb = sandbox_factory(people=20, sf_daily_limit=4)  # describe x3 + limits use it all
    async with client(sb) as sf:
        items = await sf.check()
    by_name = {i.name: i for i in items}
    assert by_name["task_access"].ok and by_name["lead_optout"].ok
    usage = by_name["api_usage"]
    assert not usage.ok and "used all 4 daily API requests" in usage.message


async def test_check_flags_read_only_and_missing_fields(sandbox):
    async with client(sandbox) as sf:
        items = await sf.check(optout_field="IsConverted", external_id_field="Subject")
    by_name = {i.name: i for i in items}
    assert (
        not by_name["task_external_id"].ok and "not marked External ID" in by_name["task_external_id"].message
    )
    assert not by_name["lead_optout"].ok and "read-only" in by_name["lead_optout"].message
    assert (
        not by_name["contact_optout"].ok and "has no field IsConverted" in by_name["contact_optout"].message
    )
