"""The Salesforce client under the failures real orgs produce: expired sessions, limits, 5xx, dropped
connections, lost replies to writes, row locks, instance moves.

Most faults come from the sandbox's own injector over real HTTP. What it cannot inject (``UNABLE_TO_LOCK_ROW``,
token replies with extra fields) comes from ``WireTamper``, a thin ASGI layer in front of an in-process sandbox
that edits the wire and, for locks, makes sure the "locked" write is really not applied.
"""

from __future__ import annotations

import asyncio
import json
import logging
import re
import uuid
from collections.abc import AsyncIterator, Iterator
from typing import Any
from urllib.parse import parse_qsl

import httpx
import pytest

from sia_sandbox.app import create_app, sandbox_of
from sia_sandbox.config import SALESFORCE_CLIENT_ID, SALESFORCE_CLIENT_SECRET, SALESFORCE_REFRESH_TOKEN
from sia_tui.net import (
    AuthError,
    OutcomeUnknownError,
    RateLimitedError,
    TransientError,
    redact,
)
from sia_tui.salesforce.client import SalesforceClient
from sia_tui.salesforce.soql import soql
from tests.conftest import sandbox_config
from tests.support.sandbox_control import advance_clock

FAST = {"backoff_base_s": 0.01, "backoff_cap_s": 0.05}


def client(sb, **kw) -> SalesforceClient:
    return SalesforceClient(
        sb.salesforce_url, SALESFORCE_CLIENT_ID, SALESFORCE_CLIENT_SECRET, **{**FAST, **kw}
    )


def faults(sb, rate: float, kinds: list[str] | None = None) -> None:
    body: dict[str, Any] = {"rate": rate}
    if kinds is not None:
        body["kinds"] = kinds
    httpx.post(f"{sb.base_url}/_sandbox/faults", json=body).raise_for_status()


def stats(sb) -> dict[str, Any]:
    return httpx.get(f"{sb.base_url}/_sandbox/stats").json()  # type: ignore[no-any-return]


def marker() -> str:
    return "sia-test-" + uuid.uuid4().hex[:12]


async def tasks_with(sf: SalesforceClient, field: str, value: str) -> list[str]:
    rows = await sf.query_list(soql("SELECT Id FROM Task WHERE {:name} LIKE {}", field, value + "%"))
    return [r["Id"] for r in rows]


# ------------------------------------------------------------------------------------------------ sessions


async def test_session_expiry_mid_paging_logs_in_once_and_loses_nothing(sandbox_factory):
    sb = sandbox_factory(people=1000, sf_session_ttl_s=600, clock_frozen=True)
    async with client(sb) as sf:
        clean = [r["Id"] async for r in sf.query("SELECT Id FROM Lead ORDER BY Id", batch_size=200)]
        sf.auth_calls.reset()
        ids: list[str] = []
        async for row in sf.query("SELECT Id FROM Lead ORDER BY Id", batch_size=200):
            ids.append(row["Id"])
            if len(ids) == 1:
                advance_clock(sb, 601)  # the session expires between two pages (its cursor idles out at 900 s)
        assert ids == clean and len(set(ids)) == len(ids) > 400
        assert sf.auth_calls.total == 1  # one new login, on INVALID_SESSION_ID
    assert stats(sb)["errors"].get("INVALID_SESSION_ID") == 1


async def test_a_token_refused_right_after_login_is_an_auth_error(sandbox):
    async with client(sandbox) as sf:
        await sf.authenticate()
        faults(sandbox, 1.0, ["401"])
        with pytest.raises(AuthError) as info:
            await sf.query_list("SELECT Id FROM User")
    assert info.value.code == "INVALID_SESSION_ID"
    assert sf.calls.snapshot() == {"query": 2} and sf.auth_calls.total == 2  # re-login exactly once


# ------------------------------------------------------------------------------------------------ limits and 5xx


async def test_request_limit_exceeded_is_retried_then_reported(sandbox):
    async with client(sandbox, max_retries=3) as sf:
        await sf.authenticate()
        faults(sandbox, 1.0, ["606"])  # the sandbox answers 403 REQUEST_LIMIT_EXCEEDED (concurrent requests)
        with pytest.raises(RateLimitedError) as info:
            await sf.query_list("SELECT Id FROM User LIMIT 1")
    assert info.value.code == "REQUEST_LIMIT_EXCEEDED" and info.value.http_status == 403
    assert sf.calls.snapshot() == {"query": 4}  # 1 + 3 retries


async def test_request_limit_exceeded_now_and_then_is_absorbed(sandbox_factory):
    sb = sandbox_factory(people=50, fault_rate=0.5, fault_kinds=["606"])  # seeded: same sequence every run
    async with client(sb, max_retries=10) as sf:
        for _ in range(8):
            assert await sf.query_list("SELECT Id FROM User LIMIT 1")
        assert sf.calls.total > 8
    assert stats(sb)["errors"]["REQUEST_LIMIT_EXCEEDED"] == sf.calls.total - 8


async def test_a_spent_daily_allocation_is_reported_at_once(sandbox_factory):
    sb = sandbox_factory(people=20, sf_daily_limit=3)
    async with client(sb) as sf:
        for _ in range(3):
            await sf.query_list("SELECT Id FROM User LIMIT 1")
        with pytest.raises(RateLimitedError) as info:
            await sf.query_list("SELECT Id FROM User LIMIT 1")
        assert sf.calls.snapshot() == {"query": 4}  # not retried: it frees up over 24 hours, not seconds
        assert sf.limit_info is not None and sf.limit_info.remaining == 0
    assert "daily API request allocation is used up" in str(info.value)


async def test_server_unavailable_is_retried_then_a_transient_error(sandbox):
    ext = marker()
    async with client(sandbox, max_retries=2) as sf:
        await sf.authenticate()
        faults(sandbox, 1.0, ["503"])
        with pytest.raises(TransientError) as read:
            await sf.query_list("SELECT Id FROM User")
        with pytest.raises(TransientError) as write:
            await sf.create("Task", {"Subject": "x", "sia_activity_id__c": ext})
        faults(sandbox, 0.0)
        assert sf.calls.snapshot() == {"query": 3, "sobjects/Task": 3}  # 503 means "not processed": resent
        assert await tasks_with(sf, "sia_activity_id__c", ext) == []
    assert read.value.code == write.value.code == "SERVER_UNAVAILABLE"
    assert not isinstance(write.value, OutcomeUnknownError)


async def test_a_server_timeout_is_retried_for_reads_but_not_for_creates(sandbox):
    async with client(sandbox, max_retries=2) as sf:
        await sf.authenticate()
        faults(sandbox, 1.0, ["604"])  # 500 REQUEST_RUNNING_TOO_LONG
        with pytest.raises(TransientError):
            await sf.query_list("SELECT Id FROM User")
        with pytest.raises(TransientError) as write:
            await sf.create("Task", {"Subject": "x"})
    assert sf.calls.snapshot() == {"query": 3, "sobjects/Task": 1}
    assert write.value.code == "REQUEST_RUNNING_TOO_LONG"


# ------------------------------------------------------------------------------------------------ lost replies


async def test_commit_then_drop_on_a_create_is_outcome_unknown(sandbox):
    ext = marker()
    async with client(sandbox) as sf:
        await sf.authenticate()
        faults(sandbox, 1.0, ["commit_drop"])
        with pytest.raises(OutcomeUnknownError) as info:
            await sf.create("Task", {"Subject": "maybe", "sia_activity_id__c": ext})
        faults(sandbox, 0.0)
        assert sf.calls.snapshot() == {"sobjects/Task": 1}  # never resent blindly
        assert (
            len(await tasks_with(sf, "sia_activity_id__c", ext)) == 1
        )  # it was applied: only a reconcile can tell
    assert "may or may not have been applied" in str(info.value)


async def test_a_drop_before_the_write_is_also_outcome_unknown(sandbox):
    ext = marker()
    async with client(sandbox) as sf:
        await sf.authenticate()
        faults(sandbox, 1.0, ["drop"])
        with pytest.raises(OutcomeUnknownError):
            await sf.create("Task", {"Subject": "maybe", "sia_activity_id__c": ext})
        faults(sandbox, 0.0)
        assert (
            await tasks_with(sf, "sia_activity_id__c", ext) == []
        )  # not applied, but the client cannot know


async def test_commit_then_drop_on_a_collection_create_names_the_unknown_items(sandbox):
    ext = marker()
    items = [{"Subject": f"c {i}", "sia_activity_id__c": f"{ext}-{i}"} for i in range(3)]
    async with client(sandbox) as sf:
        await sf.authenticate()
        faults(sandbox, 1.0, ["commit_drop"])
        with pytest.raises(OutcomeUnknownError) as info:
            await sf.create_many("Task", items)
        faults(sandbox, 0.0)
        assert info.value.unknown_items == items and info.value.results == []
        assert len(await tasks_with(sf, "sia_activity_id__c", ext)) == 3


async def test_idempotent_writes_are_resent_after_a_lost_reply(sandbox_factory):
    sb = sandbox_factory(people=20)
    ext = marker()
    async with client(sb, max_retries=8) as sf:
        tid = await sf.create("Task", {"Subject": "x", "sia_activity_id__c": ext})
        faults(sb, 0.5, ["commit_drop"])  # seeded: the same replies are lost on every run
        for i in range(4):
            await sf.update("Task", tid, {"Subject": f"edited {i}"})
            assert (await sf.upsert("Task", "sia_activity_id__c", ext, {"Status": "Completed"})).id == tid
            many = await sf.upsert_many(
                "Task", "sia_activity_id__c", [{"Subject": "m", "sia_activity_id__c": f"{ext}-m"}]
            )
            assert many[0].success
        assert await sf.delete("Task", tid) in (True, False)  # a resent delete finds the record gone
        faults(sb, 0.0)
        assert await tasks_with(sf, "sia_activity_id__c", ext) == [many[0].id]  # each external id once
        assert (await sf.get("Task", many[0].id or "", ["Subject"]))["Subject"] == "m"
    assert stats(sb)["faults"]["commit_drop"] >= 3


async def test_thirty_percent_faults_while_paging_return_exactly_the_fault_free_set(sandbox_factory):
    sb = sandbox_factory(people=3000)
    query = "SELECT Id, Email, LastName FROM Lead ORDER BY Id"
    async with client(sb) as sf:
        clean = [r async for r in sf.query(query, batch_size=200)]
        faults(sb, 0.3)  # every kind: 401, 403, 500, 502, 503, slow, drop, commit_drop ...
        runs = [[r async for r in sf.query(query, batch_size=200)] for _ in range(3)]
        faults(sb, 0.0)
    assert len(clean) > 1500 and len({r["Id"] for r in clean}) == len(clean)
    assert all(run == clean for run in runs)
    injected = stats(sb)["faults"]
    assert sum(injected.values()) >= 6 and len(injected) >= 3, injected


async def test_thirty_percent_faults_during_upserts_write_each_record_once(sandbox_factory):
    sb = sandbox_factory(people=50)
    ext = marker()
    records = [{"Subject": f"u {i}", "sia_activity_id__c": f"{ext}-{i}"} for i in range(450)]
    async with client(sb, max_retries=8) as sf:
        await sf.authenticate()
        faults(sb, 0.3, ["503", "606", "drop", "commit_drop", "502", "604", "slow"])
        results = await sf.upsert_many("Task", "sia_activity_id__c", records)
        faults(sb, 0.0)
        assert all(r.success for r in results) and [r.item for r in results] == records
        assert len(set(await tasks_with(sf, "sia_activity_id__c", ext))) == 450
    assert sum(stats(sb)["faults"].values()) >= 1


# ------------------------------------------------------------------------------------------------ wire tamper

LOCKED = {
    "statusCode": "UNABLE_TO_LOCK_ROW",
    "message": "unable to obtain exclusive access to this record",
    "fields": [],
}


class WireTamper:
    """An ASGI layer in front of a real in-process sandbox for what its fault injector lacks."""

    def __init__(self, app: Any) -> None:
        self.app = app
        self.seen: list[tuple[str, str, str, int]] = []  # host, method, path, status
        self.token_forms: list[dict[str, str]] = []
        self.lock_single = (
            0  # the next N single-record Task creates answer 400 UNABLE_TO_LOCK_ROW (not applied)
        )
        self.lock_records: list[
            set[int]
        ] = []  # per collection create: indices answered "locked" (not sent on)
        self.token_extra: dict[str, Any] = {}

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        method, path = scope["method"], scope["path"]
        host = dict(scope["headers"]).get(b"host", b"").decode()
        body = b""
        while True:
            msg = await receive()
            body += msg.get("body", b"")
            if not msg.get("more_body"):
                break
        if path.endswith("/oauth2/token"):
            self.token_forms.append(dict(parse_qsl(body.decode())))
        if (
            self.lock_single
            and method == "POST"
            and re.fullmatch(r"/services/data/v[\d.]+/sobjects/Task/?", path)
        ):
            self.lock_single -= 1
            err = [{"errorCode": "UNABLE_TO_LOCK_ROW", "message": LOCKED["message"]}]
            await self._reply(send, host, method, path, 400, [], json.dumps(err).encode())
            return
        locked: set[int] = set()
        total = 0
        if self.lock_records and method == "POST" and path.endswith("/composite/sobjects"):
            locked = self.lock_records.pop(0)
            payload = json.loads(body)
            total = len(payload["records"])
            payload["records"] = [r for i, r in enumerate(payload["records"]) if i not in locked]
            body = json.dumps(payload).encode()
        status, headers, out = await self._forward(scope, body)
        if locked:
            applied = iter(json.loads(out))
            rows = [
                {"success": False, "errors": [LOCKED]} if i in locked else next(applied) for i in range(total)
            ]
            out = json.dumps(rows).encode()
        if self.token_extra and path.endswith("/oauth2/token") and status == 200:
            out = json.dumps({**json.loads(out), **self.token_extra}).encode()
        await self._reply(send, host, method, path, status, headers, out)

    async def _forward(self, scope: Any, body: bytes) -> tuple[int, list[Any], bytes]:
        delivered = False
        started: dict[str, Any] = {}
        chunks: list[bytes] = []

        async def receive() -> dict[str, Any]:
            nonlocal delivered
            if not delivered:
                delivered = True
                return {"type": "http.request", "body": body, "more_body": False}
            await asyncio.Event().wait()  # never disconnects
            raise AssertionError

        async def send(msg: dict[str, Any]) -> None:
            if msg["type"] == "http.response.start":
                started.update(msg)
            elif msg["type"] == "http.response.body":
                chunks.append(msg.get("body", b""))

        await self.app(scope, receive, send)
        headers = [(k, v) for k, v in started.get("headers", []) if k.lower() != b"content-length"]
        return int(started["status"]), headers, b"".join(chunks)

    async def _reply(
        self, send: Any, host: str, method: str, path: str, status: int, headers: list[Any], out: bytes
    ) -> None:
        self.seen.append((host, method, path, status))
        headers = [*headers, (b"content-length", str(len(out)).encode())]
        if not any(k.lower() == b"content-type" for k, _ in headers):
            headers.append((b"content-type", b"application/json"))
        await send({"type": "http.response.start", "status": status, "headers": headers})
        await send({"type": "http.response.body", "body": out})


@pytest.fixture
def tamper() -> Iterator[WireTamper]:
    app = create_app(sandbox_config(people=30))
    try:
        yield WireTamper(app)
    finally:
        sandbox_of(app).close()


@pytest.fixture
async def tampered(tamper: WireTamper) -> AsyncIterator[SalesforceClient]:
    http = httpx.AsyncClient(transport=httpx.ASGITransport(app=tamper), timeout=30)
    async with SalesforceClient(
        "http://login.test", SALESFORCE_CLIENT_ID, SALESFORCE_CLIENT_SECRET, http=http, **FAST
    ) as sf:
        yield sf
    await http.aclose()


async def test_a_locked_row_on_a_single_create_is_resent(tamper, tampered):
    ext = marker()
    tamper.lock_single = 2
    tid = await tampered.create("Task", {"Subject": "lock", "sia_activity_id__c": ext})
    assert await tasks_with(tampered, "sia_activity_id__c", ext) == [tid]
    assert tampered.calls.snapshot()["sobjects/Task"] == 3


async def test_a_row_that_stays_locked_is_a_transient_error(tamper, tampered):
    tamper.lock_single = 100
    tampered.max_retries = 2
    with pytest.raises(TransientError) as info:
        await tampered.create("Task", {"Subject": "lock"})
    assert info.value.code == "UNABLE_TO_LOCK_ROW" and tampered.calls.snapshot()["sobjects/Task"] == 3


async def test_locked_records_in_a_collection_are_resent_alone(tamper, tampered):
    ext = marker()
    items = [{"Subject": f"l {i}", "sia_activity_id__c": f"{ext}-{i}"} for i in range(5)]
    tamper.lock_records = [
        {1, 3},
        {1},
    ]  # first call: records 1 and 3 locked; resend of [1, 3]: its first locked
    results = await tampered.create_many("Task", items)
    assert [r.item for r in results] == items and all(r.success for r in results)
    assert len({r.id for r in results}) == 5
    assert sorted(await tasks_with(tampered, "sia_activity_id__c", ext)) == sorted(r.id for r in results)
    assert tampered.calls.snapshot()["composite/sobjects"] == 3


async def test_data_calls_follow_the_instance_url_of_the_token_reply(tamper, tampered):
    tamper.token_extra = {"instance_url": "http://eu42.instance.test"}
    assert await tampered.query_list("SELECT Id FROM User LIMIT 1")
    hosts = {
        (host, "token" if path.endswith("/oauth2/token") else "data") for host, _, path, _ in tamper.seen
    }
    assert hosts == {("login.test", "token"), ("eu42.instance.test", "data")}
    assert tampered.instance_url == "http://eu42.instance.test" and tampered.login_url == "http://login.test"


async def test_a_token_with_expires_in_is_renewed_before_it_expires(tamper, tampered):
    tamper.token_extra = {"expires_in": 61}  # renewed 60 s early: after 1 s here
    await tampered.query_list("SELECT Id FROM User LIMIT 1")
    await asyncio.sleep(1.05)
    await tampered.query_list("SELECT Id FROM User LIMIT 1")
    assert tampered.auth_calls.total == 2 and all(status != 401 for *_, status in tamper.seen)


async def test_a_rotated_refresh_token_is_kept_reported_and_redacted(tamper, caplog):
    caplog.set_level(logging.DEBUG)
    rotated = "5Aep-rotated-refresh-token-abc123"
    tamper.token_extra = {"refresh_token": rotated}
    stored: list[str] = []
    http = httpx.AsyncClient(transport=httpx.ASGITransport(app=tamper), timeout=30)
    async with SalesforceClient(
        "http://login.test",
        SALESFORCE_CLIENT_ID,
        refresh_token=SALESFORCE_REFRESH_TOKEN,
        http=http,
        on_refresh_token=stored.append,
        **FAST,
    ) as sf:
        await sf.query_list("SELECT Id FROM User LIMIT 1")
        assert stored == [rotated]
        with pytest.raises(AuthError) as info:  # the sandbox does not know the rotated token: refused
            await sf.authenticate(force=True)
    await http.aclose()
    assert [f["grant_type"] for f in tamper.token_forms] == ["refresh_token", "refresh_token"]
    assert tamper.token_forms[1]["refresh_token"] == rotated and "client_secret" not in tamper.token_forms[0]
    assert rotated not in str(info.value) and rotated not in redact(f"token={rotated} {rotated}")
    assert rotated not in caplog.text
