"""Answers that do not match Marketo's API are refused at the client layer, for every endpoint sia-tui uses, and a
full sync never silently replaces a populated cache with an empty one (issue 12, item 4).

The answers are bent by a proxy in front of the sandbox (real HTTP for the headless commands) or by an ASGI wrapper
(in-process for the client tests): a faithful Marketo never sends them, a broken proxy or server does.
"""

from __future__ import annotations

import json
import os
import sqlite3
from collections.abc import Awaitable, Callable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest

from sia_sandbox.app import create_app, sandbox_of
from sia_sandbox.config import MARKETO_CLIENT_ID, MARKETO_CLIENT_SECRET
from sia_sandbox.server import RunningSandbox, start_sandbox
from sia_tui.cli import main
from sia_tui.marketo.bulk import ExportFilter
from sia_tui.marketo.client import MarketoClient
from sia_tui.marketo.models import CustomActivity
from sia_tui.net import ApiError, OutcomeUnknownError
from tests.conftest import sandbox_config
from tests.support.tamper_proxy import TamperProxy

PROFILE = "crm"
LEADS = r"^/rest/v1/leads\.json$"


@pytest.fixture(scope="module")
def running() -> Iterator[RunningSandbox]:
    with start_sandbox(
        sandbox_config(people=120, rate_limit_calls=100_000, daily_quota=10_000_000)
    ) as sandbox:
        yield sandbox


@pytest.fixture
def proxy(running: RunningSandbox) -> Iterator[TamperProxy]:
    with TamperProxy(running.base_url) as tamper:
        yield tamper


@pytest.fixture
def sync_cli(
    proxy: TamperProxy, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture
):
    """``sia-tui --headless sync ...`` in-process, for a profile whose Marketo is the proxy."""
    for var in [v for v in os.environ if v.startswith("SIA_")]:
        monkeypatch.delenv(var)
    home = tmp_path / "home"
    env = {
        "SIA_HOME": str(home),
        "SIA_PROFILE": PROFILE,
        "SIA_MARKETO_BASE_URL": proxy.url,
        "SIA_MARKETO_CLIENT_ID": MARKETO_CLIENT_ID,
        "SIA_MARKETO_CLIENT_SECRET": MARKETO_CLIENT_SECRET,
        "SIA_MARKETO_MAX_CALLS_PER_20S": "100",
        "SIA_MARKETO_MAX_CONCURRENCY": "10",
    }
    for key, value in env.items():
        monkeypatch.setenv(key, value)

    def run(*args: str) -> tuple[int, str, str]:
        code = main(["--headless", *args])
        out, err = capsys.readouterr()
        return code, out, err

    run.cache = home / "data" / f"{PROFILE}.cache.db"  # type: ignore[attr-defined]
    return run


def people_in(cache: Path) -> int:
    with sqlite3.connect(cache) as conn:
        return int(conn.execute("SELECT count(*) FROM people").fetchone()[0])


def test_a_full_sync_refuses_result_notalist_and_keeps_every_person(sync_cli, proxy):
    assert sync_cli("sync", "--strategy", "rest")[0] == 0
    before = people_in(sync_cli.cache)
    assert before > 0
    proxy.rewrite("GET", LEADS, lambda body: {**body, "result": "notalist"})
    code, out, err = sync_cli("sync", "--full", "--strategy", "rest")
    assert code == 1 and out == ""
    assert "GET /rest/v1/leads.json" in err and "does not match" in err and "notalist" in err
    assert "unexpected" not in err and "Traceback" not in err and len(err.strip().splitlines()) == 1
    assert people_in(sync_cli.cache) == before
    proxy.clear()  # Marketo answers properly again: the next full sync completes as if nothing had happened
    assert sync_cli("sync", "--full", "--strategy", "rest")[0] == 0
    assert people_in(sync_cli.cache) == before


def test_a_full_sync_that_finds_nobody_keeps_the_cache_unless_allow_empty(sync_cli, proxy):
    assert sync_cli("sync", "--strategy", "rest")[0] == 0
    before = people_in(sync_cli.cache)
    proxy.rewrite("GET", LEADS, lambda body: {**body, "result": []})  # well-formed: "nobody"
    code, out, err = sync_cli("sync", "--full", "--strategy", "rest")
    assert code == 1 and out == ""
    assert f"{before:,} people" in err and "kept" in err and "--allow-empty" in err
    assert people_in(sync_cli.cache) == before
    # The abandoned run leaves no half state behind: the next plain sync is incremental on the kept cache.
    proxy.clear()
    code, out, err = sync_cli("--json", "sync")
    assert code == 0 and json.loads(out)["people"] == before
    assert json.loads(out)["created"] == 0 and json.loads(out)["deleted"] == 0
    proxy.rewrite("GET", LEADS, lambda body: {**body, "result": []})
    code, out, err = sync_cli("--json", "sync", "--full", "--strategy", "rest", "--allow-empty")
    assert code == 0 and json.loads(out)["people"] == 0 and json.loads(out)["deleted"] == before
    assert people_in(sync_cli.cache) == 0


def test_a_first_sync_that_finds_nobody_is_simply_empty(sync_cli, proxy):
    proxy.rewrite("GET", LEADS, lambda body: {**body, "result": []})
    code, out, _ = sync_cli("--json", "sync", "--strategy", "rest")
    assert code == 0 and json.loads(out)["people"] == 0


# ------------------------------------------------------------------------------------ every endpoint, in-process


class AnswerBender:
    """An ASGI wrapper around the sandbox app that rewrites the JSON answer of one endpoint."""

    def __init__(self, app: Any) -> None:
        self.app = app
        self.method = ""
        self.path: str | None = None
        self.change: Callable[[dict[str, Any]], Any] = lambda body: body

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] != "http" or self.path is None:
            await self.app(scope, receive, send)
            return
        import re

        if scope["method"] != self.method or not re.match(self.path, scope["path"]):
            await self.app(scope, receive, send)
            return
        started: dict[str, Any] = {}
        chunks: list[bytes] = []

        async def capture(message: dict[str, Any]) -> None:
            if message["type"] == "http.response.start":
                started.update(message)
            else:
                chunks.append(message.get("body", b""))

        await self.app(scope, receive, capture)
        out = json.dumps(self.change(json.loads(b"".join(chunks)))).encode()
        headers = [(b"content-type", b"application/json"), (b"content-length", str(len(out)).encode())]
        await send({"type": "http.response.start", "status": 200, "headers": headers})
        await send({"type": "http.response.body", "body": out})


@pytest.fixture
def bender() -> Iterator[AnswerBender]:
    app = create_app(sandbox_config(people=60))
    try:
        yield AnswerBender(app)
    finally:
        sandbox_of(app).close()


SINCE = datetime(2026, 2, 1, tzinfo=UTC)


async def _activities(m: MarketoClient) -> Any:
    return [a async for a in m.iter_activities([1], since=SINCE)]


async def _lead_changes(m: MarketoClient) -> Any:
    return [a async for a in m.iter_lead_changes(["email"], since=SINCE)]


async def _deleted(m: MarketoClient) -> Any:
    return [a async for a in m.iter_deleted_leads(since=SINCE)]


async def _export_status(m: MarketoClient) -> Any:
    return await m.lead_export_status("00000000-0000-0000-0000-000000000000")


def _write_one(m: MarketoClient) -> Awaitable[Any]:
    item = CustomActivity(
        lead_id=1001, activity_type_id=100001, primary_attribute_value="x", activity_date=SINCE
    )
    return m.add_custom_activities([item])


NOT_A_LIST = lambda body: {**body, "success": True, "result": "notalist"}  # noqa: E731

#: (method, path pattern, what the app calls, how the answer is bent, the phrase the refusal must contain)
CASES: list[tuple[str, str, Callable[[MarketoClient], Awaitable[Any]], Callable[[Any], Any], str]] = [
    ("GET", LEADS, lambda m: m.get_leads("id", [1001, 1002], ["email"]), NOT_A_LIST, '"result" is'),
    ("GET", LEADS, lambda m: m.get_leads("id", [1001]), lambda b: {**b, "result": [{"email": "x@y"}]},
     '"result"[0] has no "id"'),
    ("GET", LEADS, lambda m: m.get_leads("id", [1001]), lambda b: {**b, "result": [{"id": "1001"}]},
     "not a whole number"),
    ("GET", LEADS, lambda m: m.get_leads("id", [1001]), lambda b: {**b, "result": ["1001"]}, "not an object"),
    ("GET", LEADS, lambda m: m.get_leads("id", [1001]), lambda b: {**b, "nextPageToken": 7}, '"nextPageToken"'),
    ("GET", LEADS, lambda m: m.get_leads("id", [1001]), lambda b: {**b, "moreResult": "maybe"}, '"moreResult"'),
    ("GET", LEADS, lambda m: m.get_leads("id", [1001]), lambda b: {**b, "success": "yes"}, '"success"'),
    ("GET", LEADS, lambda m: m.get_leads("id", [1001]), lambda b: [b], "not a JSON object"),
    ("GET", r"^/rest/v1/lead/\d+\.json$", lambda m: m.get_lead(1001), NOT_A_LIST, '"result" is'),
    ("GET", r"^/rest/v1/leads/describe\.json$", lambda m: m.describe_leads(refresh=True), NOT_A_LIST, "result"),
    ("POST", LEADS, lambda m: m.sync_leads([{"email": "shape@example.com"}]), NOT_A_LIST, '"result" is'),
    ("GET", r"^/rest/v1/activities/pagingtoken\.json$", lambda m: m.paging_token(SINCE),
     lambda b: {**b, "nextPageToken": 12345}, '"nextPageToken"'),
    ("GET", r"^/rest/v1/activities\.json$", _activities, NOT_A_LIST, '"result" is'),
    ("GET", r"^/rest/v1/activities\.json$", _activities,
     lambda b: {**b, "result": [{"id": 1, "activityTypeId": 1, "activityDate": "2026-02-02T00:00:00Z"}]},
     'has no "leadId"'),
    ("GET", r"^/rest/v1/activities/leadchanges\.json$", _lead_changes, NOT_A_LIST, '"result" is'),
    ("GET", r"^/rest/v1/activities/deletedleads\.json$", _deleted, NOT_A_LIST, '"result" is'),
    ("GET", r"^/rest/v1/activities/types\.json$", lambda m: m.activity_types(refresh=True), NOT_A_LIST, "result"),
    ("GET", r"^/rest/v1/activities/external/types\.json$", lambda m: m.custom_activity_types(), NOT_A_LIST,
     "result"),
    ("POST", r"^/rest/v1/activities/external\.json$", _write_one, NOT_A_LIST, "may or may not have been applied"),
    ("POST", r"^/bulk/v1/leads/export/create\.json$",
     lambda m: m.create_lead_export(["email"], ExportFilter.created_at(SINCE, SINCE + timedelta(days=1))),
     NOT_A_LIST, "result"),
    ("GET", r"^/bulk/v1/leads/export/[^/]+/status\.json$", _export_status,
     lambda b: {"success": True, "result": [{"status": "Completed"}]}, 'has no "exportId"'),
    ("GET", r"^/rest/v1/stats/usage\.json$", lambda m: m.usage_today(), NOT_A_LIST, "result"),
]  # fmt: skip


@pytest.mark.parametrize(("method", "path", "call", "change", "phrase"), CASES)
async def test_a_malformed_answer_is_refused_naming_the_endpoint(bender, method, path, call, change, phrase):
    bender.method, bender.path, bender.change = method, path, change
    http = httpx.AsyncClient(transport=httpx.ASGITransport(app=bender), base_url="http://marketo.test")
    async with MarketoClient(
        "http://marketo.test", MARKETO_CLIENT_ID, MARKETO_CLIENT_SECRET, http=http, max_retries=1,
        backoff_base_s=0.001, backoff_cap_s=0.01,
    ) as marketo:  # fmt: skip
        with pytest.raises(ApiError) as info:
            await call(marketo)
    await http.aclose()
    from sia_tui.net import MalformedAnswerError

    error = info.value
    assert isinstance(error, MalformedAnswerError | OutcomeUnknownError)
    assert error.endpoint is not None and error.endpoint.startswith(method)
    assert error.endpoint.split(" ", 1)[1].split("?")[0].rstrip("/") in str(error)
    assert phrase in str(error)
