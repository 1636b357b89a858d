"""The Salesforce client against the sandbox over real HTTP: auth, CRUD, collections, SOQL, faults."""

from __future__ import annotations

import asyncio
import logging
import uuid
from datetime import date, timedelta

import httpx
import pytest

from sia_tui.net import (
    AuthError,
    NotFoundError,
    OutcomeUnknownError,
    RateLimitedError,
    ValidationError,
)
from sia_tui.salesforce.client import SalesforceClient
from sia_tui.salesforce.ids import same_id, to_18
from sia_tui.sandbox.config import SALESFORCE_CLIENT_ID, SALESFORCE_CLIENT_SECRET

FAST = {"backoff_base_s": 0.01, "backoff_cap_s": 0.05}


def client(sb, **kw) -> SalesforceClient:
    return SalesforceClient(
        sb.salesforce_url, SALESFORCE_CLIENT_ID, SALESFORCE_CLIENT_SECRET, **{**FAST, **kw}
    )


def faults(sb, rate: float, kinds: list[str]) -> None:
    httpx.post(f"{sb.base_url}/_sandbox/faults", json={"rate": rate, "kinds": kinds}).raise_for_status()


def marker() -> str:
    return "sia-test-" + uuid.uuid4().hex[:12]


async def test_client_credentials_login_and_limit_info(sandbox):
    async with client(sandbox) as sf:
        rows = await sf.query_list("SELECT Id, Name FROM User LIMIT 3")
        assert rows and all(len(r["Id"]) == 18 for r in rows)
        assert sf.limit_info is not None and sf.limit_info.max > 0 and sf.limit_info.used >= 1
        assert sf.calls.snapshot().get("query") == 1
        assert sf.auth_calls.total == 1


async def test_refresh_token_flow(sandbox):
    from sia_tui.sandbox.salesforce_api import SALESFORCE_REFRESH_TOKEN

    async with SalesforceClient(
        sandbox.salesforce_url, SALESFORCE_CLIENT_ID, refresh_token=SALESFORCE_REFRESH_TOKEN, **FAST
    ) as sf:
        assert await sf.query_list("SELECT Id FROM User LIMIT 1")


async def test_bad_secret_is_an_auth_error_without_the_secret(sandbox, caplog):
    caplog.set_level(logging.DEBUG)
    secret = "wrong-secret-value-123"
    async with SalesforceClient(sandbox.salesforce_url, SALESFORCE_CLIENT_ID, secret, **FAST) as sf:
        with pytest.raises(AuthError) as info:
            await sf.query_list("SELECT Id FROM User")
    assert secret not in str(info.value) and secret not in repr(info.value)
    assert secret not in caplog.text
    assert "salesforce.client_id" in str(info.value)


async def test_crud_round_trip_with_dates_and_15_char_ids(sandbox):
    async with client(sandbox) as sf:
        due = date(2026, 3, 29)
        task_id = await sf.create(
            "Task", {"Subject": "Call back", "ActivityDate": due.isoformat(), "Status": "Not Started"}
        )
        assert len(task_id) == 18 and task_id.startswith("00T")
        got = await sf.get("Task", task_id[:15], ["Id", "Subject", "ActivityDate", "Status"])
        assert got["ActivityDate"] == "2026-03-29"
        assert same_id(got["Id"], task_id[:15]) and to_18(task_id[:15]) == task_id
        await sf.update("Task", task_id, {"Status": "Completed"})
        assert (await sf.get("Task", task_id))["Status"] == "Completed"
        assert await sf.delete("Task", task_id) is True
        assert await sf.delete("Task", task_id) is False  # already gone: idempotent
        with pytest.raises(NotFoundError):
            await sf.get("Task", task_id)
        deleted = await sf.query_all(f"SELECT Id, IsDeleted FROM Task WHERE Id = '{task_id}'")
        assert deleted and deleted[0]["IsDeleted"] is True


async def test_upsert_by_external_id_created_then_updated(sandbox):
    ext = marker()
    async with client(sandbox) as sf:
        first = await sf.upsert("Task", "sia_activity_id__c", ext, {"Subject": "Email: hello"})
        again = await sf.upsert("Task", "sia_activity_id__c", ext, {"Subject": "Email: hello (edited)"})
        assert first.created is True and again.created is False
        assert same_id(first.id, again.id)
        rows = await sf.query_list(f"SELECT Id, Subject FROM Task WHERE sia_activity_id__c = '{ext}'")
        assert len(rows) == 1 and rows[0]["Subject"] == "Email: hello (edited)"


async def test_collection_maps_per_record_errors_back_to_items(sandbox):
    items = [{"Subject": f"ok {i}"} for i in range(3)]
    items.insert(1, {"Subject": "bad", "Priority": "Urgent!!"})
    async with client(sandbox) as sf:
        results = await sf.create_many("Task", items)
    assert [r.item for r in results] == items
    assert [r.success for r in results] == [True, False, True, True]
    assert results[1].errors[0].status_code and "Priority" in results[1].error
    assert all(r.id and r.id.startswith("00T") for r in results if r.success)


async def test_collections_are_cut_into_batches_of_200(sandbox):
    ext = marker()
    records = [{"Subject": f"bulk {i}", "sia_activity_id__c": f"{ext}-{i}"} for i in range(450)]
    async with client(sandbox) as sf:
        results = await sf.upsert_many("Task", "sia_activity_id__c", records)
        assert len(results) == 450 and all(r.success and r.created for r in results)
        assert sf.calls.snapshot()["composite/sobjects"] == 3
        again = await sf.upsert_many("Task", "sia_activity_id__c", records[:10])
        assert all(r.success and r.created is False for r in again)
        deleted = await sf.delete_many([r.id for r in results if r.id])
        assert all(d.success for d in deleted)


async def test_query_paging_returns_every_row_once_across_session_expiry(sandbox_factory):
    sb = sandbox_factory(people=1500, sf_session_ttl_s=1)
    async with client(sb) as sf:
        ids: list[str] = []
        async for row in sf.query("SELECT Id FROM Lead ORDER BY Id", batch_size=200):
            ids.append(row["Id"])
            if len(ids) == 1:
                await asyncio.sleep(1.2)  # the session expires mid-paging
        assert len(ids) == len(set(ids)) > 200
        assert sf.calls.snapshot()["query"] >= 2
        assert sf.auth_calls.total >= 2  # logged in again after INVALID_SESSION_ID


async def test_bad_soql_is_a_validation_error_with_the_code(sandbox):
    async with client(sandbox) as sf:
        with pytest.raises(ValidationError) as info:
            await sf.query_list("SELEKT Id FROM Task")
    assert info.value.code == "MALFORMED_QUERY"


async def test_request_limit_exceeded_is_retried_then_reported(sandbox_factory):
    sb = sandbox_factory(people=50, sf_daily_limit=3)
    async with client(sb, max_retries=2) as sf:
        with pytest.raises(RateLimitedError) as info:
            for _ in range(10):
                await sf.query_list("SELECT Id FROM User LIMIT 1")
    assert info.value.code == "REQUEST_LIMIT_EXCEEDED"


async def test_transient_faults_on_reads_are_absorbed(sandbox):
    async with client(sandbox) as sf:
        clean = {r["Id"] for r in await sf.query_list("SELECT Id FROM Lead")}
        faults(sandbox, 0.3, ["503", "drop", "401", "606"])
        try:
            noisy = {r["Id"] for r in await sf.query_list("SELECT Id FROM Lead")}
        finally:
            faults(sandbox, 0.0, [])
    assert noisy == clean


async def test_commit_then_drop_on_create_is_outcome_unknown(sandbox):
    ext = marker()
    async with client(sandbox) as sf:
        await sf.authenticate()
        faults(sandbox, 1.0, ["commit_drop"])
        try:
            with pytest.raises(OutcomeUnknownError):
                await sf.create("Task", {"Subject": "maybe", "sia_activity_id__c": ext})
        finally:
            faults(sandbox, 0.0, [])
        rows = await sf.query_list(f"SELECT Id FROM Task WHERE sia_activity_id__c = '{ext}'")
        assert len(rows) == 1  # it was applied: only a reconcile can tell


async def test_commit_then_drop_on_upsert_is_retried_safely(sandbox):
    ext = marker()
    async with client(sandbox) as sf:
        faults(sandbox, 0.5, ["commit_drop"])
        try:
            results = await sf.upsert_many(
                "Task", "sia_activity_id__c", [{"Subject": "x", "sia_activity_id__c": ext}]
            )
        finally:
            faults(sandbox, 0.0, [])
        assert results[0].success
        rows = await sf.query_list(f"SELECT Id FROM Task WHERE sia_activity_id__c = '{ext}'")
        assert len(rows) == 1


async def test_updated_and_deleted_replication(sandbox):
    async with client(sandbox) as sf:
        now = sandbox.state.clock.now()  # the sandbox runs on a fixed clock
        start = now - timedelta(minutes=5)
        tid = await sf.create("Task", {"Subject": "replicate me"})
        await sf.delete("Task", tid)
        end = now + timedelta(minutes=1)
        updated = await sf.updated("Task", start, end)
        deleted = await sf.deleted("Task", start, end)
    assert any(same_id(i, tid) for i in updated.ids) or any(same_id(d.id, tid) for d in deleted.records)
    assert any(same_id(d.id, tid) for d in deleted.records)


async def test_check_reports_each_item(sandbox):
    async with client(sandbox) as sf:
        items = await sf.check()
    names = [i.name for i in items]
    assert names[:2] == ["token", "api version"]
    assert all(i.ok for i in items), [(i.name, i.message) for i in items]
