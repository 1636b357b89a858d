"""The people sync against the sandbox over HTTP: initial (REST and bulk), faults, resume, incremental, --full."""

from __future__ import annotations

from collections import Counter
from typing import Any

import httpx
import pytest

from sia_tui.store.db import open_db
from sia_tui.store.people import get_person
from sia_tui.store.state import get_state
from sia_tui.sync.checkpoint import INITIAL
from sia_tui.sync.engine import sync_with_client
from tests.conftest import MarketoHttp
from tests.integration.test_sync_helpers import (
    ROOMY,
    assert_cache_matches,
    cached_people,
    endpoint_calls,
    expected_people,
    fast_client,
)
from tests.support.sandbox_control import sales_users, stats

CREATE = "POST /bulk/v1/leads/export/create.json"
LEADS = "GET /rest/v1/leads.json"


class Crash(Exception):
    """Stands for the process dying right after a commit."""


@pytest.fixture
def db(tmp_path):
    database = open_db(tmp_path / "cache.db")
    yield database
    database.conn.close()


def owned_ids(running: Any, n: int, *, skip: set[int] | None = None) -> list[int]:
    return [i for i in sorted(expected_people(running)) if i not in (skip or set())][:n]


async def test_rest_initial_sync_holds_exactly_the_owner_gated_people(sandbox_factory, db):
    running = sandbox_factory(**ROOMY, people=700)
    async with fast_client(running) as client:
        summary = await sync_with_client(db, client)
    assert summary.kind == "initial" and summary.strategy == "rest"
    assert_cache_matches(db, running)
    expected = expected_people(running)
    assert summary.people == summary.created == len(expected) and summary.records_read == 700
    assert 0 < len(expected) < 700  # people without a sales owner were left out
    # Two Marketo records with the same email stay two people.
    emails = Counter(row[3] for row in cached_people(db).values())
    assert any(n > 1 for n in emails.values())
    # 300 ids per call: 3 probe calls, 3 chunks of ids, 10 empty chunks past the largest id.
    assert summary.calls_by_endpoint[LEADS] <= 3 + 3 + 10


async def test_bulk_initial_sync_holds_exactly_the_owner_gated_people(sandbox_factory, db):
    running = sandbox_factory(**ROOMY, people=500)
    async with fast_client(running) as client:
        summary = await sync_with_client(db, client, strategy="bulk")
    assert summary.strategy == "bulk"
    assert_cache_matches(db, running)
    windows = summary.calls_by_endpoint[CREATE]
    assert windows >= 36  # three years of history in ≤31-day createdAt windows
    assert summary.calls_by_endpoint[LEADS] == 3  # the probe only: every person came from the export files


async def test_sync_is_exact_with_20_percent_faults_by_rest_and_by_bulk(sandbox_factory, db):
    running = sandbox_factory(**ROOMY, people=600)
    async with httpx.AsyncClient() as http:  # every kind of fault, on one request in five
        reply = await http.post(f"{running.base_url}/_sandbox/faults", json={"rate": 0.2})
    assert reply.status_code == 200 and reply.json()["rate"] == 0.2
    async with fast_client(running) as client:
        await sync_with_client(db, client)
        assert_cache_matches(db, running)
        summary = await sync_with_client(db, client, full=True, strategy="bulk")
    assert summary.kind == "full" and summary.strategy == "bulk"
    assert_cache_matches(db, running)
    assert sum(stats(running)["faults"].values()) > 20


async def test_bulk_falls_back_to_rest_paging_when_the_export_quota_is_spent(sandbox_factory, db):
    running = sandbox_factory(**ROOMY, people=400, bulk_daily_bytes=1)
    async with fast_client(running) as client:
        summary = await sync_with_client(db, client, strategy="bulk")
    assert summary.strategy == "rest" and "quota" in (summary.fell_back or "").lower()
    assert_cache_matches(db, running)


async def test_progress_caps_the_eta_at_the_limiters_ceiling_only_while_paging(sandbox_factory, db):
    running = sandbox_factory(**ROOMY, people=400, bulk_daily_bytes=1)
    seen: list[Any] = []
    async with fast_client(running) as client:
        await sync_with_client(db, client, strategy="bulk", progress=seen.append)
        # The sync is background work: its ceiling is the share of the window it may use.
        ceiling = client.limiter.background_calls * 300 / client.limiter.window_s
    initial = [s for s in seen if s.phase == "initial"]
    # Bulk first (files, no per-call ceiling), then REST paging after the quota error: capped.
    fallback = next(i for i, s in enumerate(initial) if "REST paging instead" in s.message)
    assert all(s.ceiling_rate is None for s in initial[:fallback])
    assert all(s.ceiling_rate == ceiling for s in initial[fallback:])


async def test_a_resumed_rest_sync_reports_its_rate_from_what_it_reads_itself(sandbox_factory, db):
    running = sandbox_factory(**ROOMY, people=1_500)

    def crash_after_a_few_pages(snapshot: Any) -> None:
        if snapshot.phase == "initial" and snapshot.done >= 600:
            raise Crash

    async with fast_client(running) as client:
        with pytest.raises(Crash):
            await sync_with_client(db, client, strategy="rest", progress=crash_after_a_few_pages)
    read_before = get_state(db, INITIAL)["read"]
    seen: list[Any] = []
    async with fast_client(running) as client:
        summary = await sync_with_client(db, client, progress=seen.append)
    assert summary.resumed
    first = next(s for s in seen if s.phase == "initial")
    assert read_before > 0 and first.resumed_from == read_before == first.done
    last = [s for s in seen if s.phase == "initial"][-1]
    assert last.rate * last.elapsed_s == pytest.approx(last.done - read_before)
    assert_cache_matches(db, running)


async def test_an_interrupted_bulk_sync_resumes_its_jobs_instead_of_exporting_again(sandbox_factory, db):
    running = sandbox_factory(**ROOMY, people=400)

    def crash_after_three_windows(_: Any) -> None:
        state = get_state(db, INITIAL)
        if state and state["bulk"] and len(state["bulk"]["done"]) >= 3:
            raise Crash

    async with fast_client(running) as client:
        with pytest.raises(Crash):
            await sync_with_client(db, client, strategy="bulk", progress=crash_after_three_windows)
    before = get_state(db, INITIAL)
    created_first = endpoint_calls(running, CREATE)
    assert len(before["bulk"]["done"]) >= 3
    async with fast_client(running) as client:
        summary = await sync_with_client(db, client)
    assert summary.resumed and summary.strategy == "bulk"
    created_again = endpoint_calls(running, CREATE) - created_first
    windows = len(before["bulk"]["filters"])
    in_flight = len(before["bulk"]["jobs"])
    assert in_flight > 0  # polled again, not exported again (one more window if the history had to grow)
    assert created_again <= windows - len(before["bulk"]["done"]) - in_flight + 1
    assert_cache_matches(db, running)
    assert get_state(db, INITIAL) is None


async def test_incremental_sync_applies_changes_owner_loss_deletion_new_lead_and_unsubscribe(
    sandbox_factory, db
):
    running = sandbox_factory(**ROOMY, people=400)
    async with fast_client(running) as client:
        await sync_with_client(db, client)
    subscribed = [i for i, row in expected_people(running).items() if row[16] == 0]
    changed, lost, deleted, unsubscribes = subscribed[:4]
    owner = sales_users(running)[0]["Email"]
    api = MarketoHttp(running)
    try:
        api.post(
            "/rest/v1/leads.json",
            {
                "action": "updateOnly",
                "lookupField": "id",
                "input": [
                    {"id": changed, "title": "Chief [red]Sync[/] Officer 変更"},
                    {"id": lost, "sfdcLeadOwnerId": None, "externalSalesPersonId": None},
                    {"id": unsubscribes, "unsubscribed": True},
                ],
            },
        )
        api.post("/rest/v1/leads/delete.json", {"input": [{"id": deleted}]})
        created = api.post(
            "/rest/v1/leads.json",
            {
                "action": "createOnly",
                "lookupField": "email",
                "input": [{"email": "new.seller.lead@example.com", "firstName": "Neu", "lastName": "Lead",
                           "company": "Fresh GmbH", "externalSalesPersonId": owner}],
            },
        )  # fmt: skip
    finally:
        api.close()
    new_id = created["result"][0]["id"]
    async with fast_client(running) as client:
        summary = await sync_with_client(db, client)
    assert summary.kind == "incremental"
    assert get_person(db, changed)["title"] == "Chief [red]Sync[/] Officer 変更"
    assert get_person(db, lost) is None and get_person(db, deleted) is None
    assert get_person(db, new_id)["owner_email"] == owner
    assert get_person(db, unsubscribes)["unsubscribed"] == 1
    assert (
        summary.created == 1 and summary.deleted == 2 and summary.updated == 2 and summary.unsubscribed == 1
    )
    queued = db.conn.execute("SELECT marketo_id, source FROM salesforce_optout_queue").fetchall()
    assert queued == [(unsubscribes, "marketo")]
    assert_cache_matches(db, running)
    assert summary.api_calls < 15
    async with fast_client(running) as client:  # nothing new: nothing changes, nothing is queued again
        again = await sync_with_client(db, client)
    assert (again.created, again.updated, again.deleted) == (0, 0, 0)
    assert db.conn.execute("SELECT COUNT(*) FROM salesforce_optout_queue").fetchone()[0] == 1


async def test_full_sync_keeps_the_old_cache_whole_until_it_completes(sandbox_factory, db):
    running = sandbox_factory(**ROOMY, people=700)
    async with fast_client(running) as client:
        await sync_with_client(db, client)
    before = len(cached_people(db))
    gone = owned_ids(running, 1)[0]
    api = MarketoHttp(running)
    api.post("/rest/v1/leads/delete.json", {"input": [{"id": gone}]})
    api.close()
    seen: list[tuple[int, bool]] = []

    def watch(snapshot: Any) -> None:
        if snapshot.phase == "initial":
            seen.append((len(cached_people(db)), get_person(db, gone) is not None))

    async with fast_client(running) as client:
        summary = await sync_with_client(db, client, full=True, progress=watch)
    assert summary.kind == "full" and summary.deleted == 1
    assert seen and all(count >= before and present for count, present in seen)
    assert get_person(db, gone) is None
    assert_cache_matches(db, running)


async def test_static_list_sync_keeps_members_only_and_follows_membership_changes(sandbox_factory, db):
    running = sandbox_factory(**ROOMY, people=400)
    list_id = 1001
    async with fast_client(running) as client:
        summary = await sync_with_client(db, client, list_id=list_id)
    assert summary.strategy == "list-rest"
    assert_cache_matches(db, running, list_id)
    members = set(expected_people(running, list_id))
    outsider = next(i for i in sorted(expected_people(running)) if i not in members)
    leaving = sorted(members)[0]
    api = MarketoHttp(running)
    try:
        api.post(f"/rest/v1/lists/{list_id}/leads.json", {"input": [{"id": outsider}]})
        reply = api.client.delete(
            f"/rest/v1/lists/{list_id}/leads.json", params={"id": leaving}, headers=api.headers
        )
        assert reply.json()["result"][0]["status"] == "removed"
    finally:
        api.close()
    async with fast_client(running) as client:
        summary = await sync_with_client(db, client, list_id=list_id)
    assert summary.kind == "incremental"
    assert get_person(db, outsider) is not None and get_person(db, leaving) is None
    assert_cache_matches(db, running, list_id)
    async with fast_client(running) as client:  # the list's bulk path gives the same cache
        summary = await sync_with_client(db, client, full=True, strategy="bulk", list_id=list_id)
    assert summary.strategy == "list-bulk"
    assert_cache_matches(db, running, list_id)


async def test_names_with_markup_and_escape_sequences_are_stored_byte_for_byte(sandbox_factory, db):
    running = sandbox_factory(**ROOMY, people=300)
    owner = sales_users(running)[1]["Email"]
    hostile = [
        {
            "firstName": "[bold red]x[/]",
            "lastName": "Escape\x1b[2J\x07",
            "company": "[link=http://x]Co[/link]",
        },
        {"firstName": "Tab\tand\nnewline", "lastName": "\\[not markup]", "company": "Ünïcødé 株式会社 🚀"},
    ]
    api = MarketoHttp(running)
    reply = api.post(
        "/rest/v1/leads.json",
        {"action": "createOnly", "lookupField": "email",
         "input": [{**h, "email": f"hostile{i}@example.com", "externalSalesPersonId": owner}
                   for i, h in enumerate(hostile)]},
    )  # fmt: skip
    api.close()
    ids = [r["id"] for r in reply["result"]]
    for strategy in ("rest", "bulk"):
        async with fast_client(running) as client:
            await sync_with_client(db, client, full=True, strategy=strategy)  # type: ignore[arg-type]
        for marketo_id, h in zip(ids, hostile, strict=True):
            person = get_person(db, marketo_id)
            assert person is not None
            for column, key in (
                ("first_name", "firstName"),
                ("last_name", "lastName"),
                ("company", "company"),
            ):
                assert person[column].encode("utf-8") == h[key].encode("utf-8"), (strategy, column)
    assert_cache_matches(db, running)


async def test_bulk_initial_sync_falls_back_to_rest_paging_when_bulk_extract_is_unavailable(
    sandbox_factory, db
):
    # A subscription without Bulk Extract answers 1035 to every export create. ("auto" plans REST paging at test
    # sizes, where it is the faster path, so the fallback is exercised by asking for bulk extract.)
    running = sandbox_factory(**ROOMY, people=400, bulk_enabled=False)
    async with fast_client(running) as client:
        summary = await sync_with_client(db, client, strategy="bulk")
    fell_back = summary.fell_back or ""
    assert summary.strategy == "rest"
    assert "bulk extract unavailable" in fell_back and "1035" in fell_back
    assert summary.calls_by_endpoint[CREATE] == 1  # refused once, not retried
    assert not any("/bulk/v1/leads/export/{exportId}" in e for e in summary.calls_by_endpoint)
    assert_cache_matches(db, running)
    assert summary.people == summary.created == len(expected_people(running))
