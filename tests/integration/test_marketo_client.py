"""The Marketo client against the sandbox over HTTP: auth, leads, activities, custom activities, check, quota."""

from __future__ import annotations

import logging
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest

from sia_sandbox.config import MARKETO_CLIENT_ID, MARKETO_CLIENT_SECRET, SandboxConfig
from sia_sandbox.server import start_sandbox
from sia_tui.marketo.client import MarketoClient
from sia_tui.marketo.models import CustomActivity, CustomActivityTypeSpec, CustomAttributeSpec
from sia_tui.net import AuthError, QuotaExhaustedError, ValidationError
from tests.support.activities import before, cutoff_now

FIRST_ID = 1001
PEOPLE = 600
LEADS = "GET /rest/v1/leads.json"
ACTIVITIES = "GET /rest/v1/activities.json"
ADD_ACTIVITIES = "POST /rest/v1/activities/external.json"

CALL_TYPE = CustomActivityTypeSpec(
    api_name="siaTestCall",
    name="Log Test Call",
    trigger_name="Logs Test Call",
    filter_name="Logged Test Call",
    primary_attribute=CustomAttributeSpec("subject", "Subject"),
    attributes=(
        CustomAttributeSpec("outcome", "Outcome"),
        CustomAttributeSpec("durationS", "Duration", "integer"),
    ),
)


@pytest.fixture(scope="module")
def sb():
    """One small sandbox for this module: 100 calls per 1 s window so behaviour tests do not wait on limits."""
    running = start_sandbox(SandboxConfig(people=PEOPLE, seed=7, rate_limit_window_s=1.0))
    try:
        yield running
    finally:
        running.stop()


class Recorder:
    """Sees every request the client sends (an httpx event hook: observation, not a mock)."""

    def __init__(self) -> None:
        self.requests: list[httpx.Request] = []

    async def __call__(self, request: httpx.Request) -> None:
        self.requests.append(request)

    def http(self) -> httpx.AsyncClient:
        return httpx.AsyncClient(event_hooks={"request": [self]})

    def to(self, path: str) -> list[httpx.Request]:
        return [r for r in self.requests if r.url.path == path]


def client(base_url: str, *, secret: str = MARKETO_CLIENT_SECRET, **options: Any) -> MarketoClient:
    settings: dict[str, Any] = {
        "max_calls_per_20s": 100,
        "max_concurrency": 10,
        "rate_window_s": 1.0,
        "backoff_base_s": 0.01,
        "backoff_cap_s": 0.2,
        "token_safety_margin_s": 1.0,
    }
    settings.update(options)
    return MarketoClient(base_url, MARKETO_CLIENT_ID, secret, **settings)


# ----------------------------------------------------------------------------------------------------- auth


async def test_bad_secret_is_an_auth_error_that_says_what_to_fix_and_hides_the_secret(sb):
    async with client(sb.base_url, secret="wrong-secret-4711") as marketo:
        with pytest.raises(AuthError) as info:
            await marketo.get_lead(FIRST_ID)
    err = info.value
    assert "client id and secret" in str(err)
    assert "marketo.client_secret" in str(err)
    assert err.http_status == 401
    for text in (str(err), repr(err), str(err.to_dict())):
        assert "wrong-secret-4711" not in text
    assert marketo.calls.total == 0  # identity calls are counted apart: they do not count toward limits
    assert marketo.identity_calls.total >= 1


async def test_token_is_cached_per_client_id_across_clients(sb):
    async with client(sb.base_url) as first:
        await first.get_lead(FIRST_ID)
    async with client(sb.base_url) as second:
        await second.get_lead(FIRST_ID)
        await second.get_lead(FIRST_ID + 1)
    assert second.identity_calls.total == 0
    assert first.limiter is second.limiter  # one limiter per Marketo instance, process-wide


async def test_secrets_and_tokens_never_reach_log_lines(sb, caplog):
    with caplog.at_level(logging.DEBUG):
        async with client(sb.base_url) as marketo:
            await marketo.get_lead(FIRST_ID)
            token = marketo.tokens.cached.value
    assert caplog.records, "httpx logs each request line"
    for record in caplog.records:
        line = record.getMessage()
        assert MARKETO_CLIENT_SECRET not in line
        assert token not in line


# ---------------------------------------------------------------------------------------------------- leads


async def test_leads_by_filter_chunk_long_value_lists_and_page_each_chunk(sb):
    recorder = Recorder()
    ids = [*range(FIRST_ID, FIRST_ID + PEOPLE), 99_999_999]  # 601 values → 3 calls' worth, one unknown id
    async with recorder.http() as http, client(sb.base_url, http=http) as marketo:
        leads = [
            lead
            async for lead in marketo.iter_leads(
                "id", ids, fields=["id", "email", "firstName", "mobilePhone"], batch_size=250
            )
        ]
    assert sorted(lead["id"] for lead in leads) == list(range(FIRST_ID, FIRST_ID + PEOPLE))
    assert all("mobilePhone" in lead for lead in leads)  # absent fields are implied null
    calls = recorder.to("/rest/v1/leads.json")
    assert all(len(r.url.params["filterValues"].split(",")) <= 300 for r in calls)
    assert len(calls) > 3  # 3 chunks, and batchSize 250 makes the 300-value chunks page
    assert any("nextPageToken" in r.url.params for r in calls)


async def test_lead_by_id_and_an_unknown_id(sb):
    async with client(sb.base_url) as marketo:
        lead = await marketo.get_lead(FIRST_ID + 3, fields=["email", "firstName", "unsubscribed"])
        missing = await marketo.get_lead(99_999_999)
    assert lead is not None and lead["id"] == FIRST_ID + 3
    assert set(lead) >= {"email", "firstName", "unsubscribed"}
    assert missing is None


async def test_describe_is_cached(sb):
    async with client(sb.base_url) as marketo:
        fields = await marketo.describe_leads(refresh=True)
        again = await marketo.describe_leads()
    names = {f.get("rest", {}).get("name") for f in fields}
    assert {"email", "firstName", "unsubscribed"} <= names
    assert again == fields
    assert marketo.calls.snapshot()["GET /rest/v1/leads/describe.json"] == 1


async def test_uri_over_8kb_is_sent_as_post_method_get(sb):
    recorder = Recorder()
    async with recorder.http() as http, client(sb.base_url, http=http) as marketo:
        real = await marketo.get_leads("id", range(FIRST_ID, FIRST_ID + 20), fields=["email"])
        emails = [lead["email"] for lead in real]
        padding = [f"nobody-{n}-{'x' * 20}@unknown-domain-for-testing.example.com" for n in range(280)]
        found = await marketo.get_leads("email", emails + padding, fields=["email"])
    assert {lead["email"] for lead in found} == set(emails)
    overridden = [r for r in recorder.to("/rest/v1/leads.json") if r.method == "POST"]
    assert overridden and all(r.url.params.get("_method") == "GET" for r in overridden)
    assert all(len(str(r.url)) <= 8192 for r in recorder.requests)


async def test_sync_leads_reports_each_record_and_changes_are_readable(sb):
    async with client(sb.base_url) as marketo:
        before = await marketo.get_lead(FIRST_ID + 40, fields=["email", "title"])
        assert before is not None
        updated = await marketo.sync_leads(
            [{"id": FIRST_ID + 40, "title": "Chief Test Officer"}], action="updateOnly", lookup_field="id"
        )
        duplicate = await marketo.sync_leads([{"email": before["email"]}], action="createOnly")
        after = await marketo.get_lead(FIRST_ID + 40, fields=["title"])
    assert updated[0].status == "updated" and updated[0].ok and updated[0].id == FIRST_ID + 40
    assert duplicate[0].status == "skipped" and not duplicate[0].ok
    assert duplicate[0].reasons[0].code in {"1005", "1007"}
    assert after is not None and after["title"] == "Chief Test Officer"


# ----------------------------------------------------------------------------------------------- activities


async def test_activity_types_are_cached_for_a_day(sb):
    async with client(sb.base_url) as marketo:
        types = await marketo.activity_types(refresh=True)
        await marketo.activity_types()
    ids = {t.id for t in types}
    assert {1, 6, 7, 10, 11, 12, 13, 37, 46} <= ids
    assert marketo.calls.snapshot()["GET /rest/v1/activities/types.json"] == 1


async def test_activities_are_chunked_to_10_types_and_30_leads_and_paged_to_the_end(sb):
    recorder = Recorder()
    # Each call walks 300 of the whole instance's activities, so the range sets the cost: 20 days of 600 people.
    since = datetime.now(UTC) - timedelta(days=20)
    leads = list(range(FIRST_ID, FIRST_ID + 45))
    cutoff = cutoff_now()
    async with recorder.http() as http, client(sb.base_url, http=http) as marketo:
        type_ids = [t.id for t in await marketo.activity_types(refresh=True)]
        assert len(type_ids) > 10
        pages = [page async for page in marketo.iter_activity_pages(type_ids, since=since, lead_ids=leads)]
        halves = []
        for part in (leads[:20], leads[20:]):
            halves += [a async for a in marketo.iter_activities(type_ids, since=since, lead_ids=part)]
    records = [a for page in pages for a in page.records]
    guids = [a["marketoGUID"] for a in records]
    assert records, "45 people have activity in 20 days"
    assert len(guids) == len(set(guids))
    assert {a["leadId"] for a in records} <= set(leads)
    assert {a["activityTypeId"] for a in records} <= set(type_ids)
    settled = {a["marketoGUID"] for a in before(records, cutoff)}
    assert settled == {
        a["marketoGUID"] for a in before(halves, cutoff)
    }  # chunking loses and duplicates nothing
    calls = recorder.to("/rest/v1/activities.json")
    assert all(len(r.url.params["activityTypeIds"].split(",")) <= 10 for r in calls)
    assert all(len(r.url.params["leadIds"].split(",")) <= 30 for r in calls)
    assert all(not page.more_result or page.next_page_token for page in pages)
    assert any(page.more_result and not page.records for page in pages), "empty pages with moreResult occur"


async def test_lead_changes_need_fields_and_show_a_change_made_through_the_api(sb):
    since = datetime.now(UTC) - timedelta(minutes=5)
    async with client(sb.base_url) as marketo:
        with pytest.raises(ValidationError):
            [c async for c in marketo.iter_lead_changes([], since=since)]
        await marketo.sync_leads(
            [{"id": FIRST_ID + 41, "title": "VP Changes"}], action="updateOnly", lookup_field="id"
        )
        changes = [c async for c in marketo.iter_lead_changes(["title"], since=since)]
    mine = [c for c in changes if c["leadId"] == FIRST_ID + 41]
    assert mine and all(c["activityTypeId"] in (12, 13) for c in changes)
    assert any(
        f["name"] == "title" and f["newValue"] == "VP Changes" for c in mine for f in c.get("fields", [])
    )


async def test_deleted_leads_are_delete_lead_activities(sb):
    async with client(sb.base_url) as marketo:
        pages = [
            p async for p in marketo.iter_deleted_lead_pages(since=datetime.now(UTC) - timedelta(days=14))
        ]
    assert pages and not pages[-1].more_result
    assert all(a["activityTypeId"] == 37 for p in pages for a in p.records)


# --------------------------------------------------------------------------------------- custom activities


async def test_custom_activity_type_is_ensured_once_then_left_alone(sb):
    async with client(sb.base_url) as marketo:
        created = await marketo.ensure_custom_activity_type(CALL_TYPE)
        writes = {k: v for k, v in marketo.calls.snapshot().items() if k.startswith("POST")}
        again = await marketo.ensure_custom_activity_type(CALL_TYPE)
        writes_after = {k: v for k, v in marketo.calls.snapshot().items() if k.startswith("POST")}
    assert created.approved and created.id is not None
    assert {"outcome", "durationS"} <= created.attribute_api_names
    assert again.id == created.id
    assert writes_after == writes  # idempotent: the second ensure wrote nothing


async def test_custom_activities_map_back_to_the_callers_items_including_skipped(sb):
    now = datetime.now(UTC).replace(microsecond=0)
    async with client(sb.base_url) as marketo:
        activity_type = await marketo.ensure_custom_activity_type(CALL_TYPE)
        assert activity_type.id is not None
        items = [
            CustomActivity(
                FIRST_ID + 2, activity_type.id, "Intro call", now, {"outcome": "Connected", "durationS": 300}
            ),
            CustomActivity(99_999_999, activity_type.id, "Ghost call", now, {"outcome": "No answer"}),
            CustomActivity(FIRST_ID + 3, activity_type.id, "Follow-up", now, {"outcome": "Left voicemail"}),
        ]
        results = await marketo.add_custom_activities(items)
        stored = [
            a
            async for a in marketo.iter_activities(
                [activity_type.id], since=now - timedelta(minutes=1), lead_ids=[FIRST_ID + 2, FIRST_ID + 3]
            )
        ]
    assert [r.item for r in results] == items
    assert [r.status for r in results] == ["added", "skipped", "added"]
    assert results[1].code == "1004" and "not found" in results[1].message.lower()
    assert {a["marketoGUID"] for a in stored} >= {results[0].marketo_guid, results[2].marketo_guid}


async def test_more_than_300_custom_activities_go_in_batches(sb):
    now = datetime.now(UTC).replace(microsecond=0)
    async with client(sb.base_url) as marketo:
        activity_type = await marketo.ensure_custom_activity_type(CALL_TYPE)
        assert activity_type.id is not None
        items = [
            CustomActivity(
                FIRST_ID + (n % PEOPLE), activity_type.id, f"Call {n}", now, {"outcome": "Connected"}
            )
            for n in range(350)
        ]
        results = await marketo.add_custom_activities(items)
    assert len(results) == 350 and all(r.ok for r in results)
    assert [r.item.primary_attribute_value for r in results] == [f"Call {n}" for n in range(350)]
    assert len({r.marketo_guid for r in results}) == 350
    assert marketo.calls.snapshot()[ADD_ACTIVITIES] == 2


# ---------------------------------------------------------------------------------------------------- check


async def test_check_says_precisely_what_works(sb):
    async with client(sb.base_url) as marketo:
        await marketo.ensure_custom_activity_type(CALL_TYPE)
        report = await marketo.check(custom_type_api_names=[CALL_TYPE.api_name, "siaNotThere"])
    items = {item.name: item for item in report.items}
    assert items["token"].ok and MARKETO_CLIENT_ID in items["token"].message
    assert items["read_leads"].ok and items["read_activities"].ok and items["write_activities"].ok
    assert not items["custom_activity_types"].ok
    assert "missing: siaNotThere" in items["custom_activity_types"].message
    assert not report.ok
    assert report.to_dict()["items"][0]["name"] == "token"
    assert list(report) == report.items
    if "api_usage" in items:
        assert "API calls used today" in items["api_usage"].message


async def test_check_with_a_bad_secret_stops_at_the_token(sb):
    async with client(sb.base_url, secret="not-the-secret") as marketo:
        report = await marketo.check()
    items = {item.name: item for item in report.items}
    assert not items["token"].ok and "client id and secret" in items["token"].message
    assert not items["read_leads"].ok and "no access token" in items["read_leads"].message
    assert "not-the-secret" not in str(report.to_dict())


# ---------------------------------------------------------------------------------------------------- quota


async def test_daily_quota_stops_with_the_reset_time():
    running = start_sandbox(SandboxConfig(people=50, daily_quota=3))
    try:
        async with client(running.base_url) as marketo:
            for n in range(3):
                await marketo.get_lead(FIRST_ID + n)
            with pytest.raises(QuotaExhaustedError) as info:
                await marketo.get_lead(FIRST_ID)
    finally:
        running.stop()
    err = info.value
    assert err.code == "607"
    assert err.resets_at is not None and err.resets_at > datetime.now(UTC)
    assert "midnight US Central" in str(err)
    assert marketo.calls.snapshot()["GET /rest/v1/lead/{id}.json"] == 4  # 607 is final: never retried
