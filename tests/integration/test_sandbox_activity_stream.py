"""The instance's activity stream over HTTP, as Marketo pages it: every activities / leadchanges / deletedleads call
walks the next 300 activities of the WHOLE instance (all people, all types) and returns those matching its filters.

Covers the cost model (a filtered read costs what a whole-instance read costs), position tokens (opaque, stable
across a restart from the same state file), filters and their limits, the sandbox clock (new activities arrive as
it moves, the same for a given seed; it never goes back) and activities added on demand. Private sandboxes with a
frozen clock, so every count is exact.
"""

from __future__ import annotations

import re
from datetime import datetime, timedelta
from typing import Any

import httpx

from sia_sandbox.server import RunningSandbox
from tests.conftest import SANDBOX_NOW, MarketoHttp
from tests.support.sandbox_control import hot_ids, info

ACTIVITIES = "/rest/v1/activities.json"
SCAN = 300
GRID_WEB_EMAIL = "1,2,3,6,7,8,9,10,11,27"


def error_code(body: dict[str, Any]) -> str | None:
    return body["errors"][0]["code"] if body.get("success") is False else None


def date_token(mk: MarketoHttp, when: datetime) -> str:
    body = mk.get("/rest/v1/activities/pagingtoken.json", sinceDatetime=when.strftime("%Y-%m-%dT%H:%M:%SZ"))
    return str(body["nextPageToken"])


def walk(mk: MarketoHttp, token: str, path: str = ACTIVITIES, **params: Any) -> tuple[list[dict], list[dict]]:
    """Every record from ``token`` until moreResult is false, and the pages."""
    records: list[dict] = []
    pages: list[dict] = []
    for _ in range(10_000):
        body = mk.get(path, nextPageToken=token, **params)
        assert body["success"] is True, body
        pages.append(body)
        records += body.get("result", [])
        token = body["nextPageToken"]
        if not body["moreResult"]:
            return records, pages
    raise AssertionError("paging never reached the present")


def type_chunks(mk: MarketoHttp) -> list[str]:
    ids = sorted(t["id"] for t in mk.get("/rest/v1/activities/types.json")["result"])
    return [",".join(map(str, ids[i : i + 10])) for i in range(0, len(ids), 10)]


def control(sb: RunningSandbox, method: str, path: str, **kwargs: Any) -> httpx.Response:
    return httpx.request(method, f"{sb.base_url}/_sandbox/{path}", timeout=60, **kwargs)


def frozen(sandbox_factory: Any, people: int = 150, **overrides: Any) -> RunningSandbox:
    """A private sandbox whose time moves only when a test moves it (so the rate window never slides by itself:
    the limit is raised instead)."""
    overrides.setdefault("rate_limit_calls", 100_000)
    return sandbox_factory(people=people, clock_frozen=True, **overrides)  # type: ignore[no-any-return]


# ------------------------------------------------------------------------------------------------ the cost model


def test_a_filtered_read_costs_as_many_calls_as_reading_the_whole_instance(sandbox_factory):
    sb = frozen(sandbox_factory)
    mk = MarketoHttp(sb)
    since = SANDBOX_NOW - timedelta(days=90)
    token = date_token(mk, since)
    # Every type, whole instance: the type chunks partition the instance's stream.
    everything: list[dict] = []
    chunk_calls = []
    for chunk in type_chunks(mk):
        records, pages = walk(mk, token, activityTypeIds=chunk)
        everything += records
        chunk_calls.append(len(pages))
    total = len(everything)
    assert total > 3 * SCAN and len({r["marketoGUID"] for r in everything}) == total
    # each call walked 300 of them, whatever it asked for: every chunk costs total / 300 calls (+ the last slice)
    assert chunk_calls == [total // SCAN + 1] * len(chunk_calls)
    rate = control(sb, "GET", "activity-rate", params={"days": 90}).json()
    assert rate["activities"] == total  # the control endpoint counts the same stream

    by_type = {r["activityTypeId"] for r in everything}
    grid_chunk = {int(t) for t in GRID_WEB_EMAIL.split(",")}
    hot = hot_ids(sb)[0]
    for lead, busy in ((hot, True), (1001 + 140, False)):
        records, pages = walk(mk, token, activityTypeIds=GRID_WEB_EMAIL, leadIds=str(lead))
        # one person over 90 days costs exactly what the whole instance costs...
        assert len(pages) == total // SCAN + 1
        # ...and returns exactly that person's share, in order
        expected = [r for r in everything if r["leadId"] == lead and r["activityTypeId"] in grid_chunk]
        expected.sort(key=lambda r: (r["activityDate"], r["id"]))
        assert [r["marketoGUID"] for r in records] == [r["marketoGUID"] for r in expected]
        # short or empty pages that still say moreResult: true
        assert all(p["moreResult"] for p in pages[:-1]) and pages[-1]["moreResult"] is False
        assert all(len(p.get("result", [])) < SCAN for p in pages)
        if not busy:  # a quiet person's pages are mostly empty: no "result" at all, as Marketo leaves it out
            assert sum("result" not in p for p in pages) > len(pages) // 2
    # without leadIds the same calls return everything of those types
    records, pages = walk(mk, token, activityTypeIds=GRID_WEB_EMAIL)
    assert len(pages) == total // SCAN + 1
    assert {r["marketoGUID"] for r in records} == {
        r["marketoGUID"] for r in everything if r["activityTypeId"] in grid_chunk
    }
    assert {1, 6, 7, 12, 46} <= by_type
    mk.close()


def test_lead_changes_and_deleted_leads_walk_the_same_stream(sandbox_factory):
    sb = frozen(sandbox_factory, people=100)
    mk = MarketoHttp(sb)
    token = date_token(mk, SANDBOX_NOW - timedelta(days=30))
    everything = []
    for chunk in type_chunks(mk):
        everything += walk(mk, token, activityTypeIds=chunk)[0]
    calls = len(everything) // SCAN + 1
    changes, pages = walk(mk, token, "/rest/v1/activities/leadchanges.json", fields="title,email")
    assert len(pages) == calls
    assert {r["activityTypeId"] for r in changes} <= {12, 13}
    assert all(r["fields"] for r in changes if r["activityTypeId"] == 13)
    deleted, pages = walk(mk, token, "/rest/v1/activities/deletedleads.json")
    assert len(pages) == calls and deleted == []
    mk.close()


# ------------------------------------------------------------------------------------------------------ tokens


def test_position_tokens_are_opaque_and_stay_valid_across_a_restart(sandbox_factory, tmp_path):
    path = str(tmp_path / "state.db")
    sb = frozen(sandbox_factory, people=100, state_path=path)
    mk = MarketoHttp(sb)
    start = date_token(mk, SANDBOX_NOW - timedelta(days=20))
    assert start == date_token(mk, SANDBOX_NOW - timedelta(days=20))  # date tokens depend on the date alone
    uninterrupted, _ = walk(mk, start, activityTypeIds=GRID_WEB_EMAIL)
    token, first = start, []
    for _ in range(3):
        body = mk.get(ACTIVITIES, nextPageToken=token, activityTypeIds=GRID_WEB_EMAIL)
        first += body.get("result", [])
        token = body["nextPageToken"]
        assert re.fullmatch(r"[A-Z2-7]+=*", token) and token != start
    mk.close()
    sb.stop()
    again = frozen(sandbox_factory, people=100, state_path=path)
    assert info(again)["regenerated"] is False
    mk = MarketoHttp(again)
    rest, _ = walk(mk, token, activityTypeIds=GRID_WEB_EMAIL)
    assert [r["marketoGUID"] for r in first + rest] == [r["marketoGUID"] for r in uninterrupted]
    assert error_code(mk.get(ACTIVITIES, nextPageToken="NOTATOKEN", activityTypeIds="1")) == "1003"
    mk.close()


# ----------------------------------------------------------------------------------------------------- filters


def test_filters_and_their_limits(sandbox_factory):
    sb = frozen(sandbox_factory, people=100)
    mk = MarketoHttp(sb)
    token = date_token(mk, SANDBOX_NOW - timedelta(days=14))
    eleven = ",".join(map(str, (1, 2, 3, 6, 7, 8, 9, 10, 11, 12, 13)))
    assert error_code(mk.get(ACTIVITIES, nextPageToken=token, activityTypeIds=eleven)) == "1003"
    assert error_code(mk.get(ACTIVITIES, nextPageToken=token)) == "701"
    thirty_one = ",".join(str(1001 + i) for i in range(31))
    thirty = ",".join(str(1001 + i) for i in range(30))
    assert (
        error_code(mk.get(ACTIVITIES, nextPageToken=token, activityTypeIds="1", leadIds=thirty_one)) == "1003"
    )
    assert mk.get(ACTIVITIES, nextPageToken=token, activityTypeIds="1", leadIds=thirty)["success"] is True
    everyone, _ = walk(mk, token, activityTypeIds="1,6,46")
    assert {r["activityTypeId"] for r in everyone} == {1, 6, 46}
    some = {1002, 1003, 1050}
    mine, _ = walk(mk, token, activityTypeIds="1,6,46", leadIds=",".join(map(str, some)))
    assert [r["marketoGUID"] for r in mine] == [r["marketoGUID"] for r in everyone if r["leadId"] in some]
    members = {m["id"] for m in mk.get("/rest/v1/lists/1001/leads.json")["result"]}
    listed, _ = walk(mk, token, activityTypeIds="1,6,46", listId=1001)
    assert listed and [r["marketoGUID"] for r in listed] == [
        r["marketoGUID"] for r in everyone if r["leadId"] in members
    ]
    both, _ = walk(mk, token, activityTypeIds="1,6,46", listId=1001, leadIds="1002,1003")
    assert {r["leadId"] for r in both} <= members & {1002, 1003}
    mk.close()


# ------------------------------------------------------------------------------------------------------- clock


def test_the_clock_moves_forward_only_and_new_activities_keep_arriving(sandbox_factory):
    sb = frozen(sandbox_factory)
    clock = control(sb, "GET", "clock").json()
    assert clock == {"now": "2026-03-02T09:00:00Z", "now_ms": int(SANDBOX_NOW.timestamp() * 1000), "frozen": True,
                     "offset_s": 0.0, "anchor": "2026-03-02T09:00:00Z"}  # fmt: skip
    mk = MarketoHttp(sb)
    old, pages = walk(mk, date_token(mk, SANDBOX_NOW - timedelta(days=1)), activityTypeIds=GRID_WEB_EMAIL)
    token = pages[-1]["nextPageToken"]
    assert old and all(r["activityDate"] <= "2026-03-02T09:00:00Z" for r in old)
    # time stands still: nothing new, the same token back
    still = mk.get(ACTIVITIES, nextPageToken=token, activityTypeIds=GRID_WEB_EMAIL)
    assert "result" not in still and still["moreResult"] is False and still["nextPageToken"] == token
    moved = control(sb, "POST", "clock", json={"advance_s": 86_400}).json()
    assert moved["now"] == "2026-03-03T09:00:00Z" and moved["offset_s"] == 86_400
    assert error_code(mk.get(ACTIVITIES, nextPageToken=token, activityTypeIds="1")) == "602"  # a day later
    mk.close()
    mk = MarketoHttp(sb)
    new, pages = walk(mk, token, activityTypeIds=GRID_WEB_EMAIL)
    assert len(new) > 20
    assert all("2026-03-02T09:00:00Z" < r["activityDate"] <= "2026-03-03T09:00:00Z" for r in new)
    assert pages[-1]["moreResult"] is False
    # deterministic per seed: another sandbox moved the same way shows the very same new activities
    twin = frozen(sandbox_factory)
    control(twin, "POST", "clock", json={"set": "2026-03-03T09:00:00Z"}).raise_for_status()
    mk2 = MarketoHttp(twin)
    same, _ = walk(mk2, date_token(mk2, SANDBOX_NOW + timedelta(seconds=1)), activityTypeIds=GRID_WEB_EMAIL)
    assert [r["marketoGUID"] for r in same] == [r["marketoGUID"] for r in new]
    # never backwards, and bad requests say what is wrong
    back = control(sb, "POST", "clock", json={"set": "2026-03-01T00:00:00Z"})
    assert back.status_code == 400 and "forward" in back.json()["error"]
    assert control(sb, "POST", "clock", json={"advance_s": -5}).status_code == 400
    assert control(sb, "POST", "clock", json={}).status_code == 400
    assert control(sb, "GET", "clock").json()["now"] == "2026-03-03T09:00:00Z"
    mk.close()
    mk2.close()


def test_activities_added_on_demand_join_the_stream_at_their_time(sandbox_factory):
    sb = frozen(sandbox_factory, people=100)
    mk = MarketoHttp(sb)
    _, pages = walk(mk, date_token(mk, SANDBOX_NOW - timedelta(hours=2)), activityTypeIds="1,46")
    feed = pages[-1]["nextPageToken"]  # an incremental reader at the present
    added = control(sb, "POST", "activities", json={"activities": [
        {"leadId": 1004, "activityTypeId": 1, "primaryAttributeValue": "www.sia-demo.example.com/pricing",
         "primaryAttributeValueId": 2002, "attributes": {"Webpage URL": "/pricing", "Referrer URL": ""}},
        {"leadId": 1004, "activityTypeId": 46, "activityDate": "2026-03-02T10:30:00Z",
         "primaryAttributeValue": "Requested a demo", "attributes": [{"name": "Type", "value": "Web"}]},
    ]})  # fmt: skip
    assert added.status_code == 200, added.text
    first, later = added.json()["added"]
    assert first["activityDate"] == "2026-03-02T09:00:00Z" and later["activityDate"] == "2026-03-02T10:30:00Z"
    now_records, pages = walk(mk, feed, activityTypeIds="1,46")
    assert [r["marketoGUID"] for r in now_records] == [first["marketoGUID"]]  # the other is in the future
    record = now_records[0]
    assert record["leadId"] == 1004 and record["primaryAttributeValueId"] == 2002
    assert record["attributes"] == [{"name": "Webpage URL", "value": "/pricing"}]  # empty ones are omitted
    control(sb, "POST", "clock", json={"advance_s": 2 * 3600}).raise_for_status()
    mk.close()
    mk = MarketoHttp(sb)
    after, _ = walk(mk, pages[-1]["nextPageToken"], activityTypeIds="46", leadIds="1004")
    assert later["marketoGUID"] in [r["marketoGUID"] for r in after]
    refused = control(
        sb, "POST", "activities", json={"activities": [{"leadId": 99_999, "activityTypeId": 1}]}
    )
    assert refused.status_code == 400 and "99999" in refused.json()["error"]
    refused = control(sb, "POST", "activities", json={"leadId": 1004, "activityTypeId": 13})
    assert refused.status_code == 400 and "lead" in refused.json()["error"]
    mk.close()


def test_new_leads_changes_deletions_and_custom_activities_appear_in_the_feed_at_their_time(sandbox_factory):
    sb = frozen(sandbox_factory, people=50)
    mk = MarketoHttp(sb)
    _, pages = walk(mk, date_token(mk, SANDBOX_NOW - timedelta(hours=1)), activityTypeIds="12,13,37")
    feed = pages[-1]["nextPageToken"]
    control(sb, "POST", "clock", json={"advance_s": 60}).raise_for_status()
    created = mk.post("/rest/v1/leads.json", {"action": "createOnly", "lookupField": "email",
                                              "input": [{"email": "feed@example.com", "firstName": "Feed"}]})  # fmt: skip
    new_id = created["result"][0]["id"]
    control(sb, "POST", "clock", json={"advance_s": 60}).raise_for_status()
    mk.post("/rest/v1/leads.json", {"action": "updateOnly", "lookupField": "id",
                                    "input": [{"id": 1010, "title": "Chief Feed Officer"}]})  # fmt: skip
    control(sb, "POST", "clock", json={"advance_s": 60}).raise_for_status()
    assert (
        mk.post("/rest/v1/leads/delete.json", {"input": [{"id": 1011}]})["result"][0]["status"] == "deleted"
    )
    records, _ = walk(mk, feed, activityTypeIds="12,13,37")
    assert [(r["activityTypeId"], r["leadId"]) for r in records] == [(12, new_id), (13, 1010), (37, 1011)]
    assert [r["activityDate"] for r in records] == [
        "2026-03-02T09:01:00Z", "2026-03-02T09:02:00Z", "2026-03-02T09:03:00Z",
    ]  # fmt: skip
    deleted, _ = walk(mk, feed, "/rest/v1/activities/deletedleads.json")
    assert [r["leadId"] for r in deleted] == [1011]
    # the deleted person's past leaves the stream with them
    past, _ = walk(mk, date_token(mk, SANDBOX_NOW - timedelta(days=30)), activityTypeIds=GRID_WEB_EMAIL,
                   leadIds="1011")  # fmt: skip
    assert past == []
    mk.close()
